#pragma once
// The process's stderr as a shared console: log lines from any thread and one set of progress
// lines that is redrawn in place on a terminal (appended as plain lines otherwise), so that a
// log line never draws over the progress and the progress never hides a log line.
//
//   any thread ──line()──▶ ┐
//                          ├─ mutex ─▶ stderr
//   progress ────show()──▶ ┘

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace pathtrace {

// Draws a set of lines on `out`. On a terminal each draw() replaces the previous set in place
// (cursor back up over it, each line rewritten after "\r\033[K") and erase() removes it;
// otherwise draw() appends the lines and erase() does nothing.
class ProgressLines {
 public:
  ProgressLines(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}
  ~ProgressLines() { erase(); }
  ProgressLines(const ProgressLines&) = delete;
  ProgressLines& operator=(const ProgressLines&) = delete;

  void draw(const std::vector<std::string>& lines);
  void erase();

 private:
  std::FILE* out_;
  bool terminal_;
  std::size_t drawn_ = 0;  // lines on the terminal from the last draw()
};

// How often progress is drawn: every 0.5 s on a terminal, every 5 s otherwise; the environment
// variable PATHTRACE_PROGRESS_MS sets it in milliseconds (for tests, docs/cli.md). Throws
// Error(kUsage) when that is not a number of milliseconds.
std::chrono::milliseconds progress_period(bool terminal);

// The process's stderr, shared by one set of progress lines and the log lines any thread
// writes (correlator sessions, relayed collector and ssh messages): a log line first erases
// the progress lines, so on a terminal nothing is drawn over, and the next show() draws them
// again below it. Thread-safe.
//
//   any thread ──line()──▶ ┐
//                          ├─ mutex ─▶ stderr
//   progress ────show()──▶ ┘
class Console {
 public:
  // The one for stderr (in place when stderr is a terminal).
  static Console& err();
  // Writes one log line (a newline is added).
  void line(const std::string& text);
  // Draws the progress lines (in place on a terminal, appended otherwise).
  void show(const std::vector<std::string>& lines);
  // Erases the progress lines (a terminal; nothing otherwise).
  void clear();
  bool terminal() const noexcept { return terminal_; }

 private:
  explicit Console(std::FILE* out, bool terminal) : out_(out), terminal_(terminal), lines_(out, terminal) {}
  std::mutex m_;
  std::FILE* out_;
  bool terminal_;
  ProgressLines lines_;
};

}  // namespace pathtrace
