// `pathtrace correlate`: options → pipeline::correlate (correlator/pipeline/live.hpp).

#include <iostream>
#include <sstream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/pipeline/live.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kCorrelateSpec{
    "correlate",
    "receive collectors' streams from many hosts, store the run, print the verdict",
    "--points A,B,C [--listen ADDR:PORT | --stdin] [OPTIONS]",
    "Receive the streams of `pathtrace collect --to` (or one stream on standard input), store "
    "the run and print the report when every collector has finished, the duration passes, or on "
    "Ctrl-C. Host clocks are compared and corrected as by `run`.",
    join({{"points", 0, "A,B,C", "the path, in order: the labels the collectors announce (required)", ""},
          {"listen", 0, "ADDR:PORT", "where to listen (a non-loopback address needs --token-file)", "127.0.0.1:7300"},
          {"stdin", 0, "", "read one collector's stream from standard input (one point, unless --listen serves the others)", ""},
          {"token-file", 0, "FILE", "file whose first line is the shared secret collectors present", ""},
          {"require-token", 0, "", "refuse to start without --token-file, even on loopback (other local users can connect there)", ""}},
         {live_options(), window_options(false), limit_options(), memory_options(), report_options()}),
    "pathtrace correlate --points A,B,C --listen 127.0.0.1:7300\n"
    "pathtrace collect --iface eth0 --point A --to 127.0.0.1:7300   # on each host\n"
    "ssh hv1 pathtrace collect --iface eth1 --point G --stdout | pathtrace correlate --points G --stdin",
    "0 every judged flow delivered · 1 a flow lost packets · 2 usage (also: --require-token without --token-file, a blank token file) · 4 database · 5 standard input ended before its collector said HELLO"};

int run_correlate(const Args& a, const std::string& command_line) {
  if (!a.has("points"))
    throw Error(ExitCode::kUsage, "--points A,B,C is required: the path order never comes from clocks");
  std::vector<Point> points;
  std::stringstream labels(a.str("points"));
  for (std::string label; std::getline(labels, label, ',');) {
    Point p;
    p.label = label;
    points.push_back(p);
  }
  inventory::finalize_path(points);
  pipeline::CorrelateOptions co;
  if (a.has("token-file")) co.token = read_token_file(a.str("token-file"));
  co.require_token = a.has("require-token");
  co.limits = session_limits(a);
  co.from_stdin = a.has("stdin");
  co.listen = co.from_stdin && !a.has("listen") ? std::string() : a.str("listen");
  if (a.has("duration")) co.duration_ms = parse_duration_ms(a.str("duration"), "--duration");
  co.quiet = a.has("quiet");
  co.stated = stated_from(a, points, "", false);
  const SpillSetting spill = spill_setting(a);
  co.memory = spill.memory;
  co.spill_dir = spill.dir;
  exclusive(a, {"json", "html"});
  if (co.listen.empty() && points.size() > 1)
    throw Error(ExitCode::kUsage, "--stdin carries one collector's stream, and --points names " +
                                      std::to_string(points.size()) + ": give --listen ADDR:PORT too, for the "
                                      "collectors of the others");
  Store store(a.str("db"), Store::Mode::kReadWrite);
  return print_live_run(std::cout, a, store, [&] {
    return pipeline::correlate(std::move(points), co, store, run_meta(a.str("filter"), command_line));
  });
}

}  // namespace pathtrace::cli
