#pragma once
// For fuzz targets whose code under test reads a file by name (the pcap/pcapng Reader maps
// it, the inventory loader opens it): the input's bytes as a file, without touching the disk.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pathtrace::fuzz {

// One memory file (memfd) rewritten for every input; path() names it for open().
class MemoryFile {
 public:
  MemoryFile() : fd_(memfd_create("fuzz-input", MFD_CLOEXEC)) {
    if (fd_ < 0) __builtin_trap();
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemoryFile() { ::close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Makes the file hold exactly `size` bytes of `data`; returns its path.
  const std::string& hold(const uint8_t* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) __builtin_trap();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd_, data + done, size - done, off_t(done));
      if (n <= 0) __builtin_trap();
      done += std::size_t(n);
    }
    return path_;
  }

 private:
  int fd_;
  std::string path_;
};

// Traps when `ok` is false: a broken invariant is a finding.
inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace pathtrace::fuzz
