// Unit tests for the pcap/pcapng reader and the pcap and pcapng writers: files written by the
// writers (the pcapng writer's blocks checked against inline bytes), files written by hand
// (inline bytes, both byte orders), every error a user can meet, and a file cut at every byte
// offset.

#include "collector/pcapfile/pcapfile.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/common/error.hpp"

namespace pathtrace::pcapfile {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// A fresh directory per test, removed afterwards.
class PcapfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("pt_pcapfile_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string put(const std::string& name, const Bytes& bytes) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  static Bytes slurp(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Cutting a file anywhere gives exactly the packets wholly before the cut, with their bytes,
  // and then either a clean end (the cut is at a record boundary) or a cut() naming the byte
  // and the records read; it never crashes or returns garbage. The same holds for the bytes
  // read as a stream (a FIFO: what standard input and pipes are). `boundaries[i]` is the end
  // offset of the i-th header or record (boundaries[0]: the end of the file header),
  // `packets_before[i]` the packets up to it.
  void check_every_cut(const Bytes& file, const std::vector<std::size_t>& boundaries,
                       const std::vector<std::size_t>& packets_before, std::size_t header_len) {
    // Write once, then shrink: rewriting the file each time costs a disk discard per cut.
    const std::string p = put("cut.bin", file);
    std::vector<Bytes> whole;  // the packets of the uncut file
    {
      Reader r(p);
      Packet pkt;
      while (r.next(pkt)) whole.emplace_back(pkt.data.begin(), pkt.data.end());
    }
    ASSERT_EQ(whole.size(), packets_before.back());
    const std::string fifo = path("cut.fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    for (std::size_t cut = file.size() - 1; cut >= 1; --cut) {
      SCOPED_TRACE("cut at " + std::to_string(cut));
      ASSERT_EQ(::truncate(p.c_str(), static_cast<off_t>(cut)), 0);
      for (const bool stream : {false, true}) {
        SCOPED_TRACE(stream ? "stream" : "mapped");
        std::vector<Bytes> got;
        std::string err, cut_text;
        std::thread writer;
        if (stream)  // the FIFO's writer: the cut file's bytes, then end of stream
          writer = std::thread([&] {
            std::ofstream(fifo, std::ios::binary).write(reinterpret_cast<const char*>(file.data()),
                                                        static_cast<std::streamsize>(cut));
          });
        try {
          Reader r(stream ? fifo : p);
          Packet pkt;
          while (r.next(pkt)) got.emplace_back(pkt.data.begin(), pkt.data.end());
          cut_text = r.cut();
          if (!stream) {
            EXPECT_LE(r.position(), cut);
          }
        } catch (const Error& e) {
          err = e.what();
        }
        if (stream) writer.join();
        if (cut < header_len) {
          EXPECT_NE(err.find("header cut short"), std::string::npos) << err;
          EXPECT_TRUE(got.empty());
          continue;
        }
        EXPECT_EQ(err, "");
        std::size_t i = 0;  // the last boundary at or before the cut
        while (i + 1 < boundaries.size() && boundaries[i + 1] <= cut) ++i;
        ASSERT_EQ(got.size(), packets_before[i]);
        for (std::size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k], whole[k]) << "packet " << k;
        if (boundaries[i] == cut) {
          EXPECT_EQ(cut_text, "");
        } else {
          EXPECT_EQ(cut_text.rfind("cut short at byte " + std::to_string(cut) + " (", 0), 0u) << cut_text;
          EXPECT_NE(cut_text.find("): read the " + std::to_string(got.size()) + " records before it"),
                    std::string::npos) << cut_text;
        }
      }
    }
  }
  fs::path dir_;
};

// The message of the Error thrown by opening `p` and reading it to the end ("" if none).
std::string error_of(const std::string& p) {
  try {
    Reader r(p);
    Packet pkt;
    while (r.next(pkt)) {
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInput);
    return e.what();
  }
  return "";
}

std::vector<Packet> read_all(Reader& r) {
  std::vector<Packet> v;
  Packet p;
  while (r.next(p)) v.push_back(p);
  return v;
}

