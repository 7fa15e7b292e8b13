// The SQLite layer (sqlite.hpp) over the C API: the only file that includes <sqlite3.h>. It
// turns SQLite's result codes into Error(kDatabase) "database FILE: what: message" for the
// program's own SQL, and into values (prepare_script, try_step, try_query_text) where the
// caller words the failure itself.

#include "correlator/store/sqlite.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "collector/common/output_file.hpp"

namespace pathtrace::sql {
namespace {

// Finalizes a statement prepared here whatever happens next.
struct Finalize {
  void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
};
using OwnedStmt = std::unique_ptr<sqlite3_stmt, Finalize>;

Action::Kind kind_of(int code) noexcept {
  switch (code) {
    case SQLITE_SELECT: return Action::Kind::kSelect;
    case SQLITE_READ: return Action::Kind::kRead;
    case SQLITE_FUNCTION: return Action::Kind::kFunction;
    case SQLITE_RECURSIVE: return Action::Kind::kRecursive;
    case SQLITE_PRAGMA: return Action::Kind::kPragma;
    default: return Action::Kind::kOther;
  }
}

bool is_symlink(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// An SQLite URI naming `path` (percent-encoded) with `query`, for SQLITE_OPEN_URI.
std::string file_uri(const std::string& path, const char* query) {
  std::string uri = "file:";
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
        std::strchr("/-_.~", c)) {
      uri += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", u);
      uri += hex;
    }
  }
  return uri + "?" + query;
}

int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const int Action::kUpdateCode = SQLITE_UPDATE;

std::string Action::text() const {
  auto s = [](const char* p) { return std::string(p ? p : ""); };
  switch (code) {
    case SQLITE_INSERT: return "INSERT into " + s(arg1);
    case SQLITE_UPDATE: return "UPDATE of " + s(arg1);
    case SQLITE_DELETE: return "DELETE from " + s(arg1);
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_VTABLE: return "CREATE " + s(arg1);
    case SQLITE_CREATE_TEMP_TABLE: case SQLITE_CREATE_TEMP_INDEX: case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW: return "CREATE TEMP " + s(arg1);
    case SQLITE_DROP_TABLE: case SQLITE_DROP_INDEX: case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW: case SQLITE_DROP_VTABLE: return "DROP " + s(arg1);
    case SQLITE_DROP_TEMP_TABLE: case SQLITE_DROP_TEMP_INDEX: case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW: return "DROP TEMP " + s(arg1);
    case SQLITE_ALTER_TABLE: return "ALTER TABLE " + s(arg2);
    case SQLITE_ATTACH: return "ATTACH " + s(arg1);
    case SQLITE_DETACH: return "DETACH " + s(arg1);
    case SQLITE_PRAGMA: return "PRAGMA " + s(arg1) + (arg2 ? " = " + s(arg2) : "");
    case SQLITE_TRANSACTION: return s(arg1) + " TRANSACTION";
    case SQLITE_SAVEPOINT: return "SAVEPOINT " + s(arg2);
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    default: return "action " + std::to_string(code);
  }
}

void Db::open(const std::string& name, int flags) {
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(ExitCode::kDatabase, "database " + path_ + ": cannot open: " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Db::Db(const std::string& path, bool read_only) : path_(path), read_only_(read_only) {
  if (!read_only) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      if (is_symlink(path + suffix))
        throw Error(ExitCode::kDatabase, "database " + path + ": " + path + suffix +
                                             " is a symbolic link: refused (pathtrace does not "
                                             "write through links; give the file's real path)");
    }
    // SQLite would create the file under the umask (0644); its journal and WAL take the mode
    // of the main file, so creating that one owner-only covers them all.
    if (!create_new_file(path) && errno != EEXIST)
      throw Error(ExitCode::kDatabase, "database " + path + ": cannot create: " + std::strerror(errno));
    open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW);
    return;
  }
  open(path, SQLITE_OPEN_READONLY);
  // The first read opens the journal or the WAL's index: a WAL database whose -shm this user
  // cannot create or open fails here (SQLITE_CANTOPEN, SQLITE_READONLY_CANTINIT).
  if (sqlite3_exec(db_, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr) == SQLITE_OK) return;
  const int primary = sqlite3_extended_errcode(db_) & 0xff;
  if (primary != SQLITE_CANTOPEN && primary != SQLITE_READONLY) return;  // the caller's first read says why
  sqlite3_close_v2(db_);
  db_ = nullptr;
  open(file_uri(path, "immutable=1"), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
  immutable_ = true;
  struct stat wal {};
  if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0)
    Console::err().line("pathtrace: note: database " + path + " is read without its write-ahead log " + path +
                        "-wal (no write access here): what a writer committed since its last checkpoint "
                        "is not shown");
}

Db::~Db() {
  sqlite3_close_v2(db_);
  if (heap_limited_) sqlite3_hard_heap_limit64(previous_heap_limit_);
}

void Db::limit_untrusted(const UntrustedLimits& limits) {
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, limits.max_length);
  sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, limits.max_sql_length);
  sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
  if (!heap_limited_) previous_heap_limit_ = sqlite3_hard_heap_limit64(-1);
  sqlite3_hard_heap_limit64(limits.heap_bytes);
  heap_limited_ = true;
  timed_out_ = false;
  if (limits.timeout_ms > 0) {
    deadline_ns_ = steady_ns() + limits.timeout_ms * 1000000;
    sqlite3_progress_handler(db_, 1000, &Db::progress, this);  // every 1000 VM instructions
  }
}

