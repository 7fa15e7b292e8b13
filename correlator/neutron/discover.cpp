#include "correlator/neutron/discover.hpp"
#include "correlator/remote/remote.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <set>

#include "collector/common/error.hpp"
#include "collector/common/process.hpp"

namespace pathtrace::neutron {
namespace {

using nlohmann::json;


bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An OVSDB JSON cell: "x", ["set",[...]], ["map",[[k,v],...]], ["uuid","..."], 7.
std::string cell_string(const json& c) {
  if (c.is_string()) return c.get<std::string>();
  if (c.is_number_integer()) return std::to_string(c.get<int64_t>());
  return "";
}
std::map<std::string, std::string> cell_map(const json& c) {
  std::map<std::string, std::string> m;
  if (c.is_array() && c.size() == 2 && c[0] == "map" && c[1].is_array())
    for (const auto& kv : c[1])
      if (kv.is_array() && kv.size() == 2) m[cell_string(kv[0])] = cell_string(kv[1]);
  return m;
}

// The command's stdout, or Error(kCapture) with its stderr when it failed.
std::string must(const std::vector<std::string>& argv, std::string_view hint = {}) {
  CommandResult r = run_command(argv);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    while (!r.err.empty() && (r.err.back() == '\n' || r.err.back() == ' ')) r.err.pop_back();
    throw Error(ExitCode::kCapture, cmd + ": exit " + std::to_string(r.exit_code) +
                                        (r.err.empty() ? "" : ": " + r.err) +
                                        (hint.empty() ? "" : std::string(" (") + std::string(hint) + ")"));
  }
  return r.out;
}

const LinkInfo* find_link(const HostFacts& f, std::string_view name) {
  for (const auto& l : f.links)
    if (l.name == name) return &l;
  return nullptr;
}
const LinkInfo* find_link(const HostFacts& f, int ifindex) {
  for (const auto& l : f.links)
    if (l.ifindex == ifindex) return &l;
  return nullptr;
}
const OvsInterface* find_ovs(const HostFacts& f, std::string_view name) {
  for (const auto& i : f.ovs_ifaces)
    if (i.name == name) return &i;
  return nullptr;
}
// A veth's peer in the same namespace (by name, else by ifindex), or nullptr.
const LinkInfo* veth_peer(const HostFacts& f, const LinkInfo& l) {
  if (l.kind != "veth" || l.peer_elsewhere) return nullptr;
  if (!l.peer.empty()) return find_link(f, l.peer);
  if (l.peer_index > 0) return find_link(f, l.peer_index);
  return nullptr;
}
bool is_tunnel(std::string_view type) {
  return type == "vxlan" || type == "gre" || type == "geneve" || type == "stt" || type == "lisp" ||
         type == "erspan" || type == "ip6gre" || type == "ip6erspan";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Running commands (collector/common/process.hpp starts them).

std::vector<std::string> in_netns(const std::string& netns, std::vector<std::string> argv) {
  if (netns.empty()) return argv;
  std::vector<std::string> v = {"ip", "netns", "exec", netns};
  v.insert(v.end(), argv.begin(), argv.end());
  return v;
}

std::vector<std::string> on_host(const std::optional<Host>& remote, const std::string& netns,
                                 std::vector<std::string> argv) {
  argv = in_netns(netns, std::move(argv));
  return remote ? remote::ssh_argv(*remote, argv) : argv;
}

OvsAccess OvsAccess::from(const std::string& ovs_db) {
  OvsAccess a;
  if (!ovs_db.empty()) {
    if (std::string_view(ovs_db).starts_with("unix:")) {
      a.db = ovs_db;
      const std::string path = ovs_db.substr(5);
      const auto slash = path.rfind('/');
      if (slash != std::string::npos) a.rundir = path.substr(0, slash);
    } else if (std::string_view(ovs_db).starts_with("tcp:") || std::string_view(ovs_db).starts_with("ssl:")) {
      a.db = ovs_db;
    } else {
      throw Error(ExitCode::kUsage, "--ovs-db " + ovs_db + ": expected unix:PATH (or tcp:IP:PORT)");
    }
  }
  if (const char* rd = std::getenv("OVS_RUNDIR"); rd && *rd) {
    if (a.db.empty()) a.db = "unix:" + std::string(rd) + "/db.sock";
    if (a.rundir.empty()) a.rundir = rd;
  }
  return a;
}

std::vector<std::string> OvsAccess::vsctl(std::vector<std::string> args) const {
  std::vector<std::string> v = {"ovs-vsctl", "--timeout=5"};
  if (!db.empty()) v.push_back("--db=" + db);
  v.insert(v.end(), args.begin(), args.end());
  return v;
}

std::string OvsAccess::ofctl_target(const std::string& bridge) const {
  return rundir.empty() ? bridge : "unix:" + rundir + "/" + bridge + ".mgmt";
}

// ---------------------------------------------------------------------------------------------
// Parsing.

std::vector<LinkInfo> parse_ip_links(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) throw Error(ExitCode::kInput, "ip -j link: not a JSON array");
  std::vector<LinkInfo> links;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("ifname")) continue;
    LinkInfo l;
    l.name = e.value("ifname", "");
    l.ifindex = e.value("ifindex", 0);
    l.master = e.value("master", "");
    if (e.contains("link") && e["link"].is_string()) l.peer = e["link"].get<std::string>();
    l.peer_index = e.value("link_index", 0);
    l.peer_elsewhere = e.contains("link_netnsid");
    if (e.contains("linkinfo") && e["linkinfo"].is_object())
      l.kind = e["linkinfo"].value("info_kind", "");
    links.push_back(std::move(l));
  }
  return links;
}

