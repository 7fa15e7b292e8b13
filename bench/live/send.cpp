// bench_live_send — sends UDP/IPv4 (or IPIP-wrapped UDP, like the incident) Ethernet frames on
// one interface at a fixed rate for a fixed time, and prints exactly how many it sent.
//
//   token bucket (CLOCK_MONOTONIC, busy-poll) ──batch of ≤ --batch frames──▶ sendmmsg()
//       ──▶ AF_PACKET socket (PACKET_QDISC_BYPASS) ──▶ --iface
//
// Every frame is unique: a 64-bit sequence number sits in the first 8 payload bytes (and its
// low 16 bits in the IPv4 ID), so a digest never repeats within a run.
// Only for a lab: run it inside a network namespace whose links lead nowhere else.
//
// Output (stdout), one line, machine-readable:
//   sent 1234567 packets in 3.000012 s (411521 pps, target 400000), 0 send errors
// Exit codes: 0 sent, 2 usage, 5 cannot open/bind the socket.

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitSocket = 5;
constexpr std::size_t kMaxBatch = 1024;
constexpr std::size_t kMinFrame = 60;  // Ethernet minimum without FCS
constexpr std::size_t kMaxFrame = 1514;

// What to send; filled from the command line.
struct SendOptions {
  std::string iface;
  std::array<uint8_t, 6> dst_mac{};
  std::array<uint8_t, 6> src_mac{};
  bool src_mac_given = false;
  uint32_t src_ip = 0, dst_ip = 0;        // host order
  uint32_t outer_src = 0, outer_dst = 0;  // IPIP outer addresses (host order)
  bool ipip = false;
  uint16_t sport = 40000, dport = 9;
  unsigned flows = 1;            // source ports sport .. sport+flows-1, round robin
  double rate = 0;               // packets/s, 0 = as fast as possible
  double duration_s = 3;
  std::size_t frame_len = kMinFrame;
  std::size_t batch = 64;
};

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "bench_live_send: %s\n"
               "usage: bench_live_send --iface IF --dst-mac MAC --src IP --dst IP\n"
               "         [--src-mac MAC] [--ipip OUTER_SRC,OUTER_DST] [--sport N] [--dport N]\n"
               "         [--flows N] [--rate PPS (0 = max)] [--duration S] [--size FRAME_BYTES]\n"
               "         [--batch N]\n",
               why.c_str());
  std::exit(kExitUsage);
}

