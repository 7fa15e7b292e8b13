// bench_offline_gen — writes a 7-point capture set A..G for the offline benchmark.
//
//   G (nic) → F (br-ethx) → E (qvo) → D (qvb) → C (qbr) → B (tap) → A (vm)
//   F and G frames carry 802.1Q VLAN 100; TTL differs per point; a few µs per hop.
//   Known loss: --loss-pct of the IPIP packets vanish between C and B (seen G..C, not B, A).
//   Known duplicates: every --dup-every'th packet is captured twice at D.
//   Every point also sees one ICMP marker 300 ms before and after the traffic (capture window).
//
// Prints what it wrote and, for run.sh, machine-readable lines:
//   expected_loss C B <lost> <ipip_packets>
//   expected_duplicates D <n>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
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
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
uint32_t ip4(int a, int b, int c, int d) {
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
  kTunnel,  // one IPIP tunnel, some TCP, UDP, ICMP: few flows (the original set, the default)
};

struct Options {
  Shape shape = Shape::kTunnel;
  uint64_t packets = 1000000;
  std::string out = "bench/out";
  double loss_pct = 5.0;
  uint64_t dup_every = 9973;
  uint32_t snaplen = 262144;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "%s\nusage: bench_offline_gen [--shape tunnel] [--packets N] [--out DIR] [--loss-pct P] [--dup-every N] "
               "[--snaplen N]\n",
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
        } else {
          usage(("unknown shape " + v).c_str());
        }
      } else if (a == "--packets") {
        o.packets = std::stoull(value());
      } else if (a == "--out") {
        o.out = value();
      } else if (a == "--loss-pct") {
        o.loss_pct = std::stod(value());
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

}  // namespace

int main(int argc, char** argv) try {
  const Options opt = parse_args(argc, argv);
  std::filesystem::create_directories(opt.out);
  switch (opt.shape) {
    case Shape::kTunnel:
      return write_tunnel(opt);
  }
  return 70;
} catch (const pathtrace::Error& e) {
  std::fprintf(stderr, "bench_offline_gen: %s\n", e.what());
  return static_cast<int>(e.code());
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_offline_gen: %s\n", e.what());
  return 70;
}
