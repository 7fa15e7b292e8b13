#pragma once
// Frame accounting: what a capture point counts of every frame it reads, the same way whether
// the frames come from a live ring (collect), a capture file (ingest) or a pcap stream over
// ssh (agentless). One implementation, so a report never prints one number for a count taken
// another way.
//
//   frame ──account()──▶ packets, bytes, over_mtu ──parse()──▶ discarded[reason] | digested
//                                                        ──keep(parsed)──▶ filtered | sighting

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "collector/packet/packet.hpp"

namespace pathtrace::packet {

// Frames longer than this on the wire are GSO/GRO/TSO aggregates, not wire packets: 1500
// bytes of IP, 14 of Ethernet and 4 of one 802.1Q tag.
constexpr uint32_t kMaxWireFrame = 1518;

// The counters of one point's frames.
struct FrameCounts {
  uint64_t packets = 0;   // frames read
  uint64_t bytes = 0;     // their wire bytes
  uint64_t digested = 0;  // parsed into a digest
  uint64_t filtered = 0;  // digested, not matching the filter (not a loss)
  std::array<uint64_t, kStatusCount> discarded{};  // by Status; discarded[Status::kOk] unused
  uint64_t over_mtu = 0;  // frames longer than kMaxWireFrame on the wire

  // The parser discards with reason `s`.
  uint64_t& discards(Status s) noexcept { return discarded[static_cast<std::size_t>(s)]; }
  uint64_t discards(Status s) const noexcept { return discarded[static_cast<std::size_t>(s)]; }
  // Frames the parser could not read whole — truncated or malformed: they could have been any
  // flow's packets, so they count as this point's own capture loss.
  uint64_t damaged() const noexcept { return discards(Status::kTruncated) + discards(Status::kMalformed); }
  // All parser discards.
  uint64_t all_discards() const noexcept {
    uint64_t n = 0;
    for (const uint64_t d : discarded) n += d;
    return n;
  }
  bool operator==(const FrameCounts&) const = default;
  // Another reading's counts of the same point (a chunk of its file) added.
  FrameCounts& operator+=(const FrameCounts& o) noexcept {
    packets += o.packets;
    bytes += o.bytes;
    digested += o.digested;
    filtered += o.filtered;
    for (std::size_t i = 0; i < discarded.size(); ++i) discarded[i] += o.discarded[i];
    over_mtu += o.over_mtu;
    return *this;
  }
};

// Counts one frame of `wire_len` bytes on the wire (`frame` its captured bytes), parses it
// into `out`, and returns true when it becomes a sighting: it parsed (Status::kOk) and
// keep(out) accepted it. Every other outcome is counted by reason. Never throws unless keep
// does; allocates nothing.
template <typename Keep>
inline bool account(FrameCounts& c, std::span<const uint8_t> frame, uint32_t wire_len, LinkType link,
                    const Options& opt, Parsed& out, Keep&& keep) {
  ++c.packets;
  c.bytes += wire_len;
  if (wire_len > kMaxWireFrame) ++c.over_mtu;
  const Status st = parse(frame, wire_len, link, opt, out);
  if (st != Status::kOk) {
    ++c.discards(st);
    return false;
  }
  ++c.digested;
  if (!keep(out)) {
    ++c.filtered;
    return false;
  }
  return true;
}

}  // namespace pathtrace::packet
