// Packet parsing and the invariant digest. See docs/digest.md for what is hashed and why.
//
// One pass, outermost header first, through one bounds-checked Reader. Every IP layer
// restarts the digest block, so when the chain ends the block describes the innermost IP
// packet. Two ends are tracked: the capture end (Reader::size, snaplen) and the logical end
// of the current IP packet (its length field). Needing bytes past the capture end is
// kTruncated; a header that does not fit its IP packet's own length is kMalformed.

#include "collector/packet/packet.hpp"

#include <arpa/inet.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

// Inline XXH3: the digest and chain hash inputs are a few dozen bytes, where the call into
// libxxhash (PLT + length dispatch) costs as much as the hashing.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "collector/packet/reader.hpp"

namespace pathtrace::packet {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88a8;
constexpr uint16_t kEtherQinQOld = 0x9100;
constexpr uint16_t kEtherTeb = 0x6558;  // transparent Ethernet bridging (GRE, Geneve)

constexpr uint8_t kIpProtoHopOpts = 0;
constexpr uint8_t kIpProtoIcmp = 1;
constexpr uint8_t kIpProtoIpip = 4;
constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;
constexpr uint8_t kIpProtoIpv6 = 41;
constexpr uint8_t kIpProtoRouting = 43;
constexpr uint8_t kIpProtoFragment = 44;
constexpr uint8_t kIpProtoGre = 47;
constexpr uint8_t kIpProtoAh = 51;
constexpr uint8_t kIpProtoIcmp6 = 58;
constexpr uint8_t kIpProtoDstOpts = 60;
constexpr uint8_t kIpProtoSctp = 132;

constexpr std::size_t kMaxExtHeaders = 8;  // IPv6 extension headers per IP layer
constexpr std::size_t kMaxPayloadBytes = 32;
constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

// H, the digest's address-independent half: everything the digest covers except what G
// covers (the innermost flow key: addresses, ports). A block of three 64-bit words and the
// payload bytes, every field in wire byte order so every host computes the same value:
//
//   word 0  version · proto · TCP flags & 0x3f · ICMP type · ICMP code · payload length · fragment (2)
//   word 1  identification (IPv4: 2 bytes + 2 zero; IPv6 fragment header: 4) · IP length (2) · UDP length (2)
//   word 2  the L4 sequence word, by protocol (word 0 says which):
//           TCP sequence (4) · acknowledgement (4); ICMP echo sequence (2) · 0 (6) (its identifier
//           is in the flow key, G, like a port);
//           SCTP verification tag (4) · 0 (4); otherwise 0
//   then    the first K payload bytes (24 + 8 = 32 bytes in all with the default K: XXH3's
//           two-multiply path)
//
// The parser keeps the words in 64-bit members (numbers whose little-endian bytes
// are the block's bytes) and writes them out whole in finish(): XXH3 reads its input as
// 64-bit words, and a block written byte by byte stalls on store forwarding when it does.
constexpr std::size_t kDigestWords = 3;
constexpr std::size_t kDigestFixed = kDigestWords * 8;

// Seeds keep the two halves apart: a G block that happened to equal an H block must not
// cancel out to a digest of 0.
constexpr uint64_t kSeedH = 0;
constexpr uint64_t kSeedG = 0x9e3779b97f4a7c15ull;

// Little-endian loads and stores of whole words: XXH3 reads its input as little-endian
// 64-bit words, so a block written word by word here is read back without a trip through
// memory (a block written byte by byte and read as words stalls on store forwarding).
inline uint32_t load_le32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
// Two bytes at `p` as the low half of a little-endian word (their order kept).
inline uint64_t load_le16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, 2);
  if constexpr (std::endian::native == std::endian::big) v = static_cast<uint16_t>((v >> 8) | (v << 8));
  return v;
}
inline void store_le64(uint8_t* p, uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
// Two bytes in wire order (big-endian `v`), as the low half of a little-endian word.
inline uint64_t wire16(uint16_t v) noexcept {
  return static_cast<uint64_t>(static_cast<uint16_t>((v >> 8) | (v << 8)));
}

// G: the innermost flow key in wire order, 8 bytes of version, proto, sport, dport and two
// zero bytes, then src and dst: 4 bytes each for IPv4 (16 in all), 16 each for IPv6 (40).
inline uint64_t flow_key_word(const FlowKey& k) noexcept {
  return uint64_t{k.version} | uint64_t{k.proto} << 8 | wire16(k.sport) << 16 | wire16(k.dport) << 32;
}
// IPv6 out of line: inlined, its four multiplies crowd parse()'s registers (the IPv4 path
// measured about 1 ns faster per packet with it out).
[[gnu::noinline]] uint64_t hash_flow_key6(const FlowKey& k) noexcept {
  alignas(8) uint8_t b[8 + 32];
  store_le64(b, flow_key_word(k));
  std::memcpy(b + 8, k.src.data(), 16);
  std::memcpy(b + 24, k.dst.data(), 16);
  return XXH3_64bits_withSeed(b, 40, kSeedG);
}
inline uint64_t hash_flow_key(const FlowKey& k) noexcept {
  if (k.version == 6) return hash_flow_key6(k);
  alignas(8) uint8_t b[16];
  store_le64(b, flow_key_word(k));
  store_le64(b + 8, uint64_t{load_le32(k.src.data())} | uint64_t{load_le32(k.dst.data())} << 32);
  return XXH3_64bits_withSeed(b, 16, kSeedG);
}

class Parser {
 public:
  Parser(std::span<const uint8_t> frame, const Options& opt, Parsed& out) noexcept
      : r_(frame.data(), frame.size()), opt_(opt), out_(out) {}

  Status run(LinkType link) noexcept {
    Status s = link_layer(link);
    if (s != Status::kOk) return s;
    if (out_.n_ip == 0) return Status::kNotIp;
    return finish();
  }

 private:
  bool push(Proto p) noexcept {
    if (out_.n_layers >= kMaxLayers) return false;
    out_.layers[out_.n_layers++] = p;
    return true;
  }

  Status link_layer(LinkType link) noexcept {
    switch (link) {
      case LinkType::kEthernet:
        return ethernet(kNoLimit);
      case LinkType::kLinuxSll: {
        uint16_t type = 0;
        if (!r_.skip(14) || !r_.read_be16(type)) return Status::kTruncated;
        push(Proto::kSll);
        return ethertype(type, kNoLimit);
      }
      case LinkType::kLinuxSll2: {
        uint16_t type = 0;
        if (!r_.read_be16(type) || !r_.skip(18)) return Status::kTruncated;
        push(Proto::kSll2);
        return ethertype(type, kNoLimit);
      }
      case LinkType::kRaw: {
        if (!r_.can_read(1)) return Status::kTruncated;
        const uint8_t v = *r_.here() >> 4;
        if (v == 4) return ipv4(kNoLimit);
        if (v == 6) return ipv6(kNoLimit);
        return Status::kMalformed;
      }
      case LinkType::kIpv4:
        return ipv4(kNoLimit);
      case LinkType::kIpv6:
        return ipv6(kNoLimit);
    }
    return Status::kUnsupportedLink;
  }

  // Ethernet header (outer or inside a tunnel), then tags, then the ethertype.
  // `limit` is the logical end of the enclosing IP packet (kNoLimit at the outermost).
  Status ethernet(std::size_t limit) noexcept {
    if (r_.pos() + 14 > limit) return Status::kMalformed;  // does not fit its tunnel packet
    uint16_t type = 0;
    if (!r_.skip(12) || !r_.read_be16(type)) return Status::kTruncated;
    if (!push(Proto::kEth)) return Status::kTooDeep;
    return ethertype(type, limit);
  }

  Status ethertype(uint16_t type, std::size_t limit) noexcept {
    while (type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld) {
      const Proto tag = type == kEtherVlan ? Proto::kVlan : Proto::kQinQ;
      if (r_.pos() + 4 > limit) return Status::kMalformed;
      uint16_t tci = 0;
      if (!r_.read_be16(tci) || !r_.read_be16(type)) return Status::kTruncated;
      if (!push(tag)) return Status::kTooDeep;
      if (!seen_vlan_) {
        out_.vlan_id = tci & 0x0fff;
        seen_vlan_ = true;
      }
    }
    if (type == kEtherIpv4) return ipv4(limit);
    if (type == kEtherIpv6) return ipv6(limit);
    // Not IP: fine inside a tunnel (the tunnel packet is then the innermost IP packet).
    return out_.n_ip == 0 ? Status::kNotIp : Status::kOk;
  }

  // Starts a new IP layer: its flow key and a fresh digest block. Returns the key, or null
  // when the layer is one too many. (Locals, not members, across the byte stores: a store
  // through a uint8_t pointer may alias anything, `this` included, and would make the compiler
  // reload out_ and ip_ after each one.)
  FlowKey* begin_ip(Proto p, uint8_t version) noexcept {
    Parsed& out = out_;
    if (out.n_ip >= kMaxIpLayers) return nullptr;
    if (!push(p)) return nullptr;
    const uint8_t ip = out.n_ip++;
    ip_ = ip;
    out.ip_layer[ip] = static_cast<uint8_t>(out.n_layers - 1);
    FlowKey* key = &out.ip[ip];
    *key = FlowKey{};
    key->version = version;
    h_[0] = version;
    h_[1] = h_[2] = 0;
    out.tcp_flags = 0;
    out.fragment = false;
    return key;
  }

  Status ipv4(std::size_t limit) noexcept {
    const std::size_t start = r_.pos();
    if (!r_.can_read(20)) return Status::kTruncated;
    const uint8_t* h = r_.here();
    if ((h[0] >> 4) != 4) return Status::kMalformed;
    const std::size_t ihl = std::size_t{h[0] & 0x0fu} * 4;
    const std::size_t total = (std::size_t{h[2]} << 8) | h[3];
    if (ihl < 20 || total < ihl) return Status::kMalformed;
    if (limit != kNoLimit && start + total > limit) return Status::kMalformed;
    FlowKey* const k = begin_ip(Proto::kIpv4, 4);
    if (!k) return Status::kTooDeep;
    FlowKey& key = *k;
    std::memcpy(key.src.data(), h + 12, 4);
    std::memcpy(key.dst.data(), h + 16, 4);
    key.proto = h[9];
    out_.ip_len[ip_] = static_cast<uint16_t>(total);
    h_[0] |= uint64_t{h[9]} << 8 | load_le16(h + 6) << 48;  // proto, flags + fragment offset
    h_[1] = load_le16(h + 4) | load_le16(h + 2) << 32;      // identification, total length
    const uint16_t frag = static_cast<uint16_t>((h[6] << 8) | h[7]);
    const bool more = (frag & 0x2000) != 0;
    const bool later = (frag & 0x1fff) != 0;
    out_.fragment = more || later;
    if (!r_.skip(ihl)) return Status::kTruncated;
    return ip_payload(h[9], start + total, later, more || later);
  }

  Status ipv6(std::size_t limit) noexcept {
    const std::size_t start = r_.pos();
    if (!r_.can_read(40)) return Status::kTruncated;
    const uint8_t* h = r_.here();
    if ((h[0] >> 4) != 6) return Status::kMalformed;
    const std::size_t plen = (std::size_t{h[4]} << 8) | h[5];
    const std::size_t end = start + 40 + plen;
    if (limit != kNoLimit && end > limit) return Status::kMalformed;
    FlowKey* const k = begin_ip(Proto::kIpv6, 6);
    if (!k) return Status::kTooDeep;
    FlowKey& key = *k;
    std::memcpy(key.src.data(), h + 8, 16);
    std::memcpy(key.dst.data(), h + 24, 16);
    out_.ip_len[ip_] = static_cast<uint16_t>(plen + 40 > 0xffff ? 0xffff : plen + 40);
    h_[1] = load_le16(h + 4) << 32;  // payload length
    uint8_t nh = h[6];
    r_.skip(40);
    bool later = false;
    bool fragment = false;
    for (std::size_t n = 0;; ++n) {
      std::size_t len = 0;
      if (nh == kIpProtoHopOpts || nh == kIpProtoRouting || nh == kIpProtoDstOpts ||
          nh == kIpProtoAh) {
        if (r_.pos() + 2 > end) return Status::kMalformed;
        if (!r_.can_read(2)) return Status::kTruncated;
        const uint8_t* e = r_.here();
        len = nh == kIpProtoAh ? (std::size_t{e[1]} + 2) * 4 : (std::size_t{e[1]} + 1) * 8;
        if (r_.pos() + len > end) return Status::kMalformed;
        if (!r_.can_read(len)) return Status::kTruncated;
        nh = e[0];
      } else if (nh == kIpProtoFragment) {
        len = 8;
        if (r_.pos() + len > end) return Status::kMalformed;
        if (!r_.can_read(len)) return Status::kTruncated;
        const uint8_t* e = r_.here();
        nh = e[0];
        const uint16_t off = static_cast<uint16_t>((e[2] << 8) | e[3]);
        h_[0] = (h_[0] & ~(0xffffull << 48)) | load_le16(e + 2) << 48;  // offset + M
        h_[1] = (h_[1] & ~0xffffffffull) | load_le32(e + 4);            // identification
        later = (off & 0xfff8) != 0;
        fragment = later || (off & 1) != 0;
      } else {
        break;
      }
      if (n >= kMaxExtHeaders) return Status::kTooDeep;
      r_.skip(len);
    }
    key.proto = nh;
    h_[0] |= uint64_t{nh} << 8;
    out_.fragment = fragment;
    return ip_payload(nh, end, later, fragment);
  }

  // The cursor is at the IP payload; `end` is the logical end of this IP packet.
  Status ip_payload(uint8_t proto, std::size_t end, bool later_fragment, bool fragment) noexcept {
    payload_off_ = r_.pos();
    payload_end_ = end;
    if (later_fragment) return push(Proto::kOther) ? Status::kOk : Status::kTooDeep;
    // A fragment's tunnel payload is incomplete: never descend into it.
    if (!fragment) {
      if (proto == kIpProtoIpip) return ipv4(end);
      if (proto == kIpProtoIpv6) return ipv6(end);
      if (proto == kIpProtoGre) return gre(end);
    }
    switch (proto) {
      case kIpProtoTcp:
        return tcp(end, fragment);
      case kIpProtoUdp:
        return udp(end, fragment);
      case kIpProtoIcmp:
        return icmp(end, fragment, Proto::kIcmp, 8, 0);
      case kIpProtoIcmp6:
        return icmp(end, fragment, Proto::kIcmp6, 128, 129);
      case kIpProtoSctp:
        return sctp(end, fragment);
      default:
        return push(Proto::kOther) ? Status::kOk : Status::kTooDeep;
    }
  }

  // Checks that an L4 header of `len` bytes fits its IP packet and the capture.
  Status l4_fits(std::size_t len, std::size_t end) const noexcept {
    if (r_.pos() + len > end) return Status::kMalformed;
    if (!r_.can_read(len)) return Status::kTruncated;
    return Status::kOk;
  }

  Status tcp(std::size_t end, bool /*fragment*/) noexcept {
    if (Status s = l4_fits(20, end); s != Status::kOk) return s;
    const uint8_t* h = r_.here();
    const std::size_t hl = (std::size_t{h[12]} >> 4) * 4;
    if (hl < 20) return Status::kMalformed;
    if (Status s = l4_fits(hl, end); s != Status::kOk) return s;
    if (!push(Proto::kTcp)) return Status::kTooDeep;
    set_ports(h);
    const uint8_t flags = h[13] & 0x3f;
    h_[0] |= uint64_t{flags} << 16;
    h_[2] = load_le32(h + 4) | uint64_t{load_le32(h + 8)} << 32;  // seq, ack
    out_.tcp_flags = flags;
    r_.skip(hl);
    payload_off_ = r_.pos();
    return Status::kOk;
  }

  Status udp(std::size_t end, bool fragment) noexcept {
    if (Status s = l4_fits(8, end); s != Status::kOk) return s;
    const uint8_t* h = r_.here();
    const std::size_t ulen = (std::size_t{h[4]} << 8) | h[5];
    if (ulen < 8) return Status::kMalformed;
    if (!fragment && r_.pos() + ulen > end) return Status::kMalformed;
    if (!push(Proto::kUdp)) return Status::kTooDeep;
    set_ports(h);
    h_[1] |= load_le16(h + 4) << 48;  // UDP length
    r_.skip(8);
    payload_off_ = r_.pos();
    if (fragment) return Status::kOk;
    const uint16_t dport = static_cast<uint16_t>((h[2] << 8) | h[3]);
    if (dport == opt_.vxlan_port) return vxlan(end);
    if (dport == opt_.geneve_port) return geneve(end);
    return Status::kOk;
  }

  // The UDP layer just parsed carries a tunnel: its source port is entropy, not identity.
  void tunnel_source_port() noexcept {
    out_.ip[ip_].sport = 0;
  }

  Status vxlan(std::size_t end) noexcept {
    if (r_.pos() + 8 > end) return Status::kOk;  // too short to be VXLAN: plain UDP
    if (Status s = l4_fits(8, end); s != Status::kOk) return s;
    if ((r_.here()[0] & 0x08) == 0) return Status::kOk;  // I flag clear: not VXLAN, plain UDP
    tunnel_source_port();
    if (!push(Proto::kVxlan)) return Status::kTooDeep;
    r_.skip(8);
    return ethernet(end);
  }

  Status geneve(std::size_t end) noexcept {
    if (r_.pos() + 8 > end) return Status::kOk;  // too short to be Geneve: plain UDP
    if (Status s = l4_fits(8, end); s != Status::kOk) return s;
    const uint8_t* h = r_.here();
    if ((h[0] >> 6) != 0) return Status::kOk;  // unknown version: leave it as plain UDP
    const std::size_t hl = 8 + std::size_t{h[0] & 0x3fu} * 4;
    if (Status s = l4_fits(hl, end); s != Status::kOk) return s;
    const uint16_t type = static_cast<uint16_t>((h[2] << 8) | h[3]);
    tunnel_source_port();
    if (!push(Proto::kGeneve)) return Status::kTooDeep;
    r_.skip(hl);
    return tunnel_inner(type, end);
  }

  Status gre(std::size_t end) noexcept {
    if (Status s = l4_fits(4, end); s != Status::kOk) return s;
    const uint8_t* h = r_.here();
    const uint16_t flags = static_cast<uint16_t>((h[0] << 8) | h[1]);
    const uint16_t type = static_cast<uint16_t>((h[2] << 8) | h[3]);
    if (!push(Proto::kGre)) return Status::kTooDeep;
    // Version 1 (PPTP) and source routing (R) are not decoded: the chain ends at gre.
    if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0) return Status::kOk;
    std::size_t hl = 4;
    if (flags & 0x8000) hl += 4;  // C: checksum + reserved
    if (flags & 0x2000) hl += 4;  // K: key
    if (flags & 0x1000) hl += 4;  // S: sequence number
    if (Status s = l4_fits(hl, end); s != Status::kOk) return s;
    r_.skip(hl);
    return tunnel_inner(type, end);
  }

  // What a GRE or Geneve header says it carries.
  Status tunnel_inner(uint16_t type, std::size_t end) noexcept {
    if (type == kEtherIpv4) return ipv4(end);
    if (type == kEtherIpv6) return ipv6(end);
    if (type == kEtherTeb) return ethernet(end);
    return Status::kOk;
  }

  Status icmp(std::size_t end, bool fragment, Proto p, uint8_t echo_req, uint8_t echo_rep) noexcept {
    (void)fragment;
    if (Status s = l4_fits(4, end); s != Status::kOk) return s;
    const uint8_t* h = r_.here();
    std::size_t hl = 4;
    h_[0] |= uint64_t{h[0]} << 24 | uint64_t{h[1]} << 32;  // type, code
    if (h[0] == echo_req || h[0] == echo_rep) {
      hl = 8;
      if (Status s = l4_fits(hl, end); s != Status::kOk) return s;
      // The identifier is the echo's "port" (a NAT may rewrite it, as it rewrites ports): in
      // the flow key (G), both ends; the sequence number in H.
      FlowKey& key = out_.ip[ip_];
      key.sport = key.dport = static_cast<uint16_t>((h[4] << 8) | h[5]);
      h_[2] = uint64_t{h[6]} | uint64_t{h[7]} << 8;  // sequence
    }
    if (!push(p)) return Status::kTooDeep;
    r_.skip(hl);
    payload_off_ = r_.pos();
    return Status::kOk;
  }

  Status sctp(std::size_t end, bool /*fragment*/) noexcept {
    if (Status s = l4_fits(12, end); s != Status::kOk) return s;
    const uint8_t* h = r_.here();
    if (!push(Proto::kSctp)) return Status::kTooDeep;
    set_ports(h);
    h_[2] = load_le32(h + 4);  // verification tag
    r_.skip(12);
    payload_off_ = r_.pos();
    return Status::kOk;
  }

  void set_ports(const uint8_t* h) noexcept {
    FlowKey& key = out_.ip[ip_];
    key.sport = static_cast<uint16_t>((h[0] << 8) | h[1]);
    key.dport = static_cast<uint16_t>((h[2] << 8) | h[3]);
  }

  // digest = H ^ G: H over the innermost IP packet's block plus its first K payload bytes,
  // G over its flow key (which the ports were written into, and a tunnel's source port
  // zeroed in, as the parse went).
  Status finish() noexcept {
    std::size_t k = opt_.payload_bytes < kMaxPayloadBytes ? opt_.payload_bytes : kMaxPayloadBytes;
    const std::size_t avail = payload_end_ > payload_off_ ? payload_end_ - payload_off_ : 0;
    if (avail < k) k = avail;
    alignas(8) uint8_t block[kDigestFixed + kMaxPayloadBytes];
    if (!r_.copy_at(payload_off_, block + kDigestFixed, k)) return Status::kTruncated;
    store_le64(block, h_[0] | uint64_t{k} << 40);  // payload length
    for (std::size_t i = 1; i < kDigestWords; ++i) store_le64(block + 8 * i, h_[i]);
    out_.digest = XXH3_64bits_withSeed(block, kDigestFixed + k, kSeedH) ^
                  hash_flow_key(out_.ip[out_.n_ip - 1]);
    return Status::kOk;
  }

  Reader r_;
  const Options& opt_;
  Parsed& out_;
  uint64_t h_[kDigestWords];  // H's words for the innermost IP layer seen so far
  uint8_t ip_ = 0;         // index of the current IP layer in out_.ip
  bool seen_vlan_ = false;
  std::size_t payload_off_ = 0;  // where the hashed payload starts (absolute)
  std::size_t payload_end_ = 0;  // logical end of the innermost IP packet
};

}  // namespace

