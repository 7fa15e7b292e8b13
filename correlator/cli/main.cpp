// pathtrace — where along the path did my packets vanish?
// Subcommand dispatch; every Error is caught here once and mapped to its exit code.

#include <cxxopts.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/packet/filter.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/cli/discover.hpp"
#include "correlator/cli/export.hpp"
#include "correlator/cli/ingest.hpp"
#include "correlator/cli/progress.hpp"
#include "correlator/cli/live.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/cli/html.hpp"
#include "correlator/cli/points.hpp"
#include "correlator/cli/query.hpp"
#include "correlator/cli/render.hpp"
#include "correlator/cli/timeline.hpp"
#include "correlator/server/collect_cmd.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {
namespace {

constexpr const char* kDefaultDb = "pathtrace.db";

const char* kUsage = R"(pathtrace — where along the path did my packets vanish?

usage: pathtrace COMMAND [OPTIONS]

commands:
  run       capture live at every point of a path at once and say where each flow disappears
  collect   capture at one point and stream digests to a correlator (or stdout, for ssh)
  correlate receive collectors' streams from many hosts, store the run, print the verdict
  ingest    read capture files taken at points along a path, store the run, print the verdict
  report    print the report of a stored run (text or --json)
  runs      list the runs stored in a database
  discover  find a Neutron port's devices on this hypervisor; print its capture points (TOML)
  timeline  the sightings of a run in time order: one packet, one flow, or the lost packets
  query     run read-only SQL on the database; aligned table, --csv or --json
  export    write a run's packets (kept with --keep-bytes) to pcapng for Wireshark, verdict per packet
  help      this text; `pathtrace COMMAND --help` for a command's options

examples:
  pathtrace run --points A..G --filter ipip --duration 10s
  pathtrace ingest --inventory pcaps/incident-broken/inventory.toml --filter ipip
  pathtrace ingest --filter ipip --order A..G A:vm=a.pcap B:tap=b.pcap C:qbr=c.pcap
  pathtrace report --run 3 --json
  pathtrace ingest --keep-bytes 128 --inventory pcaps/incident-broken/inventory.toml --filter ipip
  pathtrace export --lost -w lost.pcapng
  sqlite3 pathtrace.db 'SELECT * FROM hop_loss'

exit codes: 0 ok · 1 loss found (run; ingest/report with --fail-on-loss) · 2 usage · 3 input file ·
            4 database · 5 capture · 6 remote host · 70 internal error (docs/cli.md)
)";

std::string join_args(int argc, char** argv) {
  std::string s = "pathtrace";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

// Parses argv with `opts`; --help prints and exits 0; bad options → Error(kUsage).
cxxopts::ParseResult parse_or_help(cxxopts::Options& opts, int argc, char** argv,
                                   bool* help_shown) {
  opts.add_options()("h,help", "show this help");
  auto res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help() << std::flush;
    *help_shown = true;
  }
  return res;
}

// Progress lines on stderr unless --quiet: redrawn every 0.5 s on a terminal, plain lines
// every 5 s otherwise (progress_period).
IngestProgress progress_options(bool quiet) {
  IngestProgress p;
  p.enabled = !quiet;
  p.terminal = isatty(STDERR_FILENO) != 0;
  p.period = progress_period(p.terminal);
  return p;
}

std::string aliases_help() {
  std::string s = "\nfilter aliases (exact on parsed layers; match VLAN-tagged and tunnelled copies):\n";
  for (const auto& a : packet::aliases())
    s += "  " + std::string(a.name) + std::string(a.name.size() < 8 ? 8 - a.name.size() : 1, ' ') +
         std::string(a.description) + "\n";
  return s + "anything else is a pcap-filter expression applied to the raw frame.\n";
}

