// Grouping (rules 1, 2, 4 and 5 of docs/verdicts.md): one pass over the sorted sightings
// that splits every digest's sightings into traversals — duplicates, identical packets sent
// again — and finishes each one on the spot: its flow (the outermost layer every point saw,
// interned layer by layer), its fate, direction and last point, and its counts added straight
// into its flow's result (seen, holes, duplicates, over-MTU frames, how far it got). The hot
// path of the analysis: nothing is allocated per sighting, and per flow only its label, once
// all are made (flows and lists of flow keys are interned by hash, a result's counts live in
// one flat array). With two threads, each groups half the digests into an Analyzer of its
// own, and absorb() adds the upper half's to the lower's as if one pass had made both.

#include <algorithm>
#include <bit>
#include <cstring>
#include <future>
#include <string>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "correlator/analysis/analyzer.hpp"

namespace pathtrace::analyzer {

namespace {

// Hash of a list of flow keys (a chain's IP layers), or of one key under a parent flow.
uint64_t keys_hash(std::span<const packet::FlowKey> ip) {
  return XXH3_64bits(ip.data(), ip.size() * sizeof(packet::FlowKey));
}
uint64_t flow_hash(uint32_t parent, const packet::FlowKey& key) {
  return XXH3_64bits_withSeed(&key, sizeof key, parent);
}

}  // namespace

// Interns each chain's list of flow keys, so traversals compare chains by id.
void Analyzer::setup_chains() {
  static_assert(sizeof(packet::FlowKey) == 38, "flow keys are hashed and compared as bytes");
  keys_of_chain_.resize(chains_.size());
  auto same_keys = [&](std::span<const packet::FlowKey> ip) {
    return [this, ip](uint32_t id) { return std::ranges::equal(*keys_[id], ip); };
  };
  for (std::size_t c = 0; c < chains_.size(); ++c) {
    const auto& ip = chains_[c].ip;
    PT_INVARIANT(!ip.empty());
    const auto [id, fresh] = keys_ids_.find_or_add(keys_hash(ip), same_keys(ip));
    if (fresh) {
      keys_.push_back(&ip);
      depth_base_.push_back(uint32_t(flows_at_depth_.size()));
      flows_at_depth_.resize(flows_at_depth_.size() + ip.size(), {0, 0});
    }
    keys_of_chain_[c] = id;
  }
  depth_base_.push_back(uint32_t(flows_at_depth_.size()));  // the end of the last keys id's
  // A translated flow's later keys stand for its earlier ones (translate.hpp).
  if (!translations_) return;
  for (const TranslationGroup& g : *translations_) {
    const uint32_t before = keys_ids_.find(keys_hash(g.before_keys), same_keys(g.before_keys));
    const uint32_t after = keys_ids_.find(keys_hash(g.after_keys), same_keys(g.after_keys));
    if (before == IdTable::kNone || after == IdTable::kNone) continue;
    for (uint32_t& k : keys_of_chain_)
      if (k == after) k = before;
  }
}

// Number of IP layers, counted from the innermost, whose keys are identical in both lists.
uint32_t Analyzer::common_depth(uint32_t ka, uint32_t kb) {
  const uint64_t pair = (uint64_t(ka) << 32) | kb;
  DepthMemo& m = depth_memo_[(pair * 0x9E3779B97F4A7C15ull) >> 52];
  if (m.pair == pair) return m.depth;
  const auto& a = *keys_[ka];
  const auto& b = *keys_[kb];
  uint32_t d = 0;
  while (d < a.size() && d < b.size() && a[a.size() - 1 - d] == b[b.size() - 1 - d]) ++d;
  m = {pair, d};
  return d;
}

uint32_t Analyzer::intern_flow(uint32_t parent, const packet::FlowKey& key) {
  const auto [index, fresh] = flow_ids_.find_or_add(flow_hash(parent, key), [&](uint32_t i) {
    return flows_[i].parent == parent && flows_[i].key == key;
  });
  if (fresh) {
    Flow f;
    f.id = index + 1;
    f.parent = parent;
    f.key = key;
    flows_.push_back(std::move(f));
  }
  return index + 1;
}

// (top-level flow, innermost flow) of a traversal whose chains share `depth` inner layers.
std::pair<uint32_t, uint32_t> Analyzer::flows_for(uint32_t keys_id, uint32_t depth) {
  auto& slot = flows_at_depth_[depth_base_[keys_id] + depth - 1];
  if (slot.first != 0) return slot;
  const auto& ip = *keys_[keys_id];
  const std::size_t top = ip.size() - depth;
  const uint32_t top_id = intern_flow(0, ip[top]);
  uint32_t id = top_id;
  for (std::size_t i = top + 1; i < ip.size(); ++i) id = intern_flow(id, ip[i]);
  slot = {top_id, id};
  return slot;
}

// The index of the result of `flow` in direction `dir`, made on first use: its counts, and
// its zeroed counters in a new row of counts_ and delays_.
uint32_t Analyzer::result_for(uint32_t flow, Dir dir) {
  const std::size_t key = std::size_t(flow) * 2 + std::size_t(dir);
  if (result_index_.size() <= key) result_index_.resize(std::max(key + 1, result_index_.size() * 2), 0);
  uint32_t& idx = result_index_[key];
  if (idx == 0) {
    results_.push_back(Tally{flow, dir});
    counts_.add(0);
    delays_.add(Delay{});
    entry_missed_.push_back(0);
    entry_aggregates_.push_back(0);
    outside_.push_back(0);
    idx = uint32_t(results_.size());
  }
  return idx - 1;
}

void Analyzer::fill_point_arrays(uint32_t ri, FlowResult& r) {
  r.seen_at.assign(counts(ri, kSeenAt), counts(ri, kSeenAt) + n_);
  r.holes_at.assign(rare(ri, kHoles), rare(ri, kHoles) + n_);
  r.seen_any.assign(counts(ri, kSeenAny), counts(ri, kSeenAny) + n_);
  const uint32_t* dups = rare(ri, kDuplicates);
  const uint32_t* over = rare(ri, kOverMtu);
  if (std::any_of(dups, dups + n_, [](uint32_t v) { return v != 0; }) ||
      std::any_of(over, over + n_, [](uint32_t v) { return v != 0; }))
    findings_input_[ri] = {std::vector<uint32_t>(dups, dups + n_), std::vector<uint32_t>(over, over + n_)};
}

int Analyzer::same_host_direction(uint64_t seen, const int64_t* at) const {
  if (one_host_) {  // the two outermost points that saw it
    const unsigned lo = unsigned(std::countr_zero(seen)), hi = unsigned(63 - std::countl_zero(seen));
    return lo == hi || at[lo] == at[hi] ? 0 : (at[lo] < at[hi] ? 1 : -1);
  }
  // Per host, its lowest point that saw it; the host whose two points lie furthest apart decides.
  uint8_t lowest[kMaxPoints];
  std::memset(lowest, 0xff, sizeof lowest);
  int dir = 0;
  unsigned best = 0;
  for (uint64_t m = seen; m; m &= m - 1) {
    const unsigned j = unsigned(std::countr_zero(m));
    uint8_t& low = lowest[host_of_[j]];
    if (low == 0xff) {
      low = uint8_t(j);
      continue;
    }
    if (j - low > best && at[low] != at[j]) {
      best = j - low;
      dir = at[low] < at[j] ? 1 : -1;
    }
  }
  return dir;
}

void Analyzer::decide(Traversal& t, const int64_t* at) const {
  t.assumed = 0;
  t.entry = t.last_seen = kNoPoint;
  t.dir = Dir::kForward;
  const uint64_t seen = t.seen & usable_;
  if (n_usable_ < 2 || seen == 0) {  // nothing to compare it with
    t.fate = Fate::kNoEntry;
    return;
  }
  const int by_time = same_host_direction(seen, at);
  // The ends judging uses: the first and last usable points, or, for a flow whose entry end
  // saw none of it, the point after that end (entry_override_).
  unsigned lo = lo_, hi = hi_;
  uint8_t assumed_entry = 0;
  if (!entry_override_.empty() && by_time != 0) {
    const auto it = entry_override_.find(std::size_t(t.flow) * 2 + (by_time < 0 ? 1 : 0));
    if (it != entry_override_.end()) {
      (by_time < 0 ? hi : lo) = it->second;
      assumed_entry = kAssumeEntry;
    }
  }
  const uint64_t within = range_mask(lo, hi) & seen;
  const bool at_lo = within & bit(lo), at_hi = within & bit(hi);
  if (at_lo && at_hi) {
    t.fate = Fate::kDelivered;
    // Timestamps are compared only between points on one host (one clock): the pair of such
    // points furthest apart along the path decides; otherwise Forward by convention.
    t.dir = by_time < 0 ? Dir::kReverse : Dir::kForward;
    t.entry = uint8_t(t.dir == Dir::kForward ? lo : hi);
    t.last_seen = uint8_t(t.dir == Dir::kForward ? hi : lo);
    t.assumed = assumed_entry;
    return;
  }
  if (at_lo || at_hi) {
    const Dir by_end = at_lo ? Dir::kForward : Dir::kReverse;
    if (by_time != 0 && (by_time > 0) != (by_end == Dir::kForward)) {
      // The points on one host saw it travel towards the end that saw it: that end is where it
      // went, not where it came from; the entry end did not see it. Not judged.
      t.fate = Fate::kNoEntry;
      t.dir = by_time < 0 ? Dir::kReverse : Dir::kForward;
      return;
    }
    t.dir = by_end;
    t.entry = uint8_t(at_lo ? lo : hi);
    t.last_seen = uint8_t(at_lo ? 63 - std::countl_zero(within) : std::countr_zero(within));
    t.assumed = assumed_entry;
    // The next usable point along: was it capturing when the packet would have passed?
    const unsigned next = usable_after(t.last_seen, by_end);
    switch (capturing(next, at[t.last_seen], t.last_seen)) {
      case Capturing::kYes: t.fate = Fate::kLost; break;
      case Capturing::kNo: t.fate = Fate::kOutOfWindow; break;
      case Capturing::kUnknown: {
        // A point that saw this flow once it captured, and nothing before its first frame
        // (after its last), started late (stopped early): the loss is not judged.
        if (!flow_seen_.empty()) {
          const std::size_t key = std::size_t(t.flow) * 2 + std::size_t(t.dir);
          const Point& n = points_[next];
          const int64_t when = at[t.last_seen];
          if (key < flow_seen_.size() && (flow_seen_[key] & bit(next)) && n.first_frame_ns &&
              (when < n.first_frame_ns || when > n.last_frame_ns)) {
            t.fate = Fate::kOutOfWindow;
            break;
          }
        }
        t.fate = Fate::kLost;
        t.assumed |= kAssumeWindow;
        break;
      }
      case Capturing::kClockUnknown:
        t.fate = Fate::kLost;
        t.assumed |= kAssumeClock;
        break;
    }
    return;
  }
  // Seen at neither end: not judged, but counted under the direction it was travelling
  // (timestamps of points on one host), not a made-up one.
  t.fate = Fate::kNoEntry;
  if (by_time < 0) t.dir = Dir::kReverse;
}

Analyzer::Split Analyzer::make_traversal(const Sighting* s, uint32_t first, uint32_t count) {
  const Sighting* v = s + first;
  Split out;
  Traversal& t = out.t;
  t.digest = v[0].digest;
  t.t0_ns = v[0].ts_ns;
  t.first = first;
  t.count = uint16_t(count);
  t.tcp_flags = v[0].tcp_flags;
  uint64_t seen = 0;
  const uint32_t k0 = keys_of_chain_[v[0].chain];
  uint32_t depth = depth_base_[k0 + 1] - depth_base_[k0];  // keys_[k0]->size(), without a cache miss
  for (uint32_t i = 0; i < count; ++i) {
    seen |= bit(v[i].point);
    const uint32_t ki = keys_of_chain_[v[i].chain];
    if (ki != k0) depth = std::min(depth, common_depth(k0, ki));
  }
  if (depth == 0) {  // innermost layers differ: a digest collision or inconsistent input
    ++inconsistent_;
    depth = 1;
  }
  const auto [flow, inner] = flows_for(k0, depth);
  t.flow = flow;
  t.inner_flow = inner;
  t.seen = seen;
  out.to_link_local = link_local(flow);
  return out;
}

void Analyzer::settle_all(std::vector<Split>& splits, const Sighting* s) {
  for (Split& x : splits) {
    const uint32_t local = x.t.first;
    x.t.first = uint32_t(base_ + local);
    settle(x.t, s + local, x.to_link_local);
    travs_.push_back(x.t);
  }
}

// Decides `t` (its sightings `v`, in time order) and adds it to its flow's counters.
void Analyzer::settle(Traversal& t, const Sighting* v, bool to_link_local) {
  const uint32_t count = t.count;
  const uint64_t seen = t.seen;
  uint32_t first_at[kMaxPoints];  // index into v of the first sighting at a point (valid if seen)
  int64_t at[kMaxPoints];         // when each point first saw it (valid if seen)
  uint64_t found = 0, over_mask = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const unsigned p = v[i].point;
    if (!(found & bit(p))) {
      found |= bit(p);
      first_at[p] = i;
      at[p] = v[i].ts_ns;
    }
    if (v[i].wire_len > opt_.mtu_frame) over_mask |= bit(p);
  }
  decide(t, at);
  // A packet to a link-local destination (IGMP, mDNS, DHCP, a broadcast) stops at the first
  // router by design: where it stops is not a loss. Not judged (counted as not entering the
  // judged path), unless it reached the far end.
  if (t.fate == Fate::kLost && to_link_local) {
    t.fate = Fate::kNoEntry;
    t.assumed = 0;
  }
  // Seen only at the end it entered by, only as a frame over the MTU: an aggregate (TSO/GSO)
  // when the next point saw its flow's wire packets as segments (aggregating_).
  const bool aggregate = (t.fate == Fate::kLost || t.fate == Fate::kNoEntry) && (seen & usable_) != 0 &&
                         (seen & usable_ & ~over_mask) == 0 && std::popcount(seen & usable_) == 1;
  if (aggregate && t.fate == Fate::kLost && !aggregating_.empty() &&
      aggregating_.count(std::size_t(t.flow) * 2 + std::size_t(t.dir)))
    t.fate = Fate::kNoEntry;
  t.wire_len = t.last_seen != kNoPoint ? v[first_at[t.last_seen]].wire_len : v[0].wire_len;
  const unsigned last = n_ - 1;

