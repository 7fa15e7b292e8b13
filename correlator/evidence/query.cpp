#include "correlator/evidence/query.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <memory>
#include <string_view>
#include <vector>

#include "collector/common/error.hpp"

namespace pathtrace::evidence {
namespace {

constexpr std::size_t kWidthSample = 1000;  // rows buffered to size the table's columns

// A connection that may only read. Closes in its destructor.
struct ReadOnlyConnection {
  sqlite3* db = nullptr;
  std::string denied;  // the first action the authorizer refused, spelled for a person
  ~ReadOnlyConnection() { sqlite3_close_v2(db); }
};

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

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

std::string action_name(int code, const char* a1, const char* a2) {
  auto s = [](const char* p) { return std::string(p ? p : ""); };
  switch (code) {
    case SQLITE_INSERT: return "INSERT into " + s(a1);
    case SQLITE_UPDATE: return "UPDATE of " + s(a1);
    case SQLITE_DELETE: return "DELETE from " + s(a1);
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_VTABLE: return "CREATE " + s(a1);
    case SQLITE_CREATE_TEMP_TABLE: case SQLITE_CREATE_TEMP_INDEX: case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW: return "CREATE TEMP " + s(a1);
    case SQLITE_DROP_TABLE: case SQLITE_DROP_INDEX: case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW: case SQLITE_DROP_VTABLE: return "DROP " + s(a1);
    case SQLITE_DROP_TEMP_TABLE: case SQLITE_DROP_TEMP_INDEX: case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW: return "DROP TEMP " + s(a1);
    case SQLITE_ALTER_TABLE: return "ALTER TABLE " + s(a2);
    case SQLITE_ATTACH: return "ATTACH " + s(a1);
    case SQLITE_DETACH: return "DETACH " + s(a1);
    case SQLITE_PRAGMA: return "PRAGMA " + s(a1) + (a2 ? " = " + s(a2) : "");
    case SQLITE_TRANSACTION: return s(a1) + " TRANSACTION";
    case SQLITE_SAVEPOINT: return "SAVEPOINT " + s(a2);
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    default: return "action " + std::to_string(code);
  }
}

// The authorizer: reading, selecting, functions, recursive CTEs and read-only PRAGMAs.
// Everything else is denied, and the first denial is remembered for the error message.
int authorize(void* ctx, int code, const char* a1, const char* a2, const char*, const char*) {
  switch (code) {
    case SQLITE_SELECT: case SQLITE_READ: case SQLITE_FUNCTION: case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_PRAGMA:
      if (a1 && pragma_reads(a1, a2)) return SQLITE_OK;
      break;
    default:
      break;
  }
  auto* c = static_cast<ReadOnlyConnection*>(ctx);
  if (c->denied.empty()) c->denied = action_name(code, a1, a2);
  return SQLITE_DENY;
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

// One value as text, NULL as "NULL" in tables and "" in CSV.
std::string cell_text(sqlite3_stmt* s, int i, const char* null_text) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_NULL: return null_text;
    case SQLITE_BLOB: {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, i));
      const int n = sqlite3_column_bytes(s, i);
      std::string h = "x'";
      static const char* kHex = "0123456789abcdef";
      for (int k = 0; k < n; ++k) {
        h += kHex[p[k] >> 4];
        h += kHex[p[k] & 15];
      }
      return h + "'";
    }
    default: {
      const unsigned char* t = sqlite3_column_text(s, i);
      return t ? std::string(reinterpret_cast<const char*>(t), std::size_t(sqlite3_column_bytes(s, i))) : "";
    }
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

nlohmann::ordered_json json_value(sqlite3_stmt* s, int i) {
  switch (sqlite3_column_type(s, i)) {
    case SQLITE_NULL: return nullptr;
    case SQLITE_INTEGER: return sqlite3_column_int64(s, i);
    case SQLITE_FLOAT: return sqlite3_column_double(s, i);
    default: return cell_text(s, i, "");
  }
}

void step_or_throw(ReadOnlyConnection& c, int rc) {
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  if (!c.denied.empty()) throw Error(ExitCode::kUsage, refused("", c.denied));
  throw Error(ExitCode::kUsage, std::string("SQL error: ") + sqlite3_errmsg(c.db));
}

// Prints one statement's rows; returns how many.
std::size_t print_result(ReadOnlyConnection& c, sqlite3_stmt* s, QueryFormat format,
                         std::ostream& out) {
  const int n = sqlite3_column_count(s);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.emplace_back(sqlite3_column_name(s, i));
  std::size_t rows = 0;
  int rc;
  if (format == QueryFormat::kJson) {
    out << "[";
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      nlohmann::ordered_json row = nlohmann::ordered_json::object();
      for (int i = 0; i < n; ++i) row[names[std::size_t(i)]] = json_value(s, i);
      out << (rows++ ? ",\n " : "\n ") << row.dump();
    }
    step_or_throw(c, rc);
    out << (rows ? "\n]\n" : "]\n");
    return rows;
  }
  if (format == QueryFormat::kCsv) {
    for (int i = 0; i < n; ++i) out << (i ? "," : "") << csv_field(names[std::size_t(i)]);
    out << "\r\n";
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int i = 0; i < n; ++i) out << (i ? "," : "") << csv_field(cell_text(s, i, ""));
      out << "\r\n";
      ++rows;
    }
    step_or_throw(c, rc);
    return rows;
  }
  // Table: the first kWidthSample rows size the columns, the rest stream through.
  std::vector<std::vector<std::string>> sample;
  std::vector<bool> numeric(std::size_t(n), true), any(std::size_t(n), false);
  while (sample.size() < kWidthSample && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < n; ++i) {
      const int t = sqlite3_column_type(s, i);
      if (t != SQLITE_NULL) {
        any[std::size_t(i)] = true;
        if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) numeric[std::size_t(i)] = false;
      }
      row.push_back(cell_text(s, i, "NULL"));
    }
    sample.push_back(std::move(row));
  }
  if (sample.size() < kWidthSample) step_or_throw(c, rc);
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
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<std::string> r;
      for (int i = 0; i < n; ++i) r.push_back(cell_text(s, i, "NULL"));
      line(r, false);
      ++rows;
    }
    step_or_throw(c, rc);
  }
  out << "(" << rows << (rows == 1 ? " row" : " rows") << ")\n";
  return rows;
}

}  // namespace

