// Times analyze() on a synthetic run: 7 points, 1 M packets, 1 % lost between C and B,
// 40 inner TCP flows inside one IPIP flow. Not a test: prints ns per sighting.
//
//   analysis_timing [packets]     (default 1000000)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "correlator/analysis/analysis.hpp"

using namespace pathtrace;

int main(int argc, char** argv) {
  const std::size_t packets = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  constexpr unsigned kPoints = 7;
  constexpr unsigned kInner = 40;
  std::vector<Point> points(kPoints);
  for (unsigned i = 0; i < kPoints; ++i) {
    points[i].label = std::string(1, char('A' + i));
    points[i].host = i == 0 ? "vm1" : "hv1";
    points[i].ord = uint8_t(i);
    points[i].start_ns = 0;
    points[i].end_ns = 20'000'000'000;
    points[i].window_known = true;
  }
  std::vector<Chain> chains;
  packet::FlowKey outer;
  outer.version = 4;
  outer.proto = 4;
  outer.src = {198, 51, 100, 7};
  outer.dst = {203, 0, 113, 20};
  for (unsigned c = 0; c < kInner; ++c) {
    packet::FlowKey in;
    in.version = 4;
    in.proto = 6;
    in.src = {192, 0, 2, uint8_t(c)};
    in.dst = {203, 0, 113, 20};
    in.sport = uint16_t(40000 + c);
    in.dport = 80;
    chains.push_back({"eth/ipv4[ipip]/ipv4/tcp", {outer, in}});
    chains.push_back({"eth/vlan/ipv4[ipip]/ipv4/tcp", {outer, in}});
  }
  for (int round = 0; round < 3; ++round) {
    std::vector<Sighting> s;
    s.reserve(packets * kPoints);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    std::vector<uint64_t> digests(packets);
    for (auto& d : digests) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      d = x;
    }
    // Point by point, each in time order (what ingest of one file per point produces).
    for (unsigned p = kPoints; p-- > 0;) {
      for (std::size_t i = 0; i < packets; ++i) {
        const bool lost = i % 100 == 0;
        if (lost && p < 2) continue;
        const unsigned inner = unsigned(i % kInner);
        const uint32_t chain = inner * 2 + (p == 4 || p == 5 ? 1 : 0);
        const int64_t ts = 1'000'000'000 + int64_t(i) * 10'000 + int64_t(kPoints - p) * 1'000;
        s.push_back({digests[i], ts, chain, 1400, uint8_t(p), 0x10});
      }
    }
    const std::size_t n = s.size();
    const auto t0 = std::chrono::steady_clock::now();
    const Run run = analyze(points, chains, std::move(s));
    const auto t1 = std::chrono::steady_clock::now();
    const double ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    std::printf("%zu sightings, %zu traversals: %.3f s, %.1f ns/sighting; %s\n", n, run.traversals.size(),
                ns / 1e9, ns / double(n), run.report.results.empty() ? "-" : run.report.results[0].summary.c_str());
  }
  return 0;
}