std::vector<OvsInterface> parse_ovs_interfaces(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("headings") || !j.contains("data"))
    throw Error(ExitCode::kInput, "ovs-vsctl json: no headings/data");
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < j["headings"].size(); ++i) col[cell_string(j["headings"][i])] = i;
  std::vector<OvsInterface> out;
  for (const auto& row : j["data"]) {
    if (!row.is_array()) continue;
    auto at = [&](const char* name) -> json {
      const auto it = col.find(name);
      return it != col.end() && it->second < row.size() ? row[it->second] : json();
    };
    OvsInterface i;
    i.name = cell_string(at("name"));
    i.type = cell_string(at("type"));
    const auto opts = cell_map(at("options"));
    if (auto it = opts.find("peer"); it != opts.end()) i.peer = it->second;
    if (auto it = opts.find("remote_ip"); it != opts.end()) i.remote_ip = it->second;
    const auto ext = cell_map(at("external_ids"));
    if (auto it = ext.find("iface-id"); it != ext.end()) i.iface_id = it->second;
    if (!i.name.empty()) out.push_back(std::move(i));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Discovery.

std::string_view describe(Layout layout) noexcept {
  switch (layout) {
    case Layout::kHybrid: return "openvswitch agent, iptables hybrid firewall (tap → qbr → qvb/qvo → br-int)";
    case Layout::kOvsNative: return "openvswitch agent, native OVS firewall (tap on br-int)";
    case Layout::kLinuxBridge: return "linuxbridge agent (tap on brq)";
  }
  return "";
}

std::string device_suffix(const DiscoverRequest& req) {
  if (!req.port_uuid.empty() && !req.tap.empty())
    throw Error(ExitCode::kUsage, "give --port or --tap, not both");
  if (!req.port_uuid.empty()) {
    if (!is_uuid(req.port_uuid))
      throw Error(ExitCode::kUsage, "--port " + req.port_uuid +
                                        ": not a Neutron port UUID (8-4-4-4-12 hex digits)");
    return lower(req.port_uuid).substr(0, 11);
  }
  if (!req.tap.empty()) {
    const std::string& t = req.tap;
    bool ok = t.size() == 14 && std::string_view(t).starts_with("tap") && t[11] == '-';
    for (std::size_t i = 3; ok && i < 14; ++i)
      if (i != 11 && !is_hex(t[i])) ok = false;
    if (!ok)
      throw Error(ExitCode::kUsage,
                  "--tap " + t + ": not a Neutron tap name (\"tap\" + the first 11 characters of "
                                 "the port UUID, e.g. tapbdd1f2c3-bd)");
    return lower(t.substr(3));
  }
  throw Error(ExitCode::kUsage, "give --port UUID or --tap NAME (see --help)");
}

namespace {

struct PathBuilder {
  const DiscoverRequest& req;
  Discovery& d;
  void add(std::string role, std::string iface, std::string what) {
    DiscoveredPoint p;
    p.role = std::move(role);
    p.host = req.host.empty() ? "local" : req.host;
    p.netns = req.netns;
    p.iface = std::move(iface);
    p.what = std::move(what);
    d.points.push_back(std::move(p));
  }
  void add_bridge(const std::string& br) {
    if (!br.empty() && std::find(d.bridges.begin(), d.bridges.end(), br) == d.bridges.end())
      d.bridges.push_back(br);
  }
};

// From br-int outwards: the uplink (veth interconnect or patch port) to a physical bridge and
// its NIC, or the tunnel bridge and the NIC its remote IP routes through.
void walk_ovs_uplink(const HostFacts& f, const std::string& br_int, const std::string& vif,
                     PathBuilder& pb) {
  Discovery& d = pb.d;
  pb.add_bridge(br_int);
  d.notes.push_back(br_int + ": the bridge's own port (type internal) carries only this host's "
                    "own traffic, not bridged frames: not a capture point.");
  std::set<std::string> visited = {br_int};
  std::string bridge = br_int;
  for (int depth = 0; depth < 4; ++depth) {
    std::string next_bridge, entry;  // entry: the port through which we entered next_bridge
    bool found_tunnel = false;
    for (const auto& i : f.ovs_ifaces) {
      if (i.bridge != bridge || i.name == vif || i.type == "internal") continue;
      if (bridge == br_int && !i.iface_id.empty()) continue;  // another VM's VIF
      if (is_tunnel(i.type)) {
        found_tunnel = true;
        continue;
      }
      if (i.type == "patch") {
        const OvsInterface* peer = find_ovs(f, i.peer);
        if (!peer || peer->bridge.empty() || visited.count(peer->bridge)) continue;
        d.notes.push_back(bridge + " ↔ " + peer->bridge + ": OVS patch ports " + i.name + " / " +
                          peer->name +
                          " have no kernel device (libpcap cannot open them, OVS does not mirror "
                          "frames across them): capture on both sides instead (the points before "
                          "and after this hop), or add an OVS mirror on " + bridge +
                          " to a capturable port, or use a veth interconnect "
                          "(use_veth_interconnection).");
        next_bridge = peer->bridge;
        break;
      }
      const LinkInfo* l = find_link(f, i.name);
      if (!l) continue;
      const LinkInfo* peer = veth_peer(f, *l);
      if (!peer) continue;
      const OvsInterface* po = find_ovs(f, peer->name);
      if (!po || po->bridge.empty() || visited.count(po->bridge)) continue;
      d.notes.push_back(bridge + " ↔ " + po->bridge + ": veth interconnect " + i.name + " / " +
                        peer->name + " (both ends see the same frames; " + peer->name +
                        " is the capture point).");
      pb.add("br-ethx", peer->name, po->bridge + " side of the veth interconnect with " + bridge);
      next_bridge = po->bridge;
      entry = peer->name;
      break;
    }
    if (next_bridge.empty()) {
      if (found_tunnel) {
        // A tunnel bridge (br-tun): the NIC is where its remote IPs route.
        std::string nic, remote;
        for (const auto& i : f.ovs_ifaces) {
          if (i.bridge != bridge || !is_tunnel(i.type) || i.remote_ip.empty()) continue;
          if (auto it = f.route_dev.find(i.remote_ip); it != f.route_dev.end()) {
            nic = it->second;
            remote = i.remote_ip;
            break;
          }
        }
        d.notes.push_back(bridge + ": tunnel ports (no kernel device): frames leave through the "
                          "NIC encapsulated (VXLAN/GRE/Geneve); filter with the matching alias.");
        if (!nic.empty())
          pb.add("nic", nic, "physical NIC: `ip route get " + remote + "` (the tunnel's remote)");
        else
          d.notes.push_back(bridge + ": no route to any tunnel remote_ip found: add the NIC by hand.");
      } else if (bridge == br_int) {
        d.notes.push_back(br_int + ": no uplink (patch port, veth interconnect or tunnel) found: "
                          "add the NIC by hand.");
      }
      return;
    }
    visited.insert(next_bridge);
    pb.add_bridge(next_bridge);
    d.notes.push_back(next_bridge + ": the bridge's own port (type internal) carries only this "
                      "host's own traffic, not bridged frames: not a capture point.");
    // The physical bridge: its NIC is the port that is neither patch, internal, tunnel nor the
    // interconnect. A further patch port means another bridge in between (loop once more).
    std::vector<std::string> nics;
    bool more_patches = false;
    for (const auto& i : f.ovs_ifaces) {
      if (i.bridge != next_bridge || i.type == "internal" || i.name == entry) continue;
      if (i.type == "patch") {
        const OvsInterface* peer = find_ovs(f, i.peer);
        if (peer && !visited.count(peer->bridge)) more_patches = true;
        continue;
      }
      if (is_tunnel(i.type)) {
        more_patches = true;
        continue;
      }
      const LinkInfo* l = find_link(f, i.name);
      if (l && l->kind == "veth") {
        const LinkInfo* peer = veth_peer(f, *l);
        if (peer && find_ovs(f, peer->name)) continue;  // another interconnect
      }
      nics.push_back(i.name);
    }
    if (!nics.empty()) {
      pb.add("nic", nics.front(), "physical NIC: the port of " + next_bridge +
                                      " that is neither patch, internal nor interconnect");
      if (nics.size() > 1) {
        std::string rest;
        for (std::size_t k = 1; k < nics.size(); ++k) rest += (rest.empty() ? "" : ", ") + nics[k];
        d.notes.push_back(next_bridge + " has more physical ports (" + rest +
                          "): a bond or a trunk; the first one is listed, capture the others too.");
      }
      return;
    }
    if (!more_patches) {
      d.notes.push_back(next_bridge + ": no physical port found: add the NIC by hand.");
      return;
    }
    bridge = next_bridge;
  }
}

}  // namespace

Discovery discover_path(const DiscoverRequest& req, const HostFacts& f) {
  Discovery d;
  d.suffix = device_suffix(req);
  d.chain_id = d.suffix.substr(0, 10);
  d.netns = req.netns;
  d.port = req.port_uuid.empty() ? d.suffix : lower(req.port_uuid);
  const std::string tap = "tap" + d.suffix;
  const std::string where = req.netns.empty() ? "" : " in netns " + req.netns;

  // The VIF: the OVS interface whose iface-id is the port (or starts with the tap's suffix).
  const OvsInterface* vif = f.vifs.empty() ? nullptr : find_ovs(f, f.vifs.front());
  for (const auto& i : f.ovs_ifaces) {
    if (vif) break;
    if (i.iface_id.empty()) continue;
    const bool match = req.port_uuid.empty() ? std::string_view(lower(i.iface_id)).starts_with(d.suffix)
                                             : lower(i.iface_id) == d.port;
    if (match) {
      vif = &i;
      break;
    }
  }
  if (vif && req.port_uuid.empty()) d.port = lower(vif->iface_id);

  PathBuilder pb{req, d};
  if (!req.vm_iface.empty()) {
    DiscoveredPoint p;
    p.role = "vm";
    p.host = req.vm_host.empty() ? (req.host.empty() ? "local" : req.host) : req.vm_host;
    p.netns = req.vm_netns;
    p.iface = req.vm_iface;
    p.what = "the VM's NIC (captured before the VM's own firewall)";
    d.points.push_back(std::move(p));
  }

  const LinkInfo* tap_link = find_link(f, tap);
  if (!tap_link) {
    std::string msg = "port " + d.port + ": not found" + where + ": no device " + tap;
    if (f.ovs) msg += " and no OVS interface with external_ids:iface-id=" + d.port;
    else msg += " (OVS not asked)";
    if (vif) msg = "port " + d.port + ": OVS interface " + vif->name + " has its iface-id but device " +
                   tap + " does not exist" + where;
    throw Error(ExitCode::kInput, msg);
  }

  const LinkInfo* master = tap_link->master.empty() ? nullptr : find_link(f, tap_link->master);
  const OvsInterface* tap_ovs = find_ovs(f, tap);
  if (master && master->kind == "bridge" && std::string_view(master->name).starts_with("qbr")) {
    d.layout = Layout::kHybrid;
    const std::string qbr = master->name;
    const std::string qvb_name = "qvb" + d.suffix;
    const LinkInfo* qvb = find_link(f, qvb_name);
    if (!qvb || qvb->master != qbr) {
      qvb = nullptr;  // not Neutron's name: any other veth member of qbr
      for (const auto& l : f.links)
        if (l.master == qbr && l.name != tap && l.kind == "veth") qvb = &l;
    }
    if (!qvb) throw Error(ExitCode::kInput, "port " + d.port + ": bridge " + qbr + where +
                                                " has no qvb veth besides " + tap);
    const LinkInfo* qvo = veth_peer(f, *qvb);
    if (!qvo) throw Error(ExitCode::kInput, "port " + d.port + ": the veth peer of " + qvb->name +
                                                " (qvo) is not in this namespace");
    const OvsInterface* qvo_ovs = find_ovs(f, qvo->name);
    pb.add("tap", tap, "the VM's tap, port of " + qbr);
    pb.add("qbr", qbr, "the Linux bridge where iptables filters (br_netfilter); capture is promiscuous");
    pb.add("qvb", qvb->name, qbr + " side of the qvb/qvo veth");
    pb.add("qvo", qvo->name, "br-int side of the qvb/qvo veth");
    d.notes.push_back("security groups: iptables FORWARD on " + qbr + " (physdev " + tap +
                      "), chains neutron-openvswi-i" + d.chain_id + " (ingress) / -o" +
                      d.chain_id + " (egress), between C (" + qbr + ") and B (" + tap + ").");
    if (!f.ovs) {
      d.notes.push_back("OVS was not asked: the path beyond " + qvo->name + " is unknown.");
    } else if (!qvo_ovs || qvo_ovs->bridge.empty()) {
      d.notes.push_back(qvo->name + " is not an OVS port: the path beyond it is unknown.");
    } else {
      if (!vif)
        d.notes.push_back(qvo->name + " has no external_ids:iface-id=" + d.port +
                          " (the openvswitch agent sets it): is the port bound to this host?");
      walk_ovs_uplink(f, qvo_ovs->bridge, qvo->name, pb);
    }
  } else if (master && master->kind == "bridge") {
    d.layout = Layout::kLinuxBridge;
    const std::string brq = master->name;
    pb.add("tap", tap, "the VM's tap, port of " + brq);
    pb.add("brq", brq, "the Linux bridge of the network; iptables filters here (br_netfilter)");
    std::vector<std::string> uplinks;
    for (const auto& l : f.links)
      if (l.master == brq && l.name != tap && !std::string_view(l.name).starts_with("tap")) uplinks.push_back(l.name);
    if (uplinks.empty()) {
      d.notes.push_back(brq + ": no uplink besides taps: add the NIC by hand.");
    } else {
      const LinkInfo* up = find_link(f, uplinks.front());
      std::string what = "the network's uplink on " + brq;
      if (up && up->kind == "vxlan") what += " (VXLAN device: frames beyond it are encapsulated)";
      if (up && up->kind == "vlan") what += " (VLAN sub-interface)";
      pb.add("nic", uplinks.front(), what);
    }
    d.notes.push_back("security groups: iptables FORWARD on " + brq + " (physdev " + tap +
                      "), chains neutron-linuxbri-i" + d.chain_id + " / -o" + d.chain_id +
                      ", between the bridge and the tap.");
  } else if (tap_ovs && !tap_ovs->bridge.empty()) {
    d.layout = Layout::kOvsNative;
    pb.add("tap", tap, "the VM's tap, port of " + tap_ovs->bridge + " (native OVS firewall)");
    d.notes.push_back("security groups: OpenFlow rules of the native OVS firewall in " +
                      tap_ovs->bridge + " (tables 71-82), between the uplink and the tap; "
                      "`run --explain` diffs `ovs-ofctl dump-flows " + tap_ovs->bridge + "`.");
    if (!vif)
      d.notes.push_back(tap + " has no external_ids:iface-id=" + d.port +
                        " (the openvswitch agent sets it): is the port bound to this host?");
    walk_ovs_uplink(f, tap_ovs->bridge, tap, pb);
  } else {
    throw Error(ExitCode::kInput,
                "port " + d.port + ": " + tap + where +
                    " is neither in a Linux bridge (qbr…/brq…) nor an OVS port" +
                    (f.ovs ? "" : " (OVS not asked: ovs-vsctl missing?)"));
  }
  for (std::size_t i = 0; i < d.points.size(); ++i) {
    if (i < 26) d.points[i].label = std::string(1, static_cast<char>('A' + i));
    else d.points[i].label = "P" + std::to_string(i + 1);
  }
  return d;
}

HostFacts gather_facts(const DiscoverRequest& req) {
  const std::string suffix = device_suffix(req);
  HostFacts f;
  if (!req.remote && !have_tool("ip"))
    throw Error(ExitCode::kCapture, "ip not found in PATH (iproute2 is needed to list devices)");
  if (!req.remote && !req.netns.empty() && access(("/run/netns/" + req.netns).c_str(), F_OK) != 0)
    throw Error(ExitCode::kCapture, "netns " + req.netns + ": no such network namespace");
  f.links = parse_ip_links(must(on_host(req.remote, req.netns, {"ip", "-j", "-d", "link", "show"})));

  // The linuxbridge agent needs no OVS; everything else does.
  const LinkInfo* tap = find_link(f, "tap" + suffix);
  const LinkInfo* master = tap && !tap->master.empty() ? find_link(f, tap->master) : nullptr;
  const bool linuxbridge = master && master->kind == "bridge" && !std::string_view(master->name).starts_with("qbr");
  if (linuxbridge) return f;
  if (!req.remote && !have_tool("ovs-vsctl")) {
    if (!tap)
      throw Error(ExitCode::kCapture,
                  "ovs-vsctl not found in PATH, and no device tap" + suffix +
                      (req.netns.empty() ? "" : " in netns " + req.netns) +
                      ": cannot look the port up in OVS (install openvswitch-switch)");
    throw Error(ExitCode::kCapture,
                "ovs-vsctl not found in PATH: tap" + suffix +
                    " belongs to the openvswitch agent; discovery needs ovs-vsctl "
                    "(install openvswitch-switch)");
  }
  const OvsAccess ovs = OvsAccess::from(req.ovs_db);
  const char* hint = "is ovsdb-server running? give --ovs-db unix:PATH or set OVS_RUNDIR";
  f.ovs_ifaces = parse_ovs_interfaces(must(
      on_host(req.remote, req.netns, ovs.vsctl({"--format=json", "--columns=name,type,options,external_ids",
                                     "list", "Interface"})),
      hint));
  if (!req.port_uuid.empty()) {
    // The VIF, as the openvswitch agent marks it.
    for (const auto& v : parse_ovs_interfaces(must(
             on_host(req.remote, req.netns, ovs.vsctl({"--format=json", "--columns=name,type,options,external_ids",
                                            "find", "Interface",
                                            "external_ids:iface-id=" + lower(req.port_uuid)})),
             hint)))
      f.vifs.push_back(v.name);
  }
  f.ovs = true;
  std::string bridges = must(on_host(req.remote, req.netns, ovs.vsctl({"list-br"})), hint);
  std::size_t pos = 0;
  while (pos < bridges.size()) {
    auto nl = bridges.find('\n', pos);
    if (nl == std::string::npos) nl = bridges.size();
    const std::string br = bridges.substr(pos, nl - pos);
    pos = nl + 1;
    if (br.empty()) continue;
    const std::string ifaces = must(on_host(req.remote, req.netns, ovs.vsctl({"list-ifaces", br})), hint);
    std::size_t p2 = 0;
    while (p2 < ifaces.size()) {
      auto n2 = ifaces.find('\n', p2);
      if (n2 == std::string::npos) n2 = ifaces.size();
      const std::string name = ifaces.substr(p2, n2 - p2);
      p2 = n2 + 1;
      for (auto& i : f.ovs_ifaces)
        if (i.name == name) i.bridge = br;
    }
    // list-ifaces leaves out the bridge's own (internal) interface.
    for (auto& i : f.ovs_ifaces)
      if (i.name == br && i.bridge.empty()) i.bridge = br;
  }
  for (const auto& i : f.ovs_ifaces) {
    if (!is_tunnel(i.type) || i.remote_ip.empty() || f.route_dev.count(i.remote_ip)) continue;
    const CommandResult r = run_command(on_host(req.remote, req.netns, {"ip", "-j", "route", "get", i.remote_ip}));
    if (r.exit_code != 0) continue;
    const json j = json::parse(r.out, nullptr, false);
    if (!j.is_discarded() && j.is_array() && !j.empty() && j[0].is_object())
      f.route_dev[i.remote_ip] = j[0].value("dev", "");
  }
  return f;
}

std::string discovery_json(const Discovery& d) {
  nlohmann::ordered_json j;
  j["port"] = d.port;
  j["layout"] = d.layout == Layout::kHybrid      ? "hybrid"
                : d.layout == Layout::kOvsNative ? "ovs-native"
                                                 : "linuxbridge";
  j["netns"] = d.netns;
  j["points"] = nlohmann::ordered_json::array();
  for (const auto& p : d.points)
    j["points"].push_back({{"label", p.label}, {"role", p.role}, {"host", p.host}, {"netns", p.netns},
                           {"iface", p.iface}, {"what", p.what}});
  j["bridges"] = d.bridges;
  j["notes"] = d.notes;
  return j.dump(2) + "\n";
}

std::string render_inventory(const Discovery& d) {
  std::string s = "# Neutron port " + d.port + ": " + std::string(describe(d.layout)) + ".\n";
  s += "# Capture points in path order, VM side first (pathtrace discover";
  s += d.netns.empty() ? ").\n" : ", netns " + d.netns + ").\n";
  if (!d.bridges.empty()) {
    s += "# OVS bridges on the path:";
    for (const auto& b : d.bridges) s += " " + b;
    s += "\n";
  }
  if (!d.notes.empty()) s += "#\n# Not capturable directly, and what to do instead:\n";
  for (const auto& n : d.notes) s += "#  - " + n + "\n";
  for (const auto& p : d.points) {
    s += "\n# " + p.label + ": " + p.what + "\n";
    s += "[[point]]\nlabel = \"" + p.label + "\"\nrole = \"" + p.role + "\"\nhost = \"" + p.host +
         "\"\niface = \"" + p.iface + "\"\n";
    if (!p.netns.empty()) s += "netns = \"" + p.netns + "\"\n";
  }
  return s;
}

}  // namespace pathtrace::neutron
