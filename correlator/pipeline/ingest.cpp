#include "correlator/pipeline/ingest.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <time.h>

#include <xxhash.h>

#include "collector/common/console.hpp"
#include "collector/common/permute.hpp"
#include "collector/common/error.hpp"
#include "collector/packet/accounting.hpp"
#include "collector/pcapfile/capture.hpp"
#include "collector/capture/packet_filter.hpp"
#include "correlator/analysis/sort.hpp"
#include "correlator/pipeline/progress.hpp"
#include "correlator/spill/spill.hpp"

namespace pathtrace::pipeline {
namespace {

// Interns chains by chain_hash (64-bit; a collision between two of a run's chains — up to
// millions of them on a busy hypervisor port, where every flow is a chain — is about as likely
// as 1 in 10^7 at a million). The table is looked up once per packet while gigabytes of packet
// data stream through the cache, so a look-up is one slot that holds the whole hash and, beside
// it, the chain's index: both loaded ahead of time (prefetch), no third array to check against.
class ChainTable {
 public:
  // The index of p's chain, whose chain_hash is `h`; added on first sight.
  uint32_t intern(const packet::Parsed& p, uint64_t h) {
    const auto [i, found] = slot(h);
    if (found) return ids_[i] - 1;
    Chain c;
    std::string text = packet::stack_string(p);
    auto [known, added] = stacks_.try_emplace(std::move(text));
    if (added) known->second = StackText(known->first);  // the process-wide copy, once per thread
    c.stack = known->second;
    c.ip.assign(p.ip.begin(), p.ip.begin() + p.n_ip);
    return add(i, h, std::move(c));
  }
  // The index of the chain whose chain_hash is `h`: another table's `c`, moved in if it is new.
  uint32_t adopt(uint64_t h, Chain& c) {
    const auto [i, found] = slot(h);
    return found ? ids_[i] - 1 : add(i, h, std::move(c));
  }
  // Starts loading where intern(…, h) will look (see read_frames).
  void prefetch(uint64_t h) const noexcept {
    if (size_ == 0) return;
    const std::size_t i = h & (size_ - 1);
    __builtin_prefetch(hashes_.get() + i);
    __builtin_prefetch(ids_.get() + i);
  }
  std::vector<Chain>& chains() { return chains_; }
  // Calls f(index, hash) for every chain, in no particular order.
  template <class F>
  void each_hash(F&& f) const {
    for (std::size_t i = 0; i < size_; ++i)
      if (ids_[i] != 0) f(ids_[i] - 1, hashes_[i]);
  }
  // Its chains were merged (moved out): the table goes too.
  void clear() {
    chains_ = {};
    hashes_.reset();
    ids_.reset();
    size_ = 0;
  }

 private:
  // Where `h` is (true) or would go (false).
  std::pair<std::size_t, bool> slot(uint64_t h) {
    if (4 * (chains_.size() + 1) > 3 * size_) grow();  // at most three quarters full
    const std::size_t mask = size_ - 1;
    std::size_t i = h & mask;
    for (; ids_[i] != 0; i = (i + 1) & mask)
      if (hashes_[i] == h) return {i, true};
    return {i, false};
  }
  uint32_t add(std::size_t i, uint64_t h, Chain&& c) {
    if (chains_.size() > spill::Partitions::kChainMask) [[unlikely]]
      throw Error(ExitCode::kInput, "more than " + std::to_string(spill::Partitions::kChainMask + 1) +
                                        " distinct layer stacks and flows read by one thread: split the capture");
    const auto index = uint32_t(chains_.size());
    hashes_[i] = h;
    ids_[i] = index + 1;
    chains_.push_back(std::move(c));
    return index;
  }
  // Twice the slots, rehashed. Big tables ask for huge pages before their first touch: every
  // look-up lands on a random page, and a TLB miss costs as much as the cache miss.
  void grow() {
    const std::size_t size = std::max<std::size_t>(1024, size_ * 2);
    std::unique_ptr<uint64_t[]> hashes(new uint64_t[size]);
    std::unique_ptr<uint32_t[]> ids(new uint32_t[size]);
    advise_huge(hashes.get(), size * sizeof(uint64_t));
    advise_huge(ids.get(), size * sizeof(uint32_t));
    std::fill_n(ids.get(), size, 0u);
    const std::size_t mask = size - 1;
    for (std::size_t k = 0; k < size_; ++k) {
      if (ids_[k] == 0) continue;
      std::size_t i = hashes_[k] & mask;
      while (ids[i] != 0) i = (i + 1) & mask;
      hashes[i] = hashes_[k];
      ids[i] = ids_[k];
    }
    hashes_ = std::move(hashes);
    ids_ = std::move(ids);
    size_ = size;
  }
  // Open addressing: slot i holds a chain's hash and its index + 1 (0: empty).
  std::unique_ptr<uint64_t[]> hashes_;
  std::unique_ptr<uint32_t[]> ids_;
  std::size_t size_ = 0;
  std::vector<Chain> chains_;
  std::unordered_map<std::string, StackText> stacks_;  // this thread's: no lock per chain
};

// What one reading thread produces for the points (or chunks of a point's file) it was given.
struct Shard {
  uint32_t index = 0;  // which reading thread's
  ChainTable chains;
  std::vector<Sighting> sightings;
  std::unique_ptr<spill::Partitions::Writer> writer;  // once the run spills: sightings go here instead
  KeptFrames kept;  // --keep-bytes: one frame per sighting

