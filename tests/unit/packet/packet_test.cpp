// Parser and digest tests over the inline wire bytes in fixtures.hpp.

#include "collector/packet/packet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/packet/fixtures.hpp"

namespace pathtrace::packet {
namespace {

namespace fx = fixtures;

Parsed parse_bytes(std::span<const uint8_t> b, LinkType link = LinkType::kEthernet,
                   const Options& opt = Options{}) {
  Parsed p;
  parse(b, static_cast<uint32_t>(b.size()), link, opt, p);
  return p;
}

uint64_t digest_of(std::span<const uint8_t> b, LinkType link = LinkType::kEthernet) {
  const Parsed p = parse_bytes(b, link);
  EXPECT_EQ(p.status, Status::kOk) << name(p.status);
  EXPECT_NE(p.digest, 0u);
  return p.digest;
}

// The link type each fixture is captured with.
LinkType link_of(std::string_view fixture) {
  if (fixture.starts_with("sll2_")) return LinkType::kLinuxSll2;
  if (fixture.starts_with("sll_")) return LinkType::kLinuxSll;
  if (fixture.starts_with("raw_")) return LinkType::kRaw;
  return LinkType::kEthernet;
}

struct Expect {
  std::string_view fixture;
  Status status;
  std::string_view stack;  // checked when status is kOk
};

const Expect kExpected[] = {
    {"eth_ipv4_tcp", Status::kOk, "eth/ipv4/tcp"},
    {"eth_vlan_ipv4_tcp", Status::kOk, "eth/vlan/ipv4/tcp"},
    {"eth_qinq_ipv4_tcp", Status::kOk, "eth/qinq/vlan/ipv4/tcp"},
    {"eth_9100_ipv4_tcp", Status::kOk, "eth/qinq/vlan/ipv4/tcp"},
    {"sll_ipv4_tcp", Status::kOk, "sll/ipv4/tcp"},
    {"sll2_ipv4_tcp", Status::kOk, "sll2/ipv4/tcp"},
    {"raw_ipv4_tcp", Status::kOk, "ipv4/tcp"},
    {"eth_ipv4_tcp_routed", Status::kOk, "eth/ipv4/tcp"},
    {"eth_ipv4_tcp_syn_padded", Status::kOk, "eth/ipv4/tcp"},
    {"eth_ipv4_ipip_tcp", Status::kOk, "eth/ipv4[ipip]/ipv4/tcp"},
    {"eth_vlan_ipv4_ipip_tcp", Status::kOk, "eth/vlan/ipv4[ipip]/ipv4/tcp"},
    {"sll_ipv4_ipip_tcp", Status::kOk, "sll/ipv4[ipip]/ipv4/tcp"},
    {"eth_ipv4_udp_vxlan_tcp", Status::kOk, "eth/ipv4/udp/vxlan/eth/ipv4/tcp"},
    {"eth_ipv4_udp_vxlan_vlan_tcp", Status::kOk, "eth/ipv4/udp/vxlan/eth/vlan/ipv4/tcp"},
    {"eth_ipv4_udp_geneve_tcp", Status::kOk, "eth/ipv4/udp/geneve/eth/ipv4/tcp"},
    {"eth_ipv4_udp_geneve_ip_tcp", Status::kOk, "eth/ipv4/udp/geneve/ipv4/tcp"},
    {"eth_ipv4_gre_teb_tcp", Status::kOk, "eth/ipv4/gre/eth/ipv4/tcp"},
    {"eth_ipv4_gre_teb_icmp", Status::kOk, "eth/ipv4/gre/eth/ipv4/icmp"},
    {"eth_ipv4_gre_csum_ipv4_udp", Status::kOk, "eth/ipv4/gre/ipv4/udp"},
    {"eth_ipv4_gre_ipv6_udp", Status::kOk, "eth/ipv4/gre/ipv6/udp"},
    {"eth_ipv6_tcp", Status::kOk, "eth/ipv6/tcp"},
    {"sll_ipv6_tcp", Status::kOk, "sll/ipv6/tcp"},
    {"eth_ipv6_ext_frag_udp", Status::kOk, "eth/ipv6/udp"},
    {"eth_ipv6_frag_later", Status::kOk, "eth/ipv6/data"},
    {"eth_ipv6_ah_tcp", Status::kOk, "eth/ipv6/tcp"},
    {"eth_ipv4_6in4_udp", Status::kOk, "eth/ipv4[6in4]/ipv6/udp"},
    {"sll2_ipv6_4in6_udp", Status::kOk, "sll2/ipv6[4in6]/ipv4/udp"},
    {"eth_ipv6_6in6_icmp6", Status::kOk, "eth/ipv6[6in6]/ipv6/icmp6"},
    {"eth_ipv4_options_udp", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_frag_first_udp", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_frag_later", Status::kOk, "eth/ipv4/data"},
    {"eth_ipv4_icmp", Status::kOk, "eth/ipv4/icmp"},
    {"eth_ipv4_icmp_unreach", Status::kOk, "eth/ipv4/icmp"},
    {"eth_ipv6_icmp6_echo", Status::kOk, "eth/ipv6/icmp6"},
    {"eth_ipv4_sctp", Status::kOk, "eth/ipv4/sctp"},
    {"eth_ipv4_esp", Status::kOk, "eth/ipv4/data"},
    {"eth_ipv4_udp_dns", Status::kOk, "eth/ipv4/udp"},
    {"raw_ipv6_udp", Status::kOk, "ipv6/udp"},
    {"eth_ipv4_gre_v1", Status::kOk, "eth/ipv4/gre"},
    {"eth_ipv4_gre_erspan", Status::kOk, "eth/ipv4/gre"},
    {"eth_ipv4_udp_4789_short", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_udp_4789_no_i_flag", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_udp_6081_version1", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_udp_vxlan_arp", Status::kOk, "eth/ipv4/udp/vxlan/eth"},
    {"eth_arp", Status::kNotIp, ""},
    {"deep_ipv6_ext9", Status::kTooDeep, ""},
    {"bad_ipv4_version", Status::kMalformed, ""},
    {"bad_ipv4_ihl", Status::kMalformed, ""},
    {"bad_ipv4_total_len", Status::kMalformed, ""},
    {"bad_ipv6_ext_len", Status::kMalformed, ""},
    {"bad_tcp_offset", Status::kMalformed, ""},
    {"bad_udp_len", Status::kMalformed, ""},
    {"bad_inner_len", Status::kMalformed, ""},
    {"deep_ipip5", Status::kTooDeep, ""},
    {"deep_vlan20", Status::kTooDeep, ""},
};

std::span<const uint8_t> fixture(std::string_view n) {
  for (const auto& f : fx::kAll) {
    if (f.name == n) return f.bytes;
  }
  ADD_FAILURE() << "no fixture " << n;
  return {};
}

TEST(Parse, EveryFixtureHasItsStatusAndStack) {
  for (const Expect& e : kExpected) {
    SCOPED_TRACE(std::string(e.fixture));
    const Parsed p = parse_bytes(fixture(e.fixture), link_of(e.fixture));
    EXPECT_EQ(name(p.status), name(e.status));
    if (e.status == Status::kOk) {
      EXPECT_EQ(stack_string(p), e.stack);
      EXPECT_NE(p.digest, 0u);
    } else {
      EXPECT_EQ(p.digest, 0u);
    }
  }
}

TEST(Parse, EveryFixtureIsListed) {
  for (const auto& f : fx::kAll) {
    if (f.name.find("other") != std::string_view::npos || f.name.find("sport2") != std::string_view::npos ||
        f.name.ends_with("unpadded"))
      continue;
    bool found = false;
    for (const Expect& e : kExpected) found = found || e.fixture == f.name;
    EXPECT_TRUE(found) << f.name;
  }
}

TEST(Parse, Ipv4TcpFields) {
  const Parsed p = parse_bytes(fx::eth_ipv4_tcp);
  ASSERT_EQ(p.status, Status::kOk);
  ASSERT_EQ(p.n_ip, 1);
  EXPECT_EQ(to_string(p.ip[0]), "TCP 192.0.2.1:40000 \u2192 203.0.113.20:80");
  EXPECT_EQ(p.ip_len[0], fx::eth_ipv4_tcp.size() - 14);
  EXPECT_EQ(p.ip_layer[0], 1);
  EXPECT_EQ(p.tcp_flags, 0x18);
  EXPECT_FALSE(p.fragment);
  EXPECT_EQ(p.vlan_id, 0);
}

TEST(Parse, VlanIdIsTheOutermostTag) {
  EXPECT_EQ(parse_bytes(fx::eth_vlan_ipv4_tcp).vlan_id, 100);
  EXPECT_EQ(parse_bytes(fx::eth_qinq_ipv4_tcp).vlan_id, 200);
  EXPECT_EQ(parse_bytes(fx::eth_vlan_ipv4_ipip_tcp).vlan_id, 4094);
}

TEST(Parse, IpipHasOneFlowKeyPerIpLayer) {
  const Parsed p = parse_bytes(fx::eth_vlan_ipv4_ipip_tcp);
  ASSERT_EQ(p.status, Status::kOk);
  ASSERT_EQ(p.n_ip, 2);
  EXPECT_EQ(to_string(p.ip[0]), "IPIP 198.51.100.7 \u2192 203.0.113.20");
  EXPECT_EQ(to_string(p.ip[1]), "TCP 192.0.2.1:40000 \u2192 203.0.113.20:80");
  EXPECT_EQ(p.ip_layer[0], 2);
  EXPECT_EQ(p.ip_layer[1], 3);
  EXPECT_EQ(p.ip_len[0], p.ip_len[1] + 20);
}

TEST(Parse, VxlanAndGeneveZeroTheTunnelSourcePort) {
  for (auto b : {std::span<const uint8_t>(fx::eth_ipv4_udp_vxlan_tcp),
                 std::span<const uint8_t>(fx::eth_ipv4_udp_geneve_tcp)}) {
    const Parsed p = parse_bytes(b);
    ASSERT_EQ(p.status, Status::kOk);
    ASSERT_EQ(p.n_ip, 2);
    EXPECT_EQ(p.ip[0].proto, 17);
    EXPECT_EQ(p.ip[0].sport, 0);
    EXPECT_TRUE(p.ip[0].dport == 4789 || p.ip[0].dport == 6081);
    EXPECT_EQ(to_string(p.ip[1]), "TCP 192.0.2.1:40000 \u2192 203.0.113.20:80");
  }
}

TEST(Parse, UdpOnTunnelPortsThatIsNotATunnelKeepsItsSourcePort) {
  for (auto b : {std::span<const uint8_t>(fx::eth_ipv4_udp_4789_short),
                 std::span<const uint8_t>(fx::eth_ipv4_udp_4789_no_i_flag),
                 std::span<const uint8_t>(fx::eth_ipv4_udp_6081_version1)}) {
    const Parsed p = parse_bytes(b);
    ASSERT_EQ(p.status, Status::kOk);
    EXPECT_EQ(p.ip[0].sport, 999);
  }
}

TEST(Parse, NonIpInsideATunnelLeavesTheTunnelPacketInnermost) {
  const Parsed p = parse_bytes(fx::eth_ipv4_udp_vxlan_arp);
  ASSERT_EQ(p.status, Status::kOk);
  ASSERT_EQ(p.n_ip, 1);
  EXPECT_EQ(p.ip[0].sport, 0);
  EXPECT_EQ(p.ip[0].dport, 4789);
}

TEST(Parse, VxlanPortIsAnOption) {
  Options opt;
  opt.vxlan_port = 8472;
  const Parsed p = parse_bytes(fx::eth_ipv4_udp_vxlan_tcp, LinkType::kEthernet, opt);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(stack_string(p), "eth/ipv4/udp");
  EXPECT_EQ(p.ip[0].sport, 54321);
}

TEST(Parse, Ipv6FlowKeysAndExtensionHeaders) {
  Parsed p = parse_bytes(fx::eth_ipv6_tcp);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(to_string(p.ip[0]), "TCP [2001:db8::1]:40001 \u2192 [2001:db8::2]:443");
  p = parse_bytes(fx::eth_ipv6_ext_frag_udp);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(p.ip[0].proto, 17);
  EXPECT_EQ(p.ip[0].dport, 53);
  EXPECT_TRUE(p.fragment);
  p = parse_bytes(fx::eth_ipv6_frag_later);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.ip[0].proto, 17);
  EXPECT_EQ(p.ip[0].dport, 0);
  p = parse_bytes(fx::eth_ipv6_ah_tcp);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(p.ip[0].proto, 6);
  EXPECT_EQ(p.tcp_flags, 0x18);
}

TEST(Parse, TunnelsOfIpv6) {
  Parsed p = parse_bytes(fx::sll2_ipv6_4in6_udp, LinkType::kLinuxSll2);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(to_string(p.ip[0]), "IPIP 2001:db8::1 \u2192 2001:db8::2");
  EXPECT_EQ(to_string(p.ip[1]), "UDP 192.0.2.1:5353 \u2192 203.0.113.20:53");
  p = parse_bytes(fx::eth_ipv4_6in4_udp);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_EQ(to_string(p.ip[0]), "IPv6 192.0.2.9 \u2192 203.0.113.20");
  EXPECT_EQ(to_string(p.ip[1]), "UDP [2001:db8::1]:5353 \u2192 [2001:db8::2]:53");
}

TEST(Parse, Ipv4Fragments) {
  Parsed p = parse_bytes(fx::eth_ipv4_frag_first_udp);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.ip[0].dport, 53);
  p = parse_bytes(fx::eth_ipv4_frag_later);
  ASSERT_EQ(p.status, Status::kOk);
  EXPECT_TRUE(p.fragment);
  EXPECT_EQ(p.ip[0].dport, 0);
  EXPECT_EQ(p.ip[0].proto, 17);
}

TEST(Parse, IcmpAndSctpKeys) {
  EXPECT_EQ(to_string(parse_bytes(fx::eth_ipv4_icmp).ip[0]), "ICMP 192.0.2.1 \u2192 203.0.113.20");
  EXPECT_EQ(to_string(parse_bytes(fx::eth_ipv4_sctp).ip[0]),
            "SCTP 192.0.2.1:36412 \u2192 203.0.113.20:36412");
  EXPECT_EQ(to_string(parse_bytes(fx::eth_ipv4_esp).ip[0]), "ESP 192.0.2.1 \u2192 203.0.113.20");
}

TEST(Parse, RawLinkTypes) {
  EXPECT_EQ(parse_bytes(fx::raw_ipv4_tcp, LinkType::kIpv4).status, Status::kOk);
  EXPECT_EQ(parse_bytes(fx::raw_ipv6_udp, LinkType::kIpv6).status, Status::kOk);
  EXPECT_EQ(parse_bytes(fx::raw_ipv6_udp, LinkType::kIpv4).status, Status::kMalformed);
  EXPECT_EQ(parse_bytes(fx::eth_ipv4_tcp, LinkType::kRaw).status, Status::kMalformed);
  EXPECT_EQ(parse_bytes(fx::eth_ipv4_tcp, static_cast<LinkType>(147)).status,
            Status::kUnsupportedLink);
  EXPECT_TRUE(is_supported(1));
  EXPECT_TRUE(is_supported(276));
  EXPECT_FALSE(is_supported(147));
}

TEST(Parse, SnaplenShorterThanIpLengthIsFineWhenDigestBytesAreThere) {
  // 14 + 20 + 20 + 8 payload bytes (K) are enough; the rest may be cut by snaplen.
  const auto& b = fx::eth_ipv4_tcp;
  const Parsed full = parse_bytes(b);
  const Parsed cut = parse_bytes(std::span<const uint8_t>(b).first(14 + 20 + 20 + 8));
  EXPECT_EQ(cut.status, Status::kOk);
  EXPECT_EQ(cut.digest, full.digest);
  EXPECT_EQ(parse_bytes(std::span<const uint8_t>(b).first(14 + 20 + 20 + 7)).status,
            Status::kTruncated);
}

TEST(Parse, ReusedParsedIsReset) {
  Parsed p;
  Options opt;
  parse(fx::eth_vlan_ipv4_ipip_tcp, 0, LinkType::kEthernet, opt, p);
  parse(fx::eth_ipv4_udp_dns, 0, LinkType::kEthernet, opt, p);
  EXPECT_EQ(stack_string(p), "eth/ipv4/udp");
  EXPECT_EQ(p.n_ip, 1);
  EXPECT_EQ(p.vlan_id, 0);
  EXPECT_EQ(p.tcp_flags, 0);
  parse(fx::eth_arp, 0, LinkType::kEthernet, opt, p);
  EXPECT_EQ(p.status, Status::kNotIp);
  EXPECT_EQ(p.digest, 0u);
}

// ---- digest equality: the same inner packet whatever surrounds it -------------------------

TEST(Digest, SameWhateverTheL2) {
  const uint64_t d = digest_of(fx::eth_ipv4_tcp);
  EXPECT_EQ(digest_of(fx::eth_vlan_ipv4_tcp), d);
  EXPECT_EQ(digest_of(fx::eth_qinq_ipv4_tcp), d);
  EXPECT_EQ(digest_of(fx::eth_9100_ipv4_tcp), d);
  EXPECT_EQ(digest_of(fx::sll_ipv4_tcp, LinkType::kLinuxSll), d);
  EXPECT_EQ(digest_of(fx::sll2_ipv4_tcp, LinkType::kLinuxSll2), d);
  EXPECT_EQ(digest_of(fx::raw_ipv4_tcp, LinkType::kRaw), d);
  EXPECT_EQ(digest_of(fx::raw_ipv4_tcp, LinkType::kIpv4), d);
}

TEST(Digest, SameAcrossARouterTtlChecksumDscpEcnAndEcnFlags) {
  EXPECT_EQ(digest_of(fx::eth_ipv4_tcp_routed), digest_of(fx::eth_ipv4_tcp));
}

TEST(Digest, SameWrappedInVxlanGeneveGre) {
  const uint64_t d = digest_of(fx::eth_ipv4_tcp);
  EXPECT_EQ(digest_of(fx::eth_ipv4_udp_vxlan_tcp), d);
  EXPECT_EQ(digest_of(fx::eth_ipv4_udp_vxlan_tcp_sport2), d);
  EXPECT_EQ(digest_of(fx::eth_ipv4_udp_vxlan_vlan_tcp), d);
  EXPECT_EQ(digest_of(fx::eth_ipv4_udp_geneve_tcp), d);
  EXPECT_EQ(digest_of(fx::eth_ipv4_udp_geneve_ip_tcp), d);
  EXPECT_EQ(digest_of(fx::eth_ipv4_gre_teb_tcp), d);
  // The innermost packet is what is hashed, so the IPIP tunnel copy matches too.
  EXPECT_EQ(digest_of(fx::eth_ipv4_ipip_tcp), d);
}

TEST(Digest, SameIpipPacketWithDifferentL2) {
  const uint64_t d = digest_of(fx::eth_ipv4_ipip_tcp);
  EXPECT_EQ(digest_of(fx::eth_vlan_ipv4_ipip_tcp), d);
  EXPECT_EQ(digest_of(fx::sll_ipv4_ipip_tcp, LinkType::kLinuxSll), d);
}

TEST(Digest, EthernetPaddingIsNotHashed) {
  EXPECT_EQ(digest_of(fx::eth_ipv4_tcp_syn_padded), digest_of(fx::eth_ipv4_tcp_syn_unpadded));
}

TEST(Digest, Ipv6HopLimitIsNotHashed) {
  EXPECT_EQ(digest_of(fx::sll_ipv6_tcp, LinkType::kLinuxSll), digest_of(fx::eth_ipv6_tcp));
}

TEST(Digest, GreTebIcmpMatchesPlainIcmp) {
  EXPECT_EQ(digest_of(fx::eth_ipv4_gre_teb_icmp), digest_of(fx::eth_ipv4_icmp));
}

TEST(Digest, DiffersWhenThePacketDiffers) {
  const uint64_t d = digest_of(fx::eth_ipv4_tcp);
  EXPECT_NE(digest_of(fx::eth_ipv4_tcp_other_id), d);
  EXPECT_NE(digest_of(fx::eth_ipv4_tcp_other_seq), d);
  EXPECT_NE(digest_of(fx::eth_ipv4_tcp_other_payload), d);
  // A difference after the first K bytes is not seen with the default K = 8 ...
  EXPECT_EQ(digest_of(fx::eth_ipv4_tcp_other_payload_late), d);
  // ... but is with K = 32.
  Options opt;
  opt.payload_bytes = 32;
  EXPECT_NE(parse_bytes(fx::eth_ipv4_tcp_other_payload_late, LinkType::kEthernet, opt).digest,
            parse_bytes(fx::eth_ipv4_tcp, LinkType::kEthernet, opt).digest);
}

TEST(Digest, DistinctAcrossFixtures) {
  // Different packets in the fixture set (apart from the known equal ones) hash differently.
  std::vector<std::pair<uint64_t, std::string_view>> seen;
  for (const auto* n : {"eth_ipv4_tcp", "eth_ipv4_udp_dns", "eth_ipv4_icmp", "eth_ipv6_tcp",
                        "eth_ipv4_sctp", "eth_ipv4_esp", "eth_ipv4_frag_later",
                        "eth_ipv4_frag_first_udp", "eth_ipv6_frag_later", "eth_ipv6_ext_frag_udp",
                        "eth_ipv4_options_udp", "eth_ipv4_icmp_unreach", "eth_ipv6_icmp6_echo",
                        "eth_ipv4_tcp_syn_padded", "raw_ipv6_udp"}) {
    const uint64_t d = digest_of(fixture(n), link_of(n));
    for (const auto& [other, on] : seen) EXPECT_NE(other, d) << n << " vs " << on;
    seen.emplace_back(d, n);
  }
}

TEST(Digest, KZeroStillHashesHeaders) {
  Options opt;
  opt.payload_bytes = 0;
  const Parsed a = parse_bytes(fx::eth_ipv4_tcp, LinkType::kEthernet, opt);
  const Parsed b = parse_bytes(fx::eth_ipv4_tcp_other_payload, LinkType::kEthernet, opt);
  EXPECT_EQ(a.status, Status::kOk);
  EXPECT_EQ(a.digest, b.digest);
  // Headers alone are enough with K = 0.
  EXPECT_EQ(parse_bytes(std::span<const uint8_t>(fx::eth_ipv4_tcp).first(54), LinkType::kEthernet,
                        opt)
                .status,
            Status::kOk);
}

// ---- truncation: every fixture cut at every length ----------------------------------------

TEST(Truncation, EveryCutOfEveryFixture) {
  for (const auto& f : fx::kAll) {
    const LinkType link = link_of(f.name);
    const Parsed full = parse_bytes(f.bytes, link);
    for (std::size_t len = 0; len < f.bytes.size(); ++len) {
      const Parsed p = parse_bytes(f.bytes.first(len), link);
      SCOPED_TRACE(std::string(f.name) + " cut at " + std::to_string(len));
      if (full.status != Status::kOk) {
        // A bad packet cut short is truncated, or still seen as what it is.
        EXPECT_TRUE(p.status == Status::kTruncated || p.status == full.status)
            << name(p.status);
        continue;
      }
      if (p.status == Status::kOk) {
        // Only when everything the digest needs was before the cut: same answer.
        EXPECT_EQ(p.digest, full.digest);
        EXPECT_EQ(stack_string(p), stack_string(full));
      } else {
        EXPECT_EQ(p.status, Status::kTruncated) << name(p.status);
        EXPECT_EQ(p.digest, 0u);
      }
    }
  }
}

// ---- chain hash, names ---------------------------------------------------------------------

TEST(Chain, EqualChainsHashEqual) {
  EXPECT_EQ(chain_hash(parse_bytes(fx::eth_ipv4_tcp)),
            chain_hash(parse_bytes(fx::eth_ipv4_tcp_other_seq)));
  EXPECT_NE(chain_hash(parse_bytes(fx::eth_ipv4_tcp)),
            chain_hash(parse_bytes(fx::eth_vlan_ipv4_tcp)));
  EXPECT_EQ(chain_hash(parse_bytes(fx::eth_ipv4_udp_vxlan_tcp)),
            chain_hash(parse_bytes(fx::eth_ipv4_udp_vxlan_tcp_sport2)));
  EXPECT_NE(chain_hash(parse_bytes(fx::eth_ipv4_ipip_tcp)),
            chain_hash(parse_bytes(fx::eth_ipv4_tcp)));
}

TEST(Names, ProtoNames) {
  EXPECT_EQ(proto_name(1), "ICMP");
  EXPECT_EQ(proto_name(2), "IGMP");
  EXPECT_EQ(proto_name(4), "IPIP");
  EXPECT_EQ(proto_name(6), "TCP");
  EXPECT_EQ(proto_name(17), "UDP");
  EXPECT_EQ(proto_name(41), "IPv6");
  EXPECT_EQ(proto_name(47), "GRE");
  EXPECT_EQ(proto_name(50), "ESP");
  EXPECT_EQ(proto_name(51), "AH");
  EXPECT_EQ(proto_name(58), "ICMPv6");
  EXPECT_EQ(proto_name(132), "SCTP");
  EXPECT_EQ(proto_name(99), "proto 99");
}

TEST(Names, StatusAndLayerNames) {
  EXPECT_EQ(name(Status::kOk), "ok");
  EXPECT_EQ(name(Status::kTruncated), "truncated");
  EXPECT_EQ(name(Status::kMalformed), "malformed");
  EXPECT_EQ(name(Status::kNotIp), "not_ip");
  EXPECT_EQ(name(Status::kTooDeep), "too_deep");
  EXPECT_EQ(name(Status::kUnsupportedLink), "unsupported_link");
  EXPECT_EQ(name(Proto::kQinQ), "qinq");
  EXPECT_EQ(name(Proto::kIcmp6), "icmp6");
  EXPECT_EQ(name(Proto::kOther), "data");
}

}  // namespace
}  // namespace pathtrace::packet
