// bench_offline_gen — writes a 7-point capture set A..G for the offline benchmark.
//
//   G (nic) → F (br-ethx) → E (qvo) → D (qvb) → C (qbr) → B (tap) → A (vm)
//   F and G frames carry 802.1Q VLAN 100; TTL differs per point; a few µs per hop.
//   --shape tunnel (default): one IPIP tunnel, some TCP, UDP, ICMP, all entering at G; the
//     original set, unchanged. --shape field: one busy VM port, both directions, ≥ 100k flows
//     per 500k packets; --shape fewflows: 64 long TCP flows (see write_sessions below).
//   Known loss: tunnel: --loss-pct of the IPIP packets vanish between C and B (seen G..C, not
//     B, A); field and fewflows add --loss-out-pct of outbound segments between E and F.
//   Known duplicates: every --dup-every'th packet is captured twice at D.
//   Every point also sees one ICMP marker 300 ms before and after the traffic (capture window).
//
// Prints what it wrote and, for run.sh, machine-readable lines:
//   expected_loss FROM TO <lost> <of>     (one per hop with loss, FROM → TO in travel order)
//   expected_duplicates D <n>
//   expected_flows <n>                    (field, fewflows: top-level flows as pathtrace keys them)

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"

namespace {

using pathtrace::pcapfile::Writer;

constexpr int kPoints = 7;                                   // A..G
constexpr const char* kNames[kPoints] = {"A", "B", "C", "D", "E", "F", "G"};
constexpr const char* kRoles[kPoints] = {"vm", "tap", "qbr", "qvb", "qvo", "ethx", "nic"};
constexpr int64_t kDelayNs[kPoints] = {20000, 14000, 10000, 7000, 5000, 2000, 0};  // after G
constexpr int64_t kStartNs = 1700000000LL * 1000000000LL;
constexpr uint16_t kVlan = 100;

// Deterministic, fast pseudo-random numbers (splitmix64).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint32_t get32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
constexpr uint32_t ip4(int a, int b, int c, int d) {
  return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | uint32_t(d);
}

void ip_checksum(uint8_t* h) {
  h[10] = h[11] = 0;
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t(h[i]) << 8) | h[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(h + 10, static_cast<uint16_t>(~sum));
}

// Writes a 20-byte IPv4 header at p.
void ipv4(uint8_t* p, uint16_t total_len, uint16_t id, uint8_t ttl, uint8_t proto, uint32_t src, uint32_t dst) {
  p[0] = 0x45;
  p[1] = 0;
  put16(p + 2, total_len);
  put16(p + 4, id);
  put16(p + 6, 0x4000);  // DF
  p[8] = ttl;
  p[9] = proto;
  put32(p + 12, src);
  put32(p + 16, dst);
  ip_checksum(p);
}

enum class Kind { kIpip, kTcp, kUdp, kIcmp };

// Which traffic the set carries (--shape).
enum class Shape {
  kTunnel,    // one IPIP tunnel, some TCP, UDP, ICMP: few flows (the original set, the default)
  kField,     // one busy VM port: DNS, short and long TCP, UDP, IPIP, VXLAN; ≥ 100k flows
  kFewFlows,  // 32 long TCP connections: 64 flows
};

struct Options {
  Shape shape = Shape::kTunnel;
  uint64_t packets = 1000000;
  std::string out = "bench/out";
  double loss_pct = 5.0;
  double loss_out_pct = 2.0;  // field, fewflows: outbound loss between E and F
  uint64_t seed = 14;         // field, fewflows
  uint64_t dup_every = 9973;
  uint32_t snaplen = 262144;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "%s\nusage: bench_offline_gen [--shape tunnel|field|fewflows] [--packets N] [--out DIR]\n"
               "       [--loss-pct P] [--loss-out-pct P] [--seed N] [--dup-every N] [--snaplen N]\n",
               why);
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    try {
      if (a == "--shape") {
        const std::string v = value();
        if (v == "tunnel") {
          o.shape = Shape::kTunnel;
        } else if (v == "field") {
          o.shape = Shape::kField;
        } else if (v == "fewflows") {
          o.shape = Shape::kFewFlows;
        } else {
          usage(("unknown shape " + v).c_str());
        }
      } else if (a == "--packets") {
        o.packets = std::stoull(value());
      } else if (a == "--out") {
        o.out = value();
      } else if (a == "--loss-pct") {
        o.loss_pct = std::stod(value());
      } else if (a == "--loss-out-pct") {
        o.loss_out_pct = std::stod(value());
      } else if (a == "--seed") {
        o.seed = std::stoull(value());
      } else if (a == "--dup-every") {
        o.dup_every = std::stoull(value());
      } else if (a == "--snaplen") {
        o.snaplen = static_cast<uint32_t>(std::stoul(value()));
      } else if (a == "-h" || a == "--help") {
        usage("writes A.pcap .. G.pcap (G = NIC side, where packets enter)");
      } else {
        usage(("unknown argument " + a).c_str());
      }
    } catch (const std::logic_error&) {
      usage(("bad value for " + a).c_str());
    }
  }
  return o;
}

