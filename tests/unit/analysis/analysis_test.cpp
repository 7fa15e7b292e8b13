// analyze(): hand-built runs, each checked the way a person reads the report.

#include "correlator/analysis/analysis.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "correlator/analysis/translate.hpp"
#include "tests/unit/analysis/builder.hpp"

namespace pathtrace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using namespace testing_runs;

std::string flow_label(const Run& run, uint32_t id) { return run.report.flows.at(id - 1).label(); }

TEST(Analysis, IncidentDisappearsBetweenCAndB) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 200; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, kGtoC, ch);
  const pathtrace::Run run = b.analyze();

  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(flow_label(run, r.flow), "IPIP 198.51.100.7 \u2192 203.0.113.20");
  EXPECT_EQ(r.dir, Dir::kReverse);
  EXPECT_EQ(r.verdict, VerdictKind::kDisappears);
  EXPECT_EQ(r.summary,
            "disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): 200 of 200 lost (100%)");
  ASSERT_EQ(r.hops.size(), 6u);
  ASSERT_EQ(r.hop, 4);
  EXPECT_EQ(r.hops[4].from, 2);
  EXPECT_EQ(r.hops[4].to, 1);
  EXPECT_EQ(r.hops[4].in, 200u);
  EXPECT_EQ(r.hops[4].out, 0u);
  EXPECT_EQ(r.hops[4].lost, 200u);
  EXPECT_THAT(r.seen_at, ElementsAre(0, 0, 200, 200, 200, 200, 200));
  EXPECT_EQ(r.judged, 200u);
  EXPECT_EQ(r.lost, 200u);
  ASSERT_EQ(r.inner_flows.size(), 1u);
  EXPECT_EQ(flow_label(run, r.inner_flows[0]), "TCP 192.0.2.1:40000 \u2192 203.0.113.20:80");
  EXPECT_EQ(run.report.sightings, 1000u);
  EXPECT_EQ(run.traversals.size(), 200u);
  EXPECT_TRUE(run.report.warnings.empty());
  // Every traversal says where it was lost, and sightings are grouped by traversal.
  for (const Traversal& t : run.traversals) {
    EXPECT_EQ(t.fate, Fate::kLost);
    EXPECT_EQ(t.entry, 6);
    EXPECT_EQ(t.last_seen, 2);
    EXPECT_EQ(t.count, 5);
    for (uint32_t i = t.first; i < t.first + t.count; ++i) EXPECT_EQ(run.sightings[i].digest, t.digest);
  }
  // Ordered by digest, then time (the store's blocks rely on it).
  EXPECT_TRUE(std::is_sorted(run.traversals.begin(), run.traversals.end(), [](const Traversal& a, const Traversal& c) {
    return a.digest != c.digest ? a.digest < c.digest : a.t0_ns < c.t0_ns;
  }));
}

TEST(Analysis, FixedIncidentDelivered) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 200; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, kGtoA, ch);
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
  EXPECT_EQ(r.dir, Dir::kReverse);  // B..G share hv1's clock: G saw it first
  EXPECT_EQ(r.summary, "delivered: 200 of 200 reached A (vm eth0)");
  EXPECT_EQ(r.hop, -1);
  EXPECT_THAT(r.seen_at, ElementsAre(200, 200, 200, 200, 200, 200, 200));
  for (const HopStat& h : r.hops) EXPECT_EQ(h.lost, 0u);
}