  // Counters of the flow's result in this direction.
  const uint32_t ri = result_for(t.flow, t.dir);
  Tally& r = results_[ri];
  ++r.traversals;
  uint32_t* const seen_any = counts(ri, kSeenAny);
  for_each_bit(seen, [&](unsigned p) { ++seen_any[p]; });
  const uint32_t dups = count - uint32_t(std::popcount(seen));
  if (dups) {
    r.duplicates += dups;
    for (uint32_t i = 0; i < count; ++i) {
      if (first_at[v[i].point] != i) ++rare_for(ri, kDuplicates)[v[i].point];
    }
  }
  if (over_mask) {
    uint32_t* const over = rare_for(ri, kOverMtu);
    for_each_bit(over_mask, [&](unsigned p) { ++over[p]; });
  }
  if (t.inner_flow != t.flow) {
    if (inner_dirs_.size() < t.inner_flow) inner_dirs_.resize(std::max<std::size_t>(t.inner_flow, 2 * inner_dirs_.size()), 0);
    inner_dirs_[t.inner_flow - 1] |= uint8_t(1u << unsigned(t.dir));
  }
  switch (t.fate) {
    case Fate::kOutOfWindow: {
      ++r.out_of_window;
      const unsigned next = usable_after(t.last_seen, t.dir);
      ++not_capturing_[next];
      const Point& n = points_[next];
      const int64_t start = n.window_known ? n.start_ns : n.first_frame_ns;
      ++(at[t.last_seen] < start + opt_.guard_ns ? late_at_ : early_at_)[next];
      break;
    }
    case Fate::kNoEntry: {
      if (aggregate && !aggregating_.empty() && aggregating_.count(std::size_t(t.flow) * 2 + std::size_t(t.dir))) {
        ++r.aggregated;
        break;
      }
      ++r.no_entry;
      // Seen next to an end, travelling away from it, but not at that end: did the end see
      // this flow at all? (entry_override_, after the first pass)
      const uint64_t su = seen & usable_;
      if (n_usable_ >= 2 && su) {
        const unsigned near = t.dir == Dir::kForward ? lo_ : hi_;
        unsigned after = near;
        do {
          after = t.dir == Dir::kForward ? after + 1 : after - 1;
        } while (!(usable_ & bit(after)) && after != (t.dir == Dir::kForward ? hi_ : lo_));
        if (su & bit(after)) ++entry_missed_[ri];
      }
      break;
    }
    case Fate::kDelivered:
    case Fate::kLost: {
      ++r.judged;
      const uint64_t su = seen & usable_;
      if (t.fate == Fate::kDelivered) ++r.delivered; else ++r.lost;
      uint32_t* const seen_at = counts(ri, kSeenAt);
      for_each_bit(su, [&](unsigned p) { ++seen_at[p]; });
      // Usable points it passed unseen while they were capturing: a capture problem there.
      const unsigned lo = std::min(t.entry, t.last_seen), hi = std::max(t.entry, t.last_seen);
      for_each_bit(range_mask(lo, hi) & usable_ & ~su, [&](unsigned p) {
        // When it passed p: the time at the nearest point before p along its way that saw it.
        unsigned q = p;
        do {
          q = t.dir == Dir::kForward ? q - 1 : q + 1;
        } while (!(su & bit(q)));
        if (capturing(p, at[q], q) == Capturing::kYes) {
          ++rare_for(ri, kHoles)[p];
          return;
        }
        // Passed while p's capture was not known to run: before its first frame (or stated
        // start), after its last (or stated stop), or a capture that holds nothing at all.
        const Point& pt = points_[p];
        const int64_t start = pt.window_known ? pt.start_ns : pt.first_frame_ns;
        if (!pt.window_known && !pt.first_frame_ns) ++passed_empty_[p];
        else ++(at[q] < start ? late_at_ : early_at_)[p];
        outside_[ri] |= bit(p);
      });
      const unsigned pos = t.dir == Dir::kForward ? t.last_seen : last - t.last_seen;
      ++counts(ri, kReach)[pos];
      if (aggregate && t.fate == Fate::kLost) ++entry_aggregates_[ri];
      if (t.fate == Fate::kLost && (t.assumed & (kAssumeWindow | kAssumeClock))) {
        ++r.assumed;
        ++rare_for(ri, kAssumed)[pos];
        window_assumed_ += (t.assumed & kAssumeWindow) != 0;
      }
      // Delays between neighbouring usable points that both saw it, per hop in travel order.
      Delay* const d = delays_.row(ri);
      int prev = -1;
      for (unsigned k = 0; k < n_; ++k) {
        const unsigned o = t.dir == Dir::kForward ? k : last - k;
        if (!(usable_ & bit(o))) continue;
        if (su & bit(o)) {
          if (prev >= 0 && unsigned(prev) + 1 == k) {
            const unsigned prev_o = t.dir == Dir::kForward ? unsigned(prev) : last - unsigned(prev);
            const int64_t delay = at[o] - at[prev_o];
            Delay& x = d[k - 1];
            x.sum += delay;
            if (delay < x.min) x.min = delay;  // not std::min: no reference to a packed member
            ++x.n;
          }
          prev = int(k);
        } else {
          prev = -2;  // a usable point between did not see it
        }
      }
      break;
    }
  }
}

