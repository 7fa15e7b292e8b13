// discover_path() on captured `ip -j -d link show` and `ovs-vsctl --format=json list Interface`
// outputs: the lab's hybrid layout (tests/lab/neutron_lab.sh), a patch-port variant with the
// native OVS firewall, the linuxbridge agent, and the errors a user can make.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/neutron/discover.hpp"

namespace pathtrace::neutron {
namespace {

constexpr const char* kUuid = "bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d";

// `ip -j -d link show` in the lab's hypervisor namespace (fields trimmed to those used).
constexpr const char* kHybridLinks = R"([{"ifindex": 1, "ifname": "lo"},
 {"ifindex": 2, "ifname": "eth1", "link_index": 2, "link_netnsid": 1, "linkinfo": {"info_kind": "veth"}},
 {"ifindex": 3, "ifname": "int-br-ethx", "link": "phy-br-ethx", "linkinfo": {"info_kind": "veth"}},
 {"ifindex": 4, "ifname": "phy-br-ethx", "link": "int-br-ethx", "linkinfo": {"info_kind": "veth"}},
 {"ifindex": 5, "ifname": "qvobdd1f2c3-bd", "link": "qvbbdd1f2c3-bd", "linkinfo": {"info_kind": "veth"}},
 {"ifindex": 6, "ifname": "qvbbdd1f2c3-bd", "link": "qvobdd1f2c3-bd", "master": "qbrbdd1f2c3-bd", "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"}},
 {"ifindex": 7, "ifname": "tapbdd1f2c3-bd", "link_index": 2, "link_netnsid": 0, "master": "qbrbdd1f2c3-bd", "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"}},
 {"ifindex": 8, "ifname": "qbrbdd1f2c3-bd", "linkinfo": {"info_kind": "bridge"}},
 {"ifindex": 9, "ifname": "ovs-netdev", "linkinfo": {"info_kind": "tun"}},
 {"ifindex": 10, "ifname": "br-int", "linkinfo": {"info_kind": "tun"}},
 {"ifindex": 11, "ifname": "br-ethx", "linkinfo": {"info_kind": "tun"}}])";

// `ovs-vsctl --format=json --columns=name,type,options,external_ids list Interface`.
constexpr const char* kHybridOvs = R"({"data":[["br-ethx","internal",["map",[]],["map",[]]],
 ["phy-br-ethx","",["map",[]],["map",[]]],
 ["qvobdd1f2c3-bd","",["map",[]],["map",[["attached-mac","02:70:74:00:00:20"],["iface-id","bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d"],["iface-status","active"]]]],
 ["br-int","internal",["map",[]],["map",[]]],["int-br-ethx","",["map",[]],["map",[]]],
 ["eth1","",["map",[]],["map",[]]]],"headings":["name","type","options","external_ids"]})";

void set_bridge(HostFacts& f, const std::string& br, std::vector<std::string> names) {
  for (auto& i : f.ovs_ifaces)
    for (const auto& n : names)
      if (i.name == n) i.bridge = br;
}

HostFacts hybrid_facts() {
  HostFacts f;
  f.links = parse_ip_links(kHybridLinks);
  f.ovs_ifaces = parse_ovs_interfaces(kHybridOvs);
  f.ovs = true;
  set_bridge(f, "br-int", {"br-int", "int-br-ethx", "qvobdd1f2c3-bd"});
  set_bridge(f, "br-ethx", {"br-ethx", "phy-br-ethx", "eth1"});
  return f;
}

std::string chain(const Discovery& d) {
  std::string s;
  for (const auto& p : d.points) s += p.label + ":" + p.role + ":" + p.iface + " ";
  return s;
}

TEST(Parse, IpLinks) {
  const auto links = parse_ip_links(kHybridLinks);
  ASSERT_EQ(links.size(), 11u);
  EXPECT_EQ(links[5].name, "qvbbdd1f2c3-bd");
  EXPECT_EQ(links[5].master, "qbrbdd1f2c3-bd");
  EXPECT_EQ(links[5].peer, "qvobdd1f2c3-bd");
  EXPECT_EQ(links[6].kind, "veth");
  EXPECT_TRUE(links[6].peer_elsewhere);
  EXPECT_THROW(parse_ip_links("not json"), Error);
}

TEST(Parse, OvsInterfaces) {
  const auto ifs = parse_ovs_interfaces(kHybridOvs);
  ASSERT_EQ(ifs.size(), 6u);
  EXPECT_EQ(ifs[0].type, "internal");
  EXPECT_EQ(ifs[2].iface_id, kUuid);
  const auto patch = parse_ovs_interfaces(
      R"({"data":[["int-br-ethx","patch",["map",[["peer","phy-br-ethx"]]],["map",[]]]],"headings":["name","type","options","external_ids"]})");
  ASSERT_EQ(patch.size(), 1u);
  EXPECT_EQ(patch[0].peer, "phy-br-ethx");
  EXPECT_THROW(parse_ovs_interfaces("[]"), Error);
}

TEST(Discover, HybridLabIsAtoG) {
  DiscoverRequest req;
  req.port_uuid = kUuid;
  req.netns = "ptlab-hv";
  req.vm_iface = "eth0";
  req.vm_netns = "ptlab-vm";
  const Discovery d = discover_path(req, hybrid_facts());
  EXPECT_EQ(d.layout, Layout::kHybrid);
  EXPECT_EQ(chain(d),
            "A:vm:eth0 B:tap:tapbdd1f2c3-bd C:qbr:qbrbdd1f2c3-bd D:qvb:qvbbdd1f2c3-bd "
            "E:qvo:qvobdd1f2c3-bd F:br-ethx:phy-br-ethx G:nic:eth1 ");
  EXPECT_EQ(d.chain_id, "bdd1f2c3-b");
  EXPECT_EQ(d.bridges, (std::vector<std::string>{"br-int", "br-ethx"}));
  EXPECT_EQ(d.points[0].netns, "ptlab-vm");
  EXPECT_EQ(d.points[1].netns, "ptlab-hv");
  const std::string toml = render_inventory(d);
  EXPECT_NE(toml.find("[[point]]\nlabel = \"G\"\nrole = \"nic\"\nhost = \"local\"\niface = \"eth1\"\n"
                      "netns = \"ptlab-hv\"\n"),
            std::string::npos)
      << toml;
}

