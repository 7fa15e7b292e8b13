// The agentless pump without ssh: a real capture (pcaps/incident-broken/C.pcap) written into
// a pipe as tcpdump's stdout, tcpdump's closing counters into another as its stderr, and the
// collector stream RemoteStream writes decoded frame by frame. A clean stream ends with BYE;
// a cut-short or corrupt one is said on stderr as "point C@hv1: pcap stream: …", keeps the
// packets before the bad bytes, and ends without BYE at once (ssh still running).

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "collector/common/fd.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "collector/wire/wire.hpp"
#include "correlator/remote/remote.hpp"

namespace pathtrace::remote {
namespace {

using Bytes = std::vector<uint8_t>;
const std::string kCapture = std::string(PT_SOURCE_DIR) + "/pcaps/incident-broken/C.pcap";
const std::string kCounters = "200 packets captured\n200 packets received by filter\n0 packets dropped by kernel\n";

Bytes slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  while (n) {
    const ssize_t w = ::write(fd, b, n);
    ASSERT_GT(w, 0);
    b += w;
    n -= std::size_t(w);
  }
}

// Everything read from `fd` until its end, or until `timeout` passes (then ended = false).
struct Drained {
  Bytes bytes;
  bool ended = false;
};
Drained drain(int fd, std::chrono::milliseconds timeout) {
  Drained d;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      d.ended = true;
      break;
    }
    d.bytes.insert(d.bytes.end(), buf, buf + n);
  }
  return d;
}

// What the correlator would have received, summed up.
struct Received {
  bool hello = false;
  bool bye = false;
  uint64_t records = 0;       // in RECORDS frames
  wire::Stats last_stats;     // the last STATS (or BYE's)
  std::string decode_error;
};
Received decode(const Bytes& bytes) {
  Received r;
  wire::Decoder dec;
  dec.feed(bytes);
  wire::Frame f;
  for (;;) {
    const auto res = dec.next(f);
    if (res == wire::Decoder::Result::kError) r.decode_error = dec.error();
    if (res != wire::Decoder::Result::kFrame) break;
    if (std::holds_alternative<wire::Hello>(f)) r.hello = true;
    if (const auto* rec = std::get_if<wire::Records>(&f)) r.records += rec->records.size();
    if (const auto* st = std::get_if<wire::Stats>(&f)) r.last_stats = *st;
    if (const auto* bye = std::get_if<wire::Bye>(&f)) {
      r.bye = true;
      r.last_stats = bye->stats;
    }
  }
  if (dec.buffered() && r.decode_error.empty()) r.decode_error = "stream ends inside a frame";
  return r;
}

// Packets in `pcap` (read as a file by the Reader), for the expectations.
uint64_t packets_in(const std::string& path) {
  pcapfile::Reader r(path);
  pcapfile::Packet p;
  uint64_t n = 0;
  while (r.next(p)) ++n;
  return n;
}

// One agentless point, C on tap0@hv1, over two pipes standing for ssh's stdout and stderr.
class Pump {
 public:
  Pump() {
    Pipe out = make_pipe(), err = make_pipe();
    stdout_ = std::move(out.write);
    stderr_ = std::move(err.write);
    Host h;
    h.name = "hv1";
    h.mode = Host::Mode::kAgentless;
    Point p;
    p.label = "C";
    p.iface = "tap0";
    int fd = -1;
    stream_ = std::make_unique<RemoteStream>(h, p, CaptureSpec{}, std::move(out.read), std::move(err.read), 0, &fd);
    stream_fd_.reset(fd);
  }
  // tcpdump writes `pcap` on stdout and `err` on stderr; `close` ends both (ssh exited).
  void remote_writes(const Bytes& pcap, const std::string& err, bool close) {
    write_all(stdout_.get(), pcap.data(), pcap.size());
    write_all(stderr_.get(), err.data(), err.size());
    if (close) end_session();
  }
  void end_session() {
    stdout_.reset();
    stderr_.reset();
  }
  int stream_fd() const { return stream_fd_.get(); }
  RemoteStream& stream() { return *stream_; }
  void join() { stream_.reset(); }

 private:
  UniqueFd stdout_, stderr_, stream_fd_;
  std::unique_ptr<RemoteStream> stream_;
};