Bytes payload(std::size_t n, uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

// Little helper to build capture files by hand in either byte order.
class Builder {
 public:
  explicit Builder(bool big_endian) : be_(big_endian) {}
  Builder& u8(uint8_t v) { out_.push_back(v); return *this; }
  Builder& u16(uint16_t v) { return put(v, 2); }
  Builder& u32(uint32_t v) { return put(v, 4); }
  Builder& u64(uint64_t v) { return put(v, 8); }
  Builder& raw(const Bytes& b) { out_.insert(out_.end(), b.begin(), b.end()); return *this; }
  Builder& pad() { while (out_.size() % 4) out_.push_back(0); return *this; }
  Builder& option(uint16_t code, const Bytes& value) {
    u16(code).u16(static_cast<uint16_t>(value.size())).raw(value);
    return pad();
  }
  Builder& end_options() { return u32(0); }
  // Wraps everything written since `mark()` as a pcapng block body of `type`.
  std::size_t mark() { return out_.size(); }
  Builder& block(uint32_t type, const Bytes& body) {
    const uint32_t len = static_cast<uint32_t>(12 + ((body.size() + 3) & ~std::size_t{3}));
    u32(type).u32(len).raw(body).pad().u32(len);
    return *this;
  }
  Bytes take() { return std::move(out_); }
  bool be() const { return be_; }

 private:
  Builder& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      const int shift = be_ ? (n - 1 - i) * 8 : i * 8;
      out_.push_back(static_cast<uint8_t>(v >> shift));
    }
    return *this;
  }
  bool be_;
  Bytes out_;
};

// A block body built with the same byte order as the file.
Bytes body(bool be, const std::function<void(Builder&)>& f) {
  Builder b(be);
  f(b);
  return b.take();
}

Bytes shb(bool be) {
  Builder b(be);
  b.block(0x0a0d0d0a, body(be, [](Builder& x) {
    x.u32(0x1a2b3c4d).u16(1).u16(0).u64(~uint64_t{0});
    x.option(4, Bytes{'p', 't'}).end_options();  // shb_userappl
  }));
  return b.take();
}

Bytes idb(bool be, uint16_t linktype, uint32_t snaplen, std::optional<uint8_t> tsresol,
          std::optional<int64_t> tsoffset) {
  Builder b(be);
  b.block(1, body(be, [&](Builder& x) {
    x.u16(linktype).u16(0).u32(snaplen);
    x.option(2, Bytes{'e', 't', 'h', '0'});  // if_name
    if (tsresol) x.option(9, Bytes{*tsresol});
    if (tsoffset) {
      Builder o(be);
      o.u64(static_cast<uint64_t>(*tsoffset));
      x.option(14, o.take());
    }
    if (tsresol || tsoffset) x.end_options();
  }));
  return b.take();
}

Bytes epb(bool be, uint32_t iface, uint64_t ticks, const Bytes& data, uint32_t wire) {
  Builder b(be);
  b.block(6, body(be, [&](Builder& x) {
    x.u32(iface).u32(static_cast<uint32_t>(ticks >> 32)).u32(static_cast<uint32_t>(ticks));
    x.u32(static_cast<uint32_t>(data.size())).u32(wire).raw(data).pad();
    x.option(1, Bytes{'h', 'i'}).end_options();  // opt_comment
  }));
  return b.take();
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ---------------------------------------------------------------------------------------
// pcap

TEST_F(PcapfileTest, WriterRoundTripNanoseconds) {
  const std::string p = path("ns.pcap");
  const Bytes a = payload(60, 1), b = payload(1514, 2);
  {
    Writer w(p, 1);
    w.write(1700000000123456789LL, a);
    w.write(1700000000123457789LL, b, 9000);
  }
  Reader r(p);
  EXPECT_EQ(r.format(), Format::kPcap);
  EXPECT_EQ(r.linktype(), 1u);
  EXPECT_EQ(r.snaplen(), 262144u);
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(Bytes(v[0].data.begin(), v[0].data.end()), a);
  EXPECT_EQ(v[0].ts_ns, 1700000000123456789LL);
  EXPECT_EQ(v[0].wire_len, 60u);
  EXPECT_EQ(Bytes(v[1].data.begin(), v[1].data.end()), b);
  EXPECT_EQ(v[1].ts_ns, 1700000000123457789LL);
  EXPECT_EQ(v[1].wire_len, 9000u);
  EXPECT_EQ(v[1].linktype, 1u);
  EXPECT_EQ(r.position(), r.file_size());
}

TEST_F(PcapfileTest, WriterMicrosecondsAndSnaplen) {
  const std::string p = path("us.pcap");
  {
    Writer w(p, 113, 64, false);
    w.write(1700000000123456789LL, payload(100, 3));
    w.close();
  }
  Reader r(p);
  EXPECT_EQ(r.linktype(), 113u);
  EXPECT_EQ(r.snaplen(), 64u);
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].ts_ns, 1700000000123456000LL);  // microseconds
  EXPECT_EQ(v[0].data.size(), 64u);               // cut at snaplen
  EXPECT_EQ(v[0].wire_len, 100u);
}

