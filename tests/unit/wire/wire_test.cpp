// Unit tests of the wire format: round trips, every malformed variant, piecewise feeding,
// random bytes, and the measured size of a record.
#include "collector/wire/wire.hpp"
#include "collector/wire/record_stream.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

namespace pathtrace::wire {
namespace {

packet::FlowKey v4(uint32_t s, uint32_t d, uint8_t proto, uint16_t sp = 0, uint16_t dp = 0) {
  packet::FlowKey k;
  k.version = 4;
  k.proto = proto;
  for (int i = 0; i < 4; ++i) {
    k.src[i] = static_cast<uint8_t>(s >> (24 - 8 * i));
    k.dst[i] = static_cast<uint8_t>(d >> (24 - 8 * i));
  }
  k.sport = sp;
  k.dport = dp;
  return k;
}

Stats sample_stats() {
  Stats s;
  s.packets = 1000;
  s.bytes = 123456;
  s.digested = 990;
  s.filtered = 12;
  s.discarded[1] = 3;
  s.discarded[3] = 7;
  s.ps_recv = 1001;
  s.ps_drop = 1;
  s.ps_ifdrop = 2;
  s.over_mtu = 4;
  s.capture_start_ns = 1700000000123456789;
  s.last_packet_ns = 1700000001123456789;
  s.sent_at_ns = 1700000002000000000;
  s.records_sent = 978;
  return s;
}

std::vector<Frame> every_frame() {
  Hello h;
  h.run = "run-7";
  h.point = "C";
  h.host = "hv1";
  h.netns = "ptlab-hv";
  h.iface = "qbrbdd1f2c3-bd";
  h.linktype = 1;
  h.snaplen = 256;
  h.filter = "ipip";
  h.realtime_ns = 1700000000000000001;
  h.monotonic_ns = 123456789;
  h.token = "s3cret";
  h.software = "pathtrace 0.1.0";
  h.keep_bytes = 128;
  h.digest = 2;
  h.caps = {"kept", "digest2", "some-future-cap"};

  ChainEntry c;
  c.id = 3;
  c.stack = "eth/vlan/ipv4[ipip]/ipv4/tcp";
  c.ip = {v4(0xc6336407, 0xcb007114, 4), v4(0xc0000201, 0xcb007114, 6, 40000, 80)};
  ChainEntry c6;
  c6.id = 300000;
  c6.stack = "eth/ipv6/udp";
  packet::FlowKey k6;
  k6.version = 6;
  k6.proto = 17;
  k6.src[0] = 0x20;
  k6.src[15] = 1;
  k6.dst[0] = 0x20;
  k6.dst[15] = 2;
  k6.sport = 53;
  k6.dport = 5353;
  c6.ip = {k6};

  Records r;
  r.seq = 42;
  r.records = {{0x1122334455667788, 1700000000000000000, 3, 74, 0x02},
               {0xffffffffffffffff, 1700000000000001000, 0, 1514, 0},
               {0, 1699999999999999000, 300000, 65535, 0x10},  // time going backwards
               {7, 1700000000000001000, 1, 0xffffffff, 0x3f}};

  Bye b{sample_stats(), "signal"};
  Kept k{42, {3, 0, 2, 1}, {0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f}};
  return {h, c, c6, r, k, sample_stats(), b, Stop{"run finished"}, Reject{"wrong token"},
          Stop{""}};
}

std::vector<Frame> decode_all(std::span<const uint8_t> bytes, std::size_t piece) {
  Decoder d;
  std::vector<Frame> out;
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    d.feed(bytes.subspan(i, std::min(piece, bytes.size() - i)));
    Frame f;
    Decoder::Result res;
    while ((res = d.next(f)) == Decoder::Result::kFrame) out.push_back(f);
    EXPECT_NE(res, Decoder::Result::kError) << d.error();
  }
  EXPECT_EQ(d.buffered(), 0u);
  return out;
}

TEST(Wire, EveryFrameRoundTrips) {
  for (const Frame& f : every_frame()) {
    const auto bytes = encode(f);
    const auto back = decode_all(bytes, bytes.size());
    ASSERT_EQ(back.size(), 1u) << type_name(bytes[4]);
    EXPECT_TRUE(back[0] == f) << type_name(bytes[4]);
  }
}

TEST(Wire, HeaderBytesAreAsDocumented) {
  const auto bytes = encode(Stop{"ab"});
  const std::vector<uint8_t> want{3, 0, 0, 0, 0x10, 'a', 'b'};
  EXPECT_EQ(bytes, want);
  // RECORDS: seq 1, one record at ts 5, chain 2, wire length 60, tcp flags 0x12.
  const auto rec = encode(Records{1, {{0x0102030405060708, 5, 2, 60, 0x12}}});
  const std::vector<uint8_t> want_rec{
      30, 0, 0, 0, 0x03,                   // length 30 (type + 29 payload bytes), RECORDS
      1, 0, 0, 0, 0, 0, 0, 0,              // seq
      1,                                   // count
      5, 0, 0, 0, 0, 0, 0, 0,              // base timestamp
      8, 7, 6, 5, 4, 3, 2, 1,              // digest LE
      0,                                   // zigzag delta 0
      5,                                   // chain 2 << 1 | flags present
      60,                                  // wire length
      0x12};                               // tcp flags
  EXPECT_EQ(rec, want_rec);
  // KEPT: seq 1, two records, 3 and 0 bytes kept.
  const auto kept = encode(Kept{1, {3, 0}, {0xaa, 0xbb, 0xcc}});
  const std::vector<uint8_t> want_kept{
      15, 0, 0, 0, 0x06,                   // length 15 (type + 14 payload bytes), KEPT
      1, 0, 0, 0, 0, 0, 0, 0,              // seq
      2,                                   // count
      3, 0,                                // lengths
      0xaa, 0xbb, 0xcc};                   // bytes
  EXPECT_EQ(kept, want_kept);
}

TEST(Wire, ByteByByteFeedingYieldsTheSameFrames) {
  Encoder e;
  for (const Frame& f : every_frame()) e.frame(f);
  const auto all = every_frame();
  for (std::size_t piece : {1u, 2u, 3u, 5u, 7u, 64u, 4096u}) {
    const auto back = decode_all(e.bytes(), piece);
    ASSERT_EQ(back.size(), all.size()) << "piece " << piece;
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_TRUE(back[i] == all[i]) << i;
  }
}

TEST(Wire, WantedNeverAsksBeyondTheFrame) {
  const auto bytes = encode(Stop{"hello"});
  Decoder d;
  EXPECT_EQ(d.wanted(), kHeaderSize);
  d.feed(std::span(bytes).first(4));
  EXPECT_EQ(d.wanted(), bytes.size() - 4);
}

// Feeds `bytes` and returns the decoder's error ("" if none).
std::string error_of(const std::vector<uint8_t>& bytes) {
  Decoder d;
  d.feed(bytes);
  Frame f;
  while (d.next(f) == Decoder::Result::kFrame) {
  }
  return d.error();
}

std::vector<uint8_t> frame_bytes(uint8_t type, std::vector<uint8_t> payload) {
  std::vector<uint8_t> b;
  const uint32_t len = static_cast<uint32_t>(payload.size() + 1);
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(len >> (8 * i)));
  b.push_back(type);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

std::vector<uint8_t> text(const std::string& s) { return {s.begin(), s.end()}; }

TEST(Wire, OversizedLengthIsRejectedBeforeThePayload) {
  // Only the 4 length bytes: the decoder must not wait for 10 MB.
  const uint32_t len = 9999999;
  std::vector<uint8_t> b{uint8_t(len), uint8_t(len >> 8), uint8_t(len >> 16), uint8_t(len >> 24)};
  Decoder d;
  d.feed(b);
  Frame f;
  EXPECT_EQ(d.next(f), Decoder::Result::kError);
  EXPECT_EQ(d.error(), "frame length 9999999 exceeds 1 MiB");
  // Sticky: more bytes change nothing.
  d.feed(encode(Stop{"x"}));
  EXPECT_EQ(d.next(f), Decoder::Result::kError);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Wire, EveryMalformedFrameHasItsReason) {
  EXPECT_EQ(error_of({0, 0, 0, 0}), "frame length 0 (at least 1: the type byte)");
  EXPECT_EQ(error_of({1, 0, 0, 0, 0x42}), "unknown frame type 0x42");
  // Unknown type is reported as soon as the type byte is in, not after the payload.
  EXPECT_EQ(error_of({100, 0, 0, 0, 0x42, 1}), "unknown frame type 0x42");

  // RECORDS: 12 declared, 7 present.
  {
    std::vector<Record> recs;
    for (int i = 0; i < 12; ++i) recs.push_back({uint64_t(i), 1000 + i, 0, 60, 0});
    Encoder e;
    e.records(0, recs);
    auto b = e.take();
    // Keep header (5) + seq 8 + count 1 + base 8 + 7 records of 11 bytes, and one extra byte.
    const std::size_t keep = 5 + 17 + 7 * 11 + 1;
    b.resize(keep);
    const uint32_t len = static_cast<uint32_t>(keep - 4);
    for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(len >> (8 * i));
    EXPECT_EQ(error_of(b), "RECORDS frame: 12 records declared, payload ends after 7");
  }
  EXPECT_EQ(error_of(frame_bytes(0x03, {1, 2, 3})), "RECORDS frame: truncated header (sequence number)");
  EXPECT_EQ(error_of(frame_bytes(0x03, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})),
            "RECORDS frame: 0 records declared");
  EXPECT_EQ(error_of(frame_bytes(0x03, {0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0})),
            "RECORDS frame: 16384 records declared, payload ends after 0");
  EXPECT_EQ(error_of(frame_bytes(0x03, {0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0})),
            "RECORDS frame: 16385 records declared (at most 16384)");
  {
    auto b = encode(Records{0, {{1, 2, 3, 4, 0}}});
    b.push_back(9);
    b.push_back(9);
    b[0] = static_cast<uint8_t>(b[0] + 2);
    EXPECT_EQ(error_of(b), "RECORDS frame: 2 bytes after the 1 declared records");
  }
  {
    std::vector<uint8_t> p(8, 0);
    p.push_back(1);                       // count
    p.insert(p.end(), 8, 0);              // base
    p.insert(p.end(), 8, 0);              // digest
    p.insert(p.end(), 11, 0xff);          // overlong varint
    EXPECT_EQ(error_of(frame_bytes(0x03, p)), "RECORDS frame: record 0: varint longer than 10 bytes");
  }
  {
    std::vector<uint8_t> p(8, 0);
    p.push_back(1);
    p.insert(p.end(), 16, 0);
    p.push_back(0);                                              // delta
    for (uint8_t x : {0xff, 0xff, 0xff, 0xff, 0x3f}) p.push_back(x);  // chain (2^35-1): id ≥ 2^32
    p.push_back(60);
    EXPECT_EQ(error_of(frame_bytes(0x03, p)), "RECORDS frame: record 0: chain id exceeds 32 bits");
  }