TEST(Analysis, TcpFlowDeliveredBothWays) {
  Builder b;
  b.points = simple_points(3);
  const auto c2s = v4("10.0.0.1", "10.0.0.2", 6, 50000, 22);
  const auto s2c = v4("10.0.0.2", "10.0.0.1", 6, 22, 50000);
  const uint32_t fwd = b.chain("eth/ipv4/tcp", {c2s});
  const uint32_t rev = b.chain("eth/ipv4/tcp", {s2c});
  for (int i = 0; i < 50; ++i) {
    b.send(b.fresh_digest(), 1 * kS + i * kMs, {0, 1, 2}, {fwd, fwd, fwd}, 100, 0x18);
    b.send(b.fresh_digest(), 1 * kS + i * kMs + 500'000, {2, 1, 0}, {rev, rev, rev}, 60, 0x10);
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 2u);
  for (const FlowResult& r : run.report.results) {
    EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
    EXPECT_EQ(r.judged, 50u);
    if (flow_label(run, r.flow) == "TCP 10.0.0.1:50000 \u2192 10.0.0.2:22") {
      EXPECT_EQ(r.dir, Dir::kForward);
      EXPECT_EQ(r.summary, "delivered: 50 of 50 reached C (if2)");
    } else {
      EXPECT_EQ(flow_label(run, r.flow), "TCP 10.0.0.2:22 \u2192 10.0.0.1:50000");
      EXPECT_EQ(r.dir, Dir::kReverse);
      EXPECT_EQ(r.summary, "delivered: 50 of 50 reached A (if0)");
    }
    EXPECT_TRUE(r.inner_flows.empty());
  }
}

TEST(Analysis, PartialLossNamesTheHop) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 400; ++i) {
    const bool lost = i % 20 == 7;  // 20 of 400: 5 %
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, lost ? std::vector<unsigned>{6, 5, 4} : kGtoA, ch);
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss);
  EXPECT_EQ(r.summary, "partial loss between E (qvo qvobdd1f2c3-bd) and D (qvb qvbbdd1f2c3-bd): 20 of 400 lost (5.0%)");
  ASSERT_EQ(r.hop, 2);
  EXPECT_EQ(r.hops[2].in, 400u);
  EXPECT_EQ(r.hops[2].out, 380u);
  EXPECT_EQ(r.hops[2].lost, 20u);
  EXPECT_DOUBLE_EQ(r.hops[2].loss_pct(), 5.0);
  EXPECT_EQ(r.hops[1].lost, 0u);
  EXPECT_EQ(r.hops[3].lost, 0u);
  EXPECT_EQ(r.delivered, 380u);
  EXPECT_EQ(r.lost, 20u);
  // Lost every 20th packet: spread out in time, same size, same flow: nothing else to say.
  for (const std::string& f : r.findings) {
    EXPECT_THAT(f, ::testing::Not(HasSubstr("MTU")));
    EXPECT_THAT(f, ::testing::Not(HasSubstr("inner flows")));
  }
}

TEST(Analysis, SizesFindingForMtuProblem) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 400; ++i) {
    const bool big = i % 4 == 0;  // 100 big ones, all lost between D and C
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, big ? std::vector<unsigned>{6, 5, 4, 3} : kGtoA, ch,
           big ? uint16_t(1480 + i % 3 * 10) : 1400);
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss);
  EXPECT_EQ(r.summary, "partial loss between D (qvb qvbbdd1f2c3-bd) and C (qbr qbrbdd1f2c3-bd): 100 of 400 lost (25.0%)");
  EXPECT_THAT(r.findings, ::testing::Contains(
                              "all 100 lost packets were \u2265 1480 bytes on the wire; all 300 delivered were "
                              "1400 bytes: an MTU problem?"));
}

TEST(Analysis, InnerFlowFinding) {
  Builder b;
  b.points = incident_points();
  std::vector<std::vector<uint32_t>> chains;
  for (uint16_t c = 0; c < 40; ++c) {
    chains.push_back(incident_chains(b, v4("198.19.0.5", "203.0.113.20", 6, uint16_t(40000 + c), 80)));
  }
  for (int i = 0; i < 400; ++i) {
    const unsigned c = unsigned(i) % 40;
    const bool lost = c == 1 || c == 2;  // every packet of two inner flows
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, lost ? kGtoC : kGtoA, chains[c]);
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss);
  EXPECT_EQ(r.hop, 4);
  EXPECT_EQ(r.inner_flows.size(), 40u);
  EXPECT_THAT(r.findings, ::testing::Contains(
                              "all lost packets belong to 2 of 40 inner flows: TCP 198.19.0.5:40001 \u2192 "
                              "203.0.113.20:80, TCP 198.19.0.5:40002 \u2192 203.0.113.20:80 (none of their "
                              "packets got through)"));
}

TEST(Analysis, TcpFlagsFinding) {
  Builder b;
  b.points = simple_points(4);
  const uint32_t c = b.chain("eth/ipv4/tcp", {v4("10.0.0.1", "10.0.0.2", 6, 50000, 80)});
  const std::vector<uint32_t> ch(4, c);
  for (int i = 0; i < 400; ++i) {
    const bool syn = i % 25 == 0;  // 16 SYNs, all dropped between B and C
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, syn ? std::vector<unsigned>{0, 1} : std::vector<unsigned>{0, 1, 2, 3},
           ch, 74, syn ? 0x02 : 0x10);
  }
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss);
  EXPECT_EQ(r.summary, "partial loss between B (if1) and C (if2): 16 of 400 lost (4.0%)");
  EXPECT_THAT(r.findings, ::testing::Contains("all 16 lost packets are SYN (0 of the 384 delivered are)"));
}