bool is_supported(uint32_t linktype) noexcept {
  switch (static_cast<LinkType>(linktype)) {
    case LinkType::kEthernet:
    case LinkType::kRaw:
    case LinkType::kLinuxSll:
    case LinkType::kIpv4:
    case LinkType::kIpv6:
    case LinkType::kLinuxSll2:
      return true;
  }
  return false;
}

std::string_view name(Proto p) noexcept {
  switch (p) {
    case Proto::kEth: return "eth";
    case Proto::kVlan: return "vlan";
    case Proto::kQinQ: return "qinq";
    case Proto::kSll: return "sll";
    case Proto::kSll2: return "sll2";
    case Proto::kIpv4: return "ipv4";
    case Proto::kIpv6: return "ipv6";
    case Proto::kGre: return "gre";
    case Proto::kVxlan: return "vxlan";
    case Proto::kGeneve: return "geneve";
    case Proto::kTcp: return "tcp";
    case Proto::kUdp: return "udp";
    case Proto::kIcmp: return "icmp";
    case Proto::kIcmp6: return "icmp6";
    case Proto::kSctp: return "sctp";
    case Proto::kOther: return "data";
  }
  return "?";
}

std::string_view name(Status s) noexcept {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kTruncated: return "truncated";
    case Status::kMalformed: return "malformed";
    case Status::kNotIp: return "not_ip";
    case Status::kTooDeep: return "too_deep";
    case Status::kUnsupportedLink: return "unsupported_link";
  }
  return "?";
}

