#pragma once
// Analyzer: the state of one analyze() call, shared by the files that implement its steps
// (docs/verdicts.md has the rules). Library-internal: nothing outside pt_analysis includes it.
//
//   window.cpp    the common window, and the run's warnings about points (rule 3)
//   sort.cpp      sightings sorted by (digest, time)
//   group.cpp     digest groups → traversals, their flow, fate and direction; counters (rules 1, 2, 4, 5)
//   verdicts.cpp  hops, verdicts, summaries; results in order (rules 5, 6, 8)
//   character.cpp + findings.cpp   what the lost packets have in common, in numbers, then words (rule 7)
//   analysis.cpp  the steps in order, flow numbering, analyze()

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "collector/common/id_table.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/analysis/character.hpp"
#include "correlator/analysis/invariant.hpp"
#include "correlator/analysis/translate.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::analyzer {

constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
constexpr uint32_t kMaxCount = 0xffff;  // Traversal::count is 16 bits
// Bounds on the look-ahead that tells a duplicate from a repeated identical packet: beyond
// them the sighting is taken as a new packet (keeps ID-0 floods linear).
constexpr uint32_t kLookaheadSightings = 64;
constexpr uint32_t kLookaheadOpen = 64;

// The bit of point `ord` in a seen mask.
inline uint64_t bit(unsigned ord) noexcept { return uint64_t{1} << ord; }

// Mask of ords lo..hi inclusive (lo <= hi < 64).
inline uint64_t range_mask(unsigned lo, unsigned hi) noexcept {
  const uint64_t upto_hi = hi >= 63 ? ~uint64_t{0} : (bit(hi + 1) - 1);
  return upto_hi & ~(bit(lo) - 1);
}

// Calls f(ord) for every bit set in `mask`, lowest first.
template <class F>
void for_each_bit(uint64_t mask, F&& f) {
  while (mask) {
    f(static_cast<unsigned>(std::countr_zero(mask)));
    mask &= mask - 1;
  }
}

// Rows of `width` values each (one per flow result), kept in chunks of 4096 rows: adding rows
// never copies the earlier ones (no moment with two copies of a few hundred MB alive), and
// the chunks a pass has finished with can go at once (free_before).
template <class T>
class Rows {
 public:
  static constexpr std::size_t kShift = 12;
  static constexpr std::size_t kMask = (std::size_t{1} << kShift) - 1;

  Rows() = default;
  Rows(const Rows& o) : width_(o.width_), rows_(o.rows_) {
    for (const auto& c : o.chunks_) {
      if (!c) {
        chunks_.emplace_back();
        continue;
      }
      chunks_.emplace_back(new T[(kMask + 1) * width_]);
      std::copy(c.get(), c.get() + (kMask + 1) * width_, chunks_.back().get());
    }
  }
  Rows& operator=(const Rows&) = delete;

  void set_width(std::size_t w) noexcept { width_ = w; }
  std::size_t size() const noexcept { return rows_; }
  T* row(std::size_t r) noexcept { return chunks_[r >> kShift].get() + (r & kMask) * width_; }
  const T* row(std::size_t r) const noexcept { return chunks_[r >> kShift].get() + (r & kMask) * width_; }
  // A row more, every value `init`.
  void add(const T& init) {
    if ((rows_ & kMask) == 0) chunks_.emplace_back(new T[(kMask + 1) * width_]);
    std::fill_n(row(rows_), width_, init);
    ++rows_;
  }
  // The chunks wholly before row `r` are not read again: they go.
  void free_before(std::size_t r) noexcept {
    for (std::size_t c = 0; c < (r >> kShift) && c < chunks_.size(); ++c) chunks_[c].reset();
  }
  void clear() noexcept {
    chunks_.clear();
    rows_ = 0;
  }

 private:
  std::size_t width_ = 0;
  std::size_t rows_ = 0;
  std::vector<std::unique_ptr<T[]>> chunks_;
};