TEST(Analysis, TimeFindingForBurstOfLoss) {
  Builder b;
  b.points = simple_points(3);
  const uint32_t c = b.chain("eth/ipv4/udp", {v4("10.0.0.1", "10.0.0.2", 17, 5000, 53)});
  const std::vector<uint32_t> ch(3, c);
  for (int i = 0; i < 800; ++i) {  // 8 s of traffic, losses from 1.20 s to 1.45 s
    const int64_t t = 200 * kMs + i * 10 * kMs;
    const bool lost = t >= 1200 * kMs && t <= 1450 * kMs;
    b.send(b.fresh_digest(), t, lost ? std::vector<unsigned>{0, 1} : std::vector<unsigned>{0, 1, 2}, ch);
  }
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss);
  EXPECT_EQ(r.hops[1].lost, 26u);
  bool found = false;
  for (const std::string& f : r.findings) found |= f.rfind("all losses between t+1.20 s and t+1.45 s", 0) == 0;
  EXPECT_TRUE(found) << ::testing::PrintToString(r.findings);
}

TEST(Analysis, HoleInTheMiddleIsNotALoss) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 200; ++i) {
    const bool e_missed = i % 50 == 0;  // E's capture missed 4 packets that passed it
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, e_missed ? std::vector<unsigned>{6, 5, 3, 2, 1, 0} : kGtoA, ch);
  }
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
  EXPECT_EQ(r.delivered, 200u);
  EXPECT_THAT(r.holes_at, ElementsAre(0, 0, 0, 0, 4, 0, 0));
  EXPECT_THAT(r.seen_at, ElementsAre(200, 200, 200, 200, 196, 200, 200));
  for (const HopStat& h : r.hops) EXPECT_FALSE(h.inconclusive);  // nothing lost: nothing to blame
  EXPECT_THAT(r.findings, ::testing::Contains("point E missed 4 packets that passed it (capture problem at E, not a drop)"));
}

TEST(Analysis, LateStartingPointIsNotBlamed) {
  Builder b;
  b.points = incident_points();
  b.points[0].start_ns = 3 * kS;  // the VM's capture started 3 s late
  const auto ch = incident_chains(b);
  for (int i = 0; i < 100; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, {6, 5, 4, 3, 2, 1}, ch);  // before A
  for (int i = 0; i < 100; ++i) b.send(b.fresh_digest(), 4 * kS + i * 10 * kMs, kGtoA, ch);
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
  EXPECT_EQ(r.out_of_window, 100u);
  EXPECT_EQ(r.judged, 100u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(run.report.window_start_ns, 3 * kS);  // when every point was capturing
  EXPECT_EQ(run.report.window_end_ns, 10 * kS);
  EXPECT_THAT(run.report.warnings,
              ::testing::Contains("point A was not capturing when 100 packets lost before it would have passed it "
                                  "(outside its stated capture window or its 100 ms guard, or before its first "
                                  "frame of a flow it saw later): they are not judged"));
  EXPECT_TRUE(run.report.points[0].health.usable);  // a late capture is still evidence while it ran
  EXPECT_EQ(run.report.points[0].health.problem, HealthProblem::kLate);
}

TEST(Analysis, CaptureLossMakesTheHopInconclusive) {
  Builder b;
  b.points = incident_points();
  b.points[1].pcap_drop = 250;  // B's own capture dropped as many packets as were lost, and more
  const auto ch = incident_chains(b);
  for (int i = 0; i < 200; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, kGtoC, ch);
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kInconclusive);
  EXPECT_EQ(r.hop, 4);
  EXPECT_TRUE(r.hops[4].inconclusive);
  EXPECT_EQ(r.hops[4].why, "point B lost 250 packets of its own capture");
  EXPECT_EQ(r.summary,
            "inconclusive: 200 lost between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd), but point B "
            "lost 250 packets of its own capture");
}

TEST(Analysis, CaptureLossSmallerThanTheLossDoesNotHideIt) {
  Builder b;
  b.points = incident_points();
  b.points[1].pcap_drop = 40;  // B dropped 40 packets of its own: they cannot explain 200 lost
  const auto ch = incident_chains(b);
  for (int i = 0; i < 200; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, kGtoC, ch);
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kDisappears);
  EXPECT_EQ(r.hop, 4);
  EXPECT_FALSE(r.hops[4].inconclusive);
  EXPECT_EQ(r.hops[4].why, "up to 40 of them may be: point B lost 40 packets of its own capture");
}

