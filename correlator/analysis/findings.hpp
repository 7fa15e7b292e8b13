#pragma once
// Findings: the sentences a flow result's loss character (character.hpp) supports, in the
// words of rule 7 of docs/verdicts.md — sizes, inner flows, TCP flags and time of the packets
// lost at a partial loss's headline hop, then holes, duplicates and frames over the MTU at
// each point. Only what the numbers support is said. Library-internal.
//
//   LossCharacter + names (points, flows) ──describe()──▶ "all 100 lost packets were ≥ 1480 bytes …"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "correlator/analysis/character.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace {

// What the sentences name things by.
struct FindingsContext {
  std::span<const Point> points;  // by ord: labels
  std::span<const Flow> flows;    // flows[id - 1]: labels of the inner flows in LossCharacter
  uint32_t mtu_frame = 0;         // the over-MTU threshold, as counted (AnalysisOptions::mtu_frame)
  int64_t time_origin_ns = 0;     // "t": when the first point started capturing
};

// The findings of one result, in order: the headline comparison's (sizes, inner flows, TCP
// flags, time), then per point holes, duplicates, frames over the MTU. Empty when there is
// nothing to say. Points or flows missing from `ctx` are an invariant failure.
std::vector<std::string> describe(const LossCharacter& c, const FindingsContext& ctx);

}  // namespace pathtrace
