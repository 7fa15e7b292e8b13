#pragma once
// Packet parsing and the invariant digest: the library every other part builds on.
// No libpcap, no sockets, no allocation per packet, never throws on packet bytes.
//
//   frame bytes ──parse()──▶ Parsed { layer stack, one FlowKey per IP layer, digest }
//
// The digest identifies the same packet at every capture point: it hashes only what a
// bridged path does not change (innermost IP addresses, protocol, id, fragment, length,
// L4 invariants, the first K payload bytes) and none of what it may change (MACs, VLAN
// tags, TTL/hop limit, DSCP/ECN, checksums, tunnel headers added or removed on the way).
// It is two halves XORed (digest v2, docs/digest.md):
//
//   digest = H(innermost packet without its addresses and ports) ^ G(innermost FlowKey)
//
// so that translation_key() = H pairs a packet seen before and after a NAT hop.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pathtrace::packet {

// pcap/pcapng LINKTYPE_* values (not DLT_*): what a capture file's header says.
enum class LinkType : uint32_t {
  kEthernet = 1,
  kRaw = 101,        // raw IPv4 or IPv6, version from the first nibble
  kLinuxSll = 113,   // Linux cooked v1 (tcpdump -i any)
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276,  // Linux cooked v2
};

// True for the link types parse() understands.
bool is_supported(uint32_t linktype) noexcept;

// One header in the stack, outermost first. Names are what stack strings print.
enum class Proto : uint8_t {
  kEth,     // "eth"
  kVlan,    // "vlan"   802.1Q tag
  kQinQ,    // "qinq"   802.1ad service tag
  kSll,     // "sll"
  kSll2,    // "sll2"
  kIpv4,    // "ipv4"
  kIpv6,    // "ipv6"   (extension headers are part of this layer)
  kGre,     // "gre"
  kVxlan,   // "vxlan"
  kGeneve,  // "geneve"
  kTcp,     // "tcp"
  kUdp,     // "udp"
  kIcmp,    // "icmp"
  kIcmp6,   // "icmp6"
  kSctp,    // "sctp"
  kOther,   // "data": an IP payload of a protocol we do not decode (ESP, OSPF, ...)
};
std::string_view name(Proto p) noexcept;

// Why a packet could not be digested. Every discard is counted by reason per point.
enum class Status : uint8_t {
  kOk = 0,
  kTruncated,        // capture length ends inside a header or inside the K digest bytes
  kMalformed,        // a header field is impossible (bad version, IHL < 5, length < header...)
  kNotIp,            // no IP layer at all (ARP, LLDP, STP...)
  kTooDeep,          // more encapsulation than kMaxLayers / kMaxIpLayers
  kUnsupportedLink,  // the link type is not one parse() knows
};
constexpr std::size_t kStatusCount = 6;
std::string_view name(Status s) noexcept;  // "ok", "truncated", "malformed", "not_ip", "too_deep", "unsupported_link"

// Version of the digest definition. Digests of two versions never compare equal for the
// same packet: a run must use one. 1 = pathtrace 0.1.0 (one hash over addresses and all);
// 2 = H ^ G, with translation_key().
constexpr uint32_t kDigestVersion = 2;

constexpr std::size_t kMaxLayers = 16;
constexpr std::size_t kMaxIpLayers = 4;

// The directional key of one IP layer: addresses, the protocol it carries, ports where the
// carried protocol has them (TCP, UDP, SCTP). IPv4 addresses sit in the first 4 bytes.
// For UDP that carries VXLAN or Geneve the source port is zeroed (it is per-flow entropy
// that tunnel endpoints choose, not part of the tunnel's identity).
struct FlowKey {
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t version = 0;  // 4 or 6
  uint8_t proto = 0;    // IP protocol number of what this layer carries (4 = IPIP, 6 = TCP...)
  bool operator==(const FlowKey&) const = default;
};