TEST_F(PcapfileTest, HandWrittenBigEndianMicroseconds) {
  const Bytes file = {
      0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x02, 0x00, 0x04,  // magic (BE, µs), version 2.4
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // thiszone, sigfigs
      0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x65,  // snaplen 65535, linktype 101 (raw)
      0x65, 0x53, 0xf1, 0x00, 0x00, 0x01, 0xe2, 0x40,  // 1700000000 s, 123456 µs
      0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x28,  // caplen 4, wire 40
      0x45, 0x00, 0x00, 0x28,                          // data
  };
  Reader r(put("be.pcap", file));
  EXPECT_EQ(r.linktype(), 101u);
  EXPECT_EQ(r.snaplen(), 65535u);
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].ts_ns, 1700000000123456000LL);
  EXPECT_EQ(v[0].wire_len, 40u);
  EXPECT_EQ(Bytes(v[0].data.begin(), v[0].data.end()), (Bytes{0x45, 0x00, 0x00, 0x28}));
}

TEST_F(PcapfileTest, HandWrittenLittleEndianNanoseconds) {
  const Bytes file = {
      0x4d, 0x3c, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00,  // magic (LE, ns)
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //
      0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x10,  // snaplen 262144, linktype 1 + FCS bits
      0x00, 0xf1, 0x53, 0x65, 0x15, 0xcd, 0x5b, 0x07,  // 1700000000 s, 123456789 ns
      0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // caplen 2, wire 1 (raised to 2)
      0xaa, 0xbb,                                      // data
  };
  Reader r(put("le.pcap", file));
  EXPECT_EQ(r.linktype(), 1u);
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].ts_ns, 1700000000123456789LL);
  EXPECT_EQ(v[0].wire_len, 2u);
}

TEST_F(PcapfileTest, CaplenAboveSnaplenIsAccepted) {
  const std::string p = path("big.pcap");
  {
    Writer w(p, 1, 262144);
    w.write(1, payload(3000, 4));
  }
  Bytes f = slurp(p);
  f[16] = 96;  // snaplen 96, the record still holds 3000 bytes (real tools write this)
  f[17] = f[18] = f[19] = 0;
  Reader r(put("big2.pcap", f));
  EXPECT_EQ(r.snaplen(), 96u);
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].data.size(), 3000u);
}

TEST_F(PcapfileTest, LargeFileSpansStayValidAfterPagesAreReleased) {
  // 20 MB: more than the reader's prefetch/populate/release windows (4 MiB each).
  const std::string p = path("large.pcap");
  constexpr int kPackets = 20000;
  {
    Writer w(p, 1);
    for (int i = 0; i < kPackets; ++i) w.write(i, payload(1000, static_cast<uint8_t>(i)));
  }
  Reader r(p);
  Packet first, pkt;
  ASSERT_TRUE(r.next(first));
  int n = 1;
  while (r.next(pkt)) {
    ASSERT_EQ(pkt.ts_ns, n);
    ASSERT_EQ(pkt.data[999], payload(1000, static_cast<uint8_t>(n))[999]);
    ++n;
  }
  EXPECT_EQ(n, kPackets);
  EXPECT_EQ(Bytes(first.data.begin(), first.data.end()), payload(1000, 0));  // still readable
}

// ---------------------------------------------------------------------------------------
// pcapng

