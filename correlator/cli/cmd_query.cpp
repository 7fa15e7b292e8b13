// `pathtrace query`: options → evidence::run_query (correlator/evidence/query.hpp).

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/query.hpp"

namespace pathtrace::cli {

int cmd_query(int argc, char** argv) {
  cxxopts::Options opts(
      "pathtrace query",
      "Run SQL on a pathtrace database and print the rows. The connection only reads: the "
      "file is opened read-only with PRAGMA query_only, and INSERT, UPDATE, DELETE, CREATE "
      "(TEMP too), DROP, ALTER, ATTACH, transactions and PRAGMA writes are refused (exit 2). "
      "The tables and views are in docs/schema.md, worked examples in docs/evidence.md.");
  opts.custom_help("[--db FILE] [--csv | --json]");
  opts.positional_help("'SELECT ...'");
  opts.add_options()
      ("db", "SQLite database", cxxopts::value<std::string>()->default_value(kDefaultDb))
      ("csv", "print CSV (RFC 4180, header row, NULL as empty)")
      ("json", "print a JSON array of objects, one per row (column name → value)")
      ("h,help", "show this help")
      ("sql", "SQL text", cxxopts::value<std::string>());
  opts.parse_positional({"sql"});
  const cxxopts::ParseResult res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nexamples:\n"
                 "  pathtrace query 'SELECT flow_label, dir, verdict, summary FROM verdicts WHERE run = 1'\n"
                 "  pathtrace query --csv 'SELECT * FROM hop_loss WHERE run_id = 1 AND lost > 0'\n"
                 "  pathtrace query --json --db lab.db 'SELECT digest_hex, last_seen FROM lost_packets WHERE run_id = 2'\n"
                 "  pathtrace query 'PRAGMA table_info(points)'\n"
                 "\nexit: 0 ok · 2 bad SQL, or a statement that would write (refused) · 4 database\n";
    return 0;
  }
  if (!res.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + res.unmatched().front() + "' (see --help)");
  if (res.count("csv") && res.count("json")) throw Error(ExitCode::kUsage, "--csv and --json exclude each other");
  if (!res.count("sql")) throw Error(ExitCode::kUsage, "no SQL given: pathtrace query 'SELECT ...' (see --help)");
  const std::string text = res["sql"].as<std::string>();
  using evidence::QueryFormat;
  const QueryFormat f = res.count("csv") ? QueryFormat::kCsv : res.count("json") ? QueryFormat::kJson : QueryFormat::kTable;
  evidence::run_query(res["db"].as<std::string>(), text, f, std::cout);
  return 0;
}

}  // namespace pathtrace::cli