TEST(Analysis, DuplicatesAreOneTraversal) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 50; ++i) {
    const uint64_t d = b.fresh_digest();
    const int64_t t = 1 * kS + i * 10 * kMs;
    b.send(d, t, kGtoA, ch);
    if (i % 10 == 0) b.sightings.push_back({d, t + 3500, ch[3], 100, 3, 0});  // D re-sent it
  }
  const pathtrace::Run run = b.analyze();
  EXPECT_EQ(run.traversals.size(), 50u);
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
  EXPECT_EQ(r.duplicates, 5u);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_THAT(r.seen_at, ElementsAre(50, 50, 50, 50, 50, 50, 50));
  EXPECT_THAT(r.findings, ::testing::Contains("point D saw 5 duplicate copies of packets (counted once, not as loss)"));
  EXPECT_EQ(std::count_if(run.traversals.begin(), run.traversals.end(), [](const Traversal& t) { return t.count == 8; }),
            5);
}

TEST(Analysis, IdenticalPacketsBeyondMaxTransitAreSeparate) {
  Builder b;
  b.points = simple_points(3);
  const uint32_t c = b.chain("eth/ipv4/icmp", {v4("10.0.0.1", "10.0.0.2", 1)});
  for (int i = 0; i < 5; ++i) b.send(42, 1 * kS + i * kS, {0, 1, 2}, {c, c, c});  // same digest, 1 s apart
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.traversals.size(), 5u);
  for (const Traversal& t : run.traversals) EXPECT_EQ(t.count, 3);
  EXPECT_EQ(run.report.results.at(0).verdict, VerdictKind::kDelivered);
  EXPECT_EQ(run.report.results.at(0).duplicates, 0u);
}

TEST(Analysis, IdenticalPacketsWithinMaxTransitPairUp) {
  // An ICMP flood of identical packets every 10 ms (IPv4 ID 0): the i-th sighting at each
  // point pairs with the i-th elsewhere; the last 5 never reach C.
  Builder b;
  b.points = simple_points(3);
  const uint32_t c = b.chain("eth/ipv4/icmp", {v4("10.0.0.1", "10.0.0.2", 1)});
  for (int i = 0; i < 100; ++i) {
    b.send(7, 1 * kS + i * 10 * kMs, i < 95 ? std::vector<unsigned>{0, 1, 2} : std::vector<unsigned>{0, 1}, {c, c, c});
  }
  const pathtrace::Run run = b.analyze();
  EXPECT_EQ(run.traversals.size(), 100u);
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss);
  EXPECT_EQ(r.hops[1].lost, 5u);
  EXPECT_THAT(r.seen_at, ElementsAre(100, 100, 95));
}

TEST(Analysis, BothDirectionsInOneRun) {
  Builder b;
  b.points = simple_points(3);
  const uint32_t req = b.chain("eth/ipv4/icmp", {v4("10.0.0.1", "10.0.0.2", 1)});
  const uint32_t rep = b.chain("eth/ipv4/icmp", {v4("10.0.0.2", "10.0.0.1", 1)});
  for (int i = 0; i < 20; ++i) {
    b.send(b.fresh_digest(), 1 * kS + i * 100 * kMs, {0, 1, 2}, {req, req, req});  // requests delivered
    b.send(b.fresh_digest(), 1 * kS + i * 100 * kMs + kMs, {2, 1}, {rep, rep, rep});  // replies lost B → A
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 2u);
  const FlowResult& first = run.report.results[0];  // the interesting one first
  EXPECT_EQ(first.verdict, VerdictKind::kDisappears);
  EXPECT_EQ(first.dir, Dir::kReverse);
  EXPECT_EQ(first.summary, "disappears between B (if1) and A (if0): 20 of 20 lost (100%)");
  EXPECT_EQ(run.report.results[1].verdict, VerdictKind::kDelivered);
  EXPECT_EQ(run.report.results[1].dir, Dir::kForward);
}