  // KEPT
  EXPECT_EQ(error_of(frame_bytes(0x06, {1, 2})), "KEPT frame: truncated header (sequence number)");
  EXPECT_EQ(error_of(frame_bytes(0x06, {0, 0, 0, 0, 0, 0, 0, 0, 0})), "KEPT frame: 0 records declared");
  EXPECT_EQ(error_of(frame_bytes(0x06, {0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x80, 0x01})),
            "KEPT frame: 16385 records declared (at most 16384)");
  EXPECT_EQ(error_of(frame_bytes(0x06, {0, 0, 0, 0, 0, 0, 0, 0, 3, 1})),
            "KEPT frame: 3 lengths declared, payload ends after 1");
  EXPECT_EQ(error_of(frame_bytes(0x06, {0, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0x80, 0x04})),
            "KEPT frame: record 0: 65536 bytes kept (at most 65535)");
  EXPECT_EQ(error_of(frame_bytes(0x06, {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 1, 2, 3})),
            "KEPT frame: lengths add up to 4 bytes, 3 follow");
  EXPECT_EQ(error_of(frame_bytes(0x06, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2})),
            "KEPT frame: lengths add up to 1 bytes, 2 follow");

  // CHAIN
  EXPECT_EQ(error_of(frame_bytes(0x02, {})), "CHAIN frame: truncated chain id");
  EXPECT_EQ(error_of(frame_bytes(0x02, {1, 3, 'e', 't', 'h', 0})), "CHAIN frame: 0 IP layers (1..4 allowed)");
  EXPECT_EQ(error_of(frame_bytes(0x02, {1, 3, 'e', 't', 'h', 5})), "CHAIN frame: 5 IP layers (1..4 allowed)");
  EXPECT_EQ(error_of(frame_bytes(0x02, {1, 9, 'e', 't', 'h'})),
            "CHAIN frame: stack string of 9 bytes, payload has 3");
  EXPECT_EQ(error_of(frame_bytes(0x02, {1, 0, 1, 5, 6})), "CHAIN frame: IP layer 0: IP version 5 (4 or 6 expected)");
  EXPECT_EQ(error_of(frame_bytes(0x02, {1, 0, 1, 4, 6, 1, 2, 3})), "CHAIN frame: IP layer 0: truncated");
  {
    auto b = encode(every_frame()[1]);
    b.push_back(0);
    b[0] = static_cast<uint8_t>(b[0] + 1);
    EXPECT_EQ(error_of(b), "CHAIN frame: 1 bytes after the last IP layer");
  }

  // JSON frames
  EXPECT_EQ(error_of(frame_bytes(0x01, text("[1,2]"))), "HELLO frame: JSON payload is not an object");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"point\":\"C\"}"))), "HELLO frame: missing field 'wire_version'");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":1,\"point\":7}"))),
            "HELLO frame: field 'point' is not a string");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":-1,\"point\":\"C\"}"))),
            "HELLO frame: field 'wire_version' is not an unsigned integer");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":1,\"point\":\"C\",\"snaplen\":99999999999}"))),
            "HELLO frame: field 'snaplen' is out of range");
  EXPECT_TRUE(error_of(frame_bytes(0x01, text("{\"wire_ver"))).starts_with("HELLO frame: invalid JSON: "));
  EXPECT_EQ(error_of(frame_bytes(0x04, text("{}"))), "STATS frame: missing field 'packets'");
  EXPECT_EQ(error_of(frame_bytes(0x05, text("{\"reason\":\"x\"}"))), "BYE frame: missing field 'stats'");
  EXPECT_EQ(error_of(frame_bytes(0x05, text("{\"stats\":{\"packets\":1,\"discarded\":3}}"))),
            "BYE frame: field 'discarded' is not an object");
  // Unknown JSON fields are accepted (forward compatible within one wire version).
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":1,\"point\":\"C\",\"new\":[1]}"))), "");
  // digest and caps are optional, but typed.
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":2,\"point\":\"C\",\"digest\":0}"))),
            "HELLO frame: field 'digest' is 0 (digest versions start at 1)");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":2,\"point\":\"C\",\"digest\":\"2\"}"))),
            "HELLO frame: field 'digest' is not an unsigned integer");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":2,\"point\":\"C\",\"caps\":\"kept\"}"))),
            "HELLO frame: field 'caps' is not an array");
  EXPECT_EQ(error_of(frame_bytes(0x01, text("{\"wire_version\":2,\"point\":\"C\",\"caps\":[\"kept\",2]}"))),
            "HELLO frame: field 'caps' holds a non-string");
}

