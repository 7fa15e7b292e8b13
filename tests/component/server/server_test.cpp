// Component tests of the correlator transport: real TCP on loopback (port 0), pipes, fake
// collectors in threads, and (as root) a live capture on a veth pair in private namespaces.
#include "correlator/server/server.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/store/store.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <thread>

#include "collector/agent/agent.hpp"
#include "collector/common/error.hpp"
#include "correlator/server/collection.hpp"
#include "tests/component/server/log.hpp"

namespace pathtrace::server {
namespace {

using namespace std::chrono_literals;
using test::Log;

int connect_port(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::span<const uint8_t> b) {
  std::size_t off = 0;
  while (off < b.size()) {
    const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads frames from fd until EOF (or timeout); returns them.
std::vector<wire::Frame> read_frames(int fd, std::chrono::milliseconds timeout = 3000ms) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  wire::Decoder d;
  std::vector<wire::Frame> out;
  uint8_t buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    d.feed(std::span<const uint8_t>(buf, static_cast<std::size_t>(n)));
    wire::Frame f;
    while (d.next(f) == wire::Decoder::Result::kFrame) out.push_back(f);
  }
  return out;
}

wire::Hello hello(const std::string& point, const std::string& token = "") {
  wire::Hello h;
  h.point = point;
  h.host = "test";
  h.iface = "fake" + point;
  h.token = token;
  return h;
}

wire::ChainEntry chain(uint32_t id, uint8_t last_octet) {
  wire::ChainEntry c;
  c.id = id;
  c.stack = "eth/ipv4[ipip]/ipv4/tcp";
  packet::FlowKey outer, inner;
  outer.version = inner.version = 4;
  outer.proto = 4;
  inner.proto = 6;
  outer.src = {198, 51, 100, 7};
  outer.dst = {203, 0, 113, 20};
  inner.src = {192, 0, 2, last_octet};
  inner.dst = {203, 0, 113, 20};
  inner.sport = 40000;
  inner.dport = 80;
  c.ip = {outer, inner};
  return c;
}

// A fake collector: HELLO, 2 chains, `n` records in batches of 1024, STATS, BYE (if `bye`).
// Every point sends the same digests (the same packets seen everywhere).
void fake_collector(uint16_t port, const std::string& point, uint64_t n, bool bye,
                    uint64_t skip_at = UINT64_MAX, uint64_t skip = 0) {
  const int fd = connect_port(port);
  ASSERT_GE(fd, 0);
  wire::Encoder e;
  e.hello(hello(point));
  e.chain(chain(0, 1));
  e.chain(chain(1, 2));
  std::vector<wire::Record> batch;
  uint64_t seq = 0;
  int64_t ts = 1'700'000'000'000'000'000;
  wire::Stats st;
  for (uint64_t i = 0; i < n; ++i) {
    ts += 20'000;
    batch.push_back({i * 0x9e3779b97f4a7c15ULL, ts, static_cast<uint32_t>(i & 1),
                     static_cast<uint32_t>(i % 2 ? 66 : 1514), static_cast<uint8_t>(i % 3 ? 0x10 : 0)});
    if (batch.size() == 1024 || i + 1 == n) {
      if (seq == skip_at) seq += skip;  // the records in between "got lost"
      e.records(seq, batch);
      seq += batch.size();
      batch.clear();
      if (e.size() > 65536) {
        ASSERT_TRUE(send_all(fd, e.bytes()));
        e.clear();
      }
    }
  }
  st.packets = n;
  st.digested = n;
  st.records_sent = seq;
  st.capture_start_ns = 1'700'000'000'000'000'000;
  st.last_packet_ns = ts;
  st.sent_at_ns = ts + 1'000'000;
  e.stats(st);
  if (bye) e.bye(wire::Bye{st, "count reached"});
  ASSERT_TRUE(send_all(fd, e.bytes()));
  if (bye) read_frames(fd);  // until the correlator closes
  ::close(fd);
}

TEST(Server, SevenCollectorsTimesHundredThousandArriveComplete) {
  Log log;
  std::vector<Point> pts(7);
  for (int i = 0; i < 7; ++i) pts[i].label = std::string(1, char('A' + i));
  Collection col(pts, true);
  ServerOptions opt;
  opt.log = log.sink();
  opt.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  Server srv(opt, col);
  srv.start();
  ASSERT_NE(srv.port(), 0);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> th;
  for (int i = 0; i < 7; ++i)
    th.emplace_back(fake_collector, srv.port(), std::string(1, char('A' + i)), 100000, true,
                    UINT64_MAX, 0);
  for (auto& t : th) t.join();
  ASSERT_TRUE(srv.wait_idle(10s)) << log.all();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ throughput ] 700000 records over 7 TCP sessions in %.3f s: %.0f records/s\n", secs,
              700000 / secs);
  srv.stop();
  auto got = col.take();
  ASSERT_EQ(got.points.size(), 7u);
  EXPECT_EQ(got.sightings.size(), 700000u);
  EXPECT_EQ(got.chains.size(), 2u);  // the same two chains at every point: one global table
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_TRUE(got.status[i].clean) << got.points[i].label << " " << got.status[i].end_reason;
    EXPECT_EQ(got.status[i].records, 100000u);
    EXPECT_EQ(got.points[i].records_lost, 0u);
    EXPECT_EQ(got.points[i].packets, 100000u);
    EXPECT_TRUE(got.points[i].window_known);
  }
  EXPECT_TRUE(got.warnings.empty()) << got.warnings[0];
  const auto c = srv.counters();
  EXPECT_EQ(c.records, 700000u);
  EXPECT_LE(c.queue_high_water, opt.queue_records);
  // The sightings are ready for analyze(): every chain index and ord is in range.
  for (const auto& s : got.sightings) {
    ASSERT_LT(s.chain, got.chains.size());
    ASSERT_LT(s.point, 7);
  }
  // ... and all of them arrive in the database: 100,000 traversals seen at all 7 points.
  pathtrace::Run run = analyze(std::move(got.points), std::move(got.chains), std::move(got.sightings));
  const std::string db = ::testing::TempDir() + "pathtrace-seven-" + std::to_string(::getpid()) + ".db";
  std::remove(db.c_str());
  {
    Store store(db, Store::Mode::kReadWrite);
    store.save(run);
  }
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto count = [h](const char* q) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, q, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
    int64_t n = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT COUNT(*) FROM observations WHERE run_id = 1"), 700000);
  EXPECT_EQ(count("SELECT COUNT(*) FROM traversals WHERE run_id = 1 AND seen = 127"), 100000);
  EXPECT_EQ(count("SELECT SUM(records_lost) FROM points WHERE run_id = 1"), 0);
  sqlite3_close(h);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
}

