// Unit tests for captures as users have them: gzip and zstd files told by their bytes (inline),
// cut or corrupt compressed data, and several files of one point read as one capture (rotated,
// overlapping, different link types), one interface of a multi-interface pcapng picked.

#include "collector/pcapfile/capture.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "collector/common/error.hpp"

namespace pathtrace::pcapfile {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// tiny.pcap: little-endian, nanosecond magic, raw IP (101), three records of 20 bytes at
// 1700000000.000000500 s + i s (+ i ns), bytes i*16 .. i*16+19. 132 bytes.
Bytes tiny_pcap() {
  Bytes b = {0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0};
  for (uint32_t i = 0; i < 3; ++i) {
    const uint32_t h[4] = {1700000000 + i, 500 + i, 20, 20};
    for (uint32_t v : h)
      for (int k = 0; k < 4; ++k) b.push_back(static_cast<uint8_t>(v >> (8 * k)));
    for (uint32_t k = 0; k < 20; ++k) b.push_back(static_cast<uint8_t>(i * 16 + k));
  }
  return b;
}
// `gzip -n -9 tiny.pcap`
const Bytes kTinyGzip = {
    0x1f,0x8b,0x08,0x00,0x00,0x00,0x00,0x00,0x02,0x03,0xf3,0xb5,0xd9,0xb4,0x90,0x89,0x81,0x85,0x01,0x06,
    0xfe,0xff,0x67,0x60,0x48,0x05,0x31,0x3e,0x06,0xa7,0x7e,0x61,0x64,0x60,0x10,0x61,0x80,0x60,0x06,0x46,
    0x26,0x66,0x16,0x56,0x36,0x76,0x0e,0x4e,0x2e,0x6e,0x1e,0x5e,0x3e,0x7e,0x01,0x41,0x21,0x61,0x46,0xa0,
    0x9a,0xaf,0x48,0x6a,0x40,0x62,0x22,0xa2,0x62,0xe2,0x12,0x92,0x52,0xd2,0x32,0xb2,0x72,0xf2,0x0a,0x8a,
    0x4a,0xca,0x4c,0x40,0x35,0xdf,0x90,0xd4,0x80,0xc4,0x54,0x54,0xd5,0xd4,0x35,0x34,0xb5,0xb4,0x75,0x74,
    0xf5,0xf4,0x0d,0x0c,0x8d,0x8c,0x01,0x1e,0x4b,0x91,0x07,0x84,0x00,0x00,0x00};
// `zstd -19 --no-check tiny.pcap`
const Bytes kTinyZstd = {
    0x28,0xb5,0x2f,0xfd,0x20,0x84,0x4d,0x03,0x00,0x24,0x05,0x4d,0x3c,0xb2,0xa1,0x02,0x00,0x04,0x00,0xff,
    0xff,0x00,0x00,0x65,0x00,0xf1,0x53,0x65,0xf4,0x01,0x00,0x00,0x14,0x00,0x00,0x01,0x02,0x03,0x04,0x05,
    0x06,0x07,0x08,0x09,0x0a,0x0b,0x0c,0x0d,0x0e,0x0f,0x10,0x11,0x12,0x13,0x01,0xf1,0x53,0x65,0xf5,0x14,
    0x15,0x16,0x17,0x18,0x19,0x1a,0x1b,0x1c,0x1d,0x1e,0x1f,0x20,0x21,0x22,0x23,0x02,0xf6,0x24,0x25,0x26,
    0x27,0x28,0x29,0x2a,0x2b,0x2c,0x2d,0x2e,0x2f,0x30,0x31,0x32,0x33,0x08,0x20,0xe0,0x34,0xd9,0x01,0x02,
    0x68,0xdc,0x84,0x3d,0x05,0xd0,0xc9,0x0c,0x07,0x19,0x40,0x02,0xc7,0x01};

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pt_capture_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string put(const std::string& name, const Bytes& b) const {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    return p;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Timestamps of everything a Reader gives, and its cut text.
struct Read {
  std::vector<int64_t> ts;
  std::vector<Bytes> data;
  std::string cut;
};
Read read_all(const std::string& p) {
  Read out;
  Reader r(p);
  Packet pkt;
  while (r.next(pkt)) {
    out.ts.push_back(pkt.ts_ns);
    out.data.emplace_back(pkt.data.begin(), pkt.data.end());
  }
  out.cut = r.cut();
  return out;
}

TEST_F(CaptureTest, GzipAndZstdAreToldByTheirBytesNotTheirName) {
  const Read plain = read_all(put("tiny.pcap", tiny_pcap()));
  ASSERT_EQ(plain.ts.size(), 3u);
  EXPECT_EQ(plain.ts[2], 1700000002000000502LL);
  for (const auto& [name, bytes, codec] : {std::tuple{"a.pcap", kTinyGzip, Codec::kGzip},
                                          std::tuple{"b.bin", kTinyZstd, Codec::kZstd}}) {
    SCOPED_TRACE(name);
    const std::string p = put(name, bytes);
    EXPECT_EQ(Reader(p).codec(), codec);
    const Read r = read_all(p);
    EXPECT_EQ(r.ts, plain.ts);
    EXPECT_EQ(r.data, plain.data);
    EXPECT_EQ(r.cut, "");
  }
}

TEST_F(CaptureTest, ConcatenatedGzipMembersAreOneStream) {
  // `cat p1.gz p2.gz`: tiny.pcap's first 70 bytes gzipped, then the rest gzipped.
  const Bytes two = {
      0x1f,0x8b,0x08,0x00,0x00,0x00,0x00,0x00,0x02,0x03,0xf3,0xb5,0xd9,0xb4,0x90,0x89,0x81,0x85,0x01,0x06,
      0xfe,0xff,0x67,0x60,0x48,0x05,0x31,0x3e,0x06,0xa7,0x7e,0x61,0x64,0x60,0x10,0x61,0x80,0x60,0x06,0x46,
      0x26,0x66,0x16,0x56,0x36,0x76,0x0e,0x4e,0x2e,0x6e,0x1e,0x5e,0x3e,0x7e,0x01,0x41,0x21,0x61,0x46,0xa0,
      0x9a,0xaf,0x60,0x35,0x00,0x7d,0xe8,0xa0,0xb1,0x46,0x00,0x00,0x00,0x1f,0x8b,0x08,0x00,0x00,0x00,0x00,
      0x00,0x02,0x03,0x63,0x60,0x10,0x61,0x60,0x60,0x10,0x10,0x14,0x12,0x16,0x11,0x15,0x13,0x97,0x90,0x94,
      0x92,0x96,0x91,0x95,0x93,0x57,0x50,0x54,0x52,0x66,0xfa,0x18,0x9c,0xfa,0x8d,0x91,0x01,0x2c,0x0f,0xc2,
      0x20,0x31,0x15,0x55,0x35,0x75,0x0d,0x4d,0x2d,0x6d,0x1d,0x5d,0x3d,0x7d,0x03,0x43,0x23,0x63,0x00,0x2b,
      0xbf,0xb3,0xcd,0x3e,0x00,0x00,0x00};
  const Read r = read_all(put("two.pcap.gz", two));
  EXPECT_EQ(r.data, read_all(put("tiny.pcap", tiny_pcap())).data);
  EXPECT_EQ(r.cut, "");
}

TEST_F(CaptureTest, CutCompressedFileIsReadUpToTheCut) {
  // gzip cut inside its data: the records before the cut, and where.
  const Read g = read_all(put("g.gz", Bytes(kTinyGzip.begin(), kTinyGzip.begin() + 80)));
  EXPECT_LT(g.ts.size(), 3u);
  EXPECT_EQ(g.cut.rfind("cut short at byte ", 0), 0u) << g.cut;
  EXPECT_NE(g.cut.find("of its decompressed data (inside packet record " + std::to_string(g.ts.size() + 1) +
                       "), the gzip data ends early: read the " + std::to_string(g.ts.size()) + " records before it"),
            std::string::npos)
      << g.cut;
  // gzip cut in its 8-byte trailer: every record whole, the file still cut.
  const Read t = read_all(put("t.gz", Bytes(kTinyGzip.begin(), kTinyGzip.end() - 4)));
  EXPECT_EQ(t.ts.size(), 3u);
  EXPECT_EQ(t.cut, "cut short: the gzip data ends early, after 132 decompressed bytes: read the 3 records before it");
  // zstd, two frames (tiny.pcap's first 70 bytes, then the rest), cut inside the second: the
  // first frame's bytes (and 17 of the second's) hold the first record whole.
  const Bytes two = {
      0x28,0xb5,0x2f,0xfd,0x00,0x68,0x0d,0x02,0x00,0x84,0x03,0x4d,0x3c,0xb2,0xa1,0x02,0x00,0x04,0x00,0xff,
      0xff,0x00,0x00,0x65,0x00,0x00,0x00,0x00,0xf1,0x53,0x65,0xf4,0x01,0x00,0x00,0x14,0x00,0x00,0x01,0x02,
      0x03,0x04,0x05,0x06,0x07,0x08,0x09,0x0a,0x0b,0x0c,0x0d,0x0e,0x0f,0x10,0x11,0x12,0x13,0x01,0xf1,0x53,
      0x65,0xf5,0x01,0x00,0x00,0x14,0x00,0x02,0x00,0xdc,0x11,0x08,0x10,0x07,0x28,0xb5,0x2f,0xfd,0x00,0x68,
      0xf1,0x01,0x00,0x00,0x00,0x14,0x00,0x00,0x00,0x10,0x11,0x12,0x13,0x14,0x15,0x16,0x17,0x18,0x19,0x1a};
  const Read z = read_all(put("z.zst", two));
  EXPECT_EQ(z.ts.size(), 1u);
  EXPECT_EQ(z.cut, "cut short at byte 87 of its decompressed data (inside packet record 2), the zstd data ends early: "
                   "read the 1 records before it");
  // Cut before a single byte could be decompressed: nothing to read, an error that says so.
  const std::string none = put("none.zst", Bytes(kTinyZstd.begin(), kTinyZstd.begin() + 60));
  const std::string header = put("header.gz", Bytes(kTinyGzip.begin(), kTinyGzip.begin() + 10));
  try {
    read_all(none);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), none + ": cut short: the zstd data ends before any byte of it could be decompressed");
  }
  try {
    read_all(header);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), header + ": cut short: the gzip data ends before any byte of it could be decompressed");
  }
}

