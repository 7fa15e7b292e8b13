#pragma once
// Hand-built runs for the analysis tests: the incident's path (A vm .. G nic), simple paths,
// flow keys, and a Builder that sends packets along a path as sightings.

#include <arpa/inet.h>

#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "correlator/analysis/analysis.hpp"

namespace pathtrace::testing_runs {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

inline packet::FlowKey v4(const char* src, const char* dst, uint8_t proto, uint16_t sport = 0, uint16_t dport = 0) {
  packet::FlowKey k;
  k.version = 4;
  k.proto = proto;
  inet_pton(AF_INET, src, k.src.data());
  inet_pton(AF_INET, dst, k.dst.data());
  k.sport = sport;
  k.dport = dport;
  return k;
}

// The incident's path: A (vm) .. G (nic), A on vm1, the rest on hv1, capturing 0..10 s.
inline std::vector<Point> incident_points() {
  struct P {
    const char *label, *role, *iface, *host;
  };
  const P ps[] = {{"A", "vm", "eth0", "vm1"},
                  {"B", "tap", "tapbdd1f2c3-bd", "hv1"},
                  {"C", "qbr", "qbrbdd1f2c3-bd", "hv1"},
                  {"D", "qvb", "qvbbdd1f2c3-bd", "hv1"},
                  {"E", "qvo", "qvobdd1f2c3-bd", "hv1"},
                  {"F", "ethx", "br-ethx", "hv1"},
                  {"G", "nic", "eth1", "hv1"}};
  std::vector<Point> out;
  for (const P& p : ps) {
    Point pt;
    pt.label = p.label;
    pt.role = p.role;
    pt.iface = p.iface;
    pt.host = p.host;
    pt.ord = uint8_t(out.size());
    pt.start_ns = 0;
    pt.end_ns = 10 * kS;
    pt.window_known = true;
    out.push_back(pt);
  }
  return out;
}

// Points on one host named A, B, C...; roles and interfaces left empty.
inline std::vector<Point> simple_points(unsigned n) {
  std::vector<Point> out;
  for (unsigned i = 0; i < n; ++i) {
    Point p;
    p.label = std::string(1, char('A' + i));
    p.iface = "if" + std::to_string(i);
    p.ord = uint8_t(i);
    p.start_ns = 0;
    p.end_ns = 10 * kS;
    p.window_known = true;
    out.push_back(p);
  }
  return out;
}

inline const packet::FlowKey kIpip = v4("198.51.100.7", "203.0.113.20", 4);
inline const packet::FlowKey kInnerTcp = v4("192.0.2.1", "203.0.113.20", 6, 40000, 80);

// A run under construction.
struct Builder {
  std::vector<Point> points;
  std::vector<Chain> chains;
  std::vector<Sighting> sightings;
  uint64_t next_digest = 0x1234'5678'9abc'def0ull;

