// Grouping (rules 1, 2, 4 and 5 of docs/verdicts.md): one pass over the sorted sightings
// that splits every digest's sightings into traversals — duplicates, identical packets sent
// again — and finishes each one on the spot: its flow (the outermost layer every point saw,
// interned layer by layer), its fate, direction and last point, and its counts added straight
// into its flow's result (seen, holes, duplicates, over-MTU frames, how far it got). The hot
// path of the analysis: nothing is allocated per sighting.

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "correlator/analysis/analyzer.hpp"

namespace pathtrace::analyzer {

// Interns each chain's list of flow keys, so traversals compare chains by id.
void Analyzer::setup_chains() {
  std::unordered_map<std::string, uint32_t> ids;
  keys_of_chain_.resize(chains_.size());
  std::string bytes;
  for (std::size_t c = 0; c < chains_.size(); ++c) {
    const auto& ip = chains_[c].ip;
    PT_INVARIANT(!ip.empty());
    bytes.assign(reinterpret_cast<const char*>(ip.data()), ip.size() * sizeof(packet::FlowKey));
    auto [it, fresh] = ids.emplace(bytes, uint32_t(keys_.size()));
    if (fresh) {
      keys_.push_back(&ip);
      flows_at_depth_.emplace_back(ip.size(), std::pair<uint32_t, uint32_t>{0, 0});
    }
    keys_of_chain_[c] = it->second;
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

// The id of the flow `key` one layer inside `parent` (0: a top-level flow), made on first use.
uint32_t Analyzer::intern_flow(uint32_t parent, const packet::FlowKey& key) {
  std::string k(sizeof parent + sizeof key, '\0');
  std::memcpy(k.data(), &parent, sizeof parent);
  std::memcpy(k.data() + sizeof parent, &key, sizeof key);
  auto [it, fresh] = flow_ids_.emplace(std::move(k), uint32_t(flows_.size() + 1));
  if (fresh) {
    Flow f;
    f.id = it->second;
    f.parent = parent;
    f.key = key;
    f.label = packet::to_string(key);
    flows_.push_back(std::move(f));
    inner_dirs_.push_back(0);
  }
  return it->second;
}

// (top-level flow, innermost flow) of a traversal whose chains share `depth` inner layers.
std::pair<uint32_t, uint32_t> Analyzer::flows_for(uint32_t keys_id, uint32_t depth) {
  auto& slot = flows_at_depth_[keys_id][depth - 1];
  if (slot.first != 0) return slot;
  const auto& ip = *keys_[keys_id];
  const std::size_t top = ip.size() - depth;
  const uint32_t top_id = intern_flow(0, ip[top]);
  uint32_t id = top_id;
  for (std::size_t i = top + 1; i < ip.size(); ++i) id = intern_flow(id, ip[i]);
  slot = {top_id, id};
  return slot;
}

// The index of the result of `flow` in direction `dir`, made on first use.
uint32_t Analyzer::result_for(uint32_t flow, Dir dir) {
  const std::size_t key = std::size_t(flow) * 2 + std::size_t(dir);
  if (result_index_.size() <= key) result_index_.resize(std::max(key + 1, result_index_.size() * 2), 0);
  uint32_t& idx = result_index_[key];
  if (idx == 0) {
    FlowResult r;
    r.flow = flow;
    r.dir = dir;
    r.seen_at.assign(n_, 0);
    r.holes_at.assign(n_, 0);
    results_.push_back(std::move(r));
    reach_hist_.emplace_back(n_, 0);
    LossCharacter c;
    c.flow = flow;
    c.duplicates_at.assign(n_, 0);
    c.over_mtu_at.assign(n_, 0);
    characters_.push_back(std::move(c));
    idx = uint32_t(results_.size());
  }
  return idx - 1;
}

// Builds the traversal made of s[first, first + count) (sorted by time), judges its fate and
// adds it to its flow's counters.
void Analyzer::finish_traversal(Sighting* s, uint32_t first, uint32_t count) {
  const Sighting* v = s + first;
  Traversal t;
  t.digest = v[0].digest;
  t.t0_ns = v[0].ts_ns;
  t.first = first;
  t.count = uint16_t(count);
  t.tcp_flags = v[0].tcp_flags;

  // Which points saw it (first sighting per point; later ones are duplicates), over-MTU
  // frames, flow depth.
  uint32_t first_at[kMaxPoints];  // index into v of the first sighting at a point (valid if seen)
  uint64_t seen = 0, over_mask = 0;
  const uint32_t k0 = keys_of_chain_[v[0].chain];
  uint32_t depth = uint32_t(keys_[k0]->size());
  for (uint32_t i = 0; i < count; ++i) {
    const unsigned p = v[i].point;
    if (!(seen & bit(p))) {
      seen |= bit(p);
      first_at[p] = i;
    }
    if (v[i].wire_len > opt_.mtu_frame) over_mask |= bit(p);
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

  // Direction and fate.
  const unsigned last = n_ - 1;
  if (n_ == 1) {
    t.fate = Fate::kDelivered;
    t.dir = Dir::kForward;
    t.entry = 0;
    t.last_seen = 0;
  } else {
    const bool at_first = seen & bit(0);
    const bool at_last = seen & bit(last);
    if (at_first && at_last) {
      t.fate = Fate::kDelivered;
      // Timestamps are compared only between points on one host (one clock): the pair of
      // such points furthest apart along the path decides; otherwise Forward by convention.
      int dir = 0;  // -1 reverse, +1 forward, 0 unknown
      if (ends_same_host_) {
        const int64_t a = v[first_at[0]].ts_ns, b = v[first_at[last]].ts_ns;
        dir = a < b ? 1 : (a > b ? -1 : 0);
      } else if (!one_host_) {
        unsigned best = 0;
        for (uint64_t m = seen; m;) {
          const unsigned i = unsigned(std::countr_zero(m));
          m &= m - 1;
          for (uint64_t r = m; r;) {
            const unsigned j = unsigned(std::countr_zero(r));
            r &= r - 1;
            if (host_of_[i] != host_of_[j] || j - i <= best) continue;
            const int64_t a = v[first_at[i]].ts_ns, b = v[first_at[j]].ts_ns;
            if (a == b) continue;
            best = j - i;
            dir = a < b ? 1 : -1;
          }
        }
      }
      t.dir = dir < 0 ? Dir::kReverse : Dir::kForward;
      t.entry = uint8_t(t.dir == Dir::kForward ? 0 : last);
      t.last_seen = uint8_t(t.dir == Dir::kForward ? last : 0);
    } else if (at_first) {
      t.fate = Fate::kLost;
      t.dir = Dir::kForward;
      t.entry = 0;
      t.last_seen = uint8_t(63 - std::countl_zero(seen));
    } else if (at_last) {
      t.fate = Fate::kLost;
      t.dir = Dir::kReverse;
      t.entry = uint8_t(last);
      t.last_seen = uint8_t(std::countr_zero(seen));
    } else {
      // Not judged, but counted under the direction it was travelling (timestamps of the
      // outermost points that saw it, if they share a clock), not a made-up one.
      t.fate = Fate::kNoEntry;
      t.dir = Dir::kForward;
      const unsigned lo = unsigned(std::countr_zero(seen)), hi = unsigned(63 - std::countl_zero(seen));
      if (lo != hi && host_of_[lo] == host_of_[hi] && v[first_at[hi]].ts_ns < v[first_at[lo]].ts_ns)
        t.dir = Dir::kReverse;
    }
  }
  t.wire_len = t.last_seen != kNoPoint ? v[first_at[t.last_seen]].wire_len : v[0].wire_len;
  if (t.t0_ns < win_start_ || t.t0_ns > win_end_) {
    t.fate = Fate::kOutOfWindow;
    ++(t.t0_ns < win_start_ ? before_window_ : after_window_);
  }

  // Counters of the flow's result in this direction.
  const uint32_t ri = result_for(flow, t.dir);
  FlowResult& r = results_[ri];
  LossCharacter& character = characters_[ri];
  ++r.traversals;
  const uint32_t dups = count - uint32_t(std::popcount(seen));
  if (dups) {
    r.duplicates += dups;
    for (uint32_t i = 0; i < count; ++i) {
      if (first_at[v[i].point] != i) ++character.duplicates_at[v[i].point];
    }
  }
  for_each_bit(over_mask, [&](unsigned p) { ++character.over_mtu_at[p]; });
  if (inner != flow) inner_dirs_[inner - 1] |= uint8_t(1u << unsigned(t.dir));
  switch (t.fate) {
    case Fate::kOutOfWindow: ++r.out_of_window; break;
    case Fate::kNoEntry: ++r.no_entry; break;
    case Fate::kDelivered:
    case Fate::kLost: {
      ++r.judged;
      if (t.fate == Fate::kDelivered) ++r.delivered; else ++r.lost;
      for_each_bit(seen, [&](unsigned p) { ++r.seen_at[p]; });
      const uint64_t passed = range_mask(std::min(t.entry, t.last_seen), std::max(t.entry, t.last_seen));
      for_each_bit(passed & ~seen, [&](unsigned p) { ++r.holes_at[p]; });
      ++reach_hist_[ri][t.dir == Dir::kForward ? t.last_seen : last - t.last_seen];
      break;
    }
  }
  travs_.push_back(t);
}

// Splits every digest group of the sorted sightings into traversals (rule 1 of verdicts.md).
// Groups s[from, to); digest groups never straddle `from` or `to` (callers split at bucket
// boundaries of the sort, which are digest boundaries).
void Analyzer::group(Sighting* s, std::size_t from, std::size_t to) {
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
      finish_traversal(s, uint32_t(b), uint32_t(g));
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
      finish_traversal(s, uint32_t(b), uint32_t(g));
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
        finish_traversal(s, uint32_t(b + pos[i]), open_[i].count);
      }
    }
    b = e;
  }
}

}  // namespace pathtrace::analyzer