TEST_F(CaptureTest, CorruptCompressedDataIsAnErrorNamingFileAndByte) {
  Bytes bad = kTinyGzip;
  bad[40] ^= 0xff;
  const std::string p = put("bad.gz", bad);
  try {
    read_all(p);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    EXPECT_EQ(std::string(e.what()).rfind(p + ": gzip data corrupt at compressed byte ", 0), 0u) << e.what();
  }
  Bytes zbad = kTinyZstd;
  zbad[5] ^= 0xff;  // frame header descriptor
  try {
    read_all(put("bad.zst", zbad));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(": zstd data corrupt at compressed byte "), std::string::npos) << e.what();
  }
  const std::string empty = put("empty.gz", Bytes{0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03,
                                                  0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  try {
    read_all(empty);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), empty + ": empty gzip data (0 bytes)");
  }
}

// A classic pcap file of `n` raw-IP (or Ethernet) records, record i at `t0 + i * step` ns.
std::string write_pcap(const std::string& p, int64_t t0, int64_t step, int n, uint32_t linktype = 101,
                       uint32_t snaplen = 65535) {
  Writer w(p, linktype, snaplen);
  for (int i = 0; i < n; ++i) w.write(t0 + i * step, Bytes(20 + i, static_cast<uint8_t>(i)));
  w.close();
  return p;
}