bool parse_mac(std::string_view s, std::array<uint8_t, 6>& out) {
  unsigned v[6];
  if (std::sscanf(std::string(s).c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) {
    if (v[i] > 0xff) return false;
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return true;
}

bool parse_ip(std::string_view s, uint32_t& out) {
  in_addr a{};
  if (inet_pton(AF_INET, std::string(s).c_str(), &a) != 1) return false;
  out = ntohl(a.s_addr);
  return true;
}

double parse_number(std::string_view s, const char* what, double lo, double hi) {
  char* end = nullptr;
  const std::string text(s);
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(v >= lo && v <= hi))
    usage(std::string(what) + " '" + text + "': expected a number in " + std::to_string(lo) +
          ".." + std::to_string(hi));
  return v;
}

SendOptions parse_args(int argc, char** argv) {
  SendOptions o;
  bool have_dst_mac = false, have_src = false, have_dst = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") usage("help");
    if (i + 1 >= argc) usage("option " + std::string(a) + " needs a value");
    const std::string_view v = argv[++i];
    if (a == "--iface") {
      o.iface = v;
    } else if (a == "--dst-mac") {
      if (!parse_mac(v, o.dst_mac)) usage("--dst-mac: not a MAC address");
      have_dst_mac = true;
    } else if (a == "--src-mac") {
      if (!parse_mac(v, o.src_mac)) usage("--src-mac: not a MAC address");
      o.src_mac_given = true;
    } else if (a == "--src") {
      if (!parse_ip(v, o.src_ip)) usage("--src: not an IPv4 address");
      have_src = true;
    } else if (a == "--dst") {
      if (!parse_ip(v, o.dst_ip)) usage("--dst: not an IPv4 address");
      have_dst = true;
    } else if (a == "--ipip") {
      const auto comma = v.find(',');
      if (comma == std::string_view::npos || !parse_ip(v.substr(0, comma), o.outer_src) ||
          !parse_ip(v.substr(comma + 1), o.outer_dst))
        usage("--ipip: expected OUTER_SRC,OUTER_DST");
      o.ipip = true;
    } else if (a == "--sport") {
      o.sport = static_cast<uint16_t>(parse_number(v, "--sport", 1, 65535));
    } else if (a == "--dport") {
      o.dport = static_cast<uint16_t>(parse_number(v, "--dport", 1, 65535));
    } else if (a == "--flows") {
      o.flows = static_cast<unsigned>(parse_number(v, "--flows", 1, 4096));
    } else if (a == "--rate") {
      o.rate = parse_number(v, "--rate", 0, 1e9);
    } else if (a == "--duration") {
      o.duration_s = parse_number(v, "--duration", 0.001, 3600);
    } else if (a == "--size") {
      o.frame_len = static_cast<std::size_t>(parse_number(v, "--size", kMinFrame, kMaxFrame));
    } else if (a == "--batch") {
      o.batch = static_cast<std::size_t>(parse_number(v, "--batch", 1, kMaxBatch));
    } else {
      usage("unknown option " + std::string(a));
    }
  }
  if (o.iface.empty() || !have_dst_mac || !have_src || !have_dst)
    usage("--iface, --dst-mac, --src and --dst are required");
  const std::size_t headers = 14 + (o.ipip ? 20 : 0) + 20 + 8 + 8;  // + 8-byte sequence number
  if (o.frame_len < headers)
    usage("--size " + std::to_string(o.frame_len) + ": at least " + std::to_string(headers) +
          " bytes for these headers");
  return o;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

// Writes an IPv4 header (no options, DF clear, TTL 64) with its checksum.
void put_ipv4(uint8_t* h, std::size_t total_len, uint16_t id, uint8_t proto, uint32_t src,
              uint32_t dst) {
  h[0] = 0x45;
  h[1] = 0;
  put16(h + 2, static_cast<uint16_t>(total_len));
  put16(h + 4, id);
  put16(h + 6, 0);
  h[8] = 64;
  h[9] = proto;
  h[10] = h[11] = 0;
  put32(h + 12, src);
  put32(h + 16, dst);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += uint32_t(h[i]) << 8 | h[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(h + 10, static_cast<uint16_t>(~sum));
}

// The frame template and where the per-packet fields sit in it.
class FrameBuilder {
 public:
  explicit FrameBuilder(const SendOptions& o) : o_(o) {}

  // Writes frame number `seq` into `f` (frame_len bytes).
  void build(uint64_t seq, uint8_t* f) const {
    std::memset(f, 0, o_.frame_len);
    std::memcpy(f, o_.dst_mac.data(), 6);
    std::memcpy(f + 6, o_.src_mac.data(), 6);
    put16(f + 12, 0x0800);
    uint8_t* ip = f + 14;
    const auto id = static_cast<uint16_t>(seq);
    if (o_.ipip) {
      put_ipv4(ip, o_.frame_len - 14, id, 4, o_.outer_src, o_.outer_dst);
      ip += 20;
    }
    const std::size_t ip_len = o_.frame_len - std::size_t(ip - f);
    put_ipv4(ip, ip_len, id, 17, o_.src_ip, o_.dst_ip);
    uint8_t* udp = ip + 20;
    put16(udp, static_cast<uint16_t>(o_.sport + seq % o_.flows));
    put16(udp + 2, o_.dport);
    put16(udp + 4, static_cast<uint16_t>(ip_len - 20));
    put16(udp + 6, 0);  // no UDP checksum (allowed over IPv4)
    for (int i = 0; i < 8; ++i) udp[8 + i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  }

 private:
  const SendOptions& o_;
};

}  // namespace

int main(int argc, char** argv) {
  SendOptions o = parse_args(argc, argv);

  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: send only
  if (fd < 0) {
    std::fprintf(stderr, "bench_live_send: AF_PACKET socket: %s (needs root or CAP_NET_RAW)\n",
                 std::strerror(errno));
    return kExitSocket;
  }
  const unsigned ifindex = if_nametoindex(o.iface.c_str());
  if (ifindex == 0) {
    std::fprintf(stderr, "bench_live_send: interface %s not found\n", o.iface.c_str());
    return kExitSocket;
  }
  if (!o.src_mac_given) {
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", o.iface.c_str());
    if (::ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
      std::fprintf(stderr, "bench_live_send: %s: no hardware address: %s\n", o.iface.c_str(),
                   std::strerror(errno));
      return kExitSocket;
    }
    std::memcpy(o.src_mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  }
  // Straight to the driver: the qdisc would only add a lock and a queue to measure.
  const int one = 1;
  if (::setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
    std::fprintf(stderr, "bench_live_send: PACKET_QDISC_BYPASS: %s (continuing)\n",
                 std::strerror(errno));
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, o.dst_mac.data(), 6);

  // One buffer per batch slot; each send rewrites the slots it uses.
  const FrameBuilder builder(o);
  std::vector<uint8_t> frames(o.batch * o.frame_len);
  std::vector<iovec> iov(o.batch);
  std::vector<mmsghdr> msgs(o.batch);
  for (std::size_t i = 0; i < o.batch; ++i) {
    iov[i] = {frames.data() + i * o.frame_len, o.frame_len};
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  uint64_t sent = 0, errors = 0;
  std::size_t built = 0;  // slots [0, built) hold frames sent+0 .. sent+built-1
  const int64_t t0 = monotonic_ns();
  const int64_t end = t0 + static_cast<int64_t>(o.duration_s * 1e9);
  const double per_ns = o.rate / 1e9;
  int last_errno = 0;
  for (;;) {
    const int64_t now = monotonic_ns();
    if (now >= end) break;
    // Token bucket, depth one batch: send what the elapsed time allows, never more.
    std::size_t want = o.batch;
    if (o.rate > 0) {
      const auto allowed = static_cast<uint64_t>(double(now - t0) * per_ns) + 1;
      if (allowed <= sent) continue;  // busy-poll until the next token
      want = static_cast<std::size_t>(std::min<uint64_t>(allowed - sent, o.batch));
    }
    // Frames not accepted last time stay in their slots (shifted to the front).
    for (std::size_t i = built; i < want; ++i)
      builder.build(sent + i, frames.data() + i * o.frame_len);
    built = std::max(built, want);
    const int n = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(want), 0);
    if (n < 0) {
      if (errno != EINTR) {
        ++errors;
        last_errno = errno;
      }
      continue;
    }
    sent += static_cast<uint64_t>(n);
    const std::size_t left = built - static_cast<std::size_t>(n);
    if (left) std::memmove(frames.data(), frames.data() + std::size_t(n) * o.frame_len,
                           left * o.frame_len);
    built = left;
  }
  const double secs = double(monotonic_ns() - t0) / 1e9;
  ::close(fd);
  std::printf("sent %llu packets in %.6f s (%.0f pps, target %s), %llu send errors\n",
              static_cast<unsigned long long>(sent), secs, double(sent) / secs,
              o.rate > 0 ? std::to_string(static_cast<uint64_t>(o.rate)).c_str() : "max",
              static_cast<unsigned long long>(errors));
  if (errors)
    std::fprintf(stderr, "bench_live_send: last send error: %s\n", std::strerror(last_errno));
  return 0;
}
