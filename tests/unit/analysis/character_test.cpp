// characterise(): the numbers behind the findings, checked as numbers (the sentences made of
// them are findings_test.cpp's and analysis_test.cpp's).

#include "correlator/analysis/character.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/analysis/builder.hpp"

namespace pathtrace {
namespace {

using ::testing::ElementsAre;
using namespace testing_runs;

// Characters of a finished run, one per result.
std::vector<LossCharacter> characters_of(const Run& run) {
  std::vector<LossCharacter> chars(run.report.results.size());
  characterise(run.report.results, run.traversals, run.sightings, chars);
  return chars;
}

uint32_t flow_id(const Run& run, const std::string& label) {
  for (const Flow& f : run.report.flows)
    if (f.label() == label) return f.id;
  return 0;
}

// A path of 4 points, one flow forward, partial loss at hop 1 (B → C).
struct HandBuilt {
  std::vector<FlowResult> results;
  std::vector<Traversal> traversals;
  std::vector<Sighting> sightings;

  HandBuilt() {
    FlowResult r;
    r.flow = 1;
    r.dir = Dir::kForward;
    r.verdict = VerdictKind::kPartialLoss;
    r.hop = 1;
    r.seen_at.assign(4, 0);
    r.holes_at = {0, 0, 3, 0};
    for (uint8_t k = 0; k < 3; ++k) {
      HopStat h;
      h.from = k;
      h.to = uint8_t(k + 1);
      r.hops.push_back(h);
    }
    results.push_back(r);
  }
  // A traversal of flow 1 seen at ords [0, last_seen] with these wire lengths (one per point).
  void add(Fate fate, uint8_t last_seen, int64_t t0, std::vector<uint16_t> lens, uint8_t flags = 0x10,
           uint32_t inner = 1) {
    Traversal t;
    t.flow = 1;
    t.inner_flow = inner;
    t.dir = Dir::kForward;
    t.fate = fate;
    t.entry = 0;
    t.last_seen = last_seen;
    t.t0_ns = t0;
    t.tcp_flags = flags;
    t.first = uint32_t(sightings.size());
    t.count = uint16_t(lens.size());
    t.wire_len = lens.back();
    for (std::size_t i = 0; i < lens.size(); ++i)
      sightings.push_back({0, t0 + int64_t(i), 0, lens[i], uint8_t(i), flags});
    traversals.push_back(t);
  }
  std::vector<LossCharacter> characterise() {
    std::vector<LossCharacter> chars(results.size());
    pathtrace::characterise(results, traversals, sightings, chars);
    return chars;
  }
};

TEST(Character, ComparesLostAtTheHeadlineHopWithPassed) {
  HandBuilt h;
  h.add(Fate::kDelivered, 3, 100, {1000, 1000, 900, 900}, 0x10, 1);  // passed: 1000 at B
  h.add(Fate::kLost, 1, 200, {60, 60}, 0x02, 5);                     // lost at B → C
  h.add(Fate::kLost, 1, 300, {64, 64}, 0x12, 5);                     // lost at B → C, other flags
  h.add(Fate::kLost, 0, 50, {80});                                   // lost before: neither side
  h.add(Fate::kOutOfWindow, 3, 10, {1, 1, 1, 1});                    // not judged: ignored
  h.add(Fate::kLost, 2, 250, {700, 700, 700}, 0x10, 6);              // passed B → C, lost later
  const auto chars = h.characterise();

  ASSERT_EQ(chars.size(), 1u);
  const LossCharacter& c = chars[0];
  EXPECT_EQ(c.flow, 1u);
  EXPECT_THAT(c.holes_at, ElementsAre(0, 0, 3, 0));
  ASSERT_TRUE(c.headline);
  const HeadlineComparison& x = *c.headline;
  EXPECT_EQ(x.lost.packets, 2u);
  EXPECT_EQ(x.lost.len_min, 60);
  EXPECT_EQ(x.lost.len_max, 64);
  EXPECT_EQ(x.lost.t_min, 200);
  EXPECT_EQ(x.lost.t_max, 300);
  EXPECT_EQ(x.passed.packets, 2u);
  EXPECT_EQ(x.passed.len_min, 700);   // wire length at B, the hop's first point
  EXPECT_EQ(x.passed.len_max, 1000);  // (not 900, its length at the far end)
  EXPECT_EQ(x.passed.t_min, 100);
  EXPECT_EQ(x.passed.t_max, 250);
  EXPECT_FALSE(x.flags_agree);
  EXPECT_EQ(x.lost_flags, 0x02);
  EXPECT_EQ(x.passed_with_lost_flags, 0u);
  EXPECT_EQ(x.judged_t_min, 50);  // every judged packet of the flow, lost anywhere
  EXPECT_EQ(x.judged_t_max, 300);
  ASSERT_EQ(x.inner.size(), 3u);  // by flow id; flow 1 stands for packets without an inner layer
  EXPECT_EQ(x.inner[0].flow, 1u);
  EXPECT_EQ(x.inner[0].lost, 0u);
  EXPECT_EQ(x.inner[0].passed, 1u);
  EXPECT_EQ(x.inner[1].flow, 5u);
  EXPECT_EQ(x.inner[1].lost, 2u);
  EXPECT_EQ(x.inner[1].passed, 0u);
  EXPECT_EQ(x.inner[2].flow, 6u);
  EXPECT_EQ(x.inner[2].lost, 0u);
  EXPECT_EQ(x.inner[2].passed, 1u);
}

TEST(Character, CountsPassedPacketsWithTheLostOnesFlags) {
  HandBuilt h;
  for (int i = 0; i < 3; ++i) h.add(Fate::kLost, 1, 100 + i, {74, 74}, 0x02);
  for (int i = 0; i < 5; ++i) h.add(Fate::kDelivered, 3, 200 + i, {74, 74, 74, 74}, i == 0 ? 0x02 : 0x10);
  const auto chars = h.characterise();
  ASSERT_TRUE(chars[0].headline);
  const HeadlineComparison& x = *chars[0].headline;
  EXPECT_TRUE(x.flags_agree);
  EXPECT_EQ(x.lost_flags, 0x02);
  EXPECT_EQ(x.passed.packets, 5u);
  EXPECT_EQ(x.passed_with_lost_flags, 1u);
}

TEST(Character, OnlyPartialLossIsCompared) {
  HandBuilt h;
  h.results[0].verdict = VerdictKind::kDisappears;
  h.add(Fate::kLost, 1, 100, {74, 74});
  std::vector<LossCharacter> chars(1);
  chars[0].duplicates_at = {0, 2, 0, 0};  // counted while grouping: left as they are
  chars[0].over_mtu_at = {1, 0, 0, 0};
  characterise(h.results, h.traversals, h.sightings, chars);
  EXPECT_FALSE(chars[0].headline);
  EXPECT_THAT(chars[0].holes_at, ElementsAre(0, 0, 3, 0));
  EXPECT_THAT(chars[0].duplicates_at, ElementsAre(0, 2, 0, 0));
  EXPECT_THAT(chars[0].over_mtu_at, ElementsAre(1, 0, 0, 0));
}

TEST(Character, NothingLostAtTheHopStillCountsWhatPassed) {
  HandBuilt h;
  h.add(Fate::kDelivered, 3, 100, {100, 100, 100, 100});
  const auto chars = h.characterise();
  ASSERT_TRUE(chars[0].headline);
  EXPECT_EQ(chars[0].headline->lost.packets, 0u);
  EXPECT_EQ(chars[0].headline->passed.packets, 1u);
  EXPECT_TRUE(chars[0].headline->flags_agree);
}

TEST(Character, SizesOfAnMtuProblem) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 400; ++i) {
    const bool big = i % 4 == 0;  // 100 big ones, all lost between D and C
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, big ? std::vector<unsigned>{6, 5, 4, 3} : kGtoA, ch,
           big ? uint16_t(1480 + i % 3 * 10) : 1400);
  }
  const pathtrace::Run run = b.analyze();
  const auto chars = characters_of(run);
  ASSERT_EQ(chars.size(), 1u);
  ASSERT_TRUE(chars[0].headline);
  const HeadlineComparison& x = *chars[0].headline;
  EXPECT_EQ(x.lost.packets, 100u);
  EXPECT_EQ(x.lost.len_min, 1480);
  EXPECT_EQ(x.lost.len_max, 1500);
  EXPECT_EQ(x.passed.packets, 300u);
  EXPECT_EQ(x.passed.len_min, 1400);
  EXPECT_EQ(x.passed.len_max, 1400);
  EXPECT_EQ(x.judged_t_min, 1 * kS);
  EXPECT_EQ(x.judged_t_max, 1 * kS + 399 * 10 * kMs);
}

