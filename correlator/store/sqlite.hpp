#pragma once
// The one way pathtrace uses SQLite: thin RAII over the C API. A connection (Db, with an
// optional authorizer), a prepared statement (Stmt, with typed access to the columns of any
// result set), a text of several statements prepared one by one (prepare_script), and the
// transactions (Txn rolls back unless committed; ReadTxn is one snapshot). Every failure of
// the program's own SQL throws Error(ExitCode::kDatabase) "database FILE: what: <SQLite's
// message>"; SQL a person typed (`pathtrace query`) gets its failures as values instead
// (prepare_script, Stmt::try_step), so the caller can word them for that person. No other
// file includes <sqlite3.h>.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace pathtrace::sql {

class Db;
class Stmt;
struct Script;
Script prepare_script(Db& db, std::string_view text);

// One thing a statement being prepared would do, as SQLite's authorizer reports it.
struct Action {
  enum class Kind : uint8_t {
    kSelect,     // a SELECT statement
    kRead,       // reading a column (arg1 the table, arg2 the column)
    kFunction,   // calling a function (arg2 its name)
    kRecursive,  // a recursive common table expression
    kPragma,     // a PRAGMA (arg1 its name, arg2 its argument or null)
    kOther,      // anything else: a write, DDL, ATTACH, a transaction, ...
  };
  static const int kUpdateCode;  // SQLITE_UPDATE, for callers without <sqlite3.h>
  Kind kind = Kind::kOther;
  int code = 0;                // SQLite's action code (SQLITE_INSERT, ...)
  const char* arg1 = nullptr;  // may be null
  const char* arg2 = nullptr;  // may be null

  // The action spelled for a person: "INSERT into runs", "PRAGMA user_version = 99",
  // "CREATE TEMP scratch", "BEGIN TRANSACTION"; "action N" for a code it does not know.
  std::string text() const;
};

// Decides, while a statement is prepared, whether it may do `action`: true allows it, false
// makes the prepare fail ("not authorized"). Must not throw (a throw counts as false).
using Authorizer = std::function<bool(const Action& action)>;

// Limits for SQL a person typed (`pathtrace query`, docs/security.md).
struct UntrustedLimits {
  long long timeout_ms = 10000;          // wall time of the whole text; 0: none
  int64_t heap_bytes = 512ll << 20;      // SQLite's memory, process-wide (hard heap limit)
  int max_length = 100 << 20;            // largest string or BLOB a statement may make
  int max_sql_length = 1 << 20;          // the SQL text
};

// One connection to one database file.
class Db {
 public:
  // Opens `path` read-write or read-only (SQLITE_OPEN_READONLY).
  // Read-write: a missing file is created 0600 (collector/common/output_file.hpp), and neither
  // the file nor its -journal, -wal or -shm may be a symbolic link (a link planted there
  // would redirect the writes). Read-only: when the file cannot be read the normal way because
  // its write-ahead log cannot be opened (a WAL database on a read-only mount, or in a folder
  // this user cannot write), it is opened immutable (SQLite's `immutable=1`: the main file
  // only, no locks), immutable() says so, and a note on stderr says what is not seen when the
  // -wal file holds anything. Throws Error(kDatabase) "database FILE: cannot
  // open: <why>" on failure.
  Db(const std::string& path, bool read_only);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements with no parameters and no result rows (DDL, PRAGMA
  // settings). Throws Error(kDatabase) "database FILE: <what>: <sqlite message>".
  void exec(std::string_view sql, std::string_view what);
  // Runs a statement that returns one integer (PRAGMA user_version, ...). Throws
  // Error(kDatabase) like exec(), also when it returns no row.
  int64_t query_int(const char* sql, std::string_view what);
  // Runs a statement that returns one text value and returns it ("" for NULL); "" when the
  // statement fails or returns no row. SQLite's failures are not thrown: for PRAGMAs whose
  // refusal is an answer (journal_mode keeps the old mode when it cannot switch).
  std::string try_query_text(std::string_view sql);
  // Makes a statement that meets another connection's lock retry for up to `ms` before it
  // fails with SQLITE_BUSY (sqlite3_busy_timeout).
  void set_busy_timeout(int ms);
  // Throws Error(kDatabase) "database FILE: <what>: <the connection's last error>", for a lock
  // held past the busy timeout "…: database is locked (by another process, for more than 10 s)".
  [[noreturn]] void fail(std::string_view what) const;
  // SQLite's message for the connection's last failure ("not an error" when none).
  std::string last_error() const;

  // From now on every statement this connection prepares (or SQLite re-prepares after a
  // schema change) is checked action by action with `allow`, which replaces any earlier one;
  // an empty `allow` removes the check.
  void set_authorizer(Authorizer allow);

  // The rowid of the last row this connection inserted.
  int64_t last_insert_rowid() const noexcept;

  // The file as given to the constructor (named in every error).
  const std::string& path() const noexcept { return path_; }
  // True when opened read-only.
  bool read_only() const noexcept { return read_only_; }
  // True when opened immutable (read-only fallback): what the write-ahead log holds is not
  // seen, and a writer's changes meanwhile are not noticed.
  bool immutable() const noexcept { return immutable_; }

  // For SQL a person typed: the limits of `limits` on this connection (sqlite3_limit: string
  // and BLOB length, SQL length, no ATTACH), SQLite's hard heap limit for the process, and a
  // deadline `timeout_ms` from now, checked by a progress handler that interrupts the
  // statement running past it. A statement stopped so fails with "interrupted", and
  // timed_out() is then true; one over the heap limit fails with "out of memory".
  void limit_untrusted(const UntrustedLimits& limits);
  // True once the deadline of limit_untrusted() has interrupted a statement.
  bool timed_out() const noexcept { return timed_out_; }

 private:
  friend class Stmt;
  friend class ReadTxn;
  friend class Txn;
  friend Script prepare_script(Db& db, std::string_view text);
  static int authorize(void* self, int code, const char* a1, const char* a2, const char*,
                       const char*) noexcept;
  static int progress(void* self) noexcept;
  // sqlite3_open_v2 of `name` with `flags`; throws "cannot open" naming path_.
  void open(const std::string& name, int flags);

  sqlite3* db_ = nullptr;
  std::string path_;
  bool read_only_ = false;
  bool immutable_ = false;
  bool timed_out_ = false;
  int busy_timeout_ms_ = 0;
  int64_t deadline_ns_ = 0;  // steady clock; 0: none
  bool heap_limited_ = false;
  int64_t previous_heap_limit_ = 0;  // restored by the destructor
  Authorizer authorizer_;
};

// What a column holds in the current row.
enum class ColumnType : uint8_t { kInteger, kFloat, kText, kBlob, kNull };

// One prepared statement, reset and reused. Text binds are SQLITE_STATIC: the caller keeps
// the bytes alive until the next step()/reset().
class Stmt {
 public:
  // Prepares `sql` (persistent). Throws Error(kDatabase) on a syntax or schema error.
  Stmt(Db& db, std::string_view sql);
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;

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
  // Steps once: true when a row is ready, false when done. Throws Error(kDatabase) naming
  // the statement on error (and resets it).
  bool step();
  // Steps to completion (an INSERT/UPDATE) and resets.
  void run();