int cmd_ingest(int argc, char** argv, const std::string& command) {
  cxxopts::Options opts("pathtrace ingest",
                        "Read one capture file per point (pcap or pcapng), recognise each packet "
                        "at every point, store the run in SQLite and print where each flow "
                        "stops.\n\nPOINT is LABEL[:ROLE[:IFACE[@HOST]]]=FILE, in path order "
                        "(first = the VM side), or the points of --inventory.");
  opts.custom_help("[OPTIONS] [POINT=FILE...]");
  opts.positional_help("");
  opts.add_options()
      ("db", "SQLite database to store the run in", cxxopts::value<std::string>()->default_value(kDefaultDb))
      ("inventory", "TOML inventory whose points have a `file` (docs/inventory.md)", cxxopts::value<std::string>())
      ("order", "path order: A..G (a range in the given order) or B,C,E (a list)", cxxopts::value<std::string>()->default_value(""))
      ("filter", "alias (ipip, tcp, ...) or pcap-filter expression", cxxopts::value<std::string>()->default_value(""))
      ("payload-bytes", "L4 payload bytes hashed into the digest (0-32)", cxxopts::value<unsigned>()->default_value("8"))
      ("vxlan-port", "UDP port of VXLAN", cxxopts::value<uint16_t>()->default_value("4789"))
      ("geneve-port", "UDP port of Geneve", cxxopts::value<uint16_t>()->default_value("6081"))
      ("max-transit-ms", "sightings of one packet further apart start a new traversal", cxxopts::value<double>()->default_value("200"))
      ("guard-ms", "margin inside the common capture window", cxxopts::value<double>()->default_value("100"))
      ("all", "print a table for every flow, not only those that lost packets")
      ("json", "print the report as JSON instead of text")
      ("fail-on-loss", "exit 1 when a flow lost packets")
      ("keep-bytes", "keep the first N bytes of every frame that passes the filter, for "
                     "`pathtrace export` (0-65535; costs N + ~80 bytes per sighting in the database)",
       cxxopts::value<unsigned>()->default_value("0"))
      ("q,quiet", "no progress lines on stderr")
      ("v,verbose", "print the time each phase took on stderr")
      ("points", "POINT=FILE arguments", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"points"});
  bool help = false;
  auto res = parse_or_help(opts, argc, argv, &help);
  if (help) {
    std::cout << aliases_help()
              << "\nexamples:\n"
                 "  pathtrace ingest --inventory pcaps/incident-broken/inventory.toml --filter ipip\n"
                 "  pathtrace ingest --db lab.db --filter ipip A:vm:eth0@vm1=A.pcap "
                 "B:tap=B.pcap C:qbr=C.pcap\n"
                 "  pathtrace ingest --order G..A --filter 'host 198.18.0.20' A=a.pcap G=g.pcap\n";
    return 0;
  }

  std::vector<Point> points;
  if (res.count("inventory")) points = load_inventory(res["inventory"].as<std::string>());
  if (res.count("points"))
    for (const auto& a : res["points"].as<std::vector<std::string>>())
      points.push_back(parse_point_arg(a));
  points = select_points(points, res["order"].as<std::string>());
  finalize_path(points);
  for (const auto& p : points)
    if (p.source.empty())
      throw Error(ExitCode::kUsage, "point " + p.label + ": no capture file (inventory `file`)");

  IngestOptions io;
  io.filter = res["filter"].as<std::string>();
  const unsigned k = res["payload-bytes"].as<unsigned>();
  if (k > 32) throw Error(ExitCode::kUsage, "--payload-bytes " + std::to_string(k) + ": at most 32");
  io.parse.payload_bytes = static_cast<uint8_t>(k);
  io.parse.vxlan_port = res["vxlan-port"].as<uint16_t>();
  io.parse.geneve_port = res["geneve-port"].as<uint16_t>();
  const double transit = res["max-transit-ms"].as<double>(), guard = res["guard-ms"].as<double>();
  if (!(transit > 0) || !(guard >= 0))
    throw Error(ExitCode::kUsage, "--max-transit-ms must be > 0 and --guard-ms >= 0");
  io.analysis.max_transit_ns = static_cast<int64_t>(transit * 1e6);
  io.analysis.guard_ns = static_cast<int64_t>(guard * 1e6);
  const unsigned keep = res["keep-bytes"].as<unsigned>();
  if (keep > 0xffff) throw Error(ExitCode::kUsage, "--keep-bytes " + std::to_string(keep) + ": at most 65535");
  io.keep_bytes = static_cast<uint16_t>(keep);
  io.progress = progress_options(res.count("quiet") > 0);

  const std::string db_path = res["db"].as<std::string>();
  Store store(db_path, Store::Mode::kReadWrite);  // fail on a bad database before reading files
  IngestTimings timings;
  Run run = ingest_files(std::move(points), io, &timings);
  run.report.started = now_iso8601();
  run.report.command = command;
  run.report.filter = io.filter;
  const auto save_start = std::chrono::steady_clock::now();
  store.save(run);
  if (res.count("verbose")) {
    const double save_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - save_start).count();
    std::fprintf(stderr,
                 "ingest: read+parse %.3f s · merge %.3f s · analyse %.3f s · store %.3f s "
                 "(%zu sightings, %zu traversals)\n",
                 timings.read_s, timings.merge_s, timings.analyze_s, save_s,
                 run.sightings.size(), run.traversals.size());
  }

  if (res.count("json")) {
    std::cout << to_json(run.report).dump(2) << "\n";
  } else {
    RenderOptions ro;
    ro.all_flows = res.count("all") > 0;
    ro.db_path = db_path;
    print_text(std::cout, run.report, ro);
  }
  return res.count("fail-on-loss") && has_loss(run.report) ? int(ExitCode::kLoss) : 0;
}

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
  Report rep = store.load(res["run"].as<int64_t>());
  if (const RunStatus status = store.status(rep.run_id); status != RunStatus::kComplete) {
    // A live run that is still capturing, or whose correlator died: analyse what it committed.
    std::vector<Point> points;
    std::vector<Chain> chains;
    std::vector<Sighting> sightings;
    store.load_staged(rep.run_id, points, chains, sightings);
    const std::size_t committed = sightings.size();
    Run run = analyze(std::move(points), std::move(chains), std::move(sightings));
    run.report.run_id = rep.run_id;
    run.report.started = rep.started;
    run.report.command = rep.command;
    run.report.filter = rep.filter;
    run.report.warnings.insert(
        run.report.warnings.begin(),
        "run " + std::to_string(rep.run_id) +
            (status == RunStatus::kCapturing ? " is still capturing" : " was interrupted") +
            ": analysed from the " + std::to_string(committed) +
            " sightings committed before it stopped (nothing is written back)");
    rep = std::move(run.report);
  }
  if (res.count("html")) {
    write_html_file(res["html"].as<std::string>(), rep);
    std::cout << "wrote " << res["html"].as<std::string>() << " (run " << rep.run_id << ")\n";
  } else if (res.count("json")) {
    std::cout << to_json(rep).dump(2) << "\n";
  } else {
    RenderOptions ro;
    ro.all_flows = res.count("all") > 0;
    print_text(std::cout, rep, ro);
  }
  return res.count("fail-on-loss") && has_loss(rep) ? int(ExitCode::kLoss) : 0;
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

}  // namespace

