// Analysis: sightings → traversals → per flow, per hop counts → verdicts and findings.
// The rules are written for people in docs/verdicts.md; this file implements exactly those.
//
//   1. radix sort of sightings by digest (top 27 bits, stable), then by time within a digest
//   2. one pass over digest groups: traversals (duplicates, repeats), their flow, fate and
//      direction; counts accumulated straight into the flow's result (no per-sighting allocation)
//      (1 and 2 on two threads: the sort's upper half is sorted while the lower is grouped)
//   3. traversals stay in digest order; grouping left the sightings grouped in that order
//   4. hops, verdicts, summaries, and findings for the flows that need them

#include "correlator/analysis/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "correlator/analysis/sort.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace {
namespace {

// An invariant of the caller did not hold (a bug, not bad input): stop loudly in every build.
[[noreturn]] void invariant_failed(const char* what, int line) {
  std::fprintf(stderr, "pathtrace: analysis invariant failed: %s (analysis.cpp:%d)\n", what, line);
  std::abort();
}
#define PT_INVARIANT(cond) \
  do {                     \
    if (!(cond)) invariant_failed(#cond, __LINE__); \
  } while (0)

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
constexpr uint32_t kMaxCount = 0xffff;  // Traversal::count is 16 bits
// Bounds on the look-ahead that tells a duplicate from a repeated identical packet: beyond
// them the sighting is taken as a new packet (keeps ID-0 floods linear).
constexpr uint32_t kLookaheadSightings = 64;
constexpr uint32_t kLookaheadOpen = 64;

uint64_t bit(unsigned ord) noexcept { return uint64_t{1} << ord; }

// Mask of ords lo..hi inclusive (lo <= hi < 64).
uint64_t range_mask(unsigned lo, unsigned hi) noexcept {
  const uint64_t upto_hi = hi >= 63 ? ~uint64_t{0} : (bit(hi + 1) - 1);
  return upto_hi & ~(bit(lo) - 1);
}

template <class F>
void for_each_bit(uint64_t mask, F&& f) {
  while (mask) {
    f(static_cast<unsigned>(std::countr_zero(mask)));
    mask &= mask - 1;
  }
}

using text::pct_text;
using text::seconds_text;
using text::tcp_flags_text;
using text::u64;

// Per-result counters that do not belong in FlowResult itself.
struct Accum {
  std::vector<uint64_t> reach_hist;  // judged traversals by position of last_seen in travel order
  std::vector<uint64_t> dup_at;      // duplicate sightings per ord
  std::vector<uint64_t> over_mtu_at; // sightings over the MTU per ord
};

class Analyzer {
 public:
  Analyzer(std::vector<Point>& points, std::vector<Chain>& chains, const AnalysisOptions& opt)
      : points_(points), chains_(chains), opt_(opt), n_(unsigned(points.size())) {}

  // `scratch`: memory to sort with (resized to the sightings' size), or null for a fresh buffer.
  Run run(std::vector<Sighting> sightings, std::vector<Sighting>* scratch);

 private:
  void setup_points(Report& rep);
  void setup_chains();
  uint32_t common_depth(uint32_t ka, uint32_t kb);
  std::pair<uint32_t, uint32_t> flows_for(uint32_t keys_id, uint32_t depth);
  uint32_t intern_flow(uint32_t parent, const packet::FlowKey& key);
  void group(Sighting* s, std::size_t from, std::size_t to);
  void finish_traversal(Sighting* s, uint32_t first, uint32_t count);
  uint32_t result_for(uint32_t flow, Dir dir);
  void judge(Report& rep);
  void characterise(Run& run);
  void renumber_flows(Run& out);

  std::vector<Point>& points_;
  std::vector<Chain>& chains_;
  const AnalysisOptions& opt_;
  const unsigned n_;

  int64_t win_start_ = kMinTime;
  int64_t win_end_ = kMaxTime;
  int64_t time_origin_ = 0;           // when the first point started capturing
  std::vector<std::string> late_starts_, early_stops_;  // window warnings, said if they cost packets
  uint64_t before_window_ = 0, after_window_ = 0;        // traversals out of window, by side
  std::vector<uint32_t> host_of_;     // host id per ord
  bool ends_same_host_ = true;
  bool one_host_ = true;

  std::vector<uint32_t> keys_of_chain_;               // chain → id of its list of flow keys
  std::vector<const std::vector<packet::FlowKey>*> keys_;  // keys id → the keys
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> flows_at_depth_;  // [keys][depth-1]
  struct DepthMemo {
    uint64_t pair = ~uint64_t{0};
    uint32_t depth = 0;
  };
  std::vector<DepthMemo> depth_memo_ = std::vector<DepthMemo>(4096);
  std::unordered_map<std::string, uint32_t> flow_ids_;  // parent id bytes + key bytes → id
  std::vector<Flow> flows_;
  std::vector<uint8_t> inner_dirs_;  // per flow id: bit dir set when seen as an inner flow

  std::vector<Traversal> travs_;
  std::vector<FlowResult> results_;
  std::vector<Accum> accums_;
  std::vector<uint32_t> result_index_;  // flow id * 2 + dir → result index + 1 (0 none)
  uint64_t inconsistent_ = 0;           // traversals whose innermost layer differed

  // Scratch for the slow grouping path, reused across digests.
  struct Open {
    int64_t t0;
    uint64_t seen;
    uint32_t count;
  };
  std::vector<Open> open_;
  std::vector<uint32_t> local_id_;
  std::vector<Sighting> scratch_;
  std::vector<uint32_t> offsets_;
};

void Analyzer::setup_points(Report& rep) {
  std::unordered_map<std::string, uint32_t> hosts;
  host_of_.resize(n_);
  for (unsigned i = 0; i < n_; ++i) {
    PT_INVARIANT(points_[i].ord == i);
    host_of_[i] = hosts.emplace(points_[i].host, uint32_t(hosts.size())).first->second;
  }
  ends_same_host_ = n_ == 0 || host_of_[0] == host_of_[n_ - 1];
  one_host_ = hosts.size() <= 1;

  int64_t first_start = kMaxTime, last_end = kMinTime;
  bool any_known = false;
  std::string unknown;
  for (const Point& p : points_) {
    if (!p.window_known) {
      unknown += unknown.empty() ? p.label : ", " + p.label;
      continue;
    }
    any_known = true;
    first_start = std::min(first_start, p.start_ns);
    last_end = std::max(last_end, p.end_ns);
  }
  if (!unknown.empty()) {
    rep.warnings.push_back("capture window unknown at point" +
                           std::string(unknown.find(',') == std::string::npos ? " " : "s ") + unknown +
                           " (no packets and no capture statistics): it does not restrict the judging window");
  }
  if (any_known) {
    time_origin_ = first_start;
    int64_t start = kMinTime, end = kMaxTime;
    for (const Point& p : points_) {
      if (!p.window_known) continue;
      start = std::max(start, p.start_ns);
      end = std::min(end, p.end_ns);
      // Said once the traversals are judged, and only if the late start (early stop) kept
      // packets out of judgement: see window_warnings().
      if (p.start_ns - first_start > opt_.guard_ns)
        late_starts_.push_back("point " + p.label + " started capturing " +
                               u64(uint64_t(p.start_ns - first_start) / 1'000'000) +
                               " ms after the first point");
      if (last_end - p.end_ns > opt_.guard_ns)
        early_stops_.push_back("point " + p.label + " stopped capturing " +
                               u64(uint64_t(last_end - p.end_ns) / 1'000'000) +
                               " ms before the last point");
    }
    win_start_ = start + opt_.guard_ns;
    win_end_ = end - opt_.guard_ns;
    if (win_start_ > win_end_) {
      rep.warnings.push_back("the points were never all capturing at the same time (with a " +
                             u64(uint64_t(opt_.guard_ns) / 1'000'000) + " ms guard): nothing is judged");
    }
  } else if (n_ > 0) {
    rep.warnings.push_back("no point's capture window is known: every packet is judged");
  }
  for (const Point& p : points_) {
    if (const uint64_t lost = p.capture_loss()) {
      rep.warnings.push_back("point " + p.label + " lost " + u64(lost) +
                             " packets in its own capture (kernel " + u64(p.pcap_drop) + ", interface " +
                             u64(p.if_drop) + ", parser " + u64(p.discarded[1] + p.discarded[2]) +
                             ", transport " + u64(p.records_lost) +
                             "): losses at the hops next to it are inconclusive");
    }
    if (p.over_mtu > 0) {
      rep.warnings.push_back("point " + p.label + " saw " + u64(p.over_mtu) + " frames over " +
                             u64(opt_.mtu_frame) +
                             " bytes (GSO/GRO aggregates): they cannot match single packets at other points");
    }
  }
}

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
    Accum a;
    a.reach_hist.assign(n_, 0);
    a.dup_at.assign(n_, 0);
    a.over_mtu_at.assign(n_, 0);
    accums_.push_back(std::move(a));
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

  // Which points saw it (first sighting per point), duplicates, over-MTU frames, flow depth.
  uint32_t first_at[kMaxPoints];  // index into v of the first sighting at a point (valid if seen)
  uint64_t seen = 0, dup_mask = 0, over_mask = 0;
  const uint32_t k0 = keys_of_chain_[v[0].chain];
  uint32_t depth = uint32_t(keys_[k0]->size());
  for (uint32_t i = 0; i < count; ++i) {
    const unsigned p = v[i].point;
    if (seen & bit(p)) {
      dup_mask |= bit(p);
    } else {
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
  Accum& acc = accums_[ri];
  ++r.traversals;
  const uint32_t dups = count - uint32_t(std::popcount(seen));
  if (dups) {
    r.duplicates += dups;
    for (uint32_t i = 0; i < count; ++i) {
      if (first_at[v[i].point] != i) ++acc.dup_at[v[i].point];
    }
  }
  for_each_bit(over_mask, [&](unsigned p) { ++acc.over_mtu_at[p]; });
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
      ++acc.reach_hist[t.dir == Dir::kForward ? t.last_seen : last - t.last_seen];
      break;
    }
  }
  travs_.push_back(t);
}

// Splits every digest group of the sorted sightings into traversals (rule 1 of verdicts.md).
// Groups s[from, to); digest groups never straddle `from` or `to` (callers split at bucket
// boundaries of the sort, which are digest boundaries).
void Analyzer::group(Sighting* s, std::size_t from, std::size_t n) {
  const int64_t max_transit = opt_.max_transit_ns;
  for (std::size_t b = from; b < n;) {
    const uint64_t digest = s[b].digest;
    std::size_t e = b + 1;
    uint64_t mask = bit(s[b].point);
    bool repeated_point = false;
    while (e < n && s[e].digest == digest) {
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

void Analyzer::judge(Report& rep) {
  const unsigned hops = n_ > 0 ? n_ - 1 : 0;
  for (std::size_t ri = 0; ri < results_.size(); ++ri) {
    FlowResult& r = results_[ri];
    const Accum& acc = accums_[ri];
    auto ord_at = [&](unsigned pos) { return r.dir == Dir::kForward ? pos : n_ - 1 - pos; };
    std::vector<uint64_t> reach(n_ + 1, 0);
    for (unsigned pos = n_; pos-- > 0;) reach[pos] = reach[pos + 1] + acc.reach_hist[pos];
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
  (void)rep;
}

// Findings that need a look at individual traversals (partial loss), then point findings.
void Analyzer::characterise(Run& run) {
  struct Side {
    uint64_t n = 0;
    uint16_t len_min = 0xffff, len_max = 0;
    int64_t t_min = kMaxTime, t_max = kMinTime;
    uint64_t flags_count = 0;  // with the lost packets' common flags
  };
  struct Probe {
    bool active = false;
    uint8_t from = 0, to_pos = 0;
    bool same_flags = true;
    uint8_t flags = 0;
    bool flags_known = false;
    Side lost, passed;
    int64_t judged_t_min = kMaxTime, judged_t_max = kMinTime;
    std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>> inner;  // inner flow → lost, passed
  };
  std::vector<Probe> probes(results_.size());
  bool any = false;
  for (std::size_t ri = 0; ri < results_.size(); ++ri) {
    const FlowResult& r = results_[ri];
    if (r.verdict != VerdictKind::kPartialLoss) continue;
    Probe& pr = probes[ri];
    pr.active = any = true;
    const HopStat& h = r.hops[std::size_t(r.hop)];
    pr.from = h.from;
    pr.to_pos = uint8_t(r.hop + 1);
  }
  if (any) {
    for (const Traversal& t : run.traversals) {
      if (t.fate != Fate::kDelivered && t.fate != Fate::kLost) continue;
      const std::size_t key = std::size_t(t.flow) * 2 + std::size_t(t.dir);
      const uint32_t ri = result_index_[key] - 1;
      Probe& pr = probes[ri];
      if (!pr.active) continue;
      pr.judged_t_min = std::min(pr.judged_t_min, t.t0_ns);
      pr.judged_t_max = std::max(pr.judged_t_max, t.t0_ns);
      const unsigned pos = t.dir == Dir::kForward ? t.last_seen : n_ - 1 - t.last_seen;
      const bool lost = t.fate == Fate::kLost && t.last_seen == pr.from;
      const bool passed = pos >= pr.to_pos;
      if (!lost && !passed) continue;
      Side& sd = lost ? pr.lost : pr.passed;
      uint16_t len = t.wire_len;
      if (!lost) {  // wire length at the hop's first point, where the lost ones were last seen
        for (uint32_t i = t.first; i < t.first + t.count; ++i) {
          if (run.sightings[i].point == pr.from) {
            len = run.sightings[i].wire_len;
            break;
          }
        }
      }
      ++sd.n;
      sd.len_min = std::min(sd.len_min, len);
      sd.len_max = std::max(sd.len_max, len);
      sd.t_min = std::min(sd.t_min, t.t0_ns);
      sd.t_max = std::max(sd.t_max, t.t0_ns);
      if (lost) {
        if (!pr.flags_known) {
          pr.flags = t.tcp_flags;
          pr.flags_known = true;
        } else if (pr.flags != t.tcp_flags) {
          pr.same_flags = false;
        }
      }
      auto& io = pr.inner[t.inner_flow];
      (lost ? io.first : io.second) += 1;
    }
    // Flags of passed packets are compared in a second look only when all lost ones agree.
    for (const Traversal& t : run.traversals) {
      if (t.fate != Fate::kDelivered && t.fate != Fate::kLost) continue;
      const uint32_t ri = result_index_[std::size_t(t.flow) * 2 + std::size_t(t.dir)] - 1;
      Probe& pr = probes[ri];
      if (!pr.active || !pr.same_flags || !pr.flags_known || pr.flags == 0) continue;
      const unsigned pos = t.dir == Dir::kForward ? t.last_seen : n_ - 1 - t.last_seen;
      if (pos >= pr.to_pos && t.tcp_flags == pr.flags) ++pr.passed.flags_count;
    }
  }

  for (std::size_t ri = 0; ri < results_.size(); ++ri) {
    FlowResult& r = results_[ri];
    const Accum& acc = accums_[ri];
    const Probe& pr = probes[ri];
    std::vector<std::string> found;
    if (pr.active && pr.lost.n > 0) {
      const Side& L = pr.lost;
      const Side& P = pr.passed;
      // Sizes.
      auto range_text = [](const Side& s, bool upper) {
        if (s.len_min == s.len_max) return u64(s.len_min) + " bytes";
        return std::string(upper ? "≥ " : "≤ ") + u64(upper ? s.len_min : s.len_max) + " bytes";
      };
      if (P.n > 0 && L.len_min > P.len_max) {
        found.push_back("all " + u64(L.n) + " lost packets were " + range_text(L, true) +
                        " on the wire; all " + u64(P.n) + " delivered were " + range_text(P, false) +
                        ": an MTU problem?");
      } else if (P.n > 0 && L.len_max < P.len_min) {
        found.push_back("all " + u64(L.n) + " lost packets were " + range_text(L, false) +
                        " on the wire; all " + u64(P.n) + " delivered were " + range_text(P, true));
      }
      // Inner flows.
      if (pr.inner.size() > 1 || (pr.inner.size() == 1 && pr.inner.begin()->first != r.flow)) {
        std::vector<uint32_t> lost_inner;
        bool lost_only = true;  // no packet of those inner flows got through
        for (const auto& [f, c] : pr.inner) {
          if (c.first > 0) {
            lost_inner.push_back(f);
            if (c.second > 0) lost_only = false;
          }
        }
        std::sort(lost_inner.begin(), lost_inner.end(), [&](uint32_t a, uint32_t b) {  // most lost first
          const uint64_t la = pr.inner.at(a).first, lb = pr.inner.at(b).first;
          if (la != lb) return la > lb;
          return flows_[a - 1].label < flows_[b - 1].label;
        });
        // Concentrated, not random: if every packet had the same chance p of being lost,
        // about sum(1 - (1-p)^n_f) inner flows would have lost some. Speak only when the
        // lost packets sit in clearly fewer flows than that (and in at most half of them).
        double expected_hit = 0;
        uint64_t total_lost = 0, total = 0;
        for (const auto& [f, c] : pr.inner) {
          total_lost += c.first;
          total += c.first + c.second;
        }
        const double p = total ? double(total_lost) / double(total) : 0.0;
        for (const auto& [f, c] : pr.inner)
          expected_hit += 1.0 - std::pow(1.0 - p, double(c.first + c.second));
        if (lost_inner.size() * 2 <= pr.inner.size() &&
            (lost_only || double(lost_inner.size()) * 2 <= expected_hit)) {
          std::string s = "all lost packets belong to " + u64(lost_inner.size()) + " of " + u64(pr.inner.size()) +
                          " inner flows: ";
          for (std::size_t i = 0; i < lost_inner.size() && i < 3; ++i) {
            if (i) s += ", ";
            s += flows_[lost_inner[i] - 1].label;
          }
          if (lost_inner.size() > 3) s += ", …";
          if (lost_only) s += lost_inner.size() == 1 ? " (none of its packets got through)"
                                                     : " (none of their packets got through)";
          found.push_back(std::move(s));
        }
      }
      // TCP flags.
      if (pr.same_flags && pr.flags_known && pr.flags != 0 && P.flags_count < P.n) {
        found.push_back("all " + u64(L.n) + " lost packets are " + tcp_flags_text(pr.flags) + " (" +
                        u64(P.flags_count) + " of the " + u64(P.n) + " delivered are)");
      }
      // Time.
      const int64_t span = pr.judged_t_max - pr.judged_t_min;
      if (L.n >= 3 && span > 0) {
        const std::string from = "t+" + seconds_text(L.t_min - time_origin_);
        const std::string to = "t+" + seconds_text(L.t_max - time_origin_);
        if ((L.t_max - L.t_min) * 4 <= span) {
          found.push_back("all losses between " + from + " and " + to + " (the flow's packets span " +
                          seconds_text(span) + "; t = when the first point started capturing)");
        } else if ((L.t_max - L.t_min) * 4 >= span * 3) {
          found.push_back("losses spread over the flow's whole duration (" + from + " to " + to + ")");
        }
      }
    }
    for (unsigned p = 0; p < n_; ++p) {
      if (r.holes_at[p]) {
        found.push_back("point " + points_[p].label + " missed " + u64(r.holes_at[p]) +
                        " packets that passed it (capture problem at " + points_[p].label + ", not a drop)");
      }
    }
    for (unsigned p = 0; p < n_; ++p) {
      if (acc.dup_at[p]) {
        found.push_back("point " + points_[p].label + " saw " + u64(acc.dup_at[p]) +
                        " duplicate copies of packets (counted once, not as loss)");
      }
    }
    for (unsigned p = 0; p < n_; ++p) {
      if (acc.over_mtu_at[p]) {
        found.push_back("point " + points_[p].label + " saw " + u64(acc.over_mtu_at[p]) + " frames over " +
                        u64(opt_.mtu_frame) +
                        " bytes (GSO/GRO aggregates): they cannot match single packets at other points, "
                        "TCP may be compared by sequence ranges");
      }
    }
    r.findings.insert(r.findings.begin(), found.begin(), found.end());
  }
}

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

Run Analyzer::run(std::vector<Sighting> sightings, std::vector<Sighting>* scratch) {

  Run out;
  Report& rep = out.report;
  PT_INVARIANT(n_ <= kMaxPoints);
  setup_points(rep);
  setup_chains();
  const std::size_t n = sightings.size();
  for (const Sighting& s : sightings) {
    PT_INVARIANT(s.point < n_);
    PT_INVARIANT(s.chain < chains_.size());
  }
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
  travs_.reserve(n / std::max(1u, n_) + 16);
  advise_huge(travs_.data(), travs_.capacity() * sizeof(Traversal));
  // Two threads pay from a few hundred thousand sightings on (a thread start is ~50 µs).
  const bool parallel = n >= (std::size_t{1} << 18) && std::thread::hardware_concurrency() >= 2;
  std::size_t grouped = 0;
  sort_sightings(sightings.data(), other, n, parallel, [&](std::size_t end) {
    group(sightings.data(), 0, end);
    grouped = end;
  });
  group(sightings.data(), grouped, n);
  other_owner.reset();
  if (scratch) std::vector<Sighting>().swap(*scratch);

  // 3. Traversals stay in digest order (then time): the store keeps them in blocks by digest
  // range, so one packet is found without an index (docs/schema.md). Grouping made each
  // traversal's sightings contiguous, in traversal order, so both vectors are final as they are.
  uint32_t at = 0;
  for (const Traversal& t : travs_) {
    PT_INVARIANT(t.first == at);
    at += t.count;
  }
  PT_INVARIANT(at == n);
  out.traversals = std::move(travs_);
  out.sightings = std::move(sightings);

  // 4. Verdicts and findings.
  for (const std::string& w : late_starts_)
    if (before_window_)
      rep.warnings.push_back(w + ": " + u64(before_window_) + " packets seen before every point was capturing are not judged");
  for (const std::string& w : early_stops_)
    if (after_window_)
      rep.warnings.push_back(w + ": " + u64(after_window_) + " packets seen after a point stopped capturing are not judged");
  judge(rep);
  characterise(out);
  if (inconsistent_) {
    rep.warnings.push_back(u64(inconsistent_) +
                           " packets had different innermost IP layers at different points (digest collision?)");
  }
  // Inner flows listed under their top-level flow, per direction seen.
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
      if (key < result_index_.size() && result_index_[key]) results_[result_index_[key] - 1].inner_flows.push_back(uint32_t(id));
    }
  }
  renumber_flows(out);
  for (FlowResult& r : results_) std::sort(r.inner_flows.begin(), r.inner_flows.end());

  std::stable_sort(results_.begin(), results_.end(), [](const FlowResult& a, const FlowResult& b) {
    const int ra = verdict_rank(a.verdict), rb = verdict_rank(b.verdict);
    if (ra != rb) return ra < rb;
    if (a.judged != b.judged) return a.judged > b.judged;
    if (a.flow != b.flow) return a.flow < b.flow;
    return a.dir < b.dir;
  });
  rep.results = std::move(results_);
  rep.flows = std::move(flows_);
  if (win_start_ == kMinTime && win_end_ == kMaxTime) {
    // No window known: report the span of the traversals instead of ±infinity.
    rep.window_start_ns = out.traversals.empty() ? 0 : out.traversals.front().t0_ns;
    rep.window_end_ns = out.traversals.empty() ? 0 : out.traversals.back().t0_ns;
  } else {
    rep.window_start_ns = win_start_;
    rep.window_end_ns = win_end_;
  }
  rep.points = std::move(points_);
  out.chains = std::move(chains_);
  return out;
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
  for (const Traversal& t : out.traversals) {
    if (t.flow) assign_with_parents(t.flow);
    if (t.inner_flow) assign_with_parents(t.inner_flow);
  }
  for (uint32_t id = 1; id <= n; ++id)
    if (map[id] == 0) assign_with_parents(id);
  std::vector<Flow> renumbered(n);
  for (uint32_t id = 1; id <= n; ++id) {
    Flow f = std::move(flows_[id - 1]);
    f.id = map[id];
    f.parent = f.parent ? map[f.parent] : 0;
    renumbered[f.id - 1] = std::move(f);
  }
  flows_ = std::move(renumbered);
  for (Traversal& t : out.traversals) {
    t.flow = map[t.flow];
    t.inner_flow = map[t.inner_flow];
  }
  for (FlowResult& r : results_) {
    r.flow = map[r.flow];
    for (uint32_t& f : r.inner_flows) f = map[f];
  }
}

}  // namespace

Run analyze(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
            const AnalysisOptions& opt) {
  Analyzer a(points, chains, opt);
  return a.run(std::move(sightings), nullptr);
}

Run analyze(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
            std::vector<Sighting> scratch, const AnalysisOptions& opt) {
  Analyzer a(points, chains, opt);
  return a.run(std::move(sightings), &scratch);
}

}  // namespace pathtrace