TEST(Server, KilledCollectorEndsUncleanWithItsRecordsAndGapsAreCounted) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  Server srv(opt, col);
  srv.start();
  // C: 5000 records, statistics, then the socket closes without BYE.
  fake_collector(srv.port(), "C", 5000, false);
  // D: records 1024..2047 never sent (seq jumps), then a clean BYE.
  fake_collector(srv.port(), "D", 4096, true, 1024, 1024);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  auto got = col.take();
  ASSERT_EQ(got.points.size(), 2u);
  EXPECT_EQ(got.points[0].label, "C");
  EXPECT_TRUE(got.status[0].ended);
  EXPECT_FALSE(got.status[0].clean);
  EXPECT_EQ(got.status[0].end_reason, "connection closed without BYE");
  EXPECT_EQ(got.status[0].records, 5000u);
  EXPECT_EQ(got.points[0].records_lost, 0u);
  EXPECT_TRUE(log.has("point C): ended without BYE: connection closed without BYE")) << log.all();
  EXPECT_TRUE(got.status[1].clean);
  EXPECT_EQ(got.status[1].records, 4096u);
  EXPECT_EQ(got.points[1].records_lost, 1024u);
  EXPECT_TRUE(log.has("1024 records lost")) << log.all();
  bool warned = false;
  for (auto& w : got.warnings) warned |= w.find("point C: session ended without BYE") == 0;
  EXPECT_TRUE(warned);
}

TEST(Server, OversizedFrameAndGarbageAreRejectedAndLogged) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  Server srv(opt, col);
  srv.start();
  {
    const int fd = connect_port(srv.port());
    const uint8_t big[] = {0x7f, 0x96, 0x98, 0x00, 0x01};  // length 9999999
    ASSERT_TRUE(send_all(fd, big));
    read_frames(fd);  // returns when the server closes
    ::close(fd);
  }
  {
    const int fd = connect_port(srv.port());
    std::vector<uint8_t> noise(5000);
    std::mt19937 rng(1);
    for (auto& b : noise) b = static_cast<uint8_t>(rng());
    noise[0] = 9, noise[1] = noise[2] = noise[3] = 0, noise[4] = 0x42;
    send_all(fd, noise);
    read_frames(fd);
    ::close(fd);
  }
  {
    // Garbage after a valid HELLO: the admitted session ends uncleanly with the reason.
    const int fd = connect_port(srv.port());
    auto b = wire::encode(hello("E"));
    b.insert(b.end(), {5, 0, 0, 0, 0x03, 1, 2, 3, 4});
    send_all(fd, b);
    read_frames(fd);
    ::close(fd);
  }
  // The server still works.
  fake_collector(srv.port(), "F", 3000, true);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  EXPECT_TRUE(log.has("frame length 9999999 exceeds 64 KiB; closing")) << log.all();  // before HELLO: 64 KiB
  EXPECT_TRUE(log.has("unknown frame type 0x42; closing")) << log.all();
  EXPECT_TRUE(log.has("point E): RECORDS frame: truncated header (sequence number); closing")) << log.all();
  EXPECT_EQ(srv.counters().protocol_errors, 3u);
  srv.stop();
  auto got = col.take();
  ASSERT_EQ(got.points.size(), 2u);
  EXPECT_FALSE(got.status[0].clean);
  EXPECT_EQ(got.status[0].end_reason, "protocol error: RECORDS frame: truncated header (sequence number)");
  EXPECT_EQ(got.status[1].records, 3000u);
}