  uint32_t chain(std::string stack, std::vector<packet::FlowKey> ip) {
    chains.push_back({std::move(stack), std::move(ip)});
    return uint32_t(chains.size() - 1);
  }
  uint64_t fresh_digest() {
    next_digest = next_digest * 6364136223846793005ull + 1442695040888963407ull;
    return next_digest;
  }
  // One packet entering at `t` and seen at `ords` (in travel order), 1 µs apart.
  void send(uint64_t digest, int64_t t, std::vector<unsigned> ords, const std::vector<uint32_t>& chain_at,
            uint16_t len = 100, uint8_t flags = 0) {
    int64_t ts = t;
    for (unsigned o : ords) {
      sightings.push_back({digest, ts, chain_at[o], len, uint8_t(o), flags});
      ts += 1000;
    }
  }
  Run analyze(const AnalysisOptions& opt = {}) { return pathtrace::analyze(points, chains, sightings, opt); }
};

// Chains of the incident: VLAN-tagged at E and F (br-int, br-ethx), plain elsewhere.
inline std::vector<uint32_t> incident_chains(Builder& b, const packet::FlowKey& inner = kInnerTcp) {
  const uint32_t plain = b.chain("eth/ipv4[ipip]/ipv4/tcp", {kIpip, inner});
  const uint32_t tagged = b.chain("eth/vlan/ipv4[ipip]/ipv4/tcp", {kIpip, inner});
  return {plain, plain, plain, plain, tagged, tagged, plain};
}

inline const std::vector<unsigned> kGtoA = {6, 5, 4, 3, 2, 1, 0};
inline const std::vector<unsigned> kGtoC = {6, 5, 4, 3, 2};

// A busy run on the incident's points: `flows` flows (IPIP tunnels with an inner TCP flow, and
// UDP), `packets` packets 100 µs apart both ways, every 20th lost between C and B, duplicates
// at D, some sent again 2 s later; with `translated`, every 40th also an ICMP packet whose
// address is translated between E and D (every fifth of those lost before the hop).
inline void busy_run(Builder& b, unsigned flows, unsigned packets, bool translated) {
  b.points = incident_points();
  std::vector<std::vector<uint32_t>> chain_of;  // per flow: its chain at each ord
  for (unsigned f = 0; f < flows; ++f) {
    const auto inner = v4("192.0.2.1", "203.0.113.20", 6, uint16_t(10000 + f / 2), 80);
    const uint32_t c = f % 2 ? b.chain("eth/ipv4[ipip]/ipv4/tcp", {kIpip, inner})
                             : b.chain("eth/ipv4/udp", {v4("10.0.0.1", "10.0.0.2", 17, uint16_t(f), 53)});
    chain_of.push_back(std::vector<uint32_t>(7, c));
  }
  const packet::FlowKey before = v4("198.18.1.1", "198.18.1.10", 1), after = v4("198.18.1.1", "198.19.0.5", 1);
  const uint32_t pre = b.chain("eth/ipv4/icmp", {before}), post = b.chain("eth/ipv4/icmp", {after});
  const std::vector<uint32_t> nat = {post, post, post, post, pre, pre, pre};
  const std::vector<unsigned> dup_at_d = {6, 5, 4, 3, 3, 2, 1, 0};
  const std::vector<unsigned> a_to_g = {0, 1, 2, 3, 4, 5, 6};
  for (unsigned i = 0; i < packets; ++i) {
    const auto& ch = chain_of[(i * 7919u) % chain_of.size()];
    const int64_t t = 1 * kS + int64_t(i) * 100'000;
    const uint64_t d = b.fresh_digest();
    b.send(d, t, i % 20 == 0 ? kGtoC : i % 50 == 1 ? dup_at_d : i % 9 == 2 ? a_to_g : kGtoA, ch);
    if (i % 333 == 3) b.send(d, t + 2 * kS, kGtoA, ch);  // the same packet sent again
    if (translated && i % 40 == 5) {
      const uint64_t h = b.fresh_digest();
      b.send(h ^ packet::address_hash(before), t, {6, 5, 4}, nat);
      if (i % 200 != 5) b.send(h ^ packet::address_hash(after), t + 5000, {3, 2, 1, 0}, nat);
    }
  }
}

// Everything of a run a report or the store shows, as text: its flows, results, traversals
// with their sightings, and warnings.
inline std::string run_text(const Run& run) {
  const std::span<const Sighting> all = run.all_sightings();
  std::ostringstream o;
  for (const Flow& f : run.report.flows) o << "flow " << f.id << " " << f.parent << " " << f.label() << "\n";
  run.results.for_each([&](const FlowResult& r) {
    o << "result " << r.flow << " " << int(r.dir) << " " << r.traversals << " " << r.judged << " " << r.delivered
      << " " << r.lost << " " << r.out_of_window << " " << r.no_entry << " " << r.aggregated << " "
      << r.duplicates << " " << r.assumed << " " << name(r.verdict) << " " << r.hop << " " << r.summary << " |";
    for (auto* v : {&r.seen_at, &r.holes_at, &r.seen_any})
      for (uint64_t x : *v) o << " " << x;
    for (const HopStat& h : r.hops)
      o << " [" << int(h.from) << ">" << int(h.to) << " " << h.in << " " << h.out << " " << h.lost << " "
        << h.delay_samples << " " << h.delay_min_ns << " " << h.delay_mean_ns << " " << h.why << "]";
    for (const std::string& f : r.findings) o << " {" << f << "}";
    for (uint32_t f : r.inner_flows) o << " <" << f << ">";
    o << "\n";
  });
  o << "listed " << run.report.results.size() << " omitted " << run.report.omitted.results << " "
    << run.report.omitted.delivered << "\n";
  for (const Traversal& t : run.all_traversals()) {
    o << "trav " << t.digest << " " << t.t0_ns << " " << t.first << " " << t.count << " " << t.flow << " "
      << t.inner_flow << " " << t.seen << " " << int(t.fate) << " " << int(t.dir) << " " << int(t.entry) << " "
      << int(t.last_seen) << " " << t.wire_len << " " << int(t.tcp_flags) << " " << int(t.assumed) << ":";
    for (uint32_t i = t.first; i < t.first + t.count; ++i)
      o << " " << int(all[i].point) << "@" << all[i].ts_ns << "/" << all[i].chain << "#" << all[i].digest;
    o << "\n";
  }
  for (const std::string& w : run.report.warnings) o << "warning " << w << "\n";
  return o.str();
}

}  // namespace pathtrace::testing_runs