TEST(Analysis, VxlanAddedBetweenFAndG) {
  Builder b;
  b.points = incident_points();
  const auto vxlan = v4("10.0.0.1", "10.0.0.2", 17, 0, 4789);
  auto ch = incident_chains(b);
  const uint32_t over_vxlan = b.chain("eth/ipv4/udp/vxlan/eth/vlan/ipv4[ipip]/ipv4/tcp", {vxlan, kIpip, kInnerTcp});
  ch[5] = ch[6] = over_vxlan;
  for (int i = 0; i < 100; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, kGtoA, ch);
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(flow_label(run, r.flow), "IPIP 198.51.100.7 \u2192 203.0.113.20");
  ASSERT_EQ(r.inner_flows.size(), 1u);
  EXPECT_EQ(flow_label(run, r.inner_flows[0]), "TCP 192.0.2.1:40000 \u2192 203.0.113.20:80");
  EXPECT_EQ(run.report.flows.size(), 2u);  // the VXLAN transport is not a flow of this run
  EXPECT_EQ(run.report.flows[r.inner_flows[0] - 1].parent, r.flow);
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
  for (std::size_t i = 0; i < run.report.flows.size(); ++i) EXPECT_EQ(run.report.flows[i].id, i + 1);
}

TEST(Analysis, PointWithNoPacketsDoesNotRestrictTheWindow) {
  Builder b;
  b.points = incident_points();
  b.points[0].window_known = false;  // A: an empty capture file without statistics
  b.points[0].start_ns = b.points[0].end_ns = 0;
  for (unsigned i = 1; i < 7; ++i) {
    b.points[i].start_ns = 2 * kS;
    b.points[i].end_ns = 9 * kS;
  }
  const auto ch = incident_chains(b);
  for (int i = 0; i < 100; ++i) b.send(b.fresh_digest(), 3 * kS + i * 10 * kMs, {6, 5, 4, 3, 2, 1}, ch);
  const pathtrace::Run run = b.analyze();
  EXPECT_EQ(run.report.window_start_ns, 2 * kS);
  EXPECT_EQ(run.report.window_end_ns, 9 * kS);
  EXPECT_THAT(run.report.warnings,
              ::testing::Contains("capture window unknown at point A (no frame and no stated start or stop): a "
                                  "packet lost just before it is judged only under the assumption that it was "
                                  "capturing"));
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.judged, 100u);
  EXPECT_EQ(r.verdict, VerdictKind::kDisappears);
  EXPECT_EQ(r.hop, 5);
  // A says nothing of when it captured: the loss between B and A rests on that, and says so.
  EXPECT_EQ(r.assumed, 100u);
  ASSERT_EQ(r.assumptions.size(), 1u);
  EXPECT_EQ(r.assumptions[0].kind, "window");
  EXPECT_THAT(r.assumptions[0].points, ElementsAre("A"));
  EXPECT_NE(r.summary.find(" — if A was capturing then"), std::string::npos) << r.summary;
}

TEST(Analysis, SinglePointIsNeverDelivered) {
  Builder b;
  b.points = simple_points(1);
  const uint32_t c = b.chain("eth/ipv4/udp", {v4("10.0.0.1", "10.0.0.2", 17, 1, 2)});
  for (int i = 0; i < 10; ++i) b.send(b.fresh_digest(), 1 * kS + i * kMs, {0}, {c});
  const pathtrace::Run run = b.analyze();
  const FlowResult& r = run.report.results.at(0);
  EXPECT_EQ(r.verdict, VerdictKind::kNotJudged);  // never "delivered A→A"
  EXPECT_EQ(r.summary, "not judged: one point only (a path needs two)");
  EXPECT_TRUE(r.hops.empty());
  EXPECT_THAT(r.seen_any, ElementsAre(10));  // what the point saw, judged or not
}

TEST(Analysis, OverMtuFramesAreFlagged) {
  Builder b;
  b.points = simple_points(2);
  b.points[1].over_mtu = 3;
  const uint32_t c = b.chain("eth/ipv4/tcp", {v4("10.0.0.1", "10.0.0.2", 6, 1, 2)});
  for (int i = 0; i < 3; ++i) b.send(b.fresh_digest(), 1 * kS + i * kMs, {0, 1}, {c, c}, 9000);
  const pathtrace::Run run = b.analyze();
  EXPECT_THAT(run.report.results.at(0).findings, ::testing::Contains(HasSubstr("point A saw 3 frames over 1518 bytes")));
  EXPECT_THAT(run.report.warnings, ::testing::Contains(HasSubstr("point B saw 3 frames over 1518 bytes")));
}

