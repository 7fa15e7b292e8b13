// Clocks that disagree between hosts: offsets estimated from packets seen on two hosts, and a
// verdict that survives one host's clock being 30 s ahead.

#include "correlator/analysis/clocks.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "correlator/analysis/analysis.hpp"
#include "correlator/analysis/judge.hpp"

namespace pathtrace {
namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

packet::FlowKey v4(const char* src, const char* dst, uint8_t proto, uint16_t sport = 0, uint16_t dport = 0) {
  packet::FlowKey k;
  k.version = 4;
  k.proto = proto;
  inet_pton(AF_INET, src, k.src.data());
  inet_pton(AF_INET, dst, k.dst.data());
  k.sport = sport;
  k.dport = dport;
  return k;
}

// The incident across hosts: A on vm1, B..G on hv1; TCP 22 both ways at every point, IPIP
// from the director seen at G F E D C and never at B A.
struct Incident {
  std::vector<Point> points;
  std::vector<Chain> chains;
  std::vector<Sighting> sightings;
};

Incident make_incident() {
  Incident r;
  const char* labels[] = {"A", "B", "C", "D", "E", "F", "G"};
  const char* roles[] = {"vm", "tap", "qbr", "qvb", "qvo", "br-ethx", "nic"};
  for (int i = 0; i < 7; ++i) {
    Point p;
    p.label = labels[i];
    p.role = roles[i];
    p.host = i == 0 ? "vm1" : "hv1";
    p.iface = "if" + std::to_string(i);
    p.ord = uint8_t(i);
    p.start_ns = 0;
    p.end_ns = 10 * kS;
    p.window_known = true;
    r.points.push_back(p);
  }
  r.chains.push_back({"eth/ipv4/tcp", {v4("198.18.0.1", "198.18.0.20", 6, 50000, 22)}});
  r.chains.push_back({"eth/ipv4/tcp", {v4("198.18.0.20", "198.18.0.1", 6, 22, 50000)}});
  r.chains.push_back({"eth/ipv4[ipip]/ipv4/tcp",
                      {v4("198.18.0.1", "198.18.0.20", 4), v4("198.19.0.1", "198.18.0.100", 6, 40000, 80)}});
  uint64_t digest = 1;
  for (int k = 0; k < 20; ++k) {
    const int64_t t = 1 * kS + k * 100 * kMs;
    // Request: director → VM, G first (reverse along the path), 10 µs per point.
    for (int i = 6; i >= 0; --i) r.sightings.push_back({digest, t + (6 - i) * 10 * kUs, 0, 66, uint8_t(i), 0x18});
    ++digest;
    // Reply: VM → director, A first, 1 ms later.
    for (int i = 0; i <= 6; ++i) r.sightings.push_back({digest, t + kMs + i * 10 * kUs, 1, 66, uint8_t(i), 0x18});
    ++digest;
  }
  for (int k = 0; k < 200; ++k) {
    const int64_t t = 3 * kS + k * 5 * kMs;
    for (int i = 6; i >= 2; --i) r.sightings.push_back({digest, t + (6 - i) * 10 * kUs, 2, 64, uint8_t(i), 0x02});
    ++digest;
  }
  return r;
}

void shift_host(Incident& r, const std::string& host, int64_t by) {
  for (auto& p : r.points)
    if (p.host == host) p.start_ns += by, p.end_ns += by;
  for (auto& s : r.sightings)
    if (r.points[s.point].host == host) s.ts_ns += by;
}

const FlowResult* ipip_result(const Run& run) {
  for (const auto& fr : run.report.results)
    if (run.report.flows[fr.flow - 1].key.proto == 4) return &fr;
  return nullptr;
}

TEST(Clocks, OneHostThirtySecondsAheadStillGivesTheVerdict) {
  Incident r = make_incident();
  shift_host(r, "vm1", 30 * kS + 2 * kMs);
  const auto clocks = estimate_clocks(r.points, r.sightings);
  ASSERT_EQ(clocks.size(), 2u);
  EXPECT_TRUE(clocks[0].reference);
  EXPECT_EQ(clocks[0].host, "hv1");  // six of the seven points: the reference
  EXPECT_EQ(clocks[1].host, "vm1");
  ASSERT_TRUE(clocks[1].known);
  EXPECT_TRUE(clocks[1].both_ways);
  // Requests B→A take 10 µs, replies A→B 10 µs: the offset is exact to within them.
  EXPECT_NEAR(double(clocks[1].offset_ns), double(30 * kS + 2 * kMs), double(10 * kUs));
  EXPECT_LE(clocks[1].error_ns, 10 * kUs);
  EXPECT_EQ(describe(clocks[1], "hv1").rfind("clock of vm1 is 30.002 s ahead of hv1 (±", 0), 0u)
      << describe(clocks[1], "hv1");
  apply_clocks(clocks, r.points, r.sightings);
  pathtrace::Run run = analyze(r.points, r.chains, r.sightings);
  const FlowResult* ipip = ipip_result(run);
  ASSERT_NE(ipip, nullptr);
  EXPECT_EQ(ipip->verdict, VerdictKind::kDisappears);
  EXPECT_NE(ipip->summary.find("between C (qbr if2) and B (tap if1)"), std::string::npos) << ipip->summary;
  EXPECT_EQ(ipip->judged, 200u);
  EXPECT_EQ(ipip->lost, 200u);
}

TEST(Clocks, WithoutTheShiftPacketsCrossingTheHostsLookLost) {
  // What the estimate prevents: 30 s apart, a packet seen at B (hv1) and at A (vm1) is two
  // traversals, and flows crossing the hosts look lost at the hop between them.
  // As capture files give them: no stated window, only the first and last frame.
  Incident r = make_incident();
  shift_host(r, "hv1", 30 * kS);
  for (Point& p : r.points) {
    p.window_known = false;
    p.first_frame_ns = INT64_MAX;
    p.last_frame_ns = 0;
  }
  for (const Sighting& s : r.sightings) {
    Point& p = r.points[s.point];
    p.first_frame_ns = std::min(p.first_frame_ns, s.ts_ns);
    p.last_frame_ns = std::max(p.last_frame_ns, s.ts_ns);
  }
  pathtrace::Run run = analyze(r.points, r.chains, r.sightings);
  bool phantom = false;
  for (const auto& fr : run.report.results)
    phantom |= run.report.flows[fr.flow - 1].key.proto == 6 && fr.lost > 0;
  EXPECT_TRUE(phantom);
  // The IPIP loss is inside hv1 (C → B): its verdict needs no other host's clock.
  const FlowResult* ipip = ipip_result(run);
  ASSERT_NE(ipip, nullptr);
  EXPECT_EQ(ipip->verdict, VerdictKind::kDisappears);
}

TEST(Clocks, BehindAndOneWayOnly) {
  Incident r = make_incident();
  // Keep only the replies (VM → director) and the IPIP: packets between hosts go one way.
  std::vector<Sighting> kept;
  for (const auto& s : r.sightings)
    if (s.chain != 0) kept.push_back(s);
  r.sightings = kept;
  shift_host(r, "vm1", -5 * kS);
  const auto clocks = estimate_clocks(r.points, r.sightings);
  ASSERT_TRUE(clocks[1].known);
  EXPECT_FALSE(clocks[1].both_ways);
  EXPECT_NEAR(double(clocks[1].offset_ns), double(-5 * kS), double(20 * kUs));
  EXPECT_NE(describe(clocks[1], "hv1").find("behind hv1 (packets seen one way only"), std::string::npos)
      << describe(clocks[1], "hv1");
}

TEST(Clocks, SameHostOrNothingInCommonLeavesTimestampsAlone) {
  Incident r = make_incident();
  for (auto& p : r.points) p.host = "local";
  EXPECT_EQ(estimate_clocks(r.points, r.sightings).size(), 1u);
  Incident q = make_incident();
  std::vector<Sighting> hv_only;
  for (const auto& s : q.sightings)
    if (s.point != 0) hv_only.push_back(s);
  const auto clocks = estimate_clocks(q.points, hv_only);
  ASSERT_EQ(clocks.size(), 2u);
  EXPECT_FALSE(clocks[1].known);
  EXPECT_NE(describe(clocks[1], "vm1").find("could not be compared"), std::string::npos);
  const auto before = hv_only;
  apply_clocks(clocks, q.points, hv_only);
  EXPECT_EQ(hv_only.size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_EQ(hv_only[i].ts_ns, before[i].ts_ns);
}

TEST(Clocks, AGivenOffsetThePacketsContradictIsUsedAndSaidToBeWrong) {
  Incident r = make_incident();
  shift_host(r, "vm1", 500 * kMs);
  JudgeOptions opt;
  opt.given_offsets["vm1"] = 30 * kS;  // a typo for 0.5 s
  Collected in;
  in.points = r.points;
  in.chains = r.chains;
  in.sightings = r.sightings;
  const pathtrace::Run run = judge(std::move(in), opt);
  std::string note;
  for (const auto& w : run.report.warnings)
    if (w.rfind("clock of vm1", 0) == 0) note = w;
  EXPECT_EQ(note.rfind("clock of vm1 taken as 30.000 s ahead of hv1 (--clock); but 40 packets seen both ways put it "
                       "500.000 ms ahead (±",
                       0),
            0u)
      << note;
  EXPECT_NE(note.find("check the value given"), std::string::npos) << note;
  ASSERT_EQ(run.report.clocks.size(), 2u);
  EXPECT_EQ(run.report.clocks[1].method, "given");
  EXPECT_EQ(run.report.clocks[1].offset_ns, 30 * kS);
  // A right one is taken without a word more.
  Incident ok = make_incident();
  shift_host(ok, "vm1", 500 * kMs);
  opt.given_offsets["vm1"] = 500 * kMs;
  Collected in2;
  in2.points = ok.points;
  in2.chains = ok.chains;
  in2.sightings = ok.sightings;
  for (const auto& w : judge(std::move(in2), opt).report.warnings)
    if (w.rfind("clock of vm1", 0) == 0) {
      EXPECT_EQ(w, "clock of vm1 taken as 500.000 ms ahead of hv1 (--clock)");
    }
}

}  // namespace
}  // namespace pathtrace
