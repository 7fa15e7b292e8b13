// `pathtrace correlate`: options → pipeline::correlate (correlator/pipeline/live.hpp).

#include <iostream>
#include <sstream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/pipeline/live.hpp"
#include "correlator/report/render.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

int cmd_correlate(int argc, char** argv, const std::string& command) {
  cxxopts::Options opts("pathtrace correlate",
                        "Receive the streams of `pathtrace collect --to` from many hosts, store "
                        "the run and print the report when every collector has finished (or on "
                        "Ctrl-C).");
  add_live_options(opts);
  opts.add_options()
      ("listen", "ADDR:PORT to listen on (non-loopback needs --token-file)", cxxopts::value<std::string>()->default_value("127.0.0.1:7300"))
      ("stdin", "read one collector's stream from standard input (`pathtrace collect --stdout | pathtrace correlate --stdin`); listens only with --listen")
      ("token-file", "file whose first line is the shared secret collectors present", cxxopts::value<std::string>())
      ("points", "the path, in order: A,B,C (labels collectors announce)", cxxopts::value<std::string>());
  const auto res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nexamples:\n  pathtrace correlate --points A,B,C --listen 127.0.0.1:7300\n"
                 "  pathtrace collect --iface eth0 --point A --to 127.0.0.1:7300   # on each host\n"
                 "  ssh hv1 pathtrace collect --iface eth1 --point G --stdout | pathtrace correlate --points G --stdin\n";
    return 0;
  }
  if (!res.count("points"))
    throw Error(ExitCode::kUsage, "--points A,B,C is required: the path order never comes from clocks");
  std::vector<Point> points;
  std::stringstream labels(res["points"].as<std::string>());
  for (std::string label; std::getline(labels, label, ',');) {
    Point p;
    p.label = label;
    points.push_back(p);
  }
  inventory::finalize_path(points);
  pipeline::CorrelateOptions co;
  if (res.count("token-file")) co.token = read_token_file(res["token-file"].as<std::string>());
  co.from_stdin = res.count("stdin") > 0;
  co.listen = co.from_stdin && !res["listen"].count() ? std::string() : res["listen"].as<std::string>();
  if (res.count("duration")) co.duration_ms = parse_duration_ms(res["duration"].as<std::string>(), "--duration");
  co.quiet = res.count("quiet") > 0;
  Store store(res["db"].as<std::string>(), Store::Mode::kReadWrite);
  const Run run = pipeline::correlate(std::move(points), co, store, run_meta(res, command));
  print_report(std::cout, run.report, res, store.path());
  return report::has_loss(run.report) ? int(ExitCode::kLoss) : 0;
}

}  // namespace pathtrace::cli