TEST(Character, InnerFlowsOfTheLostPackets) {
  Builder b;
  b.points = incident_points();
  std::vector<std::vector<uint32_t>> chains;
  for (uint16_t c = 0; c < 40; ++c)
    chains.push_back(incident_chains(b, v4("198.19.0.5", "203.0.113.20", 6, uint16_t(40000 + c), 80)));
  for (int i = 0; i < 400; ++i) {
    const unsigned c = unsigned(i) % 40;
    const bool lost = c == 1 || c == 2;  // every packet of two inner flows
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, lost ? kGtoC : kGtoA, chains[c]);
  }
  const pathtrace::Run run = b.analyze();
  const auto chars = characters_of(run);
  ASSERT_TRUE(chars.at(0).headline);
  const HeadlineComparison& x = *chars[0].headline;
  EXPECT_EQ(x.lost.packets, 20u);
  EXPECT_EQ(x.passed.packets, 380u);
  ASSERT_EQ(x.inner.size(), 40u);
  EXPECT_TRUE(std::is_sorted(x.inner.begin(), x.inner.end(),
                             [](const InnerFlowCount& a, const InnerFlowCount& c) { return a.flow < c.flow; }));
  const uint32_t f1 = flow_id(run, "TCP 198.19.0.5:40001 \u2192 203.0.113.20:80");
  const uint32_t f2 = flow_id(run, "TCP 198.19.0.5:40002 \u2192 203.0.113.20:80");
  for (const InnerFlowCount& f : x.inner) {
    if (f.flow == f1 || f.flow == f2) {
      EXPECT_EQ(f.lost, 10u);
      EXPECT_EQ(f.passed, 0u);
    } else {
      EXPECT_EQ(f.lost, 0u);
      EXPECT_EQ(f.passed, 10u);
    }
  }
}

