#pragma once
// Child processes: the one way pathtrace starts a program (a local collector, ssh, tcpdump
// over ssh, the user's --traffic command, the read-only listings of discover and explain).
//
//   Child::spawn(argv, {stdin, stdout, stderr, own group}) ── posix_spawnp ──▶ child
//        each stream: inherited, /dev/null, or a pipe whose other end the Child hands out
//   run_command(argv) ── spawn, read stdout and stderr to the end, reap ──▶ CommandResult
//
// Descriptors are UniqueFds: nothing is closed by hand. The destructor kills and reaps a
// child still running, so no capture is ever left behind.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "collector/common/fd.hpp"

namespace pathtrace {

// Where one of a child's standard streams goes.
enum class Stdio : uint8_t {
  kInherit,  // ours
  kNull,     // /dev/null
  kPipe,     // a pipe: we hold the other end
};

struct SpawnOptions {
  Stdio in = Stdio::kPipe;    // a pipe: closing it tells a collector to flush and stop
  Stdio out = Stdio::kNull;
  Stdio err = Stdio::kInherit;
  // The child gets its own process group, so a Ctrl-C at the terminal reaches pathtrace
  // only, which then stops the child in order (close its stdin: it flushes and says BYE).
  bool own_process_group = false;
};

// The exit code a shell would show for a waitpid() status: the code, or 128+N for signal N.
int exit_code_of(int wait_status) noexcept;

class Child {
 public:
  // Starts argv[0] (searched in PATH) with its streams as `opt` says. Throws Error(kInternal)
  // "cannot start ARGV0: why" if it cannot be spawned (kCapture when the program is not found).
  static Child spawn(const std::vector<std::string>& argv, const SpawnOptions& opt = {});
  Child() = default;
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  ~Child();

  pid_t pid() const noexcept { return pid_; }
  // Our ends of the child's stdout/stderr pipes (Stdio::kPipe), handed over once (then empty).
  UniqueFd take_stdout() noexcept { return std::move(stdout_); }
  UniqueFd take_stderr() noexcept { return std::move(stderr_); }
  // Closes our end of the child's stdin (idempotent).
  void close_stdin() noexcept { stdin_.reset(); }
  // Writes one byte to the child's stdin if the last one is 2 s old (call it often): a remote
  // `pathtrace collect --heartbeat` stops when these stop arriving. Never blocks, never
  // raises SIGPIPE.
  void heartbeat() noexcept;
  // Reaps the child if it has exited; returns its exit code (128+N for signal N).
  std::optional<int> poll();
  // Waits up to `timeout` for the child to exit; returns its exit code, or nullopt.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // Waits for the child to exit and returns its exit code.
  int wait();
  // Sends a signal if the child is still running.
  void signal(int sig) noexcept;
  // The exit code once known.
  std::optional<int> exit_code() const noexcept { return code_; }

 private:
  pid_t pid_ = -1;
  UniqueFd stdin_, stdout_, stderr_;
  std::optional<int> code_;
  std::chrono::steady_clock::time_point last_beat_{};
  bool nonblocking_ = false;
};

// What a finished command printed and how it ended.
struct CommandResult {
  int exit_code = -1;  // 128+N for signal N
  std::string out;
  std::string err;
};

// Runs argv (argv[0] searched in PATH) without a shell, stdin from /dev/null, and collects
// stdout and stderr. Throws Error(kCapture) "TOOL not found in PATH" when argv[0] cannot be
// found, Error(kInternal) when the process cannot be spawned for another reason.
CommandResult run_command(const std::vector<std::string>& argv);

// True when `tool` is an executable file in one of PATH's folders (or, with a '/', that file).
bool have_tool(std::string_view tool);

// "/proc/self/exe" resolved: the path of this pathtrace binary.
std::string self_exe();

// Reads `fd` (a child's stderr) until EOF and calls `f` with each line, without its newline
// (or CRLF), escaped for printing (escape_text: another program's bytes, perhaps a remote
// host's, never reach the terminal raw); the last line even when it has none; empty lines
// are skipped. Closes fd. For a thread.
void relay_lines(UniqueFd fd, const std::function<void(const std::string&)>& f);

}  // namespace pathtrace