TEST(Server, WrongTokenIsRejected) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  opt.token = "s3cret";
  Server srv(opt, col);
  srv.start();
  for (const std::string tok : {"nope", ""}) {
    const int fd = connect_port(srv.port());
    send_all(fd, wire::encode(hello("C", tok)));
    const auto frames = read_frames(fd);
    ::close(fd);
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_TRUE(std::holds_alternative<wire::Reject>(frames[0]));
    EXPECT_EQ(std::get<wire::Reject>(frames[0]).reason, tok.empty() ? "token required" : "wrong token");
  }
  // A collector that says something else first is refused too.
  {
    const int fd = connect_port(srv.port());
    send_all(fd, wire::encode(wire::Stats{}));
    const auto frames = read_frames(fd);
    ::close(fd);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(std::get<wire::Reject>(frames[0]).reason, "HELLO expected first, got STATS");
  }
  EXPECT_TRUE(log.has("rejected: wrong token")) << log.all();
  EXPECT_EQ(srv.counters().rejected, 3u);
  EXPECT_EQ(srv.counters().sessions, 0u);
  srv.stop();
  EXPECT_TRUE(col.take().points.empty());
}

TEST(Server, NonLoopbackListenRequiresAToken) {
  Collection col;
  ServerOptions opt;
  opt.listen = "0.0.0.0:0";
  try {
    Server srv(opt, col);
    FAIL() << "accepted a non-loopback address without a token";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_EQ(std::string(e.what()), "listening on 0.0.0.0:0 (not loopback) requires a shared secret (--token-file)");
  }
  opt.listen = "nonsense";
  EXPECT_THROW(Server(opt, col), Error);
  // Address in use.
  ServerOptions a;
  Server first(a, col);
  a.listen = first.address();
  try {
    Server second(a, col);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on " + first.address()), std::string::npos) << e.what();
  }
}

// A consumer that is slower than the network.
struct SlowCollection : Collection {
  void on_records(uint32_t s, uint64_t seq, std::span<const wire::Record> r) override {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    Collection::on_records(s, seq, r);
  }
};

TEST(Server, SlowConsumerKeepsTheQueueUnderItsCap) {
  Log log;
  SlowCollection col;
  ServerOptions opt;
  opt.log = log.sink();
  opt.queue_records = 40000;  // records: a few RECORDS frames
  Server srv(opt, col);
  srv.start();
  std::vector<std::thread> th;
  for (int i = 0; i < 3; ++i)
    th.emplace_back(fake_collector, srv.port(), std::string(1, char('A' + i)), 200000, true,
                    UINT64_MAX, 0);
  for (auto& t : th) t.join();
  ASSERT_TRUE(srv.wait_idle(20s));
  const auto c = srv.counters();
  std::printf("[ backpressure ] cap %zu records, high water %llu, reads parked %llu times\n",
              opt.queue_records, static_cast<unsigned long long>(c.queue_high_water),
              static_cast<unsigned long long>(c.parked));
  EXPECT_LE(c.queue_high_water, opt.queue_records);
  EXPECT_GT(c.parked, 0u);
  srv.stop();
  EXPECT_EQ(col.take().sightings.size(), 600000u);
}

// A consumer that stalls for 400 ms on its first batch.
struct StallingCollection : Collection {
  std::atomic<bool> stalled{false};
  void on_records(uint32_t s, uint64_t seq, std::span<const wire::Record> r) override {
    if (!stalled.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(400));
    Collection::on_records(s, seq, r);
  }
};

// While a session waits for room in the queue it reads nothing: that silence is the
// correlator's, and its read deadline must not end the session for it.
TEST(Server, ASessionWaitingForQueueRoomIsNotTimedOut) {
  Log log;
  StallingCollection col;
  ServerOptions opt;
  opt.log = log.sink();
  opt.read_timeout = std::chrono::milliseconds(150);
  opt.queue_records = 2000;
  Server srv(opt, col);
  srv.start();
  fake_collector(srv.port(), "A", 10240, true);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  const auto got = col.take();
  ASSERT_EQ(got.points.size(), 1u);
  EXPECT_TRUE(got.status[0].clean) << got.status[0].end_reason;
  EXPECT_EQ(got.status[0].records, 10240u);
  EXPECT_GT(srv.counters().parked, 0u);
}

