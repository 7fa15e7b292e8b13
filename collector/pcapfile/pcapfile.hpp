#pragma once
// Capture files without libpcap: a reader for pcap (both byte orders, microsecond and
// nanosecond) and pcapng (any sections, interfaces, EPB/SPB/OPB, ISB statistics) — plain files
// memory-mapped, gzip/zstd files, pipes and standard input streamed through input.hpp —, a
// small pcap writer for tests, the demo and the benchmark generator, and a pcapng writer with
// named interfaces and per-packet comments (`pathtrace export`).
//
// Reading is the hot path of `pathtrace ingest`: no copy of a mapped file, no allocation per
// packet. Classic pcap headers and records are decoded by pcap.hpp, shared with the
// StreamParser (stream.hpp).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "collector/pcapfile/input.hpp"
#include "collector/common/output_file.hpp"
#include "collector/pcapfile/pcap.hpp"

namespace pathtrace::pcapfile {

// What a pcapng Interface Statistics Block said (the last one seen per interface).
// Every field is optional because writers include what they like. Interfaces are numbered
// across sections (the first interface of section 2 follows the last one of section 1).
struct InterfaceStats {
  std::optional<int64_t> start_ns;   // isb_starttime
  std::optional<int64_t> end_ns;     // isb_endtime
  // The same two times read as microseconds, when the interface counts in other units: dumpcap
  // (Wireshark 4.0, Debian 12's) writes them in microseconds whatever its interface's
  // if_tsresol says. Which reading holds the file's packets decides (add_file_stats).
  std::optional<int64_t> start_us_ns, end_us_ns;
  std::optional<uint64_t> if_recv;   // isb_ifrecv
  std::optional<uint64_t> if_drop;   // isb_ifdrop
  std::optional<uint64_t> os_drop;   // isb_osdrop
  bool stated = false;               // a statistics block for the interface was read
};

// One interface of a capture (pcap: the file's only one), as its description block said.
struct InterfaceInfo {
  uint32_t linktype = 0;    // LINKTYPE_*
  uint32_t snaplen = 0;     // as written (0: none given)
  std::string name;         // pcapng if_name ("" when not given, and for pcap)
  std::string description;  // pcapng if_description
};

// "cut short at byte END (inside packet record RECORDS + 1): read the RECORDS records before
// it": what Reader::cut() says of a file that ends inside a record.
std::string cut_record_message(uint64_t end, uint64_t records);

// Which of the two formats a Reader found.
enum class Format { kPcap, kPcapng };

// Opens `path` ("-": standard input). A plain regular file is memory-mapped; a gzip or zstd
// file (told by its first bytes, not its name), a pipe or standard input is read as a stream
// through input.hpp. Throws pathtrace::Error(ExitCode::kInput) naming the file when it does not
// exist, cannot be read, is empty, is not pcap/pcapng (saying what the first bytes were), its
// compressed data is corrupt, or its header is cut short.
class Reader {
 public:
  explicit Reader(const std::string& path);
  ~Reader();  // unmaps: the spans of every packet read become invalid
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // pcap or pcapng, from the first bytes.
  Format format() const noexcept { return format_; }
  // How the file was compressed (kNone: plain, mapped unless a pipe or standard input).
  Codec codec() const noexcept;
  // Link type of the first interface (pcap: the file's). 0 if a pcapng has no interface yet.
  uint32_t linktype() const noexcept { return linktype_; }
  // Snapshot length of the first interface (pcap: the file's), as written.
  uint32_t snaplen() const noexcept { return snaplen_; }
  // The interfaces declared so far, indexed as Packet::interface (across sections); after
  // the constructor, those declared before the first packet. pcap: one, without a name.
  const std::vector<InterfaceInfo>& interfaces() const noexcept { return interfaces_; }

  // Reads the next packet into `out`; returns false at the end of the capture, or where it
  // was cut short (then cut() says where). Its data stays valid while the Reader lives for a
  // mapped file, until the next call of next() for a stream.
  // A capture that ends inside a record or block (killed, disk full, `head -c`, a cut .gz) is
  // read up to there: cut() then says "cut short at byte N (inside packet record K): read the
  // K-1 records before it". Throws Error(kInput) "FILE: corrupt record at byte N: why" for
  // impossible lengths (garbage inside the file), and for corrupt compressed data.
  // Lenient where real tools are: caplen > snaplen is accepted (only caplen > kMaxCaplen is
  // corrupt), and a wire length below the captured length is raised to the captured length.
  // A pcapng Simple Packet Block has no timestamp: it gets the previous packet's (0 if first).
  bool next(Packet& out);
  // "" while the capture is whole; once next() stopped at a cut, where and how many records
  // were read (byte offsets count the decompressed bytes of a compressed file).
  const std::string& cut() const noexcept { return cut_; }

  // Bytes of the file read so far, and its size (compressed bytes for a compressed file; size
  // 0 when unknown: a pipe, standard input), for progress reports.
  std::size_t position() const noexcept;
  std::size_t file_size() const noexcept { return file_size_; }