Status parse(std::span<const uint8_t> frame, uint32_t wire_len, LinkType link,
             const Options& opt, Parsed& out) noexcept {
  (void)wire_len;  // the logical lengths come from the IP headers themselves
  out.status = Status::kOk;
  out.n_layers = 0;
  out.n_ip = 0;
  out.digest = 0;
  out.vlan_id = 0;
  out.tcp_flags = 0;
  out.fragment = false;
  Parser parser(frame, opt, out);
  const Status s = parser.run(link);
  out.status = s;
  if (s != Status::kOk) out.digest = 0;
  return s;
}

std::string stack_string(const Parsed& p) {
  std::string s;
  s.reserve(64);
  for (std::size_t i = 0; i < p.n_layers; ++i) {
    if (i) s += '/';
    s += name(p.layers[i]);
    const Proto cur = p.layers[i];
    if ((cur == Proto::kIpv4 || cur == Proto::kIpv6) && i + 1 < p.n_layers) {
      const Proto next = p.layers[i + 1];
      if (next == Proto::kIpv4 || next == Proto::kIpv6) {
        const bool out4 = cur == Proto::kIpv4;
        const bool in4 = next == Proto::kIpv4;
        s += out4 ? (in4 ? "[ipip]" : "[6in4]") : (in4 ? "[4in6]" : "[6in6]");
      }
    }
  }
  return s;
}

