#pragma once
// The collector ⇄ correlator wire format (docs/wire.md): versioned, length-prefixed frames,
// the same bytes over TCP and over a pipe (ssh stdout). Pure: no sockets, no clocks.
//
//   frame = [u32 LE length][u8 type][payload]      length = 1 + payload size, ≤ kMaxFrame
//
//   collector ──HELLO, CHAIN*, RECORDS* (each with a KEPT with --keep-bytes), STATS*, BYE──▶ correlator
//   collector ◀──────────── STOP | REJECT ──────────── correlator
//
// Rare frames (HELLO, STATS, BYE) carry JSON objects; CHAIN, RECORDS and KEPT are binary.
// Decoding never throws on bad bytes: it yields a precise reason and stops.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "collector/packet/accounting.hpp"
#include "collector/packet/packet.hpp"

namespace pathtrace::wire {

// Frame format version spoken by this build; carried in HELLO. Bumped on any change a peer
// of the previous version would misread (binary layouts, new frame types, changed meanings),
// not for optional JSON fields. 2 since pathtrace 0.1.0 (KEPT).
constexpr uint32_t kWireVersion = 2;

// Capabilities a collector announces in HELLO's "caps" (docs/wire.md): features a peer may
// check by name instead of by release. A HELLO without "caps" (pathtrace 0.1.0) has none
// listed, though its wire version 2 implies "kept".
inline constexpr const char* kCapKept = "kept";        // sends KEPT frames with --keep-bytes
inline constexpr const char* kCapDigest2 = "digest2";  // digest v2: packet::translation_key applies
// This build's capabilities.
std::vector<std::string> capabilities();
// Largest allowed value of the length field (type byte + payload): 1 MiB.
constexpr uint32_t kMaxFrame = 1u << 20;
// Bytes before the payload: u32 length + u8 type.
constexpr std::size_t kHeaderSize = 5;
// Most records one RECORDS frame may carry (worst case 29 bytes each: < kMaxFrame).
constexpr std::size_t kMaxRecordsPerFrame = 16384;

// Frame type byte.
enum class FrameType : uint8_t {
  kHello = 0x01,    // collector → correlator, first frame: who and where (JSON)
  kChain = 0x02,    // collector → correlator: flow dictionary entry (binary)
  kRecords = 0x03,  // collector → correlator: batch of packet records (binary)
  kStats = 0x04,    // collector → correlator: capture statistics so far (JSON)
  kBye = 0x05,      // collector → correlator, last frame: final stats + reason (JSON)
  kKept = 0x06,     // collector → correlator: first bytes of the previous RECORDS frame's packets
  kStop = 0x10,     // correlator → collector: stop capturing, flush, BYE (UTF-8 reason)
  kReject = 0x11,   // correlator → collector: session refused; connection closes (UTF-8 reason)
};
// "HELLO", "CHAIN", ... or "0x42" for an unknown value.
std::string type_name(uint8_t type);

// Who is capturing, where, how; the first frame of every session.
struct Hello {
  uint32_t wire_version = kWireVersion;
  std::string run;        // run name/id the collector was started for (may be empty)
  std::string point;      // point label, "C"
  std::string host;       // hostname of the collector
  std::string netns;      // network namespace entered, "" for the initial one
  std::string iface;      // capture interface
  uint32_t linktype = 1;  // LINKTYPE_* of the handle (1 Ethernet, 101 raw, 113/276 cooked)
  uint32_t snaplen = 0;
  std::string filter;     // --filter as typed (alias or pcap-filter text)
  int64_t realtime_ns = 0;   // CLOCK_REALTIME when HELLO was built
  int64_t monotonic_ns = 0;  // CLOCK_MONOTONIC at the same moment
  std::string token;      // shared secret; "" when none
  std::string software;   // "pathtrace 0.1.0"
  uint32_t keep_bytes = 0;  // --keep-bytes: each RECORDS frame is followed by a KEPT frame
  // How the records' digests were computed (packet::kDigestVersion of the collector). A
  // decoded HELLO without the field says 1: every collector before digest v2.
  uint32_t digest = packet::kDigestVersion;
  std::vector<std::string> caps = capabilities();  // decoded: [] when absent
  bool operator==(const Hello&) const = default;
};

// Flow dictionary entry: a chain id (collector-local, dense from 0) bound to a layer stack
// and its IP layers' flow keys. Sent before the first RECORDS entry that uses it.
struct ChainEntry {
  uint32_t id = 0;
  std::string stack;                  // "eth/vlan/ipv4[ipip]/ipv4/tcp"
  std::vector<packet::FlowKey> ip;    // 1..packet::kMaxIpLayers, outermost first
  bool operator==(const ChainEntry&) const = default;
};

// One packet seen by the collector.
struct Record {
  uint64_t digest = 0;
  int64_t ts_ns = 0;       // capture time, ns since the epoch (CLOCK_REALTIME)
  uint32_t chain = 0;      // ChainEntry::id
  uint32_t wire_len = 0;   // original frame length
  uint8_t tcp_flags = 0;   // innermost TCP flags, 0 when not TCP
  bool operator==(const Record&) const = default;
};

// A batch of records numbered seq, seq+1, ... (per session, from 0, no gaps on the sender).
struct Records {
  uint64_t seq = 0;
  std::vector<Record> records;
  bool operator==(const Records&) const = default;
};

// The first bytes of each packet of the RECORDS frame sent just before (same seq, one entry
// per record, in order): what `pathtrace export` writes out.
struct Kept {
  uint64_t seq = 0;
  std::vector<uint16_t> lens;  // bytes kept of each record (0: none)
  std::vector<uint8_t> data;   // concatenated, sum(lens) bytes
  bool operator==(const Kept&) const = default;
};

// Capture statistics, cumulative since the capture started.
// The frame counters (packets, bytes, digested, filtered, discarded, over_mtu) are the
// point's packet::FrameCounts, counted by packet::account().
struct Stats : packet::FrameCounts {
  uint64_t ps_recv = 0;     // pcap_stats
  uint64_t ps_drop = 0;
  uint64_t ps_ifdrop = 0;
  int64_t capture_start_ns = 0;  // CLOCK_REALTIME when the handle was activated
  int64_t last_packet_ns = 0;    // timestamp of the last frame read (0: none yet)
  int64_t sent_at_ns = 0;        // CLOCK_REALTIME when this frame was built
  uint64_t records_sent = 0;     // records handed to the transport so far
  bool operator==(const Stats&) const = default;
};

// Last frame of a clean session.
struct Bye {
  Stats stats;
  std::string reason;  // "signal", "stdin closed", "stop requested", "count reached", "error: …"
  bool operator==(const Bye&) const = default;
};

// Correlator asks the collector to stop (it answers with BYE).
struct Stop {
  std::string reason;
  bool operator==(const Stop&) const = default;
};

// Correlator refuses the session ("wrong token"); it closes the connection after sending.
struct Reject {
  std::string reason;
  bool operator==(const Reject&) const = default;
};

// Any decoded frame.
using Frame = std::variant<Hello, ChainEntry, Records, Stats, Bye, Stop, Reject, Kept>;

// A byte vector whose resize() leaves new bytes uninitialised: the encoder reserves a frame's
// worst case, writes what it needs and shrinks back, without zeroing bytes it overwrites.
template <typename T>
struct NoInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = NoInitAllocator<U>;
  };
  NoInitAllocator() = default;
  template <typename U>
  NoInitAllocator(const NoInitAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... A>
  void construct(U* p, A&&... a) {
    ::new (static_cast<void*>(p)) U(std::forward<A>(a)...);
  }
};
using EncodedBytes = std::vector<uint8_t, NoInitAllocator<uint8_t>>;

