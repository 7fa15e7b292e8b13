#pragma once
// Character of a flow's loss: the numbers its findings are made of (rule 7 of
// docs/verdicts.md), apart from the sentences (findings.hpp). For every flow result: per
// point, the packets that passed unseen, the duplicate copies and the frames over the MTU;
// for a partial loss, the packets lost at the headline hop compared with those that got
// through it (sizes, times, TCP flags, inner flows).
//
//   FlowResult (verdict, headline hop) + traversals + sightings ──characterise()──▶ LossCharacter
//        ──describe() (findings.hpp)──▶ FlowResult::findings
//
// Pure: no I/O, no text. Library-internal (tests use it to check the numbers on their own).

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {

// The packets on one side of a headline hop.
struct PacketSide {
  uint64_t packets = 0;
  // Wire length at the hop's first point (where the lost ones were last seen); 0xffff / 0
  // while `packets` is 0.
  uint16_t len_min = 0xffff;
  uint16_t len_max = 0;
  // First sightings (Traversal::t0_ns); max / min of int64 while `packets` is 0.
  int64_t t_min = std::numeric_limits<int64_t>::max();
  int64_t t_max = std::numeric_limits<int64_t>::min();
};

// How many of one inner flow's packets were lost at the headline hop, and how many got through.
struct InnerFlowCount {
  uint32_t flow = 0;  // inner flow id; the result's own flow for packets without an inner layer
  uint64_t lost = 0;
  uint64_t passed = 0;
};

// What got lost at a partial loss's headline hop (from → to) against what got through it.
struct HeadlineComparison {
  PacketSide lost;    // lost at the hop: last seen at `from`
  PacketSide passed;  // reached `to` (whatever became of them further on)
  // The TCP flags of the lost packets: `lost_flags` is those of the first one,
  // `flags_agree` whether every lost packet has them (true while none is lost).
  bool flags_agree = true;
  uint8_t lost_flags = 0;
  // Passed packets with exactly `lost_flags`; counted only when the flags agree and are not
  // 0 (the only case a finding compares them), 0 otherwise.
  uint64_t passed_with_lost_flags = 0;
  // Span of the first sightings of all the flow's judged packets, lost anywhere or not.
  int64_t judged_t_min = std::numeric_limits<int64_t>::max();
  int64_t judged_t_max = std::numeric_limits<int64_t>::min();
  // Every flow found directly inside the result's packets that were lost at the hop or got
  // through it (their Traversal::inner_flow), by flow id ascending.
  std::vector<InnerFlowCount> inner;
};

// The numbers behind one flow result's findings.
struct LossCharacter {
  uint32_t flow = 0;                    // the result's top-level flow
  std::vector<uint32_t> holes_at;       // per ord: judged packets that passed the point unseen
  std::vector<uint32_t> duplicates_at;  // per ord: extra sightings of a packet (all packets)
  std::vector<uint32_t> over_mtu_at;    // per ord: packets with a frame over the MTU there (all packets)
  std::optional<HeadlineComparison> headline;  // partial loss only
};

// Fills chars[i] for results[i] (same size, else an invariant failure): `flow`, `holes_at`
// (copied from the result when it has a hole; else empty) and, for every partial-loss result, `headline` from one pass over
// `traversals` (plus their sightings, for the wire length at the hop's first point).
// `duplicates_at` and `over_mtu_at` are left as they are: the analysis counts them while it
// groups sightings into traversals. Judged traversals of a (flow, direction) with no result
// are ignored; any input is safe. Works on a finished Run as well as inside analyze().
// `done_before(i)`, when given, is told as the pass goes that traversals before i (and their
// sightings) are not read again (Run::release_traversals_before).
void characterise(std::span<const FlowResult> results, std::span<const Traversal> traversals,
                  std::span<const Sighting> sightings, std::span<LossCharacter> chars,
                  const std::function<void(std::size_t)>& done_before = {});

// The same for the results `which` only (indices into `results`): chars[k] for
// results[which[k]] (same size as `which`). A run has hundreds of thousands of results and a
// few with something to say: only theirs take memory.
void characterise(std::span<const FlowResult> results, std::span<const uint32_t> which,
                  std::span<const Traversal> traversals, std::span<const Sighting> sightings,
                  std::span<LossCharacter> chars, const std::function<void(std::size_t)>& done_before = {});

}  // namespace pathtrace