uint64_t address_hash(const FlowKey& innermost) noexcept { return hash_flow_key(innermost); }

uint64_t translation_key(uint64_t digest, const FlowKey& innermost) noexcept {
  return digest ^ hash_flow_key(innermost);
}

uint64_t chain_hash(const Parsed& p) noexcept {
  // Packed, padding-free: layer count, layer codes, then each flow key field by field.
  // The same bytes as one store per field would write, in wide stores, each part's tail
  // overwritten by the next part: the layer codes as one 16-byte copy, each key as two 16-byte
  // copies and one 8-byte word (ports big-endian, version, proto, and 2 bytes that the next key
  // covers or that are not hashed). A busy port's collector hashes nearly every packet's chain.
  static_assert(sizeof(Proto) == 1 && kMaxLayers == 16, "the layer codes are copied as 16 bytes");
  uint8_t buf[2 + kMaxLayers + kMaxIpLayers * 38 + 2];
  const std::size_t layers = p.n_layers < kMaxLayers ? p.n_layers : kMaxLayers;
  const std::size_t ips = p.n_ip < kMaxIpLayers ? p.n_ip : kMaxIpLayers;
  buf[0] = static_cast<uint8_t>(layers);
  buf[1] = static_cast<uint8_t>(ips);
  std::memcpy(buf + 2, p.layers.data(), kMaxLayers);
  std::size_t n = 2 + layers;
  for (std::size_t i = 0; i < ips; ++i) {
    const FlowKey& k = p.ip[i];
    std::memcpy(buf + n, k.src.data(), 16);
    std::memcpy(buf + n + 16, k.dst.data(), 16);
    const uint8_t tail[8] = {static_cast<uint8_t>(k.sport >> 8), static_cast<uint8_t>(k.sport),
                             static_cast<uint8_t>(k.dport >> 8), static_cast<uint8_t>(k.dport),
                             k.version, k.proto, 0, 0};
    std::memcpy(buf + n + 32, tail, 8);
    n += 38;
  }
  return XXH3_64bits(buf, n);
}

