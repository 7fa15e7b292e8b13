#pragma once
// Clocks: hosts' clocks disagree, so timestamps from different hosts are not comparable as
// they come. Pure functions: estimate each host's offset from packets seen on two hosts,
// then shift every sighting (and capture window) of that host onto the reference clock
// before analyze() groups sightings into traversals.
//
//   points + sightings ──same digest on host a and host b──▶ bounds on off(b) − off(a)
//        packet a → b (path order + same-host timestamps say so): off(b) − off(a) ≤ t_b − t_a
//        packet b → a:                                            off(b) − off(a) ≥ t_b − t_a
//   ──both ways: midpoint ± half the gap; one way: the bound (minimum delay taken as 0)
//   ──walk from the reference host (the host with the most points) ──▶ HostClock each
//
// Direction never comes from cross-host timestamps: a packet's direction is read from the
// order of the path and from timestamps of two points on the same host; hop order always
// comes from the path.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {

// One host's clock relative to the reference host's.
struct HostClock {
  std::string host;
  bool reference = false;   // the host with the most points: offset 0 by definition
  bool known = false;       // an offset could be estimated (else timestamps are left as they are)
  bool both_ways = false;   // bounded from both sides (traffic in both directions)
  int64_t offset_ns = 0;    // this host's clock minus the reference's (positive: ahead)
  int64_t error_ns = 0;     // half-width of the interval the offset lies in (both_ways only)
  uint64_t samples = 0;     // packets that bounded it
};

struct ClockOptions {
  // Sightings of one digest on one host further apart than this: the digest repeats (IP ID 0,
  // retransmissions): such packets cannot be paired across hosts and are not used.
  int64_t max_transit_ns = 200'000'000;
};

// Estimates every host's offset from the packets seen on two hosts. `points` in path order
// (ord == index), sightings referring to them by ord. One entry per distinct host, reference
// first: the host with the most points (the first along the path among equals). Hosts without a packet in common with a host of known offset stay `known = false`.
// Never throws on any input; out-of-range ords are ignored.
std::vector<HostClock> estimate_clocks(const std::vector<Point>& points,
                                       const std::vector<Sighting>& sightings,
                                       const ClockOptions& opt = {});

// estimate_clocks() over sightings that come in spans, each holding every sighting of the
// digests in it (a run split by digest range: SightingParts). The same result.
class ClockEstimator {
 public:
  explicit ClockEstimator(const std::vector<Point>& points, const ClockOptions& opt = {});
  ~ClockEstimator();
  void add(std::span<const Sighting> sightings);
  std::vector<HostClock> finish() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Shifts the sightings, capture windows, first and last frames (and `kept` frames, when
// given) of every host with a known offset onto the reference clock (ts − offset). Points of
// hosts not known are left untouched and marked Point::clock_unknown.
// Returns, per point, what was taken off its times (0: nothing).
std::vector<int64_t> apply_clocks(const std::vector<HostClock>& clocks, std::vector<Point>& points,
                                  std::vector<Sighting>& sightings, KeptFrames* kept = nullptr);

// One line for the report: "clock of hv1 is 30.002 s ahead of vm1 (±0.4 ms, …)", "… about …
// (packets seen one way only: a bound that includes the one-way delay)", "clock of hv2 could not be compared
// with vm1 (no packet seen on both): its timestamps are used as they are". `reference` is the
// reference host's name. Empty for the reference itself.
std::string describe(const HostClock& clock, const std::string& reference);

}  // namespace pathtrace