TEST_F(PcapfileTest, PcapngTwoInterfacesStatsSpbAndUnknownBlocks) {
  for (bool be : {false, true}) {
    SCOPED_TRACE(be ? "big endian" : "little endian");
    const Bytes d0 = payload(60, 5), d1 = payload(33, 6), d2 = payload(42, 7), d3 = payload(20, 8);
    Builder isb(be);
    isb.block(5, body(be, [](Builder& x) {
      x.u32(1).u32(0).u32(5000);  // interface 1, timestamp
      x.u16(2).u16(8).u32(0).u32(1000);  // isb_starttime: 1000 ns
      x.u16(3).u16(8).u32(0).u32(9000);  // isb_endtime: 9000 ns
      x.u16(4).u16(8).u64(1234);         // isb_ifrecv
      x.u16(5).u16(8).u64(5);            // isb_ifdrop
      x.u16(7).u16(8).u64(7);            // isb_osdrop
      x.end_options();
    }));
    Builder spb(be);
    spb.block(3, body(be, [&](Builder& x) { x.u32(static_cast<uint32_t>(d3.size())).raw(d3); }));
    Builder nrb(be);
    nrb.block(4, body(be, [](Builder& x) { x.u16(0).u16(0); }));
    Builder custom(be);
    custom.block(0x00000bad, Bytes{1, 2, 3, 4, 5});
    Builder pb(be);  // obsolete Packet Block on interface 1: id(2) drops(2) ts ts caplen len data
    pb.block(2, body(be, [&](Builder& x) {
      x.u16(1).u16(0).u32(0).u32(777).u32(static_cast<uint32_t>(d2.size())).u32(100).raw(d2).pad();
    }));
    const Bytes file = cat({shb(be), idb(be, 1, 65535, std::nullopt, std::nullopt),
                            idb(be, 113, 262144, 9, int64_t{10}), nrb.take(),
                            epb(be, 0, 1700000000123456ULL, d0, 60), custom.take(),
                            epb(be, 1, 1700000000123456789ULL, d1, 1500), pb.take(), spb.take(), isb.take()});
    Reader r(put(be ? "be.pcapng" : "le.pcapng", file));
    EXPECT_EQ(r.format(), Format::kPcapng);
    EXPECT_EQ(r.linktype(), 1u);
    EXPECT_EQ(r.snaplen(), 65535u);
    auto v = read_all(r);
    ASSERT_EQ(v.size(), 4u);
    EXPECT_EQ(Bytes(v[0].data.begin(), v[0].data.end()), d0);
    EXPECT_EQ(v[0].ts_ns, 1700000000123456000LL);  // default resolution: µs
    EXPECT_EQ(v[0].linktype, 1u);
    EXPECT_EQ(v[0].interface, 0u);
    EXPECT_EQ(Bytes(v[1].data.begin(), v[1].data.end()), d1);
    EXPECT_EQ(v[1].ts_ns, 1700000010123456789LL);  // ns resolution, +10 s offset
    EXPECT_EQ(v[1].wire_len, 1500u);
    EXPECT_EQ(v[1].linktype, 113u);
    EXPECT_EQ(v[1].interface, 1u);
    EXPECT_EQ(Bytes(v[2].data.begin(), v[2].data.end()), d2);
    EXPECT_EQ(v[2].ts_ns, 10000000777LL);
    EXPECT_EQ(v[2].interface, 1u);
    EXPECT_EQ(v[2].wire_len, 100u);
    EXPECT_EQ(Bytes(v[3].data.begin(), v[3].data.end()), d3);  // SPB: interface 0
    EXPECT_EQ(v[3].interface, 0u);
    EXPECT_EQ(v[3].linktype, 1u);
    EXPECT_EQ(v[3].ts_ns, v[2].ts_ns);  // no timestamp of its own
    const auto& st = r.interface_stats();
    ASSERT_EQ(st.size(), 2u);
    EXPECT_FALSE(st[0].if_recv.has_value());
    EXPECT_EQ(st[1].if_recv, 1234u);
    EXPECT_EQ(st[1].if_drop, 5u);
    EXPECT_EQ(st[1].os_drop, 7u);
    EXPECT_EQ(st[1].start_ns, 10000001000LL);
    EXPECT_EQ(st[1].end_ns, 10000009000LL);
  }
}