  // Splitting one big file across threads (pathtrace ingest). Only a memory-mapped file can be
  // split: its records (pcap) or blocks (pcapng) are a chain of lengths, so a reader may start
  // in the middle only at a record that find_record() recognised, and the reader of the range
  // before proves it right by landing exactly on it (offset() once it stopped).
  bool splittable() const noexcept { return mapped_; }
  // The first byte in [from, to) where kRecordsToSync records in a row (or all up to the end
  // of the file) decode as this file's, each no earlier than a day before the file's first
  // packet and within an hour of the packet before. pcap: each record within kMaxCaplen, a
  // sub-second part below one second (lengths are not held to the snaplen: real writers break
  // it). pcapng: 4-byte aligned blocks whose length is stated alike at both ends, each an
  // enhanced packet block of a declared interface with its captured length inside it, or a
  // statistics, name resolution, decryption secrets or custom block. Nothing found: nullopt.
  // Splittable files only.
  static constexpr unsigned kRecordsToSync = 64;
  std::optional<std::size_t> find_record(std::size_t from, std::size_t to) const;
  // From now on, reads the records from byte `begin` (first_record(), or one find_record()
  // found) until the first record that starts at or past `end`. Before the first next();
  // splittable files only. A range after the first starts with no statistics blocks.
  void restrict(std::size_t begin, std::size_t end);
  // False once a restricted reader met what a reader of one range cannot read as a reader of
  // the whole file does (pcapng: a section header, an interface description or a simple packet
  // block — they depend on the blocks before the range —, or the file cut short inside a block
  // that is not a packet's). It then stopped there: read the file whole instead.
  bool range_clean() const noexcept { return range_clean_; }
  // The byte of the next record to read (splittable files): once next() returned false for a
  // range, where the records before it ended.
  std::size_t offset() const noexcept { return pos_; }
  // The byte where the first record starts (splittable files): after the pcap header, or the
  // pcapng blocks before the first packet.
  std::size_t first_record() const noexcept { return first_record_; }
  // Records read so far (by this reader: of a range, those in it).
  uint64_t records() const noexcept { return records_; }

  // Statistics blocks seen so far (pcapng only), indexed by interface.
  const std::vector<InterfaceStats>& interface_stats() const noexcept { return stats_; }

 private:
  static constexpr std::size_t kStreamChunk = 256 * 1024;  // bytes read from a stream at once
  std::string path_;
  const uint8_t* base_ = nullptr;  // mapped file, or buf_
  std::size_t size_ = 0;           // bytes at base_
  std::size_t pos_ = 0;            // next record at base_ + pos_
  bool mapped_ = false;
  std::size_t file_size_ = 0;
  std::unique_ptr<ByteStream> stream_;  // not mapped: where the bytes come from
  std::vector<uint8_t> buf_;            // stream: the unread bytes (less than a record) and a chunk
  uint64_t consumed_ = 0;               // stream: capture offset of base_[0]
  bool stream_end_ = false;             // stream: no more bytes
  bool ended_ = false;                  // next() has returned false for good
  std::string cut_;
  std::vector<InterfaceInfo> interfaces_;
  uint64_t records_ = 0;      // packet records returned so far (for error texts)
  Format format_ = Format::kPcap;
  PcapHeader pcap_;           // pcap: what the global header said
  bool swapped_ = false;      // pcapng: the current section's byte order differs from ours
  uint32_t linktype_ = 0;
  uint32_t snaplen_ = 0;
  struct Iface {
    uint32_t linktype = 0;
    uint64_t ts_units_per_s = 1000000;  // from if_tsresol
    int64_t ts_offset_s = 0;            // if_tsoffset
    uint64_t ns_per_unit = 1000;        // 1e9 / ts_units_per_s when exact, else 0
    uint32_t snaplen = 0;
  };
  std::vector<Iface> ifaces_;  // pcapng, current section
  std::vector<InterfaceStats> stats_;
  uint32_t iface_base_ = 0;    // pcapng: interfaces declared in earlier sections
  int64_t last_ts_ns_ = 0;     // pcapng: for Simple Packet Blocks
  bool opening_ = false;       // pcapng: constructor reading blocks ahead of the first packet
  std::size_t stop_at_ = SIZE_MAX;  // restrict(): no record is read that starts at or past it
  bool restricted_ = false;         // restrict() was called
  bool range_clean_ = true;         // see range_clean()
  std::size_t first_record_ = 0;    // see first_record()
  std::size_t prefetched_ = 0; // cache lines below this offset have been prefetched
  std::size_t populated_ = 0;  // page tables are filled below this offset
  std::size_t released_ = 0;   // pages below this offset were handed back (MADV_DONTNEED)
  enum class Populate : uint8_t { kUndecided, kYes, kNo };
  Populate populate_ = Populate::kUndecided;  // fill page tables with MADV_POPULATE_READ?
  long faults_at_start_ = 0;                  // minor faults when the first window began
  std::size_t populate_from_ = 0;             // where the first window begins (restrict())
  void prefetch() noexcept;
  void populate() noexcept;
  bool more();                  // stream: more bytes after the unread ones; false at the end
  bool need(std::size_t n);     // at least n unread bytes (reading more from a stream)
  bool next_pcapng(Packet& out);
  bool plausible_blocks(std::size_t at, int64_t first_ns) const;  // find_record, pcapng
  bool unclean();  // a restricted reader met what it cannot read: range_clean() false; false
  void open_pcap();
  void open_pcapng();
  bool read_shb();
  void read_idb(const uint8_t* body, std::size_t len, std::size_t at);
  void read_isb(const uint8_t* body, std::size_t len, std::size_t at);
  int64_t to_ns(const Iface& iface, uint64_t ticks) const noexcept;
  [[noreturn]] void fail(const std::string& what) const;
  bool cut_short(std::size_t block_start, const char* inside);  // records the cut; false
  bool at_end();                                                 // the clean end (or a cut .gz); false
  [[noreturn]] void corrupt(std::size_t at, const std::string& why) const;
};

// Writes a classic pcap file (nanosecond magic by default), created as every output file is
// (collector/common/output_file.hpp: 0600, beside it until close(), never through a link; an
// existing file is replaced unless `existing` is kRefuse). Throws Error(kUsage) naming the
// file if it cannot be created or put in place, Error(kInput) if a write fails. Used by
// `export`, tests, the lab tooling and bench/.
// The snapshot length a Writer's header gives when none is asked for.
inline constexpr uint32_t kDefaultSnaplen = 262144;

class Writer {
 public:
  Writer(const std::string& path, uint32_t linktype, uint32_t snaplen = kDefaultSnaplen, bool nanos = true,
         Existing existing = Existing::kReplace);
  ~Writer();  // close(), unless an exception is unwinding (then no file is left)
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Appends one record; data beyond snaplen is cut (wire_len keeps the original length).
  void write(int64_t ts_ns, std::span<const uint8_t> data, uint32_t wire_len);
  // Appends one record whose wire length is its captured length.
  void write(int64_t ts_ns, std::span<const uint8_t> data) { write(ts_ns, data, static_cast<uint32_t>(data.size())); }
  // Flushes, closes and puts the file in place now, throwing Error(kUsage) if the data could not
  // be written.
  void close();