std::vector<int64_t> times(Capture& c) {
  std::vector<int64_t> v;
  Packet pkt;
  while (c.next(pkt)) v.push_back(pkt.ts_ns);
  return v;
}

TEST_F(CaptureTest, RotatedFilesAreOneCaptureInTimeOrderWhateverTheOrderGiven) {
  const std::string a = write_pcap(path("A-0.pcap"), 1000, 10, 3);             // 1000 1010 1020
  const std::string b = write_pcap(path("A-1.pcap"), 2000, 10, 2, 1, 96);     // 2000 2010, Ethernet
  Capture c({b, a}, "");
  EXPECT_EQ(times(c), (std::vector<int64_t>{1000, 1010, 1020, 2000, 2010}));
  EXPECT_EQ(c.snaplen(), 96u);  // the smallest of the files'
  EXPECT_TRUE(c.cuts().empty());
  EXPECT_EQ(c.position(), c.size());
}

TEST_F(CaptureTest, OverlappingFilesAreMergedByTimestampAndKeepTheirLinkTypes) {
  const std::string a = write_pcap(path("x.pcap"), 1000, 20, 3);  // 1000 1020 1040, raw IP
  const std::string b = write_pcap(path("y.pcap"), 1010, 20, 3, 1);  // 1010 1030 1050, Ethernet
  Capture c({a, b}, "");
  std::vector<std::pair<int64_t, uint32_t>> got;
  Packet pkt;
  while (c.next(pkt)) got.emplace_back(pkt.ts_ns, pkt.linktype);
  EXPECT_EQ(got, (std::vector<std::pair<int64_t, uint32_t>>{
                     {1000, 101}, {1010, 1}, {1020, 101}, {1030, 1}, {1040, 101}, {1050, 1}}));
}