std::size_t run_query(const std::string& path, const std::string& sql, QueryFormat format,
                      std::ostream& out) {
  ReadOnlyConnection c;
  const int rc = sqlite3_open_v2(path.c_str(), &c.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK)
    throw Error(ExitCode::kDatabase, "database " + path + ": cannot open: " +
                                         (c.db ? sqlite3_errmsg(c.db) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(c.db, 1);
  if (sqlite3_exec(c.db, "PRAGMA busy_timeout = 5000; PRAGMA query_only = 1; SELECT count(*) FROM sqlite_schema",
                   nullptr, nullptr, nullptr) != SQLITE_OK)
    throw Error(ExitCode::kDatabase, "database " + path + ": " + sqlite3_errmsg(c.db));
  sqlite3_set_authorizer(c.db, authorize, &c);

  // Prepare (and so authorize) every statement before running any.
  std::vector<StmtPtr> stmts;
  const char* p = sql.c_str();
  const char* end = p + sql.size();
  while (p < end) {
    sqlite3_stmt* s = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(c.db, p, int(end - p), &s, &tail) != SQLITE_OK) {
      if (!c.denied.empty()) throw Error(ExitCode::kUsage, refused(std::string_view(p, std::size_t(end - p)), c.denied));
      throw Error(ExitCode::kUsage, std::string("SQL error: ") + sqlite3_errmsg(c.db));
    }
    if (s) {
      StmtPtr owned(s);
      if (!sqlite3_stmt_readonly(s)) {
        const char* text = sqlite3_sql(s);
        throw Error(ExitCode::kUsage, refused(text ? text : "", "not a read-only statement"));
      }
      stmts.push_back(std::move(owned));
    }
    p = tail ? tail : end;
  }
  if (stmts.empty()) throw Error(ExitCode::kUsage, "no SQL statement given");
  std::size_t rows = 0, sets = 0;
  for (auto& s : stmts) {
    if (sqlite3_column_count(s.get()) == 0) {
      int r;
      while ((r = sqlite3_step(s.get())) == SQLITE_ROW) {
      }
      step_or_throw(c, r);
      continue;
    }
    if (sets++ && format != QueryFormat::kJson) out << "\n";
    rows += print_result(c, s.get(), format, out);
  }
  return rows;
}

}  // namespace pathtrace::evidence
