// `pathtrace report` and `pathtrace runs`: a stored run's report, the list of runs.

#include <iostream>

#include <nlohmann/json.hpp>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/trips.hpp"
#include "correlator/report/render.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kReportSpec{
    "report",
    "print the report of a stored run (text, --json or --html)",
    "[--db FILE] [--run RUN] [--json | --html FILE.html] [--all]",
    "Print the report of a stored run: the per-point table and verdict of every flow that lost "
    "packets (--all: every flow), as text, versioned JSON (docs/report-json.md), or one "
    "self-contained HTML page (docs/evidence.md). A run that is still capturing, or whose "
    "correlator died, is analysed from what it committed. Reads the database without writing.",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"run", 0, "RUN", "run id or name (`runs --name`; default: the newest)", ""},
     {"json", 0, "", "print the report as JSON (docs/report-json.md)", ""},
     {"html", 0, "FILE.html", "write the report as one self-contained HTML page instead (0600; refused if it exists)", ""},
     {"force", 0, "", "replace the --html file if it exists", ""},
     {"all", 0, "", "a table for every flow", ""},
     {"fail-on-loss", 0, "", "accepted for old scripts: a flow that lost packets always exits 1", ""}},
    "pathtrace report\npathtrace report --db lab.db --run 2 --json\npathtrace report --run 2 --html incident.html",
    "0 every judged flow delivered · 1 a flow lost packets · 2 usage (no such run) · 4 database"};

const CommandSpec kRunsSpec{
    "runs",
    "list the runs stored in a database; name or delete one",
    "[--db FILE] [--json] | --name NAME --run RUN | --delete RUN [--vacuum]",
    "List the runs stored in a database, newest first: id and name, when, status, points, "
    "sightings, filter and the headline verdict. A capturing or interrupted run names the "
    "process that writes (wrote) it; a failed run says which database error stopped it. "
    "--name names a run, so that --run NAME works wherever --run does (a name starts with a "
    "letter: it is never an id). --delete removes a run and everything of it in one transaction; "
    "--vacuum then gives the space back to the file system (the file is rewritten).",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"json", 0, "", "print a JSON array, one object per run", ""},
     {"name", 0, "NAME", "name the run --run gives: letters, digits, '.', '_', '-', starting with a letter", ""},
     {"run", 0, "RUN", "the run to name (id or name)", ""},
     {"delete", 0, "RUN", "delete this run (id or name) and everything of it", ""},
     {"vacuum", 0, "", "with --delete: rewrite the file to give the freed space back", ""}},
    "pathtrace runs\npathtrace runs --db lab.db --json\npathtrace runs --name mtu-bug --run 3\n"
    "pathtrace report --run mtu-bug\npathtrace runs --delete 2 --vacuum",
    "0 ok · 2 usage (no such run, a bad or taken name, a run still capturing) · 4 database"};

int run_report(const Args& a, const std::string&) {
  Store store(a.str("db"), Store::Mode::kReadOnly);
  if (a.has("json") && !a.has("html")) {
    // Every flow and result, written as they are read (a busy run has millions); the run's
    // data and the results the verdict rests on come first.
    evidence::StoredRun stored = evidence::open_run(store, run_arg(a, store), Store::LoadScope{true, 0, false});
    if (stored.analysed) return print_run(std::cout, *stored.analysed, a, "");
    const Report& head = stored.report;
    report::write_json(
        std::cout, head, [&](const report::FlowVisit& visit) { store.scan_flows(head.run_id, visit); },
        [&](const report::ResultVisit& visit) { store.scan_results(head.run_id, head.points.size(), visit); });
    return report::has_loss(head) ? int(ExitCode::kLoss) : 0;
  }
  // The text report lists the lost and inconclusive flows and the first few others: a busy
  // run's millions of delivered flows stay in the database (counted, not read).
  Store::LoadScope scope;
  if (!a.has("all")) {
    scope.plain_results = a.has("html") ? report::kHtmlListedFlows : report::kListedFlows + 1;
    scope.all_flows = false;
  }
  evidence::StoredRun stored = evidence::open_run(store, run_arg(a, store), scope);
  if (stored.analysed) return print_run(std::cout, *stored.analysed, a, "");
  return print_report(std::cout, stored.report, a, "");
}

namespace {

// "failed", "interrupted (pid 4242 on hv1 is gone)", "capturing (pid 4242 on hv1)".
std::string status_text(const RunSummary& r) {
  if (r.writer.empty()) return name(r.status);
  return std::string(name(r.status)) + " (" + r.writer + (r.status == RunStatus::kInterrupted ? " is gone)" : ")");
}

}  // namespace

int run_runs(const Args& a, const std::string&) {
  if (!a.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + a.unmatched().front() + "' (see --help)");
  exclusive(a, {"name", "delete"});
  exclusive(a, {"json", "delete"});
  exclusive(a, {"json", "name"});
  if (a.has("name") != a.has("run"))
    throw Error(ExitCode::kUsage, "--name NAME and --run RUN go together: the name and the run it names");
  if (a.has("vacuum") && !a.has("delete")) throw Error(ExitCode::kUsage, "--vacuum goes with --delete RUN");
  if (a.has("name")) {
    Store store(a.str("db"), Store::Mode::kReadWrite);
    const int64_t run = store.find_run(a.str("run"));
    store.name_run(run, a.str("name"));
    std::cout << "run " << run << " is named " << a.str("name") << "\n";
    return 0;
  }
  if (a.has("delete")) {
    Store store(a.str("db"), Store::Mode::kReadWrite);
    const int64_t run = store.find_run(a.str("delete"));
    store.delete_run(run);
    std::cout << "deleted run " << run << " from " << store.path() << "\n";
    if (a.has("vacuum")) {
      store.vacuum();
      std::cout << "vacuumed " << store.path() << "\n";
    }
    return 0;
  }
  Store store(a.str("db"), Store::Mode::kReadOnly);
  const auto runs = store.runs();
  if (a.has("json")) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& r : runs) {
      nlohmann::ordered_json o = {{"run", r.id},
                                  {"name", r.name.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.name)},
                                  {"started", r.started},
                                  {"status", name(r.status)},
                                  {"points", r.points},
                                  {"sightings", r.sightings},
                                  {"filter", r.filter},
                                  {"command", r.command},
                                  {"verdict", r.verdict}};
      if (!r.writer.empty()) o["writer"] = r.writer;
      if (r.status == RunStatus::kFailed) o["failure"] = r.failure;
      j.push_back(std::move(o));
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  for (const auto& r : runs) {
    std::cout << "run " << r.id << (r.name.empty() ? "" : " " + r.name) << "  " << r.started << "  "
              << status_text(r) << "  " << r.points << " points  " << r.sightings << " sightings  filter "
              << (r.filter.empty() ? "none" : r.filter) << "\n    "
              << (r.status == RunStatus::kFailed ? r.failure : r.verdict) << "\n";
  }
  return 0;
}

}  // namespace pathtrace::cli