 private:
  std::string path_;
  bool nanos_;
  std::vector<uint8_t> buf_;  // the stream's buffer: declared first, destroyed after out_ closes the stream
  uint32_t snaplen_ = 0;
  std::optional<OutputFile> out_;
  std::FILE* f_ = nullptr;  // out_'s stream until close()
  int unwinding_ = std::uncaught_exceptions();
};

// Writes a pcapng file: one section (in the host's byte order; shb_userappl), an Interface
// Description Block per add_interface() (if_name, if_description, if_tsresol 9: nanosecond
// timestamps) and an Enhanced Packet Block per packet, with its original length and an
// optional opt_comment. Created as the Writer's file is (0600, never through a link, put in
// place by close()). Throws Error(kUsage) naming the file if it cannot be created or put in
// place, Error(kInput) if a write fails.
class PcapngWriter {
 public:
  struct Interface {
    uint32_t linktype = 1;     // LINKTYPE_*
    uint32_t snaplen = 0;      // captured bytes beyond this are cut; 0: no limit
    std::string name;          // if_name ("": none)
    std::string description;   // if_description ("": none)
  };
  // Creates `path` and writes the Section Header Block naming `application`.
  explicit PcapngWriter(const std::string& path, const std::string& application = "pathtrace",
                        Existing existing = Existing::kReplace);
  ~PcapngWriter();  // close(), unless an exception is unwinding (then no file is left)
  PcapngWriter(const PcapngWriter&) = delete;
  PcapngWriter& operator=(const PcapngWriter&) = delete;
  // Writes an Interface Description Block; returns the interface's index (0, 1, ...).
  uint32_t add_interface(const Interface& iface);
  // Appends one Enhanced Packet Block on interface `iface` (an index add_interface returned,
  // else Error(kInternal)). Bytes beyond the interface's snaplen (or kMaxCaplen) are
  // cut; a wire length below the captured length is raised to it. An empty comment writes no
  // opt_comment.
  void write(uint32_t iface, int64_t ts_ns, std::span<const uint8_t> data, uint32_t wire_len,
             std::string_view comment = {});
  // Flushes, closes and puts the file in place now, throwing Error(kUsage) if the data could not
  // be written.
  void close();

 private:
  void put();  // writes block_
  std::string path_;
  std::vector<uint8_t> buf_;        // the stream's buffer: declared first, destroyed after out_ closes the stream
  std::vector<uint32_t> snaplens_;  // per interface
  std::vector<uint8_t> block_;      // the block being built, reused
  std::optional<OutputFile> out_;
  std::FILE* f_ = nullptr;          // out_'s stream until close()
  int unwinding_ = std::uncaught_exceptions();
};

}  // namespace pathtrace::pcapfile
