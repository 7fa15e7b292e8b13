#include "correlator/pipeline/progress.hpp"

#include <algorithm>

namespace pathtrace::pipeline {

PointCounts counts_of(const PointProgress& p, int64_t now_ns) {
  PointCounts c;
  const int64_t start = p.start_ns.load(std::memory_order_relaxed);
  const int64_t end = p.end_ns.load(std::memory_order_relaxed);
  c.packets = p.packets.load(std::memory_order_relaxed);
  c.discarded = p.discarded.load(std::memory_order_relaxed);
  c.dropped = p.dropped.load(std::memory_order_relaxed);
  const uint64_t size = p.size.load(std::memory_order_relaxed);
  if (size) {
    const uint64_t at = std::min(p.position.load(std::memory_order_relaxed), size);
    c.percent = int(at * 100 / size);
  }
  c.state = start == 0 ? PointCounts::State::kWaiting
            : end == 0 ? PointCounts::State::kRunning
                       : PointCounts::State::kDone;
  const int64_t until = end ? end : now_ns;
  if (start && until > start) c.rate = double(c.packets) * 1e9 / double(until - start);
  return c;
}

std::string rate_text(double r) {
  char buf[32];
  if (r >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M/s", r / 1e6);
  } else if (r >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1f k/s", r / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f/s", r);
  }
  return buf;
}

std::string point_progress_line(const std::string& name, const PointCounts& c) {
  if (c.state == PointCounts::State::kWaiting) return name + ": waiting";
  std::string s = name + ": " + std::to_string(c.packets) + " packets";
  if (c.percent >= 0) s += " (" + std::to_string(c.percent) + "%)";
  s += ", " + rate_text(c.rate);
  if (c.discarded) s += ", " + std::to_string(c.discarded) + " discarded";
  if (c.dropped) s += ", " + std::to_string(c.dropped) + " dropped";
  if (c.state == PointCounts::State::kDone) s += ", done";
  return s;
}

}  // namespace pathtrace::pipeline
