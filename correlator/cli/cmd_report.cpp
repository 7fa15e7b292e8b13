// `pathtrace report` and `pathtrace runs`: a stored run's report, the list of runs.

#include <iostream>

#include <nlohmann/json.hpp>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/trips.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kReportSpec{
    "report",
    "print the report of a stored run (text, --json or --html)",
    "[--db FILE] [--run N] [--json | --html FILE.html] [--all]",
    "Print the report of a stored run: the per-point table and verdict of every flow that lost "
    "packets (--all: every flow), as text, versioned JSON (docs/report-json.md), or one "
    "self-contained HTML page (docs/evidence.md). A run that is still capturing, or whose "
    "correlator died, is analysed from what it committed. Reads the database without writing.",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"run", 0, "N", "run id (default: the newest)", ""},
     {"json", 0, "", "print the report as JSON (docs/report-json.md)", ""},
     {"html", 0, "FILE.html", "write the report as one self-contained HTML page instead", ""},
     {"all", 0, "", "a table for every flow", ""},
     {"fail-on-loss", 0, "", "accepted for old scripts: a flow that lost packets always exits 1", ""}},
    "pathtrace report\npathtrace report --db lab.db --run 2 --json\npathtrace report --run 2 --html incident.html",
    "0 every judged flow delivered · 1 a flow lost packets · 2 usage (no such run) · 4 database"};

const CommandSpec kRunsSpec{
    "runs",
    "list the runs stored in a database",
    "[--db FILE] [--json]",
    "List the runs stored in a database, newest first: when, status, points, sightings, filter "
    "and the headline verdict.",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"json", 0, "", "print a JSON array, one object per run", ""}},
    "pathtrace runs\npathtrace runs --db lab.db --json",
    "0 ok · 4 database"};

int run_report(const Args& a, const std::string&) {
  Store store(a.str("db"), Store::Mode::kReadOnly);
  const Report rep = evidence::open_run(store, a.has("run") ? a.int64("run") : 0).report;
  return print_report(std::cout, rep, a, "");
}

int run_runs(const Args& a, const std::string&) {
  Store store(a.str("db"), Store::Mode::kReadOnly);
  const auto runs = store.runs();
  if (a.has("json")) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& r : runs)
      j.push_back({{"run", r.id},
                   {"started", r.started},
                   {"status", name(r.status)},
                   {"points", r.points},
                   {"sightings", r.sightings},
                   {"filter", r.filter},
                   {"command", r.command},
                   {"verdict", r.verdict}});
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& r : runs)
    std::cout << "run " << r.id << "  " << r.started << "  " << name(r.status) << "  " << r.points
              << " points  " << r.sightings << " sightings  filter " << (r.filter.empty() ? "none" : r.filter)
              << "\n    " << r.verdict << "\n";
  return 0;
}

}  // namespace pathtrace::cli
