// `pathtrace ingest`: options → pipeline::ingest (correlator/pipeline/ingest.hpp).

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/pipeline/ingest.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kIngestSpec{
    "ingest",
    "read capture files taken at points along a path, store the run, print the verdict",
    "[--inventory FILE] [OPTIONS] [POINT=FILE...]",
    "Read one capture file per point (pcap or pcapng), recognise each packet at every point, "
    "store the run in SQLite and print where each flow stops. POINT is "
    "LABEL[:ROLE[:IFACE[@HOST]]]=FILE, in path order (first = the VM side), or the points of "
    "--inventory that have a `file`.",
    join({{"inventory", 0, "FILE", "TOML inventory whose points have a `file` (docs/inventory.md)", ""},
          {"order", 0, "A..G|B,C,E", "path order: a range in the given order, or a list", ""},
          {"filter", 0, "EXPR", "alias (ipip, tcp, ...) or pcap-filter expression", ""},
          {"max-transit-ms", 0, "MS", "sightings of one packet further apart start a new traversal", "200"},
          {"guard-ms", 0, "MS", "margin inside a point's stated capture window", "100"},
          {"keep-bytes", 0, "N", "keep the first N bytes of every frame that passes the filter, for `pathtrace export` (0-65535; costs N + ~80 bytes per sighting in the database)", "0"},
          {"quiet", 'q', "", "only the report: no progress lines on stderr", ""},
          {"verbose", 'v', "", "print the time each phase took on stderr", ""},
          {"points", 0, "POINT=FILE", "the points, in path order", "", false, true}},
         {digest_options(), report_options()}),
    "pathtrace ingest --inventory pcaps/incident-broken/inventory.toml --filter ipip\n"
    "pathtrace ingest --db lab.db --filter ipip A:vm:eth0@vm1=A.pcap B:tap=B.pcap C:qbr=C.pcap\n"
    "pathtrace ingest --order G..A --filter 'host 198.18.0.20' A=a.pcap G=g.pcap",
    "0 every judged flow delivered · 1 a flow lost packets · 2 usage · 3 capture file or "
    "inventory · 4 database"};

int run_ingest(const Args& a, const std::string& command_line) {
  std::vector<Point> points;
  if (a.has("inventory")) points = inventory::load_inventory(a.str("inventory"));
  for (const auto& arg : a.list("points")) points.push_back(inventory::parse_point_arg(arg));
  points = inventory::select_points(points, a.str("order"));
  inventory::finalize_path(points);
  for (const auto& p : points)
    if (p.source.empty())
      throw Error(ExitCode::kUsage, "point " + p.label + ": no capture file (inventory `file`)");

  pipeline::IngestOptions io;
  io.filter = a.str("filter");
  io.parse.payload_bytes = uint8_t(a.uint("payload-bytes", 0, 32));
  io.parse.vxlan_port = uint16_t(a.uint("vxlan-port", 1, 65535));
  io.parse.geneve_port = uint16_t(a.uint("geneve-port", 1, 65535));
  const double transit = a.number("max-transit-ms"), guard = a.number("guard-ms");
  if (!(transit > 0) || !(guard >= 0))
    throw Error(ExitCode::kUsage, "--max-transit-ms must be > 0 and --guard-ms >= 0");
  io.analysis.max_transit_ns = static_cast<int64_t>(transit * 1e6);
  io.analysis.guard_ns = static_cast<int64_t>(guard * 1e6);
  io.keep_bytes = uint16_t(a.uint("keep-bytes", 0, 65535));
  io.progress.enabled = !a.has("quiet");
  io.progress.terminal = isatty(STDERR_FILENO) != 0;
  io.progress.period = progress_period(io.progress.terminal);
  if (points.size() < 2)
    throw Error(ExitCode::kUsage, "a path needs at least two points to say where packets vanish (got only " +
                                      (points.empty() ? std::string("none") : points.front().label) +
                                      "): give the points on both sides of where they may be lost");
  exclusive(a, {"json", "html"});

  const std::string db_path = a.str("db");
  Store store(db_path, Store::Mode::kReadWrite);  // fail on a bad database before reading files
  pipeline::IngestTimings timings;
  const Run run = pipeline::ingest(std::move(points), io, store, run_meta(io.filter, command_line), &timings);
  if (a.has("verbose"))
    std::fprintf(stderr,
                 "ingest: read+parse %.3f s · merge %.3f s · analyse %.3f s · store %.3f s "
                 "(%zu sightings, %zu traversals); CPU (all threads) read+parse %.3f s · merge %.3f s · "
                 "analyse %.3f s · store %.3f s\n",
                 timings.read.wall_s, timings.merge.wall_s, timings.analyze.wall_s, timings.store.wall_s,
                 run.sightings.size(), run.traversals.size(), timings.read.cpu_s, timings.merge.cpu_s,
                 timings.analyze.cpu_s, timings.store.cpu_s);
  return print_report(std::cout, run.report, a, db_path);
}

}  // namespace pathtrace::cli
