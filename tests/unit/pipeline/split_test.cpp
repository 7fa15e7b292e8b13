// Reading one big pcap or pcapng file on several threads (read_captures splitting it into
// chunks at records find_record() recognised): the run reads exactly what one thread reading
// it whole reads — every point's counters, first and last frame, snaplen, window and drops
// from statistics blocks, sightings, chains and warnings — for one file and several, in memory
// and spilled, for a file cut short, for a file whose packet data holds a pcap record chain
// that looks like the file's own (the split is found wrong and the file read again whole), and
// for pcapng blocks a chunk cannot read alone (read again whole).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "correlator/pipeline/ingest.hpp"
#include "tests/common/temp_dir.hpp"

namespace pathtrace::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'700'000'000LL * 1'000'000'000LL;

void put16(std::vector<uint8_t>& f, std::size_t at, uint16_t v) {
  f[at] = uint8_t(v >> 8);
  f[at + 1] = uint8_t(v);
}

// Ethernet / IPv4 198.18.0.x → 198.18.1.y / UDP with `payload`; `i` varies addresses, ports and IP ID.
std::vector<uint8_t> udp_frame(uint32_t i, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(14 + 20 + 8 + payload.size(), 0);
  f[12] = 0x08;  // IPv4
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  put16(f, 14 + 2, uint16_t(20 + 8 + payload.size()));
  put16(f, 14 + 4, uint16_t(i * 7919));
  ip[8] = 64;
  ip[9] = 17;
  const uint8_t src[4] = {198, 18, 0, uint8_t(1 + i % 50)}, dst[4] = {198, 18, 1, uint8_t(1 + i % 13)};
  std::copy(src, src + 4, ip + 12);
  std::copy(dst, dst + 4, ip + 16);
  uint32_t sum = 0;
  for (int k = 0; k < 20; k += 2) sum += uint32_t(ip[k] << 8 | ip[k + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(f, 14 + 10, uint16_t(~sum));
  put16(f, 34, uint16_t(40000 + i % 97));
  put16(f, 36, 53);
  put16(f, 38, uint16_t(8 + payload.size()));
  std::copy(payload.begin(), payload.end(), f.begin() + 42);
  return f;
}

std::vector<uint8_t> payload_for(uint32_t i) {
  std::vector<uint8_t> p(20 + (i * 37) % 900);
  for (std::size_t k = 0; k < p.size(); ++k) p[k] = uint8_t(i * 31 + k);
  return p;
}

// A payload that is itself a run of pcap records (16-byte headers with this file's times,
// 20 bytes each of data): what find_record() cannot tell from the file's own records.
std::vector<uint8_t> embedded_records(std::size_t bytes) {
  std::vector<uint8_t> p;
  const uint32_t sec = uint32_t(kT0 / 1'000'000'000);
  for (uint32_t r = 0; p.size() + 36 <= bytes; ++r) {
    const uint32_t h[4] = {sec, r * 1000, 20, 20};
    const auto* b = reinterpret_cast<const uint8_t*>(h);
    p.insert(p.end(), b, b + 16);
    p.insert(p.end(), 20, uint8_t(r));
  }
  return p;
}

// Writes `n` UDP frames, 1 µs apart; frame `big_at` (if any) carries `big` instead.
std::string write_pcap(const fs::path& file, uint32_t n, uint32_t seed, uint32_t big_at = ~0u,
                       const std::vector<uint8_t>& big = {}, int64_t spacing_ns = 1000) {
  pcapfile::Writer w(file.string(), 1);
  for (uint32_t i = 0; i < n; ++i) {
    const std::vector<uint8_t> frame = udp_frame(seed + i, i == big_at ? big : payload_for(seed + i));
    w.write(kT0 + int64_t(i) * spacing_ns + seed, frame);
  }
  w.close();
  return file.string();
}

// A pcapng file built block by block (host byte order), for what PcapngWriter does not write:
// statistics, name resolution and simple packet blocks, a second interface or section.
class Pcapng {
 public:
  Pcapng() { shb(); }
  void shb() {
    begin(0x0a0d0d0a);
    u32(0x1a2b3c4d);
    u16(1), u16(0);
    u32(0xffffffff), u32(0xffffffff);  // section length unknown
    end();
  }
  // Nanosecond timestamps (if_tsresol 9).
  void idb(uint16_t linktype = 1, uint32_t snaplen = 0) {
    begin(1);
    u16(linktype), u16(0), u32(snaplen);
    u16(9), u16(1), bytes({9}), u16(0), u16(0);
    end();
  }
  void epb(uint32_t iface, int64_t ts_ns, const std::vector<uint8_t>& frame, const std::string& comment = "") {
    begin(6);
    u32(iface), u32(uint32_t(uint64_t(ts_ns) >> 32)), u32(uint32_t(ts_ns));
    u32(uint32_t(frame.size())), u32(uint32_t(frame.size()));
    bytes(frame);
    if (!comment.empty()) {
      u16(1), u16(uint16_t(comment.size())), bytes({comment.begin(), comment.end()});
      u16(0), u16(0);
    }
    end();
  }
  void spb(const std::vector<uint8_t>& frame) {
    begin(3);
    u32(uint32_t(frame.size()));
    bytes(frame);
    end();
  }
  // isb_starttime, isb_endtime, isb_ifdrop, isb_osdrop.
  void isb(uint32_t iface, int64_t start_ns, int64_t end_ns, uint64_t if_drop, uint64_t os_drop) {
    begin(5);
    u32(iface), u32(uint32_t(uint64_t(end_ns) >> 32)), u32(uint32_t(end_ns));
    for (const auto& [code, v] : {std::pair<uint16_t, int64_t>{2, start_ns}, {3, end_ns}}) {
      u16(code), u16(8), u32(uint32_t(uint64_t(v) >> 32)), u32(uint32_t(v));
    }
    u16(5), u16(8), u64(if_drop);
    u16(7), u16(8), u64(os_drop);
    u16(0), u16(0);
    end();
  }
  void nrb() {  // one IPv4 record, 198.18.0.1 "a.example"
    begin(4);
    const std::string name = "a.example";
    u16(1), u16(uint16_t(4 + name.size() + 1));
    bytes({198, 18, 0, 1});
    bytes({name.begin(), name.end()}), bytes({0});
    u16(0), u16(0);
    end();
  }
  // The byte where the next block will start.
  std::size_t size() const { return b_.size(); }
  std::string write(const fs::path& file) const {
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(b_.data()), std::streamsize(b_.size()));
    return file.string();
  }

 private:
  void begin(uint32_t type) {
    start_ = b_.size();
    u32(type), u32(0);
  }
  void end() {
    while (b_.size() % 4) b_.push_back(0);
    const uint32_t len = uint32_t(b_.size() - start_ + 4);
    std::memcpy(b_.data() + start_ + 4, &len, 4);
    u32(len);
  }
  void u16(uint16_t v) { raw(&v, 2); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void bytes(const std::vector<uint8_t>& v) {
    b_.insert(b_.end(), v.begin(), v.end());
    while (b_.size() % 4) b_.push_back(0);
  }
  void raw(const void* p, std::size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), c, c + n);
  }
  std::vector<uint8_t> b_;
  std::size_t start_ = 0;
};

// `n` UDP frames 1 µs apart on interface 0 (snaplen 1500), every 97th with a comment, a name
// resolution block every 1000; `extra(i, file)` may add blocks before frame i.
template <class Extra>
Pcapng pcapng_of(uint32_t n, Extra&& extra) {
  Pcapng f;
  f.idb(1, 1500);
  for (uint32_t i = 0; i < n; ++i) {
    extra(i, f);
    if (i % 1000 == 500) f.nrb();
    f.epb(0, kT0 + int64_t(i) * 1000, udp_frame(i, payload_for(i)), i % 97 == 0 ? "frame " + std::to_string(i) : "");
  }
  return f;
}

std::vector<Point> points_of(const std::vector<std::string>& files) {
  std::vector<Point> pts;
  for (std::size_t i = 0; i < files.size(); ++i) {
    Point p;
    p.label = std::string(1, char('A' + i));
    p.ord = uint8_t(i);
    p.files = {files[i]};
    p.source = files[i];
    pts.push_back(p);
  }
  return pts;
}

// What a reading produced, in an order that does not depend on which thread read what.
struct Read {
  std::vector<std::tuple<std::string, packet::FrameCounts, int64_t, int64_t, uint32_t>> points;
  // window_known, start_ns, end_ns, if_drop, pcap_drop
  std::vector<std::tuple<bool, int64_t, int64_t, uint64_t, uint64_t>> stats;
  std::vector<std::tuple<uint64_t, int64_t, uint8_t, std::string, uint16_t, uint8_t>> sightings;
  std::vector<std::string> warnings;
  bool spilled = false;
  IngestTimings timings;
};

Read read(const std::vector<std::string>& files, std::uintmax_t split_bytes, std::size_t memory, const fs::path& spill) {
  IngestOptions opt;
  opt.threads = 2;
  opt.split_bytes = split_bytes;
  opt.memory = memory;
  opt.spill_dir = spill.string();
  opt.progress.enabled = false;
  Read r;
  Collected c = read_captures(points_of(files), opt, &r.timings);
  for (const Point& p : c.points)
  {
    r.points.emplace_back(p.label, static_cast<const packet::FrameCounts&>(p), p.first_frame_ns, p.last_frame_ns,
                          p.snaplen);
    r.stats.emplace_back(p.window_known, p.start_ns, p.end_ns, p.if_drop, p.pcap_drop);
  }
  std::vector<Sighting> all = c.sightings;
  if (c.parts) {
    std::vector<Sighting> range;
    for (unsigned i = 0; i < c.parts->count(); ++i) {
      c.parts->load(i, range);
      all.insert(all.end(), range.begin(), range.end());
    }
  }
  for (const Sighting& s : all) {
    EXPECT_LT(s.chain, c.chains.size());
    if (s.chain >= c.chains.size()) continue;
    const Chain& ch = c.chains[s.chain];
    r.sightings.emplace_back(s.digest, s.ts_ns, s.point, ch.stack.str() + " " + packet::to_string(ch.ip.back()),
                             s.wire_len, s.tcp_flags);
  }
  std::sort(r.sightings.begin(), r.sightings.end());
  r.warnings = c.warnings;
  r.spilled = c.parts != nullptr;
  return r;
}

void expect_same(const Read& split, const Read& whole) {
  ASSERT_EQ(split.points.size(), whole.points.size());
  for (std::size_t i = 0; i < whole.points.size(); ++i) {
    EXPECT_EQ(std::get<0>(split.points[i]), std::get<0>(whole.points[i]));
    EXPECT_TRUE(std::get<1>(split.points[i]) == std::get<1>(whole.points[i])) << "point " << i << " counters";
    EXPECT_EQ(std::get<2>(split.points[i]), std::get<2>(whole.points[i])) << "point " << i << " first frame";
    EXPECT_EQ(std::get<3>(split.points[i]), std::get<3>(whole.points[i])) << "point " << i << " last frame";
    EXPECT_EQ(std::get<4>(split.points[i]), std::get<4>(whole.points[i])) << "point " << i << " snaplen";
    EXPECT_TRUE(split.stats[i] == whole.stats[i]) << "point " << i << " window and drops";
  }
  EXPECT_EQ(split.sightings.size(), whole.sightings.size());
  EXPECT_TRUE(split.sightings == whole.sightings);
  EXPECT_EQ(split.warnings, whole.warnings);
}

TEST(Split, OneBigFileInChunksReadsWhatOneThreadReads) {
  test::TempDir d("pt-split");
  const std::string f = write_pcap(d.path / "a.pcap", 6000, 0);
  const Read whole = read({f}, kNeverSplit, 0, d.path);
  ASSERT_EQ(std::get<1>(whole.points[0]).packets, 6000u);
  ASSERT_EQ(whole.sightings.size(), 6000u);
  EXPECT_EQ(whole.timings.split_files, 0u);
  for (std::uintmax_t chunk : {std::uintmax_t{64} << 10, std::uintmax_t{300} << 10, std::uintmax_t{1} << 20}) {
    SCOPED_TRACE(chunk);
    const Read split = read({f}, chunk, 0, d.path);
    EXPECT_EQ(split.timings.split_files, 1u);
    EXPECT_GE(split.timings.chunks, fs::file_size(f) / chunk);  // -v: "1 big file read in N chunks"
    EXPECT_TRUE(split.timings.reread.empty());
    expect_same(split, whole);
  }
}

TEST(Split, SeveralFilesOfDifferentSizes) {
  test::TempDir d("pt-split");
  const std::vector<std::string> files = {write_pcap(d.path / "a.pcap", 4000, 0), write_pcap(d.path / "b.pcap", 900, 5),
                                          write_pcap(d.path / "c.pcap", 2500, 11)};
  expect_same(read(files, std::uintmax_t{100} << 10, 0, d.path), read(files, kNeverSplit, 0, d.path));
}

TEST(Split, SpilledRunsMapEveryThreadsChains) {
  test::TempDir d("pt-split");
  const std::vector<std::string> files = {write_pcap(d.path / "a.pcap", 5000, 0), write_pcap(d.path / "b.pcap", 5000, 3)};
  // 64 KiB of budget: the run spills, with both threads reading both files.
  const Read whole = read(files, kNeverSplit, std::size_t{64} << 10, d.path);
  const Read split = read(files, std::uintmax_t{96} << 10, std::size_t{64} << 10, d.path);
  ASSERT_TRUE(whole.spilled);
  ASSERT_TRUE(split.spilled);
  expect_same(split, whole);
}

TEST(Split, AFileCutShortSaysSoOnceWithEveryRecordCounted) {
  test::TempDir d("pt-split");
  const std::string f = write_pcap(d.path / "a.pcap", 5000, 0);
  fs::resize_file(f, fs::file_size(f) - 30);  // inside the last record
  const Read whole = read({f}, kNeverSplit, 0, d.path);
  ASSERT_EQ(whole.warnings.size(), 1u);
  EXPECT_NE(whole.warnings[0].find("read the 4999 records before it"), std::string::npos) << whole.warnings[0];
  expect_same(read({f}, std::uintmax_t{128} << 10, 0, d.path), whole);
}

TEST(Split, ARecordChainInsidePacketDataIsFoundOutAndTheFileReadWhole) {
  test::TempDir d("pt-split");
  // 1000 small frames, one of ~60 KB whose payload is pcap records, 1000 small frames: the
  // middle of the file, where a split into two chunks looks for a record, is inside it.
  const std::vector<uint8_t> big = embedded_records(60000);
  const std::string f = write_pcap(d.path / "a.pcap", 2001, 0, 1000, big);
  const std::size_t size = fs::file_size(f);
  const std::size_t first = pcapfile::Reader(f).first_record();
  const std::size_t middle = first + (size - first) / 2;
  // The big frame's record: where it starts and ends.
  std::size_t big_begin = 0, big_end = 0;
  {
    pcapfile::Reader r(f);
    pcapfile::Packet p;
    for (uint32_t i = 0; i <= 1000 && r.next(p); ++i)
      if (i == 1000) {
        big_end = r.offset();
        big_begin = big_end - pcapfile::kPcapRecordHeaderLen - p.data.size();
      }
    ASSERT_LT(big_begin, middle);
    ASSERT_GT(big_end, middle);
    // What the split finds there is not one of the file's records: inside the big frame.
    const auto found = r.find_record(middle, middle + (1 << 20));
    ASSERT_TRUE(found.has_value());
    EXPECT_GT(*found, big_begin);
    EXPECT_LT(*found, big_end);
  }
  const Read whole = read({f}, kNeverSplit, 0, d.path);
  ASSERT_EQ(whole.sightings.size(), 2001u);
  const Read split = read({f}, size / 2, 0, d.path);
  // -v says so.
  EXPECT_EQ(split.timings.reread, std::vector<std::string>{"point A: " + f + ": read again whole (a chunk did not start "
                                                           "where the one before it ended)"});
  expect_same(split, whole);
}

TEST(Split, ACaptureOfSeveralDaysIsSplitToItsEnd) {
  test::TempDir d("pt-split");
  // 3000 frames two minutes apart: four days.
  const std::string f = write_pcap(d.path / "a.pcap", 3000, 0, ~0u, {}, 120LL * 1'000'000'000);
  const std::size_t size = fs::file_size(f);
  {
    const pcapfile::Reader r(f);
    const auto late = r.find_record(size * 9 / 10, size);
    ASSERT_TRUE(late.has_value()) << "a record three and a half days after the first is recognised";
  }
  expect_same(read({f}, std::uintmax_t{200} << 10, 0, d.path), read({f}, kNeverSplit, 0, d.path));
}

TEST(Split, RecordsBeyondTheSnaplenWithoutAWireLengthAreSplitToo) {
  test::TempDir d("pt-split");
  const std::string f = write_pcap(d.path / "a.pcap", 4000, 0);
  // As some writers leave them: a snaplen of 64 in the header, and every record's wire length 0.
  std::vector<std::size_t> records;
  {
    pcapfile::Reader r(f);
    pcapfile::Packet p;
    for (std::size_t at = r.offset(); r.next(p); at = r.offset()) records.push_back(at);
  }
  {
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    const uint32_t snaplen = 64, zero = 0;
    io.seekp(16);
    io.write(reinterpret_cast<const char*>(&snaplen), 4);
    for (std::size_t at : records) {
      io.seekp(std::streamoff(at + 12));
      io.write(reinterpret_cast<const char*>(&zero), 4);
    }
  }
  const std::size_t size = fs::file_size(f);
  {
    const pcapfile::Reader r(f);
    const auto found = r.find_record(size / 2, size);
    ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(std::binary_search(records.begin(), records.end(), *found)) << *found << " is a record's first byte";
  }
  expect_same(read({f}, std::uintmax_t{256} << 10, 0, d.path), read({f}, kNeverSplit, 0, d.path));
}

TEST(Split, RestrictedReadersTogetherReadEveryRecordOnce) {
  test::TempDir d("pt-split");
  const std::string f = write_pcap(d.path / "a.pcap", 3000, 0);
  const std::size_t size = fs::file_size(f);
  std::vector<std::size_t> bounds;
  {
    const pcapfile::Reader r(f);
    bounds.push_back(r.first_record());
    for (std::size_t at = 100000; at < size; at += 100000)
      if (const auto b = r.find_record(at, at + 100000)) bounds.push_back(*b);
  }
  ASSERT_GT(bounds.size(), 5u);
  bounds.push_back(SIZE_MAX);
  std::vector<int64_t> times;
  for (std::size_t k = 0; k + 1 < bounds.size(); ++k) {
    pcapfile::Reader r(f);
    r.restrict(bounds[k], bounds[k + 1]);
    pcapfile::Packet p;
    while (r.next(p)) times.push_back(p.ts_ns);
    if (k + 2 < bounds.size()) {
      EXPECT_EQ(r.offset(), bounds[k + 1]) << "chunk " << k << " ends where the next begins";
    }
    EXPECT_TRUE(r.cut().empty());
  }
  ASSERT_EQ(times.size(), 3000u);
  for (std::size_t i = 0; i < times.size(); ++i) EXPECT_EQ(times[i], kT0 + int64_t(i) * 1000) << i;
}

TEST(Split, APcapngFileInChunksReadsWhatOneThreadReads) {
  test::TempDir d("pt-split");
  // Statistics blocks before the first packet, in the middle and at the end, as dumpcap writes
  // them when it stops: of each interface the last one counts — none at the end (the middle
  // one counts), one at the end, or one at the end whose window does not hold the packets (no
  // window, and a warning).
  enum { kNoneAtEnd, kAtEnd, kOffAtEnd };
  for (const int end : {kNoneAtEnd, kAtEnd, kOffAtEnd}) {
    SCOPED_TRACE(end);
    Pcapng p = pcapng_of(6000, [](uint32_t i, Pcapng& f) {
      if (i == 0) f.isb(0, kT0, kT0, 1, 0);
      if (i == 3000) f.isb(0, kT0 - 2000, kT0 + 3000 * 1000, 7, 1);
    });
    if (end == kAtEnd) p.isb(0, kT0 - 1000, kT0 + 6000 * 1000, 12, 3);
    if (end == kOffAtEnd) p.isb(0, kT0 + 100'000'000'000, kT0 + 200'000'000'000, 12, 3);
    const std::string f = p.write(d.path / "a.pcapng");
    const Read whole = read({f}, kNeverSplit, 0, d.path);
    ASSERT_EQ(std::get<1>(whole.points[0]).packets, 6000u);
    EXPECT_EQ(std::get<4>(whole.points[0]), 1500u);
    const std::tuple<bool, int64_t, int64_t, uint64_t, uint64_t> stats[] = {
        {true, kT0 - 2000, kT0 + 3000 * 1000, 7, 1}, {true, kT0 - 1000, kT0 + 6000 * 1000, 12, 3}, {false, 0, 0, 12, 3}};
    EXPECT_TRUE(whole.stats[0] == stats[end]);
    EXPECT_EQ(whole.warnings.size(), end == kOffAtEnd ? 1u : 0u);
    for (std::uintmax_t chunk : {std::uintmax_t{64} << 10, std::uintmax_t{300} << 10, std::uintmax_t{1} << 20}) {
      SCOPED_TRACE(chunk);
      const Read split = read({f}, chunk, 0, d.path);
      EXPECT_EQ(split.timings.split_files, 1u);
      EXPECT_GE(split.timings.chunks, fs::file_size(f) / chunk);
      EXPECT_TRUE(split.timings.reread.empty());
      expect_same(split, whole);
    }
    // Spilled too.
    expect_same(read({f}, std::uintmax_t{96} << 10, std::size_t{64} << 10, d.path),
                read({f}, kNeverSplit, std::size_t{64} << 10, d.path));
  }
}

TEST(Split, PcapngFindRecordLandsOnPacketBlocksAndRangesReadEveryPacketOnce) {
  test::TempDir d("pt-split");
  std::vector<std::size_t> blocks;  // where each packet's block, or the name resolution block before it, starts
  Pcapng p = pcapng_of(3000, [&](uint32_t, Pcapng& f) { blocks.push_back(f.size()); });
  const std::string f = p.write(d.path / "a.pcapng");
  const std::size_t size = fs::file_size(f);
  std::vector<std::size_t> bounds;
  {
    const pcapfile::Reader r(f);
    ASSERT_TRUE(r.splittable());
    bounds.push_back(r.first_record());
    for (std::size_t at = 50000; at < size; at += 50000) {
      const auto b = r.find_record(at, at + 50000);
      ASSERT_TRUE(b.has_value()) << at;
      bounds.push_back(*b);
    }
  }
  bounds.push_back(SIZE_MAX);
  uint32_t read_packets = 0;
  for (std::size_t k = 0; k + 1 < bounds.size(); ++k) {
    pcapfile::Reader r(f);
    r.restrict(bounds[k], bounds[k + 1]);
    pcapfile::Packet pkt;
    while (r.next(pkt)) {
      EXPECT_EQ(pkt.ts_ns, kT0 + int64_t(read_packets) * 1000) << read_packets;
      ++read_packets;
    }
    EXPECT_TRUE(r.range_clean());
    if (k + 2 < bounds.size()) {
      EXPECT_EQ(r.offset(), bounds[k + 1]) << "chunk " << k << " ends where the next begins";
      // A block's first byte, never inside one.
      EXPECT_TRUE(std::binary_search(blocks.begin(), blocks.end(), bounds[k + 1])) << bounds[k + 1];
    }
  }
  EXPECT_EQ(read_packets, 3000u);
}

TEST(Split, PcapngBlocksThatDependOnWhatCameBeforeAreReadWhole) {
  test::TempDir d("pt-split");
  // A simple packet block (its time is the previous packet's) in the middle.
  {
    Pcapng p = pcapng_of(4000, [](uint32_t i, Pcapng& f) {
      if (i == 2000) f.spb(udp_frame(99999, payload_for(7)));
    });
    const std::string f = p.write(d.path / "spb.pcapng");
    const Read whole = read({f}, kNeverSplit, 0, d.path);
    ASSERT_EQ(std::get<1>(whole.points[0]).packets, 4001u);
    const Read split = read({f}, std::uintmax_t{128} << 10, 0, d.path);
    EXPECT_EQ(split.timings.reread,
              std::vector<std::string>{"point A: " + f + ": read again whole (a chunk met a block that depends on the "
                                                         "ones before it: a new section or interface, a simple packet)"});
    expect_same(split, whole);
  }
  // A second section (two captures joined with cat): its interface is the file's second, and
  // a point must pick one of them. The same refusal as a whole read's.
  {
    Pcapng p = pcapng_of(2000, [](uint32_t, Pcapng&) {});
    p.shb();
    p.idb(1, 1500);
    for (uint32_t i = 0; i < 2000; ++i) p.epb(0, kT0 + 5'000'000 + int64_t(i) * 1000, udp_frame(i, payload_for(i)));
    const std::string f = p.write(d.path / "joined.pcapng");
    std::string whole_error, split_error;
    try {
      read({f}, kNeverSplit, 0, d.path);
    } catch (const Error& e) {
      whole_error = e.what();
    }
    try {
      read({f}, std::uintmax_t{64} << 10, 0, d.path);
    } catch (const Error& e) {
      split_error = e.what();
    }
    EXPECT_NE(whole_error.find("holds 2 interfaces"), std::string::npos) << whole_error;
    EXPECT_EQ(split_error, whole_error);
  }
}

TEST(Split, APcapngFileCutShortSaysSoAsAWholeReadDoes) {
  test::TempDir d("pt-split");
  Pcapng p = pcapng_of(5000, [](uint32_t, Pcapng&) {});
  const std::size_t packets_end = p.size();
  p.isb(0, kT0, kT0 + 5000 * 1000, 0, 0);
  const std::string f = p.write(d.path / "a.pcapng");
  // Inside the last packet block, then inside the statistics block after it.
  for (const std::size_t cut_at : {packets_end - 30, packets_end + 20}) {
    SCOPED_TRACE(cut_at);
    fs::resize_file(f, cut_at);
    const Read whole = read({f}, kNeverSplit, 0, d.path);
    ASSERT_EQ(whole.warnings.size(), 1u);
    expect_same(read({f}, std::uintmax_t{128} << 10, 0, d.path), whole);
    p.write(d.path / "a.pcapng");
  }
}

}  // namespace
}  // namespace pathtrace::pipeline