  // How one step went, for SQL whose failures are the caller's to word.
  enum class StepResult : uint8_t { kRow, kDone, kError };
  // Steps once without throwing: kError leaves SQLite's message in db.last_error().
  StepResult try_step() noexcept;

  // True when the statement does not write the database (sqlite3_stmt_readonly).
  bool read_only() const noexcept;
  // The statement's text as prepared.
  std::string_view sql() const noexcept;

  // The result set's shape: number of columns (0 for a statement that returns none) and the
  // name of column `col` (0-based; "" when out of range).
  int column_count() const noexcept;
  std::string_view column_name(int col) const noexcept;

  // Column accessors for the current row (0-based). type_at is the value's own type; ask it
  // before the other accessors, which convert (SQLite's rules: text_at of a number is its
  // decimal form).
  ColumnType type_at(int col) const noexcept;
  int64_t int_at(int col) const noexcept;
  double real_at(int col) const noexcept;
  std::string_view text_at(int col) const noexcept;  // "" for NULL
  bool null_at(int col) const noexcept;
  // The bytes of a BLOB column (empty for NULL), valid until the next step()/reset().
  std::string_view blob_at(int col) const noexcept;

 private:
  friend Script prepare_script(Db& db, std::string_view text);
  Stmt(Db& db, sqlite3_stmt* st) noexcept : db_(&db), st_(st) {}

  Db* db_;
  sqlite3_stmt* st_ = nullptr;
};

// Resets a statement when the scope ends, however it is left (a return after one row, a
// throw, a callback that throws). A statement stopped before its last row keeps its read
// transaction open: the connection goes on seeing the database as it was then, and its next
// BEGIN IMMEDIATE fails ("database is locked") once another connection has written.
class ResetOnExit {
 public:
  explicit ResetOnExit(Stmt& stmt) noexcept : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Stmt& stmt_;
};

// A text of several statements (`SELECT 1; SELECT 2`), prepared one after another.
struct Script {
  std::vector<Stmt> statements;  // every statement that prepared, in order (empty ones skipped)
  std::string error;             // SQLite's message for the one that did not ("" when all did)
  std::string_view failed_text;  // that statement and the rest of the text
};
// Prepares every statement of `text` (each one authorized as it is prepared) and stops at the
// first that fails: its message is returned, not thrown. Runs nothing.
Script prepare_script(Db& db, std::string_view text);

// A write transaction: BEGIN IMMEDIATE now, ROLLBACK in the destructor unless commit()ed.
class Txn {
 public:
  // Throws Error(kDatabase) "database FILE: begin transaction: ..." (busy, read-only file).
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
  // Throws Error(kDatabase) "database FILE: begin read transaction: ...".
  explicit ReadTxn(Db& db);
  ~ReadTxn();
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

 private:
  Db& db_;
};

}  // namespace pathtrace::sql
