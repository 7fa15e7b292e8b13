#pragma once
// File descriptors that close themselves: UniqueFd owns one descriptor (closed in its
// destructor, movable, never copied); make_pipe() returns both ends of a close-on-exec pipe.
// Every pipe and child process pathtrace makes goes through these, so no error path has to
// close descriptors by hand.

#include <unistd.h>

#include <utility>

namespace pathtrace {

// Owns one file descriptor (-1: none).
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the descriptor held (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Both ends of a pipe.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// A pipe whose ends are close-on-exec. Throws Error(kInternal) "pipe: <why>" when the
// process is out of descriptors.
Pipe make_pipe();

}  // namespace pathtrace
