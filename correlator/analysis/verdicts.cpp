// Judging (rules 5, 6 and 8 of docs/verdicts.md): from the counts grouping left in each
// flow result, its hops in travel direction (packets in, out, lost, how many of those only
// under an assumption, delays; inconclusive where a neighbouring point's own capture could
// explain the loss), its verdict — not judged, delivered, inconclusive, disappears, partial
// loss — with the headline hop, the one-line summary and the assumptions it rests on, and the
// order results are reported in.

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

// "t+0.59 s" for a time on the run's clock.
std::string at_text(int64_t ns, int64_t origin) { return "t+" + text::seconds_text(ns - origin); }

}  // namespace

// Hops, verdict, summary and assumptions of every result, and the findings that say why a
// lossy hop next to a point that lost captures is not blamed (rules 5 and 6).
void Analyzer::judge_results() {
  std::vector<std::string> named(n_);  // point_text of each point
  for (unsigned o = 0; o < n_; ++o) named[o] = point_text(points_[o]);
  ranked_.set_points(n_);
  rank_keys_.resize(results_.size());
  for (uint32_t ri = 0; ri < results_.size(); ++ri) {
    // The counters of the results judged so far are in them now: their memory goes as the
    // results' own arrays and hops are made.
    if ((ri & Rows<Delay>::kMask) == 0) {
      counts_.free_before(ri);
      delays_.free_before(ri);
    }
    const Tally& t = results_[ri];
    FlowResult r;
    r.flow = t.flow;
    r.dir = t.dir;
    r.traversals = t.traversals;
    r.judged = t.judged;
    r.delivered = t.delivered;
    r.lost = t.lost;
    r.out_of_window = t.out_of_window;
    r.no_entry = t.no_entry;
    r.aggregated = t.aggregated;
    r.duplicates = t.duplicates;
    r.assumed = t.assumed;
    if (const auto it = inner_of_.find(ri); it != inner_of_.end()) r.inner_flows = std::move(it->second);
    if (const auto it = translated_.find(ri); it != translated_.end()) r.translations = std::move(it->second);
    fill_point_arrays(ri, r);
    judge(ri, r, named);
    // Into the ranked results, packed when plain and without findings to come (add_findings).
    rank_keys_[ri] = {r.judged, r.flow, ri, uint8_t(verdict_rank(r.verdict)), uint8_t(r.dir)};
    ranked_.add(std::move(r), !findings_input_.count(ri));
  }
  std::vector<Tally>().swap(results_);
  inner_of_.clear();
  translated_.clear();
}