TEST(Discover, TapFindsTheUuidAndNoVmPointStartsAtTap) {
  DiscoverRequest req;
  req.tap = "tapbdd1f2c3-bd";
  const Discovery d = discover_path(req, hybrid_facts());
  EXPECT_EQ(d.port, kUuid);
  EXPECT_EQ(d.points.front().label, "A");
  EXPECT_EQ(d.points.front().role, "tap");
  EXPECT_EQ(d.points.size(), 6u);
}

TEST(Discover, NativeOvsFirewallWithPatchPorts) {
  HostFacts f;
  f.links = parse_ip_links(R"([{"ifindex": 2, "ifname": "eth1", "link_index": 2, "link_netnsid": 1, "linkinfo": {"info_kind": "veth"}},
    {"ifindex": 3, "ifname": "tapbdd1f2c3-bd", "link_index": 2, "link_netnsid": 0, "linkinfo": {"info_kind": "veth"}},
    {"ifindex": 5, "ifname": "br-int", "linkinfo": {"info_kind": "tun"}}])");
  f.ovs_ifaces = parse_ovs_interfaces(R"({"data":[
    ["tapbdd1f2c3-bd","",["map",[]],["map",[["iface-id","bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d"]]]],
    ["br-int","internal",["map",[]],["map",[]]],
    ["tapotherport-1","",["map",[]],["map",[["iface-id","0ther000-0000-4000-8000-000000000000"]]]],
    ["int-br-ethx","patch",["map",[["peer","phy-br-ethx"]]],["map",[]]],
    ["phy-br-ethx","patch",["map",[["peer","int-br-ethx"]]],["map",[]]],
    ["br-ethx","internal",["map",[]],["map",[]]],
    ["eth1","",["map",[]],["map",[]]]],"headings":["name","type","options","external_ids"]})");
  f.ovs = true;
  set_bridge(f, "br-int", {"br-int", "tapbdd1f2c3-bd", "tapotherport-1", "int-br-ethx"});
  set_bridge(f, "br-ethx", {"br-ethx", "phy-br-ethx", "eth1"});
  DiscoverRequest req;
  req.port_uuid = kUuid;
  const Discovery d = discover_path(req, f);
  EXPECT_EQ(d.layout, Layout::kOvsNative);
  EXPECT_EQ(chain(d), "A:tap:tapbdd1f2c3-bd B:nic:eth1 ");
  bool patch_note = false;
  for (const auto& n : d.notes)
    if (n.find("OVS patch ports int-br-ethx / phy-br-ethx have no kernel device") != std::string::npos)
      patch_note = true;
  EXPECT_TRUE(patch_note);
}

TEST(Discover, LinuxBridgeAgent) {
  HostFacts f;
  f.links = parse_ip_links(R"([{"ifindex": 2, "ifname": "eth1", "master": "brq5e7a0b1c-2d", "linkinfo": {"info_kind": "veth", "info_slave_kind": "bridge"}},
    {"ifindex": 3, "ifname": "tapbdd1f2c3-bd", "master": "brq5e7a0b1c-2d", "link_index": 2, "link_netnsid": 0, "linkinfo": {"info_kind": "veth"}},
    {"ifindex": 4, "ifname": "tap0ther000-00", "master": "brq5e7a0b1c-2d", "linkinfo": {"info_kind": "tun"}},
    {"ifindex": 5, "ifname": "brq5e7a0b1c-2d", "linkinfo": {"info_kind": "bridge"}}])");
  DiscoverRequest req;
  req.port_uuid = kUuid;
  req.vm_iface = "eth0";
  const Discovery d = discover_path(req, f);
  EXPECT_EQ(d.layout, Layout::kLinuxBridge);
  EXPECT_EQ(chain(d), "A:vm:eth0 B:tap:tapbdd1f2c3-bd C:brq:brq5e7a0b1c-2d D:nic:eth1 ");
}

TEST(Discover, Errors) {
  DiscoverRequest req;
  req.tap = "eth0";
  try {
    discover_path(req, hybrid_facts());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("not a Neutron tap name"), std::string::npos);
  }
  req = {};
  req.port_uuid = "bdd1f2c3";
  EXPECT_THROW(device_suffix(req), Error);
  req.port_uuid = "11111111-2222-4333-8444-555555555555";
  try {
    discover_path(req, hybrid_facts());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_NE(std::string(e.what()).find("not found"), std::string::npos);
  }
  req = {};
  EXPECT_THROW(device_suffix(req), Error);  // neither --port nor --tap
}

TEST(Ovs, AccessFromDbPath) {
  const OvsAccess a = OvsAccess::from("unix:/tmp/pathtrace-lab.x/db.sock");
  EXPECT_EQ(a.ofctl_target("br-int"), "unix:/tmp/pathtrace-lab.x/br-int.mgmt");
  EXPECT_EQ(a.vsctl({"show"}).back(), "show");
  EXPECT_THROW(OvsAccess::from("/tmp/db.sock"), Error);
}

}  // namespace
}  // namespace pathtrace::neutron