  void add(const Sighting& s) {
    if (writer) [[unlikely]] {
      Sighting tagged = s;  // another thread may read the same point: the chain says whose it is
      tagged.chain = spill::Partitions::shard_chain(index, s.chain);
      writer->add(tagged);
    } else {
      sightings.push_back(s);
    }
  }
  // From now on into `parts`, with what is in memory so far.
  void spill_to(spill::Partitions& parts) {
    if (writer) return;
    writer = std::make_unique<spill::Partitions::Writer>(parts);
    for (Sighting s : sightings) {
      s.chain = spill::Partitions::shard_chain(index, s.chain);
      writer->add(s);
    }
    std::vector<Sighting>().swap(sightings);
  }
};

// The memory budget of a run's sightings (IngestOptions::memory): once the reading threads
// together hold more than it allows, every thread's sightings go to files by digest range
// (spill.hpp), and the analysis takes them one range at a time.
class SpillGate {
 public:
  // `sizes_known`: every point's files have a size (not standard input).
  SpillGate(const IngestOptions& opt, std::uintmax_t total_bytes, bool sizes_known)
      : dir_(opt.spill_dir), total_bytes_(total_bytes), sizes_known_(sizes_known),
        // In memory: the sightings and the sort's second buffer of as many.
        limit_(opt.memory ? opt.memory / (2 * sizeof(Sighting)) : ~uint64_t{0}),
        // Two ranges (the one being settled, and the next one, loaded and split meanwhile on the
        // second core) with their sort buffers take a sixteenth of the budget: what grows while
        // grouping is the flows' state.
        range_bytes_(std::max<uint64_t>(opt.memory / 32, 1 << 20)) {}
  // Every this many sightings a reading thread reports here (a power of two).
  static constexpr uint64_t kEvery = 1 << 16;
  // A thread read `sightings` more sightings from `bytes` more bytes of its files: past the
  // budget, the run spills (every thread moves to the files at its next report).
  void report(Shard& shard, uint64_t sightings, uint64_t bytes) {
    const uint64_t n = sightings_.fetch_add(sightings, std::memory_order_relaxed) + sightings;
    const uint64_t b = bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (!on_.load(std::memory_order_acquire) && n > limit_) start(n, b);
    if (on_.load(std::memory_order_acquire)) shard.spill_to(*parts_);
  }
  // The ranges, when the run spilled (after the reading threads are done).
  spill::Partitions* parts() const noexcept { return on_.load(std::memory_order_acquire) ? parts_.get() : nullptr; }
  std::unique_ptr<spill::Partitions> take() { return std::move(parts_); }

