// neutron_explain_tool — the calls `pathtrace run --explain` makes, around a command instead
// of a capture (for the explain lab test and for trying it by hand):
//
//   neutron_explain_tool --netns NS [--ovs-db unix:PATH] [--port UUID [--vm-iface IF --vm-netns NS]]
//                        [--bridge BR]... --lost N [--proto P] [--src IP] [--dst IP]
//                        [--db FILE] -- COMMAND [ARG...]
//
// With --port, the port is discovered first (its OVS bridges are dumped, its chains preferred).
// Prints render()'s text; with --db, stores the evidence as a new run of FILE (its id printed as
// "stored as run N"), through the store's one transaction. Exit 0, or the Error's exit code.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/neutron/discover.hpp"
#include "correlator/neutron/explain.hpp"
#include "correlator/store/store.hpp"

using namespace pathtrace;
using namespace pathtrace::neutron;

int main(int argc, char** argv) {
  try {
    ExplainTarget target;
    DiscoverRequest req;
    FlowHint flow;
    uint64_t lost = 0;
    std::string db;
    std::vector<std::string> command;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--") {
        command.assign(argv + i + 1, argv + argc);
        break;
      }
      if (i + 1 >= argc) throw Error(ExitCode::kUsage, a + ": needs a value");
      const std::string v = argv[++i];
      if (a == "--netns") target.netns = req.netns = v;
      else if (a == "--ovs-db") target.ovs_db = req.ovs_db = v;
      else if (a == "--port") req.port_uuid = flow.port_uuid = v;
      else if (a == "--vm-iface") req.vm_iface = v;
      else if (a == "--vm-netns") req.vm_netns = v;
      else if (a == "--bridge") target.bridges.push_back(v);
      else if (a == "--lost") lost = std::strtoull(v.c_str(), nullptr, 10);
      else if (a == "--proto") flow.proto = std::atoi(v.c_str());
      else if (a == "--src") flow.src = v;
      else if (a == "--dst") flow.dst = v;
      else if (a == "--db") db = v;
      else throw Error(ExitCode::kUsage, "unknown option " + a);
    }
    if (command.empty()) throw Error(ExitCode::kUsage, "no command after --");

    Discovery discovery;
    const bool discovered = !req.port_uuid.empty();
    if (discovered) {
      discovery = discover_path(req, gather_facts(req));
      for (const auto& b : discovery.bridges) target.bridges.push_back(b);
    }
    const ExplainSnapshot before = snapshot(target);
    const CommandResult r = run_command(command);
    std::fputs(r.err.c_str(), stderr);
    const ExplainSnapshot after = snapshot(target);
    const std::vector<Attribution> blamed = explain(before, after, lost, flow);
    std::cout << render(blamed, lost, after);
    if (!db.empty()) {
      Store store(db, Store::Mode::kReadWrite);
      Run run;
      run.report.started = "now";
      run.report.command = "neutron_explain_tool";
      run.neutron = evidence_of(discovered ? &discovery : nullptr, diff(before, after), blamed);
      std::cout << "stored as run " << store.save(run) << "\n";
    }
    return r.exit_code == 0 ? 0 : 1;
  } catch (const Error& e) {
    std::cerr << "neutron_explain_tool: " << e.what() << "\n";
    return int(e.code());
  } catch (const std::exception& e) {
    std::cerr << "neutron_explain_tool: " << e.what() << "\n";
    return 2;
  }
}
