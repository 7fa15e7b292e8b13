// Unit tests for the pcap StreamParser (the agentless `tcpdump -w -` stream): the same bytes
// read as a file by the Reader and fed to the parser whole, 1 byte, 7 bytes and random sizes
// at a time give the same packets; a stream cut short or corrupt fails with the Reader's text.

#include "collector/pcapfile/stream.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"

namespace pathtrace::pcapfile {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// A packet copied out of the reader, comparable.
struct Got {
  Bytes data;
  uint32_t wire_len = 0;
  int64_t ts_ns = 0;
  uint32_t linktype = 0;
  uint32_t interface = 0;
  bool operator==(const Got&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Got& g) {
  return os << "{" << g.data.size() << " bytes, wire " << g.wire_len << ", ts " << g.ts_ns << ", link "
            << g.linktype << ", if " << g.interface << "}";
}

Got copy(const Packet& p) { return Got{Bytes(p.data.begin(), p.data.end()), p.wire_len, p.ts_ns, p.linktype, p.interface}; }

// What reading `bytes` from a file gives: the packets, and the error text without "FILE: ".
struct Outcome {
  std::vector<Got> packets;
  std::string error;
};

Outcome read_file(const Bytes& bytes) {
  const fs::path p = fs::temp_directory_path() / ("pt_stream_" + std::to_string(::getpid()) + ".pcap");
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                           static_cast<std::streamsize>(bytes.size()));
  Outcome o;
  try {
    Reader r(p.string());
    Packet pkt;
    while (r.next(pkt)) o.packets.push_back(copy(pkt));
    // The Reader reads a cut file up to the cut ("cut short at byte N (inside packet record
    // K): read the …"); a stream that ends there fails with the same place.
    if (!r.cut().empty()) o.error = "truncated at" + r.cut().substr(12, r.cut().find("): read") - 11);
  } catch (const Error& e) {
    o.error = e.what();
    const std::string prefix = p.string() + ": ";
    EXPECT_EQ(o.error.rfind(prefix, 0), 0u) << o.error;
    o.error.erase(0, prefix.size());
  }
  fs::remove(p);
  return o;
}

// What the StreamParser gives for `bytes` fed in chunks of the sizes `chunk(i)` returns, then
// finish(): the packets (copied as they come: their spans die at the next feed) and the error.
template <typename ChunkSize>
Outcome read_stream(const Bytes& bytes, ChunkSize chunk) {
  StreamParser s;
  Outcome o;
  Packet pkt;
  auto drain = [&] {
    for (;;) {
      const auto r = s.next(pkt);
      if (r == StreamParser::Result::kPacket) {
        o.packets.push_back(copy(pkt));
        continue;
      }
      if (r == StreamParser::Result::kError) o.error = s.error();
      return r;
    }
  };
  for (std::size_t at = 0, i = 0; at < bytes.size(); ++i) {
    const std::size_t n = std::min(chunk(i), bytes.size() - at);
    s.feed({bytes.data() + at, n});
    at += n;
    if (drain() == StreamParser::Result::kError) return o;
  }
  s.finish();
  const auto end = drain();
  EXPECT_NE(end, StreamParser::Result::kNeedMore);
  EXPECT_EQ(s.bytes_in(), bytes.size());
  return o;
}

Outcome read_stream_whole(const Bytes& b) { return read_stream(b, [&](std::size_t) { return b.size(); }); }

// The chunkings every test uses: whole, 1 byte, 7 bytes, and random sizes (fixed seed).
std::vector<std::pair<std::string, Outcome>> every_chunking(const Bytes& b) {
  uint64_t seed = 7;
  auto random = [&](std::size_t) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return std::size_t((seed >> 33) % 3000) + 1;
  };
  return {{"whole", read_stream_whole(b)},
          {"1 byte", read_stream(b, [](std::size_t) { return std::size_t{1}; })},
          {"7 bytes", read_stream(b, [](std::size_t) { return std::size_t{7}; })},
          {"random", read_stream(b, random)}};
}