TEST(Wire, HelloSaysHowItsDigestsAreComputed) {
  // This build: digest v2 and its capabilities, in the JSON as docs/wire.md shows them.
  const Hello mine;
  EXPECT_EQ(mine.digest, packet::kDigestVersion);
  EXPECT_EQ(mine.caps, (std::vector<std::string>{"kept", "digest2"}));
  const auto bytes = encode(mine);
  const std::string json(bytes.begin() + 5, bytes.end());
  EXPECT_NE(json.find("\"digest\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"caps\":[\"kept\",\"digest2\"]"), std::string::npos) << json;
  // A HELLO without them (every collector before digest v2) decodes as digest v1, no caps.
  const auto old = decode_all(frame_bytes(0x01, text("{\"wire_version\":2,\"point\":\"C\"}")), 1000);
  ASSERT_EQ(old.size(), 1u);
  const auto& h = std::get<Hello>(old[0]);
  EXPECT_EQ(h.digest, 1u);
  EXPECT_TRUE(h.caps.empty());
}

TEST(Wire, StatsAndByeCarryEveryFrameCounter) {
  // Every counter a distinct value (every discard reason included), through STATS and BYE,
  // and under the names docs/wire.md gives.
  Stats s;
  uint64_t v = 1;
  s.packets = v++;
  s.bytes = v++;
  s.digested = v++;
  s.filtered = v++;
  for (std::size_t i = 1; i < packet::kStatusCount; ++i) s.discarded[i] = v++;
  s.over_mtu = v++;
  s.ps_recv = v++;
  s.ps_drop = v++;
  s.ps_ifdrop = v++;
  s.capture_start_ns = static_cast<int64_t>(v++);
  s.last_packet_ns = static_cast<int64_t>(v++);
  s.sent_at_ns = static_cast<int64_t>(v++);
  s.records_sent = v++;
  for (const Frame& f : {Frame{s}, Frame{Bye{s, "count reached"}}}) {
    const auto bytes = encode(f);
    const auto back = decode_all(bytes, 7);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_TRUE(back[0] == f) << type_name(bytes[4]);
    const Stats& got = std::holds_alternative<Stats>(back[0]) ? std::get<Stats>(back[0])
                                                               : std::get<Bye>(back[0]).stats;
    EXPECT_EQ(static_cast<const packet::FrameCounts&>(got), static_cast<const packet::FrameCounts&>(s));
    const std::string json(bytes.begin() + 5, bytes.end());
    for (const char* name : {"\"packets\":1,", "\"bytes\":2,", "\"digested\":3,", "\"filtered\":4,",
                             "\"truncated\":", "\"malformed\":", "\"not_ip\":", "\"too_deep\":",
                             "\"unsupported_link\":", "\"over_mtu\":10,"})
      EXPECT_NE(json.find(name), std::string::npos) << name << " in " << json;
  }
  // discarded[kOk] is not a discard: never sent, so it reads back as 0.
  Stats ok = s;
  ok.discarded[0] = 99;
  const auto back = decode_all(encode(ok), 1000);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(std::get<Stats>(back[0]).discarded[0], 0u);
}

