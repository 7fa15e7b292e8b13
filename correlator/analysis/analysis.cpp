// Analysis: sightings → traversals → per flow, per hop counts → verdicts and findings.
// The rules are written for people in docs/verdicts.md; this file runs the steps in order
// (analyzer.hpp says which file holds each) and puts the Run together:
//
//   1. radix sort of sightings by digest (top 27 bits, stable), then by time within a digest
//   2. one pass over digest groups: traversals (duplicates, repeats), their flow, fate and
//      direction; counts accumulated straight into the flow's result (no per-sighting allocation)
//      (1 and 2 on two threads: each sorts half the digests, then groups them, into an
//      Analyzer of its own; the upper half's is then added to the lower's, in order)
//   3. traversals stay in digest order; grouping left the sightings grouped in that order
//   4. hops, verdicts, summaries, and findings for the flows that need them; inner flows
//      listed under their flow; flows numbered in order of first appearance; results ordered

#include "correlator/analysis/analysis.hpp"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "collector/common/permute.hpp"
#include "correlator/analysis/analyzer.hpp"
#include "correlator/analysis/character.hpp"
#include "correlator/analysis/findings.hpp"
#include "correlator/analysis/health.hpp"
#include "correlator/analysis/sort.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace {
namespace analyzer {

Run Analyzer::run(std::vector<Sighting> sightings, std::vector<Sighting>* scratch) {
  Run out;
  Report& rep = out.report;
  PT_INVARIANT(n_ <= kMaxPoints);
  const std::size_t n = sightings.size();
  // Two threads pay from a few hundred thousand sightings on (a thread start is ~50 µs).
  const bool parallel = opt_.threads >= 2 && n >= (std::size_t{1} << 18) && std::thread::hardware_concurrency() >= 2;
  {
    // The chains' flow keys are interned (setup_chains), and the sort's second buffer sized
    // (its fresh pages faulted in), while the points' health is assessed from every sighting:
    // neither reads what the other writes.
    std::future<void> chains = std::async(parallel ? std::launch::async : std::launch::deferred, [this, scratch, n] {
      setup_chains();
      if (scratch && scratch->size() < n) scratch->resize(n);
    });
    PointTally tally(points_.size(), chains_);
    tally.add(sightings);
    PT_INVARIANT(tally.out_of_range() == 0);  // every sighting's point and chain are the run's
    assess_points(points_, std::move(tally), rep.warnings, &tagged_at_);
    chains.get();
  }
  setup_points(rep);
  reserve_per_flow();
  rep.sightings = n;

  // 1. Sort by (digest, time), in place, with a second buffer of n sightings as scratch:
  // the caller's (memory already touched: on this kind of machine zeroing fresh pages is a
  // good part of the cost) or a fresh one.
  // 2. Traversals, fates, counters, while the sort's second thread finishes the upper half.
  Sighting* other = nullptr;
  struct Free {
    void operator()(Sighting* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<Sighting, Free> other_owner;
  if (scratch) {
    if (scratch->size() < n) scratch->resize(n);
    other = scratch->data();
  } else if (n) {
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t other_bytes = (n * sizeof(Sighting) + kHuge - 1) / kHuge * kHuge;
    other = static_cast<Sighting*>(std::aligned_alloc(kHuge, other_bytes));
    if (!other) throw std::bad_alloc();
    advise_huge(other, other_bytes);
    other_owner.reset(other);
  }
  // With two threads each groups the half it sorted: the upper half into a copy of this
  // Analyzer as set up so far, added to this one afterwards (absorb: the same flows, results
  // and traversals as one pass over all of them).
  std::unique_ptr<Analyzer> upper;
  if (parallel) upper = std::make_unique<Analyzer>(*this);
  // This one's traversals are all of them once the upper half's are absorbed: room for
  // both from the start (pages are touched only as traversals are written).
  const std::size_t per_half = parallel ? n / 2 : n;
  for (Analyzer* a : {this, upper.get()}) {
    if (!a) continue;
    a->travs_.reserve((a == this ? n : per_half) / std::max(1u, n_) + 16);
    advise_huge(a->travs_.data(), a->travs_.capacity() * sizeof(Traversal));
  }
  sort_sightings(sightings.data(), other, n, parallel, [&](unsigned half, std::size_t begin, std::size_t end) {
    (half == 0 ? this : upper.get())->group(sightings.data(), begin, end);
  });
  if (upper) {
    absorb(*upper);
    upper.reset();
  }
  other_owner.reset();
  if (scratch) std::vector<Sighting>().swap(*scratch);
  out.sightings = std::move(sightings);
  return finish(std::move(out));
}

Run Analyzer::run(SightingParts& parts) {
  Run out;
  Report& rep = out.report;
  PT_INVARIANT(n_ <= kMaxPoints);
  // A first pass for the points' health: it decides which points are evidence before any
  // traversal is grouped.
  const bool parallel = opt_.threads >= 2 && std::thread::hardware_concurrency() >= 2;
  PointTally tally(points_.size(), chains_);
  {
    // The chains' flow keys are interned meanwhile (neither reads what the other writes).
    std::future<void> chains = std::async(parallel ? std::launch::async : std::launch::deferred, [this] { setup_chains(); });
    std::vector<Sighting> range;
    for (unsigned part = 0; part < parts.count(); ++part) {
      parts.load(part, range);
      tally.add(range);
    }
    chains.get();
  }
  assess_points(points_, std::move(tally), rep.warnings, &tagged_at_);
  setup_points(rep);
  reserve_per_flow();
  // 1. and 2., range by range, in digest order: the next range is loaded, sorted and split
  // into traversals (its flows interned) on a second thread while this one settles the range
  // before it; the traversals, flows and results come out as one pass over all of them makes
  // them (splitting and settling touch different tables: analyzer.hpp, split()).
  struct Range {
    std::vector<Sighting> sightings, other;
    std::vector<Split> splits;
  };
  Range ranges[2];
  auto prepare = [&](unsigned part, Range& r) {
    parts.load(part, r.sightings);
    for (const Sighting& s : r.sightings) {
      PT_INVARIANT(s.point < n_);
      PT_INVARIANT(s.chain < chains_.size());
    }
    if (r.other.size() < r.sightings.size()) r.other.resize(r.sightings.size());
    sort_sightings(r.sightings.data(), r.other.data(), r.sightings.size(), false,
                   [](unsigned, std::size_t, std::size_t) {});
    r.splits.clear();
    split(r.sightings.data(), 0, r.sightings.size(), r.splits);
  };
  base_ = 0;
  if (parts.count() > 0) prepare(0, ranges[0]);
  for (unsigned part = 0; part < parts.count(); ++part) {
    std::future<void> next;
    if (part + 1 < parts.count()) {
      next = std::async(parallel ? std::launch::async : std::launch::deferred, prepare, part + 1,
                        std::ref(ranges[(part + 1) % 2]));
    }
    std::vector<Sighting>& range = ranges[part % 2].sightings;
    settle_all(ranges[part % 2].splits, range.data());
    parts.append_grouped(range);
    parts.append_traversals(travs_);  // the range's: only one range's are in memory at a time
    travs_.clear();
    base_ += range.size();
    if (next.valid()) next.get();
  }
  for (Range& r : ranges) r = Range{};
  rep.sightings = base_;
  out.spilled = parts.grouped();
  out.spilled_traversals = parts.traversals();
  std::vector<Traversal>().swap(travs_);
  PT_INVARIANT(out.spilled->all().size() == base_);
  return finish(std::move(out));
}

// A run has about as many flows as chains (a chain per flow and direction, or per flow and
// stack where the stacks differ along the path), and fewer results: room for that many from the
// start, so the per-flow vectors do not grow while grouping (a vector that grows holds two
// copies of itself for a moment, at the run's peak; room not written to takes no memory).
void Analyzer::reserve_per_flow() {
  const std::size_t n = chains_.size();
  flows_.reserve(n);
  results_.reserve(n);
  entry_missed_.reserve(n);
  entry_aggregates_.reserve(n);
  outside_.reserve(n);
}

Run Analyzer::finish(Run out) {
  Report& rep = out.report;
  sized_inner_dirs();
  drop_split_tables();
  const std::size_t n = out.all_sightings().size();
  if (!out.spilled_traversals) out.traversals = std::move(travs_);
  // 3. Traversals stay in digest order (then time): the store keeps them in blocks by digest
  // range, so one packet is found without an index (docs/schema.md). Grouping made each
  // traversal's sightings contiguous, in traversal order, so both vectors are final as they are.
  std::size_t at = 0;
  const std::span<const Traversal> grouped = out.all_traversals();
  for (std::size_t i = 0; i < grouped.size(); ++i) {
    PT_INVARIANT(grouped[i].first == at);
    at += grouped[i].count;
    if ((i & 0xffff) == 0xffff) [[unlikely]] out.release_traversals_before(i);
  }
  PT_INVARIANT(at == n);
  out.release_traversals_before(out.all_traversals().size());
  // A flow never seen at the end it enters by, though right after it: judged from there (the
  // end's capture missed it, or it starts mid-path), saying so. Every traversal settles again.
  bool again = override_blind_entries(rep);
  // Losses that rest on a point having captured: settle again knowing which flows each point
  // saw, so that a capture that started late (stopped early) is told from a drop.
  if (window_assumed_) {
    flow_seen_.assign(flows_.size() * 2 + 2, 0);
    for (uint32_t ri = 0; ri < results_.size(); ++ri) {
      uint64_t mask = 0;
      const uint32_t* seen_any = counts(ri, kSeenAny);
      for (unsigned p = 0; p < n_; ++p)
        if (seen_any[p]) mask |= bit(p);
      flow_seen_[std::size_t(results_[ri].flow) * 2 + std::size_t(results_[ri].dir)] = mask;
    }
    again = true;
  }
  if (again) rejudge(out);

  // 4. Verdicts and findings. A point that missed (nearly) everything that passed it is not
  // evidence: the hops around it are judged across it.
  std::vector<uint64_t>().swap(flow_seen_);  // settling is over: what only it reads goes
  std::vector<uint64_t>().swap(entry_missed_);
  std::vector<uint64_t>().swap(entry_aggregates_);
  find_blind_points(rep);
  std::vector<uint64_t>().swap(outside_);
  window_warnings(rep);
  // What judging does not read comes first, so that a plain result is final when it is judged
  // (and packed): its translations, its inner flows, and the flows' numbers.
  add_translations(out);
  list_inner_flows();
  renumber_flows(out);
  std::vector<uint32_t>().swap(result_index_);  // by the flows' old numbers
  for (auto& [ri, inner] : inner_of_) std::sort(inner.begin(), inner.end());
  judge_results();  // also the results' point arrays; the counters and results_ go as it goes
  std::vector<uint8_t>().swap(order_doubt_);
  std::vector<uint8_t>().swap(nothing_shared_);
  std::vector<uint8_t>().swap(blind_far_end_);
  counts_.clear();
  rare_.clear();
  delays_.clear();
  add_findings(out);
  if (inconsistent_) {
    rep.warnings.push_back(text::u64(inconsistent_) +
                           " packets had different innermost IP layers at different points (digest collision?)");
  }
  order_results();
  out.results = std::move(ranked_);
  out.list_results(kListedResults);
  rep.flows = std::move(flows_);
  if (win_start_ == kMinTime && win_end_ == kMaxTime) {
    // No window known: report the span of the traversals instead of ±infinity.
    const std::span<const Traversal> travs = out.all_traversals();
    rep.window_start_ns = travs.empty() ? 0 : travs.front().t0_ns;
    rep.window_end_ns = travs.empty() ? 0 : travs.back().t0_ns;
  } else {
    rep.window_start_ns = win_start_;
    rep.window_end_ns = win_end_;
  }
  rep.points = std::move(points_);
  out.chains = std::move(chains_);
  return out;
}

void Analyzer::find_blind_points(Report& rep) {
  order_doubt_.assign(results_.size(), kNoPoint);
  // Usable neighbours that both saw packets of the run's flows (past the filter) and share no flow.
  nothing_shared_.assign(n_, 0);
  auto saw_flows = [&](unsigned p) { return points_[p].digested > points_[p].filtered; };
  for (unsigned p = 0; p < n_; ++p) {
    if (!points_[p].health.usable || !saw_flows(p)) continue;
    unsigned q = p + 1;
    while (q < n_ && !points_[q].health.usable) ++q;
    if (q == n_ || !saw_flows(q)) continue;
    bool shared = false;
    for (uint32_t ri = 0; ri < results_.size() && !shared; ++ri) {
      const auto seen = counts(ri, kSeenAny);
      shared = seen[p] > 0 && seen[q] > 0;
    }
    nothing_shared_[p] = !shared;
  }
  find_blind_far_ends();
  for (unsigned p = 0; p < n_; ++p) {
    Point& pt = points_[p];
    if (!pt.health.usable) continue;
    // A capture that holds nothing while traffic passed it.
    if (passed_empty_[p] >= 10) {
      mark_blind(pt, "it captured nothing at all, while " + text::u64(passed_empty_[p]) +
                         " packets passed it (the points on both sides saw them)",
                 tagged_at_, rep.warnings);
      continue;
    }
    // A flow that passed it while it captured, and it saw none of it; or, where frames are
    // VLAN-tagged, a flow it saw none of at all, outside its capture's span too (the span of
    // what a VLAN-blind filter let through says little of when it ran).
    for (uint32_t ri = 0; ri < results_.size(); ++ri) {
      const Tally& r = results_[ri];
      if (counts(ri, kSeenAny)[p] > 0) continue;
      if (const uint64_t holes = rare(ri, kHoles)[p]; holes >= 10) {
        std::string saw = "it saw none of the " + text::u64(holes) + " packets of " +
                          flows_[r.flow - 1].label() +
                          " that passed it while it captured (the points on both sides saw them)";
        if (pt.packets > 0 && !vlan_suspect(pt, tagged_at_)) {
          // It captured other traffic here: a filter that left this flow out, or a point listed in
          // the wrong place (after the furthest point that saw the flow, not before it).
          order_doubt_[ri] = uint8_t(p);
          saw += ", while it captured " + text::u64(pt.packets) + " frames of other traffic; if it is listed "
                 "in the wrong place, the flow never reached it";
        }
        mark_blind(pt, saw, tagged_at_, rep.warnings);
        break;
      }
      if ((outside_[ri] & bit(p)) && r.judged >= 10 && vlan_suspect(pt, tagged_at_)) {
        mark_blind(pt, "it saw none of the " + text::u64(r.judged) + " packets of " + flows_[r.flow - 1].label() +
                           " that passed it (the points on both sides saw them)",
                   tagged_at_, rep.warnings);
        break;
      }
    }
  }
}

void Analyzer::find_blind_far_ends() {
  if (n_usable_ < 3) return;  // with two points the end a flow entered by is the one that saw it
  auto entry_of = [&](const Tally& r) { return r.dir == Dir::kForward ? lo_ : hi_; };
  auto far_of = [&](const Tally& r) { return r.dir == Dir::kForward ? hi_ : lo_; };
  struct KeyHash {
    std::size_t operator()(const packet::FlowKey& k) const noexcept { return packet::address_hash(k); }
  };
  // The flows that entered the path unseen by its end (the point after it saw them first), by
  // key and that end: few, on any run.
  std::unordered_map<packet::FlowKey, unsigned, KeyHash> entered_unseen;
  for (uint32_t ri = 0; ri < results_.size(); ++ri) {
    const Tally& r = results_[ri];
    const auto seen = counts(ri, kSeenAny);
    const unsigned entry = entry_of(r);
    if (seen[entry] == 0 && seen[usable_after(entry, r.dir)] > 0)
      entered_unseen.emplace(flows_[r.flow - 1].key, entry);
  }
  if (entered_unseen.empty()) return;
  for (uint32_t ri = 0; ri < results_.size(); ++ri) {
    const Tally& r = results_[ri];
    const unsigned far = far_of(r);
    if (r.judged == 0 || counts(ri, kSeenAny)[far] != 0) continue;
    packet::FlowKey back = flows_[r.flow - 1].key;
    std::swap(back.src, back.dst);
    std::swap(back.sport, back.dport);
    const auto it = entered_unseen.find(back);
    if (it == entered_unseen.end() || it->second != far) continue;
    if (blind_far_end_.empty()) blind_far_end_.assign(results_.size(), kNoPoint);
    blind_far_end_[ri] = uint8_t(far);
  }
}

bool Analyzer::override_blind_entries(Report& rep) {
  // Aggregates at the entry end of what the next point saw as segments: not judged.
  for (std::size_t ri = 0; ri < results_.size(); ++ri)
    if (entry_missed_[ri] && entry_aggregates_[ri])
      aggregating_[std::size_t(results_[ri].flow) * 2 + std::size_t(results_[ri].dir)] = true;
  if (n_usable_ < 3) return !aggregating_.empty();
  std::vector<uint64_t> missed_at(n_, 0);
  for (uint32_t ri = 0; ri < results_.size(); ++ri) {
    const Tally& r = results_[ri];
    if (entry_missed_[ri] == 0) continue;
    const uint64_t agg = entry_aggregates_[ri];
    if (r.judged > agg) continue;
    const unsigned end = r.dir == Dir::kForward ? lo_ : hi_;
    if (counts(ri, kSeenAny)[end] > agg) continue;  // the end saw some of it: it was not blind to this flow
    entry_override_[std::size_t(r.flow) * 2 + std::size_t(r.dir)] = usable_after(end, r.dir);
    missed_at[end] += entry_missed_[ri];
  }
  if (entry_override_.empty()) return !aggregating_.empty();
  // An end that captured nothing at all is no evidence for any flow: say why.
  for (unsigned end : {lo_, hi_}) {
    Point& p = points_[end];
    if (missed_at[end] && p.packets == 0 && p.health.usable)
      mark_blind(p, "it captured none of the " + text::u64(missed_at[end]) +
                        " packets that entered the path there (the next point saw them first)",
                 tagged_at_, rep.warnings);
  }
  return true;
}

// Where each translated flow was translated (rule 9): on the result its packets belong to.
void Analyzer::add_translations(const Run& run) {
  if (!translations_) return;
  for (const TranslationGroup& g : *translations_) {
    const std::span<const Traversal> travs = run.all_traversals();
    const auto it = std::lower_bound(travs.begin(), travs.end(), g.digest,
                                     [](const Traversal& t, uint64_t d) { return t.digest < d; });
    if (it == travs.end() || it->digest != g.digest) continue;
    const std::size_t key = std::size_t(it->flow) * 2 + std::size_t(it->dir);
    if (key >= result_index_.size() || result_index_[key] == 0) continue;
    Translation x;
    x.from = g.from;
    x.to = g.to;
    x.before = g.before;
    x.after = g.after;
    x.packets = g.packets;
    translated_[result_index_[key] - 1].push_back(std::move(x));
  }
}

// The findings of every result (rule 7): its loss character in numbers, then in words, ahead
// of the findings judging already made. Only results with something to say get a character:
// a partial loss, or holes, duplicates or frames over the MTU at some point.
void Analyzer::add_findings(const Run& run) {
  // Judged results are whole unless plain, and a plain result (no holes, no partial loss, no
  // duplicates or frames over the MTU) has nothing to say here. The telling ones are copied
  // side by side for characterise(): a few among hundreds of thousands.
  std::vector<uint32_t> telling;  // result indices (not yet ranked)
  std::vector<FlowResult> told;
  for (uint32_t ri = 0; ri < ranked_.size(); ++ri) {
    const FlowResult* r = ranked_.whole(ri);
    if (!r) continue;
    const std::vector<uint32_t>& holes = r->holes_at;
    if (r->verdict == VerdictKind::kPartialLoss || findings_input_.count(ri) ||
        std::any_of(holes.begin(), holes.end(), [](uint32_t h) { return h != 0; })) {
      telling.push_back(ri);
      told.push_back(*r);
    }
  }
  std::vector<LossCharacter> chars(telling.size());
  for (std::size_t k = 0; k < telling.size(); ++k) {
    if (const auto input = findings_input_.find(telling[k]); input != findings_input_.end()) {
      chars[k].duplicates_at = std::move(input->second.duplicates_at);
      chars[k].over_mtu_at = std::move(input->second.over_mtu_at);
    } else {
      chars[k].duplicates_at.assign(n_, 0);
      chars[k].over_mtu_at.assign(n_, 0);
    }
  }
  findings_input_.clear();
  characterise(told, run.all_traversals(), run.all_sightings(), chars,
               [&](std::size_t i) { run.release_traversals_before(i); });
  std::vector<FlowResult>().swap(told);
  run.release_traversals_before(run.all_traversals().size());
  const FindingsContext ctx{points_, flows_, opt_.mtu_frame, time_origin_};
  for (std::size_t k = 0; k < telling.size(); ++k) {
    std::vector<std::string> found = describe(chars[k], ctx);
    FlowResult& r = *ranked_.whole(telling[k]);
    r.findings.insert(r.findings.begin(), std::make_move_iterator(found.begin()),
                      std::make_move_iterator(found.end()));
  }
}

// Inner flows listed under their top-level flow, per direction seen.
void Analyzer::list_inner_flows() {
  for (std::size_t id = flows_.size(); id >= 1; --id) {
    const Flow& f = flows_[id - 1];
    const uint8_t dirs = inner_dirs_[id - 1];
    if (f.parent == 0 || dirs == 0) continue;
    uint32_t top = f.parent;
    while (flows_[top - 1].parent != 0) {
      inner_dirs_[top - 1] |= dirs;  // layers in between are inner flows too
      top = flows_[top - 1].parent;
    }
    for (unsigned d = 0; d < 2; ++d) {
      if (!(dirs & (1u << d))) continue;
      const std::size_t key = std::size_t(top) * 2 + d;
      if (key < result_index_.size() && result_index_[key]) inner_of_[result_index_[key] - 1].push_back(uint32_t(id));
    }
  }
}

// Flow ids in order of first appearance (a person reads flow 1 as "the first flow seen"),
// a flow's outer layers before its inner ones. Interning happened in digest order.
void Analyzer::renumber_flows(Run& out) {
  const std::size_t n = flows_.size();
  std::vector<uint32_t> map(n + 1, 0);
  uint32_t next = 1;
  std::vector<uint32_t> path;
  auto assign_with_parents = [&](uint32_t id) {
    path.clear();
    for (uint32_t f = id; f != 0 && map[f] == 0; f = flows_[f - 1].parent) path.push_back(f);
    for (auto it = path.rbegin(); it != path.rend(); ++it) map[*it] = next++;
  };
  const std::span<Traversal> travs = out.all_traversals();
  for (std::size_t i = 0; i < travs.size(); ++i) {
    const Traversal& t = travs[i];
    if (t.flow) assign_with_parents(t.flow);
    if (t.inner_flow) assign_with_parents(t.inner_flow);
    if ((i & 0xffff) == 0xffff) [[unlikely]] out.release_traversals_before(i);
  }
  out.release_traversals_before(travs.size());
  for (uint32_t id = 1; id <= n; ++id)
    if (map[id] == 0) assign_with_parents(id);
  // In place (no second vector of flows at the run's peak memory): the flow at index i goes to
  // index map[i + 1] - 1.
  std::vector<uint32_t> to(n);
  for (uint32_t id = 1; id <= n; ++id) {
    Flow& f = flows_[id - 1];
    f.id = map[id];
    f.parent = f.parent ? map[f.parent] : 0;
    to[id - 1] = f.id - 1;
  }
  move_to_places(flows_, to);
  for (std::size_t i = 0; i < travs.size(); ++i) {
    Traversal& t = travs[i];
    t.flow = map[t.flow];
    t.inner_flow = map[t.inner_flow];
    if ((i & 0xffff) == 0xffff) [[unlikely]] out.release_traversals_before(i);
  }
  out.release_traversals_before(travs.size());
  for (Tally& r : results_) r.flow = map[r.flow];
  for (auto& [ri, inner] : inner_of_)
    for (uint32_t& f : inner) f = map[f];
}

}  // namespace analyzer

namespace {

// analyze(), sorting with `scratch` when given.
Run analyze_with(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
                 std::vector<Sighting>* scratch, const AnalysisOptions& opt) {
  std::vector<Point> fresh = points;  // as given: a second analysis starts from them again
  Run first = analyzer::Analyzer(points, chains, opt).run(std::move(sightings), scratch);
  // Packets translated at a hop (rule 9): their later sightings take their earlier digest and
  // everything is analysed again, once.
  const analyzer::Translations found = analyzer::find_translations(first, opt);
  if (found.groups.empty()) return first;
  for (const auto& r : found.renamed) {
    const Traversal& t = first.traversals[r.traversal];
    for (uint32_t i = t.first; i < t.first + t.count; ++i) first.sightings[i].digest = r.digest;
  }
  analyzer::Analyzer again(fresh, first.chains, opt);
  again.translated(&found.groups);
  Run out = again.run(std::move(first.sightings), nullptr);
  for (const auto& r : found.renamed) out.renamed.emplace(first.traversals[r.traversal].digest, r.digest);
  return out;
}

// analyze() over ranges: the same steps as analyze_with, the second analysis over the
// sightings split again (a translation moves a packet's later sightings to its earlier digest).
Run analyze_parts(std::vector<Point> points, std::vector<Chain> chains, SightingParts& parts,
                  const AnalysisOptions& opt) {
  std::vector<Point> fresh = points;
  Run first = analyzer::Analyzer(points, chains, opt).run(parts);
  const analyzer::Translations found = analyzer::find_translations(first, opt);
  if (found.groups.empty()) return first;
  const std::span<Sighting> all = first.all_sightings();
  for (const auto& r : found.renamed) {
    const Traversal& t = first.all_traversals()[r.traversal];
    for (uint32_t i = t.first; i < t.first + t.count; ++i) all[i].digest = r.digest;
  }
  std::unique_ptr<SightingParts> again_parts = parts.split_again(all);
  std::unordered_map<uint64_t, uint64_t> renamed;
  for (const auto& r : found.renamed) renamed.emplace(first.all_traversals()[r.traversal].digest, r.digest);
  std::vector<Chain> chains_again = std::move(first.chains);
  first = Run{};  // the first analysis's file and traversals go before the second's are made
  analyzer::Analyzer again(fresh, chains_again, opt);
  again.translated(&found.groups);
  Run out = again.run(*again_parts);
  out.renamed = std::move(renamed);
  return out;
}

}  // namespace

Run analyze(std::vector<Point> points, std::vector<Chain> chains, SightingParts& parts, const AnalysisOptions& opt) {
  return analyze_parts(std::move(points), std::move(chains), parts, opt);
}

Run analyze(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
            const AnalysisOptions& opt) {
  return analyze_with(std::move(points), std::move(chains), std::move(sightings), nullptr, opt);
}

Run analyze(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
            std::vector<Sighting> scratch, const AnalysisOptions& opt) {
  return analyze_with(std::move(points), std::move(chains), std::move(sightings), &scratch, opt);
}

}  // namespace pathtrace