// --shape tunnel: the original set (one IPIP tunnel, some TCP, UDP, ICMP). Its bytes must not
// change, so that numbers taken before the other shapes existed stay comparable.
int write_tunnel(const Options& opt) {

  std::vector<std::unique_ptr<Writer>> writers;
  std::vector<std::string> paths;
  for (int p = 0; p < kPoints; ++p) {
    paths.push_back(opt.out + "/" + kNames[p] + ".pcap");
    writers.push_back(std::make_unique<Writer>(paths.back(), 1 /*Ethernet*/, opt.snaplen, true));
  }

  // Payload filler: a fixed pattern; the first 8 bytes of each payload carry the packet number.
  static uint8_t pattern[1600];
  for (std::size_t i = 0; i < sizeof pattern; ++i) pattern[i] = static_cast<uint8_t>(i * 31 + 7);

  constexpr std::size_t kEth = 14, kTag = 4;
  uint8_t frame[kEth + kTag + 1600];  // [eth(+tag)][ip packet]; the IP packet starts at kIp
  constexpr std::size_t kIp = kEth + kTag;
  const uint64_t loss_threshold = static_cast<uint64_t>(opt.loss_pct / 100.0 * 1e6);

  uint64_t written[kPoints] = {}, bytes[kPoints] = {};
  uint64_t ipip = 0, ipip_lost = 0, dups = 0, kinds[4] = {};
  std::vector<uint32_t> tcp_seq(4096);
  uint16_t ip_id = 1, outer_id = 1;

  // Capture-window markers: one ICMP echo seen at every point 300 ms before the traffic and
  // one 300 ms after it, as when every capture starts before the test and stops after it.
  // Without them the correlator's guard margin (100 ms) would leave the edges unjudged.
  auto write_marker = [&](int64_t t_g, uint16_t seq) {
    uint8_t m[kEth + 20 + 8 + 56] = {};
    put16(m + 12, 0x0800);
    uint8_t* icmp = m + kEth + 20;
    icmp[0] = 8;
    put16(icmp + 4, 0x4d4b);
    put16(icmp + 6, seq);
    for (int p = kPoints - 1; p >= 0; --p) {
      ipv4(m + kEth, 20 + 8 + 56, seq, static_cast<uint8_t>(64 - (kPoints - 1 - p)), 1, ip4(10, 9, 0, 1),
           ip4(10, 9, 0, 2));
      writers[p]->write(t_g + kDelayNs[p], std::span<const uint8_t>(m, sizeof m));
      ++written[p];
      bytes[p] += 16 + sizeof m;
    }
  };
  constexpr int64_t kMarkerGapNs = 300'000'000;
  write_marker(kStartNs - kMarkerGapNs, 1);

  for (uint64_t i = 0; i < opt.packets; ++i) {
    const uint64_t r = mix(i);
    const unsigned k = static_cast<unsigned>(r % 100);
    const Kind kind = k < 60 ? Kind::kIpip : k < 85 ? Kind::kTcp : k < 95 ? Kind::kUdp : Kind::kIcmp;
    // Payload size: 55% none (ACK), 30% 64..511, 15% large.
    const unsigned s = static_cast<unsigned>((r >> 8) % 100);
    std::size_t pay = s < 55 ? 0 : s < 85 ? 64 + ((r >> 16) % 448) : 1380;
    if (kind == Kind::kIcmp) pay = 56;
    if (kind == Kind::kUdp && pay == 0) pay = 40 + ((r >> 16) % 80);

    uint8_t* ip = frame + kIp;
    uint8_t* l3 = ip;  // innermost IP header
    std::size_t outer_len = 0;
    if (kind == Kind::kIpip) l3 = ip + 20;
    uint8_t* l4 = l3 + 20;
    std::size_t l4_len = 0;
    uint8_t proto = 0;
    uint32_t src = 0, dst = 0;
    switch (kind) {
      case Kind::kIpip:
      case Kind::kTcp: {
        const uint32_t client = static_cast<uint32_t>((r >> 24) % (kind == Kind::kIpip ? 4096 : 64));
        if (kind == Kind::kIpip) {
          src = ip4(198, 19, 1 + int(client >> 8), int(client & 255));
          dst = ip4(198, 18, 0, 100);
        } else {
          src = ip4(10, 0, 0, int(client) + 1);
          dst = ip4(10, 1, 0, 5);
        }
        proto = 6;
        uint32_t& seq = tcp_seq[(kind == Kind::kIpip ? 0 : 2048) + client % 2048];
        put16(l4, static_cast<uint16_t>(32768 + client));
        put16(l4 + 2, kind == Kind::kIpip ? 80 : 443);
        put32(l4 + 4, seq);
        put32(l4 + 8, static_cast<uint32_t>(r >> 32));
        l4[12] = 5 << 4;
        l4[13] = pay ? 0x18 : 0x10;  // PSH|ACK or ACK
        put16(l4 + 14, 65535);
        put16(l4 + 16, 0);  // checksum: offloaded, as real captures often show
        put16(l4 + 18, 0);
        seq += static_cast<uint32_t>(pay ? pay : 1);
        l4_len = 20;
        break;
      }
      case Kind::kUdp: {
        const uint32_t client = static_cast<uint32_t>((r >> 24) % 16);
        src = ip4(10, 2, 0, int(client) + 1);
        dst = ip4(10, 1, 0, 53);
        proto = 17;
        put16(l4, static_cast<uint16_t>(5353 + client));
        put16(l4 + 2, 53);
        put16(l4 + 4, static_cast<uint16_t>(8 + pay));
        put16(l4 + 6, 0);
        l4_len = 8;
        break;
      }
      case Kind::kIcmp: {
        src = ip4(10, 3, 0, 1);
        dst = ip4(10, 1, 0, 1);
        proto = 1;
        l4[0] = 8;
        l4[1] = 0;
        put16(l4 + 2, 0);
        put16(l4 + 4, 0x1234);
        put16(l4 + 6, static_cast<uint16_t>(i));
        l4_len = 8;
        break;
      }
    }
    uint8_t* data = l4 + l4_len;
    std::memcpy(data, pattern, pay);
    if (pay >= 8) {
      for (int b = 0; b < 8; ++b) data[b] = static_cast<uint8_t>(i >> (56 - 8 * b));
    }
    const std::size_t inner_len = 20 + l4_len + pay;
    ipv4(l3, static_cast<uint16_t>(inner_len), ip_id++, 64, proto, src, dst);
    outer_len = inner_len;
    if (kind == Kind::kIpip) {
      outer_len = 20 + inner_len;
      ipv4(ip, static_cast<uint16_t>(outer_len), outer_id++, 64, 4, ip4(198, 18, 0, 1), ip4(198, 18, 0, 20));
      ++ipip;
    }
    ++kinds[static_cast<int>(kind)];

    const bool lost_c_b = kind == Kind::kIpip && (mix(i ^ 0x5eed) % 1000000) < loss_threshold;
    ipip_lost += lost_c_b;
    const int64_t t_g = kStartNs + static_cast<int64_t>(i) * 1000 + static_cast<int64_t>(r >> 56);  // ≤ 255 ns jitter
    for (int p = kPoints - 1; p >= 0; --p) {
      if (lost_c_b && p <= 1) break;  // B and A never see it
      // Link layer: F and G are VLAN-tagged, the others are not. TTL differs per point.
      const bool tagged = p >= 5;
      uint8_t* eth = tagged ? frame : frame + kTag;
      static const uint8_t kDstMac[6] = {0xfa, 0x16, 0x3e, 0x12, 0x34, 0x56};
      std::memcpy(eth, kDstMac, 6);
      const uint8_t src_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, static_cast<uint8_t>(0x10 + p)};
      std::memcpy(eth + 6, src_mac, 6);
      if (tagged) {
        put16(eth + 12, 0x8100);
        put16(eth + 14, kVlan);
        put16(eth + 16, 0x0800);
      } else {
        put16(eth + 12, 0x0800);
      }
      ip[8] = static_cast<uint8_t>(64 - (kPoints - 1 - p));
      ip_checksum(ip);
      const std::size_t len = static_cast<std::size_t>(frame + kIp - eth) + outer_len;
      const int64_t ts = t_g + kDelayNs[p];
      writers[p]->write(ts, std::span<const uint8_t>(eth, len));
      ++written[p];
      bytes[p] += 16 + std::min<std::size_t>(len, opt.snaplen);
      if (p == 3 && opt.dup_every && i % opt.dup_every == opt.dup_every / 2) {
        writers[p]->write(ts + 100, std::span<const uint8_t>(eth, len));
        ++written[p];
        bytes[p] += 16 + std::min<std::size_t>(len, opt.snaplen);
        ++dups;
      }
    }
  }
  write_marker(kStartNs + static_cast<int64_t>(opt.packets) * 1000 + kMarkerGapNs, 2);
  for (auto& w : writers) w->close();

  std::printf("wrote %llu packets at G into %s (IPIP %llu, TCP %llu, UDP %llu, ICMP %llu; "
              "+2 window markers per point)\n",
              static_cast<unsigned long long>(opt.packets), opt.out.c_str(),
              static_cast<unsigned long long>(kinds[0]), static_cast<unsigned long long>(kinds[1]),
              static_cast<unsigned long long>(kinds[2]), static_cast<unsigned long long>(kinds[3]));
  for (int p = kPoints - 1; p >= 0; --p) {
    std::printf("  %s %-4s %-24s %10llu packets %8.1f MB%s\n", kNames[p], kRoles[p], paths[p].c_str(),
                static_cast<unsigned long long>(written[p]), (24.0 + double(bytes[p])) / 1e6,
                p >= 5 ? "  (802.1Q VLAN 100)" : "");
  }
  std::printf("expected: IPIP 198.18.0.1 -> 198.18.0.20 loses %llu of %llu packets (%.2f%%) between C and B; "
              "%llu duplicates at D\n",
              static_cast<unsigned long long>(ipip_lost), static_cast<unsigned long long>(ipip),
              ipip ? 100.0 * double(ipip_lost) / double(ipip) : 0.0, static_cast<unsigned long long>(dups));
  std::printf("expected_loss C B %llu %llu\n", static_cast<unsigned long long>(ipip_lost),
              static_cast<unsigned long long>(ipip));
  std::printf("expected_duplicates D %llu\n", static_cast<unsigned long long>(dups));
  return 0;
}