 private:
  void start(uint64_t n, uint64_t b) {
    std::lock_guard lock(m_);
    if (parts_) return;
    // The whole run's sightings, guessed from how many the bytes read so far held.
    uint64_t guess = b ? uint64_t(double(n) * double(std::max<std::uintmax_t>(total_bytes_, b)) / double(b)) : n;
    if (!sizes_known_) guess *= 8;  // standard input: no size to go by, so room for more
    parts_ = std::make_unique<spill::Partitions>(dir_, spill::bits_for(guess + guess / 4, range_bytes_));
    on_.store(true, std::memory_order_release);
  }
  const std::string dir_;
  const std::uintmax_t total_bytes_;
  const bool sizes_known_;
  const uint64_t limit_;
  const uint64_t range_bytes_;
  std::atomic<uint64_t> sightings_{0}, bytes_{0};
  std::atomic<bool> on_{false};
  std::mutex m_;
  std::unique_ptr<spill::Partitions> parts_;
};

// KeptFrame::offset is 32-bit: the bytes kept in one run stay below 4 GiB.
constexpr std::size_t kMaxKeptData = 0xffffffffu;

[[noreturn]] void too_many_kept_bytes(std::size_t keep) {
  throw Error(ExitCode::kUsage, "--keep-bytes " + std::to_string(keep) +
                                    ": the kept frames would exceed 4 GiB; keep fewer bytes, "
                                    "or a narrower --filter");
}

// Progress counters are published every this many packets (a power of two).
constexpr uint64_t kProgressEvery = 4096;

// The wall clock and the process's CPU time (all threads) at one moment.
struct Stamp {
  int64_t wall_ns = 0;
  int64_t cpu_ns = 0;
  static Stamp now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return {std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now().time_since_epoch()).count(),
            int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec};
  }
  // The phase from `a` to this stamp.
  IngestTimings::Phase since(const Stamp& a) const {
    return {double(wall_ns - a.wall_ns) / 1e9, double(cpu_ns - a.cpu_ns) / 1e9};
  }
};

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One reading's counters added into its point's progress as it goes (relaxed: only a display
// reads them): the chunks of a point's file, read on several threads, add up.
class ProgressFeed {
 public:
  explicit ProgressFeed(PointProgress* p) : p_(p) {}
  // The point is being read from now on (its first reading to start says so; its size is known).
  void start() {
    if (int64_t zero = 0; p_) p_->start_ns.compare_exchange_strong(zero, steady_ns(), std::memory_order_relaxed);
  }
  void publish(const packet::FrameCounts& c, std::size_t position) {
    if (!p_) return;
    add(p_->packets, c.packets, packets_);
    add(p_->discarded, c.all_discards(), discarded_);
    add(p_->position, position, position_);
  }

 private:
  static void add(std::atomic<uint64_t>& to, uint64_t now, uint64_t& last) {
    if (now > last) to.fetch_add(now - last, std::memory_order_relaxed);
    last = now;
  }
  PointProgress* p_;
  uint64_t packets_ = 0, discarded_ = 0, position_ = 0;
};

// Frames that did not parse as IP, kept aside (a few) to see whether they parse under another
// link type than the file says: a capture written with the wrong link type is a capture
// problem to name, not traffic that vanished.
class LinkProbe {
 public:
  void keep(std::span<const uint8_t> frame, uint32_t wire_len, uint32_t linktype) {
    if (frames_.size() >= kFrames) return;
    frames_.push_back({std::vector<uint8_t>(frame.begin(), frame.begin() + std::min<std::size_t>(frame.size(), 256)),
                       wire_len});
    linktype_ = linktype;
  }
  // Another reading's frames of the same point (a chunk of its file), up to the limit.
  void merge(const LinkProbe& other) {
    for (const Frame& f : other.frames_) {
      if (frames_.size() >= kFrames) break;
      frames_.push_back(f);
      linktype_ = other.linktype_;
    }
  }
  // When most kept frames parse under one other link type, marks the point's capture unusable
  // (HealthProblem::kLinkType) and says which.
  void judge(Point& pt, const packet::Options& parse) const {
    if (frames_.size() < 4) return;
    static constexpr std::pair<packet::LinkType, const char*> kTypes[] = {
        {packet::LinkType::kEthernet, "Ethernet (1)"}, {packet::LinkType::kRaw, "raw IP (101)"},
        {packet::LinkType::kLinuxSll, "Linux cooked v1 (113)"}, {packet::LinkType::kLinuxSll2, "Linux cooked v2 (276)"}};
    packet::Parsed p;
    for (const auto& [type, type_name] : kTypes) {
      if (uint32_t(type) == linktype_) continue;
      std::size_t ok = 0;
      for (const Frame& f : frames_) ok += packet::parse(f.bytes, f.wire_len, type, parse, p) == packet::Status::kOk;
      if (ok * 5 >= frames_.size() * 4) {
        pt.health.usable = false;
        pt.health.problem = HealthProblem::kLinkType;
        pt.health.detail = "the file says link type " + std::to_string(linktype_) + " but its frames parse as " +
                           type_name + ": " + std::to_string(pt.digested) + " of " + std::to_string(pt.packets) +
                           " frames could be read as written. Rewrite its link type (editcap -T) or capture again";
        return;
      }
    }
  }

 private:
  static constexpr std::size_t kFrames = 32;
  struct Frame {
    std::vector<uint8_t> bytes;
    uint32_t wire_len = 0;
  };
  std::vector<Frame> frames_;
  uint32_t linktype_ = 0;
};

// What one reading of a point's capture counted: the whole capture, or one chunk of a big
// file split between the reading threads. Added into the point once every part is read.
struct PointPart {
  packet::FrameCounts counts;
  int64_t first_frame_ns = 0, last_frame_ns = 0;  // of any frame, when counts.packets > 0
  LinkProbe probe;
  // A chunk: the byte its reader stopped at (the next chunk's first record, when the split was
  // right), the records it read, whether the file ended cut short inside its last record,
  // whether the chunk could be read alone (Reader::range_clean), the file's interfaces and
  // the statistics blocks in the chunk (pcapng).
  std::size_t stopped_at = 0;
  uint64_t records = 0;
  bool cut = false;
  bool clean = true;
  std::vector<pcapfile::InterfaceInfo> interfaces;
  std::vector<pcapfile::InterfaceStats> stats;
  std::exception_ptr error;
};

// What a capture's statistics blocks say, into its point: the capture's own window and drops,
// when the writer said (a window the inventory stated wins; --window is applied after
// reading, and wins too), and the snaplen.
void apply_capture_stats(Point& pt, uint32_t snaplen, const pcapfile::CaptureStats& st) {
  pt.snaplen = snaplen;
  if (st.start_ns && st.end_ns && !pt.window_known) {
    pt.start_ns = *st.start_ns;
    pt.end_ns = *st.end_ns;
    pt.window_known = true;
  }
  pt.if_drop += st.if_drop;
  pt.pcap_drop += st.os_drop;
}

// A chunk's Reader as read_frames() reads a Capture.
struct ChunkSource {
  pcapfile::Reader& reader;
  const std::string& path;
  bool next(pcapfile::Packet& out) { return reader.next(out); }
  std::size_t position() const noexcept { return reader.position(); }
  const std::string& file() const noexcept { return path; }
};

// Reads the frames of `reader` (a point's Capture, or a ChunkSource) into `shard`, counting
// them in `part`; `base` is the reader's position() at its first frame.
template <class Source>
void read_frames(Source& reader, const Point& pt, const IngestOptions& opt, capture::PacketFilter& filter,
                 Shard& shard, SpillGate& gate, ProgressFeed& feed, std::size_t base, PointPart& part) {
  const std::size_t keep = opt.keep_bytes;
  pcapfile::Packet pkt;
  // A sighting's chain is interned kAhead - 1 kept packets later, once the table slot it needs
  // (on a busy port a table of megabytes, a cache miss per packet) has been loaded: parsed[cur]
  // is the packet being read, the others wait in the order they were read.
  constexpr unsigned kAhead = 4;
  packet::Parsed parsed_ring[kAhead];
  struct Pending {
    Sighting sighting;
    uint64_t hash = 0;
    bool live = false;
  } pending[kAhead];
  unsigned cur = 0;
  uint64_t since_report = 0, reported_at = 0;  // sightings since the last report to `gate`, and the position then
  auto settle = [&](unsigned k) {
    if (!pending[k].live) return;
    pending[k].sighting.chain = shard.chains.intern(parsed_ring[k], pending[k].hash);
    shard.add(pending[k].sighting);
    pending[k].live = false;
    if (++since_report == SpillGate::kEvery) [[unlikely]] {
      const uint64_t at = reader.position() - base;
      gate.report(shard, since_report, at - reported_at);
      since_report = 0;
      reported_at = at;
    }
  };
  packet::FrameCounts& counts = part.counts;
  uint32_t checked_link = ~0u;
  while (reader.next(pkt)) {
    if (pkt.linktype != checked_link) {
      if (!packet::is_supported(pkt.linktype))
        throw Error(ExitCode::kInput,
                    reader.file() + ": link type " + std::to_string(pkt.linktype) +
                        " is not supported (Ethernet 1, raw IP 101/228/229, Linux cooked 113/276)");
      filter.prepare(pkt.linktype);
      checked_link = pkt.linktype;
    }
    if (counts.packets == 0) part.first_frame_ns = part.last_frame_ns = pkt.ts_ns;
    part.first_frame_ns = std::min(part.first_frame_ns, pkt.ts_ns);
    part.last_frame_ns = std::max(part.last_frame_ns, pkt.ts_ns);
    if (((counts.packets + 1) & (kProgressEvery - 1)) == 0) [[unlikely]]
      feed.publish(counts, reader.position() - base);
    settle(cur);  // the oldest waiting packet: its slot is reused now
    packet::Parsed& parsed = parsed_ring[cur];
    if (!packet::account(counts, pkt.data, pkt.wire_len, static_cast<packet::LinkType>(pkt.linktype), opt.parse,
                         parsed, [&](const packet::Parsed& p) {
                           return filter.keep(p, pkt.data, pkt.wire_len, pkt.linktype);
                         })) {
      if (parsed.status == packet::Status::kNotIp || parsed.status == packet::Status::kMalformed) [[unlikely]]
        part.probe.keep(pkt.data, pkt.wire_len, pkt.linktype);
      continue;
    }
    const uint64_t chain = packet::chain_hash(parsed);
    shard.chains.prefetch(chain);
    pending[cur] = {Sighting{parsed.digest, pkt.ts_ns, 0, static_cast<uint16_t>(std::min<uint32_t>(pkt.wire_len, 0xffff)),
                             pt.ord, parsed.tcp_flags},
                    chain, true};
    cur = (cur + 1) % kAhead;
    if (keep) [[unlikely]] {
      if (shard.kept.data.size() + keep > kMaxKeptData) too_many_kept_bytes(keep);
      shard.kept.add(pt.ord, parsed.digest, pkt.ts_ns, pkt.wire_len, pkt.linktype, pkt.data, keep);
    }
  }
  for (unsigned k = 0; k < kAhead; ++k) settle((cur + k) % kAhead);
  if (since_report) gate.report(shard, since_report, reader.position() - base - reported_at);
  feed.publish(counts, reader.position() - base);
}

// Reads one point's whole capture (its files as one, its picked interface) into `shard`; what
// only the whole capture says (snaplen, statistics blocks, files cut short: a line each in
// `warnings`) goes into the point.
void read_capture(Point& pt, const IngestOptions& opt, capture::PacketFilter& filter, Shard& shard,
                  SpillGate& gate, PointProgress* progress, PointPart& part, std::vector<std::string>& warnings) {
  pcapfile::Capture reader(pt.files, pt.pick);
  if (progress) progress->size.store(reader.size(), std::memory_order_relaxed);
  ProgressFeed feed(progress);
  feed.start();
  read_frames(reader, pt, opt, filter, shard, gate, feed, 0, part);
  apply_capture_stats(pt, reader.snaplen(), reader.stats());
  if (progress) progress->dropped.store(pt.pcap_drop + pt.if_drop, std::memory_order_relaxed);
  for (const std::string& cut : reader.cuts()) warnings.push_back("point " + pt.label + ": " + cut);
  for (const std::string& note : reader.notes()) warnings.push_back("point " + pt.label + ": " + note);
}

// Reads the records of point `pt`'s one file that start in [begin, end) into `shard` (end
// SIZE_MAX: to the end of the file).
void read_chunk(const Point& pt, std::size_t begin, std::size_t end, const IngestOptions& opt,
                capture::PacketFilter& filter, Shard& shard, SpillGate& gate, PointProgress* progress,
                PointPart& part) {
  pcapfile::Reader reader(pt.files[0]);
  reader.restrict(begin, end);
  ProgressFeed feed(progress);
  feed.start();  // the point's size was set when it was split
  ChunkSource source{reader, pt.files[0]};
  // Bytes read count from the file's first byte for its first chunk (the file header), as for
  // a whole file: a point's chunks add up to its file's size.
  read_frames(source, pt, opt, filter, shard, gate, feed, begin == reader.first_record() ? 0 : begin, part);
  part.stopped_at = reader.offset();
  part.records = reader.records();
  part.cut = !reader.cut().empty();
  part.clean = reader.range_clean();
  part.interfaces = reader.interfaces();
  part.stats = reader.interface_stats();
}

// Files are split in chunks of a sixteenth of the run's bytes (two threads), at least this big.
constexpr std::uintmax_t kMinSplitBytes = std::uintmax_t{32} << 20;

// How far a split point's chunk may be moved forward to reach a record it recognises.
// A record is at most kMaxCaplen + 16 bytes: one starts within that of any byte.
constexpr std::size_t kSyncSearch = std::size_t{1} << 20;

// Where to split point `p`'s capture (`size` bytes) into chunks of about `chunk_bytes` for the
// reading threads: each chunk's first byte (the first record's, then records find_record()
// recognised), then SIZE_MAX (the last chunk reads to the end).
// Empty: read it whole — it is not one plain (uncompressed) pcap or pcapng file of one
// interface, or not big enough to be worth it.
std::vector<std::size_t> plan_chunks(const Point& p, std::uintmax_t size, std::uintmax_t chunk_bytes) {
  if (p.files.size() != 1 || p.files[0] == "-" || !p.pick.empty() || chunk_bytes == 0 ||
      size < chunk_bytes + chunk_bytes / 2)
    return {};
  std::vector<std::size_t> bounds;
  try {
    const pcapfile::Reader r(p.files[0]);
    if (!r.splittable() || r.interfaces().size() != 1) return {};
    const std::size_t first = r.first_record();
    const auto n = std::size_t((size + chunk_bytes / 2) / chunk_bytes);
    bounds.push_back(first);
    for (std::size_t k = 1; k < n; ++k) {
      const std::size_t at = first + std::size_t((size - first) * k / n);
      if (const auto found = r.find_record(std::max(at, bounds.back() + 1), at + kSyncSearch)) bounds.push_back(*found);
    }
  } catch (const Error&) {
    return {};  // reading it says what is wrong with it
  }
  if (bounds.size() < 2) return {};
  bounds.push_back(SIZE_MAX);
  return bounds;
}

// "C qbr qbrbdd1f2c3-bd": how a progress line names a point.
std::string progress_name(const Point& p) {
  std::string s = p.label;
  if (!p.role.empty()) s += " " + p.role;
  s += " " + (p.iface.empty() ? p.source.substr(p.source.find_last_of('/') + 1) : p.iface);
  return s;
}

// Draws the points' progress lines every opt.period while the reading threads run (until
// `finished` says all `threads` are done), on the calling thread.
void watch(const std::vector<Point>& points, const std::vector<PointProgress>& progress,
           const IngestProgress& opt, std::mutex& m, std::condition_variable& cv,
           const unsigned& finished, unsigned threads) {
  using Clock = std::chrono::steady_clock;
  ProgressLines lines(stderr, opt.terminal);
  auto draw = [&] {
    std::vector<std::string> text;
    const int64_t now = steady_ns();
    for (std::size_t i = 0; i < points.size(); ++i)
      text.push_back("ingest: " + point_progress_line(progress_name(points[i]), counts_of(progress[i], now)));
    lines.draw(text);
  };
  const auto start = Clock::now();
  auto next = start + opt.period;
  const auto tick = std::clamp<Clock::duration>(opt.period, std::chrono::milliseconds(1),
                                                std::chrono::milliseconds(100));
  std::unique_lock lock(m);
  while (finished < threads) {
    cv.wait_for(lock, tick, [&] { return finished == threads; });
    if (finished == threads || Clock::now() < next) continue;
    lock.unlock();
    draw();
    lock.lock();
    next += opt.period;
  }
  lock.unlock();
  // The final counts, as plain lines, when reading lasted at least one period (a terminal's
  // lines go: the report follows).
  if (!opt.terminal && Clock::now() - start >= opt.period) draw();
}

// The bytes of a point's files together (0: unknown, as for standard input).
std::uintmax_t files_size(const Point& p) {
  std::uintmax_t total = 0;
  for (const std::string& f : p.files) {
    std::error_code ec;
    const std::uintmax_t n = f == "-" ? 0 : std::filesystem::file_size(f, ec);
    if (ec || n == 0) return 0;
    total += n;
  }
  return total;
}

// Two points given the same files (or byte-identical copies) and the same interface are the
// same capture, not two points of a path: both are marked unusable (HealthProblem::kIdentical).
// Files are hashed only when another point's files have the same size, and whole only when
// their first MiB is alike too (captures of one traffic at two points often have the same size:
// their first frames already differ in time stamps and TTLs).
void mark_identical_files(std::vector<Point>& points) {
  std::vector<std::uintmax_t> sizes(points.size(), 0);
  for (std::size_t i = 0; i < points.size(); ++i) sizes[i] = files_size(points[i]);
  constexpr std::uintmax_t kHead = 1 << 20;
  // XXH3 of the first `limit` bytes of point i's files together (| 1: never 0).
  auto hash_files = [&](std::size_t i, std::uintmax_t limit) {
    XXH3_state_t* st = XXH3_createState();
    XXH3_64bits_reset(st);
    std::vector<char> buf(1 << 20);
    std::uintmax_t left = limit;
    for (const std::string& f : points[i].files) {
      std::ifstream in(f, std::ios::binary);
      while (left > 0 && (in.read(buf.data(), std::streamsize(std::min<std::uintmax_t>(buf.size(), left))) ||
                          in.gcount() > 0)) {
        XXH3_64bits_update(st, buf.data(), std::size_t(in.gcount()));
        left -= std::uintmax_t(in.gcount());
      }
    }
    const uint64_t h = XXH3_64bits_digest(st) | 1;
    XXH3_freeState(st);
    return h;
  };
  std::vector<uint64_t> heads(points.size(), 0), hashes(points.size(), 0);
  auto head_of = [&](std::size_t i) { return heads[i] ? heads[i] : (heads[i] = hash_files(i, kHead)); };
  auto hash_of = [&](std::size_t i) {
    return hashes[i] ? hashes[i] : (hashes[i] = hash_files(i, ~std::uintmax_t{0}));
  };
  auto alike = [&](std::size_t i, std::size_t j) {
    return head_of(i) == head_of(j) && (sizes[i] <= kHead || hash_of(i) == hash_of(j));
  };
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = i + 1; j < points.size(); ++j) {
      // Files without a frame (a filter that kept nothing) are alike without being one capture;
      // two interfaces of one pcapng file are two captures.
      if (sizes[i] == 0 || sizes[i] != sizes[j] || points[i].packets == 0 || points[i].pick != points[j].pick)
        continue;
      const bool same_path = points[i].files == points[j].files;
      if (!same_path && !alike(i, j)) continue;
      for (std::size_t k : {i, j}) {
        Point& p = points[k];
        const Point& other = points[k == i ? j : i];
        p.health.usable = false;
        p.health.problem = HealthProblem::kIdentical;
        p.health.detail = same_path ? "point " + other.label + " was given the same file (" + p.source + ")"
                                    : "its file is byte for byte point " + other.label + "'s (" + other.source +
                                          "): the same capture given twice?";
      }
    }
  }
}

}  // namespace