// Appends encoded frames to one growing byte buffer. Encoding cannot fail on valid values;
// invariant violations (too many records, > 4 IP layers) are asserted, not reported.
class Encoder {
 public:
  // Each appends one whole frame.
  void hello(const Hello& h);
  void chain(const ChainEntry& c);
  // `records` must hold 1..kMaxRecordsPerFrame entries numbered from `seq`.
  void records(uint64_t seq, std::span<const Record> records);
  // `lens` must hold one entry per record of the RECORDS frame numbered from `seq`, `data`
  // their sum of bytes, and the frame must fit kMaxFrame.
  void kept(uint64_t seq, std::span<const uint16_t> lens, std::span<const uint8_t> data);
  void stats(const Stats& s);
  void bye(const Bye& b);
  void stop(const Stop& s);
  void reject(const Reject& r);
  // Dispatches on the variant.
  void frame(const Frame& f);

  // Everything encoded since the last clear().
  std::span<const uint8_t> bytes() const noexcept { return buf_; }
  std::size_t size() const noexcept { return buf_.size(); }
  void clear() noexcept { buf_.clear(); }
  // Copies the buffer out and empties the encoder.
  std::vector<uint8_t> take() {
    std::vector<uint8_t> out(buf_.begin(), buf_.end());
    buf_.clear();
    return out;
  }

 private:
  std::size_t begin(FrameType t);
  void end(std::size_t start);
  EncodedBytes buf_;
};

// One frame's bytes (convenience for tests and rare frames).
std::vector<uint8_t> encode(const Frame& f);

// Incremental decoder: bytes go in, in pieces of any size (TCP segments, pipe reads, one at
// a time); whole frames come out. The length is checked against the limit as soon as the
// 4 length bytes are in, before any payload is awaited. After an error the decoder stays
// failed (the stream cannot be resynchronised) and keeps returning the same error.
class Decoder {
 public:
  enum class Result { kFrame, kNeedMore, kError };

  explicit Decoder(uint32_t max_frame = kMaxFrame) : max_frame_(max_frame) {}

  // Changes the frame length limit from the next frame on (a correlator allows a stranger
  // only a HELLO-sized frame, an admitted collector kMaxFrame).
  void set_max_frame(uint32_t max_frame) noexcept { max_frame_ = max_frame; }

  // Appends bytes to the internal buffer (ignored once failed).
  void feed(std::span<const uint8_t> bytes);
  // Decodes the next whole frame into `out`: kFrame, kNeedMore (feed more bytes), or kError
  // (see error()). Call until it stops returning kFrame after every feed().
  Result next(Frame& out);
  // Why decoding failed: "frame length 9999999 exceeds 1 MiB", "unknown frame type 0x42",
  // "RECORDS frame: 12 records declared, payload ends after 7", ... Empty while healthy.
  const std::string& error() const noexcept { return error_; }
  bool failed() const noexcept { return !error_.empty(); }
  // Bytes buffered and not yet decoded (a partial frame).
  std::size_t buffered() const noexcept { return buf_.size() - pos_; }
  // Bytes still needed to complete the frame being received (at least 1 when idle).
  std::size_t wanted() const noexcept;
  // Total bytes fed so far.
  uint64_t consumed() const noexcept { return fed_; }

 private:
  Result fail(std::string why);
  uint32_t max_frame_;
  std::vector<uint8_t> buf_;
  std::size_t pos_ = 0;
  uint64_t fed_ = 0;
  std::string error_;
};

// Decodes one frame's payload of type `type`. Returns "" and fills `out`, or the reason it
// is malformed ("CHAIN frame: 5 IP layers (at most 4)"). Used by Decoder; exposed for tests.
std::string decode_payload(uint8_t type, std::span<const uint8_t> payload, Frame& out);

}  // namespace pathtrace::wire
