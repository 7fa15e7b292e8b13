#include "correlator/cli/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "collector/common/error.hpp"

namespace pathtrace::cli {

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

void ProgressLines::draw(const std::vector<std::string>& lines) {
  if (terminal_ && drawn_) std::fprintf(out_, "\033[%zuF", drawn_);  // to the first line drawn
  for (const std::string& l : lines) std::fprintf(out_, terminal_ ? "\r\033[K%s\n" : "%s\n", l.c_str());
  if (terminal_ && lines.size() < drawn_) std::fputs("\033[J", out_);  // fewer lines than before
  drawn_ = lines.size();
  std::fflush(out_);
}

void ProgressLines::erase() {
  if (!terminal_ || !drawn_) return;
  std::fprintf(out_, "\033[%zuF\033[J", drawn_);
  drawn_ = 0;
  std::fflush(out_);
}

std::chrono::milliseconds progress_period(bool terminal) {
  if (const char* ms = std::getenv("PATHTRACE_PROGRESS_MS")) {
    char* end = nullptr;
    const long v = std::strtol(ms, &end, 10);
    if (end == ms || *end != '\0' || v < 0)
      throw Error(ExitCode::kUsage, std::string("PATHTRACE_PROGRESS_MS=") + ms + ": not a number of milliseconds");
    return std::chrono::milliseconds(v);
  }
  return std::chrono::milliseconds(terminal ? 500 : 5000);
}

Console& Console::err() {
  static Console c(stderr, ::isatty(STDERR_FILENO) != 0);
  return c;
}

void Console::line(const std::string& text) {
  std::lock_guard lk(m_);
  lines_.erase();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Console::show(const std::vector<std::string>& lines) {
  std::lock_guard lk(m_);
  lines_.draw(lines);
}

void Console::clear() {
  std::lock_guard lk(m_);
  lines_.erase();
}

}  // namespace pathtrace::cli
