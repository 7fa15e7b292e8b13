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

// What the kernel cannot see through, so it must pass it up whatever the alias: every tunnel
// parse() opens, and IPv6 with extension headers (`ip6 proto N` reads only the first next
// header field).
#define PT_OPAQUE                                                                        \
  "ip proto 4 or ip proto 41 or ip proto 47 or ip6 proto 4 or ip6 proto 41 or "          \
  "ip6 proto 47 or udp dst port 4789 or udp dst port 6081 or ip6 proto 0 or "            \
  "ip6 proto 43 or ip6 proto 44 or ip6 proto 51 or ip6 proto 60"
// `X` untagged, behind one tag, or behind two (802.1ad + 802.1Q). Ethernet only: libpcap
// refuses `vlan` on Linux cooked and raw captures, which use the untagged text.
#define PT_TAGGED(X) "(" X ") or (vlan and ((" X ") or (vlan and (" X "))))"
// One alias row: both texts from the same untagged expression.
#define PT_ALIAS(NAME, DESC, X, MATCH) {NAME, DESC, PT_TAGGED(X), MATCH, X}

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
    PT_ALIAS("ipip", "IPv4-in-IP (IP protocol 4) at any depth", PT_OPAQUE, match_ipip),
    PT_ALIAS("lvs", "LVS tunnel mode (IPIP director to real server): same as ipip", PT_OPAQUE,
             match_ipip),
    PT_ALIAS("gre", "GRE (IP protocol 47) at any depth", PT_OPAQUE, match_gre),
    PT_ALIAS("6in4", "IPv6-in-IPv4 (IPv4 carrying IP protocol 41) at any depth", PT_OPAQUE,
             match_6in4),
    PT_ALIAS("vxlan", "VXLAN (UDP port 4789) at any depth", PT_OPAQUE, match_vxlan),
    PT_ALIAS("geneve", "Geneve (UDP port 6081) at any depth", PT_OPAQUE, match_geneve),
    PT_ALIAS("tcp", "innermost packet is TCP", "tcp or " PT_OPAQUE, match_tcp),
    PT_ALIAS("udp", "innermost packet is UDP", "udp or " PT_OPAQUE, match_udp),
    PT_ALIAS("icmp", "innermost packet is ICMP or ICMPv6", "icmp or icmp6 or " PT_OPAQUE,
             match_icmp),
    PT_ALIAS("esp", "IPsec ESP (IP protocol 50) at any depth",
             "ip proto 50 or ip6 proto 50 or " PT_OPAQUE, match_esp),
}};

#undef PT_ALIAS
#undef PT_TAGGED
#undef PT_OPAQUE

}  // namespace

std::span<const Alias> aliases() noexcept { return kAliases; }

std::string_view bpf_for(const Alias& alias, uint32_t linktype) noexcept {
  return linktype == static_cast<uint32_t>(LinkType::kEthernet) ? alias.bpf : alias.bpf_untagged;
}

std::string bpf_for_text(std::string_view text, uint32_t linktype) {
  if (text.empty() || linktype != static_cast<uint32_t>(LinkType::kEthernet)) return std::string(text);
  // Words of the expression (pcap-filter keywords are letters, digits, '_' and '-').
  auto word_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  for (std::size_t i = 0; i < text.size();) {
    if (!word_char(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && word_char(text[j])) ++j;
    const std::string_view w = text.substr(i, j - i);
    for (std::string_view k : {"vlan", "mpls", "pppoes", "geneve", "vxlan"})
      if (w == k) return std::string(text);
    i = j;
  }
  const std::string x(text);
  return "(" + x + ") or (vlan and ((" + x + ") or (vlan and (" + x + "))))";
}

const Alias* find_alias(std::string_view text) noexcept {
  for (const Alias& a : kAliases) {
    if (a.name == text) return &a;
  }
  return nullptr;
}

}  // namespace pathtrace::packet