// True when the key's destination is never forwarded past a router: IPv4 224.0.0.0/24 (local
// network control: IGMP, OSPF, VRRP, mDNS…) and 255.255.255.255; IPv6 ff00::/8 of interface-
// or link-local scope (ffx1::, ffx2::) and fe80::/10. Not 169.254.0.0/16: a VM's requests to
// the metadata service (169.254.169.254) cross the hypervisor to a router or DHCP namespace,
// and their loss on the way is one to find.
bool link_local_destination(const FlowKey& key) noexcept;

// "IPIP 198.51.100.7 → 203.0.113.20", "TCP 192.0.2.1:40000 → 203.0.113.20:80",
// "UDP [2001:db8::1]:53 → [2001:db8::2]:5353", "ICMP 192.0.2.1 → 203.0.113.20 id 4660" (an echo's
// identifier). Allocates: not for the hot path.
std::string to_string(const FlowKey& key);
// Protocol name for an IP protocol number: "ICMP", "IPIP", "TCP", "UDP", "GRE", "proto 99".
std::string proto_name(uint8_t ip_proto);

// Knobs of the parser. Defaults are what the design brief says.
struct Options {
  uint16_t vxlan_port = 4789;
  uint16_t geneve_port = 6081;
  uint8_t payload_bytes = 8;  // K: L4 payload bytes hashed into the digest (0..32)
};

// Everything parse() learns about one frame. Plain, fixed-size, reused across packets.
struct Parsed {
  Status status = Status::kOk;
  uint8_t n_layers = 0;
  std::array<Proto, kMaxLayers> layers{};
  uint8_t n_ip = 0;                             // IP layers, outermost first
  std::array<FlowKey, kMaxIpLayers> ip{};        // flow key of each IP layer
  std::array<uint16_t, kMaxIpLayers> ip_len{};   // IP total length (v6: 40 + payload length)
  std::array<uint8_t, kMaxIpLayers> ip_layer{};  // index into layers[] of each IP layer
  uint64_t digest = 0;     // valid when status == kOk
  uint16_t vlan_id = 0;    // outermost 802.1Q VID if any (informational, not in the digest)
  uint8_t tcp_flags = 0;   // innermost TCP flags without ECE/CWR (0 if not TCP)
  bool fragment = false;   // innermost IP packet is a fragment (offset > 0 or MF set)
};

// Parses one frame. `frame` is the captured bytes, `wire_len` the original length.
// Never throws, never allocates, never reads outside `frame`. Returns out.status;
// on anything but kOk the digest is 0 and the other fields hold what was parsed so far.
Status parse(std::span<const uint8_t> frame, uint32_t wire_len, LinkType link,
             const Options& opt, Parsed& out) noexcept;

// The layer stack as text, outermost first, e.g. "eth/vlan/ipv4[ipip]/ipv4/tcp".
// An IP layer that carries another IP layer directly is annotated [ipip] or [6in4]
// (or [4in6], [6in6]). Allocates: call it when interning a new chain, not per packet.
std::string stack_string(const Parsed& p);

// G, the address half of the digest: a hash of the innermost IP layer's flow key exactly as
// parse() puts it in Parsed::ip[n_ip - 1] — version, proto, sport, dport, src, dst (only the
// first 4 bytes of each address when version != 6). Any key is accepted; never fails.
uint64_t address_hash(const FlowKey& innermost) noexcept;

// H = digest ^ G: what is left of a digest without the innermost addresses and L4 ports.
// The same packet before and after a NAT hop (addresses and/or TCP/UDP/SCTP ports
// rewritten, checksums changed) has different digests and the same translation key.
// `innermost` must be the key of the digest's own packet (its chain's last IP layer);
// with any other key the result is meaningless, never an error. Digest v2 only.
uint64_t translation_key(uint64_t digest, const FlowKey& innermost) noexcept;

// A hash of the stack and every IP layer's flow key: equal chains hash equal. Cheap.
uint64_t chain_hash(const Parsed& p) noexcept;

}  // namespace pathtrace::packet
