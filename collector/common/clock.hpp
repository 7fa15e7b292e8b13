#pragma once
// The clocks pathtrace reads: wall time (CLOCK_REALTIME, what capture timestamps use) and
// monotonic time, in nanoseconds; and times as the ISO-8601 text a run records and reports print.

#include <cstdint>
#include <cstdio>
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

// A time in nanoseconds since the Unix epoch as UTC ISO-8601, with `digits` (at most 9) of the
// second's fraction, truncated: 3 "2026-12-04T20:47:27.250Z" (what --window and the inventory
// read back), 9 "2026-12-04T20:47:27.250113004Z" (a packet's time), 0 "2026-12-04T20:47:27Z".
inline std::string format_utc(int64_t ns, unsigned digits) {
  int64_t sec = ns / 1'000'000'000, frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --sec;
  }
  if (digits > 9) digits = 9;
  for (unsigned i = digits; i < 9; ++i) frac /= 10;
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (digits)
    std::snprintf(buf + n, sizeof buf - std::size_t(n), ".%0*lldZ", int(digits), static_cast<long long>(frac));
  else
    std::snprintf(buf + n, sizeof buf - std::size_t(n), "Z");
  return buf;
}

}  // namespace pathtrace