// A correlator that listens nowhere and reads one collector stream from a pipe, as the stdout
// of an ssh session ("ssh hv2").
struct PipeCorrelator {
  Log log;
  Collection col;
  std::unique_ptr<Server> srv;
  int in = -1;  // the pipe's write end

  PipeCorrelator() {
    ServerOptions opt;
    opt.listen = "";
    opt.log = log.sink();
    srv = std::make_unique<Server>(opt, col);
    srv->start();
    int p[2];
    if (::pipe(p) != 0) return;
    srv->add_stream(p[0], "ssh hv2");
    in = p[1];
  }
  // Writes `bytes` in pieces of `piece` bytes, closes the pipe, waits until the server has
  // consumed everything and stops it. False when a write failed or the server did not go idle.
  bool send_and_close(std::span<const uint8_t> bytes, std::size_t piece = SIZE_MAX) {
    bool ok = in >= 0;
    for (std::size_t i = 0; ok && i < bytes.size(); i += piece) {
      const std::size_t n = std::min(piece, bytes.size() - i);
      ok = ::write(in, bytes.data() + i, n) == ssize_t(n);
    }
    if (in >= 0) ::close(in);
    in = -1;
    ok = srv->wait_idle(5s) && ok;
    srv->stop();
    return ok;
  }
};

TEST(Server, PipeStreamCarriesTheSameBytes) {
  PipeCorrelator pc;
  ASSERT_GE(pc.in, 0);
  wire::Encoder e;
  e.hello(hello("G"));
  e.chain(chain(0, 1));
  std::vector<wire::Record> recs(1000, wire::Record{1, 2, 0, 60, 0});
  e.records(0, recs);
  wire::Stats st;
  st.records_sent = 1000;
  e.bye(wire::Bye{st, "stdin closed"});
  // Dribble it in small writes.
  ASSERT_TRUE(pc.send_and_close(e.bytes(), 7)) << pc.log.all();
  auto got = pc.col.take();
  ASSERT_EQ(got.points.size(), 1u);
  EXPECT_TRUE(got.status[0].clean);
  EXPECT_EQ(got.status[0].peer, "ssh hv2");
  EXPECT_EQ(got.sightings.size(), 1000u);
}

