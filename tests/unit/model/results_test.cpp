// RankedResults: a plain result packed comes back exactly as it went in, the others stay whole,
// ranking reorders them, and Run::list_results keeps what a report lists.

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {
namespace {

constexpr std::size_t kPoints = 5;

// Every field of a result, as text: two results print the same exactly when they are the same.
std::string text(const FlowResult& r) {
  std::ostringstream o;
  o << r.flow << " " << int(r.dir) << " " << r.traversals << " " << r.judged << " " << r.delivered << " " << r.lost
    << " " << r.out_of_window << " " << r.no_entry << " " << r.aggregated << " " << r.duplicates << " "
    << name(r.verdict) << " " << r.hop << " " << r.assumed << " [" << r.summary << "]";
  for (auto* v : {&r.seen_at, &r.holes_at, &r.seen_any, &r.inner_flows}) {
    o << " (";
    for (uint32_t x : *v) o << x << ",";
    o << ")";
  }
  for (const HopStat& h : r.hops)
    o << " <" << int(h.from) << ">" << int(h.to) << " " << h.inconclusive << " " << h.in << " " << h.out << " "
      << h.lost << " " << h.assumed << " " << h.delay_samples << " " << h.delay_min_ns << " " << h.delay_mean_ns
      << " " << h.why << ">";
  for (const std::string& f : r.findings) o << " {" << f << "}";
  o << " a" << r.assumptions.size() << " t" << r.translations.size();
  return o.str();
}

// A delivered result with nothing else to say, in the reverse direction, with values that need
// every byte of a varint (and a negative delay: another host's clock).
FlowResult delivered(uint32_t flow, uint64_t judged) {
  FlowResult r;
  r.flow = flow;
  r.dir = Dir::kReverse;
  r.traversals = judged + 7;
  r.judged = judged;
  r.delivered = judged;
  r.out_of_window = 5;
  r.no_entry = 2;
  r.duplicates = 1;
  r.aggregated = 0;
  r.verdict = VerdictKind::kDelivered;
  r.summary = "delivered: " + std::to_string(judged) + " of " + std::to_string(judged) + " reached A (qbr …)";
  r.seen_at.assign(kPoints, uint32_t(judged));
  r.seen_at[2] = 0xffffffffu;
  r.holes_at.assign(kPoints, 0);
  r.seen_any.assign(kPoints, uint32_t(judged + 7));
  for (unsigned k = 0; k + 1 < kPoints; ++k) {
    HopStat h;
    h.from = uint8_t(kPoints - 1 - k);
    h.to = uint8_t(kPoints - 2 - k);
    h.in = h.out = uint32_t(judged);
    h.delay_samples = uint32_t(judged);
    h.delay_min_ns = k == 1 ? -1'234'567'890'123 : int64_t(k) * 1000;
    h.delay_mean_ns = k == 3 ? INT64_MAX : int64_t(k) * 1500;
    r.hops.push_back(h);
  }
  r.inner_flows = {flow + 1, flow + 200, 4'000'000'000u};
  return r;
}

FlowResult lost(uint32_t flow) {
  FlowResult r = delivered(flow, 10);
  r.verdict = VerdictKind::kDisappears;
  r.delivered = 0;
  r.lost = 10;
  r.hops[1].out = 0;
  r.hops[1].lost = 10;
  r.hop = 1;
  r.summary = "disappears between C and B: 10 of 10 lost";
  return r;
}

TEST(RankedResults, APlainResultIsPackedAndComesBackExactly) {
  RankedResults rr;
  rr.set_points(kPoints);
  const FlowResult plain_one = delivered(42, 5'000'000'000ull);
  FlowResult not_judged = delivered(43, 0);
  not_judged.verdict = VerdictKind::kNotJudged;
  not_judged.delivered = 0;
  not_judged.summary = "not judged: none of its 7 packets was seen where it entered the path";
  not_judged.inner_flows.clear();
  rr.add(FlowResult(plain_one), true);
  rr.add(FlowResult(not_judged), true);
  ASSERT_EQ(rr.size(), 2u);
  EXPECT_EQ(rr.whole(0), nullptr) << "a plain result is packed";
  EXPECT_EQ(rr.whole(1), nullptr);
  FlowResult scratch = lost(9);  // decoding overwrites whatever the scratch held
  EXPECT_EQ(text(rr.at(0, scratch)), text(plain_one));
  EXPECT_EQ(text(rr.at(1, scratch)), text(not_judged));
  EXPECT_EQ(rr.delivered(), 1u);
}

TEST(RankedResults, AResultWithSomethingToSayStaysWhole) {
  RankedResults rr;
  rr.set_points(kPoints);
  FlowResult with_finding = delivered(1, 3);
  with_finding.findings = {"1 duplicate at C"};
  FlowResult wrong_size = delivered(2, 3);
  wrong_size.seen_at.pop_back();
  rr.add(lost(3), true);
  rr.add(FlowResult(with_finding), true);
  rr.add(FlowResult(wrong_size), true);
  rr.add(delivered(4, 3), false);  // may not be packed: findings are still to come
  for (std::size_t k = 0; k < rr.size(); ++k) EXPECT_NE(rr.whole(k), nullptr) << "rank " << k;
  rr.whole(1)->findings.push_back("added later");
  FlowResult scratch;
  EXPECT_EQ(rr.at(1, scratch).findings.size(), 2u);
  EXPECT_EQ(text(rr.at(0, scratch)), text(lost(3)));
}

TEST(RankedResults, RankingPutsEachResultWhereTheOrderSays) {
  RankedResults rr;
  rr.set_points(kPoints);
  rr.add(delivered(10, 1), true);
  rr.add(lost(11), true);
  rr.add(delivered(12, 3), true);
  rr.rank(std::vector<uint32_t>{1, 2, 0});
  FlowResult scratch;
  std::vector<uint32_t> flows;
  rr.for_each([&](const FlowResult& r) { flows.push_back(r.flow); });
  EXPECT_EQ(flows, (std::vector<uint32_t>{11, 12, 10}));
  EXPECT_NE(rr.whole(0), nullptr);
  EXPECT_EQ(rr.whole(1), nullptr);
  EXPECT_EQ(text(rr.at(1, scratch)), text(delivered(12, 3)));
}

TEST(RankedResults, AReportListsEveryLossAndTheFirstOthers) {
  std::vector<FlowResult> all = {lost(1), lost(2)};
  for (uint32_t f = 3; f <= 7; ++f) all.push_back(delivered(f, 100 - f));
  FlowResult nj = delivered(8, 0);
  nj.verdict = VerdictKind::kNotJudged;
  nj.delivered = 0;
  all.push_back(nj);
  pathtrace::Run run;
  run.results = RankedResults(all);
  EXPECT_EQ(run.results.delivered(), 5u);

  run.list_results(3);
  ASSERT_EQ(run.report.results.size(), 5u);  // both losses, then 3 of the 6 others
  EXPECT_EQ(run.report.results[0].flow, 1u);
  EXPECT_EQ(run.report.results[4].flow, 5u);
  EXPECT_EQ(run.report.omitted.results, 3u);
  EXPECT_EQ(run.report.omitted.delivered, 2u);  // flows 6 and 7; flow 8 was not judged
  EXPECT_EQ(run.report.result_count(), all.size());

  run.list_results(0);
  EXPECT_EQ(run.report.results.size(), 2u);
  EXPECT_EQ(run.report.omitted.results, 6u);
  EXPECT_EQ(run.report.omitted.delivered, 5u);

  run.list_results(SIZE_MAX);
  ASSERT_EQ(run.report.results.size(), all.size());
  EXPECT_EQ(run.report.omitted.results, 0u);
  for (std::size_t k = 0; k < all.size(); ++k) EXPECT_EQ(text(run.report.results[k]), text(all[k]));
}

}  // namespace
}  // namespace pathtrace
