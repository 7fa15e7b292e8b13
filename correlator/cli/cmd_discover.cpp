// `pathtrace discover`: options → neutron::discover_path (correlator/neutron/discover.hpp).

#include <iostream>
#include <map>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/neutron/discover.hpp"

namespace pathtrace::cli {

int cmd_discover(int argc, char** argv) {
  cxxopts::Options opts(
      "pathtrace discover",
      "Find the devices of a Neutron port on this hypervisor and print the capture points of "
      "its path, VM side first, as an inventory snippet (docs/neutron.md). Read-only: it only "
      "lists devices, OVS ports and routes.");
  opts.add_options()
      ("port", "Neutron port UUID", cxxopts::value<std::string>()->default_value(""))
      ("tap", "the port's tap device (tap + 11 characters of the UUID)", cxxopts::value<std::string>()->default_value(""))
      ("netns", "network namespace of the hypervisor's devices (commands run with `ip netns exec`)", cxxopts::value<std::string>()->default_value(""))
      ("host", "the hypervisor: `local`, or a host reached over ssh (its [hosts.NAME] in --inventory, else an ssh destination)", cxxopts::value<std::string>()->default_value("local"))
      ("inventory", "inventory whose [hosts.NAME] says how to reach --host (docs/inventory.md)", cxxopts::value<std::string>()->default_value(""))
      ("vm-iface", "the VM's interface: added as point A (role vm)", cxxopts::value<std::string>()->default_value(""))
      ("vm-netns", "namespace of --vm-iface", cxxopts::value<std::string>()->default_value(""))
      ("vm-host", "host of --vm-iface (default: --host)", cxxopts::value<std::string>()->default_value(""))
      ("ovs-db", "OVS database, unix:PATH (default: unix:$OVS_RUNDIR/db.sock, else ovs-vsctl's own)", cxxopts::value<std::string>()->default_value(""))
      ("h,help", "show this help");
  const cxxopts::ParseResult res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nexamples:\n"
                 "  pathtrace discover --port bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d >> pathtrace.toml\n"
                 "  pathtrace discover --tap tapbdd1f2c3-bd --netns ptlab-hv "
                 "--ovs-db unix:/tmp/pathtrace-lab.ptlab/db.sock --vm-iface eth0 --vm-netns ptlab-vm\n"
                 "  pathtrace discover --host hv1 --inventory pathtrace.toml --port bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d\n"
                 "\nexit codes: 0 ok · 2 bad --port/--tap/option · 3 port not found or incomplete "
                 "layout · 5 a tool (ip, ovs-vsctl) is missing or fails\n";
    return 0;
  }
  neutron::DiscoverRequest req;
  req.port_uuid = res["port"].as<std::string>();
  req.tap = res["tap"].as<std::string>();
  req.netns = res["netns"].as<std::string>();
  req.host = res["host"].as<std::string>();
  req.vm_iface = res["vm-iface"].as<std::string>();
  req.vm_netns = res["vm-netns"].as<std::string>();
  req.vm_host = res["vm-host"].as<std::string>();
  req.ovs_db = res["ovs-db"].as<std::string>();
  if (req.host != "local" && !req.host.empty()) {
    // Over ssh: [hosts.NAME] of the inventory when given, else the name is the destination.
    std::map<std::string, inventory::Host> hosts;
    if (const std::string inv = res["inventory"].as<std::string>(); !inv.empty()) hosts = inventory::load_hosts(inv);
    req.remote = inventory::host_for(hosts, req.host);
  }
  neutron::device_suffix(req);  // usage errors before running anything
  const neutron::HostFacts facts = neutron::gather_facts(req);
  const neutron::Discovery d = neutron::discover_path(req, facts);
  std::cout << neutron::render_inventory(d) << std::flush;
  return 0;
}

}  // namespace pathtrace::cli