TEST_F(CaptureTest, ACutFileOfSeveralIsNamedAndTheOthersAreRead) {
  const std::string a = write_pcap(path("r-0.pcap"), 1000, 10, 3);
  const std::string b = write_pcap(path("r-1.pcap"), 2000, 10, 3);
  fs::resize_file(a, fs::file_size(a) - 5);  // its third record cut
  Capture c({a, b}, "");
  EXPECT_EQ(times(c), (std::vector<int64_t>{1000, 1010, 2000, 2010, 2020}));
  ASSERT_EQ(c.cuts().size(), 1u);
  EXPECT_EQ(c.cuts()[0], a + ": cut short at byte " + std::to_string(fs::file_size(a)) +
                             " (inside packet record 3): read the 2 records before it");
}

// A pcapng file with two interfaces, "eth0" (raw IP) and "eth1" (Ethernet), and packets on both.
std::string two_interfaces(const std::string& p) {
  PcapngWriter w(p);
  EXPECT_EQ(w.add_interface({101, 0, "eth0", ""}), 0u);
  EXPECT_EQ(w.add_interface({1, 0, "eth1", "point B (qbr) eth1@hv1"}), 1u);
  for (int i = 0; i < 4; ++i) w.write(uint32_t(i % 2), 1000 + i, Bytes(20, uint8_t(i)), 20);
  w.close();
  return p;
}

TEST_F(CaptureTest, AMultiInterfaceFileIsReadOneInterfaceAtATime) {
  const std::string p = two_interfaces(path("two.pcapng"));
  Capture by_name({p}, "eth1");
  EXPECT_EQ(times(by_name), (std::vector<int64_t>{1001, 1003}));
  Capture by_index({p}, "0");
  EXPECT_EQ(times(by_index), (std::vector<int64_t>{1000, 1002}));
  const Reader r(p);
  EXPECT_EQ(list_interfaces(r), "#0 eth0, #1 eth1");
  EXPECT_EQ(r.interfaces()[1].description, "point B (qbr) eth1@hv1");
}

TEST_F(CaptureTest, AMultiInterfaceFileWithoutAPickIsRefusedListingItsInterfaces) {
  const std::string p = two_interfaces(path("two.pcapng"));
  for (const auto& [pick, why] : {std::pair{"", "holds 2 interfaces"}, std::pair{"eth9", "has no interface named 'eth9'"},
                                  std::pair{"2", "has no interface #2"}}) {
    try {
      Capture c({p}, pick);
      FAIL() << "not refused: '" << pick << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage);
      EXPECT_EQ(std::string(e.what()), p + ": " + why + " (#0 eth0, #1 eth1): pick one with " + p + "#NAME or " + p +
                                           "#INDEX, or make one point per interface with --split-interfaces " + p);
    }
  }
}

// 2026-12-06T13:11:35Z, in nanoseconds.
constexpr int64_t kT = 1'796'562'695'000'000'000;

