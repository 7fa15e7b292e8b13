#pragma once
// Spill: a run's sightings on disk when they outgrow the memory budget (ingest --memory).
//
//   reading threads ──Writer (a buffer per digest range)──▶ one file per range  (Partitions)
//   analyze(…, parts) ──load(range) → sort, group ──append_grouped, append_traversals──▶
//        the grouped sightings' file and the traversals' file
//        ──mapped shared (FileArray)──▶ rejudging, findings, the store: one pass each, in order,
//          letting the pages behind them go
//
// Every file is created in the directory given and unlinked at once: nothing is left behind,
// whatever happens to the process. A range is the top `bits` bits of the digest, so ranges
// follow digest order and a digest's sightings are all in one range.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "correlator/analysis/analysis.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::spill {

// An open, already unlinked file in `dir`, appended to by any number of threads.
class TempFile {
 public:
  // Throws Error(kDatabase) naming `dir` when it cannot be created.
  explicit TempFile(const std::string& dir);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  // Appends `bytes` whole (thread-safe); throws Error(kDatabase) naming the directory on a write
  // failure (a full disk).
  void append(std::span<const uint8_t> bytes);
  // Reads [offset, offset + out.size()); throws Error(kDatabase) on a failure or a short file.
  void read(uint64_t offset, std::span<uint8_t> out) const;
  uint64_t size() const noexcept { return size_.load(std::memory_order_acquire); }
  int fd() const noexcept { return fd_; }
  const std::string& dir() const noexcept { return dir_; }

 private:
  std::string dir_;
  int fd_ = -1;
  std::atomic<uint64_t> size_{0};
};

// Sightings split by digest range into one file each (SightingParts).
class Partitions final : public SightingParts {
 public:
  // 2^bits ranges (1 <= bits <= 10), their files in `dir`.
  Partitions(std::string dir, unsigned bits);
  ~Partitions() override;

  // One per writing thread: a buffer per range, written to its file when full.
  class Writer {
   public:
    explicit Writer(Partitions& parts);
    ~Writer();  // unwritten sightings are dropped: call flush() when done
    void add(const Sighting& s) {
      std::vector<Sighting>& b = buffers_[s.digest >> shift_];
      b.push_back(s);
      if (b.size() == kBuffer) [[unlikely]] write(unsigned(s.digest >> shift_));
    }
    void add(std::span<const Sighting> sightings) {
      for (const Sighting& s : sightings) add(s);
    }
    // Writes every buffer out.
    void flush();

   private:
    static constexpr std::size_t kBuffer = 1024;  // 24 KiB per range: 24 MiB at 1,024 ranges
    void write(unsigned part);
    Partitions& parts_;
    unsigned shift_;
    std::vector<std::vector<Sighting>> buffers_;
  };

  // Sightings are written with the chain index of the reading thread (shard) that read them,
  // tagged with the shard: shard_chain(shard, index). Reading threads may share a point (one
  // big file split between them), so the shard travels with each sighting.
  static constexpr unsigned kShardShift = 28;  // up to 16 shards of 2^28 chains each
  static constexpr uint32_t kChainMask = (uint32_t{1} << kShardShift) - 1;
  static constexpr uint32_t shard_chain(uint32_t shard, uint32_t chain) noexcept {
    return (shard << kShardShift) | chain;
  }
  // How the sightings written become the run's at load(): maps[shard] maps the chain indexes
  // of that shard's sightings to the run's (an entry beyond maps: kept as written). Until
  // called, chains are kept as written.
  void map_chains(std::vector<std::vector<uint32_t>> maps) { chain_maps_ = std::move(maps); }

  // Bytes written to the range files so far.
  uint64_t bytes() const noexcept;

  unsigned count() const noexcept override { return unsigned(files_.size()); }
  std::size_t size() const noexcept override { return std::size_t(bytes() / sizeof(Sighting)); }
  void load(unsigned part, std::vector<Sighting>& out) override;
  void shift_times(std::vector<int64_t> by_point) override { shift_ = std::move(by_point); }
  void append_grouped(std::span<const Sighting> grouped) override;
  std::shared_ptr<SightingFile> grouped() override;
  void append_traversals(std::span<const Traversal> traversals) override;
  std::shared_ptr<TraversalFile> traversals() override;
  std::unique_ptr<SightingParts> split_again(std::span<const Sighting> sightings) override;

 private:
  std::string dir_;
  unsigned bits_;
  std::vector<std::unique_ptr<TempFile>> files_;
  std::unique_ptr<TempFile> grouped_;
  std::unique_ptr<TempFile> traversals_;
  std::vector<std::vector<uint32_t>> chain_maps_;
  std::vector<int64_t> shift_;
};

// How many range bits split `sightings` so that one range and its sort buffer take about
// `range_bytes` (at least 1 bit, at most 10).
unsigned bits_for(uint64_t sightings, uint64_t range_bytes) noexcept;

}  // namespace pathtrace::spill