// Classic pcap by hand, in either byte order, µs or ns.
class PcapBytes {
 public:
  PcapBytes(bool big_endian, bool nanos, uint32_t snaplen, uint32_t linktype) : be_(big_endian) {
    u32(nanos ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linktype);
  }
  PcapBytes& record(uint32_t sec, uint32_t frac, const Bytes& data, uint32_t wire) {
    u32(sec).u32(frac).u32(static_cast<uint32_t>(data.size())).u32(wire);
    out_.insert(out_.end(), data.begin(), data.end());
    return *this;
  }
  const Bytes& bytes() const { return out_; }

 private:
  PcapBytes& u16(uint16_t v) { return put(v, 2); }
  PcapBytes& u32(uint32_t v) { return put(v, 4); }
  PcapBytes& put(uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (be_ ? (n - 1 - i) * 8 : i * 8)));
    return *this;
  }
  bool be_;
  Bytes out_;
};

Bytes frame_bytes(std::size_t n, uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Packets of every shape: empty, small, Ethernet-sized, above the snaplen, the largest
// accepted (kMaxCaplen, larger than any chunk), a wire length below the captured length.
Bytes sample(bool be, bool nanos) {
  PcapBytes f(be, nanos, 256, 1 | 0x10000000);  // Ethernet, with FCS bits libpcap masks off
  f.record(1700000000, 5, frame_bytes(60, 1), 60)
      .record(1700000000, 999999, Bytes{}, 0)
      .record(1700000001, 17, frame_bytes(1514, 2), 9000)
      .record(1700000001, 18, frame_bytes(300, 3), 300)  // above the snaplen: accepted
      .record(1700000002, 0, frame_bytes(kMaxCaplen, 4), kMaxCaplen)
      .record(1700000003, 1, frame_bytes(40, 5), 20);  // wire raised to 40
  return f.bytes();
}

TEST(StreamParser, SameBytesSamePacketsAsTheFileReaderInAnyChunking) {
  for (bool be : {false, true}) {
    for (bool nanos : {false, true}) {
      SCOPED_TRACE(std::string(be ? "big" : "little") + "-endian, " + (nanos ? "ns" : "µs"));
      const Bytes b = sample(be, nanos);
      const Outcome file = read_file(b);
      ASSERT_EQ(file.error, "");
      ASSERT_EQ(file.packets.size(), 6u);
      EXPECT_EQ(file.packets[0].ts_ns, 1700000000'000000000LL + (nanos ? 5 : 5000));
      EXPECT_EQ(file.packets[0].linktype, 1u);
      EXPECT_EQ(file.packets[5].wire_len, 40u);
      for (const auto& [name, got] : every_chunking(b)) {
        SCOPED_TRACE(name);
        EXPECT_EQ(got.error, "");
        EXPECT_EQ(got.packets, file.packets);
      }
    }
  }
}

TEST(StreamParser, HeaderIsKnownAsSoonAsItsBytesAre) {
  const Bytes b = sample(false, true);
  StreamParser s;
  Packet pkt;
  s.feed({b.data(), 23});
  EXPECT_EQ(s.next(pkt), StreamParser::Result::kNeedMore);
  EXPECT_FALSE(s.has_header());
  s.feed({b.data() + 23, 1});
  EXPECT_EQ(s.next(pkt), StreamParser::Result::kNeedMore);
  ASSERT_TRUE(s.has_header());
  EXPECT_EQ(s.header().linktype, 1u);
  EXPECT_EQ(s.header().snaplen, 256u);
  EXPECT_TRUE(s.header().nanos);
  s.feed({b.data() + 24, 16 + 60});
  EXPECT_EQ(s.next(pkt), StreamParser::Result::kPacket);
  EXPECT_EQ(pkt.data.size(), 60u);
  EXPECT_EQ(s.records(), 1u);
}

// A stream cut anywhere gives the packets wholly before the cut, then the Reader's error for
// the same bytes in a file (the header's text says "stream" where the file's says "file").
TEST(StreamParser, CutShortSaysWhatTheFileReaderSays) {
  PcapBytes f(false, false, 65535, 1);
  for (uint8_t i = 0; i < 4; ++i) f.record(i, i, frame_bytes(i * 11u + 1, i), i * 11u + 1);
  const Bytes& whole = f.bytes();
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    const Bytes b(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut));
    for (const auto& [name, got] : every_chunking(b)) {
      SCOPED_TRACE(name);
      if (cut == 0) {  // nothing arrived: no error of its own (ssh says why)
        EXPECT_EQ(got.error, "");
        EXPECT_TRUE(got.packets.empty());
        continue;
      }
      if (cut < kPcapHeaderLen) {
        EXPECT_EQ(got.error, "header cut short (pcap file header needs 24 bytes, stream has " +
                                 std::to_string(cut) + ")");
        continue;
      }
      const Outcome file = read_file(b);
      EXPECT_EQ(got.packets, file.packets);
      EXPECT_EQ(got.error, file.error);
    }
  }
  // One case spelt out: the second record cut 10 bytes short.
  const Bytes b(whole.begin(), whole.begin() + 24 + 17 + 16 + 12 - 10);
  EXPECT_EQ(read_stream_whole(b).error, "truncated at byte 59 (inside packet record 2)");
}

