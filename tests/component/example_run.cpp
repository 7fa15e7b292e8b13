#include "tests/component/example_run.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace pathtrace::test {
namespace {

packet::FlowKey v4_key(std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst, uint8_t proto,
                       uint16_t sport = 0, uint16_t dport = 0) {
  packet::FlowKey k;
  k.version = 4;
  k.proto = proto;
  for (std::size_t i = 0; i < 4; ++i) {
    k.src[i] = src[i];
    k.dst[i] = dst[i];
  }
  k.sport = sport;
  k.dport = dport;
  return k;
}

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z

}  // namespace

Run example_run() {
  Run run;
  Report& r = run.report;
  r.started = "2023-11-14T22:13:20Z";
  r.command = "pathtrace ingest --filter ipip A=A.pcap B=B.pcap C=C.pcap D=D.pcap E=E.pcap F=F.pcap G=G.pcap";
  r.filter = "ipip";
  r.window_start_ns = kT0;
  r.window_end_ns = kT0 + 10'000'000'000;
  r.warnings = {"point D: 1 truncated frame (its capture may have missed packets)"};

  const char* roles[] = {"vm", "tap", "qbr", "qvb", "qvo", "br-ethx", "nic"};
  const char* ifaces[] = {"eth0", "tapbdd1f2c3-bd", "qbrbdd1f2c3-bd", "qvbbdd1f2c3-bd",
                          "qvobdd1f2c3-bd", "br-ethx", "eth1"};
  for (uint8_t i = 0; i < 7; ++i) {
    Point p;
    p.label = std::string(1, char('A' + i));
    p.role = roles[i];
    p.host = i == 0 ? "vm1" : "hv1";
    p.iface = ifaces[i];
    p.source = p.label + ".pcap";
    p.ord = i;
    p.packets = i < 2 ? 1 : 4;
    p.bytes = i < 2 ? 98 : 98 + 3 * 174;
    p.digested = p.packets;
    p.start_ns = kT0 - 1'000'000'000;
    p.end_ns = kT0 + 11'000'000'000;
    p.window_known = true;
    r.points.push_back(p);
  }
  r.points[3].discarded[1] = 1;  // one truncated frame at D
  r.points[3].packets += 1;

  Flow ipip{1, 0, v4_key({198, 51, 100, 7}, {203, 0, 113, 20}, 4)};  // IPIP 198.51.100.7 → 203.0.113.20
  Flow tcp{2, 1, v4_key({192, 0, 2, 1}, {203, 0, 113, 20}, 6, 40000, 80)};  // TCP 192.0.2.1:40000 → 203.0.113.20:80
  Flow icmp{3, 0, v4_key({203, 0, 113, 20}, {198, 51, 100, 7}, 1)};  // ICMP 203.0.113.20 → 198.51.100.7
  r.flows = {ipip, tcp, icmp};

  run.chains.push_back({"eth/ipv4[ipip]/ipv4/tcp", {ipip.key, tcp.key}});
  run.chains.push_back({"eth/vlan/ipv4[ipip]/ipv4/tcp", {ipip.key, tcp.key}});
  run.chains.push_back({"eth/ipv4/icmp", {icmp.key}});

  // Three IPIP packets enter at G (the NIC) and travel towards A: seen G F E D C, lost before B.
  const uint64_t digests[] = {0x1f2e3d4c5b6a7988ull, 0x2a2b2c2d2e2f3031ull, 0xfedcba9876543210ull};
  for (int k = 0; k < 3; ++k) {
    Traversal t;
    t.digest = digests[k];
    t.flow = 1;
    t.inner_flow = 2;
    t.t0_ns = kT0 + 1'000'000'000 + k * 1'000'000;
    t.first = uint32_t(run.sightings.size());
    t.count = 5;
    t.fate = Fate::kLost;
    t.dir = Dir::kReverse;
    t.entry = 6;
    t.last_seen = 2;
    t.wire_len = 174;
    t.tcp_flags = 0x18;
    for (int ord = 6; ord >= 2; --ord) {
      Sighting s;
      s.digest = t.digest;
      s.ts_ns = t.t0_ns + (6 - ord) * 3'000;
      s.point = uint8_t(ord);
      s.chain = (ord == 5 || ord == 4) ? 1 : 0;  // tagged on br-ethx and qvo
      s.wire_len = (ord == 5 || ord == 4) ? 178 : 174;
      s.tcp_flags = 0x18;
      t.seen |= uint64_t(1) << ord;
      run.sightings.push_back(s);
    }
    run.traversals.push_back(t);
  }
  // One ICMP reply from the VM, A → G, delivered.
  {
    Traversal t;
    t.digest = 0x0123456789abcdefull;
    t.flow = 3;
    t.inner_flow = 3;
    t.t0_ns = kT0 + 1'500'000'000;
    t.first = uint32_t(run.sightings.size());
    t.count = 7;
    t.fate = Fate::kDelivered;
    t.dir = Dir::kForward;
    t.entry = 0;
    t.last_seen = 6;
    t.wire_len = 98;
    for (int ord = 0; ord < 7; ++ord) {
      Sighting s;
      s.digest = t.digest;
      s.ts_ns = t.t0_ns + ord * 2'500;
      s.point = uint8_t(ord);
      s.chain = 2;
      s.wire_len = 98;
      t.seen |= uint64_t(1) << ord;
      run.sightings.push_back(s);
    }
    run.traversals.push_back(t);
  }
  r.sightings = run.sightings.size();
  // In digest order, as the analysis hands them to the store: the ICMP reply (0x0123…) is
  // traversal 0, the IPIP packets 1-3; 0xfedc… is negative as a signed integer, so it gets a
  // block of its own.
  std::sort(run.traversals.begin(), run.traversals.end(),
            [](const Traversal& a, const Traversal& b) { return a.digest < b.digest; });

  FlowResult lost;
  lost.flow = 1;
  lost.dir = Dir::kReverse;
  lost.traversals = lost.judged = lost.lost = 3;
  lost.seen_at = {0, 0, 3, 3, 3, 3, 3};
  lost.holes_at = {0, 0, 0, 0, 0, 0, 0};
  for (int from = 6; from > 0; --from) {
    HopStat h;
    h.from = uint8_t(from);
    h.to = uint8_t(from - 1);
    h.in = from >= 2 ? 3 : 0;
    h.out = from >= 3 ? 3 : 0;
    h.lost = h.in - h.out;
    if (from == 3 || from == 4) {
      h.inconclusive = false;  // D's truncated frame was not this flow's (it was seen at D)
    }
    lost.hops.push_back(h);
  }
  lost.verdict = VerdictKind::kDisappears;
  lost.hop = 4;
  lost.summary = "disappears between C (qbrbdd1f2c3-bd) and B (tapbdd1f2c3-bd): 3 of 3 lost";
  lost.findings = {"all 3 lost packets were TCP PSH+ACK of 174 bytes",
                   "inner flow TCP 192.0.2.1:40000 → 203.0.113.20:80 lost 3 of 3"};
  lost.inner_flows = {2};

  FlowResult ok;
  ok.flow = 3;
  ok.dir = Dir::kForward;
  ok.traversals = ok.judged = ok.delivered = 1;
  ok.seen_at = {1, 1, 1, 1, 1, 1, 1};
  ok.holes_at = {0, 0, 0, 0, 0, 0, 0};
  for (int from = 0; from < 6; ++from) {
    HopStat h;
    h.from = uint8_t(from);
    h.to = uint8_t(from + 1);
    h.in = h.out = 1;
    if (from == 2 || from == 3) {
      h.inconclusive = true;
      h.why = "point D lost 1 frame in capture";
    }
    ok.hops.push_back(h);
  }
  ok.verdict = VerdictKind::kDelivered;
  ok.summary = "delivered: 1 of 1 reached G";
  r.results = {lost, ok};
  run.results = RankedResults(r.results);  // every result, as the store writes them
  return run;
}