TEST_F(PcapfileTest, PcapngPowerOfTwoResolution) {
  const bool be = false;
  // 2^20 units per second: 1.5 s = 1572864 units.
  const Bytes file = cat({shb(be), idb(be, 1, 0, uint8_t{0x80 | 20}, std::nullopt),
                          epb(be, 0, (uint64_t{1} << 20) + (uint64_t{1} << 19), payload(10, 1), 10)});
  Reader r(put("p2.pcapng", file));
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].ts_ns, 1500000000LL);
}

TEST_F(PcapfileTest, PcapngSeveralSectionsBothByteOrders) {
  const Bytes file = cat({shb(true), idb(true, 1, 0, std::nullopt, std::nullopt),
                          epb(true, 0, 1000000, payload(10, 1), 10), shb(false),
                          idb(false, 101, 0, uint8_t{9}, std::nullopt),
                          idb(false, 1, 0, uint8_t{3}, std::nullopt),
                          epb(false, 1, 5, payload(11, 2), 11), epb(false, 0, 7, payload(12, 3), 12)});
  Reader r(put("sections.pcapng", file));
  auto v = read_all(r);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].ts_ns, 1000000000LL);
  EXPECT_EQ(v[0].interface, 0u);
  EXPECT_EQ(v[1].ts_ns, 5000000LL);  // ms resolution
  EXPECT_EQ(v[1].interface, 2u);     // numbered across sections
  EXPECT_EQ(v[1].linktype, 1u);
  EXPECT_EQ(v[2].ts_ns, 7LL);
  EXPECT_EQ(v[2].interface, 1u);
  EXPECT_EQ(v[2].linktype, 101u);
  EXPECT_EQ(r.interface_stats().size(), 3u);
}

// ---------------------------------------------------------------------------------------
// Errors

// ---------------------------------------------------------------------------------------
// pcapng writer

TEST_F(PcapfileTest, PcapngWriterBlocksAreTheSpecifiedBytes) {
  const std::string p = path("w.pcapng");
  {
    PcapngWriter w(p, "pt");
    EXPECT_EQ(w.add_interface({1, 128, "C qbr", "point C"}), 0u);
    w.write(0, 1700000001000000123LL, Bytes{0xde, 0xad, 0xbe, 0xef, 0x01}, 60, "lost");
    w.close();
  }
  const Bytes expected = {
      // Section Header Block: type, length 40, byte-order magic, version 1.0, section length
      // -1 (unknown), shb_userappl "pt" (padded), end of options, length again.
      0x0a, 0x0d, 0x0d, 0x0a, 0x28, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, 0x01, 0x00, 0x00, 0x00,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 0x02, 0x00, 'p',  't',  0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
      // Interface Description Block: type 1, length 56, LINKTYPE_ETHERNET, reserved, snaplen
      // 128, if_name "C qbr", if_description "point C", if_tsresol 9 (ns), end, length.
      0x01, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
      0x02, 0x00, 0x05, 0x00, 'C',  ' ',  'q',  'b',  'r',  0x00, 0x00, 0x00,
      0x03, 0x00, 0x07, 0x00, 'p',  'o',  'i',  'n',  't',  ' ',  'C',  0x00,
      0x09, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
      // Enhanced Packet Block: type 6, length 52, interface 0, timestamp high and low
      // (1700000001000000123 ns = 0x17979cfe'71c4ca7b), captured 5, original 60, the bytes
      // padded to 8, opt_comment "lost", end, length.
      0x06, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0xfe, 0x9c, 0x97, 0x17, 0x7b, 0xca, 0xc4, 0x71, 0x05, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00,
      0xde, 0xad, 0xbe, 0xef, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x00, 'l',  'o',  's',  't',
      0x00, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00, 0x00};
  EXPECT_EQ(slurp(p), expected);
}

