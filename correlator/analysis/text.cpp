// Text: the formatting helpers every sentence of the analysis uses (text.hpp), and
// point_text(), how verdicts name a point (analysis.hpp). No state, no I/O.

#include "correlator/analysis/text.hpp"

#include <cstdio>

#include "correlator/analysis/analysis.hpp"

namespace pathtrace {

std::string point_text(const Point& p) {
  std::string inner = p.role;
  if (!p.iface.empty()) {
    if (!inner.empty()) inner += ' ';
    inner += p.iface;
  }
  return inner.empty() ? p.label : p.label + " (" + inner + ")";
}

namespace text {

std::string u64(uint64_t v) { return std::to_string(v); }

std::string pct_text(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  if (part == whole) return "100%";
  if (part == 0) return "0%";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * double(part) / double(whole));
  return buf;
}

std::string seconds_text(int64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f s", double(ns) / 1e9);
  return buf;
}

std::string duration_text(int64_t ns) {
  char buf[64];
  const double a = double(ns < 0 ? -ns : ns);
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.3f s", a / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.3f ms", a / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1f µs", a / 1e3);
  return buf;
}

std::string tcp_flags_text(uint8_t flags) {
  static constexpr struct {
    uint8_t bit;
    const char* name;
  } kNames[] = {{0x02, "SYN"}, {0x01, "FIN"}, {0x04, "RST"}, {0x08, "PSH"}, {0x10, "ACK"}, {0x20, "URG"}};
  std::string out;
  for (const auto& n : kNames) {
    if (flags & n.bit) {
      if (!out.empty()) out += '-';
      out += n.name;
    }
  }
  return out.empty() ? "without flags" : out;
}

}  // namespace text
}  // namespace pathtrace
