#pragma once
// Analysis: pure functions from sightings to verdicts. No I/O, no clocks, no database.
//
//   points + chains + sightings ──group by digest & time──▶ traversals
//        ──common window, direction, fate──▶ per flow, per hop counts ──▶ verdicts + findings
//
// See docs/verdicts.md for the rules this implements.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {

struct AnalysisOptions {
  // Sightings of one digest further apart than this from the traversal's first sighting
  // start a new traversal (same packet sent again). Points on one host see a packet
  // within microseconds; 200 ms leaves room for slow paths and queueing.
  int64_t max_transit_ns = 200'000'000;
  // Margin inside the common capture window: packets this close to a point's start or
  // end are not judged (a capture that was starting or stopping may have missed them).
  int64_t guard_ns = 100'000'000;
  // Frames longer than this on the wire are GSO/GRO/TSO aggregates, not wire packets (the
  // threshold every point counts Point::over_mtu with).
  uint32_t mtu_frame = packet::kMaxWireFrame;
  // Threads the sort and the grouping into traversals may use, from 2^18 sightings on (1: the
  // calling thread only). The result is the same either way.
  unsigned threads = 2;
};

// How verdicts name a point: "C (qbr qbrbdd1f2c3-bd)", "C (eth0)", "C".
std::string point_text(const Point& p);

// Groups `sightings` into traversals and judges every flow. `points` must be in path
// order (points[i].ord == i) with at most kMaxPoints entries; sightings refer to them by
// ord and to `chains` by index (out-of-range references are an invariant violation).
// Consumes its inputs; the returned Run holds them, re-ordered. Deterministic.
Run analyze(std::vector<Point> points, std::vector<Chain> chains,
            std::vector<Sighting> sightings, const AnalysisOptions& opt = {});

// The same, sorting with `scratch` as its second buffer (resized to the sightings' count;
// contents ignored) instead of allocating one: a buffer whose pages are already touched
// saves zeroing fresh memory. Same result as the overload above.
Run analyze(std::vector<Point> points, std::vector<Chain> chains,
            std::vector<Sighting> sightings, std::vector<Sighting> scratch,
            const AnalysisOptions& opt = {});

// A run's sightings split by digest range, for runs larger than the memory budget: each range
// is sorted and grouped on its own, the grouped sightings go to a file, and only that range is
// in memory at a time (correlator/spill has the files; the analysis does no I/O itself).
class SightingParts {
 public:
  virtual ~SightingParts() = default;
  // Ranges, in digest order: every digest of range i is below every digest of range i + 1.
  virtual unsigned count() const noexcept = 0;
  // Sightings in all ranges.
  virtual std::size_t size() const noexcept = 0;
  // Range `part`'s sightings, in any order, into `out` (its content replaced): chains as the
  // run's, times on the reference clock. Throws Error on a read failure.
  virtual void load(unsigned part, std::vector<Sighting>& out) = 0;
  // From now on load() takes `by_point[ord]` off the times of each point's sightings (the
  // hosts' clock offsets, clocks.hpp).
  virtual void shift_times(std::vector<int64_t> by_point) = 0;
  // Appends grouped sightings, range after range, to the file grouped() returns.
  virtual void append_grouped(std::span<const Sighting> grouped) = 0;
  // The file of everything append_grouped() wrote (call once, after the last range).
  virtual std::shared_ptr<SightingFile> grouped() = 0;
  // The same for traversals: appended range after range, then the file (call once).
  virtual void append_traversals(std::span<const Traversal> traversals) = 0;
  virtual std::shared_ptr<TraversalFile> traversals() = 0;
  // New ranges (the same split, the same directory) holding `sightings` as they are.
  virtual std::unique_ptr<SightingParts> split_again(std::span<const Sighting> sightings) = 0;
};

// analyze() over sightings split by digest range: the same Run as analyze() over all of them
// at once, with Run::spilled and Run::spilled_traversals instead of Run::sightings and
// Run::traversals. Memory: one range at a time, plus the flows and their results. Throws what
// `parts` throws.
Run analyze(std::vector<Point> points, std::vector<Chain> chains, SightingParts& parts,
            const AnalysisOptions& opt = {});

}  // namespace pathtrace