TEST_F(PcapfileTest, PcapngWriterRoundTripsThroughTheReader) {
  const std::string p = path("rt.pcapng");
  const Bytes a = payload(60, 1), b = payload(300, 2), c = payload(40, 3);
  {
    PcapngWriter w(p);
    EXPECT_EQ(w.add_interface({1, 0, "G eth1", "point G (nic) eth1@hv1"}), 0u);
    EXPECT_EQ(w.add_interface({113, 128, "C qbr", ""}), 1u);
    w.write(0, 1700000000123456789LL, a, 60, "point G: delivered");
    w.write(1, 1700000000123457789LL, b, 1514);  // cut at the interface's snaplen, no comment
    w.write(0, 1700000000123458789LL, c, 20);    // original length raised to the captured one
    // A packet on an interface that was never described is the caller's bug.
    try {
      w.write(2, 0, a, 60);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kInternal);
    }
  }
  Reader r(p);
  EXPECT_EQ(r.format(), Format::kPcapng);
  const auto v = read_all(r);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(Bytes(v[0].data.begin(), v[0].data.end()), a);
  EXPECT_EQ(v[0].ts_ns, 1700000000123456789LL);  // nanoseconds survive (if_tsresol 9)
  EXPECT_EQ(v[0].linktype, 1u);
  EXPECT_EQ(v[0].interface, 0u);
  EXPECT_EQ(Bytes(v[1].data.begin(), v[1].data.end()), Bytes(b.begin(), b.begin() + 128));
  EXPECT_EQ(v[1].wire_len, 1514u);
  EXPECT_EQ(v[1].linktype, 113u);
  EXPECT_EQ(v[1].interface, 1u);
  EXPECT_EQ(v[1].ts_ns, 1700000000123457789LL);
  EXPECT_EQ(v[2].wire_len, 40u);
  EXPECT_EQ(r.position(), r.file_size());
}

TEST_F(PcapfileTest, PcapngWriterNamesAFileItCannotCreate) {
  const std::string p = path("no/such/dir/x.pcapng");
  try {
    PcapngWriter w(p);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);  // an output file: docs/cli.md, "Exit codes"
    EXPECT_EQ(std::string(e.what()), p + ": cannot create: No such file or directory");
  }
}

TEST_F(PcapfileTest, NotFound) {
  EXPECT_EQ(error_of(path("nope.pcap")), path("nope.pcap") + ": not found");
}

TEST_F(PcapfileTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: permissions do not apply";
  const std::string p = put("secret.pcap", Bytes{0xd4, 0xc3, 0xb2, 0xa1});
  ::chmod(p.c_str(), 0);
  EXPECT_EQ(error_of(p), p + ": permission denied");
}

TEST_F(PcapfileTest, IsADirectory) {
  EXPECT_NE(error_of(dir_.string()).find("is a directory"), std::string::npos);
}

TEST_F(PcapfileTest, EmptyFile) {
  const std::string p = put("empty.pcap", Bytes{});
  EXPECT_EQ(error_of(p), p + ": empty file (0 bytes)");
}

TEST_F(PcapfileTest, NotACapture) {
  const std::string p = put("x.zip", Bytes{0x50, 0x4b, 0x03, 0x04, 0x14, 0x00});
  EXPECT_EQ(error_of(p), p + ": not a pcap or pcapng file (starts with 50 4b 03 04)");
  const std::string q = put("two.bin", Bytes{0x7f, 0x45});
  EXPECT_EQ(error_of(q), q + ": not a pcap or pcapng file (starts with 7f 45)");
  // The "modified pcap" of old patched tcpdumps: libpcap reads it, pathtrace says how to convert.
  Bytes modified{0x34, 0xcd, 0xb2, 0xa1, 2, 0, 4, 0};
  modified.resize(24 + 24 + 60);
  const std::string m = put("kuznetzov.pcap", modified);
  EXPECT_EQ(error_of(m), m + ": not a pcap or pcapng file (starts with 34 cd b2 a1): the \"modified pcap\" format "
                             "of old patched tcpdumps, which pathtrace does not read; rewrite it as plain pcap first "
                             "(tcpdump -r IN -w OUT, or editcap -F pcap IN OUT)");
}

TEST_F(PcapfileTest, HeaderCutShort) {
  const std::string p = put("short.pcap", Bytes{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0});
  EXPECT_NE(error_of(p).find(p + ": header cut short"), std::string::npos) << error_of(p);
  const std::string q = put("short2.pcap", Bytes{0xd4, 0xc3});
  EXPECT_NE(error_of(q).find(q + ": header cut short"), std::string::npos) << error_of(q);
  Bytes ng = shb(false);
  ng.resize(20);
  const std::string n = put("short.pcapng", ng);
  EXPECT_NE(error_of(n).find(n + ": header cut short"), std::string::npos) << error_of(n);
}