// --- --shape field and --shape fewflows ------------------------------------------------------
//
// The traffic of one busy VM port, as every point from its NIC (G) to the VM (A) sees it:
//   VM port 198.18.0.20 on provider VLAN 100 (tagged at F and G), both directions;
//   inbound: G → F → E → D → C → B → A; outbound: A → B → … → G (a few µs per hop either way).
// Field mix (share of packets; at --packets 500000 about 112,000 flows, as pathtrace counts
// them: one per direction and top-level layer):
//   DNS        14%  query + response pairs: clients → the VM's resolver :53, and the VM's
//                   upstream queries → 198.18.9.9:53; one new source port per query
//   short TCP  28%  handshake, request, 1-4 response segments, FIN both ways: clients → VM :443
//                   (60%) and VM → API servers :443 (40%)
//   long TCP   20%  8 bulk connections (4 uploads, 4 downloads, MSS 1448, ACK every 2 segments)
//   UDP         6%  one-way bursts of 1-6 datagrams (statsd out, telemetry in)
//   IPIP       22%  LVS-TUN: director 198.18.0.1 → the VM (one tunnel flow carrying thousands
//                   of client connections to VIP 198.18.0.100:80); the VM answers clients directly
//   VXLAN      10%  the VM is an overlay node (VTEP): pod-to-pod TCP to 4 peer nodes, UDP 4789,
//                   wrapped at every point, both directions
// fewflows: 32 long TCP connections (16 uploads, 16 downloads) = 64 flows.
// Known loss (seeded, exact counts printed):
//   inbound  C→B: --loss-pct of the IPIP packets (fewflows: of download connection 3's data)
//   outbound E→F: --loss-out-pct of the full-size upload segments of the long connections
// Known duplicates: every --dup-every'th packet is captured twice at D.
// Within each file the timestamps are in order (frames are held briefly and written sorted).

