// `pathtrace run`: options → pipeline::run_live (correlator/pipeline/live.hpp).

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/pipeline/live.hpp"
#include "correlator/report/render.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

int cmd_run(int argc, char** argv, const std::string& command) {
  cxxopts::Options opts("pathtrace run",
                        "Capture at every point of a path at once, recognise each packet at every "
                        "point, and say where each flow disappears. Points come from the "
                        "inventory (docs/inventory.md) in path order.");
  add_live_options(opts);
  opts.add_options()
      ("inventory", "TOML inventory", cxxopts::value<std::string>()->default_value("pathtrace.toml"))
      ("points", "which points, in path order: A..G or B,C,E (default: all)", cxxopts::value<std::string>()->default_value(""))
      ("point", "add a point: LABEL[:ROLE]=HOST:IFACE[@NETNS] (HOST is local)", cxxopts::value<std::vector<std::string>>())
      ("traffic", "shell command to run once every point is capturing; the run stops 1 s after it ends", cxxopts::value<std::string>())
      ("snaplen", "bytes captured per frame", cxxopts::value<int>()->default_value("256"))
      ("keep-bytes", "store the first N bytes of every packet, for `pathtrace export` (0 = none; at most --snaplen)", cxxopts::value<uint32_t>()->default_value("0"))
      ("start-timeout", "how long points may take to start capturing", cxxopts::value<std::string>()->default_value("10s"))
      ("keep-going", "when a remote host fails pre-flight, capture at the other points (the report names the missing ones)")
      ("explain", "read the filtering layers' counters (iptables, nft, OpenFlow) before and after, and name the rule that dropped the lost packets")
      ("ovs-db", "with --explain: the OVS database socket, unix:PATH (default: $OVS_RUNDIR/db.sock)", cxxopts::value<std::string>()->default_value(""));
  const auto res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nstops at --duration, --count, --idle, 1 s after --traffic ends, or Ctrl-C "
                 "(whichever comes first; with none of them: 10 s)\n"
                 "exit codes: 0 every flow delivered · 1 a flow lost packets · 2 usage · 3 "
                 "inventory · 4 database · 5 capture · 6 remote\n"
                 "\nexamples:\n"
                 "  pathtrace run --points A..G --filter ipip --duration 10s\n"
                 "  pathtrace run --inventory lab.toml --filter ipip --traffic 'ip netns exec dir ./send'\n"
                 "  pathtrace run --point A=local:veth0@ns1 --point B=local:veth1@ns2 --filter icmp --count 100\n"
                 "  pathtrace run --points A..G --filter ipip --explain --traffic './send'   # which rule dropped them\n";
    return 0;
  }
  std::vector<Point> points;
  const std::string inv = res["inventory"].as<std::string>();
  const bool inv_given = res["inventory"].count() > 0;
  std::map<std::string, inventory::Host> hosts;
  if (inv_given || std::filesystem::exists(inv) || !res.count("point")) {
    points = inventory::load_inventory(inv);
    hosts = inventory::load_hosts(inv);
  }
  points = inventory::select_points(points, res["points"].as<std::string>());
  if (res.count("point"))
    for (const auto& a : res["point"].as<std::vector<std::string>>()) points.push_back(inventory::parse_live_point(a));
  inventory::finalize_path(points);

  pipeline::LiveOptions lo;
  lo.filter = res["filter"].as<std::string>();
  lo.snaplen = res["snaplen"].as<int>();
  if (lo.snaplen < 64 || lo.snaplen > 262144)
    throw Error(ExitCode::kUsage, "--snaplen " + std::to_string(lo.snaplen) + ": must be 64..262144");
  lo.keep_bytes = res["keep-bytes"].as<uint32_t>();
  if (lo.keep_bytes > uint32_t(lo.snaplen))
    throw Error(ExitCode::kUsage, "--keep-bytes " + std::to_string(lo.keep_bytes) + " exceeds --snaplen " +
                                      std::to_string(lo.snaplen) + " (raise --snaplen)");
  if (res.count("duration")) lo.duration_ms = parse_duration_ms(res["duration"].as<std::string>(), "--duration");
  if (res.count("idle")) lo.idle_ms = parse_duration_ms(res["idle"].as<std::string>(), "--idle");
  lo.count = res["count"].as<uint64_t>();
  lo.start_timeout_ms = parse_duration_ms(res["start-timeout"].as<std::string>(), "--start-timeout");
  if (res.count("traffic")) lo.traffic = res["traffic"].as<std::string>();
  if (!lo.duration_ms && !lo.idle_ms && !lo.count && lo.traffic.empty()) lo.duration_ms = 10000;
  lo.quiet = res.count("quiet") > 0;
  progress_period(false);  // a bad PATHTRACE_PROGRESS_MS fails here, before anything starts
  lo.hosts = std::move(hosts);
  lo.keep_going = res.count("keep-going") > 0;
  lo.explain = res.count("explain") > 0;
  lo.ovs_db = res["ovs-db"].as<std::string>();
  lo.run_name = "run-" + std::to_string(::getpid());
  Store store(res["db"].as<std::string>(), Store::Mode::kReadWrite);  // fails before capturing
  const Run run = pipeline::run_live(std::move(points), lo, store, run_meta(res, command));
  print_report(std::cout, run.report, res, store.path());
  return report::has_loss(run.report) ? int(ExitCode::kLoss) : 0;
}

}  // namespace pathtrace::cli
