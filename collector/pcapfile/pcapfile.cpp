// pcap / pcapng reader (memory-mapped, zero-copy) and the pcap and pcapng writers. See
// pcapfile.hpp. Classic pcap headers and records are decoded by pcap.hpp (shared with the
// StreamParser); pcapng blocks here.
//
// File formats: pcap is https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html,
// pcapng is https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html.

#include "collector/pcapfile/pcapfile.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "collector/common/error.hpp"

namespace pathtrace::pcapfile {
namespace {

constexpr uint32_t kPcapMagicUs = 0xa1b2c3d4;  // as the Writer writes them, in host order
constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;
constexpr uint32_t kShbType = 0x0a0d0d0a;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr std::size_t kPrefetchAhead = 4096;  // bytes; best of 2..32 KiB (docs/performance.md)
constexpr std::size_t kPopulateWindow = 4 << 20;  // bytes, a multiple of the page size
constexpr uint32_t kMaxBlockLen = 16 * 1024 * 1024;  // as libpcap: larger is corrupt

// pcapng block types.
constexpr uint32_t kIdb = 1;
constexpr uint32_t kPb = 2;  // obsolete Packet Block
constexpr uint32_t kSpb = 3;
constexpr uint32_t kIsb = 5;
constexpr uint32_t kEpb = 6;

using detail::load;

inline std::size_t pad4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

const char* block_name(uint32_t type) {
  switch (type) {
    case kShbType: return "section header block";
    case kIdb: return "interface description block";
    case kIsb: return "interface statistics block";
    case 4: return "name resolution block";
    case 10: return "decryption secrets block";
    default: return "block";
  }
}

// Walks pcapng options "code(2) len(2) value(pad4)" until opt_endofopt or the end.
// Malformed options end the walk (they are metadata; the packets stay readable).
template <typename F>
void for_each_option(const uint8_t* p, std::size_t len, bool swapped, F&& f) {
  std::size_t off = 0;
  while (off + 4 <= len) {
    const uint16_t code = load<uint16_t>(p + off, swapped);
    const uint16_t olen = load<uint16_t>(p + off + 2, swapped);
    if (code == 0) return;
    if (off + 4 + olen > len) return;
    f(code, p + off + 4, olen);
    off += 4 + pad4(olen);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Reader

Reader::Reader(const std::string& path) : path_(path == "-" ? "standard input" : path) {
  int fd = -1;
  struct stat st {};
  if (path == "-") {
    fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) fail(std::string("cannot read: ") + std::strerror(errno));
  } else {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int e = errno;
      if (e == ENOENT) fail("not found");
      if (e == EACCES || e == EPERM) fail("permission denied");
      fail(std::string("cannot open: ") + std::strerror(e));
    }
  }
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail(std::string("cannot stat: ") + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail("is a directory, not a capture file");
  }
  const bool regular = S_ISREG(st.st_mode);
  if (regular && st.st_size == 0) {
    ::close(fd);
    fail("empty file (0 bytes)");
  }
  // A plain regular file is mapped; a compressed one, a pipe or standard input is streamed.
  uint8_t magic[4] = {};
  const bool compressed =
      regular && sniff_codec({magic, std::size_t(std::max<ssize_t>(0, ::pread(fd, magic, sizeof magic, 0)))}) != Codec::kNone;
  if (regular && !compressed && path != "-") {
    size_ = static_cast<std::size_t>(st.st_size);
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int e = errno;
    ::close(fd);
    if (m == MAP_FAILED) fail(std::string("cannot map: ") + std::strerror(e));
    base_ = static_cast<const uint8_t*>(m);
    mapped_ = true;
    file_size_ = size_;
    ::madvise(m, size_, MADV_SEQUENTIAL);
  } else {
    stream_ = std::make_unique<ByteStream>(fd, path_);  // owns fd, even when it throws
    file_size_ = regular ? static_cast<std::size_t>(st.st_size) : 0;
    prefetched_ = populated_ = SIZE_MAX;  // nothing to prefetch or populate in a heap buffer
    while (size_ < kStreamChunk && more()) {
    }
    if (size_ == 0 && stream_->cut())
      fail(std::string("cut short: the ") + name(stream_->codec()) +
           " data ends before any byte of it could be decompressed");
    if (size_ == 0)
      fail(stream_->codec() == Codec::kNone ? std::string("empty (0 bytes)")
                                            : std::string("empty ") + name(stream_->codec()) + " data (0 bytes)");
  }
  try {
    const uint8_t shb[4] = {0x0a, 0x0d, 0x0d, 0x0a};
    const std::span<const uint8_t> first(base_, size_ < 4 ? size_ : 4);
    const bool pcap = starts_like_pcap(first);
    const bool ng = std::memcmp(first.data(), shb, first.size()) == 0;
    if (!pcap && !ng) fail(not_a_capture_message("pcap or pcapng", "file", first));
    if (size_ < 4) fail("header cut short (file has " + std::to_string(size_) + " bytes)");
    if (ng) {
      open_pcapng();
    } else {
      open_pcap();
    }
  } catch (...) {
    if (mapped_) ::munmap(const_cast<uint8_t*>(base_), size_);
    base_ = nullptr;
    throw;
  }
}

Reader::~Reader() {
  if (mapped_ && base_) ::munmap(const_cast<uint8_t*>(base_), size_);
}

Codec Reader::codec() const noexcept { return stream_ ? stream_->codec() : Codec::kNone; }

std::size_t Reader::position() const noexcept { return stream_ ? stream_->raw_position() : pos_; }

bool Reader::more() {
  if (!stream_ || stream_end_) return false;
  if (pos_ > 0) {  // drop what was read: less than one record or block is left
    std::memmove(buf_.data(), buf_.data() + pos_, size_ - pos_);
    size_ -= pos_;
    consumed_ += pos_;
    pos_ = 0;
  }
  if (buf_.size() - size_ < kStreamChunk) buf_.resize(size_ + kStreamChunk);
  const std::size_t n = stream_->read(buf_.data() + size_, buf_.size() - size_);
  base_ = buf_.data();
  if (n == 0) {
    stream_end_ = true;
    return false;
  }
  size_ += n;
  return true;
}

bool Reader::need(std::size_t n) {
  while (size_ - pos_ < n)
    if (!more()) return false;
  return true;
}

void Reader::fail(const std::string& what) const { throw Error(ExitCode::kInput, path_ + ": " + what); }

std::string cut_record_message(uint64_t end, uint64_t records) {
  return "cut short at byte " + std::to_string(end) + " (inside packet record " + std::to_string(records + 1) +
         "): read the " + std::to_string(records) + " records before it";
}

bool Reader::cut_short(std::size_t block_start, const char* inside) {
  if (ended_) return false;
  const uint64_t end = consumed_ + size_;
  const bool decompressed = stream_ && stream_->codec() != Codec::kNone;
  if (!inside && !decompressed) {
    cut_ = cut_record_message(end, records_);  // as ingest says it of a file read in chunks
  } else {
    cut_ = "cut short at byte " + std::to_string(end) + (decompressed ? " of its decompressed data" : "");
    if (!inside) {
      cut_ += " (inside packet record " + std::to_string(records_ + 1) + ")";
    } else {
      cut_ += " (inside a " + std::string(inside) + " at byte " + std::to_string(consumed_ + block_start) + ")";
    }
    if (decompressed && stream_->cut()) cut_ += std::string(", the ") + name(stream_->codec()) + " data ends early";
    cut_ += ": read the " + std::to_string(records_) + " records before it";
  }
  if (restricted_ && inside) range_clean_ = false;  // ingest reads it whole: the whole read's words
  ended_ = true;
  pos_ = size_;  // nothing more to read
  return false;
}

bool Reader::unclean() {
  range_clean_ = false;
  ended_ = true;
  return false;
}

bool Reader::at_end() {
  if (ended_) return false;
  ended_ = true;
  if (stream_ && stream_->cut()) {  // the compressed data was cut, at a record's end
    cut_ = std::string("cut short: the ") + name(stream_->codec()) + " data ends early, after " +
           std::to_string(consumed_ + size_) + " decompressed bytes: read the " + std::to_string(records_) +
           " records before it";
  }
  return false;
}

void Reader::corrupt(std::size_t at, const std::string& why) const { fail(corrupt_message(consumed_ + at, why)); }

void Reader::open_pcap() {
  format_ = Format::kPcap;
  switch (decode_header({base_, size_}, pcap_)) {
    case Decode::kOk:
      break;
    case Decode::kNeedMore:
      fail(header_cut_message("file", size_));
    case Decode::kCorrupt:  // the constructor has seen a pcap magic
      fail(not_a_capture_message("pcap", "file", {base_, size_ < 4 ? size_ : 4}));
  }
  snaplen_ = pcap_.snaplen;
  linktype_ = pcap_.linktype;
  interfaces_.push_back({pcap_.linktype, pcap_.snaplen, {}, {}});
  stats_.resize(1);
  pos_ = first_record_ = kPcapHeaderLen;
}

void Reader::open_pcapng() {
  format_ = Format::kPcapng;
  read_shb();
  // Read the interface descriptions ahead of the first packet so linktype() is known now.
  opening_ = true;
  Packet unused;
  next_pcapng(unused);
  opening_ = false;
  first_record_ = pos_;
}

// Reads the Section Header Block at pos_: sets the byte order and starts a new interface list.
// False when the capture is cut inside it (not the first: that one is an error).
bool Reader::read_shb() {
  const bool first = consumed_ + pos_ == 0;
  if (!need(12)) {
    if (first) fail("header cut short (pcapng section header needs at least 28 bytes, file has " +
                    std::to_string(size_) + ")");
    return cut_short(pos_, "section header block");
  }
  const std::size_t at = pos_;
  const uint32_t bom = load<uint32_t>(base_ + at + 8, false);
  bool swapped;
  if (bom == kByteOrderMagic) {
    swapped = false;
  } else if (bom == __builtin_bswap32(kByteOrderMagic)) {
    swapped = true;
  } else {
    corrupt(at, "section header has no byte-order magic (found " + hex_bytes({base_ + at + 8, 4}) + ")");
  }
  const uint32_t len = load<uint32_t>(base_ + at + 4, swapped);
  if (len < 28 || len % 4 != 0 || len > kMaxBlockLen) {
    corrupt(at, "section header block length " + std::to_string(len) + " is impossible");
  }
  if (!need(len)) {
    if (first) fail("header cut short (section header block is " + std::to_string(len) + " bytes, file has " +
                    std::to_string(size_) + ")");
    return cut_short(pos_, "section header block");
  }
  const uint8_t* b = base_ + pos_;  // need() may have moved the bytes
  if (load<uint32_t>(b + len - 4, swapped) != len) {
    corrupt(pos_, "section header block lengths disagree");
  }
  const uint16_t major = load<uint16_t>(b + 12, swapped);
  if (major != 1) corrupt(pos_, "unsupported pcapng version " + std::to_string(major));
  swapped_ = swapped;
  iface_base_ += static_cast<uint32_t>(ifaces_.size());
  ifaces_.clear();
  pos_ += len;
  return true;
}

void Reader::read_idb(const uint8_t* body, std::size_t len, std::size_t at) {
  if (len < 8) corrupt(at, "interface description block too short");
  Iface iface;
  iface.linktype = load<uint16_t>(body, swapped_);
  iface.snaplen = load<uint32_t>(body + 4, swapped_);
  InterfaceInfo info{iface.linktype, iface.snaplen, {}, {}};
  bool bad_resol = false;
  for_each_option(body + 8, len - 8, swapped_, [&](uint16_t code, const uint8_t* v, uint16_t olen) {
    if (code == 2 || code == 3) {  // if_name, if_description (UTF-8, maybe NUL-terminated)
      std::string text(reinterpret_cast<const char*>(v), olen);
      if (const auto nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
      (code == 2 ? info.name : info.description) = std::move(text);
    } else if (code == 9 && olen >= 1) {  // if_tsresol
      const uint8_t r = v[0];
      const unsigned exp = r & 0x7f;
      if (r & 0x80) {
        if (exp > 63) { bad_resol = true; return; }
        iface.ts_units_per_s = uint64_t{1} << exp;
      } else {
        if (exp > 19) { bad_resol = true; return; }
        uint64_t u = 1;
        for (unsigned i = 0; i < exp; ++i) u *= 10;
        iface.ts_units_per_s = u;
      }
    } else if (code == 14 && olen >= 8) {  // if_tsoffset
      iface.ts_offset_s = static_cast<int64_t>(load<uint64_t>(v, swapped_));
    }
  });
  if (bad_resol) corrupt(at, "interface timestamp resolution if_tsresol is out of range");
  iface.ns_per_unit = 1000000000ULL % iface.ts_units_per_s == 0 ? 1000000000ULL / iface.ts_units_per_s : 0;
  if (ifaces_.empty() && iface_base_ == 0) {
    linktype_ = iface.linktype;
    snaplen_ = iface.snaplen;
  }
  ifaces_.push_back(iface);
  interfaces_.push_back(std::move(info));
  if (stats_.size() < iface_base_ + ifaces_.size()) stats_.resize(iface_base_ + ifaces_.size());
}

int64_t Reader::to_ns(const Iface& iface, uint64_t ticks) const noexcept {
  // Unsigned arithmetic: absurd timestamps in a corrupt file wrap instead of being UB.
  uint64_t ns;
  if (iface.ns_per_unit != 0) {
    ns = ticks * iface.ns_per_unit;
  } else {
    const uint64_t u = iface.ts_units_per_s;
    const unsigned __int128 frac = static_cast<unsigned __int128>(ticks % u) * 1000000000ULL / u;
    ns = (ticks / u) * 1000000000ULL + static_cast<uint64_t>(frac);
  }
  return static_cast<int64_t>(ns + static_cast<uint64_t>(iface.ts_offset_s) * 1000000000ULL);
}

void Reader::read_isb(const uint8_t* body, std::size_t len, std::size_t at) {
  if (len < 12) corrupt(at, "interface statistics block too short");
  const uint32_t id = load<uint32_t>(body, swapped_);
  if (id >= ifaces_.size()) {
    corrupt(at, "statistics for interface " + std::to_string(id) + ", but the section declares " +
                    std::to_string(ifaces_.size()));
  }
  const Iface& iface = ifaces_[id];
  Iface micro = iface;
  micro.ts_units_per_s = 1000000;
  micro.ns_per_unit = 1000;
  InterfaceStats& s = stats_[iface_base_ + id];
  s = InterfaceStats{};
  s.stated = true;
  for_each_option(body + 12, len - 12, swapped_, [&](uint16_t code, const uint8_t* v, uint16_t olen) {
    if (olen < 8) return;
    const uint64_t u64 = load<uint64_t>(v, swapped_);
    switch (code) {
      case 2:  // isb_starttime, as EPB timestamps: high word first
      case 3: {
        const uint64_t ticks = (uint64_t{load<uint32_t>(v, swapped_)} << 32) | load<uint32_t>(v + 4, swapped_);
        (code == 2 ? s.start_ns : s.end_ns) = to_ns(iface, ticks);
        if (iface.ts_units_per_s != micro.ts_units_per_s) (code == 2 ? s.start_us_ns : s.end_us_ns) = to_ns(micro, ticks);
        break;
      }
      case 4: s.if_recv = u64; break;
      case 5: s.if_drop = u64; break;
      case 7: s.os_drop = u64; break;
      default: break;
    }
  });
}

// Records form a chain (each header's offset comes from the previous caplen), so the CPU
// cannot run ahead by itself: ask for every cache line kPrefetchAhead bytes in advance.
// Every kPopulateWindow bytes it also hands back pages far behind and, when page faults turn
// out to be fine-grained, fills page tables a window at a time (see populate()).
inline void Reader::prefetch() noexcept {
  const std::size_t want = pos_ + kPrefetchAhead < size_ ? pos_ + kPrefetchAhead : size_;
  if (want > populated_) [[unlikely]] populate();
  while (prefetched_ < want) {
    __builtin_prefetch(base_ + prefetched_);
    prefetched_ += 64;
  }
}

// Page cache of a file written in small writes (tcpdump, editcap) is made of small folios and
// faults ~6x more often than one written in large writes or read back from disk; for those,
// one MADV_POPULATE_READ per window beats the faults (+30%), for the others it costs (-40%).
// So: count this thread's minor faults over the first window, then decide once.
void Reader::populate() noexcept {
  const std::size_t end = populated_ + kPopulateWindow < size_ ? populated_ + kPopulateWindow : size_;
  // Give back the pages more than a window behind: the process RSS stays ~20 MB whatever the
  // file size (mapped file pages count towards RSS and the OOM score). Earlier spans stay
  // valid: an untouched MAP_PRIVATE page refaults from the page cache with the same bytes.
  const std::size_t keep_from = pos_ > 2 * kPopulateWindow ? (pos_ - 2 * kPopulateWindow) & ~(kPopulateWindow - 1) : 0;
  if (keep_from > released_) {
    ::madvise(const_cast<uint8_t*>(base_) + released_, keep_from - released_, MADV_DONTNEED);
    released_ = keep_from;
  }
#ifdef MADV_POPULATE_READ
  if (populate_ == Populate::kUndecided) {
    struct rusage ru {};
    ::getrusage(RUSAGE_THREAD, &ru);
    if (populated_ == populate_from_) {
      faults_at_start_ = ru.ru_minflt;
    } else {  // one window read with plain faults: more than one per 256 KiB means small folios
      const long faults = ru.ru_minflt - faults_at_start_;
      populate_ = faults > static_cast<long>((populated_ - populate_from_) / (256 * 1024)) ? Populate::kYes : Populate::kNo;
    }
  }
  if (populate_ == Populate::kYes &&
      ::madvise(const_cast<uint8_t*>(base_) + populated_, end - populated_, MADV_POPULATE_READ) != 0) {
    populate_ = Populate::kNo;  // older kernel: plain page faults it is
  }
#endif
  populated_ = end;
}

bool Reader::next(Packet& out) {
  if (format_ == Format::kPcapng) return next_pcapng(out);
  for (;;) {
    if (pos_ >= stop_at_) [[unlikely]] return at_end();
    const std::size_t left = size_ - pos_;
    if (left == 0) [[unlikely]] {
      if (more()) continue;
      return at_end();
    }
    // Records are a chain (each header's offset comes from the previous caplen), so the
    // hardware cannot run ahead on its own: fetch the bytes a few records ahead now.
    prefetch();
    const std::span<const uint8_t> rest(base_ + pos_, left);
    const Decode d = decode_record(pcap_, rest, out);
    if (d != Decode::kOk) [[unlikely]] {
      if (d == Decode::kCorrupt) fail(corrupt_record_message(pcap_, rest, consumed_ + pos_));
      if (more()) continue;            // a stream: the record's bytes are still coming
      return cut_short(pos_, nullptr);  // the capture ends inside the record
    }
    pos_ += kPcapRecordHeaderLen + out.data.size();
    ++records_;
    return true;
  }
}

std::optional<std::size_t> Reader::find_record(std::size_t from, std::size_t to) const {
  if (!splittable()) return std::nullopt;
  if (format_ == Format::kPcapng) {
    // The reference time: the first packet's, when the first packet block is an EPB.
    if (first_record_ + 32 > size_ || load<uint32_t>(base_ + first_record_, swapped_) != kEpb) return std::nullopt;
    const uint8_t* b = base_ + first_record_ + 8;
    const uint32_t id = load<uint32_t>(b, swapped_);
    if (id >= ifaces_.size()) return std::nullopt;
    const int64_t first_ns =
        to_ns(ifaces_[id], (uint64_t{load<uint32_t>(b + 4, swapped_)} << 32) | load<uint32_t>(b + 8, swapped_));
    to = std::min(to, size_);
    // Blocks start at multiples of 4 (every block's length is one).
    for (std::size_t at = (std::max(from, first_record_) + 3) & ~std::size_t{3}; at < to; at += 4)
      if (plausible_blocks(at, first_ns)) return at;
    return std::nullopt;
  }
  Packet first;
  if (decode_record(pcap_, {base_ + kPcapHeaderLen, size_ - kPcapHeaderLen}, first) != Decode::kOk) return std::nullopt;
  constexpr int64_t kHourNs = 3600LL * 1000000000LL;
  constexpr int64_t kDayNs = 24 * kHourNs;
  const uint32_t frac_limit = pcap_.nanos ? 1000000000u : 1000000u;
  auto plausible_at = [&](std::size_t at) {
    std::size_t p = at;
    int64_t prev_ns = 0;
    for (unsigned k = 0; k < kRecordsToSync; ++k) {
      if (p == size_) return k > 0;  // the file ends exactly after a record
      Packet rec;
      if (decode_record(pcap_, {base_ + p, size_ - p}, rec) != Decode::kOk) return false;
      if (detail::load<uint32_t>(base_ + p + 4, pcap_.swapped) >= frac_limit) return false;
      // Not before the file's first record (by more than a day: clocks step), and each within
      // an hour of the one before: a capture may run for days, its records do not jump about.
      if (rec.ts_ns < first.ts_ns - kDayNs) return false;
      if (k > 0 && (rec.ts_ns < prev_ns - kHourNs || rec.ts_ns > prev_ns + kHourNs)) return false;
      prev_ns = rec.ts_ns;
      p += kPcapRecordHeaderLen + rec.data.size();
    }
    return true;
  };
  to = std::min(to, size_);
  for (std::size_t at = std::max(from, kPcapHeaderLen); at < to; ++at)
    if (plausible_at(at)) return at;
  return std::nullopt;
}

bool Reader::plausible_blocks(std::size_t at, int64_t first_ns) const {
  constexpr int64_t kHourNs = 3600LL * 1000000000LL;
  constexpr int64_t kDayNs = 24 * kHourNs;
  std::size_t p = at;
  int64_t prev_ns = first_ns;
  bool packet = false;  // a packet block was met (prev_ns is its time)
  for (unsigned k = 0; k < kRecordsToSync; ++k) {
    if (p == size_) return k > 0;  // the file ends exactly after a block
    if (size_ - p < 12) return false;
    const uint8_t* b = base_ + p;
    const uint32_t type = load<uint32_t>(b, swapped_);
    const uint32_t len = load<uint32_t>(b + 4, swapped_);
    if (len < 12 || len % 4 != 0 || len > kMaxBlockLen || len > size_ - p) return false;
    if (load<uint32_t>(b + len - 4, swapped_) != len) return false;
    switch (type) {
      case kEpb: {
        if (len < 32) return false;
        const uint32_t id = load<uint32_t>(b + 8, swapped_);
        const uint32_t caplen = load<uint32_t>(b + 20, swapped_);
        if (id >= ifaces_.size() || caplen > kMaxCaplen || caplen > len - 32) return false;
        const int64_t ns =
            to_ns(ifaces_[id], (uint64_t{load<uint32_t>(b + 12, swapped_)} << 32) | load<uint32_t>(b + 16, swapped_));
        if (ns < first_ns - kDayNs) return false;
        if (packet && (ns < prev_ns - kHourNs || ns > prev_ns + kHourNs)) return false;
        prev_ns = ns;
        packet = true;
        break;
      }
      case kIsb:
        if (len < 24 || load<uint32_t>(b + 8, swapped_) >= ifaces_.size()) return false;
        break;
      case 4:            // name resolution
      case 10:           // decryption secrets
      case 0x00000bad:   // custom, copiable
      case 0x40000bad:   // custom, not copiable
        break;
      default:  // a section header, interface description, simple packet or unknown block
        return false;
    }
    p += len;
  }
  return true;
}

void Reader::restrict(std::size_t begin, std::size_t end) {
  if (!splittable() || begin < first_record_ || begin > size_) throw Error(ExitCode::kInternal, path_ + ": cannot read from byte " + std::to_string(begin));
  pos_ = begin;
  stop_at_ = end;
  restricted_ = true;
  // A later range's statistics are the blocks in it: the opening's are the first range's.
  if (begin > first_record_)
    for (InterfaceStats& s : stats_) s = InterfaceStats{};
  // Prefetching and page handling start at the range, not at the file's first byte.
  prefetched_ = populated_ = released_ = populate_from_ = begin & ~std::size_t{4095};
}

bool Reader::next_pcapng(Packet& out) {
  for (;;) {
    if (pos_ >= stop_at_) [[unlikely]] return at_end();
    if (size_ == pos_ && !more()) return at_end();
    prefetch();
    if (!need(4)) return cut_short(pos_, "block header");
    const uint32_t type = load<uint32_t>(base_ + pos_, swapped_);
    const bool is_packet = type == kEpb || type == kSpb || type == kPb;
    // What depends on the blocks before it (a new section, interface, the previous packet's time).
    if (restricted_ && (type == kShbType || type == kIdb || type == kSpb)) [[unlikely]] return unclean();
    if (type == kShbType) {  // byte order may change: read_shb decides
      if (!read_shb()) return false;
      continue;
    }
    if (!need(12)) return cut_short(pos_, is_packet ? nullptr : block_name(type));
    const uint32_t len = load<uint32_t>(base_ + pos_ + 4, swapped_);
    if (len < 12 || len % 4 != 0 || len > kMaxBlockLen) [[unlikely]] {
      corrupt(pos_, "block length " + std::to_string(len) + " is impossible");
    }
    if (!need(len)) return cut_short(pos_, is_packet ? nullptr : block_name(type));
    const std::size_t at = pos_;  // need() may have moved the bytes: positions from here
    const uint8_t* b = base_ + at;
    if (load<uint32_t>(b + len - 4, swapped_) != len) [[unlikely]] {
      corrupt(at, "block lengths disagree (" + std::to_string(len) + " at the start, " +
                      std::to_string(load<uint32_t>(b + len - 4, swapped_)) + " at the end)");
    }
    if (opening_ && is_packet) return false;  // constructor: stop before the first packet
    const uint8_t* body = b + 8;
    const std::size_t body_len = len - 12;
    pos_ = at + len;
    switch (type) {
      case kEpb:
      case kPb: {
        if (body_len < 20) corrupt(at, "packet block too short");
        uint32_t id;
        if (type == kEpb) {
          id = load<uint32_t>(body, swapped_);
        } else {
          id = load<uint16_t>(body, swapped_);
        }
        const uint64_t ticks =
            (uint64_t{load<uint32_t>(body + 4, swapped_)} << 32) | load<uint32_t>(body + 8, swapped_);
        const uint32_t caplen = load<uint32_t>(body + 12, swapped_);
        const uint32_t wire = load<uint32_t>(body + 16, swapped_);
        if (caplen > kMaxCaplen) [[unlikely]] {
          corrupt(at, "captured length " + std::to_string(caplen) + " > " + std::to_string(kMaxCaplen));
        }
        if (caplen > body_len - 20) [[unlikely]] {
          corrupt(at, "captured length " + std::to_string(caplen) + " does not fit in a block of " +
                          std::to_string(len) + " bytes");
        }
        if (id >= ifaces_.size()) [[unlikely]] {
          corrupt(at, "packet for interface " + std::to_string(id) + ", but the section declares " +
                          std::to_string(ifaces_.size()));
        }
        const Iface& iface = ifaces_[id];
        out.data = std::span<const uint8_t>(body + 20, caplen);
        out.wire_len = wire < caplen ? caplen : wire;
        out.ts_ns = to_ns(iface, ticks);
        out.linktype = iface.linktype;
        out.interface = iface_base_ + id;
        last_ts_ns_ = out.ts_ns;
        ++records_;
        return true;
      }
      case kSpb: {
        if (body_len < 4) corrupt(at, "simple packet block too short");
        if (ifaces_.empty()) corrupt(at, "simple packet block before any interface description");
        const Iface& iface = ifaces_[0];
        const uint32_t wire = load<uint32_t>(body, swapped_);
        std::size_t caplen = body_len - 4;
        if (wire < caplen) caplen = wire;
        if (iface.snaplen != 0 && iface.snaplen < caplen) caplen = iface.snaplen;
        if (caplen > kMaxCaplen) [[unlikely]] {
          corrupt(at, "captured length " + std::to_string(caplen) + " > " + std::to_string(kMaxCaplen));
        }
        out.data = std::span<const uint8_t>(body + 4, caplen);
        out.wire_len = wire < caplen ? static_cast<uint32_t>(caplen) : wire;
        out.ts_ns = last_ts_ns_;
        out.linktype = iface.linktype;
        out.interface = iface_base_;
        ++records_;
        return true;
      }
      case kIdb:
        read_idb(body, body_len, at);
        break;
      case kIsb:
        read_isb(body, body_len, at);
        break;
      default:  // name resolution, decryption secrets, custom, unknown: not needed
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Writer

Writer::Writer(const std::string& path, uint32_t linktype, uint32_t snaplen, bool nanos, Existing existing)
    : path_(path), nanos_(nanos), buf_(1 << 20), snaplen_(snaplen) {
  out_.emplace(path, existing);
  f_ = out_->stream();
  std::setvbuf(f_, reinterpret_cast<char*>(buf_.data()), _IOFBF, buf_.size());
  uint8_t h[kPcapHeaderLen];
  const uint32_t magic = nanos ? kPcapMagicNs : kPcapMagicUs;
  const uint16_t major = 2, minor = 4;
  const uint32_t zero = 0;
  std::memcpy(h, &magic, 4);
  std::memcpy(h + 4, &major, 2);
  std::memcpy(h + 6, &minor, 2);
  std::memcpy(h + 8, &zero, 4);
  std::memcpy(h + 12, &zero, 4);
  std::memcpy(h + 16, &snaplen, 4);
  std::memcpy(h + 20, &linktype, 4);
  if (std::fwrite(h, 1, sizeof h, f_) != sizeof h)
    throw Error(ExitCode::kInput, path + ": cannot write: " + std::strerror(errno));
}

Writer::~Writer() {
  // Written out unless an exception is unwinding: then the file is not created.
  if (f_ && std::uncaught_exceptions() == unwinding_) {
    try {
      close();
    } catch (...) {  // a destructor cannot report it: close() does
    }
  }
}

void Writer::write(int64_t ts_ns, std::span<const uint8_t> data, uint32_t wire_len) {
  if (!f_) throw Error(ExitCode::kInput, path_ + ": write after close");
  const uint32_t caplen = data.size() > snaplen_ ? snaplen_ : static_cast<uint32_t>(data.size());
  int64_t sec = ts_ns / 1000000000LL;
  int64_t rem = ts_ns % 1000000000LL;
  if (rem < 0) {
    rem += 1000000000LL;
    --sec;
  }
  uint32_t h[4] = {static_cast<uint32_t>(sec), static_cast<uint32_t>(nanos_ ? rem : rem / 1000), caplen,
                   wire_len < caplen ? caplen : wire_len};
  if (std::fwrite(h, 1, sizeof h, f_) != sizeof h || std::fwrite(data.data(), 1, caplen, f_) != caplen) {
    throw Error(ExitCode::kInput, path_ + ": cannot write: " + std::strerror(errno));
  }
}

void Writer::close() {
  if (!f_) return;
  f_ = nullptr;
  out_->commit();
}

// ------------------------------------------------------------------ pcapng writer

namespace {

// pcapng option codes (0 and 1 for every block, then per block type).
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfDescription = 3;
constexpr uint16_t kIfTsresol = 9;
constexpr char kTsresolNanoseconds = 9;  // 10^-9 s per timestamp unit
constexpr std::size_t kMaxOptionLen = 0xffff;

// Appends host-order integers and padded options to a block being built.
struct BlockBuilder {
  std::vector<uint8_t>& out;
  void u16(uint16_t v) { append(&v, 2); }
  void u32(uint32_t v) { append(&v, 4); }
  void u64(uint64_t v) { append(&v, 8); }
  // Grows the block, then copies into it: with vector::insert of a few bytes from a local,
  // g++ 12 -O3 inlines its reallocation path and warns of an overflow it cannot prove absent
  // (-Wstringop-overflow, -Warray-bounds), so a plain Release build failed with -Werror.
  void append(const void* p, std::size_t n) {
    const std::size_t at = out.size();
    out.resize(at + n);
    if (n != 0) std::memcpy(out.data() + at, p, n);
  }
  void pad() { out.resize(pad4(out.size()), 0); }
  // An option, its value cut at 65535 bytes; nothing for an empty value.
  void option(uint16_t code, std::string_view value) {
    if (value.empty()) return;
    const std::size_t n = std::min(value.size(), kMaxOptionLen);
    u16(code);
    u16(static_cast<uint16_t>(n));
    append(value.data(), n);
    pad();
  }
  void end_options() { u32(kOptEnd); }
  // Starts a block: its type, and a length that finish() fills in.
  void begin(uint32_t type) {
    out.clear();
    u32(type);
    u32(0);
  }
  // Pads the body, appends the trailing length and fills in the leading one.
  void finish() {
    pad();
    const auto len = static_cast<uint32_t>(out.size() + 4);
    std::memcpy(out.data() + 4, &len, 4);
    u32(len);
  }
};

}  // namespace

PcapngWriter::PcapngWriter(const std::string& path, const std::string& application, Existing existing)
    : path_(path), buf_(1 << 20) {
  out_.emplace(path, existing);
  f_ = out_->stream();
  std::setvbuf(f_, reinterpret_cast<char*>(buf_.data()), _IOFBF, buf_.size());
  BlockBuilder b{block_};
  b.begin(kShbType);
  b.u32(kByteOrderMagic);
  b.u16(1);  // version 1.0
  b.u16(0);
  b.u64(~uint64_t{0});  // section length: not given
  b.option(kShbUserAppl, application);
  b.end_options();
  b.finish();
  put();  // a throw here: out_ removes the file
}

PcapngWriter::~PcapngWriter() {
  // Written out unless an exception is unwinding: then the file is not created.
  if (f_ && std::uncaught_exceptions() == unwinding_) {
    try {
      close();
    } catch (...) {  // a destructor cannot report it: close() does
    }
  }
}

void PcapngWriter::put() {
  if (!f_) throw Error(ExitCode::kInput, path_ + ": write after close");
  if (std::fwrite(block_.data(), 1, block_.size(), f_) != block_.size())
    throw Error(ExitCode::kInput, path_ + ": cannot write: " + std::strerror(errno));
}

uint32_t PcapngWriter::add_interface(const Interface& iface) {
  BlockBuilder b{block_};
  b.begin(kIdb);
  b.u16(static_cast<uint16_t>(iface.linktype));
  b.u16(0);  // reserved
  b.u32(iface.snaplen);
  b.option(kIfName, iface.name);
  b.option(kIfDescription, iface.description);
  b.option(kIfTsresol, std::string_view(&kTsresolNanoseconds, 1));
  b.end_options();
  b.finish();
  put();
  snaplens_.push_back(iface.snaplen);
  return static_cast<uint32_t>(snaplens_.size() - 1);
}

void PcapngWriter::write(uint32_t iface, int64_t ts_ns, std::span<const uint8_t> data,
                         uint32_t wire_len, std::string_view comment) {
  if (iface >= snaplens_.size())
    throw Error(ExitCode::kInternal, path_ + ": packet on interface " + std::to_string(iface) +
                                         " of " + std::to_string(snaplens_.size()));
  const std::size_t limit = snaplens_[iface] ? std::min(snaplens_[iface], kMaxCaplen) : kMaxCaplen;
  const auto caplen = static_cast<uint32_t>(std::min(data.size(), limit));
  const auto ticks = static_cast<uint64_t>(ts_ns);  // if_tsresol 9: ns since 1970
  BlockBuilder b{block_};
  b.begin(kEpb);
  b.u32(iface);
  b.u32(static_cast<uint32_t>(ticks >> 32));
  b.u32(static_cast<uint32_t>(ticks));
  b.u32(caplen);
  b.u32(wire_len < caplen ? caplen : wire_len);
  b.append(data.data(), caplen);
  b.pad();
  if (!comment.empty()) {
    b.option(kOptComment, comment);
    b.end_options();
  }
  b.finish();
  put();
}

void PcapngWriter::close() {
  if (!f_) return;
  f_ = nullptr;
  out_->commit();
}

}  // namespace pathtrace::pcapfile