constexpr uint32_t kVm = ip4(198, 18, 0, 20);
constexpr uint32_t kVip = ip4(198, 18, 0, 100);
constexpr uint32_t kDirector = ip4(198, 18, 0, 1);
constexpr std::size_t kMaxFrame = 14 + 4 + 20 + 8 + 8 + 14 + 1500;
constexpr std::size_t kHeadroom = 96;     // room before the innermost packet for every header
constexpr int64_t kFieldGapNs = 2000;     // mean time between packets entering the path
constexpr int64_t kHoldNs = 50000;        // > the slowest transit (20 µs) + duplicate offset

// A client address from a pool of 262,144 (100.64.0.0/14), picked by a hash.
uint32_t client_addr(uint64_t h) {
  const uint32_t k = static_cast<uint32_t>(h % (1u << 18));
  return ip4(100, 64 + int(k >> 16), int((k >> 8) & 255), int(k & 255));
}

// Writes one capture file with timestamps in order although frames arrive slightly out of order
// (an outbound packet reaches G ~20 µs after the inbound packet that entered just before it).
class OrderedWriter {
 public:
  OrderedWriter(const std::string& path, uint32_t snaplen) : w_(path, 1 /*Ethernet*/, snaplen, true) {}
  void write(int64_t ts, const uint8_t* data, std::size_t len) {
    if (free_.empty()) {
      slots_.emplace_back();
      free_.push_back(static_cast<uint32_t>(slots_.size() - 1));
    }
    const uint32_t s = free_.back();
    free_.pop_back();
    slots_[s].ts = ts;
    slots_[s].len = static_cast<uint32_t>(len);
    std::memcpy(slots_[s].data.data(), data, len);
    std::size_t at = order_.size();  // insertion sort from the back: usually already in order
    order_.push_back(s);
    while (at > 0 && slots_[order_[at - 1]].ts > ts) {
      order_[at] = order_[at - 1];
      --at;
    }
    order_[at] = s;
  }
  // Writes every held frame older than ts.
  void flush_before(int64_t ts) {
    std::size_t n = 0;
    while (n < order_.size() && slots_[order_[n]].ts < ts) {
      const Slot& f = slots_[order_[n]];
      w_.write(f.ts, std::span<const uint8_t>(f.data.data(), f.len));
      free_.push_back(order_[n]);
      ++n;
    }
    order_.erase(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  void close() {
    flush_before(INT64_MAX);
    w_.close();
  }

 private:
  struct Slot {
    int64_t ts = 0;
    uint32_t len = 0;
    std::array<uint8_t, kMaxFrame> data{};
  };
  Writer w_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> order_, free_;
};

// Writes IPv4 + TCP (no options) at p, payload `pay` bytes whose first 8 carry `mark`.
std::size_t tcp_packet(uint8_t* p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint16_t ip_id,
                       uint32_t seq, uint32_t ack, uint8_t flags, std::size_t pay, uint64_t mark,
                       const uint8_t* pattern) {
  uint8_t* t = p + 20;
  put16(t, sport);
  put16(t + 2, dport);
  put32(t + 4, seq);
  put32(t + 8, ack);
  t[12] = 5 << 4;
  t[13] = flags;
  put16(t + 14, 64240);
  put16(t + 16, 0);  // checksum: offloaded
  put16(t + 18, 0);
  std::memcpy(t + 20, pattern, pay);
  if (pay >= 8) {
    for (int b = 0; b < 8; ++b) t[20 + b] = static_cast<uint8_t>(mark >> (56 - 8 * b));
  }
  const std::size_t len = 40 + pay;
  ipv4(p, static_cast<uint16_t>(len), ip_id, 64, 6, src, dst);
  return len;
}

// Writes IPv4 + UDP at p; the payload starts with `head` (if any), then the pattern.
std::size_t udp_packet(uint8_t* p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint16_t ip_id,
                       std::size_t pay, uint64_t mark, const uint8_t* pattern) {
  uint8_t* u = p + 20;
  put16(u, sport);
  put16(u + 2, dport);
  put16(u + 4, static_cast<uint16_t>(8 + pay));
  put16(u + 6, 0);
  std::memcpy(u + 8, pattern, pay);
  if (pay >= 8) {
    for (int b = 0; b < 8; ++b) u[8 + b] = static_cast<uint8_t>(mark >> (56 - 8 * b));
  }
  const std::size_t len = 28 + pay;
  ipv4(p, static_cast<uint16_t>(len), ip_id, 64, 17, src, dst);
  return len;
}

// Writes a DNS message at u (after the UDP header): header, one question, optionally answers.
std::size_t dns_message(uint8_t* u, uint16_t id, bool response, uint64_t h) {
  put16(u, id);
  put16(u + 2, response ? 0x8180 : 0x0100);
  put16(u + 4, 1);
  put16(u + 6, response ? static_cast<uint16_t>(1 + h % 4) : 0);
  put16(u + 8, 0);
  put16(u + 10, 0);
  std::size_t n = 12;
  const int labels = 2 + int(h % 3);
  for (int l = 0; l < labels; ++l) {
    const int len = 3 + int((h >> (8 * l)) % 10);
    u[n++] = static_cast<uint8_t>(len);
    for (int c = 0; c < len; ++c) u[n++] = static_cast<uint8_t>('a' + (h >> (c + l)) % 26);
  }
  u[n++] = 0;
  put16(u + n, 1);  // A
  put16(u + n + 2, 1);
  n += 4;
  if (response) {
    for (unsigned a = 0; a < 1 + h % 4; ++a) {
      const uint8_t rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 203, 0, 113, static_cast<uint8_t>(h >> (40 + a))};
      std::memcpy(u + n, rr, sizeof rr);
      n += sizeof rr;
    }
  }
  return n;
}

enum class Cls : uint8_t { kDns, kShortTcp, kLongTcp, kUdp, kIpip, kVxlan, kCount };
constexpr const char* kClsNames[] = {"DNS", "short TCP", "long TCP", "UDP", "IPIP", "VXLAN"};

// One conversation in flight. Client and server are the TCP/DNS roles; `client_vm` says which
// end sits on the VM side (client → server then travels A → G).
struct Session {
  bool live = false;
  bool client_vm = false;
  bool upload = false;  // long TCP: the VM sends the data
  uint8_t step = 0, segs = 0, unacked = 0;
  uint16_t cport = 0, sport = 0, cid = 0, sid = 0, req = 0, last = 0, dns_id = 0, vxlan_sport = 0;
  uint32_t client = 0, server = 0, cseq = 0, sseq = 0, peer = 0;
  uint64_t id = 0;
};

// What one generated packet looks like on the path: the innermost IP packet sits at
// buf + kHeadroom, `len` bytes; the wrapping, direction and known loss say the rest.
struct PathPacket {
  std::size_t len = 0;
  bool inbound = true;       // G → A
  bool ipip = false;         // inside IPIP director → VM at every point
  uint32_t vtep_peer = 0;    // non-zero: inside VXLAN VM ↔ peer at every point
  uint16_t vxlan_sport = 0;
  int first_missing = -1;    // point (index) that no longer sees it; -1: delivered
  int loss_rule = -1;        // 0: C→B, 1: E→F
};

struct Mix {
  std::array<unsigned, static_cast<int>(Cls::kCount)> weight{};  // percent of packets
  std::array<unsigned, static_cast<int>(Cls::kCount)> slots{};    // conversations in flight
};

int write_sessions(const Options& opt) {
  const bool field = opt.shape == Shape::kField;
  Mix mix_of;
  if (field) {
    mix_of.weight = {14, 28, 20, 6, 22, 10};
    mix_of.slots = {128, 256, 8, 64, 512, 128};
  } else {
    mix_of.weight = {0, 0, 100, 0, 0, 0};
    mix_of.slots = {0, 0, 32, 0, 0, 0};
  }

  std::vector<std::unique_ptr<OrderedWriter>> writers;
  std::vector<std::string> paths;
  for (int p = 0; p < kPoints; ++p) {
    paths.push_back(opt.out + "/" + kNames[p] + ".pcap");
    writers.push_back(std::make_unique<OrderedWriter>(paths.back(), opt.snaplen));
  }
  static uint8_t pattern[1600];
  for (std::size_t i = 0; i < sizeof pattern; ++i) pattern[i] = static_cast<uint8_t>(i * 31 + 7);

  uint8_t buf[kHeadroom + 1600] = {};
  uint8_t* const pkt = buf + kHeadroom;
  uint64_t written[kPoints] = {}, bytes[kPoints] = {};
  uint64_t lost[2] = {}, eligible[2] = {}, dups = 0;
  std::array<uint64_t, static_cast<int>(Cls::kCount)> cls_packets{}, cls_sessions{};
  const uint64_t seed = mix(opt.seed);
  const uint64_t loss_in = static_cast<uint64_t>(opt.loss_pct / 100.0 * 1e6);
  const uint64_t loss_out = static_cast<uint64_t>(opt.loss_out_pct / 100.0 * 1e6);
  uint16_t outer_id = 1;
  uint64_t next_session = 1;
  // Top-level flows as pathtrace keys them (addresses, protocol, ports; one per direction; a
  // tunnel seen at every point is the flow, its UDP source port is not part of the key).
  struct FlowHash {
    std::size_t operator()(const std::pair<uint64_t, uint64_t>& k) const { return mix(k.first ^ mix(k.second)); }
  };
  std::unordered_set<std::pair<uint64_t, uint64_t>, FlowHash> flow_keys;

  // Writes the packet at pkt to every point that sees it, in travel order.
  auto emit = [&](uint64_t i, int64_t t_entry, const PathPacket& pp) {
    const bool vxlan = pp.vtep_peer != 0;
    {
      const uint64_t addrs = vxlan ? (uint64_t{pp.inbound ? pp.vtep_peer : kVm} << 32) | (pp.inbound ? kVm : pp.vtep_peer)
                                   : (uint64_t{pp.ipip ? kDirector : get32(pkt + 12)} << 32) | (pp.ipip ? kVm : get32(pkt + 16));
      const uint8_t proto = vxlan ? 17 : pp.ipip ? 4 : pkt[9];
      const uint32_t ports = vxlan ? 4789 : (proto == 6 || proto == 17) ? get32(pkt + 20) : 0;
      flow_keys.insert({addrs, (uint64_t{proto} << 32) | ports});
    }
    for (int step = 0; step < kPoints; ++step) {
      const int p = pp.inbound ? kPoints - 1 - step : step;
      if (p == pp.first_missing) break;
      const int64_t ts = t_entry + (pp.inbound ? kDelayNs[p] : kDelayNs[0] - kDelayNs[p]);
      uint8_t* start = pkt;
      uint8_t* routed = pkt;  // the header whose TTL drops hop by hop
      std::size_t len = pp.len;
      if (pp.ipip) {
        start -= 20;
        len += 20;
        ipv4(start, static_cast<uint16_t>(len), outer_id, 64, 4, kDirector, kVm);
        routed = start;
      }
      if (vxlan) {
        start -= 14;  // inner Ethernet
        const uint8_t macs[12] = {0x0a, 0x58, 0x0a, 0xf4, 0, 2, 0x0a, 0x58, 0x0a, 0xf4, 0, 1};
        std::memcpy(start, macs, 12);
        put16(start + 12, 0x0800);
        start -= 8;  // VXLAN header, VNI 1
        std::memset(start, 0, 8);
        start[0] = 0x08;
        start[6] = 1;
        start -= 8;  // UDP
        len += 14 + 8 + 8;
        put16(start, pp.vxlan_sport);
        put16(start + 2, 4789);
        put16(start + 4, static_cast<uint16_t>(len));
        put16(start + 6, 0);
        start -= 20;
        len += 20;
        ipv4(start, static_cast<uint16_t>(len), outer_id, 64, 17, pp.inbound ? pp.vtep_peer : kVm,
             pp.inbound ? kVm : pp.vtep_peer);
        routed = start;
      }
      routed[8] = static_cast<uint8_t>(64 - step);
      ip_checksum(routed);
      const bool tagged = p >= 5;
      start -= tagged ? 18 : 14;
      static const uint8_t kVmMac[6] = {0xfa, 0x16, 0x3e, 0x12, 0x34, 0x56};
      static const uint8_t kGwMac[6] = {0x00, 0x1c, 0x73, 0x00, 0x00, 0x01};
      std::memcpy(start, pp.inbound ? kVmMac : kGwMac, 6);
      std::memcpy(start + 6, pp.inbound ? kGwMac : kVmMac, 6);
      if (tagged) {
        put16(start + 12, 0x8100);
        put16(start + 14, kVlan);
        put16(start + 16, 0x0800);
      } else {
        put16(start + 12, 0x0800);
      }
      const std::size_t flen = static_cast<std::size_t>(pkt - start) + pp.len;
      writers[p]->write(ts, start, flen);
      ++written[p];
      bytes[p] += 16 + std::min<std::size_t>(flen, opt.snaplen);
      if (p == 3 && opt.dup_every && i != UINT64_MAX && i % opt.dup_every == opt.dup_every / 2) {
        writers[p]->write(ts + 100, start, flen);
        ++written[p];
        bytes[p] += 16 + std::min<std::size_t>(flen, opt.snaplen);
        ++dups;
      }
    }
    ++outer_id;
  };

  // Capture-window markers, as in the tunnel set: one ICMP echo at every point 300 ms before
  // the traffic and one 300 ms after it.
  auto marker = [&](int64_t t, uint16_t seq) {
    std::memset(pkt + 20, 0, 64);
    pkt[20] = 8;
    put16(pkt + 24, 0x4d4b);
    put16(pkt + 26, seq);
    ipv4(pkt, 20 + 8 + 56, seq, 64, 1, ip4(10, 9, 0, 1), ip4(10, 9, 0, 2));
    PathPacket pp;
    pp.len = 20 + 8 + 56;
    emit(UINT64_MAX, t, pp);
    for (auto& w : writers) w->flush_before(INT64_MAX);
  };
  marker(kStartNs - 300'000'000, 1);

  std::array<std::vector<Session>, static_cast<int>(Cls::kCount)> slots;
  for (int c = 0; c < static_cast<int>(Cls::kCount); ++c) slots[c].resize(mix_of.slots[c]);

  for (uint64_t i = 0; i < opt.packets; ++i) {
    const uint64_t r = mix(seed ^ (i * 0x9e3779b97f4a7c15ULL));
    const uint64_t r2 = mix(r);
    // Pick a class by its share of packets, then a conversation slot of that class.
    unsigned k = static_cast<unsigned>(r % 100), c = 0;
    while (k >= mix_of.weight[c]) k -= mix_of.weight[c++];
    const Cls cls = static_cast<Cls>(c);
    Session& s = slots[c][(r >> 8) % slots[c].size()];
    if (!s.live) {
      s = Session{};
      s.live = true;
      s.id = next_session++;
      const uint64_t h = mix(seed ^ s.id);
      ++cls_sessions[c];
      s.cid = static_cast<uint16_t>(h >> 16);
      s.sid = static_cast<uint16_t>(h >> 32);
      s.cseq = static_cast<uint32_t>(h);
      s.sseq = static_cast<uint32_t>(h >> 24);
      // Client ports come from Linux's ephemeral range (32768-60999), which holds neither 4789
      // nor 6081: pathtrace parses any UDP to those ports as VXLAN/Geneve and counts a DNS
      // answer to client port 6081 as a malformed frame, i.e. capture loss at every point.
      const uint16_t ephemeral = static_cast<uint16_t>(32768 + s.id % 28232);
      const uint16_t any_port = static_cast<uint16_t>(32768 + (s.id * 7919) % 28232);
      switch (cls) {
        case Cls::kDns:
          s.client_vm = h % 100 < 40;
          s.client = s.client_vm ? kVm : client_addr(h >> 8);
          s.server = s.client_vm ? ip4(198, 18, 9, 9) : kVm;
          s.cport = s.client_vm ? ephemeral : any_port;
          s.sport = 53;
          s.dns_id = static_cast<uint16_t>(h >> 48);
          break;
        case Cls::kShortTcp:
        case Cls::kIpip:
          s.client_vm = cls == Cls::kShortTcp && h % 100 < 40;
          s.client = s.client_vm ? kVm : client_addr(h >> 8);
          s.server = s.client_vm ? ip4(203, 0, 113, int(1 + (h >> 40) % 200)) : cls == Cls::kIpip ? kVip : kVm;
          s.cport = s.client_vm ? ephemeral : any_port;
          s.sport = cls == Cls::kIpip ? 80 : 443;
          s.segs = static_cast<uint8_t>(1 + (h >> 50) % 4);
          s.req = static_cast<uint16_t>(80 + (h >> 20) % 500);
          s.last = static_cast<uint16_t>(100 + (h >> 30) % 1300);
          break;
        case Cls::kVxlan: {
          s.client_vm = h % 2;
          const uint32_t local = ip4(10, 244, 0, int(2 + (h >> 8) % 60));
          const uint32_t remote = ip4(10, 244, int(1 + (h >> 16) % 4), int(2 + (h >> 24) % 60));
          s.peer = ip4(198, 18, 0, int(31 + (remote >> 8 & 255) - 1));
          s.client = s.client_vm ? local : remote;
          s.server = s.client_vm ? remote : local;
          s.cport = any_port;
          s.sport = (h >> 34) % 2 ? 8080 : 6379;
          s.segs = static_cast<uint8_t>(1 + (h >> 50) % 4);
          s.req = static_cast<uint16_t>(80 + (h >> 20) % 500);
          s.last = static_cast<uint16_t>(100 + (h >> 30) % 1300);
          s.vxlan_sport = static_cast<uint16_t>(49152 + (h >> 44) % 16384);
          break;
        }
        case Cls::kLongTcp: {
          const auto j = static_cast<unsigned>(&s - slots[c].data());
          s.upload = j % 2 == 0;
          s.client_vm = true;
          s.client = kVm;
          s.server = ip4(198, 18, 5, int(1 + j));
          s.cport = static_cast<uint16_t>(40000 + j);
          s.sport = 873;
          break;
        }
        case Cls::kUdp:
          s.client_vm = h % 2;
          s.client = s.client_vm ? kVm : client_addr(h >> 8);
          s.server = s.client_vm ? ip4(198, 18, 7, 10) : kVm;
          s.cport = s.client_vm ? ephemeral : any_port;
          s.sport = s.client_vm ? 8125 : 7000;
          s.segs = static_cast<uint8_t>(1 + (h >> 50) % 6);
          break;
        case Cls::kCount:
          break;
      }
    }
    ++cls_packets[c];

    // The conversation's next packet: direction (client → server or back) and its bytes.
    PathPacket pp;
    bool c2s = true, done = false, full_upload = false;
    const bool tcp_session = cls == Cls::kShortTcp || cls == Cls::kIpip || cls == Cls::kVxlan;
    if (cls == Cls::kDns) {
      c2s = s.step == 0;
      uint8_t* u = pkt + 28;
      const std::size_t n = dns_message(u, s.dns_id, !c2s, mix(s.id));
      const uint16_t sp = c2s ? s.cport : s.sport, dp = c2s ? s.sport : s.cport;
      const uint32_t src = c2s ? s.client : s.server, dst = c2s ? s.server : s.client;
      put16(pkt + 20, sp);
      put16(pkt + 22, dp);
      put16(pkt + 24, static_cast<uint16_t>(8 + n));
      put16(pkt + 26, 0);
      ipv4(pkt, static_cast<uint16_t>(28 + n), c2s ? s.cid++ : s.sid++, 64, 17, src, dst);
      pp.len = 28 + n;
      done = ++s.step == 2;
    } else if (tcp_session) {
      const std::size_t mss = cls == Cls::kVxlan ? 1398 : cls == Cls::kIpip ? 1428 : 1448;
      const unsigned st = s.step;
      const unsigned data_end = 4u + s.segs;  // steps 4 .. data_end-1: response segments
      uint8_t flags = 0x10;
      std::size_t pay = 0;
      if (st == 0) {
        flags = 0x02;
      } else if (st == 1) {
        c2s = false;
        flags = 0x12;
      } else if (st == 3) {
        flags = 0x18;
        pay = s.req;
      } else if (st >= 4 && st < data_end) {
        c2s = false;
        const bool last_seg = st + 1 == data_end;
        pay = last_seg ? s.last : mss;
        flags = last_seg ? 0x18 : 0x10;
      } else if (st == data_end + 1) {
        flags = 0x11;
      } else if (st == data_end + 2) {
        c2s = false;
        flags = 0x11;
      }
      // st == 2 and st == data_end, data_end + 3: plain ACKs from the client
      const uint32_t ack = st == 0 ? 0 : c2s ? s.sseq : s.cseq;
      const uint32_t seq = c2s ? s.cseq : s.sseq;
      pp.len = tcp_packet(pkt, c2s ? s.client : s.server, c2s ? s.server : s.client, c2s ? s.cport : s.sport,
                          c2s ? s.sport : s.cport, c2s ? s.cid++ : s.sid++, seq, ack, flags, pay, i, pattern);
      const uint32_t adv = static_cast<uint32_t>(pay) + ((flags & 0x03) ? 1u : 0u);
      (c2s ? s.cseq : s.sseq) += adv;
      done = ++s.step == data_end + 4;
    } else if (cls == Cls::kLongTcp) {
      // The sender sends MSS segments (1 in 16 shorter, with PSH); the receiver acks every 2nd.
      const bool ack_now = s.unacked >= 2;
      const bool vm_sends = ack_now ? !s.upload : s.upload;
      c2s = vm_sends;  // the VM is the client of every long connection
      std::size_t pay = 0;
      uint8_t flags = 0x10;
      if (ack_now) {
        s.unacked = 0;
      } else {
        const bool short_seg = (r2 >> 20) % 16 == 0;
        pay = short_seg ? 200 + (r2 >> 24) % 1000 : 1448;
        flags = short_seg ? 0x18 : 0x10;
        full_upload = s.upload && !short_seg;
        ++s.unacked;
      }
      const uint32_t seq = c2s ? s.cseq : s.sseq;
      const uint32_t ack = c2s ? s.sseq : s.cseq;
      pp.len = tcp_packet(pkt, c2s ? s.client : s.server, c2s ? s.server : s.client, c2s ? s.cport : s.sport,
                          c2s ? s.sport : s.cport, c2s ? s.cid++ : s.sid++, seq, ack, flags, pay, i, pattern);
      (c2s ? s.cseq : s.sseq) += static_cast<uint32_t>(pay);
    } else {  // plain UDP, one way
      const std::size_t pay = 40 + (r2 >> 16) % 360;
      pp.len = udp_packet(pkt, s.client, s.server, s.cport, s.sport, s.cid++, pay, i, pattern);
      done = ++s.step == s.segs;
    }
    pp.inbound = c2s != s.client_vm;
    if (cls == Cls::kIpip && c2s) pp.ipip = true;
    if (cls == Cls::kVxlan) {
      pp.vtep_peer = s.peer;
      pp.vxlan_sport = s.vxlan_sport;
    }

    // Known loss.
    const uint64_t lr = mix(seed ^ i ^ 0x5eed) % 1000000;
    const auto slot_index = static_cast<unsigned>(&s - slots[c].data());
    const bool rule_in = field ? pp.ipip : (cls == Cls::kLongTcp && slot_index == 3 && pp.inbound && !s.upload &&
                                            pp.len > 40);
    if (rule_in) {
      ++eligible[0];
      if (lr < loss_in) {
        pp.first_missing = 1;  // B
        ++lost[0];
      }
    } else if (full_upload) {
      ++eligible[1];
      if (lr < loss_out) {
        pp.first_missing = 5;  // F
        ++lost[1];
      }
    }

    const int64_t t = kStartNs + static_cast<int64_t>(i) * kFieldGapNs + static_cast<int64_t>((r2 >> 40) % 1000);
    emit(i, t, pp);
    if ((i & 63) == 0) {
      for (auto& w : writers) w->flush_before(t - kHoldNs);
    }
    if (done) s.live = false;
  }
  const uint64_t flows = flow_keys.size();
  marker(kStartNs + static_cast<int64_t>(opt.packets) * kFieldGapNs + 300'000'000, 2);
  for (auto& w : writers) w->close();

  std::printf("wrote %llu packets (shape %s, seed %llu) into %s: ", static_cast<unsigned long long>(opt.packets),
              field ? "field" : "fewflows", static_cast<unsigned long long>(opt.seed), opt.out.c_str());
  bool first = true;
  for (int c = 0; c < static_cast<int>(Cls::kCount); ++c) {
    if (!cls_packets[c]) continue;
    std::printf("%s%s %llu packets in %llu conversations", first ? "" : ", ", kClsNames[c],
                static_cast<unsigned long long>(cls_packets[c]), static_cast<unsigned long long>(cls_sessions[c]));
    first = false;
  }
  std::printf("; +2 window markers per point\n");
  for (int p = kPoints - 1; p >= 0; --p) {
    std::printf("  %s %-4s %-24s %10llu packets %8.1f MB%s\n", kNames[p], kRoles[p], paths[p].c_str(),
                static_cast<unsigned long long>(written[p]), (24.0 + double(bytes[p])) / 1e6,
                p >= 5 ? "  (802.1Q VLAN 100)" : "");
  }
  std::printf("flows (one per direction and top-level layer, as pathtrace counts them, markers included): %llu\n",
              static_cast<unsigned long long>(flows));
  std::printf("lost at hop C→B: %llu (of %llu %s)\n", static_cast<unsigned long long>(lost[0]),
              static_cast<unsigned long long>(eligible[0]),
              field ? "IPIP packets" : "data segments of download connection 3");
  std::printf("lost at hop E→F: %llu (of %llu full-size upload segments)\n", static_cast<unsigned long long>(lost[1]),
              static_cast<unsigned long long>(eligible[1]));
  std::printf("duplicates at D: %llu\n", static_cast<unsigned long long>(dups));
  std::printf("expected_loss C B %llu %llu\n", static_cast<unsigned long long>(lost[0]),
              static_cast<unsigned long long>(eligible[0]));
  std::printf("expected_loss E F %llu %llu\n", static_cast<unsigned long long>(lost[1]),
              static_cast<unsigned long long>(eligible[1]));
  std::printf("expected_duplicates D %llu\n", static_cast<unsigned long long>(dups));
  std::printf("expected_flows %llu\n", static_cast<unsigned long long>(flows));
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options opt = parse_args(argc, argv);
  std::filesystem::create_directories(opt.out);
  switch (opt.shape) {
    case Shape::kTunnel:
      return write_tunnel(opt);
    case Shape::kField:
    case Shape::kFewFlows:
      return write_sessions(opt);
  }
  return 70;
} catch (const pathtrace::Error& e) {
  std::fprintf(stderr, "bench_offline_gen: %s\n", e.what());
  return static_cast<int>(e.code());
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_offline_gen: %s\n", e.what());
  return 70;
}
