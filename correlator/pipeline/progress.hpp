#pragma once
// Progress of a long command on stderr, one line per capture point.
//
//   reading threads ──relaxed stores every few thousand packets──▶ PointProgress (atomics)
//   the command's own thread ──every period──▶ PointCounts ──point_progress_line──▶ ProgressLines
//
// On a terminal the lines are redrawn in place; otherwise they are appended as plain lines.
// `pathtrace ingest` draws its own ProgressLines; `pathtrace run`, whose log lines come from
// several threads and child processes, draws through Console (collector/common/console.hpp).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace pathtrace::pipeline {

// One point's counters while it is being read: written by the one thread reading it (relaxed
// stores, every few thousand packets and at the end), read by the thread that prints.
struct PointProgress {
  std::atomic<uint64_t> packets{0};    // frames read
  std::atomic<uint64_t> discarded{0};  // frames the parser discarded (truncated, malformed, ...)
  std::atomic<uint64_t> dropped{0};    // frames the capture itself dropped (statistics blocks)
  std::atomic<uint64_t> position{0};   // bytes of the file read so far
  std::atomic<uint64_t> size{0};       // the file's size in bytes (0: unknown)
  std::atomic<int64_t> start_ns{0};    // steady clock when reading began (0: not yet)
  std::atomic<int64_t> end_ns{0};      // steady clock when reading ended (0: still reading)
};

// One point's progress as numbers, for point_progress_line().
struct PointCounts {
  enum class State : uint8_t { kWaiting, kRunning, kDone };
  State state = State::kWaiting;
  uint64_t packets = 0;
  double rate = 0;       // packets per second
  int percent = -1;      // of the input read, -1: unknown
  uint64_t discarded = 0;
  uint64_t dropped = 0;
};

// The counts of `p` at steady-clock time now_ns (rate: packets over the time it has been read).
PointCounts counts_of(const PointProgress& p, int64_t now_ns);

// "1.25 M/s", "12.3 k/s", "950/s".
std::string rate_text(double per_second);

// "C qbr qbrbdd1f2c3-bd: 1234567 packets (45%), 2.10 M/s, 12 discarded, 3 dropped" — the
// discarded and dropped parts only when not zero; "…: waiting" before the point started,
// ", done" once it ended.
std::string point_progress_line(const std::string& name, const PointCounts& c);

}  // namespace pathtrace::pipeline
