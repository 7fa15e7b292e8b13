#include "correlator/evidence/query.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <string_view>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/store/sqlite.hpp"

namespace pathtrace::evidence {
namespace {

constexpr std::size_t kWidthSample = 1000;  // rows buffered to size the table's columns

// PRAGMAs that only report something; allowed without an argument (`PRAGMA user_version`)
// or, for the schema ones, with a table or index name (`PRAGMA table_info(points)`).
bool pragma_reads(std::string_view name, const char* arg) {
  static constexpr std::string_view kNoArg[] = {
      "user_version", "schema_version", "application_id", "page_size", "page_count",
      "freelist_count", "encoding", "journal_mode", "compile_options", "function_list",
      "pragma_list", "collation_list", "database_list", "module_list", "data_version",
      "query_only", "foreign_keys"};
  static constexpr std::string_view kWithName[] = {"table_info", "table_xinfo", "table_list",
                                                   "index_list", "index_info", "index_xinfo",
                                                   "foreign_key_list"};
  for (auto n : kWithName)
    if (name == n) return true;
  if (arg) return false;
  for (auto n : kNoArg)
    if (name == n) return true;
  return false;
}

// True for the "UPDATE of sqlite_master" SQLite asks about while it sets up a table-valued
// PRAGMA function (`pragma_table_info('points')`: the virtual table declares its columns).
// The PRAGMA itself is then asked about as any PRAGMA; a real UPDATE of the schema table is
// still refused: it does not prepare (sqlite_master may not be modified) and would not be a
// read-only statement.
bool declares_pragma_table(const sql::Action& a) {
  if (a.code != sql::Action::kUpdateCode || !a.arg1) return false;
  const std::string_view table = a.arg1;
  return table == "sqlite_master" || table == "sqlite_schema";
}

// The authorizer: reading, selecting, functions, recursive CTEs and read-only PRAGMAs, also
// as table-valued functions. Everything else is denied, and the first denial is remembered in
// `denied` for the error message.
bool allowed(const sql::Action& a, std::string& denied) {
  using Kind = sql::Action::Kind;
  switch (a.kind) {
    case Kind::kSelect: case Kind::kRead: case Kind::kFunction: case Kind::kRecursive:
      return true;
    case Kind::kPragma:
      if (a.arg1 && pragma_reads(a.arg1, a.arg2)) return true;
      break;
    case Kind::kOther:
      if (declares_pragma_table(a)) return true;
      break;
  }
  if (denied.empty()) denied = a.text();
  return false;
}

// The first statement of `text` (up to its ';'), whitespace collapsed, at most 80 columns.
std::string statement_head(std::string_view text) {
  std::string s;
  for (char c : text.substr(0, text.find(';'))) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (s.empty() || s.back() == ' ')) continue;
    s += space ? ' ' : c;
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string refused(std::string_view statement, const std::string& action) {
  return "refused: `" + statement_head(statement) + "` would write (" + action +
         "): pathtrace query only reads (the database is opened read-only, with query_only and "
         "an authorizer that allows reading only); change a copy with the sqlite3 shell";
}

// One value as text, NULL as "NULL" in tables and "" in CSV, a BLOB as x'hex'.
std::string cell_text(const sql::Stmt& s, int i, const char* null_text) {
  switch (s.type_at(i)) {
    case sql::ColumnType::kNull: return null_text;
    case sql::ColumnType::kBlob: {
      std::string h = "x'";
      static const char* kHex = "0123456789abcdef";
      for (const char c : s.blob_at(i)) {
        const auto b = static_cast<unsigned char>(c);
        h += kHex[b >> 4];
        h += kHex[b & 15];
      }
      return h + "'";
    }
    default: return std::string(s.text_at(i));
  }
}

std::size_t width(const std::string& s) {
  std::size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

nlohmann::ordered_json json_value(const sql::Stmt& s, int i) {
  switch (s.type_at(i)) {
    case sql::ColumnType::kNull: return nullptr;
    case sql::ColumnType::kInteger: return s.int_at(i);
    case sql::ColumnType::kFloat: return s.real_at(i);
    default: return cell_text(s, i, "");
  }
}

// A read-only connection with the authorizer above and the limits for SQL a person typed,
// and the first action it refused.
struct ReadOnlyConnection {
  ReadOnlyConnection(const std::string& path, const sql::UntrustedLimits& limits) : db(path, true), limits(limits) {
    // The first read: a file that is not SQLite fails here ("file is not a database").
    db.set_busy_timeout(5000);
    db.exec("PRAGMA query_only = 1; SELECT count(*) FROM sqlite_schema", "read schema");
    db.set_authorizer([this](const sql::Action& a) { return allowed(a, denied); });
    db.limit_untrusted(limits);
  }

  // The user's SQL failed with SQLite's `message`: Error(kUsage), saying which limit stopped
  // it when one did.
  [[noreturn]] void fail(const std::string& message) const {
    if (db.timed_out())
      throw Error(ExitCode::kUsage, "query stopped after " + seconds(limits.timeout_ms) +
                                        " (--timeout " + seconds(limits.timeout_ms) + "; 0 for none)");
    if (message == "out of memory")
      throw Error(ExitCode::kUsage, "query stopped: it needs more than " + mib(limits.heap_bytes) +
                                        " of memory (the limit of pathtrace query)");
    if (message == "string or blob too big")
      throw Error(ExitCode::kUsage, "SQL error: string or blob too big (pathtrace query allows " +
                                        mib(limits.max_length) + ")");
    throw Error(ExitCode::kUsage, "SQL error: " + message);
  }
  static std::string seconds(long long ms) {
    return ms % 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
  }
  static std::string mib(int64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }
  ReadOnlyConnection(const ReadOnlyConnection&) = delete;
  ReadOnlyConnection& operator=(const ReadOnlyConnection&) = delete;

  // Steps `s` once; a failure is the user's SQL: Error(kUsage) with SQLite's message.
  bool step(sql::Stmt& s) {
    switch (s.try_step()) {
      case sql::Stmt::StepResult::kRow: return true;
      case sql::Stmt::StepResult::kDone: return false;
      case sql::Stmt::StepResult::kError: break;
    }
    if (!denied.empty()) throw Error(ExitCode::kUsage, refused("", denied));
    fail(db.last_error());
  }

  sql::Db db;
  sql::UntrustedLimits limits;
  std::string denied;  // the first action the authorizer refused, spelled for a person
};

// Prints one statement's rows; returns how many.
std::size_t print_result(ReadOnlyConnection& c, sql::Stmt& s, QueryFormat format,
                         std::ostream& out) {
  const int n = s.column_count();
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.emplace_back(s.column_name(i));
  std::size_t rows = 0;
  if (format == QueryFormat::kJson) {
    out << "[";
    while (c.step(s)) {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      for (int i = 0; i < n; ++i) row[names[std::size_t(i)]] = json_value(s, i);
      out << (rows++ ? ",\n " : "\n ") << row.dump();
    }
    out << (rows ? "\n]\n" : "]\n");
    return rows;
  }
  if (format == QueryFormat::kCsv) {
    for (int i = 0; i < n; ++i) out << (i ? "," : "") << csv_field(names[std::size_t(i)]);
    out << "\r\n";
    while (c.step(s)) {
      for (int i = 0; i < n; ++i) out << (i ? "," : "") << csv_field(cell_text(s, i, ""));
      out << "\r\n";
      ++rows;
    }
    return rows;
  }
  // Table: the first kWidthSample rows size the columns, the rest stream through.
  std::vector<std::vector<std::string>> sample;
  std::vector<bool> numeric(std::size_t(n), true), any(std::size_t(n), false);
  while (sample.size() < kWidthSample && c.step(s)) {
    std::vector<std::string> row;
    for (int i = 0; i < n; ++i) {
      const sql::ColumnType t = s.type_at(i);
      if (t != sql::ColumnType::kNull) {
        any[std::size_t(i)] = true;
        if (t != sql::ColumnType::kInteger && t != sql::ColumnType::kFloat) numeric[std::size_t(i)] = false;
      }
      row.push_back(cell_text(s, i, "NULL"));
    }
    sample.push_back(std::move(row));
  }
  std::vector<std::size_t> w(static_cast<std::size_t>(n), 0);
  for (std::size_t i = 0; i < w.size(); ++i) {
    w[i] = width(names[i]);
    for (const auto& r : sample) w[i] = std::max(w[i], width(r[i]));
  }
  auto line = [&](const std::vector<std::string>& r, bool header) {
    std::string l;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const std::size_t pad = w[i] > width(r[i]) ? w[i] - width(r[i]) : 0;
      const bool right = !header && numeric[i] && any[i];
      const bool last = i + 1 == r.size();
      l += (i ? "  " : "") + (right ? std::string(pad, ' ') + r[i] : last ? r[i] : r[i] + std::string(pad, ' '));
    }
    out << l << "\n";
  };
  line(names, true);
  std::string rule;
  for (std::size_t i = 0; i < w.size(); ++i) {
    rule += i ? "  " : "";
    for (std::size_t k = 0; k < w[i]; ++k) rule += "─";
  }
  out << rule << "\n";
  for (const auto& r : sample) line(r, false);
  rows = sample.size();
  if (sample.size() == kWidthSample) {
    while (c.step(s)) {
      std::vector<std::string> r;
      for (int i = 0; i < n; ++i) r.push_back(cell_text(s, i, "NULL"));
      line(r, false);
      ++rows;
    }
  }
  out << "(" << rows << (rows == 1 ? " row" : " rows") << ")\n";
  return rows;
}

}  // namespace

std::size_t run_query(const std::string& path, const std::string& sql, QueryFormat format,
                      std::ostream& out, const sql::UntrustedLimits& limits) {
  ReadOnlyConnection c(path, limits);
  // Prepare (and so authorize) every statement before running any.
  sql::Script script = sql::prepare_script(c.db, sql);
  // In text order: a statement that would write is named before a later one that failed.
  for (const sql::Stmt& s : script.statements)
    if (!s.read_only()) throw Error(ExitCode::kUsage, refused(s.sql(), "not a read-only statement"));
  if (!script.error.empty()) {
    if (!c.denied.empty()) throw Error(ExitCode::kUsage, refused(script.failed_text, c.denied));
    c.fail(script.error);
  }
  if (script.statements.empty()) throw Error(ExitCode::kUsage, "no SQL statement given");
  std::size_t rows = 0, sets = 0;
  for (sql::Stmt& s : script.statements) {
    if (s.column_count() == 0) {
      while (c.step(s)) {
      }
      continue;
    }
    if (sets++ && format != QueryFormat::kJson) out << "\n";
    rows += print_result(c, s, format, out);
  }
  return rows;
}

}  // namespace pathtrace::evidence
