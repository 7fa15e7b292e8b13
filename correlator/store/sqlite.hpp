#pragma once
// Thin RAII over the SQLite C API: a connection (Db), a prepared statement (Stmt) and a
// transaction (Txn) that rolls back unless committed. Every failure throws
// Error(ExitCode::kDatabase) naming the database file and carrying SQLite's own message.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace pathtrace::sql {

// One connection to one database file.
class Db {
 public:
  // Opens `path` read-write (creating it) or read-only (SQLITE_OPEN_READONLY). Throws
  // Error(kDatabase) "database FILE: cannot open: <sqlite message>" on failure.
  Db(const std::string& path, bool read_only);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements with no parameters and no result rows (DDL, PRAGMA
  // settings). Throws Error(kDatabase) "database FILE: <what>: <sqlite message>".
  void exec(std::string_view sql, std::string_view what);
  // Runs a statement that returns one integer (PRAGMA user_version, ...).
  int64_t query_int(const char* sql, std::string_view what);
  // Throws Error(kDatabase) "database FILE: <what>: <the connection's last error>".
  [[noreturn]] void fail(std::string_view what) const;

  // The rowid of the last row this connection inserted.
  int64_t last_insert_rowid() const noexcept;

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }
  bool read_only() const noexcept { return read_only_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  bool read_only_ = false;
};

// One prepared statement, reset and reused. Text binds are SQLITE_STATIC: the caller keeps
// the bytes alive until the next step()/reset().
class Stmt {
 public:
  // Prepares `sql` (persistent). Throws Error(kDatabase) on a syntax or schema error.
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Resets the statement and clears its bindings; returns *this for chaining binds.
  Stmt& reset() noexcept;
  // Steps to completion (an INSERT) and resets, keeping the bindings: for bulk inserts
  // that rebind every parameter of every row.
  void run_keep_bindings();
  // Binds parameter `i` (1-based).
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind_text(int i, std::string_view v);  // SQLITE_STATIC
  Stmt& bind_null(int i);
  Stmt& bind_blob(int i, const void* data, std::size_t size);  // SQLITE_STATIC
  // Steps once: true when a row is ready, false when done. Throws on error.
  bool step();
  // Steps to completion (an INSERT/UPDATE) and resets.
  void run();

  // Column accessors for the current row (0-based).
  int64_t int_at(int col) const noexcept;
  double real_at(int col) const noexcept;
  std::string_view text_at(int col) const noexcept;  // "" for NULL
  bool null_at(int col) const noexcept;
  // The bytes of a BLOB column (empty for NULL), valid until the next step()/reset().
  std::string_view blob_at(int col) const noexcept;

 private:
  Db& db_;
  sqlite3_stmt* st_ = nullptr;
};

// A write transaction: BEGIN IMMEDIATE now, ROLLBACK in the destructor unless commit()ed.
class Txn {
 public:
  explicit Txn(Db& db);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  // Commits; throws Error(kDatabase) on failure (the destructor then rolls back).
  void commit();

 private:
  Db& db_;
  bool done_ = false;
};

// A read transaction (one consistent snapshot across several SELECTs): BEGIN (deferred) now,
// COMMIT in the destructor. Works on read-only connections.
class ReadTxn {
 public:
  explicit ReadTxn(Db& db);
  ~ReadTxn();
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

 private:
  Db& db_;
};

}  // namespace pathtrace::sql
