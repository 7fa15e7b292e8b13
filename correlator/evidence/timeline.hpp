#pragma once
// `pathtrace timeline`: the sightings of a stored run in time order — one packet (by its
// digest, through the digest-range index), one flow, every lost packet with the last point
// that saw it, or the whole run — read from a read-only connection.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "correlator/store/store.hpp"

namespace pathtrace::evidence {

// Parses a packet digest as printed by pathtrace (16 hex digits, optional "0x"). Returns
// nullopt for anything else (empty, non-hex, more than 16 digits).
std::optional<uint64_t> parse_digest(const std::string& text);

// What `pathtrace timeline` shows: one packet, one flow, the lost packets, or everything.
struct TimelineQuery {
  int64_t run = 0;                  // 0: the newest
  std::optional<uint64_t> packet;   // one packet by digest ...
  std::optional<uint32_t> flow;     // ... or one flow (a top-level or inner flow id) ...
  bool lost = false;                // ... or the packets that vanished
  std::string point;                // only sightings at this point label ("" = all)
  std::size_t limit = 100;          // at most this many rows, earliest first (0: all)
  bool json = false;                // a JSON object {run, title, total, shown, rows, notes} instead of text
};

// Prints the timeline of `q` from `store` (read-only). A capturing or interrupted run is
// analysed from what it committed. Throws Error: kUsage (unknown run, packet, point or flow),
// kDatabase (unreadable database).
void print_timeline(std::ostream& out, Store& store, const TimelineQuery& q);

}  // namespace pathtrace::evidence
