// Analysis: sightings → traversals → per flow, per hop counts → verdicts and findings.
// The rules are written for people in docs/verdicts.md; this file runs the steps in order
// (analyzer.hpp says which file holds each) and puts the Run together:
//
//   1. radix sort of sightings by digest (top 27 bits, stable), then by time within a digest
//   2. one pass over digest groups: traversals (duplicates, repeats), their flow, fate and
//      direction; counts accumulated straight into the flow's result (no per-sighting allocation)
//      (1 and 2 on two threads: the sort's upper half is sorted while the lower is grouped)
//   3. traversals stay in digest order; grouping left the sightings grouped in that order
//   4. hops, verdicts, summaries, and findings for the flows that need them; inner flows
//      listed under their flow; flows numbered in order of first appearance; results ordered

#include "correlator/analysis/analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>

#include "correlator/analysis/analyzer.hpp"
#include "correlator/analysis/sort.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace {
namespace analyzer {

using text::seconds_text;
using text::tcp_flags_text;
using text::u64;

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
  window_warnings(rep);
  judge_results();
  characterise(out);
  if (inconsistent_) {
    rep.warnings.push_back(u64(inconsistent_) +
                           " packets had different innermost IP layers at different points (digest collision?)");
  }
  list_inner_flows();
  renumber_flows(out);
  for (FlowResult& r : results_) std::sort(r.inner_flows.begin(), r.inner_flows.end());
  order_results();
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

// Findings that need a look at individual traversals (partial loss), then point findings.
void Analyzer::characterise(const Run& run) {
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
      if (key < result_index_.size() && result_index_[key]) results_[result_index_[key] - 1].inner_flows.push_back(uint32_t(id));
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

}  // namespace analyzer

Run analyze(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
            const AnalysisOptions& opt) {
  analyzer::Analyzer a(points, chains, opt);
  return a.run(std::move(sightings), nullptr);
}

Run analyze(std::vector<Point> points, std::vector<Chain> chains, std::vector<Sighting> sightings,
            std::vector<Sighting> scratch, const AnalysisOptions& opt) {
  analyzer::Analyzer a(points, chains, opt);
  return a.run(std::move(sightings), &scratch);
}

}  // namespace pathtrace
