#pragma once
// `pathtrace discover`: from a Neutron port (UUID or tap name) to the ordered capture points
// of its path on the hypervisor, VM side first, as an inventory snippet (docs/neutron.md).
//
//   gather_facts()  ── runs read-only commands (ip -j -d link, ovs-vsctl, ip route get) ──┐
//   discover_path() ── pure: facts + request → Discovery (points, notes)  ◀──────────────┘
//   render_inventory() ── Discovery → TOML text
//
// Nothing here changes the host: every command is a listing.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <optional>

#include "collector/common/process.hpp"
#include "correlator/inventory/inventory.hpp"

namespace pathtrace::neutron {

using inventory::Host;

// argv prefixed with `ip netns exec NETNS` (unchanged when netns is empty).
std::vector<std::string> in_netns(const std::string& netns, std::vector<std::string> argv);

// argv run in `netns` on `remote` over ssh (every word quoted, BatchMode: docs/remote.md), or
// here when `remote` is empty.
std::vector<std::string> on_host(const std::optional<Host>& remote, const std::string& netns,
                                 std::vector<std::string> argv);

// How to reach the OVS database and the bridges' OpenFlow sockets.
struct OvsAccess {
  std::string db;      // "unix:PATH" ("" = ovs-vsctl's default)
  std::string rundir;  // folder of BR.mgmt sockets ("" = ovs-ofctl's default)
  // From --ovs-db (wins) or the environment's OVS_RUNDIR (db = unix:$OVS_RUNDIR/db.sock).
  // Throws Error(kUsage) when ovs_db is not "unix:PATH" or "tcp:…"/"ssl:…".
  static OvsAccess from(const std::string& ovs_db);
  // ovs-vsctl argv with --db and a timeout, then `args`.
  std::vector<std::string> vsctl(std::vector<std::string> args) const;
  // The ovs-ofctl target for a bridge: "unix:RUNDIR/BR.mgmt" or BR.
  std::string ofctl_target(const std::string& bridge) const;
};

// One network device as `ip -j -d link show` reports it.
struct LinkInfo {
  std::string name;
  int ifindex = 0;
  std::string kind;        // linkinfo.info_kind: "veth", "bridge", "tun", "vxlan", "" (physical)
  std::string master;      // Linux bridge (or bond) it is enslaved to
  std::string peer;        // veth peer's name when in the same namespace
  int peer_index = 0;      // veth peer's ifindex (link_index)
  bool peer_elsewhere = false;  // the peer is in another namespace (link_netnsid)
};

// Parses `ip -j -d link show`. Throws Error(kInput) "ip -j link: <why>" on text that is not
// the expected JSON array.
std::vector<LinkInfo> parse_ip_links(std::string_view json);

// One OVS interface (`ovs-vsctl --format=json list Interface`) and the bridge it is on.
struct OvsInterface {
  std::string name;
  std::string type;       // "", "internal", "patch", "vxlan", "gre", "geneve", ...
  std::string peer;       // options:peer (patch ports)
  std::string remote_ip;  // options:remote_ip (tunnel ports)
  std::string iface_id;   // external_ids:iface-id (the Neutron port UUID of a VIF)
  std::string bridge;     // filled from `ovs-vsctl list-ifaces BR`
};

// Parses `ovs-vsctl --format=json --columns=name,type,options,external_ids list Interface`
// (or `find`). Throws Error(kInput) "ovs-vsctl json: <why>" on unexpected text.
std::vector<OvsInterface> parse_ovs_interfaces(std::string_view json);

// Everything discovery looks at on one host (one namespace).
struct HostFacts {
  std::vector<LinkInfo> links;
  bool ovs = false;  // OVS was asked (ovs-vsctl present and answering)
  std::vector<OvsInterface> ovs_ifaces;
  std::vector<std::string> vifs;  // `ovs-vsctl find Interface external_ids:iface-id=UUID`
  std::map<std::string, std::string> route_dev;  // tunnel remote_ip -> egress device
};

// What the user asked for.
struct DiscoverRequest {
  std::string port_uuid;  // --port (full UUID) ...
  std::string tap;        // ... or --tap (tap + 11 characters)
  std::string netns;      // hypervisor namespace ("" = this one)
  std::string host = "local";
  std::string vm_iface, vm_netns, vm_host;
  std::string ovs_db;     // --ovs-db
  std::optional<Host> remote;  // run every command on this host over ssh (--host)
};

// Which Neutron agent/firewall wired the port.
enum class Layout { kHybrid, kOvsNative, kLinuxBridge };
// "hybrid iptables firewall (openvswitch agent)", ...
std::string_view describe(Layout layout) noexcept;

// One capture point found along the path.
struct DiscoveredPoint {
  std::string label;  // A, B, ... in path order
  std::string role;   // vm, tap, qbr, qvb, qvo, br-ethx, brq, nic
  std::string host;
  std::string netns;
  std::string iface;
  std::string what;   // one line: what this device is
};

// The discovered path of one port.
struct Discovery {
  Layout layout = Layout::kHybrid;
  std::string port;           // the full UUID when known, else the 11-character prefix
  std::string suffix;         // 11 characters: device names are role + suffix
  std::string chain_id;       // 10 characters: iptables chains are neutron-…-[io] + chain_id
  std::string netns;
  std::vector<DiscoveredPoint> points;  // VM side first
  std::vector<std::string> bridges;     // OVS bridges on the path (for ovs-ofctl dump-flows)
  std::vector<std::string> notes;       // hops that cannot be captured, and what to do instead
};

// Checks --port/--tap: a UUID (8-4-4-4-12 hex) or tap + 8 hex + '-' + 2 hex. Returns the
// 11-character device suffix. Throws Error(kUsage) naming the value otherwise.
std::string device_suffix(const DiscoverRequest& req);

// The pure part: builds the path from facts. Throws Error(kInput) "port …: not found …"
// when neither the tap device nor an OVS interface with the port's iface-id exists, and
// Error(kInput) naming the device when the layout is incomplete (a qbr without qvb, ...).
Discovery discover_path(const DiscoverRequest& req, const HostFacts& facts);

// Runs the read-only listings on the host. Throws Error(kCapture) naming the tool when `ip`
// (or, for an OVS layout, `ovs-vsctl`) is missing or ovsdb does not answer.
HostFacts gather_facts(const DiscoverRequest& req);

// The discovery as JSON: port, layout, netns, points (label, role, host, netns, iface, what),
// bridges, notes.
std::string discovery_json(const Discovery& d);

// The inventory snippet (docs/inventory.md): a commented header, the notes as comments, and
// one [[point]] table per point. Always valid TOML.
std::string render_inventory(const Discovery& d);

}  // namespace pathtrace::neutron