TEST_F(PcapfileTest, CutInsideRecordIsReadUpToTheCut) {
  const std::string p = path("t.pcap");
  {
    Writer w(p, 1);
    w.write(1, payload(100, 1));
    w.write(2, payload(100, 2));
  }
  Bytes f = slurp(p);
  f.erase(f.end() - 10, f.end());  // 24 + 116 + 106 = 246
  const std::string q = put("t2.pcap", f);
  EXPECT_EQ(error_of(q), "");  // not an error: the capture was cut (killed, disk full, head -c)
  Reader r(q);
  Packet pkt;
  EXPECT_TRUE(r.next(pkt));
  EXPECT_EQ(r.cut(), "");
  EXPECT_FALSE(r.next(pkt));
  EXPECT_EQ(r.cut(), "cut short at byte 246 (inside packet record 2): read the 1 records before it");
  EXPECT_FALSE(r.next(pkt));  // and stays at its end
}

TEST_F(PcapfileTest, CorruptCaplen) {
  const std::string p = path("c.pcap");
  {
    Writer w(p, 1, 65535);
    w.write(1, payload(100, 1));
    w.write(2, payload(100, 2));
  }
  Bytes f = slurp(p);
  const uint32_t bad = 4000000;
  std::memcpy(&f[24 + 116 + 8], &bad, 4);
  const std::string q = put("c2.pcap", f);
  EXPECT_EQ(error_of(q), q + ": corrupt record at byte 140: captured length 4000000 > 262144 (snaplen 65535)");
}

TEST_F(PcapfileTest, PcapngCorruptions) {
  const bool be = false;
  const std::string a = put("a.pcapng", cat({shb(be), epb(be, 0, 1, payload(4, 1), 4)}));
  EXPECT_NE(error_of(a).find("corrupt record at byte 40: packet for interface 0, but the section declares 0"),
            std::string::npos)
      << error_of(a);
  Bytes odd = cat({shb(be), idb(be, 1, 0, std::nullopt, std::nullopt), epb(be, 0, 1, payload(4, 1), 4)});
  odd[68 + 4] = 13;  // block length not a multiple of 4
  const std::string b = put("b.pcapng", odd);
  EXPECT_NE(error_of(b).find("corrupt record at byte 68: block length 13 is impossible"), std::string::npos)
      << error_of(b);
  Bytes huge = cat({shb(be), idb(be, 1, 0, std::nullopt, std::nullopt), epb(be, 0, 1, payload(4, 1), 4)});
  const uint32_t cap = 4000000;
  std::memcpy(&huge[68 + 8 + 12], &cap, 4);
  const std::string c = put("c.pcapng", huge);
  EXPECT_NE(error_of(c).find("corrupt record at byte 68: captured length 4000000 > 262144"), std::string::npos)
      << error_of(c);
  Bytes nobom = shb(be);
  nobom[8] = 0;
  const std::string d = put("d.pcapng", nobom);
  EXPECT_NE(error_of(d).find("no byte-order magic"), std::string::npos) << error_of(d);
}

TEST_F(PcapfileTest, PcapCutAtEveryByte) {
  const std::string p = path("all.pcap");
  std::vector<std::size_t> bounds{24}, before{0};
  {
    Writer w(p, 1);
    std::size_t at = 24;
    for (std::size_t i = 0; i < 6; ++i) {
      const std::size_t n = i * 13 + 1;
      w.write(static_cast<int64_t>(i), payload(n, static_cast<uint8_t>(i)));
      at += 16 + n;
      bounds.push_back(at);
      before.push_back(i + 1);
    }
  }
  check_every_cut(slurp(p), bounds, before, 24);
}

TEST_F(PcapfileTest, PcapngCutAtEveryByte) {
  const bool be = true;
  Builder isb(be);
  isb.block(5, body(be, [](Builder& x) { x.u32(0).u32(0).u32(1).u16(4).u16(8).u64(9).end_options(); }));
  Builder spb(be);
  spb.block(3, body(be, [](Builder& x) { x.u32(5).raw(payload(5, 9)); }));
  const std::vector<Bytes> blocks = {shb(be), idb(be, 1, 0, uint8_t{9}, std::nullopt),
                                     epb(be, 0, 1, payload(7, 1), 7), idb(be, 101, 0, std::nullopt, std::nullopt),
                                     epb(be, 1, 2, payload(1, 2), 1), spb.take(), isb.take(),
                                     epb(be, 0, 3, payload(30, 3), 30)};
  Bytes file;
  std::vector<std::size_t> bounds, before;
  std::size_t packets = 0;
  for (const auto& b : blocks) {
    file.insert(file.end(), b.begin(), b.end());
    if (b.size() > 8 && (b[3] == 6 || b[3] == 3)) ++packets;  // big-endian type low byte
    bounds.push_back(file.size());
    before.push_back(packets);
  }
  check_every_cut(file, bounds, before, blocks[0].size());
}

