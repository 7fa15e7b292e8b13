#pragma once
// What goes into a log line from outside: text that came from the network (a HELLO's label,
// host and interface, a BYE's reason, a decoder's complaint about bytes), from a capture, or
// from a child's or a remote host's stderr, made safe to print; and a limiter that keeps a
// flood of similar lines (one per gap frame, one per refused connection) to a few and a count.
//
//   untrusted bytes ──escape_text()──▶ one printable line (no terminal control, no newline)
//   log line ──RepeatLimiter::pass(kind)──▶ printed | held back and counted ──flush()──▶ "… N more"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pathtrace {

// `s` as one printable line: valid UTF-8 printable characters pass unchanged; a backslash
// becomes "\\"; \n \r \t become "\n" "\r" "\t"; every other control character (C0, DEL, C1)
// and the Unicode bidirectional overrides become "\xNN" / "\u202e"; a byte that is not valid
// UTF-8 becomes "\xNN". So nothing read from outside can end a log line early, forge another,
// move the cursor, set the terminal's title or reorder what a line shows. Text longer than
// `max_bytes` is cut at a character boundary and ends "… (N bytes)". Never throws on any input
// (std::bad_alloc aside).
std::string escape_text(std::string_view s, std::size_t max_bytes = 512);

// Keeps similar log lines from flooding: per kind, the first `burst` lines of every `period`
// pass; the others are held back and counted. The next line of a kind whose period is over
// (or flush()) reports the count first: "… 19995 more like: <the first one held back>".
// Not thread-safe: one owner (the server's io thread).
class RepeatLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RepeatLimiter(std::size_t burst = 5, Clock::duration period = std::chrono::seconds(10))
      : burst_(burst), period_(period) {}

  // What to print now for `line` of kind `kind`: nothing (held back), the line, or the count
  // of what was held back followed by the line.
  std::vector<std::string> pass(const std::string& kind, std::string line, Clock::time_point now = Clock::now());
  // One count line per kind that has lines held back; forgets kinds whose period is over.
  std::vector<std::string> flush(Clock::time_point now = Clock::now());
  // True when some line is held back (a flush() would print something).
  bool holding() const noexcept { return holding_ > 0; }

 private:
  struct Kind {
    Clock::time_point since;  // start of the current period
    std::size_t passed = 0;   // lines passed in it
    uint64_t held = 0;        // lines held back since the last count line
    std::string example;      // the first of them
  };
  static std::string count_line(const Kind& k);
  std::size_t burst_;
  Clock::duration period_;
  std::unordered_map<std::string, Kind> kinds_;
  std::size_t holding_ = 0;  // kinds with held > 0
};

}  // namespace pathtrace