TEST(Wire, LimitIsConfigurable) {
  Decoder d(100);
  d.feed(encode(Stop{std::string(200, 'x')}));
  Frame f;
  EXPECT_EQ(d.next(f), Decoder::Result::kError);
  EXPECT_EQ(d.error(), "frame length 201 exceeds 100 bytes");
}

TEST(Wire, RandomBytesNeverCrash) {
  std::mt19937_64 rng(12345);
  Encoder valid;
  for (const Frame& f : every_frame()) valid.frame(f);
  const auto good = valid.take();
  uint64_t frames = 0, errors = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> b;
    if (round % 2) {
      // Mutated valid stream: flip a few bytes.
      b = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < flips; ++i) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    } else {
      // Pure noise with plausible small lengths and types.
      b.resize(rng() % 300);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      if (b.size() > 5) {
        b[0] = static_cast<uint8_t>(rng() % 64);
        b[1] = b[2] = b[3] = 0;
        b[4] = static_cast<uint8_t>(1 + rng() % 5);
      }
    }
    Decoder d;
    std::size_t i = 0;
    while (i < b.size()) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 17, b.size() - i);
      d.feed(std::span(b).subspan(i, n));
      i += n;
      Frame f;
      Decoder::Result r;
      while ((r = d.next(f)) == Decoder::Result::kFrame) ++frames;
      if (r == Decoder::Result::kError) {
        ++errors;
        EXPECT_FALSE(d.error().empty());
        break;
      }
    }
  }
  EXPECT_GT(frames, 0u);
  EXPECT_GT(errors, 0u);
}