int main(int argc, char** argv) {
  const std::string command = join_args(argc, argv);
  if (argc < 2) {
    std::cerr << kUsage;
    return int(ExitCode::kUsage);
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (cmd == "--version" || cmd == "version") {
      std::cout << "pathtrace " << PATHTRACE_VERSION << "\n";
      return 0;
    }
    // Subcommand options start after the command word.
    if (cmd == "ingest") return cmd_ingest(argc - 1, argv + 1, command);
    if (cmd == "report") return cmd_report(argc - 1, argv + 1);
    if (cmd == "runs") return cmd_runs(argc - 1, argv + 1);
    if (cmd == "timeline") return cmd_timeline(argc - 1, argv + 1);
    if (cmd == "query") return cmd_query(argc - 1, argv + 1);
    if (cmd == "export") return cmd_export(argc - 1, argv + 1);
    if (cmd == "run") return cmd_run(argc - 1, argv + 1, command);
    if (cmd == "collect") return server::cmd_collect(argc - 1, argv + 1);
    if (cmd == "correlate") return cmd_correlate(argc - 1, argv + 1, command);
    if (cmd == "discover") return cmd_discover(argc - 1, argv + 1);
    std::cerr << "pathtrace: unknown command '" << cmd << "'\n\n" << kUsage;
    return int(ExitCode::kUsage);
  } catch (const Error& e) {
    std::cerr << "pathtrace " << cmd << ": " << e.what() << "\n";
    return int(e.code());
  } catch (const std::exception& e) {
    std::cerr << "pathtrace " << cmd << ": internal error: " << e.what() << "\n";
    return int(ExitCode::kInternal);
  }
}

}  // namespace pathtrace::cli

int main(int argc, char** argv) { return pathtrace::cli::main(argc, argv); }
