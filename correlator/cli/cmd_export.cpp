// `pathtrace export`: options → evidence::export_pcapng (correlator/evidence/export.hpp).

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/export.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kExportSpec{
    "export",
    "write a run's packets (kept with --keep-bytes) to pcapng for Wireshark, verdict per packet",
    "-w FILE.pcapng [--db FILE] [--run RUN] [--lost | --flow ID]",
    "Write the packets of a stored run to a capture file for Wireshark: FILE.pcapng has one "
    "interface per point and a comment per packet saying which point saw it and what became of "
    "it; FILE.pcap (one link type) has the packets only. Needs a run captured with "
    "--keep-bytes N (ingest, run). Reads the database without writing.",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"run", 0, "RUN", "run id or name (`runs --name`; default: the newest)", ""},
     {"lost", 0, "", "only the packets that entered the path and vanished (every point that saw them)", ""},
     {"flow", 0, "ID", "only this flow: a top-level or inner flow id, as `timeline --flow`", ""},
     {"write", 'w', "FILE.pcapng", "the file to write: .pcapng, or .pcap (required; 0600, refused if it exists)", ""},
     {"force", 0, "", "replace the -w file if it exists", ""}},
    "pathtrace ingest --keep-bytes 128 --inventory pcaps/incident-broken/inventory.toml --filter ipip\n"
    "pathtrace export --lost -w lost.pcapng\n"
    "tshark -r lost.pcapng -T fields -e frame.interface_name -e frame.comment\n"
    "pathtrace export --db lab.db --run 3 --flow 2 -w flow2.pcapng",
    "0 ok · 2 usage (no -w or a bad file name, unknown run or flow, a run without kept frames, "
    "an output file that exists without --force or cannot be written) · 4 database"};

int run_export(const Args& a, const std::string&) {
  if (!a.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + a.unmatched().front() + "' (see --help)");
  if (!a.has("write")) throw Error(ExitCode::kUsage, "-w FILE.pcapng is required (see --help)");
  exclusive(a, {"lost", "flow"});
  evidence::ExportRequest req;
  req.path = a.str("write");
  req.format = evidence::export_format(req.path);
  req.lost = a.has("lost");
  req.existing = a.has("force") ? Existing::kReplace : Existing::kRefuse;
  if (a.has("flow")) req.flow = uint32_t(a.uint("flow", 0, UINT32_MAX));
  Store store(a.str("db"), Store::Mode::kReadOnly);
  req.run = run_arg(a, store);
  const evidence::ExportSummary s = evidence::export_pcapng(store, req);
  std::cerr << "wrote " << s.packets << " packet" << (s.packets == 1 ? "" : "s") << " from " << s.points
            << " point" << (s.points == 1 ? "" : "s") << " to " << req.path << " (" << s.lost_packets
            << " lost packet" << (s.lost_packets == 1 ? "" : "s") << "); " << s.missing << " sighting"
            << (s.missing == 1 ? "" : "s") << " had no kept bytes\n";
  return 0;
}

}  // namespace pathtrace::cli
