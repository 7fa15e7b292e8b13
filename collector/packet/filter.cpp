// Filter aliases. The kernel text is a superset (it must pass every copy of a packet at every
// point: untagged, 802.1Q-tagged, and wrapped in any tunnel the parser opens); the predicate
// then decides exactly on the parsed layers, so every point keeps the same packets.
//
// All non-`vlan` terms come before the `vlan` term: in pcap-filter the first `vlan` keyword
// shifts the offsets of everything after it (pcap-filter(7)).

#include "collector/packet/filter.hpp"

#include <array>

namespace pathtrace::packet {
namespace {

// Every tunnel parse() opens, at the outermost layer.
#define PT_TUNNELS                                                                      \
  "ip proto 4 or ip proto 41 or ip proto 47 or ip6 proto 4 or ip6 proto 41 or "        \
  "ip6 proto 47 or udp dst port 4789 or udp dst port 6081"
// `X` untagged, or `X` behind one 802.1Q tag.
#define PT_TAGGED(X) "(" X ") or (vlan and (" X "))"

// True when any IP layer carries IP protocol `proto` (of IP version `version`, 0 = any).
bool any_ip_carries(const Parsed& p, uint8_t proto, uint8_t version = 0) noexcept {
  if (p.status != Status::kOk) return false;
  for (std::size_t i = 0; i < p.n_ip && i < kMaxIpLayers; ++i) {
    if (p.ip[i].proto == proto && (version == 0 || p.ip[i].version == version)) return true;
  }
  return false;
}

// The protocol the innermost IP layer carries, or -1 when there is none.
int innermost(const Parsed& p) noexcept {
  if (p.status != Status::kOk || p.n_ip == 0 || p.n_ip > kMaxIpLayers) return -1;
  return p.ip[p.n_ip - 1].proto;
}

bool has_layer(const Parsed& p, Proto proto) noexcept {
  if (p.status != Status::kOk) return false;
  for (std::size_t i = 0; i < p.n_layers && i < kMaxLayers; ++i) {
    if (p.layers[i] == proto) return true;
  }
  return false;
}

bool match_ipip(const Parsed& p) noexcept { return any_ip_carries(p, 4); }
bool match_6in4(const Parsed& p) noexcept { return any_ip_carries(p, 41, 4); }
bool match_gre(const Parsed& p) noexcept { return any_ip_carries(p, 47); }
bool match_esp(const Parsed& p) noexcept { return any_ip_carries(p, 50); }
bool match_vxlan(const Parsed& p) noexcept { return has_layer(p, Proto::kVxlan); }
bool match_geneve(const Parsed& p) noexcept { return has_layer(p, Proto::kGeneve); }
bool match_tcp(const Parsed& p) noexcept { return innermost(p) == 6; }
bool match_udp(const Parsed& p) noexcept { return innermost(p) == 17; }
bool match_icmp(const Parsed& p) noexcept {
  const int proto = innermost(p);
  return proto == 1 || proto == 58;
}

constexpr std::array<Alias, 10> kAliases{{
    {"ipip", "IPv4-in-IP (IP protocol 4) at any depth", PT_TAGGED(PT_TUNNELS), match_ipip},
    {"lvs", "LVS tunnel mode (IPIP director to real server): same as ipip",
     PT_TAGGED(PT_TUNNELS), match_ipip},
    {"gre", "GRE (IP protocol 47) at any depth", PT_TAGGED(PT_TUNNELS), match_gre},
    {"6in4", "IPv6-in-IPv4 (IPv4 carrying IP protocol 41) at any depth", PT_TAGGED(PT_TUNNELS),
     match_6in4},
    {"vxlan", "VXLAN (UDP port 4789) at any depth", PT_TAGGED(PT_TUNNELS), match_vxlan},
    {"geneve", "Geneve (UDP port 6081) at any depth", PT_TAGGED(PT_TUNNELS), match_geneve},
    {"tcp", "innermost packet is TCP", PT_TAGGED("tcp or " PT_TUNNELS), match_tcp},
    {"udp", "innermost packet is UDP", PT_TAGGED("udp or " PT_TUNNELS), match_udp},
    {"icmp", "innermost packet is ICMP or ICMPv6", PT_TAGGED("icmp or icmp6 or " PT_TUNNELS),
     match_icmp},
    {"esp", "IPsec ESP (IP protocol 50) at any depth",
     PT_TAGGED("ip proto 50 or ip6 proto 50 or " PT_TUNNELS), match_esp},
}};

#undef PT_TAGGED
#undef PT_TUNNELS

}  // namespace

std::span<const Alias> aliases() noexcept { return kAliases; }

const Alias* find_alias(std::string_view text) noexcept {
  for (const Alias& a : kAliases) {
    if (a.name == text) return &a;
  }
  return nullptr;
}

}  // namespace pathtrace::packet
