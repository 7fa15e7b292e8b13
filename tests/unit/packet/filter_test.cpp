// Filter alias tests: every predicate on parsed fixtures, and the shape of the kernel text.

#include "collector/packet/filter.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/unit/packet/fixtures.hpp"

namespace pathtrace::packet {
namespace {

namespace fx = fixtures;

Parsed parse_eth(std::span<const uint8_t> b, LinkType link = LinkType::kEthernet) {
  Parsed p;
  parse(b, static_cast<uint32_t>(b.size()), link, Options{}, p);
  return p;
}

bool matches(std::string_view alias, std::span<const uint8_t> b,
             LinkType link = LinkType::kEthernet) {
  const Alias* a = find_alias(alias);
  EXPECT_NE(a, nullptr) << alias;
  return a != nullptr && a->match(parse_eth(b, link));
}

TEST(Alias, ListAndLookup) {
  std::set<std::string_view> names;
  for (const Alias& a : aliases()) {
    names.insert(a.name);
    EXPECT_FALSE(a.description.empty()) << a.name;
    EXPECT_FALSE(a.bpf.empty()) << a.name;
    EXPECT_NE(a.match, nullptr) << a.name;
    EXPECT_EQ(find_alias(a.name), &a);
  }
  for (auto n : {"ipip", "lvs", "gre", "6in4", "vxlan", "geneve", "tcp", "udp", "icmp", "esp"})
    EXPECT_TRUE(names.contains(n)) << n;
  EXPECT_EQ(find_alias("ip proto 4"), nullptr);
  EXPECT_EQ(find_alias(""), nullptr);
  EXPECT_EQ(find_alias("IPIP"), nullptr);
}

TEST(Alias, KernelTextCatchesTaggedAndVxlanCopies) {
  for (const Alias& a : aliases()) {
    const std::string u(a.bpf_untagged);
    // Untagged, one tag, two tags; every `vlan` term after every plain one (pcap-filter's
    // `vlan` shifts the offsets of everything after it).
    EXPECT_EQ(a.bpf, "(" + u + ") or (vlan and ((" + u + ") or (vlan and (" + u + "))))")
        << a.name;
    EXPECT_EQ(u.find("vlan"), std::string::npos) << a.name;
    EXPECT_NE(u.find("udp dst port 4789"), std::string::npos) << a.name;
    EXPECT_NE(u.find("udp dst port 6081"), std::string::npos) << a.name;
    EXPECT_NE(u.find("ip proto 4 "), std::string::npos) << a.name;
    EXPECT_NE(u.find("ip proto 47"), std::string::npos) << a.name;
    EXPECT_EQ(bpf_for(a, 1), a.bpf);
    EXPECT_EQ(bpf_for(a, 113), a.bpf_untagged);
    EXPECT_EQ(bpf_for(a, 276), a.bpf_untagged);
    EXPECT_EQ(bpf_for(a, 101), a.bpf_untagged);
  }
  EXPECT_NE(std::string(find_alias("esp")->bpf).find("ip proto 50"), std::string::npos);
  EXPECT_NE(std::string(find_alias("tcp")->bpf).find("(tcp or "), std::string::npos);
}

TEST(UserFilter, AlsoMatchesTaggedFramesOnEthernet) {
  EXPECT_EQ(bpf_for_text("ip proto 4", 1), "(ip proto 4) or (vlan and ((ip proto 4) or (vlan and (ip proto 4))))");
  EXPECT_EQ(bpf_for_text("tcp port 22 and host 198.18.0.1", 1),
            "(tcp port 22 and host 198.18.0.1) or (vlan and ((tcp port 22 and host 198.18.0.1) or "
            "(vlan and (tcp port 22 and host 198.18.0.1))))");
  // A host name that only contains a keyword is no keyword.
  EXPECT_EQ(bpf_for_text("host vlan-gw", 1), "(host vlan-gw) or (vlan and ((host vlan-gw) or (vlan and (host vlan-gw))))");
  // Other link types have no tags to skip (and libpcap refuses `vlan` there); nothing stays nothing.
  for (uint32_t link : {101u, 113u, 276u}) EXPECT_EQ(bpf_for_text("ip proto 4", link), "ip proto 4") << link;
  EXPECT_EQ(bpf_for_text("", 1), "");
  // An expression that places tags or other encapsulations itself is the user's choice.
  for (const char* own : {"vlan 100 and ip proto 4", "ip proto 4 or (vlan and ip proto 4)", "not vlan",
                          "mpls and ip", "pppoes and ip", "geneve and ip", "(vxlan)"})
    EXPECT_EQ(bpf_for_text(own, 1), own);
}

TEST(Alias, Ipip) {
  EXPECT_TRUE(matches("ipip", fx::eth_ipv4_ipip_tcp));
  EXPECT_TRUE(matches("ipip", fx::eth_vlan_ipv4_ipip_tcp));
  EXPECT_TRUE(matches("ipip", fx::sll_ipv4_ipip_tcp, LinkType::kLinuxSll));
  EXPECT_TRUE(matches("ipip", fx::sll2_ipv6_4in6_udp, LinkType::kLinuxSll2));
  EXPECT_FALSE(matches("ipip", fx::eth_ipv4_tcp));
  EXPECT_FALSE(matches("ipip", fx::eth_ipv4_udp_vxlan_tcp));
  EXPECT_FALSE(matches("ipip", fx::eth_ipv4_6in4_udp));
  EXPECT_FALSE(matches("ipip", fx::bad_inner_len));
  EXPECT_TRUE(matches("lvs", fx::eth_vlan_ipv4_ipip_tcp));
  EXPECT_FALSE(matches("lvs", fx::eth_vlan_ipv4_tcp));
}

TEST(Alias, Gre) {
  EXPECT_TRUE(matches("gre", fx::eth_ipv4_gre_teb_tcp));
  EXPECT_TRUE(matches("gre", fx::eth_ipv4_gre_csum_ipv4_udp));
  EXPECT_TRUE(matches("gre", fx::eth_ipv4_gre_ipv6_udp));
  EXPECT_FALSE(matches("gre", fx::eth_ipv4_ipip_tcp));
}

TEST(Alias, SixInFour) {
  EXPECT_TRUE(matches("6in4", fx::eth_ipv4_6in4_udp));
  EXPECT_FALSE(matches("6in4", fx::eth_ipv6_6in6_icmp6));  // IPv6 outer: 6in6, not 6in4
  EXPECT_FALSE(matches("6in4", fx::eth_ipv6_tcp));
}

TEST(Alias, VxlanGeneve) {
  EXPECT_TRUE(matches("vxlan", fx::eth_ipv4_udp_vxlan_tcp));
  EXPECT_TRUE(matches("vxlan", fx::eth_ipv4_udp_vxlan_vlan_tcp));
  EXPECT_FALSE(matches("vxlan", fx::eth_ipv4_udp_geneve_tcp));
  EXPECT_FALSE(matches("vxlan", fx::eth_ipv4_udp_dns));
  EXPECT_TRUE(matches("geneve", fx::eth_ipv4_udp_geneve_tcp));
  EXPECT_TRUE(matches("geneve", fx::eth_ipv4_udp_geneve_ip_tcp));
  EXPECT_FALSE(matches("geneve", fx::eth_ipv4_udp_vxlan_tcp));
}

TEST(Alias, InnermostProtocols) {
  EXPECT_TRUE(matches("tcp", fx::eth_ipv4_tcp));
  EXPECT_TRUE(matches("tcp", fx::eth_ipv4_udp_vxlan_tcp));  // innermost is TCP
  EXPECT_TRUE(matches("tcp", fx::eth_ipv4_ipip_tcp));
  EXPECT_TRUE(matches("tcp", fx::eth_ipv6_ah_tcp));
  EXPECT_FALSE(matches("tcp", fx::eth_ipv4_udp_dns));
  EXPECT_FALSE(matches("tcp", fx::eth_arp));
  EXPECT_TRUE(matches("udp", fx::eth_ipv4_udp_dns));
  EXPECT_TRUE(matches("udp", fx::eth_ipv4_gre_csum_ipv4_udp));
  EXPECT_TRUE(matches("udp", fx::eth_ipv4_frag_later));  // a fragment of a UDP datagram
  EXPECT_FALSE(matches("udp", fx::eth_ipv4_udp_vxlan_tcp));  // innermost is TCP
  EXPECT_TRUE(matches("icmp", fx::eth_ipv4_icmp));
  EXPECT_TRUE(matches("icmp", fx::eth_ipv4_gre_teb_icmp));
  EXPECT_TRUE(matches("icmp", fx::eth_ipv6_icmp6_echo));
  EXPECT_TRUE(matches("icmp", fx::eth_ipv6_6in6_icmp6));
  EXPECT_FALSE(matches("icmp", fx::eth_ipv4_tcp));
}

TEST(Alias, Esp) {
  EXPECT_TRUE(matches("esp", fx::eth_ipv4_esp));
  EXPECT_FALSE(matches("esp", fx::eth_ipv4_tcp));
}

TEST(Alias, NothingMatchesAFailedParse) {
  Parsed bad = parse_eth(fx::bad_tcp_offset);
  ASSERT_EQ(bad.status, Status::kMalformed);
  for (const Alias& a : aliases()) EXPECT_FALSE(a.match(bad)) << a.name;
  Parsed cut = parse_eth(std::span<const uint8_t>(fx::eth_ipv4_ipip_tcp).first(40));
  ASSERT_EQ(cut.status, Status::kTruncated);
  for (const Alias& a : aliases()) EXPECT_FALSE(a.match(cut)) << a.name;
}

}  // namespace
}  // namespace pathtrace::packet
