// `pathtrace report` and `pathtrace runs`: a stored run's report, the list of runs.

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/trips.hpp"
#include "correlator/report/html.hpp"
#include "correlator/report/render.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

int cmd_report(int argc, char** argv) {
  cxxopts::Options opts("pathtrace report", "Print the report of a stored run.");
  opts.add_options()
      ("db", "SQLite database", cxxopts::value<std::string>()->default_value(kDefaultDb))
      ("run", "run id (default: the newest)", cxxopts::value<int64_t>()->default_value("0"))
      ("all", "print a table for every flow")
      ("json", "print the report as JSON (docs/report-json.md)")
      ("html", "write the report as one self-contained HTML file (docs/evidence.md)", cxxopts::value<std::string>())
      ("fail-on-loss", "exit 1 when a flow lost packets");
  bool help = false;
  auto res = parse_or_help(opts, argc, argv, &help);
  if (help) {
    std::cout << "\nexamples:\n  pathtrace report\n  pathtrace report --db lab.db --run 2 --json\n"
                 "  pathtrace report --run 2 --html incident.html\n";
    return 0;
  }
  const std::string db_path = res["db"].as<std::string>();
  Store store(db_path, Store::Mode::kReadOnly);
  const Report rep = evidence::open_run(store, res["run"].as<int64_t>()).report;
  if (res.count("html")) {
    report::write_html_file(res["html"].as<std::string>(), rep);
    std::cout << "wrote " << res["html"].as<std::string>() << " (run " << rep.run_id << ")\n";
  } else if (res.count("json")) {
    std::cout << report::to_json(rep).dump(2) << "\n";
  } else {
    report::RenderOptions ro;
    ro.all_flows = res.count("all") > 0;
    report::print_text(std::cout, rep, ro);
  }
  return res.count("fail-on-loss") && report::has_loss(rep) ? int(ExitCode::kLoss) : 0;
}

int cmd_runs(int argc, char** argv) {
  cxxopts::Options opts("pathtrace runs", "List the runs stored in a database, newest first.");
  opts.add_options()("db", "SQLite database",
                     cxxopts::value<std::string>()->default_value(kDefaultDb));
  bool help = false;
  auto res = parse_or_help(opts, argc, argv, &help);
  if (help) return 0;
  Store store(res["db"].as<std::string>(), Store::Mode::kReadOnly);
  for (const auto& r : store.runs())
    std::cout << "run " << r.id << "  " << r.started << "  " << name(r.status) << "  " << r.points
              << " points  "
              << r.sightings << " sightings  filter " << (r.filter.empty() ? "none" : r.filter)
              << "\n    " << r.verdict << "\n";
  return 0;
}

}  // namespace pathtrace::cli
