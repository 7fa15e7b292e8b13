// Judging (rules 5, 6 and 8 of docs/verdicts.md): from the counts grouping left in each
// flow result, its hops in travel direction (packets in, out, lost; inconclusive next to a
// point that lost captures or has holes), its verdict — not judged, delivered, inconclusive,
// disappears, partial loss — with the headline hop and the one-line summary, and the order
// results are reported in.

#include <algorithm>
#include <string>
#include <vector>

#include "correlator/analysis/analyzer.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace::analyzer {
namespace {

using text::pct_text;
using text::u64;

// Most interesting first: disappears, partial loss, inconclusive, delivered, not judged.
int verdict_rank(VerdictKind k) {
  switch (k) {
    case VerdictKind::kDisappears: return 0;
    case VerdictKind::kPartialLoss: return 1;
    case VerdictKind::kInconclusive: return 2;
    case VerdictKind::kDelivered: return 3;
    case VerdictKind::kNotJudged: return 4;
  }
  return 5;
}

}  // namespace

// Hops, verdict and summary of every result, and the findings that say why a lossy hop
// next to a point that lost captures is not blamed (rules 5 and 6).
void Analyzer::judge_results() {
  const unsigned hops = n_ > 0 ? n_ - 1 : 0;
  for (std::size_t ri = 0; ri < results_.size(); ++ri) {
    FlowResult& r = results_[ri];
    const std::vector<uint64_t>& reach_hist = reach_hist_[ri];
    auto ord_at = [&](unsigned pos) { return r.dir == Dir::kForward ? pos : n_ - 1 - pos; };
    std::vector<uint64_t> reach(n_ + 1, 0);
    for (unsigned pos = n_; pos-- > 0;) reach[pos] = reach[pos + 1] + reach_hist[pos];
    r.hops.clear();
    for (unsigned k = 0; k < hops; ++k) {
      HopStat h;
      h.from = uint8_t(ord_at(k));
      h.to = uint8_t(ord_at(k + 1));
      h.in = reach[k];
      h.out = reach[k + 1];
      h.lost = h.in - h.out;
      for (const uint8_t o : {h.from, h.to}) {
        const Point& p = points_[o];
        if (const uint64_t cl = p.capture_loss()) {
          if (!h.why.empty()) h.why += "; ";
          h.why += "point " + p.label + " dropped " + u64(cl) + " packets in capture";
        }
        if (r.holes_at[o] > 0) {
          if (!h.why.empty()) h.why += "; ";
          h.why += "point " + p.label + " missed " + u64(r.holes_at[o]) + " packets of this flow that passed it";
        }
      }
      h.inconclusive = !h.why.empty();
      r.hops.push_back(std::move(h));
    }

    const Point* far_end = n_ ? &points_[ord_at(n_ - 1)] : nullptr;
    if (r.judged == 0) {
      r.verdict = VerdictKind::kNotJudged;
      r.summary = "not judged: none of " + u64(r.traversals) +
                  " packets was inside the common capture window with its entry end seen";
      continue;
    }
    if (r.lost == 0) {
      r.verdict = VerdictKind::kDelivered;
      r.summary = "delivered: " + u64(r.delivered) + " of " + u64(r.judged) + " reached " + point_text(*far_end);
      continue;
    }
    int disappear = -1, worst = -1, worst_any = -1, disappear_any = -1;
    for (unsigned k = 0; k < hops; ++k) {
      const HopStat& h = r.hops[k];
      if (h.lost == 0) continue;
      if (worst_any < 0 || h.lost > r.hops[std::size_t(worst_any)].lost) worst_any = int(k);
      if (disappear_any < 0 && h.in > 0 && h.out == 0) disappear_any = int(k);
      if (h.inconclusive) continue;
      if (worst < 0 || h.lost > r.hops[std::size_t(worst)].lost) worst = int(k);
      if (disappear < 0 && h.in > 0 && h.out == 0) disappear = int(k);
    }
    auto between = [&](const HopStat& h) {
      return "between " + point_text(points_[h.from]) + " and " + point_text(points_[h.to]);
    };
    if (worst < 0) {
      r.verdict = VerdictKind::kInconclusive;
      r.hop = disappear_any >= 0 ? disappear_any : worst_any;
      const HopStat& h = r.hops[std::size_t(r.hop)];
      r.summary = "inconclusive: " + u64(h.lost) + " lost " + between(h) + ", but " + h.why;
    } else if (disappear >= 0) {
      r.verdict = VerdictKind::kDisappears;
      r.hop = disappear;
      const HopStat& h = r.hops[std::size_t(r.hop)];
      r.summary = "disappears " + between(h) + ": " + u64(h.lost) + " of " + u64(h.in) + " lost (" +
                  pct_text(h.lost, h.in) + ")";
    } else {
      r.verdict = VerdictKind::kPartialLoss;
      r.hop = worst;
      const HopStat& h = r.hops[std::size_t(r.hop)];
      r.summary = "partial loss " + between(h) + ": " + u64(h.lost) + " of " + u64(h.in) + " lost (" +
                  pct_text(h.lost, h.in) + ")";
    }
    for (unsigned k = 0; k < hops; ++k) {
      const HopStat& h = r.hops[k];
      if (int(k) == r.hop || h.lost == 0 || !h.inconclusive) continue;
      r.findings.push_back(u64(h.lost) + " lost " + between(h) + " are not blamed: " + h.why);
    }
  }
}

// Results most interesting first, then by judged packets, most first (rule 8).
void Analyzer::order_results() {
  std::stable_sort(results_.begin(), results_.end(), [](const FlowResult& a, const FlowResult& b) {
    const int ra = verdict_rank(a.verdict), rb = verdict_rank(b.verdict);
    if (ra != rb) return ra < rb;
    if (a.judged != b.judged) return a.judged > b.judged;
    if (a.flow != b.flow) return a.flow < b.flow;
    return a.dir < b.dir;
  });
}

}  // namespace pathtrace::analyzer