void Analyzer::rejudge(Run& out) {
  results_.clear();
  counts_.clear();
  rare_.clear();
  delays_.clear();
  entry_missed_.clear();
  entry_aggregates_.clear();
  outside_.clear();
  std::fill(result_index_.begin(), result_index_.end(), 0u);
  std::fill(inner_dirs_.begin(), inner_dirs_.end(), uint8_t{0});
  std::fill(not_capturing_.begin(), not_capturing_.end(), uint64_t{0});
  std::fill(late_at_.begin(), late_at_.end(), uint64_t{0});
  std::fill(passed_empty_.begin(), passed_empty_.end(), uint64_t{0});
  std::fill(early_at_.begin(), early_at_.end(), uint64_t{0});
  window_assumed_ = 0;
  const std::span<const Sighting> sightings = out.all_sightings();
  const std::span<Traversal> travs = out.all_traversals();
  for (std::size_t i = 0; i < travs.size(); ++i) {
    settle(travs[i], sightings.data() + travs[i].first, link_local(travs[i].flow));
    if ((i & 0xffff) == 0xffff) [[unlikely]] out.release_traversals_before(i);
  }
  out.release_traversals_before(travs.size());
}

void Analyzer::drop_split_tables() {
  std::vector<uint32_t>().swap(keys_of_chain_);
  std::vector<const FlowKeys*>().swap(keys_);
  keys_ids_ = IdTable();
  std::vector<uint32_t>().swap(depth_base_);
  std::vector<std::pair<uint32_t, uint32_t>>().swap(flows_at_depth_);
  std::vector<DepthMemo>().swap(depth_memo_);
  flow_ids_ = IdTable();
  std::vector<Open>().swap(open_);
  std::vector<uint32_t>().swap(local_id_);
  std::vector<Sighting>().swap(scratch_);
  std::vector<uint32_t>().swap(offsets_);
}

