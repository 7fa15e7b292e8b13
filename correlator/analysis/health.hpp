#pragma once
// Point health (docs/verdicts.md, "Point health"): is a point's capture evidence at all? A
// capture that holds nothing recognisable, frames cut too short for the digest, or the very
// same capture as another point's, says nothing about the path, and a hop next to it must
// never be blamed for what it did not see. Pure; run before the traversals are grouped.
//
//   points' counters + chains + sightings ──assess_points()──▶ Point::health (+ run warnings)

#include <span>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {

// What assess_points() reads of the sightings, counted over as many spans as they come in
// (a run split by digest range: SightingParts). Per point: its sightings, those VLAN-tagged,
// those UDP to a well-known tunnel port with nothing decoded inside (by port).
class PointTally {
 public:
  // `chains` indexed by Sighting::chain; out-of-range points and chains are not counted.
  PointTally(std::size_t n_points, const std::vector<Chain>& chains);
  void add(std::span<const Sighting> sightings) noexcept;
  // Sightings added whose point or chain is beyond the run's (not counted).
  uint64_t out_of_range() const noexcept { return out_of_range_; }

 private:
  friend void assess_points(std::vector<Point>&, PointTally, std::vector<std::string>&, std::vector<uint64_t>*);
  std::vector<uint8_t> chain_kind_;  // per chain: bit 0 tagged, bits 1-3 the undecoded tunnel port's index + 1
  std::vector<uint64_t> seen_, tags_, tunnel_;
  std::vector<std::array<uint64_t, 4>> by_port_;
  uint64_t out_of_range_ = 0;
};

// Sets every point's health that is still usable from its counters and sightings:
//   - kNotIp / kSnaplen: at least 10 frames and under 5 % of them digested, because they do not
//     parse as IP (a link type that does not match the bytes?) or because they were cut short;
// A health set before (ingest found the file's link type wrong, or two points' files
// identical) is kept. Adds one warning per
// unusable point. Reads the sightings through a PointTally (above): its chains are indexed by
// Sighting::chain (VLAN-tagged stacks help say why). `tagged_at`, when given, gets per point
// the number of its sightings that were VLAN-tagged.
void assess_points(std::vector<Point>& points, PointTally tally, std::vector<std::string>& warnings,
                   std::vector<uint64_t>* tagged_at = nullptr);

// Marks a point that saw none of what passed it unusable (kVlanFilter when frames there are
// VLAN-tagged — its own or its neighbours' sightings, or a Neutron bridge by role or name —
// else kNothingSeen), `saw` saying what it missed, and warns.
void mark_blind(Point& p, const std::string& saw, const std::vector<uint64_t>& tagged_at,
                std::vector<std::string>& warnings);

// Whether frames at point `p` are likely VLAN-tagged: its own sightings are, or both its
// neighbours' are, or it is a Neutron bridge (br-int, br-ethx, their phy-br/int-br veth ends) by
// role or name. `tagged_at`: per point, its VLAN-tagged sightings.
bool vlan_suspect(const Point& p, const std::vector<uint64_t>& tagged_at) noexcept;

// Whether a stack string holds an 802.1Q/802.1ad tag ("eth/vlan/ipv4/…").
bool tagged(const std::string& stack) noexcept;

}  // namespace pathtrace
