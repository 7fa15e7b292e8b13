// Character of a flow's loss (character.hpp): the statistics a partial loss is described
// with — sizes, times, TCP flags and inner flows of the packets lost at the headline hop
// against those that got through it — gathered in one pass over the traversals (two when
// the lost packets' flags agree). Numbers only; the sentences are findings.cpp's.

#include "correlator/analysis/character.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "correlator/analysis/invariant.hpp"

namespace pathtrace {
namespace {

// What one partial-loss result looks for while the traversals go by.
struct Probe {
  bool active = false;
  uint8_t from = 0;    // ord of the headline hop's first point
  uint8_t to_pos = 0;  // position (in travel order) of its second point
  unsigned points = 0; // points on the path
  HeadlineComparison cmp;
  std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>> inner;  // inner flow → lost, passed
};

}  // namespace

void characterise(std::span<const FlowResult> results, std::span<const Traversal> traversals,
                  std::span<const Sighting> sightings, std::span<LossCharacter> chars,
                  const std::function<void(std::size_t)>& done_before) {
  std::vector<uint32_t> all(results.size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  characterise(results, all, traversals, sightings, chars, done_before);
}

void characterise(std::span<const FlowResult> results, std::span<const uint32_t> which,
                  std::span<const Traversal> traversals, std::span<const Sighting> sightings,
                  std::span<LossCharacter> chars, const std::function<void(std::size_t)>& done_before) {
  PT_INVARIANT(chars.size() == which.size());
  // (flow, direction) → k + 1 for result which[k], and a probe per partial-loss result.
  std::vector<uint32_t> index;
  std::vector<Probe> probes(which.size());
  bool any = false;
  for (std::size_t k = 0; k < which.size(); ++k) {
    PT_INVARIANT(which[k] < results.size());
    const FlowResult& r = results[which[k]];
    chars[k].flow = r.flow;
    if (std::any_of(r.holes_at.begin(), r.holes_at.end(), [](uint64_t h) { return h != 0; })) {
      chars[k].holes_at = r.holes_at;
    } else {
      chars[k].holes_at.clear();
    }
    chars[k].headline.reset();
    const std::size_t key = std::size_t(r.flow) * 2 + std::size_t(r.dir);
    if (index.size() <= key) index.resize(key + 1, 0);
    index[key] = uint32_t(k + 1);
    if (r.verdict != VerdictKind::kPartialLoss || r.hop < 0 || std::size_t(r.hop) >= r.hops.size()) continue;
    Probe& pr = probes[k];
    pr.active = any = true;
    pr.from = r.hops[std::size_t(r.hop)].from;
    pr.to_pos = uint8_t(r.hop + 1);
    pr.points = unsigned(r.seen_at.size());
  }
  if (!any) return;

  auto probe_of = [&](const Traversal& t) -> Probe* {
    if (t.fate != Fate::kDelivered && t.fate != Fate::kLost) return nullptr;
    const std::size_t key = std::size_t(t.flow) * 2 + std::size_t(t.dir);
    if (key >= index.size() || index[key] == 0) return nullptr;
    Probe& pr = probes[index[key] - 1];
    return pr.active ? &pr : nullptr;
  };
  // Position along the travel direction of the furthest point that saw it.
  auto reach_of = [](const Probe& pr, const Traversal& t) {
    return t.dir == Dir::kForward ? unsigned(t.last_seen) : pr.points - 1 - t.last_seen;
  };

  for (std::size_t i = 0; i < traversals.size(); ++i) {
    const Traversal& t = traversals[i];
    if (done_before && (i & 0xffff) == 0xffff) [[unlikely]] done_before(i);
    Probe* const pp = probe_of(t);
    if (!pp) continue;
    Probe& pr = *pp;
    HeadlineComparison& c = pr.cmp;
    c.judged_t_min = std::min(c.judged_t_min, t.t0_ns);
    c.judged_t_max = std::max(c.judged_t_max, t.t0_ns);
    const bool lost = t.fate == Fate::kLost && t.last_seen == pr.from;
    const bool passed = reach_of(pr, t) >= pr.to_pos;
    if (!lost && !passed) continue;
    PacketSide& side = lost ? c.lost : c.passed;
    uint16_t len = t.wire_len;
    if (!lost) {  // wire length at the hop's first point, where the lost ones were last seen
      const std::size_t end = std::min<std::size_t>(std::size_t(t.first) + t.count, sightings.size());
      for (std::size_t i = t.first; i < end; ++i) {
        if (sightings[i].point == pr.from) {
          len = sightings[i].wire_len;
          break;
        }
      }
    }
    ++side.packets;
    side.len_min = std::min(side.len_min, len);
    side.len_max = std::max(side.len_max, len);
    side.t_min = std::min(side.t_min, t.t0_ns);
    side.t_max = std::max(side.t_max, t.t0_ns);
    if (lost) {
      if (c.lost.packets == 1) c.lost_flags = t.tcp_flags;
      else if (c.lost_flags != t.tcp_flags) c.flags_agree = false;
    }
    auto& io = pr.inner[t.inner_flow];
    (lost ? io.first : io.second) += 1;
  }
  // Flags of passed packets are compared in a second look only when all lost ones agree.
  bool flags_to_count = false;
  for (const Probe& pr : probes)
    flags_to_count |= pr.active && pr.cmp.lost.packets > 0 && pr.cmp.flags_agree && pr.cmp.lost_flags != 0;
  if (flags_to_count) {
    for (std::size_t i = 0; i < traversals.size(); ++i) {
      const Traversal& t = traversals[i];
      if (done_before && (i & 0xffff) == 0xffff) [[unlikely]] done_before(i);
      Probe* const pp = probe_of(t);
      if (!pp) continue;
      const HeadlineComparison& c = pp->cmp;
      if (c.lost.packets == 0 || !c.flags_agree || c.lost_flags == 0) continue;
      if (reach_of(*pp, t) >= pp->to_pos && t.tcp_flags == c.lost_flags) ++pp->cmp.passed_with_lost_flags;
    }
  }

  for (std::size_t k = 0; k < probes.size(); ++k) {
    Probe& pr = probes[k];
    if (!pr.active) continue;
    pr.cmp.inner.reserve(pr.inner.size());
    for (const auto& [flow, counts] : pr.inner) pr.cmp.inner.push_back({flow, counts.first, counts.second});
    std::sort(pr.cmp.inner.begin(), pr.cmp.inner.end(),
              [](const InnerFlowCount& a, const InnerFlowCount& b) { return a.flow < b.flow; });
    chars[k].headline = std::move(pr.cmp);
  }
}

}  // namespace pathtrace