Collected read_captures(std::vector<Point> points, const IngestOptions& opt, IngestTimings* timings) {
  const Stamp t0 = Stamp::now();
  const std::vector<Point> given = points;  // for a second reading without splits (below)
  std::vector<std::uintmax_t> sizes(points.size(), 0);
  std::uintmax_t total_bytes = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    sizes[i] = files_size(points[i]);
    total_bytes += sizes[i];
  }
  // The work: each point's capture whole, or a big plain pcap file in chunks, so that the
  // threads finish together (seven equal files on two threads would leave one idle for the
  // seventh; one big file would leave it idle all along). Biggest first, each thread taking the
  // next one.
  const unsigned threads_wanted = std::max(1u, opt.threads);
  const std::uintmax_t chunk_bytes =
      threads_wanted < 2 || opt.keep_bytes ? 0
      : opt.split_bytes                     ? opt.split_bytes
                                            : std::max<std::uintmax_t>(total_bytes / (8 * threads_wanted), kMinSplitBytes);
  std::vector<std::vector<std::size_t>> bounds(points.size());  // per split point: plan_chunks()
  struct Work {
    uint32_t point, part;
    std::uintmax_t bytes;
  };
  std::vector<Work> works;
  std::vector<std::vector<PointPart>> read_parts(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    bounds[i] = plan_chunks(points[i], sizes[i], chunk_bytes);
    const std::size_t n = bounds[i].empty() ? 1 : bounds[i].size() - 1;
    read_parts[i].resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      const std::uintmax_t bytes =
          n == 1 ? sizes[i] : std::min<std::uintmax_t>(bounds[i][k + 1], sizes[i]) - bounds[i][k];
      works.push_back({uint32_t(i), uint32_t(k), bytes});
    }
  }
  std::stable_sort(works.begin(), works.end(), [](const Work& a, const Work& b) { return a.bytes > b.bytes; });
  const unsigned nthreads = std::max(1u, std::min<unsigned>(threads_wanted, static_cast<unsigned>(works.size())));
  std::vector<Shard> shards(nthreads);
  for (unsigned t = 0; t < nthreads; ++t) shards[t].index = t;
  std::vector<std::vector<std::string>> warnings(points.size());  // per point: its cut files
  { capture::PacketFilter check(opt.filter); }  // a filter that does not compile fails here, not in a thread
  SpillGate gate(opt, total_bytes, std::none_of(sizes.begin(), sizes.end(), [](std::uintmax_t n) { return n == 0; }));
  std::atomic<std::size_t> next{0};
  std::vector<PointProgress> progress(opt.progress.enabled ? points.size() : 0);
  std::unique_ptr<std::atomic<std::size_t>[]> unread(new std::atomic<std::size_t>[points.size()]);  // parts per point
  for (std::size_t i = 0; i < points.size(); ++i) {
    unread[i].store(read_parts[i].size());
    if (!progress.empty() && !bounds[i].empty()) progress[i].size.store(sizes[i], std::memory_order_relaxed);
  }
  std::mutex m;
  std::condition_variable cv;
  unsigned finished = 0;  // reading threads done (guarded by m)
  auto work = [&](unsigned t) {
    capture::PacketFilter filter(opt.filter);
    // One reservation per shard, for every file (a thread may get any of them; shard 0 is the
    // base the others are appended to): no regrowth copies of millions of sightings. A frame
    // takes at least 16 + 34 bytes in a file (record header, Ethernet, IPv4): an upper bound,
    // and reserved pages that are never touched cost nothing.
    shards[t].sightings.reserve(std::min<std::uintmax_t>(total_bytes / 50, opt.memory ? opt.memory / sizeof(Sighting) : ~std::uintmax_t{0}));
    for (std::size_t k; (k = next.fetch_add(1)) < works.size();) {
      const Work& w = works[k];
      const std::size_t i = w.point;
      PointPart& part = read_parts[i][w.part];
      PointProgress* pp = progress.empty() ? nullptr : &progress[i];
      try {
        if (bounds[i].empty()) {
          read_capture(points[i], opt, filter, shards[t], gate, pp, part, warnings[i]);
        } else {
          read_chunk(points[i], bounds[i][w.part], bounds[i][w.part + 1], opt, filter, shards[t], gate, pp, part);
        }
      } catch (const Error& e) {
        part.error = std::make_exception_ptr(Error(e.code(), "point " + points[i].label + ": " + e.what()));
      } catch (...) {
        part.error = std::current_exception();
      }
      if (unread[i].fetch_sub(1) == 1 && pp) pp->end_ns.store(steady_ns(), std::memory_order_relaxed);
    }
    std::lock_guard lock(m);
    ++finished;
    cv.notify_all();
  };
  // With progress, every file is read on a thread of its own and this one prints.
  std::vector<std::thread> threads;
  for (unsigned t = progress.empty() ? 1 : 0; t < nthreads; ++t) threads.emplace_back(work, t);
  if (progress.empty()) {
    work(0);
  } else {
    watch(points, progress, opt.progress, m, cv, finished, nthreads);
  }
  for (auto& th : threads) th.join();
  // A split is proven right when the reader of each chunk stopped exactly where the next one
  // began and met nothing it could not read alone. If one did not (a record chain inside packet
  // data that looked like the file's own; a pcapng section, interface or simple packet block),
  // or a later chunk failed, the file is read again whole: the second reading is then the
  // truth, whether about its packets or about what is wrong with it.
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (bounds[i].empty()) continue;
    for (std::size_t k = 0; k < read_parts[i].size(); ++k) {
      const PointPart& part = read_parts[i][k];
      const char* why = nullptr;
      if (k > 0 && part.error)
        why = "a chunk after the first failed";
      else if (!part.error && !part.clean)
        why = "a chunk met a block that depends on the ones before it: a new section or interface, a simple packet";
      else if (k + 1 < read_parts[i].size() && !part.error && part.stopped_at != bounds[i][k + 1])
        why = "a chunk did not start where the one before it ended";
      if (!why) continue;
      if (timings)
        timings->reread.push_back("point " + points[i].label + ": " + points[i].files[0] + ": read again whole (" + why + ")");
      shards.clear();
      gate.take().reset();
      IngestOptions whole = opt;
      whole.split_bytes = kNeverSplit;
      return read_captures(given, whole, timings);
    }
  }
  if (timings) {
    for (const auto& b : bounds) {
      if (b.empty()) continue;
      ++timings->split_files;
      timings->chunks += unsigned(b.size() - 1);
    }
  }
  // Report the error of the first point (in path order) that failed.
  for (const auto& point_parts : read_parts)
    for (const PointPart& part : point_parts)
      if (part.error) std::rethrow_exception(part.error);
  // Each point's parts added up, in file order.
  for (std::size_t i = 0; i < points.size(); ++i) {
    Point& pt = points[i];
    LinkProbe probe;
    uint64_t records = 0;
    for (const PointPart& part : read_parts[i]) {
      if (part.counts.packets) {
        pt.first_frame_ns = pt.packets ? std::min(pt.first_frame_ns, part.first_frame_ns) : part.first_frame_ns;
        pt.last_frame_ns = pt.packets ? std::max(pt.last_frame_ns, part.last_frame_ns) : part.last_frame_ns;
      }
      pt += part.counts;
      probe.merge(part.probe);
      records += part.records;
    }
    if (!bounds[i].empty()) {
      // The file's statistics blocks: of each interface the last one, in file order.
      const std::vector<PointPart>& parts = read_parts[i];
      std::vector<pcapfile::InterfaceStats> stats = parts[0].stats;
      for (const PointPart& part : parts)
        for (std::size_t k = 0; k < part.stats.size() && k < stats.size(); ++k)
          if (part.stats[k].stated) stats[k] = part.stats[k];
      pcapfile::CaptureStats st;
      bool window = true;
      uint32_t snaplen = 0;
      std::vector<std::string> notes;
      const std::vector<pcapfile::FilePackets> packets{{records > 0, pt.first_frame_ns, pt.last_frame_ns}};
      pcapfile::add_file_stats(pt.files[0], parts[0].interfaces, stats, {1}, packets, st, window, snaplen, notes);
      apply_capture_stats(pt, snaplen, st);
      if (read_parts[i].back().cut)
        warnings[i].push_back("point " + pt.label + ": " + pt.files[0] + ": " +
                              pcapfile::cut_record_message(sizes[i], records));
      for (const std::string& note : notes) warnings[i].push_back("point " + pt.label + ": " + note);
    }
    if (pt.packets >= 10 && pt.digested * 20 < pt.packets) probe.judge(pt, opt.parse);
  }

  mark_identical_files(points);
  const Stamp t1 = Stamp::now();
  // Merge the shards: one chain table, numbered in order of chain_hash (so the same files give
  // the same stack ids whichever thread read which of them), sightings re-pointed at it. A
  // spilled run's sightings are re-pointed as each range is loaded (Partitions::map_chains).
  std::unique_ptr<spill::Partitions> parts;
  if (spill::Partitions* p = gate.parts()) {
    for (Shard& shard : shards) {
      shard.spill_to(*p);  // a thread that finished before the run spilled
      shard.writer->flush();
      shard.writer.reset();
    }
    parts = gate.take();
  }
  std::vector<std::vector<uint32_t>> remaps(shards.size());  // per shard: its chain index → the run's
  std::vector<Chain> chains;  // merged, then put in order of their hash in place
  {
    // Into the table of the shard with the most chains: the others' new chains are moved in,
    // so no third copy of them all exists at the merge's peak.
    std::size_t base = 0;
    for (std::size_t s = 1; s < shards.size(); ++s)
      if (shards[s].chains.chains().size() > shards[base].chains.chains().size()) base = s;
    ChainTable& table = shards[base].chains;
    remaps[base].resize(table.chains().size());
    for (uint32_t j = 0; j < remaps[base].size(); ++j) remaps[base][j] = j;
    for (std::size_t s = 0; s < shards.size(); ++s) {
      if (s == base) continue;
      auto& own = shards[s].chains.chains();
      remaps[s].resize(own.size());
      shards[s].chains.each_hash([&](uint32_t j, uint64_t h) { remaps[s][j] = table.adopt(h, own[j]); });
      shards[s].chains.clear();
    }
    // By hash (the table holds one chain per hash), sorted side by side.
    std::vector<std::pair<uint64_t, uint32_t>> order;
    order.reserve(table.chains().size());
    table.each_hash([&](uint32_t k, uint64_t h) { order.emplace_back(h, k); });
    chains = std::move(table.chains());
    table.clear();
    std::sort(order.begin(), order.end());
    std::vector<uint32_t> rank(chains.size());  // chain index → its place in hash order
    for (uint32_t k = 0; k < order.size(); ++k) rank[order[k].second] = k;
    std::vector<std::pair<uint64_t, uint32_t>>().swap(order);
    for (auto& remap : remaps)
      for (uint32_t& c : remap) c = rank[c];
    move_to_places(chains, rank);  // in place: no second vector of chains at the merge's peak
  }
  std::vector<Sighting> sightings = std::move(shards[0].sightings);
  if (!parts) {
    // Re-pointed at the merged chains, the other shards' after shard 0's: each shard on a
    // thread of its own, into its place (room was reserved for every file: no regrowth).
    std::vector<std::size_t> at(shards.size() + 1, 0);
    at[1] = sightings.size();
    for (std::size_t s = 1; s < shards.size(); ++s) at[s + 1] = at[s] + shards[s].sightings.size();
    sightings.resize(at.back());
    auto remap = [&](std::size_t s) {
      const std::vector<uint32_t>& to = remaps[s];
      if (s == 0) {
        for (std::size_t i = 0; i < at[1]; ++i) sightings[i].chain = to[sightings[i].chain];
        return;
      }
      Sighting* out = sightings.data() + at[s];
      for (Sighting x : shards[s].sightings) {
        x.chain = to[x.chain];
        *out++ = x;
      }
    };
    std::vector<std::thread> others;
    for (std::size_t s = 1; s < shards.size(); ++s) others.emplace_back(remap, s);
    remap(0);
    for (std::thread& t : others) t.join();
    for (std::size_t s = 2; s < shards.size(); ++s) shards[s].sightings = {};
  }
  // The kept frames: shard 0's buffer, the others' appended with their offsets moved.
  KeptFrames kept = std::move(shards[0].kept);
  for (std::size_t s = 1; s < shards.size(); ++s) {
    KeptFrames& own = shards[s].kept;
    const std::size_t base = kept.data.size();
    if (base + own.data.size() > kMaxKeptData) too_many_kept_bytes(opt.keep_bytes);
    for (KeptFrame f : own.frames) {
      f.offset += static_cast<uint32_t>(base);
      kept.frames.push_back(f);
    }
    kept.data.insert(kept.data.end(), own.data.begin(), own.data.end());
    own = {};
  }
  // Shard 1's buffer (its pages already touched) is the analysis's sort buffer: zeroing fresh
  // pages on first touch costs more than the sort's own pass over them on this kind of machine.
  std::vector<Sighting> scratch;
  if (shards.size() > 1) scratch = std::move(shards[1].sightings);
  if (timings) {
    timings->read = t1.since(t0);
    timings->merge = Stamp::now().since(t1);
    if (parts) {
      timings->spilled_ranges = parts->count();
      timings->spill_dir = opt.spill_dir;
    }
  }
  std::vector<std::string> notes;
  for (auto& w : warnings) notes.insert(notes.end(), w.begin(), w.end());
  check_run_size(sightings.size() + (parts ? parts->size() : 0));
  if (parts) parts->map_chains(std::move(remaps));
  return Collected{std::move(points), std::move(chains), std::move(sightings), std::move(scratch),
                   std::move(kept), std::move(notes), std::move(parts)};
}

Run ingest(std::vector<Point> points, const IngestOptions& opt, Store& store, const Report& meta,
           IngestTimings* timings) {
  std::vector<bool> stated(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) stated[i] = points[i].window_known;
  Collected in = read_captures(std::move(points), opt, timings);
  const Stamp t0 = Stamp::now();
  for (auto& line : apply_windows(opt.stated, in.points, stated, opt.analysis)) in.warnings.push_back(std::move(line));
  JudgeOptions fo;
  fo.analysis = opt.analysis;
  fo.clocks = opt.clocks;
  fo.given_offsets = opt.stated.clocks;
  Run run = judge(std::move(in), fo);
  const Stamp t1 = Stamp::now();
  store_run(store, 0, run, meta);
  if (timings) {
    timings->analyze = t1.since(t0);
    timings->store = Stamp::now().since(t1);
  }
  return run;
}

}  // namespace pathtrace::pipeline