void Analyzer::absorb(const Analyzer& upper) {
  // Flows: a parent is always made before its inner flows, so its id here is known first.
  std::vector<uint32_t> flow_map(upper.flows_.size() + 1, 0);
  for (uint32_t id = 1; id <= upper.flows_.size(); ++id) {
    const Flow& f = upper.flows_[id - 1];
    flow_map[id] = intern_flow(f.parent ? flow_map[f.parent] : 0, f.key);
  }
  sized_inner_dirs();
  for (uint32_t id = 1; id <= upper.inner_dirs_.size() && id <= upper.flows_.size(); ++id)
    inner_dirs_[flow_map[id] - 1] |= upper.inner_dirs_[id - 1];
  // Its traversals, flows renamed, are appended on a second thread meanwhile (they touch
  // nothing the results do).
  travs_.reserve(travs_.size() + upper.travs_.size());
  std::future<void> travs = std::async(std::launch::async, [&] {
    for (Traversal t : upper.travs_) {
      t.flow = flow_map[t.flow];
      t.inner_flow = flow_map[t.inner_flow];
      travs_.push_back(t);
    }
  });
  // Results, in the order `upper` made them; counters added.
  for (uint32_t uj = 0; uj < upper.results_.size(); ++uj) {
    const Tally& u = upper.results_[uj];
    const uint32_t ri = result_for(flow_map[u.flow], u.dir);
    Tally& r = results_[ri];
    r.traversals += u.traversals;
    r.judged += u.judged;
    r.delivered += u.delivered;
    r.lost += u.lost;
    r.out_of_window += u.out_of_window;
    r.no_entry += u.no_entry;
    r.aggregated += u.aggregated;
    r.duplicates += u.duplicates;
    r.assumed += u.assumed;
    const std::size_t per = std::size_t(kRareFirst) * n_;
    uint32_t* const c = counts_.row(ri);
    const uint32_t* const uc = upper.counts_.row(uj);
    for (std::size_t k = 0; k < per; ++k) c[k] += uc[k];
    if (u.rare) {
      for (unsigned kind = kRareFirst; kind < kCounts; ++kind) {
        const uint32_t* const from = upper.rare(uj, Count(kind));
        uint32_t* const to = rare_for(ri, Count(kind));
        for (unsigned k = 0; k < n_; ++k) to[k] += from[k];
      }
    }
    Delay* const d = delays_.row(ri);
    const Delay* const ud = upper.delays_.row(uj);
    for (unsigned k = 0; k + 1 < n_; ++k) {
      d[k].sum += ud[k].sum;
      if (const int64_t m = ud[k].min; m < d[k].min) d[k].min = m;  // no reference to a packed member
      d[k].n += ud[k].n;
    }
    entry_missed_[ri] += upper.entry_missed_[uj];
    entry_aggregates_[ri] += upper.entry_aggregates_[uj];
    outside_[ri] |= upper.outside_[uj];
  }
  for (unsigned p = 0; p < n_; ++p) {
    not_capturing_[p] += upper.not_capturing_[p];
    late_at_[p] += upper.late_at_[p];
    early_at_[p] += upper.early_at_[p];
    passed_empty_[p] += upper.passed_empty_[p];
  }
  window_assumed_ += upper.window_assumed_;
  inconsistent_ += upper.inconsistent_;
  travs.get();
}