TEST(Analysis, NamesEveryVerdict) {
  EXPECT_STREQ(name(VerdictKind::kDelivered), "delivered");
  EXPECT_STREQ(name(VerdictKind::kDisappears), "disappears");
  EXPECT_STREQ(name(VerdictKind::kPartialLoss), "partial_loss");
  EXPECT_STREQ(name(VerdictKind::kInconclusive), "inconclusive");
  EXPECT_STREQ(name(VerdictKind::kNotJudged), "not_judged");
}

TEST(Analysis, EmptyRun) {
  const pathtrace::Run run = analyze(simple_points(2), {}, {});
  EXPECT_TRUE(run.report.results.empty());
  EXPECT_TRUE(run.traversals.empty());
  EXPECT_EQ(run.report.sightings, 0u);
}


// --- Address translation (rule 9): a floating IP's DNAT between D and C on A..E (one host),
// packets entering at E. A packet's digest before and after the hop differ only by the
// address hash (digest v2), as the parser computes them.

struct Nat {
  Builder b;
  packet::FlowKey before = v4("198.18.1.1", "198.18.1.10", 1);
  packet::FlowKey after = v4("198.18.1.1", "198.19.0.5", 1);
  std::vector<uint32_t> ch;  // per ord: the keys seen there
  Nat() {
    b.points = simple_points(5);
    const uint32_t pre = b.chain("eth/ipv4/icmp", {before});
    const uint32_t post = b.chain("eth/ipv4/icmp", {after});
    ch = {post, post, post, pre, pre};
  }
  // One packet entering at E at `t`, seen at `pre` before the hop and `post` after it.
  void send(int64_t t, std::vector<unsigned> pre, std::vector<unsigned> post, uint64_t h = 0) {
    if (h == 0) h = b.fresh_digest();
    b.send(h ^ packet::address_hash(before), t, pre, ch);
    if (!post.empty()) b.send(h ^ packet::address_hash(after), t + 5000, post, ch);
  }
};

TEST(Analysis, TranslatedPacketsArePairedAcrossTheHopAndDelivered) {
  Nat n;
  for (int i = 0; i < 50; ++i) n.send(1 * kS + i * 10 * kMs, {4, 3}, {2, 1, 0});
  const pathtrace::Run run = n.b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(flow_label(run, r.flow), "ICMP 198.18.1.1 \u2192 198.18.1.10");
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered);
  EXPECT_EQ(r.delivered, 50u);
  EXPECT_THAT(r.seen_at, ElementsAre(50, 50, 50, 50, 50));
  ASSERT_EQ(r.translations.size(), 1u);
  EXPECT_EQ(r.translations[0].from, 3);
  EXPECT_EQ(r.translations[0].to, 2);
  EXPECT_EQ(r.translations[0].before, "198.18.1.10");
  EXPECT_EQ(r.translations[0].after, "198.19.0.5");
  EXPECT_EQ(r.translations[0].packets, 50u);
  // One packet, one digest: the later sightings carry the earlier digest.
  ASSERT_EQ(run.traversals.size(), 50u);
  for (const Traversal& t : run.traversals) {
    EXPECT_EQ(t.count, 5);
    for (uint32_t i = t.first; i < t.first + t.count; ++i) EXPECT_EQ(run.sightings[i].digest, t.digest);
  }
  EXPECT_EQ(run.renamed.size(), 50u);
}

TEST(Analysis, ALossAfterTheTranslationIsBlamedOnItsOwnHop) {
  Nat n;
  for (int i = 0; i < 50; ++i) n.send(1 * kS + i * 10 * kMs, {4, 3}, {2});
  const pathtrace::Run run = n.b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kDisappears);
  EXPECT_EQ(r.summary, "disappears between C (if2) and B (if1): 50 of 50 lost (100%)");
  ASSERT_EQ(r.translations.size(), 1u);
}

TEST(Analysis, APacketThatAppearsTwoPointsLaterIsNotTakenForTheTranslatedOne) {
  Nat n;
  // C (usable: it sees other traffic) saw none of them: nothing says the hop translated them.
  for (int i = 0; i < 50; ++i) n.send(1 * kS + i * 10 * kMs, {4, 3}, {1, 0});
  for (int i = 0; i < 50; ++i) n.send(1 * kS + i * 10 * kMs + kMs, {4, 3}, {2, 1, 0});
  const pathtrace::Run run = n.b.analyze();
  const FlowResult* lossy = nullptr;
  for (const FlowResult& r : run.report.results)
    if (r.lost) lossy = &r;
  ASSERT_NE(lossy, nullptr);
  EXPECT_EQ(lossy->lost, 50u);
  EXPECT_THAT(lossy->summary, HasSubstr("between D (if3) and C (if2)"));
}