TEST(Server, KeptBytesArriveWithTheirRecords) {
  PipeCorrelator pc;
  ASSERT_GE(pc.in, 0);
  wire::Encoder e;
  auto h = hello("G");
  h.linktype = 113;
  h.keep_bytes = 4;
  e.hello(h);
  e.chain(chain(0, 1));
  e.records(7, std::vector<wire::Record>{{11, 100, 0, 60, 0}, {12, 200, 0, 1514, 0}, {13, 300, 0, 70, 0}});
  e.kept(7, std::vector<uint16_t>{4, 0, 2}, std::vector<uint8_t>{1, 2, 3, 4, 9, 8});
  wire::Stats st;
  st.records_sent = 10;
  e.bye(wire::Bye{st, "stdin closed"});
  ASSERT_TRUE(pc.send_and_close(e.bytes())) << pc.log.all();
  KeptFrames kept;
  pc.col.take_kept(kept);
  // The record with nothing kept has no kept frame; the others carry their record's identity.
  ASSERT_EQ(kept.frames.size(), 2u);
  EXPECT_EQ(kept.frames[0].digest, 11u);
  EXPECT_EQ(kept.frames[0].ts_ns, 100);
  EXPECT_EQ(kept.frames[0].wire_len, 60u);
  EXPECT_EQ(kept.frames[0].linktype, 113u);
  EXPECT_EQ(kept.frames[0].point, 0);
  EXPECT_EQ(std::vector<uint8_t>(kept.bytes(kept.frames[0]).begin(), kept.bytes(kept.frames[0]).end()),
            (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(kept.frames[1].digest, 13u);
  EXPECT_EQ(kept.frames[1].wire_len, 70u);
  EXPECT_EQ(std::vector<uint8_t>(kept.bytes(kept.frames[1]).begin(), kept.bytes(kept.frames[1]).end()),
            (std::vector<uint8_t>{9, 8}));
  pc.col.take_kept(kept);
  EXPECT_TRUE(kept.empty());  // taken once
}

TEST(Server, KeptFrameThatDoesNotFollowItsRecordsEndsTheSession) {
  PipeCorrelator pc;
  ASSERT_GE(pc.in, 0);
  wire::Encoder e;
  e.hello(hello("G"));
  e.chain(chain(0, 1));
  e.records(0, std::vector<wire::Record>{{11, 100, 0, 60, 0}, {12, 200, 0, 60, 0}});
  e.kept(5, std::vector<uint16_t>{1, 1}, std::vector<uint8_t>{1, 2});  // wrong seq
  ASSERT_TRUE(pc.send_and_close(e.bytes())) << pc.log.all();
  EXPECT_TRUE(pc.log.has("KEPT frame (seq 5, 2 records) does not follow its RECORDS frame; closing")) << pc.log.all();
  auto got = pc.col.take();
  ASSERT_EQ(got.points.size(), 1u);
  EXPECT_FALSE(got.status[0].clean);
  EXPECT_EQ(got.sightings.size(), 2u);  // what came before is kept
}

TEST(Server, StopAsksCollectorsForBye) {
  Collection col;
  ServerOptions opt;
  opt.log = [](const std::string&) {};
  Server srv(opt, col);
  srv.start();
  const int fd = connect_port(srv.port());
  send_all(fd, wire::encode(hello("A")));
  for (int i = 0; i < 100 && col.status().empty(); ++i) std::this_thread::sleep_for(10ms);
  srv.stop_collectors("run finished");
  wire::Decoder d;
  uint8_t buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  d.feed(std::span<const uint8_t>(buf, static_cast<std::size_t>(n)));
  wire::Frame f;
  ASSERT_EQ(d.next(f), wire::Decoder::Result::kFrame);
  EXPECT_EQ(std::get<wire::Stop>(f).reason, "run finished");
  send_all(fd, wire::encode(wire::Bye{wire::Stats{}, "stop requested"}));
  ::shutdown(fd, SHUT_WR);
  ASSERT_TRUE(srv.wait_idle(5s));
  ::close(fd);
  srv.stop();
  EXPECT_TRUE(col.take().status[0].clean);
}

// ---- hardening (issue 15): what a stranger on the network, or a broken collector, can do --

// A whole collector stream: HELLO, one chain, `n` records numbered from `seq` in frames of
// `batch`, STATS saying `sent` records were sent (default: seq + n), and BYE when `bye`.
std::vector<uint8_t> stream_bytes(const wire::Hello& h, uint64_t n, bool bye, uint64_t seq = 0,
                                  std::size_t batch = 1000, uint64_t sent = UINT64_MAX) {
  wire::Encoder e;
  e.hello(h);
  e.chain(chain(0, 1));
  std::vector<wire::Record> recs;
  for (uint64_t i = 0; i < n; ++i) {
    recs.push_back({(seq + i) * 0x9e3779b97f4a7c15ULL, int64_t(1'700'000'000'000'000'000 + (seq + i) * 1000), 0, 60, 0});
    if (recs.size() == batch || i + 1 == n) {
      e.records(seq + i + 1 - recs.size(), recs);
      recs.clear();
    }
  }
  wire::Stats st;
  st.packets = n;
  st.records_sent = sent == UINT64_MAX ? seq + n : sent;
  st.capture_start_ns = 1'700'000'000'000'000'000;
  st.sent_at_ns = st.capture_start_ns + int64_t(seq + n) * 1000 + 1;
  e.stats(st);
  if (bye) e.bye(wire::Bye{st, "count reached"});
  return e.take();
}

// Waits until `pred` holds (polling every 10 ms) or `timeout` passes.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// `pathtrace run` with 24 points: 24 pipes, one per collector. Each collector says HELLO and
// then has nothing to send for a while (no traffic yet): every one of them is admitted, and
// every one is read to its BYE once the traffic comes.
TEST(Server, TwentyFourQuietPipesAreAllAdmittedAndReadToTheirBye) {
  Log log;
  std::vector<Point> pts(24);
  for (int i = 0; i < 24; ++i) pts[i].label = std::string("P").append(std::to_string(i + 1));  // not "P" + …: g++ 12 -O3 -Wrestrict
  Collection col(pts, true);
  ServerOptions opt;
  opt.listen = "";
  opt.log = log.sink();
  opt.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  Server srv(opt, col);
  srv.start();
  std::vector<int> in(24);
  std::vector<std::vector<uint8_t>> streams(24);
  for (int i = 0; i < 24; ++i) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    srv.add_stream(p[0], "local lo" + std::to_string(i + 1));
    in[i] = p[1];
    streams[i] = stream_bytes(hello(pts[i].label), 2000, true);
  }
  for (int i = 0; i < 24; ++i) {
    const std::size_t n = wire::encode(hello(pts[i].label)).size();  // the HELLO alone
    ASSERT_EQ(::write(in[i], streams[i].data(), n), ssize_t(n));
    streams[i].erase(streams[i].begin(), streams[i].begin() + std::ptrdiff_t(n));
  }
  const bool all_in = eventually(
      [&] {
        for (const auto& st : col.status())
          if (!st.connected) return false;
        return true;
      },
      2000ms);
  std::string missing;
  for (std::size_t i = 0; i < 24; ++i)
    if (!col.status()[i].connected) missing += " " + pts[i].label;
  EXPECT_TRUE(all_in) << "never admitted:" << missing << "\n" << log.all();
  std::vector<std::thread> writers;
  for (int i = 0; i < 24; ++i)
    writers.emplace_back([&, i] {
      EXPECT_EQ(::write(in[i], streams[i].data(), streams[i].size()), ssize_t(streams[i].size()));
      ::close(in[i]);
    });
  for (auto& w : writers) w.join();
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  const auto got = col.take();
  for (std::size_t i = 0; i < 24; ++i) {
    EXPECT_TRUE(got.status[i].clean) << got.points[i].label << ": " << got.status[i].end_reason;
    EXPECT_EQ(got.status[i].records, 2000u) << got.points[i].label;
  }
}

// `correlate` with 40 connections open that never say anything, then the real collector:
// it is read to its BYE at once (not after the idle ones time out).
TEST(Server, FortyIdleConnectionsDoNotStarveTheRealCollector) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  Server srv(opt, col);
  srv.start();
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(connect_port(srv.port()));
  std::this_thread::sleep_for(200ms);  // all accepted, all waiting for a first byte
  std::thread real([&] {
    const int fd = connect_port(srv.port());
    send_all(fd, stream_bytes(hello("A"), 20000, true));
    read_frames(fd, 3000ms);
    ::close(fd);
  });
  const bool ended = eventually(
      [&] {
        const auto st = col.status();
        return !st.empty() && st[0].ended;
      },
      3000ms);
  real.join();
  for (int fd : idle) ::close(fd);
  ASSERT_TRUE(ended) << "the collector was never read to its end\n" << log.all();
  const auto st = col.status();
  EXPECT_TRUE(st[0].clean) << st[0].end_reason;
  EXPECT_EQ(st[0].records, 20000u);
  srv.stop();
}