void Analyzer::group(Sighting* s, std::size_t from, std::size_t to) {
  // A few thousand sightings at a time, cut between digest groups: the splits in between stay
  // small, and flows and results are made in the order one pass would make them.
  constexpr std::size_t kChunk = std::size_t{1} << 14;
  std::vector<Split> splits;
  for (std::size_t b = from; b < to;) {
    std::size_t e = std::min(to, b + kChunk);
    while (e < to && s[e].digest == s[e - 1].digest) ++e;
    splits.clear();
    split(s, b, e, splits);
    settle_all(splits, s);
    b = e;
  }
}

// Splits every digest group of the sorted sightings into traversals (rule 1 of verdicts.md).
// Splits s[from, to); digest groups never straddle `from` or `to` (callers split at bucket
// boundaries of the sort, which are digest boundaries).
void Analyzer::split(Sighting* s, std::size_t from, std::size_t to, std::vector<Split>& out) {
  const int64_t max_transit = opt_.max_transit_ns;
  for (std::size_t b = from; b < to;) {
    const uint64_t digest = s[b].digest;
    std::size_t e = b + 1;
    uint64_t mask = bit(s[b].point);
    bool repeated_point = false;
    while (e < to && s[e].digest == digest) {
      repeated_point |= (mask & bit(s[e].point)) != 0;
      mask |= bit(s[e].point);
      ++e;
    }
    const std::size_t g = e - b;
    // Fast path: every point at most once, within max_transit: one traversal.
    if (!repeated_point && s[e - 1].ts_ns - s[b].ts_ns <= max_transit) {
      out.push_back(make_traversal(s, uint32_t(b), uint32_t(g)));
      b = e;
      continue;
    }

    // Slow path. A sighting at p joins the earliest open traversal not yet seen at p; if all
    // open ones have p, it is a duplicate unless a later sighting elsewhere needs a new
    // traversal it can pair with (the i-th sighting at each point pairs with the i-th).
    open_.clear();
    local_id_.assign(g, 0);
    uint32_t cursor[kMaxPoints];
    std::fill(cursor, cursor + n_, 0u);
    uint32_t expired = 0;  // open_[expired..] have t0 within max_transit of now
    for (std::size_t k = 0; k < g; ++k) {
      const Sighting& x = s[b + k];
      const unsigned p = x.point;
      while (expired < open_.size() && x.ts_ns - open_[expired].t0 > max_transit) ++expired;
      uint32_t& c = cursor[p];
      c = std::max(c, expired);
      while (c < open_.size() && ((open_[c].seen & bit(p)) || open_[c].count >= kMaxCount)) ++c;
      if (c < open_.size()) {
        open_[c].seen |= bit(p);
        ++open_[c].count;
        local_id_[k] = c;
        continue;
      }
      bool duplicate = expired < open_.size() && open_.back().count < kMaxCount;
      if (duplicate) {
        // Look ahead: would a later sighting at another point q (within max_transit) find no
        // open traversal lacking q? Then this sighting is a new packet that pairs with it.
        uint32_t later[kMaxPoints] = {};
        uint32_t lacking[kMaxPoints];
        uint64_t known = 0;
        uint32_t scanned = 0;
        for (std::size_t j = k + 1; j < g && duplicate; ++j) {
          const Sighting& y = s[b + j];
          if (y.ts_ns - x.ts_ns > max_transit) break;
          if (++scanned > kLookaheadSightings) {
            duplicate = false;
            break;
          }
          const unsigned q = y.point;
          if (q == p) continue;
          if (!(known & bit(q))) {
            known |= bit(q);
            uint32_t l = 0, looked = 0;
            for (uint32_t i = std::max(cursor[q], expired); i < open_.size() && looked < kLookaheadOpen;
                 ++i, ++looked) {
              if (!(open_[i].seen & bit(q))) ++l;
            }
            lacking[q] = looked >= kLookaheadOpen ? kMaxCount : l;
          }
          if (++later[q] > lacking[q]) duplicate = false;
        }
      }
      if (duplicate) {
        Open& o = open_.back();
        ++o.count;
        local_id_[k] = uint32_t(open_.size() - 1);
        continue;
      }
      open_.push_back({x.ts_ns, bit(p), 1});
      local_id_[k] = uint32_t(open_.size() - 1);
    }

    if (open_.size() == 1) {
      out.push_back(make_traversal(s, uint32_t(b), uint32_t(g)));
    } else {
      // Make each traversal's sightings contiguous (stable: still in time order).
      offsets_.assign(open_.size() + 1, 0);
      for (std::size_t i = 0; i < open_.size(); ++i) offsets_[i + 1] = offsets_[i] + open_[i].count;
      scratch_.resize(g);
      std::vector<uint32_t>& pos = offsets_;
      {
        std::vector<uint32_t> next(pos.begin(), pos.end() - 1);
        for (std::size_t k = 0; k < g; ++k) scratch_[next[local_id_[k]]++] = s[b + k];
      }
      std::copy(scratch_.begin(), scratch_.begin() + std::ptrdiff_t(g), s + b);
      for (std::size_t i = 0; i < open_.size(); ++i) {
        out.push_back(make_traversal(s, uint32_t(b + pos[i]), open_[i].count));
      }
    }
    b = e;
  }
}

}  // namespace pathtrace::analyzer