// A pcapng file of one interface "eth0" counting nanoseconds (PcapngWriter's), three packets at
// t0, t0 + 1 s, t0 + 2 s, then a statistics block stating the window [start, end] in `start`
// and `end` ticks as written, and 4 frames dropped by the interface.
std::string with_isb(const std::string& p, uint64_t start, uint64_t end, int64_t t0 = kT) {
  {
    PcapngWriter w(p);
    w.add_interface({101, 0, "eth0", ""});
    for (int i = 0; i < 3; ++i) w.write(0, t0 + i * 1'000'000'000LL, Bytes(20, uint8_t(i)), 20);
    w.close();
  }
  Bytes b;
  auto u16 = [&](uint16_t v) { b.insert(b.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 2); };
  auto u32 = [&](uint32_t v) { b.insert(b.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4); };
  u32(5), u32(0), u32(0), u32(uint32_t(end >> 32)), u32(uint32_t(end));
  u16(2), u16(8), u32(uint32_t(start >> 32)), u32(uint32_t(start));
  u16(3), u16(8), u32(uint32_t(end >> 32)), u32(uint32_t(end));
  u16(5), u16(8), u32(4), u32(0);
  u16(0), u16(0);
  const uint32_t len = uint32_t(b.size() + 4);
  std::memcpy(b.data() + 4, &len, 4);
  u32(len);
  std::ofstream(p, std::ios::binary | std::ios::app).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  return p;
}

TEST_F(CaptureTest, AStatisticsBlocksWindowCountsOnlyWhenItHoldsThePackets) {
  auto read = [](const std::string& p) {
    auto c = std::make_unique<Capture>(std::vector<std::string>{p}, "");
    Packet pkt;
    while (c->next(pkt)) {
    }
    return c;
  };
  // In the interface's units (nanoseconds): the window.
  const auto ns = read(with_isb(path("ns.pcapng"), uint64_t(kT - 500'000'000), uint64_t(kT + 2'500'000'000)));
  EXPECT_EQ(ns->stats().start_ns, kT - 500'000'000);
  EXPECT_EQ(ns->stats().end_ns, kT + 2'500'000'000);
  EXPECT_EQ(ns->stats().if_drop, 4u);
  EXPECT_TRUE(ns->notes().empty());
  // In microseconds whatever the interface counts, as dumpcap (Wireshark 4.0) writes them: read
  // as nanoseconds that would be a window in January 1970.
  const auto us = read(with_isb(path("us.pcapng"), uint64_t(kT - 500'000'000) / 1000, uint64_t(kT + 2'500'000'000) / 1000));
  EXPECT_EQ(us->stats().start_ns, kT - 500'000'000);
  EXPECT_EQ(us->stats().end_ns, kT + 2'500'000'000);
  EXPECT_TRUE(us->notes().empty());
  // Neither reading holds the packets (another capture's window, a clock that stepped): no
  // window, and a line says why; the drops still count.
  const std::string bad = with_isb(path("bad.pcapng"), uint64_t(kT + 10'000'000'000), uint64_t(kT + 20'000'000'000));
  const auto other = read(bad);
  EXPECT_FALSE(other->stats().start_ns.has_value());
  EXPECT_FALSE(other->stats().end_ns.has_value());
  EXPECT_EQ(other->stats().if_drop, 4u);
  EXPECT_EQ(other->notes(), std::vector<std::string>{bad + ": the capture window its statistics block states "
                                                           "(2026-12-06T13:11:45.000Z to 2026-12-06T13:11:55.000Z) does "
                                                           "not hold its packets (2026-12-06T13:11:35.000Z to "
                                                           "2026-12-06T13:11:37.000Z): not used"});
  // Two rotated files joined with cat: each section's window holds its own packets, and the
  // capture's window spans both.
  auto bytes = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  };
  Bytes joined = bytes(with_isb(path("1.pcapng"), uint64_t(kT - 500'000'000), uint64_t(kT + 2'500'000'000)));
  const Bytes second = bytes(with_isb(path("2.pcapng"), uint64_t(kT + 9'500'000'000), uint64_t(kT + 12'500'000'000),
                                      kT + 10'000'000'000));
  joined.insert(joined.end(), second.begin(), second.end());
  const auto both = read(put("joined.pcapng", joined));
  EXPECT_EQ(both->stats().start_ns, kT - 500'000'000);
  EXPECT_EQ(both->stats().end_ns, kT + 12'500'000'000);
  EXPECT_EQ(both->stats().if_drop, 8u);
  EXPECT_TRUE(both->notes().empty()) << both->notes()[0];
}

TEST_F(CaptureTest, RotatedFilesJoinedWithCatAreOneInterfaceOfSeveralSections) {
  // dumpcap -b files, each a section declaring the same interface, joined with cat.
  auto section = [&](const std::string& name, const std::string& ifname, int64_t t0) {
    const std::string p = path(name);
    PcapngWriter w(p);
    w.add_interface({1, 0, ifname, ""});
    for (int i = 0; i < 3; ++i) w.write(0, t0 + i, Bytes(60, uint8_t(i)), 60);
    w.close();
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  };
  const Bytes a = section("a.pcapng", "eth0", 1000), b = section("b.pcapng", "eth0", 2000),
              c = section("c.pcapng", "eth1", 3000);
  Bytes joined = a;
  joined.insert(joined.end(), b.begin(), b.end());
  Capture one({put("joined.pcapng", joined)}, "");
  EXPECT_EQ(times(one), (std::vector<int64_t>{1000, 1001, 1002, 2000, 2001, 2002}));
  // Another interface in a later section is another interface: a pick is needed.
  joined.insert(joined.end(), c.begin(), c.end());
  const std::string other = put("other.pcapng", joined);
  try {
    Capture two({other}, "");
    times(two);
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("holds 3 interfaces (#0 eth0, #1 eth0, #2 eth1)"), std::string::npos) << e.what();
  }
  Capture by_name({other}, "eth0");
  EXPECT_EQ(times(by_name), (std::vector<int64_t>{1000, 1001, 1002, 2000, 2001, 2002}));
}

TEST_F(CaptureTest, StandardInputIsReadAlone) {
  const std::string a = write_pcap(path("a.pcap"), 1000, 10, 1);
  try {
    Capture c({a, "-"}, "");
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "standard input ('-') is read alone, not with other files");
  }
}

}  // namespace
}  // namespace pathtrace::pcapfile