TEST(Wire, BytesPerPacketOnRealisticRecords) {
  // A busy point: packets ~20 µs apart on average (50 kpps), mostly TCP in a few dozen
  // flows, sizes bimodal (ACKs and full segments).
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> gap(1.0 / 20000.0);
  std::vector<Record> recs;
  int64_t ts = 1700000000000000000;
  for (int i = 0; i < 100000; ++i) {
    ts += static_cast<int64_t>(gap(rng));
    Record r;
    r.digest = rng();
    r.ts_ns = ts;
    r.chain = static_cast<uint32_t>(rng() % 40);
    const bool tcp = rng() % 10 < 8;
    r.wire_len = rng() % 2 ? 66 : 1514;
    r.tcp_flags = tcp ? (rng() % 20 ? 0x10 : 0x18) : 0;
    recs.push_back(r);
  }
  Encoder e;
  for (std::size_t i = 0; i < recs.size(); i += 1024)
    e.records(i, std::span(recs).subspan(i, std::min<std::size_t>(1024, recs.size() - i)));
  const double per = double(e.size()) / double(recs.size());
  std::printf("[ bytes/packet ] %.2f bytes per packet on the wire (100000 records, batches of 1024)\n", per);
  EXPECT_LE(per, 16.0);
  Decoder d;
  d.feed(e.bytes());
  Frame f;
  std::size_t got = 0;
  while (d.next(f) == Decoder::Result::kFrame) got += std::get<Records>(f).records.size();
  EXPECT_EQ(got, recs.size());
}

}  // namespace
}  // namespace pathtrace::wire

