// describe(): the sentences hand-made numbers support, and the ones they do not.

#include "correlator/analysis/findings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/analysis/builder.hpp"

namespace pathtrace {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace testing_runs;

constexpr int64_t kOrigin = 1'700'000'000 * kS;  // when the first point started capturing

struct Names {
  std::vector<Point> points = simple_points(3);
  std::vector<Flow> flows;
  Names() {
    for (uint32_t id = 1; id <= 11; ++id) {
      Flow f;
      f.id = id;
      f.parent = id == 1 ? 0 : 1;
      // "IPIP 10.0.0.1 → 10.0.0.2", "TCP 10.1.0.<id>:80 → 10.2.0.1:80"
      f.key = id == 1 ? v4("10.0.0.1", "10.0.0.2", 4) : v4(("10.1.0." + std::to_string(id)).c_str(), "10.2.0.1", 6, 80, 80);
      flows.push_back(f);
    }
  }
  FindingsContext context() const { return {points, flows, 1518, kOrigin}; }
};

// Times default to half the flow's span: neither a burst nor a spread.
PacketSide side(uint64_t packets, uint16_t len_min, uint16_t len_max, int64_t t_min = kOrigin + 1 * kS,
                int64_t t_max = kOrigin + 6 * kS) {
  PacketSide s;
  s.packets = packets;
  s.len_min = len_min;
  s.len_max = len_max;
  s.t_min = t_min;
  s.t_max = t_max;
  return s;
}

// A partial loss of flow 1 with `lost` against `passed`, over the flow's 0..10 s.
LossCharacter partial(PacketSide lost, PacketSide passed) {
  LossCharacter c;
  c.flow = 1;
  c.holes_at = c.duplicates_at = c.over_mtu_at = {0, 0, 0};
  HeadlineComparison h;
  h.lost = lost;
  h.passed = passed;
  h.judged_t_min = kOrigin;
  h.judged_t_max = kOrigin + 10 * kS;
  c.headline = h;
  return c;
}

TEST(Findings, BigLostSmallDeliveredIsAnMtuQuestion) {
  const Names n;
  const auto c = partial(side(100, 1480, 1500), side(300, 60, 1400));
  EXPECT_THAT(describe(c, n.context()),
              ElementsAre("all 100 lost packets were \u2265 1480 bytes on the wire; all 300 delivered were "
                          "\u2264 1400 bytes: an MTU problem?"));
}

TEST(Findings, SmallLostBigDeliveredIsSaidWithoutTheQuestion) {
  const Names n;
  const auto c = partial(side(5, 64, 64), side(300, 1400, 1400));
  EXPECT_THAT(describe(c, n.context()),
              ElementsAre("all 5 lost packets were 64 bytes on the wire; all 300 delivered were 1400 bytes"));
}

TEST(Findings, OverlappingSizesSayNothing) {
  const Names n;
  EXPECT_THAT(describe(partial(side(5, 60, 1400), side(300, 100, 1500)), n.context()), IsEmpty());
}

TEST(Findings, LossInFewInnerFlowsIsNamed) {
  const Names n;
  auto c = partial(side(20, 100, 100), side(40, 100, 100));
  c.headline->inner = {{2, 0, 10}, {3, 20, 0}, {4, 0, 10}, {5, 0, 10}, {6, 0, 10}};
  EXPECT_THAT(describe(c, n.context()),
              ElementsAre("all lost packets belong to 1 of 5 inner flows: TCP 10.1.0.3:80 \u2192 10.2.0.1:80 "
                          "(none of its packets got through)"));
}

TEST(Findings, LossSpreadOverInnerFlowsLikeChanceSaysNothing) {
  const Names n;
  // 5 % of 100 packets lost, 10 inner flows of 10 packets: chance alone would touch about 4
  // flows. Lost in 5 of them: as random as it gets, nothing to say.
  auto c = partial(side(5, 100, 100), side(95, 100, 100));
  for (uint32_t f = 2; f <= 11; ++f) c.headline->inner.push_back({f, f <= 6 ? 1u : 0u, f <= 6 ? 9u : 10u});
  EXPECT_THAT(describe(c, n.context()), IsEmpty());
  // All 5 in one of them, which also delivered some: clearly fewer flows than chance.
  c.headline->inner.clear();
  for (uint32_t f = 2; f <= 11; ++f) c.headline->inner.push_back({f, f == 4 ? 5u : 0u, f == 4 ? 5u : 10u});
  EXPECT_THAT(describe(c, n.context()),
              ElementsAre("all lost packets belong to 1 of 10 inner flows: TCP 10.1.0.4:80 \u2192 10.2.0.1:80"));
}

TEST(Findings, FlagsOnlyTheLostShare) {
  const Names n;
  auto c = partial(side(12, 74, 74), side(388, 74, 74));
  c.headline->lost_flags = 0x02;
  c.headline->passed_with_lost_flags = 0;
  EXPECT_THAT(describe(c, n.context()), ElementsAre("all 12 lost packets are SYN (0 of the 388 delivered are)"));
  c.headline->flags_agree = false;
  EXPECT_THAT(describe(c, n.context()), IsEmpty());
  c.headline->flags_agree = true;
  c.headline->passed_with_lost_flags = 388;  // every delivered packet has them too
  EXPECT_THAT(describe(c, n.context()), IsEmpty());
}

TEST(Findings, BurstAndSpreadInTime) {
  const Names n;
  // 10 s of packets, losses within 2 s of it: a burst.
  auto burst = partial(side(3, 100, 100, kOrigin + 1200 * kMs, kOrigin + 1450 * kMs), side(10, 100, 100));
  EXPECT_THAT(describe(burst, n.context()),
              ElementsAre("all losses between t+1.20 s and t+1.45 s (the flow's packets span 10.00 s; t = when "
                          "the first point started capturing)"));
  auto spread = partial(side(3, 100, 100, kOrigin + 1 * kS, kOrigin + 9 * kS), side(10, 100, 100));
  EXPECT_THAT(describe(spread, n.context()),
              ElementsAre("losses spread over the flow's whole duration (t+1.00 s to t+9.00 s)"));
  auto between = partial(side(3, 100, 100, kOrigin + 1 * kS, kOrigin + 6 * kS), side(10, 100, 100));
  EXPECT_THAT(describe(between, n.context()), IsEmpty());
  auto two = partial(side(2, 100, 100, kOrigin + 1 * kS, kOrigin + 1 * kS), side(10, 100, 100));
  EXPECT_THAT(describe(two, n.context()), IsEmpty());  // fewer than 3 losses: no time finding
}

TEST(Findings, PointsHolesDuplicatesAndOverMtuFrames) {
  const Names n;
  LossCharacter c;
  c.flow = 1;
  c.holes_at = {0, 3, 0};
  c.duplicates_at = {0, 0, 5};
  c.over_mtu_at = {40, 0, 0};
  EXPECT_THAT(describe(c, n.context()),
              ElementsAre("point B missed 3 packets that passed it (capture problem at B, not a drop)",
                          "point C saw 5 duplicate copies of packets (counted once, not as loss)",
                          "point A saw 40 frames over 1518 bytes (GSO/GRO aggregates): they cannot match single "
                          "packets at other points, TCP may be compared by sequence ranges"));
}

TEST(Findings, NothingLostAtTheHopSaysNothingAboutIt) {
  const Names n;
  EXPECT_THAT(describe(partial(side(0, 0xffff, 0), side(300, 100, 100)), n.context()), IsEmpty());
}

}  // namespace
}  // namespace pathtrace
