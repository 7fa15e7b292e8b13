// Agents across versions: a stream recorded from pathtrace 0.1.0 (data/README.md) read by
// today's decoder, server and Collection, and the digest-version check that keeps a run
// from comparing digests computed two ways.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "collector/packet/packet.hpp"
#include "collector/wire/wire.hpp"
#include "correlator/server/collection.hpp"
#include "correlator/server/server.hpp"

namespace pathtrace::wire {
namespace {

using namespace std::chrono_literals;

std::vector<uint8_t> recorded_010() {
  std::ifstream in(std::string(PATHTRACE_WIRE_DATA) + "/collector-0.1.0.stream", std::ios::binary);
  EXPECT_TRUE(in) << "tests/unit/wire/data/collector-0.1.0.stream missing";
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One decoded frame and the bytes it came from.
struct Piece {
  Frame frame;
  std::vector<uint8_t> bytes;
};

// Decodes the stream fed `chunk` bytes at a time; fails the test on any decoding error.
std::vector<Piece> decode_stream(const std::vector<uint8_t>& s, std::size_t chunk) {
  Decoder d;
  std::vector<Piece> out;
  std::size_t start = 0;  // where the next frame begins in `s`
  for (std::size_t i = 0; i < s.size(); i += chunk) {
    d.feed(std::span(s).subspan(i, std::min(chunk, s.size() - i)));
    Frame f;
    Decoder::Result r;
    while ((r = d.next(f)) == Decoder::Result::kFrame) {
      const std::size_t len = 4 + (s[start] | s[start + 1] << 8 | s[start + 2] << 16 | std::size_t{s[start + 3]} << 24);
      out.push_back({f, std::vector<uint8_t>(s.begin() + std::ptrdiff_t(start), s.begin() + std::ptrdiff_t(start + len))});
      start += len;
    }
    EXPECT_NE(r, Decoder::Result::kError) << d.error();
  }
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_EQ(start, s.size());
  return out;
}

std::string kind(const Frame& f) {
  static const char* names[] = {"HELLO", "CHAIN", "RECORDS", "STATS", "BYE", "STOP", "REJECT", "KEPT"};
  return names[f.index()];
}

TEST(Compat, TodaysDecoderReadsThe010StreamWhole) {
  const auto s = recorded_010();
  ASSERT_EQ(s.size(), 5351u);
  for (const std::size_t chunk : {s.size(), std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    SCOPED_TRACE("fed " + std::to_string(chunk) + " bytes at a time");
    const auto pieces = decode_stream(s, chunk);
    std::string kinds;
    for (const auto& p : pieces) kinds.append(kinds.empty() ? "" : " ").append(kind(p.frame));
    EXPECT_EQ(kinds,
              "HELLO STATS CHAIN CHAIN RECORDS KEPT RECORDS KEPT STATS RECORDS KEPT CHAIN CHAIN "
              "RECORDS KEPT BYE");
    ASSERT_FALSE(pieces.empty());
    const auto& h = std::get<Hello>(pieces.front().frame);
    EXPECT_EQ(h.wire_version, 2u);
    EXPECT_EQ(h.point, "A");
    EXPECT_EQ(h.software, "pathtrace 0.1.0");
    EXPECT_EQ(h.keep_bytes, 64u);
    EXPECT_EQ(h.linktype, 1u);
    EXPECT_EQ(h.digest, 1u) << "a HELLO without \"digest\" is digest v1";
    EXPECT_TRUE(h.caps.empty());
    // Every record, numbered without a gap, each batch followed by its kept bytes, every
    // chain announced before use.
    uint64_t next_seq = 0;
    uint32_t chains = 0;
    std::size_t last_records = 0;
    for (const auto& p : pieces) {
      if (auto* c = std::get_if<ChainEntry>(&p.frame)) {
        EXPECT_EQ(c->id, chains++);
      } else if (auto* r = std::get_if<Records>(&p.frame)) {
        EXPECT_EQ(r->seq, next_seq);
        next_seq += r->records.size();
        last_records = r->records.size();
        for (const Record& rec : r->records) EXPECT_LT(rec.chain, chains);
      } else if (auto* k = std::get_if<Kept>(&p.frame)) {
        EXPECT_EQ(k->seq + k->lens.size(), next_seq);
        EXPECT_EQ(k->lens.size(), last_records);
        for (const uint16_t n : k->lens) EXPECT_TRUE(n > 0 && n <= 64);
      }
    }
    EXPECT_EQ(next_seq, 50u);
    EXPECT_EQ(chains, 4u);
    const auto& bye = std::get<Bye>(pieces.back().frame);
    EXPECT_EQ(bye.reason, "count reached");
    EXPECT_EQ(bye.stats.packets, 50u);
    EXPECT_EQ(bye.stats.digested, 50u);
    EXPECT_EQ(bye.stats.records_sent, 50u);
    EXPECT_EQ(bye.stats.ps_drop, 0u);
  }
}

TEST(Compat, BinaryFramesOfThe010StreamReencodeByteForByte) {
  // CHAIN, RECORDS and KEPT layouts did not change: today's encoder writes the same bytes.
  int binary = 0;
  for (const auto& p : decode_stream(recorded_010(), 1 << 20)) {
    if (std::holds_alternative<ChainEntry>(p.frame) || std::holds_alternative<Records>(p.frame) ||
        std::holds_alternative<Kept>(p.frame)) {
      EXPECT_EQ(encode(p.frame), p.bytes) << kind(p.frame);
      ++binary;
    }
  }
  EXPECT_EQ(binary, 12);
}

TEST(Compat, The010DigestsOfTheSamePacketsDifferFromTodays) {
  // Why a run refuses to mix versions: the kept bytes are the packets 0.1.0 digested; today's
  // digest of each one that was kept whole enough differs from the digest 0.1.0 sent. And the
  // innermost flow key a CHAIN frame carries is the parser's, so G (address_hash) computed by
  // a correlator from the CHAIN frame is the collector's.
  std::vector<ChainEntry> chains;
  std::vector<Record> last;
  int compared = 0;
  for (const auto& p : decode_stream(recorded_010(), 1 << 20)) {
    if (auto* c = std::get_if<ChainEntry>(&p.frame)) chains.push_back(*c);
    if (auto* r = std::get_if<Records>(&p.frame)) last = r->records;
    auto* k = std::get_if<Kept>(&p.frame);
    if (!k) continue;
    std::size_t off = 0;
    for (std::size_t i = 0; i < k->lens.size(); ++i) {
      const std::span<const uint8_t> frame(k->data.data() + off, k->lens[i]);
      off += k->lens[i];
      packet::Parsed parsed;
      if (packet::parse(frame, last[i].wire_len, packet::LinkType::kEthernet, packet::Options{}, parsed) !=
          packet::Status::kOk)
        continue;  // a TCP segment with options: 64 bytes end inside the digest's bytes
      ++compared;
      EXPECT_NE(parsed.digest, last[i].digest);
      const ChainEntry& chain = chains.at(last[i].chain);
      ASSERT_EQ(chain.ip.size(), parsed.n_ip);
      EXPECT_EQ(chain.ip.back(), parsed.ip[parsed.n_ip - 1]);
      EXPECT_EQ(packet::address_hash(chain.ip.back()), packet::address_hash(parsed.ip[parsed.n_ip - 1]));
    }
  }
  EXPECT_GE(compared, 38);  // the UDP datagrams and ICMP errors
}

Hello hello_v2(const std::string& point, const std::string& software = "pathtrace 0.2.0") {
  Hello h;
  h.point = point;
  h.software = software;
  return h;
}

Hello hello_010(const std::string& point) {
  const auto pieces = decode_stream(recorded_010(), 1 << 20);
  Hello h = std::get<Hello>(pieces.front().frame);
  h.point = point;
  return h;
}

TEST(Compat, CollectionRefusesToMixDigestVersions) {
  {
    server::Collection col;
    EXPECT_EQ(col.digest_version(), 0u);
    EXPECT_EQ(col.admit(hello_v2("A")), "");
    EXPECT_EQ(col.admit(hello_v2("B")), "");
    EXPECT_EQ(col.admit(hello_010("C")),
              "point C: its collector computes digest v1 (pathtrace 0.1.0); the run's other points "
              "use v2 \u2014 upgrade it");
    EXPECT_EQ(col.digest_version(), 2u);
    // The refused collector did not take its label: an upgraded one may have it.
    EXPECT_EQ(col.admit(hello_v2("C")), "");
    const auto got = col.take();
    EXPECT_EQ(got.digest_version, 2u);
    EXPECT_EQ(got.points.size(), 3u);
  }
  {
    // The other way round: the run started with 0.1.0 collectors; a newer one is the odd one.
    server::Collection col;
    EXPECT_EQ(col.admit(hello_010("A")), "");
    EXPECT_EQ(col.admit(hello_010("B")), "");
    EXPECT_EQ(col.admit(hello_v2("D")),
              "point D: its collector computes digest v2 (pathtrace 0.2.0); the run's other points "
              "use v1: A (pathtrace 0.1.0), B (pathtrace 0.1.0) \u2014 upgrade them");
    EXPECT_EQ(col.take().digest_version, 1u);  // a run of 0.1.0 collectors alone is fine
  }
}

// ServerOptions::log sink that keeps the lines.
struct Lines {
  std::mutex m;
  std::string text;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& s) {
      std::lock_guard lk(m);
      text += s + "\n";
    };
  }
  std::string all() {
    std::lock_guard lk(m);
    return text;
  }
};

// Hands `bytes` to the server as a finished pipe stream (as an ssh session's stdout).
void stream(server::Server& srv, const std::vector<uint8_t>& bytes, const std::string& name) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(p[1]);
  srv.add_stream(p[0], name);
}

TEST(Compat, TheCorrelatorTakesThe010StreamAloneAndRefusesItAmongV2Collectors) {
  {
    // Alone: a whole, clean session with every record and kept packet.
    server::Collection col;
    Lines log;
    server::ServerOptions opt;
    opt.listen = "";
    opt.log = log.sink();
    opt.admit = [&col](const Hello& h) { return col.admit(h); };
    server::Server srv(opt, col);
    srv.start();
    stream(srv, recorded_010(), "pathtrace 0.1.0");
    ASSERT_TRUE(srv.wait_idle(10s)) << log.all();
    srv.stop();
    pathtrace::KeptFrames kept;
    col.take_kept(kept);
    const auto got = col.take();
    ASSERT_EQ(got.points.size(), 1u) << log.all();
    EXPECT_TRUE(got.status[0].clean) << got.status[0].end_reason;
    EXPECT_EQ(got.status[0].records, 50u);
    EXPECT_EQ(got.points[0].records_lost, 0u);
    EXPECT_EQ(got.sightings.size(), 50u);
    EXPECT_EQ(got.chains.size(), 4u);
    EXPECT_EQ(kept.frames.size(), 50u);
    EXPECT_EQ(got.digest_version, 1u);
  }
  {
    // After a v2 collector: refused, with the reason in the log; the v2 point is untouched.
    server::Collection col;
    Lines log;
    server::ServerOptions opt;
    opt.listen = "";
    opt.log = log.sink();
    opt.admit = [&col](const Hello& h) { return col.admit(h); };
    server::Server srv(opt, col);
    srv.start();
    Encoder enc;
    enc.hello(hello_v2("B"));
    ChainEntry c;
    c.stack = "eth/ipv4/udp";
    c.ip.resize(1);
    c.ip[0].version = 4;
    c.ip[0].proto = 17;
    enc.chain(c);
    const Record r{0x1234, 1'796'418'377'000'000'000, 0, 60, 0};
    enc.records(0, std::span(&r, 1));
    Bye bye;
    bye.reason = "count reached";
    bye.stats.packets = 1;
    bye.stats.records_sent = 1;
    enc.bye(bye);
    stream(srv, enc.take(), "pathtrace 0.2.0");
    ASSERT_TRUE(srv.wait_idle(10s)) << log.all();
    stream(srv, recorded_010(), "pathtrace 0.1.0");
    ASSERT_TRUE(srv.wait_idle(10s)) << log.all();
    srv.stop();
    EXPECT_EQ(srv.counters().rejected, 1u) << log.all();
    EXPECT_NE(log.all().find("point A: its collector computes digest v1 (pathtrace 0.1.0); the run's "
                             "other points use v2 \u2014 upgrade it"),
              std::string::npos)
        << log.all();
    const auto got = col.take();
    ASSERT_EQ(got.points.size(), 1u);
    EXPECT_EQ(got.points[0].label, "B");
    EXPECT_EQ(got.sightings.size(), 1u);
    EXPECT_EQ(got.digest_version, 2u);
  }
}

}  // namespace
}  // namespace pathtrace::wire
