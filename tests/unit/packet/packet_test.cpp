// Parser and digest tests over the inline wire bytes in fixtures.hpp.

#include "collector/packet/packet.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <string>
#include <utility>
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
    {"eth_ipv4_tcp_fip", Status::kOk, "eth/ipv4/tcp"},
    {"eth_ipv4_tcp_dnat", Status::kOk, "eth/ipv4/tcp"},
    {"eth_ipv4_udp_vxlan_tcp_dnat", Status::kOk, "eth/ipv4/udp/vxlan/eth/ipv4/tcp"},
    {"eth_ipv4_ipip_tcp_fip", Status::kOk, "eth/ipv4[ipip]/ipv4/tcp"},
    {"eth_ipv4_tcp_dnat_next", Status::kOk, "eth/ipv4/tcp"},
    {"eth_ipv4_udp_masq_before", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_udp_masq_after", Status::kOk, "eth/ipv4/udp"},
    {"eth_ipv4_icmp_snat", Status::kOk, "eth/ipv4/icmp"},
    {"eth_ipv4_icmp_snat_id", Status::kOk, "eth/ipv4/icmp"},
    {"eth_ipv6_tcp_nat66", Status::kOk, "eth/ipv6/tcp"},
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
  // An echo's identifier (0x4242) is its flow key's "port", both ends.
  EXPECT_EQ(to_string(parse_bytes(fx::eth_ipv4_icmp).ip[0]), "ICMP 192.0.2.1 \u2192 203.0.113.20 id 16962");
  EXPECT_EQ(to_string(parse_bytes(fx::eth_ipv4_icmp_unreach).ip[0]).find(" id "), std::string::npos);
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

// ---- digest v2: H ^ G, and the translation key H -----------------------------------------

// The translation key of a fixture, from its digest and innermost flow key, as the
// correlator computes it (it has the digest from a record and the key from the CHAIN frame).
uint64_t tkey_of(std::span<const uint8_t> b, LinkType link = LinkType::kEthernet) {
  const Parsed p = parse_bytes(b, link);
  EXPECT_EQ(p.status, Status::kOk) << name(p.status);
  return translation_key(p.digest, p.ip[p.n_ip - 1]);
}

TEST(Digest, IsTheTranslationKeyXorTheAddressHashForEveryFixture) {
  for (const auto& f : fx::kAll) {
    const Parsed p = parse_bytes(f.bytes, link_of(f.name));
    if (p.status != Status::kOk) continue;
    SCOPED_TRACE(f.name);
    const FlowKey& inner = p.ip[p.n_ip - 1];
    EXPECT_EQ(translation_key(p.digest, inner) ^ address_hash(inner), p.digest);
    EXPECT_NE(translation_key(p.digest, inner), p.digest);
  }
}

TEST(Digest, DnatChangesTheDigestAndKeepsTheTranslationKey) {
  // The same TCP segment before a floating-IP DNAT (to 198.18.0.10:80) and after it (to
  // 10.0.0.5:8080): destination address and port rewritten, IP and TCP checksums recomputed,
  // TTL decremented, other MACs.
  const Parsed before = parse_bytes(fx::eth_ipv4_tcp_fip);
  const Parsed after = parse_bytes(fx::eth_ipv4_tcp_dnat);
  ASSERT_EQ(before.status, Status::kOk);
  ASSERT_EQ(after.status, Status::kOk);
  EXPECT_EQ(to_string(before.ip[0]), "TCP 192.0.2.1:40000 \u2192 198.18.0.10:80");
  EXPECT_EQ(to_string(after.ip[0]), "TCP 192.0.2.1:40000 \u2192 10.0.0.5:8080");
  EXPECT_NE(before.digest, after.digest);
  EXPECT_NE(address_hash(before.ip[0]), address_hash(after.ip[0]));
  EXPECT_EQ(translation_key(before.digest, before.ip[0]), translation_key(after.digest, after.ip[0]));
  // The next segment of the connection pairs with nothing above.
  EXPECT_NE(tkey_of(fx::eth_ipv4_tcp_dnat_next), tkey_of(fx::eth_ipv4_tcp_fip));
}

TEST(Digest, SnatWithPortRewriteKeepsTheTranslationKey) {
  EXPECT_NE(digest_of(fx::eth_ipv4_udp_masq_before), digest_of(fx::eth_ipv4_udp_masq_after));
  EXPECT_EQ(tkey_of(fx::eth_ipv4_udp_masq_before), tkey_of(fx::eth_ipv4_udp_masq_after));
  EXPECT_NE(digest_of(fx::eth_ipv6_tcp), digest_of(fx::eth_ipv6_tcp_nat66));
  EXPECT_EQ(tkey_of(fx::eth_ipv6_tcp), tkey_of(fx::eth_ipv6_tcp_nat66));
}

TEST(Digest, TunnelledCopiesAcrossADnatFollowTodaysRules) {
  // Wrapped after the DNAT (VXLAN to the compute node): the same digest as the bare
  // translated packet; wrapped before it (IPIP): the same digest as the bare original.
  EXPECT_EQ(digest_of(fx::eth_ipv4_udp_vxlan_tcp_dnat), digest_of(fx::eth_ipv4_tcp_dnat));
  EXPECT_EQ(digest_of(fx::eth_ipv4_ipip_tcp_fip), digest_of(fx::eth_ipv4_tcp_fip));
  // And all four pair across the translation.
  const uint64_t h = tkey_of(fx::eth_ipv4_tcp_fip);
  EXPECT_EQ(tkey_of(fx::eth_ipv4_udp_vxlan_tcp_dnat), h);
  EXPECT_EQ(tkey_of(fx::eth_ipv4_ipip_tcp_fip), h);
  EXPECT_EQ(tkey_of(fx::eth_ipv4_tcp_dnat), h);
}

TEST(Digest, IcmpEchoPairsAcrossSnatEvenWhenItsIdentifierIsRewritten) {
  EXPECT_NE(digest_of(fx::eth_ipv4_icmp_snat), digest_of(fx::eth_ipv4_icmp));
  EXPECT_EQ(tkey_of(fx::eth_ipv4_icmp_snat), tkey_of(fx::eth_ipv4_icmp));
  // The echo identifier is in the flow key (G), like a port: a NAT that rewrites it (SNAT
  // --random-fully, to tell two hosts' pings apart) leaves the translation key alone.
  EXPECT_NE(digest_of(fx::eth_ipv4_icmp_snat_id), digest_of(fx::eth_ipv4_icmp_snat));
  EXPECT_EQ(tkey_of(fx::eth_ipv4_icmp_snat_id), tkey_of(fx::eth_ipv4_icmp));
  // Two pings between the same hosts are two flows.
  EXPECT_NE(parse_bytes(fx::eth_ipv4_icmp_snat_id).ip[0].sport, parse_bytes(fx::eth_ipv4_icmp_snat).ip[0].sport);
}

TEST(Digest, TranslationKeyStillTellsPacketsApart) {
  // H keeps everything but addresses and ports: other id, seq, payload, length, protocol,
  // IP version differ.
  std::vector<std::pair<uint64_t, std::string_view>> seen;
  for (const auto* n : {"eth_ipv4_tcp", "eth_ipv4_tcp_other_id", "eth_ipv4_tcp_other_seq",
                        "eth_ipv4_tcp_other_payload", "eth_ipv4_tcp_syn_padded", "eth_ipv4_udp_dns",
                        "eth_ipv4_icmp", "eth_ipv4_icmp_unreach", "eth_ipv6_tcp", "eth_ipv4_sctp",
                        "eth_ipv4_esp", "eth_ipv4_frag_later", "eth_ipv4_frag_first_udp",
                        "eth_ipv6_frag_later", "eth_ipv6_ext_frag_udp", "eth_ipv4_tcp_fip",
                        "eth_ipv4_tcp_dnat_next", "eth_ipv4_udp_masq_before"}) {
    const uint64_t h = tkey_of(fixture(n), link_of(n));
    for (const auto& [other, on] : seen) EXPECT_NE(other, h) << n << " vs " << on;
    seen.emplace_back(h, n);
  }
}

TEST(Digest, AddressHashCoversEveryFieldOfTheKeyAndNothingElse) {
  const Parsed p = parse_bytes(fx::eth_ipv4_tcp);
  const FlowKey k = p.ip[0];
  const uint64_t g = address_hash(k);
  // IPv4: only the first 4 bytes of each address count.
  FlowKey pad = k;
  pad.src[7] = 0x99;
  pad.dst[15] = 0x42;
  EXPECT_EQ(address_hash(pad), g);
  auto differs = [&](auto change) {
    FlowKey m = k;
    change(m);
    return address_hash(m) != g;
  };
  EXPECT_TRUE(differs([](FlowKey& m) { m.src[3] ^= 1; }));
  EXPECT_TRUE(differs([](FlowKey& m) { m.dst[0] ^= 1; }));
  EXPECT_TRUE(differs([](FlowKey& m) { ++m.sport; }));
  EXPECT_TRUE(differs([](FlowKey& m) { ++m.dport; }));
  EXPECT_TRUE(differs([](FlowKey& m) { m.proto = 17; }));
  EXPECT_TRUE(differs([](FlowKey& m) { std::swap(m.sport, m.dport); }));
  EXPECT_TRUE(differs([](FlowKey& m) { std::swap(m.src, m.dst); }));
  // IPv6: all 16 bytes.
  const FlowKey k6 = parse_bytes(fx::eth_ipv6_tcp).ip[0];
  FlowKey m6 = k6;
  m6.src[15] ^= 1;
  EXPECT_NE(address_hash(m6), address_hash(k6));
  m6 = k6;
  m6.dst[4] ^= 1;
  EXPECT_NE(address_hash(m6), address_hash(k6));
}

// The documented blocks (docs/digest.md), built by hand, hashed with plain XXH3: what another
// implementation (a script reading a capture) would do.
uint64_t xxh3(const std::vector<uint8_t>& b, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(b.data(), b.size(), seed);
}
constexpr uint64_t kSeedG = 0x9e3779b97f4a7c15ull;

TEST(Digest, IsXxh3OfTheDocumentedBlocks) {
  const std::vector<uint8_t> get_ht = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T'};
  // eth_ipv4_tcp: 192.0.2.1:40000 → 203.0.113.20:80, ID 0x1234, DF, total length 67,
  // seq 0x01020304, ack 0x0a0b0c0d, PSH|ACK, payload "GET / HTTP/1.1...".
  std::vector<uint8_t> h = {4, 6, 0x18, 0, 0, 8, 0x40, 0x00,      // word 0
                            0x12, 0x34, 0, 0, 0x00, 0x43, 0, 0,   // word 1
                            1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d};  // word 2
  h.insert(h.end(), get_ht.begin(), get_ht.end());
  const std::vector<uint8_t> g = {4, 6, 0x9c, 0x40, 0x00, 0x50, 0, 0, 192, 0, 2, 1, 203, 0, 113, 20};
  const Parsed p = parse_bytes(fx::eth_ipv4_tcp);
  EXPECT_EQ(address_hash(p.ip[0]), xxh3(g, kSeedG));
  EXPECT_EQ(translation_key(p.digest, p.ip[0]), xxh3(h));
  EXPECT_EQ(p.digest, xxh3(h) ^ xxh3(g, kSeedG));
  // eth_ipv6_tcp: [2001:db8::1]:40001 → [2001:db8::2]:443, payload length 47, no fragment header.
  std::vector<uint8_t> h6 = {6, 6, 0x18, 0, 0, 8, 0, 0,  0, 0, 0, 0, 0x00, 0x2f, 0, 0,
                             1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d};
  h6.insert(h6.end(), get_ht.begin(), get_ht.end());
  const std::vector<uint8_t> g6 = {6, 6, 0x9c, 0x41, 0x01, 0xbb, 0, 0,
                                   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                                   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(parse_bytes(fx::eth_ipv6_tcp).digest, xxh3(h6) ^ xxh3(g6, kSeedG));
  // eth_ipv4_icmp: echo request, ID 0x1234, sequence 7 in word 2, identifier 0x4242 in G as
  // both ports.
  std::vector<uint8_t> hi = {4, 1, 0, 8, 0, 8, 0x40, 0x00,  0x12, 0x34, 0, 0, 0x00, 0x3c, 0, 0,
                             0x00, 0x07, 0, 0, 0, 0, 0, 0,
                             0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17};
  const std::vector<uint8_t> gi = {4, 1, 0x42, 0x42, 0x42, 0x42, 0, 0, 192, 0, 2, 1, 203, 0, 113, 20};
  EXPECT_EQ(parse_bytes(fx::eth_ipv4_icmp).digest, xxh3(hi) ^ xxh3(gi, kSeedG));
}

// The same values as numbers: the v2 definition may not drift.
constexpr uint64_t kPinnedDigest = 0x2e8fd1b5acc88823;
constexpr uint64_t kPinnedTranslationKey = 0x1dd814ca4e4dda9b;
constexpr uint64_t kPinnedDigest6 = 0x487bf52dfc12504f;

TEST(Digest, VersionTwoValuesArePinned) {
  // If this fails the digest definition changed: digests of two builds no longer match for
  // the same packet. Bump kDigestVersion (and docs/digest.md) rather than the numbers.
  EXPECT_EQ(kDigestVersion, 2u);
  const Parsed p = parse_bytes(fx::eth_ipv4_tcp);
  EXPECT_EQ(p.digest, kPinnedDigest);
  EXPECT_EQ(translation_key(p.digest, p.ip[0]), kPinnedTranslationKey);
  const Parsed p6 = parse_bytes(fx::eth_ipv6_tcp);
  EXPECT_EQ(p6.digest, kPinnedDigest6);
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

// The chain hash is XXH3 of the chain packed one field at a time: the layer count, the IP
// layer count, the layer codes, then per IP layer src, dst (16 bytes each), sport and dport
// (big-endian), version, proto. However chain_hash() builds those bytes, they must stay the
// same: a run's stacks are numbered in chain_hash order.
uint64_t packed_chain_hash(const Parsed& p) {
  std::vector<uint8_t> b{p.n_layers, p.n_ip};
  for (std::size_t i = 0; i < p.n_layers; ++i) b.push_back(static_cast<uint8_t>(p.layers[i]));
  for (std::size_t i = 0; i < p.n_ip; ++i) {
    const FlowKey& k = p.ip[i];
    b.insert(b.end(), k.src.begin(), k.src.end());
    b.insert(b.end(), k.dst.begin(), k.dst.end());
    for (const uint16_t port : {k.sport, k.dport}) {
      b.push_back(static_cast<uint8_t>(port >> 8));
      b.push_back(static_cast<uint8_t>(port));
    }
    b.push_back(k.version);
    b.push_back(k.proto);
  }
  return XXH3_64bits(b.data(), b.size());
}

TEST(Chain, HashIsXxh3OfTheChainPackedFieldByField) {
  Parsed p;  // reused, as a collector reuses it: what a deeper packet left behind must not count
  for (const LinkType link : {LinkType::kEthernet, LinkType::kLinuxSll, LinkType::kRaw}) {
    for (const auto& f : fx::kAll) {
      parse(f.bytes, static_cast<uint32_t>(f.bytes.size()), link, Options{}, p);
      EXPECT_EQ(chain_hash(p), packed_chain_hash(p)) << f.name << " (" << unsigned(p.n_layers) << " layers)";
    }
  }
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

TEST(FlowKey, LinkLocalDestinations) {
  auto key = [](const char* dst) {
    FlowKey k;
    k.version = std::string_view(dst).find(':') != std::string_view::npos ? 6 : 4;
    EXPECT_EQ(inet_pton(k.version == 6 ? AF_INET6 : AF_INET, dst, k.dst.data()), 1) << dst;
    return k;
  };
  for (const char* d : {"224.0.0.22", "224.0.0.251", "224.0.0.1", "255.255.255.255", "ff02::1", "ff02::fb", "ff01::1",
                        "ff12::1:2", "fe80::1", "febf::1"})
    EXPECT_TRUE(link_local_destination(key(d))) << d;
  // Routed: other multicast scopes, unicast, and 169.254.169.254 (the metadata service a VM's
  // requests reach across the hypervisor).
  for (const char* d : {"224.0.1.1", "239.1.2.3", "198.18.0.1", "169.254.169.254", "192.0.2.255", "ff05::2", "ff0e::1",
                        "2001:db8::1", "fec0::1"})
    EXPECT_FALSE(link_local_destination(key(d))) << d;
  EXPECT_FALSE(link_local_destination(FlowKey{})) << "no version";
}

}  // namespace
}  // namespace pathtrace::packet
