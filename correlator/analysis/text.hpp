#pragma once
// Text: how the analysis writes numbers, shares, times, TCP flags and points in its
// sentences (summaries, findings, warnings, clock notes). Every sentence the library builds
// formats through these, so one quantity reads the same everywhere. Internal to pt_analysis
// (point_text, the one used outside, is declared in analysis.hpp).

#include <cstdint>
#include <string>

namespace pathtrace::text {

// Decimal digits of `v`: "200".
std::string u64(uint64_t v);

// `part` of `whole` as a percentage with one decimal ("5.0%"); exact ends say "0%" and
// "100%"; a `whole` of 0 says "0%".
std::string pct_text(uint64_t part, uint64_t whole);

// Nanoseconds as seconds with two decimals: "1.20 s" (negative values keep their sign).
std::string seconds_text(int64_t ns);

// The magnitude of a duration in the unit that reads best: "30.002 s", "1.500 ms", "4.0 µs".
std::string duration_text(int64_t ns);

// TCP flags joined by '-': "SYN", "SYN-ACK", "PSH-ACK", "FIN-ACK"; 0 says "without flags".
std::string tcp_flags_text(uint8_t flags);

}  // namespace pathtrace::text
