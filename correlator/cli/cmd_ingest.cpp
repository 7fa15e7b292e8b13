// `pathtrace ingest`: options → pipeline::ingest (correlator/pipeline/ingest.hpp).

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "collector/common/clock.hpp"
#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "collector/packet/filter.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/pipeline/ingest.hpp"
#include "correlator/report/render.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {
namespace {

// Progress lines on stderr unless --quiet: redrawn every 0.5 s on a terminal, plain lines
// every 5 s otherwise (progress_period).
pipeline::IngestProgress progress_options(bool quiet) {
  pipeline::IngestProgress p;
  p.enabled = !quiet;
  p.terminal = isatty(STDERR_FILENO) != 0;
  p.period = progress_period(p.terminal);
  return p;
}

}  // namespace

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
  if (res.count("inventory")) points = inventory::load_inventory(res["inventory"].as<std::string>());
  if (res.count("points"))
    for (const auto& a : res["points"].as<std::vector<std::string>>())
      points.push_back(inventory::parse_point_arg(a));
  points = inventory::select_points(points, res["order"].as<std::string>());
  inventory::finalize_path(points);
  for (const auto& p : points)
    if (p.source.empty())
      throw Error(ExitCode::kUsage, "point " + p.label + ": no capture file (inventory `file`)");

  pipeline::IngestOptions io;
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
  Report meta;
  meta.started = now_iso8601();
  meta.command = command;
  meta.filter = io.filter;
  pipeline::IngestTimings timings;
  const Run run = pipeline::ingest(std::move(points), io, store, meta, &timings);
  if (res.count("verbose"))
    std::fprintf(stderr,
                 "ingest: read+parse %.3f s · merge %.3f s · analyse %.3f s · store %.3f s "
                 "(%zu sightings, %zu traversals)\n",
                 timings.read_s, timings.merge_s, timings.analyze_s, timings.store_s,
                 run.sightings.size(), run.traversals.size());
  print_report(std::cout, run.report, res, db_path);
  return res.count("fail-on-loss") && report::has_loss(run.report) ? int(ExitCode::kLoss) : 0;
}

}  // namespace pathtrace::cli