// One analyze() call. Holds references to the caller's points and chains, which run() moves
// into the Run it returns; use once.
class Analyzer {
 public:
  // `points` in path order (points[i].ord == i, at most kMaxPoints), `chains` indexed by
  // Sighting::chain; both must outlive the Analyzer.
  Analyzer(std::vector<Point>& points, std::vector<Chain>& chains, const AnalysisOptions& opt)
      : points_(points), chains_(chains), opt_(opt), n_(unsigned(points.size())) {
    counts_.set_width(std::size_t(kRareFirst) * n_);
    rare_.set_width(std::size_t(kCounts - kRareFirst) * n_);
    no_rare_.assign(n_, 0);
    delays_.set_width(std::max(1u, n_ - (n_ > 0)));
  }

  // The whole analysis (analyze()). `scratch`: memory to sort with (resized to the
  // sightings' size), or null for a fresh buffer.
  Run run(std::vector<Sighting> sightings, std::vector<Sighting>* scratch);
  // The same over sightings split by digest range (analysis.hpp, SightingParts): one range in
  // memory at a time; the Run's sightings are `parts.grouped()`.
  Run run(SightingParts& parts);
  // Before run(): translations a first analysis found (translate.hpp), whose packets' later
  // sightings now carry their earlier digest. Their later keys count as the earlier ones for
  // the flow, and each flow result says where it was translated. Must outlive run().
  void translated(const std::vector<TranslationGroup>* groups) { translations_ = groups; }

 private:
  // window.cpp
  void setup_points(Report& rep);
  void window_warnings(Report& rep);
  // Was point `p` capturing at `t` (a time on point `from`'s side of the hop)?
  enum class Capturing : uint8_t { kYes, kNo, kUnknown, kClockUnknown };
  Capturing capturing(unsigned p, int64_t t, unsigned from) const;
  // group.cpp
  void setup_chains();
  uint32_t common_depth(uint32_t ka, uint32_t kb);
  std::pair<uint32_t, uint32_t> flows_for(uint32_t keys_id, uint32_t depth);
  // The id of the flow `key` one layer inside `parent` (0: a top-level flow), made on first
  // use.
  uint32_t intern_flow(uint32_t parent, const packet::FlowKey& key);
  uint32_t result_for(uint32_t flow, Dir dir);
  // Whether flow `flow` (0: none) goes to a link-local destination (packet::link_local_destination):
  // where its packets stop is not a loss.
  bool link_local(uint32_t flow) const { return flow && packet::link_local_destination(flows_[flow - 1].key); }
  // A traversal as splitting makes it, before it is settled: `t.first` indexes the array it
  // was split from, and whether its flow's destination is link-local is looked up already (so
  // settling never reads flows_, which splitting the next range may be growing meanwhile).
  struct Split {
    Traversal t;
    bool to_link_local = false;
  };
  // The traversal of s[first, first + count) (sorted by time): which points saw it and its
  // flows (interned on first use).
  Split make_traversal(const Sighting* s, uint32_t first, uint32_t count);
  // Decides `t` from its sightings `v` and adds it to its flow's counters; to_link_local: its
  // flow's destination is link-local (packet::link_local_destination).
  void settle(Traversal& t, const Sighting* v, bool to_link_local);
  // Settles each of `splits` (split from `s`), appending it to travs_ with its first sighting's
  // index in the run (base_ + its index in s).
  void settle_all(std::vector<Split>& splits, const Sighting* s);
  // Settles every traversal of `out` again from scratch (after entry_override_ changed),
  // letting the ones it passed go (spilled runs).
  void rejudge(Run& out);
  // Flows never seen at the end they enter by, but right after it: judged from there.
  bool override_blind_entries(Report& rep);
  // Points that saw none of a flow that passed them while they captured (or that hold nothing
  // while traffic passed them): not evidence (health.hpp, mark_blind).
  void find_blind_points(Report& rep);
  void find_blind_far_ends();  // blind_far_end_
  // Fate, direction, entry, last point and assumptions of `t` from the points that saw it
  // (t.seen) and when each first did (`at`, by ord).
  void decide(Traversal& t, const int64_t* at) const;
  // -1 reverse, +1 forward, 0 unknown: the order in which the furthest-apart pair of points
  // on one host (one clock) among `seen` saw the packet.
  int same_host_direction(uint64_t seen, const int64_t* at) const;
  // Groups s[from, to) (digest groups never straddle either end): split, then settle_all,
  // a few thousand sightings at a time.
  void group(Sighting* s, std::size_t from, std::size_t to);
  // Splits every digest group of s[from, to) into traversals (rule 1 of verdicts.md), in
  // order, into `out` (appended): the traversals' sightings are made contiguous in s, and
  // their flows interned. Touches only what splitting needs (the chains' and flows' tables),
  // none of what settling does: a spilled run splits the next range while settling this one.
  void split(Sighting* s, std::size_t from, std::size_t to, std::vector<Split>& out);
  // Room in the per-flow vectors for as many flows as the run has chains.
  void reserve_per_flow();
  // Grouping is over: the tables only splitting reads (chains' keys, flows by key) go, before
  // judging makes every result's arrays (on a busy port they are tens of MB).
  void drop_split_tables();
  // Adds what `upper` grouped (a copy of this Analyzer made before grouping, that grouped the
  // digests after this one's) as if this one had grouped them next: its flows and results
  // not already here appended in the order it made them, its counters added, its traversals
  // appended with their flow ids mapped. So the flows, results and traversals are those one
  // pass over all digests makes.
  void absorb(const Analyzer& upper);
  // verdicts.cpp
  // Judges every result (judge), moving it into ranked_ (whole, or packed when plain), in the
  // order results_ holds them; the per-result counters go as it goes, and results_ at the end.
  void judge_results();
  // Hops, verdict, summary, assumptions and findings of result ri (`r`, its counts and
  // point arrays filled), from its counters.
  void judge(uint32_t ri, FlowResult& r, const std::vector<std::string>& named);
  void order_results();
  // analysis.cpp
  // Everything after grouping, for both run()s: `out` holds the grouped sightings.
  Run finish(Run out);
  void add_findings(const Run& run);
  void add_translations(const Run& run);
  void list_inner_flows();
  void renumber_flows(Run& out);

