#pragma once
// A classic pcap byte stream read as it arrives — what `tcpdump -w -` writes into an ssh
// session (the agentless mode, docs/remote.md) — in chunks of any size. It uses the decoder
// of the file Reader (pcap.hpp), so a stream and a file holding the same bytes give the same
// packets, follow the same rules and fail with the same texts (byte offsets count from the
// stream's first byte). Not pcapng: tcpdump -w writes pcap.
//
//   feed(chunk) ──▶ buffer (unread bytes: less than one record, plus the chunk)
//   next()      ──▶ kPacket (data points into the buffer) … kNeedMore
//   finish()    ──▶ next() then drains the rest: kPacket … kEnd, or kError if it ended cut short
//
// Bad bytes are a value (kError, and error() says why), never an exception; once failed it
// stays failed. No allocation per packet: the buffer grows to the largest record plus the
// largest chunk and is reused.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "collector/pcapfile/pcap.hpp"

namespace pathtrace::pcapfile {

// A classic pcap stream, parsed as its bytes are fed in (see above).
class StreamParser {
 public:
  enum class Result : uint8_t {
    kPacket,    // `out` holds the next packet
    kNeedMore,  // no whole packet yet: feed() more (never after finish())
    kEnd,       // finish() was called and every packet has been returned
    kError,     // bad or cut-short bytes: error() says why, byte offset included
  };

  // Appends the next bytes of the stream (any number, 0 included). Packets returned before
  // stop being valid. Ignored after finish() or an error.
  void feed(std::span<const uint8_t> bytes);
  // Says the stream has ended (the producer closed it): next() returns what is left, then
  // kEnd, or kError ("truncated at byte N (inside packet record K)", "header cut short (…)")
  // when the bytes stop inside the header or a record. An empty stream ends with kEnd and no
  // header: nothing arrived, and whoever ran the producer knows why.
  void finish() noexcept { ended_ = true; }
  // The next whole packet, whose data stays valid until the next feed(); or kNeedMore, kEnd,
  // kError. The global header is read first, as soon as its bytes are in (has_header()).
  Result next(Packet& out);

  // True once the 24-byte global header has been read; header() is then what it said.
  bool has_header() const noexcept { return has_header_; }
  const PcapHeader& header() const noexcept { return header_; }
  // Why next() returned kError ("" before): "not a pcap stream (starts with 53 53 48 2d)",
  // "corrupt record at byte N: …", "truncated at byte N (…)", "header cut short (…)".
  const std::string& error() const noexcept { return error_; }
  // Bytes fed so far, and packet records returned so far.
  uint64_t bytes_in() const noexcept { return consumed_ + buf_.size(); }
  uint64_t records() const noexcept { return records_; }

 private:
  Result fail(std::string why);
  std::vector<uint8_t> buf_;  // unread bytes start at pos_
  std::size_t pos_ = 0;
  uint64_t consumed_ = 0;     // stream offset of buf_[0]
  uint64_t records_ = 0;
  PcapHeader header_;
  bool has_header_ = false;
  bool ended_ = false;
  std::string error_;
};

}  // namespace pathtrace::pcapfile