TEST(Analysis, TwoPacketsThatCouldBeTheTranslatedOneAreNeitherPaired) {
  Nat n;
  // The same invariant part twice after the hop: which one it became cannot be told.
  const packet::FlowKey other = v4("198.18.1.1", "198.19.0.6", 1);
  const uint32_t o = n.b.chain("eth/ipv4/icmp", {other});
  for (int i = 0; i < 20; ++i) {
    const uint64_t h = n.b.fresh_digest();
    n.send(1 * kS + i * 10 * kMs, {4, 3}, {2, 1, 0}, h);
    n.b.send(h ^ packet::address_hash(other), 1 * kS + i * 10 * kMs + 9000, {2, 1, 0}, {o, o, o, o, o});
  }
  const pathtrace::Run run = n.b.analyze();
  for (const FlowResult& r : run.report.results) EXPECT_TRUE(r.translations.empty());
  EXPECT_TRUE(run.renamed.empty());
}

TEST(Analysis, ATranslationSaysWhatChanged) {
  using analyzer::translation_text;
  const auto dnat = translation_text(v4("198.18.1.1", "198.18.1.10", 6, 40000, 8080),
                                     v4("198.18.1.1", "198.19.0.5", 6, 40000, 80));
  EXPECT_EQ(dnat.first, "198.18.1.10:8080");
  EXPECT_EQ(dnat.second, "198.19.0.5:80");
  const auto snat = translation_text(v4("198.19.0.5", "198.18.1.1", 17, 5353, 53),
                                     v4("198.18.1.10", "198.18.1.1", 17, 5353, 53));
  EXPECT_EQ(snat.first, "198.19.0.5");
  EXPECT_EQ(snat.second, "198.18.1.10");
  const auto both = translation_text(v4("198.19.0.5", "198.18.1.10", 1), v4("198.18.1.20", "198.19.0.6", 1));
  EXPECT_EQ(both.first, "198.19.0.5 \u2192 198.18.1.10");
  EXPECT_EQ(both.second, "198.18.1.20 \u2192 198.19.0.6");
}

// --- TSO/GSO: the sender's point A sees 64 KB aggregates, B and C the wire segments.

TEST(Analysis, AggregatesAtTheEntryAreNotJudgedAndTheSegmentsAreJudgedFromTheNextPoint) {
  Builder b;
  b.points = simple_points(3);
  const uint32_t c = b.chain("eth/ipv4/tcp", {v4("198.18.16.1", "198.18.16.2", 6, 40000, 5001)});
  const std::vector<uint32_t> ch = {c, c, c};
  for (int i = 0; i < 10; ++i) {
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, {0}, ch, 65000);  // the aggregate, at A only
    for (int k = 0; k < 44; ++k) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs + 20000 + k * 100, {1, 2}, ch, 1514);
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered) << r.summary;
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.aggregated, 10u);
  EXPECT_EQ(r.delivered, 440u);  // the segments, from B on
  EXPECT_EQ(r.summary, "delivered: 440 of 440 reached C (if2)");
}

TEST(Analysis, JumboFramesLostAfterTheEntryWithNoSegmentsBeyondAreStillLost) {
  Builder b;
  b.points = simple_points(3);
  const uint32_t c = b.chain("eth/ipv4/udp", {v4("198.18.16.1", "198.18.16.2", 17, 40000, 5001)});
  const std::vector<uint32_t> ch = {c, c, c};
  for (int i = 0; i < 20; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, {0, 1, 2}, ch, 1000);
  for (int i = 0; i < 20; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs + kMs, {0}, ch, 9014);
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kPartialLoss) << r.summary;
  EXPECT_EQ(r.lost, 20u);
  EXPECT_EQ(r.aggregated, 0u);
  EXPECT_THAT(r.summary, HasSubstr("between A (if0) and B (if1)"));
}