std::string proto_name(uint8_t ip_proto) {
  switch (ip_proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 4: return "IPIP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 41: return "IPv6";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "ICMPv6";
    case 132: return "SCTP";
    default: return "proto " + std::to_string(ip_proto);
  }
}

bool link_local_destination(const FlowKey& key) noexcept {
  const auto& d = key.dst;
  if (key.version == 4) {
    if (d[0] == 224 && d[1] == 0 && d[2] == 0) return true;
    return d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255;
  }
  if (key.version == 6) {
    if (d[0] == 0xff) return (d[1] & 0x0f) == 1 || (d[1] & 0x0f) == 2;
    return d[0] == 0xfe && (d[1] & 0xc0) == 0x80;
  }
  return false;
}

std::string to_string(const FlowKey& key) {
  // One string, reserved once: a busy port's run labels hundreds of thousands of flows.
  const bool v6 = key.version == 6;
  const bool ports = key.proto == kIpProtoTcp || key.proto == kIpProtoUdp ||
                     key.proto == kIpProtoSctp;
  std::string s;
  s.reserve(2 * INET6_ADDRSTRLEN + 32);
  auto num = [&](unsigned v) {
    char digits[10];
    s.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  auto addr = [&](const std::array<uint8_t, 16>& a, uint16_t port) {
    if (ports && v6) s += '[';
    if (v6) {
      char text[INET6_ADDRSTRLEN] = {};
      if (!inet_ntop(AF_INET6, a.data(), text, sizeof text)) text[0] = '?';
      s += text;
    } else {  // dotted quad, as inet_ntop writes it
      for (std::size_t i = 0; i < 4; ++i) {
        if (i) s += '.';
        num(a[i]);
      }
    }
    if (ports) {
      if (v6) s += ']';
      s += ':';
      num(port);
    }
  };
  s += proto_name(key.proto);
  s += ' ';
  addr(key.src, key.sport);
  s += " \u2192 ";
  addr(key.dst, key.dport);
  // An ICMP echo's identifier (its flow key carries it as both ports).
  if ((key.proto == kIpProtoIcmp || key.proto == kIpProtoIcmp6) && key.sport) {
    s += " id ";
    num(key.sport);
  }
  return s;
}

}  // namespace pathtrace::packet
