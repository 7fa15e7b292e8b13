#pragma once
// `pathtrace timeline`: the sightings of a stored run in time order — one packet (by its
// digest, through the digest-range index), one flow, every lost packet with the last point
// that saw it, or the whole run — read from a read-only connection.

#include <cstdint>
#include <optional>
#include <string>

namespace pathtrace::cli {

// Parses a packet digest as printed by pathtrace (16 hex digits, optional "0x"). Returns
// nullopt for anything else (empty, non-hex, more than 16 digits).
std::optional<uint64_t> parse_digest(const std::string& text);

// "2023-11-14T22:13:21.000003000Z" for nanoseconds since the Unix epoch (UTC).
std::string iso_time_ns(int64_t ts_ns);

// Runs `pathtrace timeline` with argv[0] = "timeline". Returns the exit code (0, or 2 for
// --help-less usage errors thrown as Error). Throws Error: kUsage (bad option, unknown run,
// bad digest, unknown point or flow), kDatabase (missing or unreadable database).
int cmd_timeline(int argc, char** argv);

}  // namespace pathtrace::cli