// RECORDS whose numbers wrap past 2^64 - 1 or go back are a protocol error naming the point,
// never a loss of 18446744073709551608 records.
TEST(Server, SequenceNumbersThatWrapOrGoBackEndTheSession) {
  PipeCorrelator pc;
  ASSERT_GE(pc.in, 0);
  wire::Encoder e;
  e.hello(hello("A"));
  e.chain(chain(0, 1));
  e.records(UINT64_MAX, std::vector<wire::Record>{{1, 100, 0, 60, 0}, {2, 200, 0, 60, 0}});
  e.records(1, std::vector<wire::Record>{{3, 300, 0, 60, 0}});
  ASSERT_TRUE(pc.send_and_close(e.bytes())) << pc.log.all();
  EXPECT_TRUE(pc.log.has("point A): RECORDS seq 18446744073709551615 + 2 records passes 2^64; closing"))
      << pc.log.all();
  auto got = pc.col.take();
  ASSERT_EQ(got.points.size(), 1u);
  EXPECT_FALSE(got.status[0].clean);
  EXPECT_LT(got.points[0].records_lost, 1000u) << "a wrapped sequence counted as a loss";
  EXPECT_EQ(got.sightings.size(), 0u);
}

// A wrong-token HELLO whose label forges a log line and sets the terminal title, and an
// admitted one whose host, interface and BYE reason do the same: every log line and every
// stored text is one printable line.
TEST(Server, TextFromTheNetworkReachesTheLogEscaped) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  opt.token = "s3cret";
  Server srv(opt, col);
  srv.start();
  const std::string forged = "A\npathtrace correlator: session 1 (127.0.0.1:1, point A): collector hv1 iface eth0 connected";
  {
    const int fd = connect_port(srv.port());
    auto h = hello(forged + "\x1b]0;owned\x07", "nope");
    send_all(fd, wire::encode(h));
    read_frames(fd);
    ::close(fd);
  }
  {
    auto h = hello("B", "s3cret");
    h.host = "hv1\x1b[2J";
    h.iface = "eth0\r\n";
    wire::Encoder e;
    e.hello(h);
    e.bye(wire::Bye{wire::Stats{}, "done\x1b]0;x\x07"});
    const int fd = connect_port(srv.port());
    send_all(fd, e.bytes());
    read_frames(fd);
    ::close(fd);
  }
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  for (const auto& l : log.lines)
    for (unsigned char c : l) ASSERT_FALSE(c < 0x20 || c == 0x7f) << "raw control character in: " << l;
  EXPECT_TRUE(log.has("point A\\npathtrace correlator: session 1")) << log.all();
  EXPECT_TRUE(log.has("collector hv1\\x1b[2J iface eth0\\r\\n connected")) << log.all();
  EXPECT_TRUE(log.has("BYE (done\\x1b]0;x\\x07)")) << log.all();
  const auto got = col.take();
  ASSERT_EQ(got.points.size(), 1u);
  EXPECT_EQ(got.points[0].host, "hv1\\x1b[2J");
  EXPECT_EQ(got.status[0].end_reason, "done\\x1b]0;x\\x07");
}

