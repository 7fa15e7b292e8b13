#pragma once
// The clocks pathtrace reads: wall time (CLOCK_REALTIME, what capture timestamps use) and
// monotonic time, in nanoseconds; and the wall time as the ISO-8601 text a run records.

#include <cstdint>
#include <ctime>
#include <string>

namespace pathtrace {

// Nanoseconds of clock `id` (CLOCK_REALTIME: since the Unix epoch).
inline int64_t clock_ns(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline int64_t realtime_ns() noexcept { return clock_ns(CLOCK_REALTIME); }
inline int64_t monotonic_ns() noexcept { return clock_ns(CLOCK_MONOTONIC); }

// The current UTC time as ISO-8601 ("2026-11-26T09:25:24Z"): when a run started.
inline std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace pathtrace