  std::vector<Point>& points_;
  std::vector<Chain>& chains_;
  const AnalysisOptions& opt_;
  const unsigned n_;
  const std::vector<TranslationGroup>* translations_ = nullptr;

  int64_t win_start_ = kMinTime;      // when every usable point was capturing (for the report)
  int64_t win_end_ = kMaxTime;
  int64_t time_origin_ = 0;           // when the first point started capturing
  std::vector<uint64_t> not_capturing_;  // per ord: lost packets not judged because it was not capturing
  // Per ord: packets that passed it (or were lost before it) before its capture started / after
  // it stopped; packets that passed it when its capture holds no frame at all.
  std::vector<uint64_t> late_at_, early_at_, passed_empty_;
  // After a first pass, by flow id * 2 + dir: the points that saw that flow (empty before). A
  // flow a point saw once it captured, lost before it before its first frame (after its last),
  // ran into a capture that started late (stopped early): not a drop.
  std::vector<uint64_t> flow_seen_;
  uint64_t window_assumed_ = 0;         // losses judged assuming the next point captured
  std::vector<uint64_t> unknown_window_; // per ord: losses it could only be assumed to have seen
  uint64_t usable_ = 0;               // mask of the points whose capture is evidence (Point::health)
  unsigned lo_ = 0, hi_ = 0;          // the first and last usable points: the ends judging uses
  // The next usable point after `from` travelling in `d` (one must exist).
  unsigned usable_after(unsigned from, Dir d) const noexcept {
    do {
      from = d == Dir::kForward ? from + 1 : from - 1;
    } while (!(usable_ & bit(from)));
    return from;
  }
  unsigned n_usable_ = 0;
  std::vector<uint64_t> tagged_at_;   // per ord: its sightings that were VLAN-tagged
  std::vector<uint32_t> host_of_;     // host id per ord
  bool ends_same_host_ = true;
  bool one_host_ = true;

