#include "collector/common/console.hpp"

#include <unistd.h>

#include <cstdlib>

#include "collector/common/error.hpp"

namespace pathtrace {

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

}  // namespace pathtrace