// A collector whose connection dropped connects again for its point: it is admitted, its
// records add up, the run says the point reconnected, and the records its last statistics
// promised but that never came count as that point's own capture loss.
TEST(Server, ACollectorThatReconnectsContinuesItsPoint) {
  Log log;
  std::vector<Point> pts(2);
  pts[0].label = "A";
  pts[1].label = "B";
  Collection col(pts, true);
  ServerOptions opt;
  opt.log = log.sink();
  opt.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  opt.release = [&col](const wire::Hello& h) { col.release(h); };
  Server srv(opt, col);
  srv.start();
  {  // 1000 records arrive, its statistics say 1500 were sent, then the connection drops
    const int fd = connect_port(srv.port());
    send_all(fd, stream_bytes(hello("A"), 1000, false, 0, 1000, 1500));
    ::close(fd);
  }
  ASSERT_TRUE(eventually([&] { return col.status()[0].ended; }, 3000ms)) << log.all();
  {  // a new collector for A: a new session numbered from 0, read to its BYE
    const int fd = connect_port(srv.port());
    send_all(fd, stream_bytes(hello("A"), 2000, true));
    const auto frames = read_frames(fd);
    ::close(fd);
    for (const auto& f : frames)
      EXPECT_FALSE(std::holds_alternative<wire::Reject>(f)) << std::get<wire::Reject>(f).reason;
  }
  fake_collector(srv.port(), "B", 100, true);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  const auto got = col.take();
  EXPECT_TRUE(got.status[0].clean) << got.status[0].end_reason;
  EXPECT_EQ(got.status[0].records, 3000u);
  EXPECT_EQ(got.status[0].sessions, 2u);
  EXPECT_EQ(got.points[0].records_lost, 500u);
  EXPECT_EQ(got.points[0].packets, 3000u);  // both sessions' counters
  bool said = false;
  for (const auto& w : got.warnings) said |= w.find("point A: its collector reconnected") == 0;
  EXPECT_TRUE(said) << ::testing::PrintToString(got.warnings);
}

// A connection that never says HELLO is closed when its HELLO deadline passes, however it
// dribbles bytes to look alive; until then it holds a small buffer, not 256 KiB.
TEST(Server, StrangersGetAHelloDeadlineAndASmallBuffer) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  opt.hello_timeout = 600ms;
  opt.max_unauthenticated = 1000;
  opt.max_connections = 1000;
  Server srv(opt, col);
  srv.start();
  // A HELLO of 1000 bytes, one byte every 100 ms: a valid start, never a whole frame.
  const int fd = connect_port(srv.port());
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  const uint8_t start[] = {0xe8, 0x03, 0, 0, 0x01, '{'};
  for (std::size_t i = 0; i < 30 && !closed; ++i) {
    const uint8_t b = i < sizeof start ? start[i] : ' ';
    closed = ::send(fd, &b, 1, MSG_NOSIGNAL) != 1;
    std::this_thread::sleep_for(100ms);
    char c;
    const ssize_t r = ::recv(fd, &c, 1, MSG_DONTWAIT);  // 0: FIN; ECONNRESET: closed with our bytes unread
    closed = closed || r == 0 || (r < 0 && errno != EAGAIN);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  EXPECT_TRUE(closed) << "a connection sending a byte every 100 ms stayed open for 3 s";
  EXPECT_LT(secs, 1.5);
  EXPECT_TRUE(eventually([&] { return log.has("no HELLO within 600 ms of connecting"); }, 1000ms)) << log.all();
  // Memory: 300 connections that say nothing cost little (they would cost 75 MiB at 256 KiB).
  auto rss_kib = [] {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f && std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) std::fclose(f);
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
  };
  const long before = rss_kib();
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(connect_port(srv.port()));
  std::this_thread::sleep_for(300ms);  // all accepted, each waiting for its first byte
  EXPECT_EQ(srv.counters().dropped, 1u);  // the dribbler only
  const long grown = rss_kib() - before;
  std::printf("[ strangers ] 300 silent connections: resident memory grew by %ld KiB\n", grown);
  EXPECT_LT(grown, 20 * 1024);
  for (int s : idle) ::close(s);
  srv.stop();
}

// More strangers than max_unauthenticated: the oldest are closed first, and a real collector
// that comes after them is admitted at once. Beyond max_connections nothing is kept at all.
TEST(Server, ConnectionCapsCloseTheOldestStrangers) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.log = log.sink();
  opt.max_unauthenticated = 8;
  opt.max_connections = 16;
  Server srv(opt, col);
  srv.start();
  std::vector<int> idle;
  for (int i = 0; i < 12; ++i) {
    idle.push_back(connect_port(srv.port()));
    std::this_thread::sleep_for(20ms);  // in this order
  }
  auto is_closed = [](int fd) {
    char c;
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 1000) == 1 && ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
  };
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(is_closed(idle[i])) << "connection " << i << " is still open";
  for (int i = 4; i < 12; ++i) {
    char c;
    EXPECT_EQ(::recv(idle[i], &c, 1, MSG_DONTWAIT), -1) << "connection " << i << " was closed";
  }
  EXPECT_TRUE(log.has("closed: more than 8 connections without HELLO (the oldest goes)")) << log.all();
  fake_collector(srv.port(), "A", 5000, true);
  ASSERT_TRUE(srv.wait_idle(2s)) << "the strangers still open kept it waiting\n" << log.all();
  auto st = col.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].clean) << st[0].end_reason;
  EXPECT_EQ(st[0].records, 5000u);
  for (int fd : idle) ::close(fd);
  srv.stop();
}