TEST(Analysis, IdenticalPacketsSentAgainArePairedInTheOrderTheyPassed) {
  Nat n;
  // The same datagram five times (IP ID 0, same payload): the same invariant part each time.
  const uint64_t h = n.b.fresh_digest();
  for (int i = 0; i < 5; ++i) n.send(1 * kS + i * 300 * kMs, {4, 3}, {2, 1, 0}, h);
  const pathtrace::Run run = n.b.analyze();
  ASSERT_EQ(run.report.results.size(), 1u);
  const FlowResult& r = run.report.results[0];
  EXPECT_EQ(r.verdict, VerdictKind::kDelivered) << r.summary;
  EXPECT_EQ(r.delivered, 5u);
  ASSERT_EQ(r.translations.size(), 1u);
  EXPECT_EQ(r.translations[0].packets, 5u);
  // Each traversal is one packet: five sightings, 1 µs apart, none 300 ms away.
  for (const Traversal& t : run.traversals) {
    EXPECT_EQ(t.count, 5);
    EXPECT_LT(run.sightings[t.first + t.count - 1].ts_ns - run.sightings[t.first].ts_ns, kMs);
  }
}

// From 2^18 sightings on, the sort and the grouping run on two threads, each on half the
// digests, into state of its own that is then added together: the same flows (ids, parents,
// labels), results, traversals and warnings as one thread makes.
TEST(Analysis, TwoThreadsMakeTheSameRunAsOne) {
  Builder b;
  busy_run(b, 6000, 45000, false);
  ASSERT_GE(b.sightings.size(), std::size_t{1} << 18);
  AnalysisOptions one;
  one.threads = 1;
  const std::string expected = run_text(b.analyze(one));
  const std::string got = run_text(b.analyze());
  EXPECT_THAT(expected, HasSubstr("disappears"));
  // The first line that differs (the whole text is a few MB).
  std::istringstream e(expected), g(got);
  std::string el, gl;
  for (std::size_t line = 1; std::getline(e, el); ++line) {
    ASSERT_TRUE(std::getline(g, gl)) << "two threads' run ends at line " << line;
    ASSERT_EQ(gl, el) << "line " << line;
  }
  EXPECT_FALSE(std::getline(g, gl)) << "two threads' run goes on: " << gl;
}

// Unfiltered captures hold link-local traffic (IGMP reports, mDNS, DHCP, broadcasts) that stops
// at the first router by design: not a loss (the live L3 lab once blamed its router for an IGMP
// report). A unicast flow stopping at the same hop still is one.
TEST(Analysis, LinkLocalDestinationsStoppingAtARouterAreNotJudged) {
  Builder b;
  b.points = simple_points(5);
  const uint32_t igmp = b.chain("eth/ipv4/igmp", {v4("0.0.0.0", "224.0.0.22", 2)});
  const uint32_t mdns6 = b.chain("eth/ipv6/udp", {[] {
                                   packet::FlowKey k;
                                   k.version = 6;
                                   k.proto = 17;
                                   k.src[0] = 0xfe, k.src[1] = 0x80, k.src[15] = 1;
                                   k.dst[0] = 0xff, k.dst[1] = 0x02, k.dst[15] = 0xfb;
                                   k.sport = k.dport = 5353;
                                   return k;
                                 }()});
  const uint32_t unicast = b.chain("eth/ipv4/udp", {v4("198.18.0.5", "198.18.1.1", 17, 4000, 53)});
  const std::vector<unsigned> a_to_c = {0, 1, 2};
  for (int i = 0; i < 3; ++i) {
    b.send(b.fresh_digest(), 1 * kS + i * kMs, a_to_c, std::vector<uint32_t>(5, igmp));
    b.send(b.fresh_digest(), 2 * kS + i * kMs, a_to_c, std::vector<uint32_t>(5, mdns6));
    b.send(b.fresh_digest(), 3 * kS + i * kMs, a_to_c, std::vector<uint32_t>(5, unicast));
  }
  const pathtrace::Run run = b.analyze();
  ASSERT_EQ(run.report.results.size(), 3u);
  int lost = 0;
  for (const FlowResult& r : run.report.results) {
    const std::string label = flow_label(run, r.flow);
    if (label.rfind("UDP 198.18.0.5", 0) == 0) {
      EXPECT_EQ(r.verdict, VerdictKind::kDisappears) << label;
      EXPECT_EQ(r.lost, 3u) << label;
      ++lost;
    } else {
      EXPECT_EQ(r.verdict, VerdictKind::kNotJudged) << label;
      EXPECT_EQ(r.lost, 0u) << label;
      EXPECT_EQ(r.summary, "not judged: a link-local destination, never forwarded past a router (where its 3 packets "
                           "stop is not a loss)")
          << label;
    }
  }
  EXPECT_EQ(lost, 1);
  EXPECT_EQ(run.report.results[0].verdict, VerdictKind::kDisappears) << "the headline is the unicast loss";
}

}  // namespace
}  // namespace pathtrace

