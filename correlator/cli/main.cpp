// pathtrace — where along the path did my packets vanish?
// Subcommand dispatch; every Error is caught here once and mapped to its exit code.

#include <iostream>
#include <string>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"

namespace pathtrace::cli {
namespace {

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
    if (cmd == "collect") return cmd_collect(argc - 1, argv + 1);
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
