// `pathtrace ingest`: options → pipeline::ingest (correlator/pipeline/ingest.hpp).

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/pipeline/ingest.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kIngestSpec{
    "ingest",
    "read capture files taken at points along a path, store the run, print the verdict",
    "[--inventory FILE] [OPTIONS] [POINT=FILES...]",
    "Read the capture files taken at each point (pcap or pcapng, plain, .gz or .zst; several files of "
    "one point are read as one capture, in time order), recognise each packet at every point, store "
    "the run in SQLite and print where each flow stops. POINT is LABEL[:ROLE[:IFACE[@HOST]]], in path "
    "order (first = the VM side); FILES is a file, a comma-separated list, a quoted glob ('/caps/A-*.pcap') "
    "or - (standard input), with #IFACE to pick one interface of a pcapng file; or the points of "
    "--inventory that have a `file` or `files`.",
    join({{"inventory", 0, "FILE", "TOML inventory whose points have a `file` or `files` (docs/inventory.md)", ""},
          {"point", 0, "POINT=FILES", "a point and its capture files, as the POINT=FILES words", "", true},
          {"split-interfaces", 0, "FILE",
           "one point per interface of a pcapng file (labels from the interface names), after the other points",
           "", true},
          {"order", 0, "A..G|B,C,E", "path order: a range in the given order, or a list", ""},
          {"filter", 0, "EXPR", "alias (ipip, tcp, ...) or pcap-filter expression", ""},
          {"max-transit-ms", 0, "MS", "sightings of one packet further apart start a new traversal", "200"},
          {"guard-ms", 0, "MS", "margin inside a point's stated capture window", "100"},
          {"keep-bytes", 0, "N", "keep the first N bytes of every frame that passes the filter, for `pathtrace export` (0-65535; costs N + ~80 bytes per sighting in the database)", "0"},
          {"quiet", 'q', "", "only the report: no progress lines on stderr", ""},
          {"verbose", 'v', "", "print the time each phase took on stderr", ""},
          {"points", 0, "POINT=FILES", "the points, in path order", "", false, true}},
         {window_options(true), digest_options(), memory_options(), report_options()}),
    "pathtrace ingest --inventory pcaps/incident-broken/inventory.toml --filter ipip\n"
    "pathtrace ingest --db lab.db --filter ipip A:vm:eth0@vm1=A.pcap B:tap=B.pcap C:qbr=C.pcap\n"
    "pathtrace ingest --order G..A --filter 'host 198.18.0.20' A=a.pcap G=g.pcap\n"
    "pathtrace ingest --filter ipip A='/caps/A-*.pcap' B=b1.pcap,b2.pcap.gz C=both.pcapng#eth1 D=both.pcapng#0\n"
    "pathtrace ingest --split-interfaces lost.pcapng --order A..G\n"
    "zcat G.pcap.gz | pathtrace ingest A=A.pcap G=- --assume-capturing --clock vm1=+30",
    "0 every judged flow delivered · 1 a flow lost packets · 2 usage (also a multi-interface file with "
    "no interface picked) · 3 capture file or inventory · 4 database"};

int run_ingest(const Args& a, const std::string& command_line) {
  std::vector<Point> points;
  if (a.has("inventory")) points = inventory::load_inventory(a.str("inventory"));
  for (const char* option : {"points", "point"})
    for (const auto& arg : a.list(option)) points.push_back(inventory::parse_point_arg(arg));
  for (const auto& file : a.list("split-interfaces")) {
    if (file == "-")
      throw Error(ExitCode::kUsage, "--split-interfaces -: standard input can be read only once; save it to a file");
    pcapfile::Reader reader(file);
    std::vector<std::pair<std::string, std::string>> names;
    for (const auto& i : reader.interfaces()) names.emplace_back(i.name, i.description);
    for (Point& p : inventory::interface_points(file, names)) points.push_back(std::move(p));
  }
  points = inventory::select_points(points, a.str("order"));
  inventory::finalize_path(points);
  for (const auto& p : points)
    if (p.files.empty())
      throw Error(ExitCode::kUsage, "point " + p.label + ": no capture file (inventory `file` or `files`)");

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
  io.stated = stated_from(a, points, a.has("inventory") ? a.str("inventory") : std::string(), true);
  io.progress.enabled = !a.has("quiet");
  io.progress.terminal = isatty(STDERR_FILENO) != 0;
  io.progress.period = progress_period(io.progress.terminal);
  if (points.size() < 2)
    throw Error(ExitCode::kUsage, "a path needs at least two points to say where packets vanish (got only " +
                                      (points.empty() ? std::string("none") : points.front().label) +
                                      "): give the points on both sides of where they may be lost");
  exclusive(a, {"json", "html"});

  const std::string db_path = a.str("db");
  const SpillSetting spill = spill_setting(a);
  io.memory = spill.memory;
  io.spill_dir = spill.dir;
  Store store(db_path, Store::Mode::kReadWrite);  // fail on a bad database before reading files
  pipeline::IngestTimings timings;
  Run run = pipeline::ingest(std::move(points), io, store, run_meta(io.filter, command_line), &timings);
  if (a.has("verbose"))
    std::fprintf(stderr,
                 "ingest: read+parse %.3f s · merge %.3f s · analyse %.3f s · store %.3f s "
                 "(%zu sightings, %zu traversals); CPU (all threads) read+parse %.3f s · merge %.3f s · "
                 "analyse %.3f s · store %.3f s\n",
                 timings.read.wall_s, timings.merge.wall_s, timings.analyze.wall_s, timings.store.wall_s,
                 run.all_sightings().size(), run.all_traversals().size(), timings.read.cpu_s, timings.merge.cpu_s,
                 timings.analyze.cpu_s, timings.store.cpu_s);
  if (a.has("verbose") && timings.split_files)
    std::fprintf(stderr, "ingest: %u big file%s read in %u chunks on both threads at once\n", timings.split_files,
                 timings.split_files == 1 ? "" : "s", timings.chunks);
  if (a.has("verbose"))
    for (const std::string& line : timings.reread) std::fprintf(stderr, "ingest: %s\n", line.c_str());
  if (a.has("verbose") && timings.spilled_ranges)
    std::fprintf(stderr, "ingest: past --memory %s: the sightings went to %u digest ranges on disk in %s\n",
                 a.str("memory").c_str(), timings.spilled_ranges, timings.spill_dir.c_str());
  return print_run(std::cout, run, a, db_path);
}

}  // namespace pathtrace::cli
