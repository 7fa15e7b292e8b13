#include "collector/common/process.hpp"

#include "collector/common/log_text.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "collector/common/error.hpp"

extern char** environ;

namespace pathtrace {

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(ExitCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int exit_code_of(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

namespace {

// posix_spawn's file actions and attributes, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

Child Child::spawn(const std::vector<std::string>& argv, const SpawnOptions& opt) {
  if (argv.empty()) throw Error(ExitCode::kInternal, "spawn: empty argv");
  SpawnSetup s;
  // The child's ends are dup2'ed onto 0/1/2 and closed here once it runs (close-on-exec keeps
  // them out of the child otherwise); our ends stay in the Child.
  Pipe pipes[3];
  const Stdio kinds[3] = {opt.in, opt.out, opt.err};
  for (int fd = 0; fd < 3; ++fd) {
    switch (kinds[fd]) {
      case Stdio::kInherit:
        break;
      case Stdio::kNull:
        posix_spawn_file_actions_addopen(&s.fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
        break;
      case Stdio::kPipe:
        pipes[fd] = make_pipe();
        posix_spawn_file_actions_adddup2(&s.fa, (fd == 0 ? pipes[fd].read : pipes[fd].write).get(), fd);
        break;
    }
  }
  if (opt.own_process_group) {
    posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&s.attr, 0);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &s.fa, &s.attr, args.data(), environ);
  if (rc != 0)
    throw Error(rc == ENOENT ? ExitCode::kCapture : ExitCode::kInternal,
                "cannot start " + argv[0] + ": " + std::strerror(rc));
  Child c;
  c.pid_ = pid;
  c.stdin_ = std::move(pipes[0].write);
  c.stdout_ = std::move(pipes[1].read);
  c.stderr_ = std::move(pipes[2].read);
  return c;
}

void Child::heartbeat() noexcept {
  if (!stdin_ || code_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_beat_ < std::chrono::seconds(2)) return;
  last_beat_ = now;
  if (!nonblocking_) {
    fcntl(stdin_.get(), F_SETFL, fcntl(stdin_.get(), F_GETFL) | O_NONBLOCK);
    nonblocking_ = true;
  }
  // A child that is gone makes write() raise SIGPIPE: block it here and take it back.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  if (::write(stdin_.get(), "\n", 1) < 0 && errno == EPIPE) {
    const timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), stdin_(std::move(o.stdin_)), stdout_(std::move(o.stdout_)),
      stderr_(std::move(o.stderr_)), code_(o.code_), last_beat_(o.last_beat_),
      nonblocking_(o.nonblocking_) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    new (this) Child(std::move(o));
  }
  return *this;
}

Child::~Child() {
  close_stdin();
  if (pid_ > 0 && !code_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

std::optional<int> Child::poll() {
  if (code_ || pid_ <= 0) return code_;
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) code_ = exit_code_of(st);
  return code_;
}

int Child::wait() {
  if (code_ || pid_ <= 0) return code_.value_or(-1);
  int st = 0;
  pid_t r;
  while ((r = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
  }
  code_ = r == pid_ ? exit_code_of(st) : -1;
  return *code_;
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

bool have_tool(std::string_view tool) {
  if (tool.find('/') != std::string_view::npos) return access(std::string(tool).c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  while (true) {
    const auto colon = rest.find(':');
    const std::string_view entry = rest.substr(0, colon);
    const std::string dir(entry.empty() ? std::string_view(".") : entry);
    const std::string file = dir + "/" + std::string(tool);
    struct stat st {};
    if (stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(file.c_str(), X_OK) == 0)
      return true;
    if (colon == std::string_view::npos) return false;
    rest.remove_prefix(colon + 1);
  }
}

CommandResult run_command(const std::vector<std::string>& argv) {
  if (argv.empty()) throw Error(ExitCode::kInternal, "run_command: empty argv");
  if (!have_tool(argv[0])) throw Error(ExitCode::kCapture, argv[0] + " not found in PATH");
  Child child = Child::spawn(argv, SpawnOptions{Stdio::kNull, Stdio::kPipe, Stdio::kPipe, false});
  UniqueFd out = child.take_stdout(), err = child.take_stderr();
  CommandResult r;
  pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
  UniqueFd* owners[2] = {&out, &err};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        owners[i]->reset();
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  r.exit_code = child.wait();
  return r;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "pathtrace";
  return std::string(buf, std::size_t(n));
}

void relay_lines(UniqueFd fd, const std::function<void(const std::string&)>& f) {
  // A line as it may be printed: without a CRLF's CR, escaped (it comes from another program).
  const auto emit = [&f](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) f(escape_text(line));
  };
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, std::size_t(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      emit(std::string_view(pending).substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  emit(pending);
}

}  // namespace pathtrace