void Analyzer::judge(uint32_t ri, FlowResult& r, const std::vector<std::string>& named) {
  const unsigned hops = n_ > 0 ? n_ - 1 : 0;
  const uint32_t* const reach_at = counts(ri, kReach);
  const uint32_t* const assumed_at = rare(ri, kAssumed);
  const uint32_t* const holes_at = rare(ri, kHoles);
  const Delay* const delays = delays_.row(ri);
  auto ord_at = [&](unsigned pos) { return r.dir == Dir::kForward ? pos : n_ - 1 - pos; };
  uint64_t reach[kMaxPoints + 1];
  reach[n_] = 0;
  for (unsigned pos = n_; pos-- > 0;) reach[pos] = reach[pos + 1] + reach_at[pos];
  r.hops.clear();
  r.hops.reserve(hops);
  for (unsigned k = 0; k < hops; ++k) {
    HopStat h;
    h.from = uint8_t(ord_at(k));
    h.to = uint8_t(ord_at(k + 1));
    h.in = uint32_t(reach[k]);  // < 2^32: a run's sightings are (check_run_size)
    h.out = uint32_t(reach[k + 1]);
    h.lost = h.in - h.out;
    h.assumed = uint32_t(std::min<uint64_t>(h.lost, assumed_at[k]));
    const Delay& d = delays[k];
    if (d.n) {
      h.delay_samples = uint32_t(d.n);
      h.delay_min_ns = d.min;
      h.delay_mean_ns = d.sum / int64_t(d.n);
    }
    uint64_t explained = 0;  // lost packets the neighbours' own capture problems could explain
    for (const uint8_t o : {h.from, h.to}) {
      const Point& p = points_[o];
      if (!p.health.usable) continue;  // judged across: the loss is between the usable points
      if (const uint64_t cl = p.capture_loss()) {
        if (!h.why.empty()) h.why += "; ";
        h.why += "point " + p.label + " lost " + u64(cl) + " packets of its own capture";
        explained = std::max(explained, cl);
      }
      if (const uint64_t holes = holes_at[o]) {
        if (!h.why.empty()) h.why += "; ";
        h.why += "point " + p.label + " missed " + u64(holes) + " packets of this flow that passed it";
        explained = std::max(explained, holes);
      }
    }
    // A loss its neighbours' own capture problems could account for is not blamed; a bigger
    // one is, the note saying how much of it might be theirs.
    h.inconclusive = h.lost > 0 && explained >= h.lost;
    if (h.lost == 0) h.why.clear();
    else if (!h.inconclusive && !h.why.empty()) h.why = "up to " + u64(explained) + " of them may be: " + h.why;
    r.hops.push_back(std::move(h));
  }

  const unsigned far_pos = r.dir == Dir::kForward ? hi_ : n_ - 1 - lo_;
  const Point* far_end = n_ ? &points_[ord_at(std::min(far_pos, n_ - 1))] : nullptr;
  if (r.judged == 0) {
    r.verdict = VerdictKind::kNotJudged;
    if (n_usable_ < 2) {
      r.summary = n_ == 1 ? "not judged: one point only (a path needs two)"
                          : "not judged: fewer than two points' captures are evidence";
    } else if (link_local(r.flow)) {
      r.summary = "not judged: a link-local destination, never forwarded past a router (where its " +
                  u64(r.traversals) + " packets stop is not a loss)";
    } else if (r.no_entry == r.traversals) {
      r.summary = "not judged: none of its " + u64(r.traversals) + " packets was seen where it entered the path";
    } else {
      r.summary = "not judged: none of " + u64(r.traversals) +
                  " packets was seen entering the path while the point after it was capturing";
    }
    return;
  }
  if (r.lost == 0) {
    r.verdict = VerdictKind::kDelivered;
    r.summary = "delivered: " + u64(r.delivered) + " of " + u64(r.judged) + " reached " + named[far_end->ord];
    return;
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
  // Between a point and the next usable one: an unusable point in between is skipped over.
  auto next_usable = [&](uint8_t from) {
    unsigned o = from;
    do {
      o = r.dir == Dir::kForward ? o + 1 : o - 1;
    } while (o < n_ && !points_[o].health.usable);
    return o < n_ ? o : unsigned(from);
  };
  auto between = [&](const HopStat& h) {
    return "between " + point_text(points_[h.from]) + " and " + point_text(points_[next_usable(h.from)]);
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
  // A point before the headline hop saw none of the flow although it captured other traffic:
  // the order the points were given in is in doubt, and with it which hop lost them.
  if (const uint8_t odd = order_doubt_[ri];
      odd != kNoPoint && r.verdict != VerdictKind::kInconclusive &&
      (r.dir == Dir::kForward ? odd : n_ - 1 - odd) <= unsigned(r.hop)) {
    const HopStat& h = r.hops[std::size_t(r.hop)];
    const Point& from = points_[h.from];
    const Point& to = points_[next_usable(h.from)];
    const Point& b = points_[odd];
    const std::string lost = u64(h.lost) + " of " + u64(h.in) + " lost after " + point_text(from);
    Assumption a;
    a.kind = "order";
    a.points = {b.label, from.label};
    a.text = "point " + b.label + ", listed before " + from.label + ", saw none of this flow while " + from.label +
             " saw it and " + b.label + " captured other traffic: if " + b.label + " comes after " + from.label +
             " on the path, they were lost between " + from.label + " and " + b.label + "; if " + b.label +
             "'s capture filter left them out, between " + from.label + " and " + to.label +
             ". Check the points' order (the inventory's, or --points) and " + b.label + "'s filter";
    r.verdict = VerdictKind::kInconclusive;
    r.hop = -1;  // no hop can be named
    r.summary = "inconclusive: " + lost + ", but the points' order is in doubt: " + a.text;
    r.assumptions.push_back(std::move(a));
  }
  // The last point saw none of this flow — nor any of the packets that came back the other way
  // through it, which the point before it saw: it is not capturing this connection's path (a
  // capture on another interface, or a filter that keeps neither direction), and what it did
  // not see says nothing of a loss.
  if (r.hop >= 0 && r.verdict != VerdictKind::kInconclusive && !blind_far_end_.empty() &&
      blind_far_end_[ri] == next_usable(r.hops[std::size_t(r.hop)].from)) {
    const HopStat& h = r.hops[std::size_t(r.hop)];
    const Point& from = points_[h.from];
    const Point& end = points_[blind_far_end_[ri]];
    r.verdict = VerdictKind::kInconclusive;
    r.hop = -1;
    r.summary = "inconclusive: " + u64(h.lost) + " of " + u64(h.in) + " lost after " + point_text(from) + ", but " +
                end.label + " saw none of the packets that came back the other way through it (" + from.label +
                " saw them): " + end.label + " is not capturing this flow's path — check its interface and filter";
  }
  if (r.hop < 0) return;  // the order is in doubt: no hop is named, here or in the findings
  const HopStat& head = r.hops[std::size_t(r.hop)];
  // What the headline rests on: both points are on the path. Two neighbours that both captured
  // and saw no flow in common are a hop that dropped everything both ways — or a point captured
  // on another interface, or listed out of place: the evidence cannot tell them apart.
  if (r.verdict != VerdictKind::kInconclusive) {
    const unsigned to_ord = next_usable(head.from);
    if (nothing_shared_[std::min<unsigned>(head.from, to_ord)]) {
      const Point& from = points_[head.from];
      const Point& to = points_[to_ord];
      Assumption a;
      a.kind = "path";
      a.points = {from.label, to.label};
      a.text = from.label + " and " + to.label + " saw no flow in common in this run (" + from.label + " saw " +
               u64(from.digested - from.filtered) + " packets, " + to.label + " " + u64(to.digested - to.filtered) +
               "): the packets count as lost between them only if both are on this flow's path, in this order — "
               "a capture on another interface, or a point listed out of place, looks the same as a hop that "
               "drops everything. Check " + to.label + "'s interface and the points' order (the inventory's, or "
               "--points)";
      r.summary += " — if " + to.label + " is on the path after " + from.label + " (they saw no flow in common)";
      r.assumptions.push_back(std::move(a));
    }
  }
  // What the headline rests on: the next point was capturing, its clock agrees.
  if (head.assumed > 0) {
    const Point& to = points_[next_usable(head.from)];
    const Point& from = points_[head.from];
    Assumption a;
    a.points = {to.label};
    if (to.clock_unknown || from.clock_unknown) {
      const Point& odd = to.clock_unknown ? to : from;
      a.kind = "clock";
      a.text = "the clock of " + odd.host + " (point " + odd.label +
               ") could not be compared with the others (no packet seen on both hosts): the " +
               u64(head.assumed) + " packets count as lost between " + from.label + " and " + to.label +
               " only if " + to.label + " was capturing when they would have passed; give its offset with "
               "--clock " + odd.host + "=±SECONDS to settle it";
      r.summary += " — if " + to.label + " was capturing then (" + odd.host + "'s clock could not be compared)";
    } else {
      a.kind = "window";
      std::string when;
      if (to.first_frame_ns)
        when = to.label + "'s capture shows no frame between " + at_text(to.first_frame_ns, time_origin_) +
               " and " + at_text(to.last_frame_ns, time_origin_) + " covering them";
      else
        when = to.label + "'s capture holds no frame at all";
      a.text = u64(head.assumed) + " of the " + u64(head.lost) + " packets count as lost between " + from.label +
               " and " + to.label + " only if " + to.label + " was capturing when they would have passed: " +
               when + ". A capture started before the traffic (or its start time: a pcapng statistics block, "
               "`start =` in the inventory, --window, --assume-capturing) settles it";
      r.summary += head.assumed == head.lost ? " — if " + to.label + " was capturing then"
                                             : " (" + u64(head.assumed) + " of them only if " + to.label +
                                                   " was capturing then)";
    }
    r.assumptions.push_back(std::move(a));
  }
  for (unsigned k = 0; k < hops; ++k) {
    const HopStat& h = r.hops[k];
    if (int(k) == r.hop || h.lost == 0) continue;
    if (h.inconclusive)
      r.findings.push_back(u64(h.lost) + " lost " + between(h) + " are not blamed: " + h.why);
    else
      r.findings.push_back("also " + u64(h.lost) + " of " + u64(h.in) + " lost " + between(h) + " (" +
                           pct_text(h.lost, h.in) + ")");
  }
}

// Results most interesting first, then by judged packets, most first (rule 8): their keys
// sorted side by side, then the ranked results put in that order.
void Analyzer::order_results() {
  std::sort(rank_keys_.begin(), rank_keys_.end(), [](const RankKey& a, const RankKey& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.judged != b.judged) return a.judged > b.judged;
    if (a.flow != b.flow) return a.flow < b.flow;
    return a.dir < b.dir;  // one result per flow and direction: a total order
  });
  std::vector<uint32_t> order(rank_keys_.size());
  for (uint32_t k = 0; k < order.size(); ++k) order[k] = rank_keys_[k].index;
  std::vector<RankKey>().swap(rank_keys_);
  ranked_.rank(order);
}

}  // namespace pathtrace::analyzer