// Random byte corruption: every outcome is packets or an Error, never a crash or a read
// outside the file (run under ASan in CI).
TEST_F(PcapfileTest, RandomCorruptionNeverCrashes) {
  for (bool be : {false, true}) {
    Builder isb(be);
    isb.block(5, body(be, [](Builder& x) { x.u32(1).u32(0).u32(1).u16(4).u16(8).u64(9).end_options(); }));
    const Bytes file = cat({shb(be), idb(be, 1, 0, uint8_t{9}, std::nullopt), idb(be, 113, 0, uint8_t{0x80 | 10}, 5),
                            epb(be, 0, 1, payload(7, 1), 7), epb(be, 1, 2, payload(70, 2), 70), isb.take(),
                            epb(be, 0, 3, payload(30, 3), 30)});
    const std::string p = put("fuzz.pcapng", file);
    uint64_t seed = 42;
    for (int round = 0; round < 1500; ++round) {
      Bytes f = file;
      for (int k = 0; k < 3; ++k) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        f[(seed >> 33) % f.size()] = static_cast<uint8_t>(seed >> 20);
      }
      {  // same size every round: overwrite in place (no truncation, no disk discard)
        std::fstream out(p, std::ios::binary | std::ios::in | std::ios::out);
        out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
      }
      try {
        Reader r(p);
        Packet pkt;
        unsigned sum = 0;
        while (r.next(pkt)) {
          ASSERT_LE(pkt.data.size(), f.size());
          for (uint8_t b : pkt.data) sum += b;  // every byte of the span is readable
        }
        EXPECT_LE(r.position(), r.file_size()) << sum;
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::kInput);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Real files written by tcpdump and editcap (skipped when the tools are absent).

TEST_F(PcapfileTest, ReadsWhatTcpdumpAndEditcapWrite) {
  const std::string src = path("src.pcap");
  {
    Writer w(src, 1, 262144, false);
    for (int i = 0; i < 5; ++i) w.write(1700000000000000000LL + i * 1000, payload(60 + i, static_cast<uint8_t>(i)));
  }
  int checked = 0;
  auto check = [&](const std::string& out, Format fmt) {
    Reader r(out);
    EXPECT_EQ(r.format(), fmt);
    auto v = read_all(r);
    ASSERT_EQ(v.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(v[i].ts_ns, 1700000000000000000LL + i * 1000);
      EXPECT_EQ(Bytes(v[i].data.begin(), v[i].data.end()), payload(60 + i, static_cast<uint8_t>(i)));
      EXPECT_EQ(v[i].linktype, 1u);
    }
    ++checked;
  };
  if (::access("/usr/bin/tcpdump", X_OK) == 0 || ::access("/usr/sbin/tcpdump", X_OK) == 0) {
    const std::string out = path("tcpdump.pcap");
    const std::string cmd = "tcpdump -Z root -r '" + src + "' -w '" + out + "' 2>/dev/null";
    if (std::system(cmd.c_str()) == 0) check(out, Format::kPcap);
  }
  if (::access("/usr/bin/editcap", X_OK) == 0) {
    const std::string out = path("editcap.pcapng");
    const std::string cmd = "editcap -F pcapng '" + src + "' '" + out + "' 2>/dev/null";
    if (std::system(cmd.c_str()) == 0) check(out, Format::kPcapng);
    const std::string ns = path("editcap-ns.pcap");
    const std::string cmd2 = "editcap -F nsecpcap '" + src + "' '" + ns + "' 2>/dev/null";
    if (std::system(cmd2.c_str()) == 0) check(ns, Format::kPcap);
  }
  if (checked == 0) GTEST_SKIP() << "neither tcpdump nor editcap is installed";
}

}  // namespace
}  // namespace pathtrace::pcapfile
