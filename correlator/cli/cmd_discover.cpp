// `pathtrace discover`: options → neutron::discover_path (correlator/neutron/discover.hpp).

#include <iostream>
#include <map>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/neutron/discover.hpp"

namespace pathtrace::cli {

const CommandSpec kDiscoverSpec{
    "discover",
    "find a Neutron port's devices on this hypervisor; print its capture points (TOML)",
    "(--port UUID | --tap NAME) [--netns NS] [--host HOST] [OPTIONS]",
    "Find the devices of a Neutron port on a hypervisor and print the capture points of its path, "
    "VM side first, as an inventory snippet (docs/neutron.md), or as JSON. Read-only: it only lists "
    "devices, OVS ports and routes.",
    {{"port", 0, "UUID", "Neutron port UUID", ""},
     {"tap", 0, "NAME", "the port's tap device (tap + 11 characters of the UUID)", ""},
     {"netns", 0, "NS", "network namespace of the hypervisor's devices (commands run with `ip netns exec`)", ""},
     {"host", 0, "HOST", "the hypervisor: local, or a host reached over ssh (its [hosts.NAME] in --inventory, else an ssh destination)", "local"},
     {"inventory", 0, "FILE", "inventory whose [hosts.NAME] says how to reach --host (docs/inventory.md)", ""},
     {"vm-iface", 0, "IF", "the VM's interface: added as point A (role vm)", ""},
     {"vm-netns", 0, "NS", "namespace of --vm-iface", ""},
     {"vm-host", 0, "HOST", "host of --vm-iface (default: --host)", ""},
     {"ovs-db", 0, "unix:PATH", "OVS database (default: unix:$OVS_RUNDIR/db.sock, else ovs-vsctl's own)", ""},
     {"json", 0, "", "print the discovered path as JSON instead of TOML", ""}},
    "pathtrace discover --port bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d >> pathtrace.toml\n"
    "pathtrace discover --tap tapbdd1f2c3-bd --netns ptlab-hv --ovs-db unix:/tmp/ovs/db.sock --vm-iface eth0 --vm-netns ptlab-vm\n"
    "pathtrace discover --host hv1 --inventory pathtrace.toml --port bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d --json",
    "0 ok · 2 bad --port/--tap/option · 3 port not found or incomplete layout · 5 a tool (ip, "
    "ovs-vsctl) is missing or fails · 6 remote host"};

int run_discover(const Args& a, const std::string&) {
  neutron::DiscoverRequest req;
  req.port_uuid = a.str("port");
  req.tap = a.str("tap");
  req.netns = a.str("netns");
  req.host = a.str("host");
  req.vm_iface = a.str("vm-iface");
  req.vm_netns = a.str("vm-netns");
  req.vm_host = a.str("vm-host");
  req.ovs_db = a.str("ovs-db");
  if (req.host != "local" && !req.host.empty()) {
    // Over ssh: [hosts.NAME] of the inventory when given, else the name is the destination.
    std::map<std::string, inventory::Host> hosts;
    if (a.has("inventory")) hosts = inventory::load_hosts(a.str("inventory"));
    req.remote = inventory::host_for(hosts, req.host);
  }
  neutron::device_suffix(req);  // usage errors before running anything
  const neutron::HostFacts facts = neutron::gather_facts(req);
  const neutron::Discovery d = neutron::discover_path(req, facts);
  std::cout << (a.has("json") ? neutron::discovery_json(d) : neutron::render_inventory(d)) << std::flush;
  return 0;
}

}  // namespace pathtrace::cli