  std::vector<uint32_t> keys_of_chain_;               // chain → id of its list of flow keys
  std::vector<const FlowKeys*> keys_;  // keys id → the keys
  IdTable keys_ids_;                                  // a list of flow keys → its keys id
  // (top-level, innermost) flow per keys id and depth: [depth_base_[keys id] + depth - 1];
  // depth_base_ has one more entry, so keys id k has depth_base_[k + 1] - depth_base_[k] layers.
  std::vector<uint32_t> depth_base_;
  std::vector<std::pair<uint32_t, uint32_t>> flows_at_depth_;
  struct DepthMemo {
    uint64_t pair = ~uint64_t{0};
    uint32_t depth = 0;
  };
  std::vector<DepthMemo> depth_memo_ = std::vector<DepthMemo>(4096);
  IdTable flow_ids_;                 // (parent id, key) → id - 1 (an index into flows_)
  std::vector<Flow> flows_;
  // Per flow id: bit dir set when seen as an inner flow. Written by settling, which grows it
  // (it may hold fewer entries than flows_ until grouping ends: sized_inner_dirs()).
  std::vector<uint8_t> inner_dirs_;
  void sized_inner_dirs() { inner_dirs_.resize(flows_.size(), 0); }

  std::vector<Traversal> travs_;
  std::size_t base_ = 0;  // the index group()'s first sighting has in the run (ranges grouped one by one)
  // A result until it is judged: its flow, direction and counters (FlowResult's names; 32-bit:
  // a run has fewer than 2^32 sightings). 44 bytes, not a FlowResult's 312: a busy port's run has
  // hundreds of thousands of them while it groups. Judging makes the FlowResult.
  struct Tally {
    uint32_t flow = 0;
    Dir dir = Dir::kForward;
    uint32_t traversals = 0, judged = 0, delivered = 0, lost = 0, out_of_window = 0, no_entry = 0, aggregated = 0,
             duplicates = 0, assumed = 0;
    uint32_t rare = 0;  // its row of rare_ + 1 (0: none yet, all its rare counters are 0)
  };
  std::vector<Tally> results_;  // the per-point arrays are in counts_
  // By result index, for the few results that have them until they are judged: their inner
  // flows (list_inner_flows) and translations (add_translations).
  std::unordered_map<uint32_t, std::vector<uint32_t>> inner_of_;
  std::unordered_map<uint32_t, std::vector<Translation>> translated_;
  // Per result, per point, flat (no allocation per result): what its FlowResult's per-point
  // arrays will hold; judged traversals by position of last_seen in travel order (kReach, for
  // the hops) and those of them resting on an assumption (kAssumed); the loss character's
  // duplicates and over-MTU frames, counted while grouping. Each kind's n_ counters side by
  // side (a traversal touches a few cache lines of its result, not one per point). 32 bits
  // each: a run has fewer than 2^32 sightings (check_run_size). The kinds every result counts
  // are in counts_ (3 x 7 points: 84 bytes a result); the rare ones (holes, assumptions,
  // duplicates, frames over the MTU: most results have none) in rare_, a row made for a result
  // when it first counts one (Tally::rare).
  enum Count : unsigned {
    kSeenAny, kSeenAt, kReach,
    kRareFirst, kHoles = kRareFirst, kAssumed, kDuplicates, kOverMtu,
    kCounts
  };
  Rows<uint32_t> counts_;  // row ri: [kind * n_ + ord or position], kinds before kRareFirst
  Rows<uint32_t> rare_;    // row results_[ri].rare - 1: [(kind - kRareFirst) * n_ + ord or position]
  std::vector<uint32_t> no_rare_;  // n_ zeros: the rare counters of a result without a row
  // A common kind's counters of result ri.
  uint32_t* counts(uint32_t ri, Count kind) noexcept {
    PT_INVARIANT(kind < kRareFirst);
    return counts_.row(ri) + std::size_t(kind) * n_;
  }
  const uint32_t* counts(uint32_t ri, Count kind) const noexcept {
    PT_INVARIANT(kind < kRareFirst);
    return counts_.row(ri) + std::size_t(kind) * n_;
  }
  // A rare kind's counters of result ri, to read (zeros when it has none).
  const uint32_t* rare(uint32_t ri, Count kind) const noexcept {
    PT_INVARIANT(kind >= kRareFirst && kind < kCounts);
    const uint32_t row = results_[ri].rare;
    return row ? rare_.row(row - 1) + std::size_t(kind - kRareFirst) * n_ : no_rare_.data();
  }
  // The same, to count into (its row made on first use).
  uint32_t* rare_for(uint32_t ri, Count kind) {
    PT_INVARIANT(kind >= kRareFirst && kind < kCounts);
    uint32_t& row = results_[ri].rare;
    if (row == 0) {
      rare_.add(0);
      row = uint32_t(rare_.size());
    }
    return rare_.row(row - 1) + std::size_t(kind - kRareFirst) * n_;
  }
  // Per result, per hop position in travel order: delays between its points (20 bytes a hop:
  // 4-byte aligned, a result's 6 hops in 120 bytes, not 168). Members are read and written by
  // value: a reference to one (std::min's) would be misaligned.
#pragma pack(push, 4)
  struct Delay {
    int64_t sum = 0;
    int64_t min = kMaxTime;
    uint32_t n = 0;
  };
#pragma pack(pop)
  Rows<Delay> delays_;  // row ri: [hop]
  // Fills `r`'s (result ri's) per-point arrays (seen_at, holes_at, seen_any) from counts_, and
  // keeps what its findings need of the counters (findings_input_), before judging lets them go.
  void fill_point_arrays(uint32_t ri, FlowResult& r);
  // Per result with duplicates or frames over the MTU somewhere: those counts per point.
  struct FindingsInput {
    std::vector<uint32_t> duplicates_at, over_mtu_at;
  };
  std::unordered_map<uint32_t, FindingsInput> findings_input_;
  std::vector<uint64_t> entry_missed_;  // per result: not seen at its entry end, but right after it
  // Per result: lost right after the entry end, seen only there and only as frames over the
  // MTU: aggregates (TSO/GSO) when the flow also has packets first seen right after the end.
  std::vector<uint64_t> entry_aggregates_;
  // flow id * 2 + dir of the flows whose entry end saw aggregates of what the next point saw as
  // segments: those aggregates are not judged (settle()).
  std::unordered_map<std::size_t, bool> aggregating_;
  std::vector<uint64_t> outside_;       // per result: points it passed outside their capture
  // Per result: a point that saw none of it while a point listed after it saw it, and that saw
  // other traffic (so it captured, on this path): either a filter left the flow out or the
  // point is listed in the wrong place (kNoPoint: none).
  std::vector<uint8_t> order_doubt_;
  // Per point: 1 when it and the next usable point after it both captured and saw no flow in
  // common (a hop that dropped everything both ways, or a point not on the path: judge_one()
  // states the assumption).
  std::vector<uint8_t> nothing_shared_;
  // Per result: the far end of its path (where it would leave), when that point saw none of
  // the packets of the reverse flow that entered the path there (the point after it saw them
  // first): it is not capturing this connection's path, and a loss in front of it is no
  // evidence (kNoPoint: not so). Sized only when some result has one.
  std::vector<uint8_t> blind_far_end_;
  // flow id * 2 + dir → the point judging takes as that flow's entry end instead of the path's.
  std::unordered_map<std::size_t, unsigned> entry_override_;
  std::vector<uint32_t> result_index_;  // flow id * 2 + dir → result index + 1 (0 none)
  // Judged results, by result index until order_results() ranks them; what they rank by.
  RankedResults ranked_;
  struct RankKey {
    uint64_t judged;
    uint32_t flow;
    uint32_t index;
    uint8_t rank;
    uint8_t dir;
  };
  std::vector<RankKey> rank_keys_;
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

}  // namespace pathtrace::analyzer
