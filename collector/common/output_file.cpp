// Output files (output_file.hpp): create exclusively, write aside, rename into place.

#include "collector/common/output_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "collector/common/error.hpp"

namespace pathtrace {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ExitCode::kUsage, path + ": " + what);
}

std::string exists_text() { return "exists (--force replaces it)"; }

// A name beside `path` that nothing has yet: PATH.ptXXXXXX.
std::string temp_name(const std::string& path, unsigned n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s = path + ".pt";
  for (int i = 0; i < 6; ++i) {
    s += kChars[n % 36];
    n /= 36;
  }
  return s;
}

}  // namespace

UniqueFd create_new_file(const std::string& path) noexcept {
  return UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
}

void check_output_path(const std::string& path, Existing existing) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) fail(path, "is a directory");
  if (existing == Existing::kRefuse) fail(path, exists_text());
}

OutputFile::OutputFile(std::string path, Existing existing) : path_(std::move(path)), existing_(existing) {
  check_output_path(path_, existing_);
  std::random_device rd;
  UniqueFd fd;
  for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
    temp_ = temp_name(path_, rd());
    fd = create_new_file(temp_);
    if (!fd && errno != EEXIST) fail(path_, std::string("cannot create: ") + std::strerror(errno));
  }
  if (!fd) fail(path_, "cannot create: no free temporary name beside it");
  f_ = ::fdopen(fd.get(), "wb");
  if (!f_) {
    const int e = errno;
    ::unlink(temp_.c_str());
    fail(path_, std::string("cannot create: ") + std::strerror(e));
  }
  (void)fd.release();  // the stream owns it now
}

OutputFile::~OutputFile() {
  if (f_) std::fclose(f_);
  if (!committed_) ::unlink(temp_.c_str());
}

void OutputFile::commit() {
  if (committed_) return;
  int err = 0;
  if (std::fflush(f_) != 0 || std::ferror(f_)) err = errno ? errno : EIO;
  if (!err && ::fsync(::fileno(f_)) != 0) err = errno;
  if (std::fclose(f_) != 0 && !err) err = errno;
  f_ = nullptr;
  if (err) fail(path_, std::string("cannot write: ") + std::strerror(err));
  if (existing_ == Existing::kReplace) {
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
      fail(path_, std::string("cannot write: ") + std::strerror(errno));
  } else if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
    // A file system without RENAME_NOREPLACE: link() refuses an existing name as well.
    if (errno != EINVAL && errno != ENOSYS) {
      fail(path_, errno == EEXIST ? exists_text() : std::string("cannot write: ") + std::strerror(errno));
    }
    if (::link(temp_.c_str(), path_.c_str()) != 0)
      fail(path_, errno == EEXIST ? exists_text() : std::string("cannot write: ") + std::strerror(errno));
    ::unlink(temp_.c_str());
  }
  committed_ = true;
}

}  // namespace pathtrace