Run big_run(std::size_t points, std::size_t traversals) {
  Run run;
  Report& r = run.report;
  r.started = "2023-11-14T22:13:20Z";
  r.command = "synthetic";
  for (std::size_t i = 0; i < points; ++i) {
    Point p;
    p.label = std::string(1, char('A' + i));
    p.ord = uint8_t(i);
    p.packets = traversals;
    r.points.push_back(p);
  }
  Flow f{1, 0, v4_key({198, 51, 100, 7}, {203, 0, 113, 20}, 4)};  // IPIP 198.51.100.7 → 203.0.113.20
  r.flows = {f};
  run.chains.push_back({"eth/ipv4[ipip]/ipv4/tcp", {f.key}});
  run.traversals.reserve(traversals);
  run.sightings.reserve(traversals * points);
  // Random digests, sent 10 µs apart; stored in digest order like the analysis makes them.
  std::vector<std::pair<uint64_t, int64_t>> packets(traversals);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (std::size_t k = 0; k < traversals; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    packets[k] = {x, kT0 + int64_t(k) * 10'000};
  }
  std::sort(packets.begin(), packets.end());
  for (const auto& [digest, t0] : packets) {
    x = digest;
    Traversal t;
    t.digest = x;
    t.flow = 1;
    t.inner_flow = 1;
    t.t0_ns = t0;
    t.first = uint32_t(run.sightings.size());
    t.count = uint16_t(points);
    t.entry = 0;
    t.last_seen = uint8_t(points - 1);
    t.wire_len = uint16_t(60 + x % 1400);
    for (std::size_t p = 0; p < points; ++p) {
      Sighting s;
      s.digest = x;
      s.ts_ns = t.t0_ns + int64_t(p) * 2'700 + int64_t(x % 97);
      s.point = uint8_t(p);
      s.wire_len = t.wire_len;
      t.seen |= uint64_t(1) << p;
      run.sightings.push_back(s);
    }
    run.traversals.push_back(t);
  }
  r.sightings = run.sightings.size();
  return run;
}

}  // namespace pathtrace::test
