// `pathtrace export`: options → evidence::export_pcapng (correlator/evidence/export.hpp).

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/export.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

int cmd_export(int argc, char** argv) {
  cxxopts::Options opts(
      "pathtrace export",
      "Write the packets of a stored run to a pcapng file for Wireshark: one interface per "
      "point, the packets in time order, each with a comment saying which point saw it and "
      "what became of it. Needs a run captured with --keep-bytes N (ingest, run). Reads the "
      "database from a read-only connection.");
  opts.add_options()
      ("db", "SQLite database", cxxopts::value<std::string>()->default_value(kDefaultDb))
      ("run", "run id (default: the newest)", cxxopts::value<int64_t>()->default_value("0"))
      ("lost", "only the packets that entered the path and vanished (every point that saw them)")
      ("flow", "only this flow: a top-level or inner flow id, as `timeline --flow`", cxxopts::value<uint32_t>())
      ("w,write", "the pcapng file to write", cxxopts::value<std::string>())
      ("h,help", "show this help");
  const cxxopts::ParseResult res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nexamples:\n"
                 "  pathtrace ingest --keep-bytes 128 --inventory pcaps/incident-broken/inventory.toml --filter ipip\n"
                 "  pathtrace export --lost -w lost.pcapng\n"
                 "  tshark -r lost.pcapng -T fields -e frame.interface_name -e frame.comment\n"
                 "  pathtrace export --db lab.db --run 3 --flow 2 -w flow2.pcapng\n"
                 "\nexit: 0 ok · 2 usage (no -w, unknown run or flow, a run without kept frames, "
                 "an output file that cannot be written) · 4 database\n";
    return 0;
  }
  if (!res.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + res.unmatched().front() + "' (see --help)");
  if (!res.count("write")) throw Error(ExitCode::kUsage, "-w FILE.pcapng is required (see --help)");
  if (res.count("lost") && res.count("flow")) throw Error(ExitCode::kUsage, "--lost and --flow exclude each other");
  evidence::ExportRequest req;
  req.path = res["write"].as<std::string>();
  req.lost = res.count("lost") > 0;
  if (res.count("flow")) req.flow = res["flow"].as<uint32_t>();
  req.run = res["run"].as<int64_t>();
  Store store(res["db"].as<std::string>(), Store::Mode::kReadOnly);
  const evidence::ExportSummary s = evidence::export_pcapng(store, req);
  std::cerr << "wrote " << s.packets << " packet" << (s.packets == 1 ? "" : "s") << " from "
            << s.points << " point" << (s.points == 1 ? "" : "s") << " to " << req.path
            << " (" << s.lost_packets << " lost packet" << (s.lost_packets == 1 ? "" : "s") << "); "
            << s.missing << " sighting" << (s.missing == 1 ? "" : "s") << " had no kept bytes\n";
  return 0;
}

}  // namespace pathtrace::cli