TEST(Character, TcpFlagsOfTheLostPackets) {
  Builder b;
  b.points = simple_points(4);
  const uint32_t c = b.chain("eth/ipv4/tcp", {v4("10.0.0.1", "10.0.0.2", 6, 50000, 80)});
  const std::vector<uint32_t> ch(4, c);
  for (int i = 0; i < 400; ++i) {
    const bool syn = i % 25 == 0;  // 16 SYNs, all dropped between B and C
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, syn ? std::vector<unsigned>{0, 1} : std::vector<unsigned>{0, 1, 2, 3},
           ch, 74, syn ? 0x02 : 0x10);
  }
  const auto chars = characters_of(b.analyze());
  ASSERT_TRUE(chars.at(0).headline);
  const HeadlineComparison& x = *chars[0].headline;
  EXPECT_EQ(x.lost.packets, 16u);
  EXPECT_TRUE(x.flags_agree);
  EXPECT_EQ(x.lost_flags, 0x02);
  EXPECT_EQ(x.passed.packets, 384u);
  EXPECT_EQ(x.passed_with_lost_flags, 0u);
  EXPECT_EQ(x.lost.len_min, 74);
  EXPECT_EQ(x.passed.len_max, 74);
}

TEST(Character, TimesOfABurstOfLoss) {
  Builder b;
  b.points = simple_points(3);
  const uint32_t c = b.chain("eth/ipv4/udp", {v4("10.0.0.1", "10.0.0.2", 17, 5000, 53)});
  const std::vector<uint32_t> ch(3, c);
  for (int i = 0; i < 800; ++i) {  // 8 s of traffic, losses from 1.20 s to 1.45 s
    const int64_t t = 200 * kMs + i * 10 * kMs;
    const bool lost = t >= 1200 * kMs && t <= 1450 * kMs;
    b.send(b.fresh_digest(), t, lost ? std::vector<unsigned>{0, 1} : std::vector<unsigned>{0, 1, 2}, ch);
  }
  const auto chars = characters_of(b.analyze());
  ASSERT_TRUE(chars.at(0).headline);
  const HeadlineComparison& x = *chars[0].headline;
  EXPECT_EQ(x.lost.packets, 26u);
  EXPECT_EQ(x.lost.t_min, 1200 * kMs);
  EXPECT_EQ(x.lost.t_max, 1450 * kMs);
  EXPECT_EQ(x.judged_t_min, 200 * kMs);
  EXPECT_EQ(x.judged_t_max, 8190 * kMs);
  EXPECT_TRUE(x.flags_agree);
  EXPECT_EQ(x.lost_flags, 0);  // UDP: no flags to compare
}

TEST(Character, HolesOfEveryResult) {
  Builder b;
  b.points = incident_points();
  const auto ch = incident_chains(b);
  for (int i = 0; i < 200; ++i) {
    const bool e_missed = i % 50 == 0;  // E's capture missed 4 packets that passed it
    b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, e_missed ? std::vector<unsigned>{6, 5, 3, 2, 1, 0} : kGtoA, ch);
  }
  const auto chars = characters_of(b.analyze());
  ASSERT_EQ(chars.size(), 1u);
  EXPECT_FALSE(chars[0].headline);  // delivered: nothing to compare
  EXPECT_THAT(chars[0].holes_at, ElementsAre(0, 0, 0, 0, 4, 0, 0));
}

}  // namespace
}  // namespace pathtrace
