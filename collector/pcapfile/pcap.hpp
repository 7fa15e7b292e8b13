#pragma once
// The classic pcap format (libpcap's, what `tcpdump -w` writes), decoded in one place for the
// file Reader (pcapfile.hpp) and the StreamParser (stream.hpp): the 24-byte global header
// (four magics: either byte order, micro- or nanosecond timestamps), the 16-byte record header
// (the caplen and wire-length rules, kMaxCaplen) and the texts of its errors. Decoding is pure:
// it reads only inside the span it is given, allocates nothing and never throws; bad bytes are
// a Decode status, and their text is built only when the caller asks for it.
//
//   24-byte global header                  16-byte record header, then caplen bytes
//   magic | 2.4 | 0 | 0 | snaplen | link   sec | usec or nsec | caplen | wire length | data…

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace pathtrace::pcapfile {

// One packet as stored: `data` points into the reader's bytes (the Reader's mapping, the
// StreamParser's buffer) and stays valid as long as that reader says.
struct Packet {
  std::span<const uint8_t> data;  // captured bytes
  uint32_t wire_len = 0;          // original length on the wire (never below data.size())
  int64_t ts_ns = 0;              // UNIX time, nanoseconds
  uint32_t linktype = 0;          // LINKTYPE_* of the interface that captured it
  uint32_t interface = 0;         // pcapng interface index (0 for pcap), counted across sections
};

// Largest captured length accepted for one packet (256 KiB); more is a corrupt record.
inline constexpr uint32_t kMaxCaplen = 256 * 1024;
// Sizes of the classic pcap global header and record header.
inline constexpr std::size_t kPcapHeaderLen = 24;
inline constexpr std::size_t kPcapRecordHeaderLen = 16;

// What a classic pcap global header says.
struct PcapHeader {
  bool swapped = false;   // written in the other byte order than this host's
  bool nanos = false;     // nanosecond timestamps (magic a1b23c4d), else microseconds
  uint32_t snaplen = 0;   // as written; records above it are accepted (only kMaxCaplen is not)
  uint32_t linktype = 0;  // LINKTYPE_*, without the FCS bits libpcap keeps above bit 25
};

// What decoding a header or a record found.
enum class Decode : uint8_t {
  kOk,        // decoded
  kNeedMore,  // the bytes end before the header or record does: a stream waits, a file is cut
  kCorrupt,   // not a pcap magic (header), or a captured length above kMaxCaplen (record)
};

// True if the first min(4, size) bytes of `bytes` are the start of a pcap magic (so an empty
// span is true: nothing contradicts it yet).
bool starts_like_pcap(std::span<const uint8_t> bytes) noexcept;

// Decodes the global header at the start of `bytes` into `out`: kCorrupt when the first bytes
// are no pcap magic (judged on as many of its 4 bytes as there are), kNeedMore when fewer than
// 24 bytes are there, else kOk.
Decode decode_header(std::span<const uint8_t> bytes, PcapHeader& out) noexcept;

namespace detail {
// Loads a T stored at p in the capture's byte order (`swapped`: differs from the host's).
template <typename T>
inline T load(const uint8_t* p, bool swapped) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  if (!swapped) return v;
  if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
  if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
  if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(v));
  return v;
}
}  // namespace detail

// Decodes the record at the start of `bytes` (a header `h` has described) into `out`: its
// captured bytes (pointing into `bytes`), wire length, timestamp and link type; interface 0.
// kNeedMore when `bytes` end inside the record header or its captured bytes; kCorrupt when
// the captured length is above kMaxCaplen, said as soon as the header is whole (a stream never
// waits for a gigabyte). Lenient where libpcap is: a captured length above the snaplen is
// accepted, and a wire length below the captured length is raised to it. On success the record
// is kPcapRecordHeaderLen + out.data.size() bytes long. Inline: the Reader's hot path.
inline Decode decode_record(const PcapHeader& h, std::span<const uint8_t> bytes, Packet& out) noexcept {
  if (bytes.size() < kPcapRecordHeaderLen) return Decode::kNeedMore;
  const uint8_t* p = bytes.data();
  const uint32_t sec = detail::load<uint32_t>(p, h.swapped);
  const uint32_t frac = detail::load<uint32_t>(p + 4, h.swapped);
  const uint32_t caplen = detail::load<uint32_t>(p + 8, h.swapped);
  const uint32_t wire = detail::load<uint32_t>(p + 12, h.swapped);
  if (caplen > kMaxCaplen) [[unlikely]] return Decode::kCorrupt;
  if (caplen > bytes.size() - kPcapRecordHeaderLen) return Decode::kNeedMore;
  out.data = bytes.subspan(kPcapRecordHeaderLen, caplen);
  out.wire_len = wire < caplen ? caplen : wire;
  out.ts_ns = static_cast<int64_t>(sec) * 1000000000LL + static_cast<int64_t>(frac) * (h.nanos ? 1 : 1000);
  out.linktype = h.linktype;
  out.interface = 0;
  return Decode::kOk;
}

// Error texts, shared so that a file and a stream say the same thing about the same bytes.
// `source` is "file" or "stream"; byte offsets count from the first byte of the capture.

// The first bytes of `bytes` (at most 4) in hex: "50 4b 03 04".
std::string hex_bytes(std::span<const uint8_t> bytes);
// "not a pcap or pcapng file (starts with 50 4b 03 04)" / "not a pcap stream (starts with …)":
// `formats` names what was expected ("pcap or pcapng", "pcap"); at most 4 bytes are shown. The
// "modified pcap" magic (a1b2cd34) gets a line on how to rewrite the file.
std::string not_a_capture_message(const char* formats, const char* source, std::span<const uint8_t> first);
// "header cut short (pcap file header needs 24 bytes, stream has 7)": `have` bytes in all.
std::string header_cut_message(const char* source, std::size_t have);
// "truncated at byte N (inside packet record K)": the bytes ended at `end`, inside record `record`
// (counted from 1).
std::string truncated_message(uint64_t end, uint64_t record);
// "corrupt record at byte N: WHY".
std::string corrupt_message(uint64_t at, const std::string& why);
// Why decode_record() said kCorrupt of the record at the start of `bytes`, found at byte `at`:
// "corrupt record at byte N: captured length X > 262144 (snaplen S)".
std::string corrupt_record_message(const PcapHeader& h, std::span<const uint8_t> bytes, uint64_t at);

}  // namespace pathtrace::pcapfile