namespace pathtrace::wire {
namespace {

// A frame of `n` bytes: Ethernet + IPv4 + UDP from 198.18.0.1 to 198.18.0.`dst`, payload `tag`.
std::vector<uint8_t> udp_frame(uint8_t dst, uint8_t tag, std::size_t n = 60) {
  std::vector<uint8_t> f(n, 0);
  f[12] = 0x08;                                      // IPv4
  f[14] = 0x45;                                      // version 4, IHL 5
  const std::size_t ip_len = n - 14;
  f[16] = static_cast<uint8_t>(ip_len >> 8);
  f[17] = static_cast<uint8_t>(ip_len);
  f[18] = tag;                                       // IP ID: different digests
  f[22] = 64;                                        // TTL
  f[23] = 17;                                        // UDP
  f[26] = 198, f[27] = 18, f[28] = 0, f[29] = 1;
  f[30] = 198, f[31] = 18, f[32] = 0, f[33] = dst;
  f[34] = 0x30, f[35] = 0x39, f[36] = 0x00, f[37] = 0x35;  // 12345 → 53
  const std::size_t udp_len = ip_len - 20;
  f[38] = static_cast<uint8_t>(udp_len >> 8);
  f[39] = static_cast<uint8_t>(udp_len);
  f[42] = tag;
  return f;
}

std::vector<Frame> frames_of(const Encoder& e) {
  Decoder d;
  d.feed(e.bytes());
  std::vector<Frame> out;
  Frame f;
  while (d.next(f) == Decoder::Result::kFrame) out.push_back(f);
  EXPECT_FALSE(d.failed()) << d.error();
  return out;
}

TEST(RecordStream, AnnouncesEachChainOnceBeforeItsRecordsAndNumbersTheBatches) {
  Encoder e;
  RecordStream rs(e, 2, 0);
  packet::Parsed p;
  const uint8_t dsts[] = {20, 20, 21, 20, 21};
  for (uint8_t i = 0; i < 5; ++i) {
    const auto f = udp_frame(dsts[i], i);
    ASSERT_EQ(packet::parse(f, uint32_t(f.size()), packet::LinkType::kEthernet, {}, p), packet::Status::kOk);
    rs.add(p, 1000 + i, uint32_t(f.size()), f);
  }
  EXPECT_EQ(rs.flush(), 1u);
  EXPECT_EQ(rs.sent(), 5u);
  const auto frames = frames_of(e);
  // CHAIN 0, RECORDS [0,2), CHAIN 1, RECORDS [2,4), RECORDS [4,5): no KEPT without keep_bytes.
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(std::get<ChainEntry>(frames[0]).id, 0u);
  EXPECT_EQ(std::get<Records>(frames[1]).seq, 0u);
  EXPECT_EQ(std::get<ChainEntry>(frames[2]).id, 1u);
  EXPECT_EQ(std::get<ChainEntry>(frames[2]).stack, "eth/ipv4/udp");
  const auto& r2 = std::get<Records>(frames[3]);
  EXPECT_EQ(r2.seq, 2u);
  ASSERT_EQ(r2.records.size(), 2u);
  EXPECT_EQ(r2.records[0].chain, 1u);  // .21
  EXPECT_EQ(r2.records[1].chain, 0u);  // .20 again: interned, not announced twice
  EXPECT_EQ(r2.records[1].ts_ns, 1003);
  EXPECT_EQ(std::get<Records>(frames[4]).seq, 4u);
}

TEST(RecordStream, KeepsTheFirstBytesOfEveryPacketInAKeptFrameAfterItsRecords) {
  Encoder e;
  RecordStream rs(e, 4096, 16);
  packet::Parsed p;
  const auto big = udp_frame(20, 1, 100);
  const auto small = udp_frame(20, 2, 60);
  for (const auto* f : {&big, &small}) {
    ASSERT_EQ(packet::parse(*f, uint32_t(f->size()), packet::LinkType::kEthernet, {}, p), packet::Status::kOk);
    rs.add(p, 5, uint32_t(f->size()), std::span(*f).first(f == &small ? 10 : f->size()));
  }
  rs.flush();
  const auto frames = frames_of(e);
  ASSERT_EQ(frames.size(), 3u);  // CHAIN, RECORDS, KEPT
  const auto& k = std::get<Kept>(frames[2]);
  EXPECT_EQ(k.seq, 0u);
  EXPECT_EQ(k.lens, (std::vector<uint16_t>{16, 10}));  // capped at 16; a 10-byte capture keeps 10
  std::vector<uint8_t> want(big.begin(), big.begin() + 16);
  want.insert(want.end(), small.begin(), small.begin() + 10);
  EXPECT_EQ(k.data, want);
}

TEST(RecordStream, LargeKeptBytesFlushEarlySoEveryFrameFitsTheLimit) {
  Encoder e;
  RecordStream rs(e, wire::kMaxRecordsPerFrame, RecordStream::kMaxKeepBytes);
  packet::Parsed p;
  const auto f = udp_frame(20, 1, 9000);
  ASSERT_EQ(packet::parse(f, uint32_t(f.size()), packet::LinkType::kEthernet, {}, p), packet::Status::kOk);
  for (int i = 0; i < 200; ++i) rs.add(p, i, uint32_t(f.size()), f);
  rs.flush();
  std::size_t records = 0, kept = 0;
  for (const Frame& fr : frames_of(e)) {  // frames_of fails the test on any frame over kMaxFrame
    if (auto* r = std::get_if<Records>(&fr)) records += r->records.size();
    if (auto* k = std::get_if<Kept>(&fr)) kept += k->lens.size();
  }
  EXPECT_EQ(records, 200u);
  EXPECT_EQ(kept, 200u);
}

}  // namespace
}  // namespace pathtrace::wire
