// `pathtrace query`: options → evidence::run_query (correlator/evidence/query.hpp).

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/query.hpp"

namespace pathtrace::cli {

const CommandSpec kQuerySpec{
    "query",
    "run read-only SQL on the database; aligned table, --csv or --json",
    "[--db FILE] [--csv | --json] 'SELECT ...'",
    "Run SQL on a pathtrace database and print the rows. The connection only reads: the file is "
    "opened read-only with PRAGMA query_only, and INSERT, UPDATE, DELETE, CREATE (TEMP too), "
    "DROP, ALTER, ATTACH, transactions and PRAGMA writes are refused (exit 2); read-only PRAGMAs "
    "work, also as table-valued functions (pragma_table_info('points')). A query is stopped "
    "after --timeout, or when it needs more than --max-memory, or makes a string or BLOB over "
    "100 MiB (exit 2). The tables and views are in docs/schema.md, worked examples in "
    "docs/evidence.md, the limits in docs/security.md.",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"csv", 0, "", "print CSV (RFC 4180, header row, NULL as empty)", ""},
     {"json", 0, "", "print a JSON array of objects, one per row (column name → value)", ""},
     {"timeout", 0, "DURATION", "stop the query after this long (0: never)", "10s"},
     {"max-memory", 0, "MIB", "stop the query when SQLite needs more memory than this", "512"},
     {"sql", 0, "SQL", "the SQL text", "", false, true}},
    "pathtrace query 'SELECT flow_label, dir, verdict, summary FROM verdicts WHERE run = 1'\n"
    "pathtrace query --csv 'SELECT * FROM hop_loss WHERE run_id = 1 AND lost > 0'\n"
    "pathtrace query --json --db lab.db 'SELECT digest_hex, last_seen FROM lost_packets WHERE run_id = 2'\n"
    "pathtrace query 'PRAGMA table_info(points)'\n"
    "pathtrace query --timeout 1m 'SELECT count(*) FROM observations WHERE run_id = 1'",
    "0 ok · 2 bad SQL, a statement that would write (refused), a limit reached · 4 database"};

int run_query(const Args& a, const std::string&) {
  if (!a.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + a.unmatched().front() + "' (see --help)");
  exclusive(a, {"csv", "json"});
  const auto sql = a.list("sql");
  if (sql.empty()) throw Error(ExitCode::kUsage, "no SQL given: pathtrace query 'SELECT ...' (see --help)");
  if (sql.size() > 1)
    throw Error(ExitCode::kUsage, "unexpected argument '" + sql[1] + "': give the SQL as one quoted word (see --help)");
  using evidence::QueryFormat;
  const QueryFormat f = a.has("csv") ? QueryFormat::kCsv : a.has("json") ? QueryFormat::kJson : QueryFormat::kTable;
  sql::UntrustedLimits limits;
  limits.timeout_ms = parse_duration_ms(a.str("timeout"), "--timeout");
  limits.heap_bytes = int64_t(a.uint("max-memory", 16, 1 << 20)) << 20;
  evidence::run_query(a.str("db"), sql.front(), f, std::cout, limits);
  return 0;
}

}  // namespace pathtrace::cli
