#include "correlator/store/sqlite.hpp"

#include <sqlite3.h>

#include "collector/common/error.hpp"

namespace pathtrace::sql {

Db::Db(const std::string& path, bool read_only) : path_(path), read_only_(read_only) {
  const int flags = read_only ? SQLITE_OPEN_READONLY
                              : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ExitCode::kDatabase, "database " + path + ": cannot open: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() { sqlite3_close_v2(db_); }

void Db::fail(std::string_view what) const {
  throw Error(ExitCode::kDatabase,
              "database " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

void Db::exec(std::string_view sql, std::string_view what) {
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
}

int64_t Db::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }

int64_t Db::query_int(const char* sql, std::string_view what) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) fail(what);
  const int rc = sqlite3_step(st);
  const int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) fail(what);
  return v;
}

Stmt::Stmt(Db& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db.handle(), sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &st_, nullptr) != SQLITE_OK) {
    db.fail("prepare \"" + std::string(sql.substr(0, 60)) + "\"");
  }
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::reset() noexcept {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}

Stmt& Stmt::bind(int i, double v) {
  if (sqlite3_bind_double(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}

Stmt& Stmt::bind_text(int i, std::string_view v) {
  // An empty view may have a null data(): bind "" rather than NULL.
  if (sqlite3_bind_text(st_, i, v.empty() ? "" : v.data(), int(v.size()), SQLITE_STATIC) !=
      SQLITE_OK) {
    db_.fail("bind");
  }
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  if (sqlite3_bind_null(st_, i) != SQLITE_OK) db_.fail("bind");
  return *this;
}

Stmt& Stmt::bind_blob(int i, const void* data, std::size_t size) {
  static const char kEmpty = 0;
  if (sqlite3_bind_blob64(st_, i, size ? data : &kEmpty, sqlite3_uint64(size), SQLITE_STATIC) !=
      SQLITE_OK) {
    db_.fail("bind");
  }
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string what = "\"" + std::string(sqlite3_sql(st_)).substr(0, 60) + "\"";
  sqlite3_reset(st_);
  db_.fail(what);
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::run_keep_bindings() {
  while (step()) {
  }
  sqlite3_reset(st_);
}

int64_t Stmt::int_at(int col) const noexcept { return sqlite3_column_int64(st_, col); }
double Stmt::real_at(int col) const noexcept { return sqlite3_column_double(st_, col); }
bool Stmt::null_at(int col) const noexcept {
  return sqlite3_column_type(st_, col) == SQLITE_NULL;
}
std::string_view Stmt::text_at(int col) const noexcept {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
  if (!p) return {};
  return {p, std::size_t(sqlite3_column_bytes(st_, col))};
}

std::string_view Stmt::blob_at(int col) const noexcept {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(st_, col));
  if (!p) return {};
  return {p, std::size_t(sqlite3_column_bytes(st_, col))};
}

ReadTxn::ReadTxn(Db& db) : db_(db) { db_.exec("BEGIN", "begin read transaction"); }

ReadTxn::~ReadTxn() { sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr); }

Txn::Txn(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE", "begin transaction"); }

Txn::~Txn() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Txn::commit() {
  db_.exec("COMMIT", "commit");
  done_ = true;
}

}  // namespace pathtrace::sql
