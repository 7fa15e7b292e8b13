#include "correlator/cli/process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "collector/common/error.hpp"

extern char** environ;

namespace pathtrace::cli {
namespace {
int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

Child Child::spawn(const std::vector<std::string>& argv, bool keep_stdout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(ExitCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  if (!keep_stdout) posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    throw Error(ExitCode::kInternal, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  Child c;
  c.pid_ = pid;
  c.stdin_fd_ = fds[1];
  return c;
}

Child Child::spawn_piped(const std::vector<std::string>& argv, int* stdout_fd, int* stderr_fd) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0)
    throw Error(ExitCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    throw Error(ExitCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    throw Error(ExitCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    throw Error(ExitCode::kInternal, "cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  *stdout_fd = out[0];
  *stderr_fd = err[0];
  Child c;
  c.pid_ = pid;
  c.stdin_fd_ = in[1];
  return c;
}

void Child::heartbeat() noexcept {
  if (stdin_fd_ < 0 || code_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_beat_ < std::chrono::seconds(2)) return;
  last_beat_ = now;
  if (!nonblocking_) {
    fcntl(stdin_fd_, F_SETFL, fcntl(stdin_fd_, F_GETFL) | O_NONBLOCK);
    nonblocking_ = true;
  }
  // A child that is gone makes write() raise SIGPIPE: block it here and take it back.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  if (::write(stdin_fd_, "\n", 1) < 0 && errno == EPIPE) {
    const timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Child::Child(Child&& o) noexcept
    : pid_(o.pid_), stdin_fd_(o.stdin_fd_), code_(o.code_), last_beat_(o.last_beat_),
      nonblocking_(o.nonblocking_) {
  o.pid_ = -1;
  o.stdin_fd_ = -1;
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    pid_ = o.pid_;
    stdin_fd_ = o.stdin_fd_;
    code_ = o.code_;
    last_beat_ = o.last_beat_;
    nonblocking_ = o.nonblocking_;
    o.pid_ = -1;
    o.stdin_fd_ = -1;
  }
  return *this;
}

Child::~Child() {
  close_stdin();
  if (pid_ > 0 && !code_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    if (waitpid(pid_, &st, 0) == pid_) code_ = decode(st);
  }
}

void Child::close_stdin() noexcept {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

std::optional<int> Child::poll() {
  if (code_ || pid_ <= 0) return code_;
  int st = 0;
  const pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) code_ = decode(st);
  return code_;
}

std::optional<int> Child::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return code_;
}

void Child::signal(int sig) noexcept {
  if (pid_ > 0 && !code_) ::kill(pid_, sig);
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "pathtrace";
  return std::string(buf, std::size_t(n));
}

void relay_lines(int fd, const std::function<void(const std::string&)>& f) {
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, std::size_t(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      if (nl) f(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) f(pending);
  ::close(fd);
}

}  // namespace pathtrace::cli