TEST(AgentlessPump, ACleanCaptureEndsWithBye) {
  const Bytes pcap = slurp(kCapture);
  ASSERT_GT(pcap.size(), 1000u);
  testing::internal::CaptureStderr();
  Pump pump;
  pump.remote_writes(pcap, kCounters, true);
  const Drained d = drain(pump.stream_fd(), std::chrono::seconds(10));
  pump.join();
  const std::string console = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(d.ended);
  const Received r = decode(d.bytes);
  EXPECT_EQ(r.decode_error, "");
  EXPECT_TRUE(r.hello);
  EXPECT_TRUE(r.bye);
  EXPECT_EQ(r.last_stats.packets, packets_in(kCapture));
  EXPECT_EQ(r.records, r.last_stats.records_sent);
  EXPECT_GT(r.records, 0u);
  EXPECT_NE(console.find("point C@hv1: 0 packets dropped by kernel\n"), std::string::npos) << console;
  EXPECT_EQ(console.find("pcap stream"), std::string::npos) << console;
}

// tcpdump stopped cleanly (it printed its counters), but the pcap ends 10 bytes into a record:
// before, a BYE said the point was complete. Now the cut is said and there is no BYE.
TEST(AgentlessPump, ACutShortCaptureIsSaidAndEndsWithoutBye) {
  Bytes pcap = slurp(kCapture);
  pcap.resize(pcap.size() - 10);
  const uint64_t all = packets_in(kCapture);
  testing::internal::CaptureStderr();
  Pump pump;
  pump.remote_writes(pcap, kCounters, true);
  const Drained d = drain(pump.stream_fd(), std::chrono::seconds(10));
  const std::string last = pump.stream().last_error();
  pump.join();
  const std::string console = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(d.ended);
  const Received r = decode(d.bytes);
  EXPECT_EQ(r.decode_error, "");
  EXPECT_TRUE(r.hello);
  EXPECT_FALSE(r.bye);
  EXPECT_EQ(r.last_stats.packets, all - 1);  // every packet before the cut
  EXPECT_EQ(r.records, r.last_stats.records_sent);
  const std::string want = "pcap stream: truncated at byte " + std::to_string(pcap.size()) +
                           " (inside packet record " + std::to_string(all) + ")";
  EXPECT_NE(console.find("point C@hv1: " + want + "\n"), std::string::npos) << console;
  // The pump's line is the last, even after tcpdump's: live.cpp quotes it when a point fails.
  EXPECT_EQ(last, want);
}

// A record claiming 1 GiB: said at once, and the stream ends at once although ssh still runs
// (the rest of its output is read and dropped, so tcpdump never blocks).
TEST(AgentlessPump, ACorruptRecordEndsTheStreamAtOnceWithoutBye) {
  Bytes pcap = slurp(kCapture);
  const std::size_t second = 24 + 16 + (pcap[32] | pcap[33] << 8 | pcap[34] << 16 | pcap[35] << 24);  // LE caplen
  ASSERT_EQ(pcap[0], 0xd4);  // little-endian µs, as the generator wrote it
  for (int i = 0; i < 4; ++i) pcap[second + 8 + i] = i == 3 ? 0x40 : 0;
  testing::internal::CaptureStderr();
  Pump pump;
  pump.remote_writes(pcap, "", false);
  const Drained d = drain(pump.stream_fd(), std::chrono::seconds(10));
  EXPECT_TRUE(d.ended) << "the stream stayed open after a corrupt record";
  pump.remote_writes(Bytes(100000, 0xee), kCounters, true);  // more output: read and dropped
  pump.join();
  const std::string console = testing::internal::GetCapturedStderr();
  const Received r = decode(d.bytes);
  EXPECT_EQ(r.decode_error, "");
  EXPECT_TRUE(r.hello);
  EXPECT_FALSE(r.bye);
  EXPECT_EQ(r.last_stats.packets, 1u);
  const std::string want = "point C@hv1: pcap stream: corrupt record at byte " + std::to_string(second) +
                           ": captured length 1073741824 > 262144 (snaplen ";
  EXPECT_NE(console.find(want), std::string::npos) << console;
}

// Not pcap at all (a login banner on stdout): said, no HELLO, the stream ends.
TEST(AgentlessPump, WhatIsNotPcapIsSaid) {
  const std::string banner = "Welcome to hv1\n";
  testing::internal::CaptureStderr();
  Pump pump;
  pump.remote_writes(Bytes(banner.begin(), banner.end()), "", false);
  const Drained d = drain(pump.stream_fd(), std::chrono::seconds(10));
  pump.end_session();
  pump.join();
  const std::string console = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(d.ended);
  EXPECT_TRUE(d.bytes.empty());
  EXPECT_NE(console.find("point C@hv1: pcap stream: not a pcap stream (starts with 57 65 6c 63)\n"),
            std::string::npos)
      << console;
}

}  // namespace
}  // namespace pathtrace::remote
