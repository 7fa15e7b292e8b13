#include "correlator/spill/spill.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collector/common/error.hpp"

namespace pathtrace::spill {
namespace {

[[noreturn]] void fail(const std::string& dir, const std::string& what, int err) {
  throw Error(ExitCode::kDatabase, "temporary file in " + dir + ": " + what + ": " + std::strerror(err) +
                                       " (a run larger than --memory keeps its sightings there, next to the "
                                       "database: about 60 bytes per packet and point)");
}

// An array in a temporary file, mapped shared: writes go to the file (a translation renames
// digests, rejudging settles traversals again), and pages let go are read back from it.
template <class T>
class MappedArray final : public FileArray<T> {
 public:
  explicit MappedArray(std::unique_ptr<TempFile> file) : file_(std::move(file)) {
    bytes_ = std::size_t(file_->size());
    if (bytes_ == 0) return;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, file_->fd(), 0);
    if (p == MAP_FAILED) fail(file_->dir(), "map", errno);
    base_ = static_cast<T*>(p);
  }
  ~MappedArray() override {
    if (base_) munmap(base_, bytes_);
  }
  std::span<T> all() noexcept override { return {base_, bytes_ / sizeof(T)}; }
  void release_before(std::size_t index) noexcept override {
    constexpr std::size_t kStep = std::size_t{8} << 20;
    char* base = reinterpret_cast<char*>(base_);
    const std::size_t end = std::min(index * sizeof(T), bytes_);
    if (end < released_) released_ = 0;  // a new pass from the start
    if (end == bytes_) {                 // the whole file
      if (bytes_ > released_) madvise(base + released_, bytes_ - released_, MADV_DONTNEED);
      released_ = 0;
      return;
    }
    const std::size_t upto = end / kStep * kStep;
    if (upto >= released_ + kStep) {
      madvise(base + released_, upto - released_, MADV_DONTNEED);
      released_ = upto;
    }
  }

 private:
  std::unique_ptr<TempFile> file_;
  T* base_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t released_ = 0;
};

}  // namespace

TempFile::TempFile(const std::string& dir) : dir_(dir.empty() ? "." : dir) {
  fd_ = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A file system without O_TMPFILE: a named file, unlinked at once.
    std::string name = dir_ + "/.pathtrace-spill-XXXXXX";
    fd_ = mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(name.c_str());
  }
  if (fd_ < 0) fail(dir_, "create", errno);
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
}

void TempFile::append(std::span<const uint8_t> bytes) {
  // One writer at a time per file: the offset is reserved, then written with pwrite.
  const uint64_t at = size_.fetch_add(bytes.size(), std::memory_order_acq_rel);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, off_t(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(dir_, "write", n < 0 ? errno : ENOSPC);
    done += std::size_t(n);
  }
}

void TempFile::read(uint64_t offset, std::span<uint8_t> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(dir_, "read", n < 0 ? errno : EIO);
    done += std::size_t(n);
  }
}

Partitions::Partitions(std::string dir, unsigned bits) : dir_(std::move(dir)), bits_(std::clamp(bits, 1u, 10u)) {
  files_.reserve(std::size_t{1} << bits_);
  for (std::size_t i = 0; i < (std::size_t{1} << bits_); ++i) files_.push_back(std::make_unique<TempFile>(dir_));
}

Partitions::~Partitions() = default;

uint64_t Partitions::bytes() const noexcept {
  uint64_t n = 0;
  for (const auto& f : files_) n += f->size();
  return n;
}

Partitions::Writer::Writer(Partitions& parts)
    : parts_(parts), shift_(64 - parts.bits_), buffers_(parts.files_.size()) {}

Partitions::Writer::~Writer() = default;

void Partitions::Writer::write(unsigned part) {
  std::vector<Sighting>& b = buffers_[part];
  if (b.empty()) return;
  parts_.files_[part]->append({reinterpret_cast<const uint8_t*>(b.data()), b.size() * sizeof(Sighting)});
  if (b.capacity() < kBuffer) b.reserve(kBuffer);
  b.clear();
}

void Partitions::Writer::flush() {
  for (unsigned p = 0; p < buffers_.size(); ++p) write(p);
}

void Partitions::load(unsigned part, std::vector<Sighting>& out) {
  const TempFile& f = *files_.at(part);
  const std::size_t n = std::size_t(f.size() / sizeof(Sighting));
  out.resize(n);
  f.read(0, {reinterpret_cast<uint8_t*>(out.data()), n * sizeof(Sighting)});
  if (!chain_maps_.empty()) {
    for (Sighting& s : out) {
      const uint32_t m = s.chain >> kShardShift, c = s.chain & kChainMask;
      if (m < chain_maps_.size() && c < chain_maps_[m].size()) s.chain = chain_maps_[m][c];
    }
  }
  if (std::any_of(shift_.begin(), shift_.end(), [](int64_t v) { return v != 0; }))
    for (Sighting& s : out)
      if (s.point < shift_.size()) s.ts_ns -= shift_[s.point];
}

void Partitions::append_grouped(std::span<const Sighting> grouped) {
  if (!grouped_) grouped_ = std::make_unique<TempFile>(dir_);
  grouped_->append({reinterpret_cast<const uint8_t*>(grouped.data()), grouped.size_bytes()});
}

std::shared_ptr<SightingFile> Partitions::grouped() {
  if (!grouped_) grouped_ = std::make_unique<TempFile>(dir_);
  // The ranges are read: their files go now.
  for (auto& f : files_) f.reset();
  return std::make_shared<MappedArray<Sighting>>(std::move(grouped_));
}

void Partitions::append_traversals(std::span<const Traversal> traversals) {
  if (!traversals_) traversals_ = std::make_unique<TempFile>(dir_);
  traversals_->append({reinterpret_cast<const uint8_t*>(traversals.data()), traversals.size_bytes()});
}

std::shared_ptr<TraversalFile> Partitions::traversals() {
  if (!traversals_) traversals_ = std::make_unique<TempFile>(dir_);
  return std::make_shared<MappedArray<Traversal>>(std::move(traversals_));
}

std::unique_ptr<SightingParts> Partitions::split_again(std::span<const Sighting> sightings) {
  auto again = std::make_unique<Partitions>(dir_, bits_);
  Writer w(*again);
  w.add(sightings);
  w.flush();
  return again;
}

unsigned bits_for(uint64_t sightings, uint64_t range_bytes) noexcept {
  const uint64_t per_range = std::max<uint64_t>(1, range_bytes / (2 * sizeof(Sighting)));
  const uint64_t ranges = (sightings + per_range - 1) / per_range;
  return std::clamp(unsigned(std::bit_width(ranges > 1 ? ranges - 1 : 1)), 1u, 10u);
}

}  // namespace pathtrace::spill