int Db::progress(void* self) noexcept {
  auto* db = static_cast<Db*>(self);
  if (db->deadline_ns_ == 0 || steady_ns() < db->deadline_ns_) return 0;
  db->timed_out_ = true;
  return 1;  // interrupts the statement
}

void Db::set_busy_timeout(int ms) {
  sqlite3_busy_timeout(db_, ms);
  busy_timeout_ms_ = ms;
}

void Db::fail(std::string_view what) const {
  std::string msg = "database " + path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
  if ((sqlite3_extended_errcode(db_) & 0xff) == SQLITE_BUSY && busy_timeout_ms_ > 0)
    msg += " (by another process, for more than " + std::to_string(busy_timeout_ms_ / 1000) + " s)";
  throw Error(ExitCode::kDatabase, msg);
}

void Db::exec(std::string_view sql, std::string_view what) {
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
}

std::string Db::last_error() const { return sqlite3_errmsg(db_); }

int64_t Db::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }

int64_t Db::query_int(const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) fail(what);
  const OwnedStmt st(raw);
  if (sqlite3_step(st.get()) != SQLITE_ROW) fail(what);
  return sqlite3_column_int64(st.get(), 0);
}

std::string Db::try_query_text(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), int(sql.size()), &raw, nullptr);
  const OwnedStmt st(raw);
  std::string out;
  if (rc == SQLITE_OK && st && sqlite3_step(st.get()) == SQLITE_ROW) {
    if (const unsigned char* t = sqlite3_column_text(st.get(), 0))
      out = reinterpret_cast<const char*>(t);
  }
  return out;
}

void Db::set_authorizer(Authorizer allow) {
  authorizer_ = std::move(allow);
  if (authorizer_) {
    sqlite3_set_authorizer(db_, &Db::authorize, this);
  } else {
    sqlite3_set_authorizer(db_, nullptr, nullptr);
  }
}

int Db::authorize(void* self, int code, const char* a1, const char* a2, const char*,
                  const char*) noexcept {
  const Action action{kind_of(code), code, a1, a2};
  try {
    return static_cast<Db*>(self)->authorizer_(action) ? SQLITE_OK : SQLITE_DENY;
  } catch (...) {
    return SQLITE_DENY;
  }
}

Script prepare_script(Db& db, std::string_view text) {
  Script out;
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db.db_, p, int(end - p), &raw, &tail) != SQLITE_OK) {
      sqlite3_finalize(raw);
      out.error = db.last_error();
      out.failed_text = std::string_view(p, std::size_t(end - p));
      return out;
    }
    if (raw) {  // null for an empty statement (only spaces or a comment)
      Stmt owned(db, raw);
      out.statements.push_back(std::move(owned));
    }
    p = tail ? tail : end;
  }
  return out;
}

Stmt::Stmt(Db& db, std::string_view sql) : db_(&db) {
  if (sqlite3_prepare_v3(db.db_, sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT, &st_,
                         nullptr) != SQLITE_OK) {
    db.fail("prepare \"" + std::string(sql.substr(0, 60)) + "\"");
  }
}

Stmt::Stmt(Stmt&& other) noexcept : db_(other.db_), st_(std::exchange(other.st_, nullptr)) {}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::reset() noexcept {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
  if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Stmt& Stmt::bind(int i, double v) {
  if (sqlite3_bind_double(st_, i, v) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Stmt& Stmt::bind_text(int i, std::string_view v) {
  // An empty view may have a null data(): bind "" rather than NULL.
  if (sqlite3_bind_text(st_, i, v.empty() ? "" : v.data(), int(v.size()), SQLITE_STATIC) !=
      SQLITE_OK) {
    db_->fail("bind");
  }
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  if (sqlite3_bind_null(st_, i) != SQLITE_OK) db_->fail("bind");
  return *this;
}

Stmt& Stmt::bind_blob(int i, const void* data, std::size_t size) {
  static const char kEmpty = 0;
  if (sqlite3_bind_blob64(st_, i, size ? data : &kEmpty, sqlite3_uint64(size), SQLITE_STATIC) !=
      SQLITE_OK) {
    db_->fail("bind");
  }
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string what(1, '"');
  what.append(sql().substr(0, 60)).push_back('"');
  sqlite3_reset(st_);
  db_->fail(what);
}

Stmt::StepResult Stmt::try_step() noexcept {
  const int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return StepResult::kRow;
  if (rc == SQLITE_DONE) return StepResult::kDone;
  return StepResult::kError;
}

bool Stmt::read_only() const noexcept { return sqlite3_stmt_readonly(st_) != 0; }

std::string_view Stmt::sql() const noexcept {
  const char* t = sqlite3_sql(st_);
  return t ? std::string_view(t) : std::string_view();
}

int Stmt::column_count() const noexcept { return sqlite3_column_count(st_); }

std::string_view Stmt::column_name(int col) const noexcept {
  const char* n = sqlite3_column_name(st_, col);
  return n ? std::string_view(n) : std::string_view();
}

ColumnType Stmt::type_at(int col) const noexcept {
  switch (sqlite3_column_type(st_, col)) {
    case SQLITE_INTEGER: return ColumnType::kInteger;
    case SQLITE_FLOAT: return ColumnType::kFloat;
    case SQLITE_TEXT: return ColumnType::kText;
    case SQLITE_BLOB: return ColumnType::kBlob;
    default: return ColumnType::kNull;
  }
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

ReadTxn::~ReadTxn() { sqlite3_exec(db_.db_, "COMMIT", nullptr, nullptr, nullptr); }

Txn::Txn(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE", "begin transaction"); }

Txn::~Txn() {
  if (!done_) sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Txn::commit() {
  db_.exec("COMMIT", "commit");
  done_ = true;
}

}  // namespace pathtrace::sql