TEST(StreamParser, CorruptRecordSaysWhatTheFileReaderSays) {
  PcapBytes f(true, true, 65535, 1);
  f.record(1, 2, frame_bytes(100, 1), 100);
  Bytes b = f.bytes();
  const Bytes huge = {0, 0, 0, 9, 0, 0, 0, 0, 0x40, 0, 0, 0, 0x40, 0, 0, 0};  // caplen 1 GiB
  b.insert(b.end(), huge.begin(), huge.end());
  const std::string want = "corrupt record at byte 140: captured length 1073741824 > 262144 (snaplen 65535)";
  EXPECT_EQ(read_file(b).error, want);
  for (const auto& [name, got] : every_chunking(b)) {
    SCOPED_TRACE(name);
    EXPECT_EQ(got.error, want);  // said as soon as the header is in: the gigabyte is not awaited
    EXPECT_EQ(got.packets.size(), 1u);
  }
}

TEST(StreamParser, RefusesWhatIsNotPcapAndStaysFailed) {
  const std::string ssh = "SSH-2.0-OpenSSH_9.2 this is not a capture";
  const Bytes junk(ssh.begin(), ssh.end());
  for (const auto& [name, got] : every_chunking(junk)) {
    SCOPED_TRACE(name);
    EXPECT_EQ(got.error, "not a pcap stream (starts with 53 53 48 2d)");
  }
  const Bytes pcapng = {0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a};
  EXPECT_EQ(read_stream_whole(pcapng).error, "not a pcap stream (starts with 0a 0d 0d 0a)");
  EXPECT_EQ(read_stream_whole(Bytes{0x53, 0x53}).error, "not a pcap stream (starts with 53 53)");
  EXPECT_EQ(read_stream_whole(Bytes{0xd4, 0xc3}).error,
            "header cut short (pcap file header needs 24 bytes, stream has 2)");

  StreamParser s;
  Packet pkt;
  s.feed(junk);
  EXPECT_EQ(s.next(pkt), StreamParser::Result::kError);
  const Bytes good = sample(false, false);
  s.feed(good);  // ignored: a failed stream stays failed
  EXPECT_EQ(s.next(pkt), StreamParser::Result::kError);
  EXPECT_EQ(s.error(), "not a pcap stream (starts with 53 53 48 2d)");
}

}  // namespace
}  // namespace pathtrace::pcapfile