// What an admitted collector may send is limited; beyond a limit its session ends, the
// collector is told why (REJECT), and the log and the point's end name the point and the option.
TEST(Server, SessionLimitsEndTheSessionNamingThePoint) {
  struct Case {
    const char* name;
    SessionLimits limits;
    std::function<std::vector<uint8_t>()> stream;
    std::string says;
  };
  SessionLimits records, chains, gaps, bytes;
  records.records = 5000;
  chains.chains = 3;
  gaps.gaps = 2;
  bytes.bytes = 100000;
  const std::vector<Case> cases = {
      {"records", records, [] { return stream_bytes(hello("C"), 10000, true); },
       "point C: more than 5000 records (RECORDS seq 5000 + 1000), the limit per session (raise it with --max-records)"},
      {"chains", chains,
       [] {
         wire::Encoder e;
         e.hello(hello("C"));
         for (uint32_t i = 0; i < 10; ++i) e.chain(chain(i, uint8_t(i)));
         return e.take();
       },
       "point C: more than 3 chains (flows), the limit per session (raise it with --max-chains)"},
      {"gaps", gaps,
       [] {
         wire::Encoder e;
         e.hello(hello("C"));
         e.chain(chain(0, 1));
         for (uint64_t i = 0; i < 10; ++i) e.records(i * 10, std::vector<wire::Record>{{i, 1, 0, 60, 0}});
         return e.take();
       },
       "point C: more than 2 sequence gaps, the limit per session (raise it with --max-gaps)"},
      {"bytes", bytes, [] { return stream_bytes(hello("C"), 20000, true); },
       "point C: more than 100000 bytes, the limit per session (raise it with --max-bytes)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Log log;
    Collection col;
    ServerOptions opt;
    opt.log = log.sink();
    opt.limits = c.limits;
    Server srv(opt, col);
    srv.start();
    const int fd = connect_port(srv.port());
    send_all(fd, c.stream());
    const auto frames = read_frames(fd);
    ::close(fd);
    ASSERT_FALSE(frames.empty());
    ASSERT_TRUE(std::holds_alternative<wire::Reject>(frames.back()));
    EXPECT_EQ(std::get<wire::Reject>(frames.back()).reason, c.says);
    ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
    srv.stop();
    EXPECT_TRUE(log.has(c.says + "; closing")) << log.all();
    const auto got = col.take();
    ASSERT_EQ(got.points.size(), 1u);
    EXPECT_FALSE(got.status[0].clean);
    EXPECT_EQ(got.status[0].end_reason, c.says);
  }
}

// 20,000 RECORDS frames that each skip a record: a few log lines and a count, not 20,000.
TEST(Server, TwentyThousandGapsLogAFewLinesAndACount) {
  Log log;
  Collection col;
  ServerOptions opt;
  opt.listen = "";
  opt.log = log.sink();
  opt.limits.gaps = 100000;  // the flood gets through: what is logged of it is the point
  Server srv(opt, col);
  srv.start();
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  srv.add_stream(p[0], "ssh hv2");
  std::thread writer([fd = p[1]] {
    wire::Encoder e;
    e.hello(hello("A"));
    e.chain(chain(0, 1));
    for (uint64_t i = 0; i < 20000; ++i) e.records(i * 2 + 1, std::vector<wire::Record>{{i, 1, 0, 60, 0}});
    e.bye(wire::Bye{wire::Stats{}, "done"});
    const auto b = e.take();
    EXPECT_EQ(::write(fd, b.data(), b.size()), ssize_t(b.size()));
    ::close(fd);
  });
  writer.join();
  ASSERT_TRUE(srv.wait_idle(10s));
  srv.stop();
  std::size_t gap_lines = 0;
  for (const auto& l : log.lines) gap_lines += l.find("records lost") != std::string::npos;
  EXPECT_LE(gap_lines, 12u) << log.all();
  EXPECT_TRUE(log.has("… 19995 more like: session 1 (ssh hv2, point A): 1 records lost (seq 10 → 11)")) << log.all();
  EXPECT_EQ(col.take().points[0].records_lost, 20000u);
}

}  // namespace
}  // namespace pathtrace::server
