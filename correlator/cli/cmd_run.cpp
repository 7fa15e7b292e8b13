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
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kRunSpec{
    "run",
    "capture live at every point of a path at once and say where each flow disappears",
    "[--inventory FILE] [--points A..G | B,C,E] [--point SPEC...] [OPTIONS]",
    "Capture at every point of a path at once, recognise each packet at every point, and say "
    "where each flow disappears. Points come from the inventory (docs/inventory.md) in path "
    "order, and from --point; --points picks among both. Points on other hosts are captured over "
    "ssh (docs/remote.md). Stops at --duration, --count, --idle, 1 s after --traffic ends, or "
    "Ctrl-C (whichever comes first; with none of them, after 10 s).",
    join({{"inventory", 0, "FILE", "TOML inventory of the points (docs/inventory.md)", "pathtrace.toml"},
          {"points", 0, "A..G|B,C,E", "which points, in path order: a range or a list (default: all)", ""},
          {"point", 0, "SPEC", "add a point LABEL[:ROLE]=HOST:IFACE[@NETNS], HOST local or an ssh host", "", true},
          {"traffic", 0, "COMMAND", "shell command run once every point captures; the run stops 1 s after it ends", ""},
          {"snaplen", 0, "BYTES", "bytes captured per frame, 64-262144", "256"},
          {"keep-bytes", 0, "N", "store the first N bytes of every packet for `pathtrace export` (at most --snaplen)", "0"},
          {"start-timeout", 0, "DURATION", "how long points may take to start capturing", "10s"},
          {"keep-going", 0, "", "when a remote host fails pre-flight, capture at the other points (the report names the missing ones)", ""},
          {"explain", 0, "", "read the filtering layers' counters (iptables, nft, OpenFlow) before and after, and name the rule that dropped the lost packets", ""},
          {"ovs-db", 0, "unix:PATH", "with --explain: the OVS database socket (default: $OVS_RUNDIR/db.sock)", ""}},
         {live_options(), limit_options(), memory_options(), report_options()}),
    "pathtrace run --points A..G --filter ipip --duration 10s\n"
    "pathtrace run --inventory lab.toml --filter ipip --traffic 'ip netns exec dir ./send'\n"
    "pathtrace run --point A=local:veth0@ns1 --point B=local:veth1@ns2 --filter icmp --count 100\n"
    "pathtrace run --points A..G --filter ipip --explain --traffic './send'",
    "0 every judged flow delivered · 1 a flow lost packets · 2 usage · 3 inventory · 4 database · "
    "5 capture · 6 remote host"};

int run_run(const Args& a, const std::string& command_line) {
  std::vector<Point> points;
  const std::string inv = a.str("inventory");
  std::map<std::string, inventory::Host> hosts;
  if (a.has("inventory") || std::filesystem::exists(inv) || !a.has("point")) {
    points = inventory::load_inventory(inv);
    hosts = inventory::load_hosts(inv);
  }
  // --points picks among the inventory's points and --point's alike.
  for (const auto& spec : a.list("point")) points.push_back(inventory::parse_live_point(spec));
  points = inventory::select_points(points, a.str("points"));
  inventory::finalize_path(points);
  if (points.size() < 2)
    throw Error(ExitCode::kUsage, "a path needs at least two points to say where packets vanish (got only " +
                                      (points.empty() ? std::string("none") : points.front().label) +
                                      "): give the points on both sides of where they may be lost");

  pipeline::LiveOptions lo;
  lo.filter = a.str("filter");
  lo.snaplen = int(a.uint("snaplen", 64, 262144));
  lo.keep_bytes = uint32_t(a.uint("keep-bytes", 0, uint64_t(lo.snaplen)));
  if (a.has("duration")) lo.duration_ms = parse_duration_ms(a.str("duration"), "--duration");
  if (a.has("idle")) lo.idle_ms = parse_duration_ms(a.str("idle"), "--idle");
  if (a.has("count")) lo.count = a.uint("count", 1, UINT64_MAX);
  lo.start_timeout_ms = parse_duration_ms(a.str("start-timeout"), "--start-timeout");
  lo.traffic = a.str("traffic");
  if (!lo.duration_ms && !lo.idle_ms && !lo.count && lo.traffic.empty()) lo.duration_ms = 10000;
  lo.quiet = a.has("quiet");
  progress_period(false);  // a bad PATHTRACE_PROGRESS_MS fails here, before anything starts
  lo.hosts = std::move(hosts);
  lo.keep_going = a.has("keep-going");
  lo.explain = a.has("explain");
  lo.ovs_db = a.str("ovs-db");
  lo.run_name = "run-" + std::to_string(::getpid());
  lo.limits = session_limits(a);
  const SpillSetting spill = spill_setting(a);
  lo.memory = spill.memory;
  lo.spill_dir = spill.dir;
  exclusive(a, {"json", "html"});
  Store store(a.str("db"), Store::Mode::kReadWrite);  // fails before capturing
  return print_live_run(std::cout, a, store, [&] {
    return pipeline::run_live(std::move(points), lo, store, run_meta(lo.filter, command_line));
  });
}

}  // namespace pathtrace::cli
