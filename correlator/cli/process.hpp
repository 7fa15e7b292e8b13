#pragma once
// A child process pathtrace starts and owns: a collector (`pathtrace collect`, later over
// ssh) or the user's `--traffic` command. Its stdin is a pipe we hold: closing it tells a
// collector to flush and stop. The destructor kills and reaps a child still running, so no
// capture is ever left behind.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace pathtrace::cli {

class Child {
 public:
  // Starts argv[0] (searched in PATH) with stdin from a pipe and stdout to /dev/null unless
  // `keep_stdout`. Throws Error(kInternal) if the process cannot be spawned at all.
  static Child spawn(const std::vector<std::string>& argv, bool keep_stdout = false);
  // Starts argv[0] like spawn(), with stdout and stderr to pipes whose read ends (close-on-
  // exec, owned by the caller) are stored in *stdout_fd and *stderr_fd. The child gets its own
  // process group, so a Ctrl-C at the terminal reaches pathtrace only, which then stops the
  // child in order (an ssh session: close its stdin, the remote side flushes and says BYE).
  static Child spawn_piped(const std::vector<std::string>& argv, int* stdout_fd, int* stderr_fd);
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  // Closes our end of the child's stdin (idempotent).
  void close_stdin() noexcept;
  // Writes one byte to the child's stdin if the last one is 2 s old (call it often): a remote
  // `pathtrace collect --heartbeat` stops when these stop arriving. Never blocks, never
  // raises SIGPIPE.
  void heartbeat() noexcept;
  // Reaps the child if it has exited; returns its exit code (128+N for signal N).
  std::optional<int> poll();
  // Waits up to `timeout` for the child to exit; returns its exit code, or nullopt.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // Sends a signal if the child is still running.
  void signal(int sig) noexcept;
  // The exit code once known.
  std::optional<int> exit_code() const noexcept { return code_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> code_;
  std::chrono::steady_clock::time_point last_beat_{};
  bool nonblocking_ = false;
};

// "/proc/self/exe" resolved: the path of this pathtrace binary.
std::string self_exe();

// Reads `fd` (a child's stderr) until EOF and calls `f` with each line, without its newline
// (the last one even when it has none; empty lines are skipped). Closes fd. For a thread.
void relay_lines(int fd, const std::function<void(const std::string&)>& f);

}  // namespace pathtrace::cli
