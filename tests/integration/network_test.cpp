// The correlator's network side as a user meets it, with the real binary (issue 15):
// `correlate` with idle connections open before the real collector, out of file descriptors,
// token files written on Windows or left blank, --require-token.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "collector/wire/wire.hpp"
#include "tests/common/collector_stream.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace pathtrace;
using namespace pathtrace::test;
using namespace std::chrono_literals;

class Network : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pathtrace-network-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  // Starts `pathtrace correlate ARGS` in the background (after `prefix`, e.g. a ulimit) with
  // stdout and stderr in files; returns the port it listens on (0 when it did not say).
  uint16_t start_correlate(const std::string& args, const std::string& prefix = "") {
    const Result started = sh(prefix + quote(PATHTRACE_BIN) + " correlate --db " + quote(path("t.db")) +
                                  " --listen 127.0.0.1:0 " + args + " >" + quote(path("out")) + " 2>" +
                                  quote(path("err")) + " </dev/null & echo $!",
                              dir_);
    pid_ = std::stoi(started.out);
    for (int i = 0; i < 200; ++i) {
      std::this_thread::sleep_for(50ms);
      const std::string err = slurp(dir_ / "err");
      const auto at = err.find("listening on 127.0.0.1:");
      if (at != std::string::npos) return uint16_t(std::stoi(err.substr(at + 23)));
    }
    return 0;
  }
  // Waits for the background correlate to exit; its exit code (-1 on timeout).
  int wait_correlate(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (::kill(pid_, 0) != 0) {
        pid_ = -1;
        return 0;  // reaped by the shell; the report in `out` says the rest
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }
  fs::path dir_;
  pid_t pid_ = -1;
};

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends a whole stream and reads until the correlator closes; what it answered.
std::vector<wire::Frame> send_stream(uint16_t port, const std::vector<uint8_t>& bytes) {
  std::vector<wire::Frame> frames;
  const int fd = connect_to(port);
  if (fd < 0) return frames;
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += std::size_t(n);
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  wire::Decoder d;
  uint8_t buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    d.feed(std::span<const uint8_t>(buf, std::size_t(n)));
    wire::Frame f;
    while (d.next(f) == wire::Decoder::Result::kFrame) frames.push_back(f);
  }
  ::close(fd);
  return frames;
}

// The bar: 40 connections open before the real collectors and never saying anything. Both
// collectors are read to their BYE at once, and correlate ends with its report.
TEST_F(Network, CorrelateReadsEveryCollectorWithFortyIdleConnectionsOpen) {
  const uint16_t port = start_correlate("--points A,B --json --duration 60s");
  ASSERT_NE(port, 0) << slurp(dir_ / "err");
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) idle.push_back(connect_to(port));
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(send_stream(port, collector_stream("A", 5000)).empty());
  EXPECT_TRUE(send_stream(port, collector_stream("B", 5000)).empty());
  ASSERT_EQ(wait_correlate(10s), 0) << slurp(dir_ / "err");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int fd : idle) ::close(fd);
  const std::string err = slurp(dir_ / "err");
  EXPECT_LT(secs, 4.0) << "the collectors waited for the idle connections' deadline\n" << err;
  EXPECT_NE(err.find("point A): BYE (count reached), 5000 records"), std::string::npos) << err;
  EXPECT_NE(err.find("point B): BYE (count reached), 5000 records"), std::string::npos) << err;
  EXPECT_EQ(err.find("no collector connected"), std::string::npos) << err;
  EXPECT_NE(slurp(dir_ / "out").find("\"points\""), std::string::npos);
}

// A point whose collector never connected never captured: it is not evidence, and the packets
// the point before it saw are never counted lost on the way to it (this run used to say
// "disappears between A and B: 500 of 500 lost — if B was capturing then").
TEST_F(Network, APointWhoseCollectorNeverConnectedIsNotBlamed) {
  const uint16_t port = start_correlate("--points A,B --duration 2s");
  ASSERT_NE(port, 0) << slurp(dir_ / "err");
  EXPECT_TRUE(send_stream(port, collector_stream("A", 500)).empty());
  ASSERT_EQ(wait_correlate(10s), 0) << slurp(dir_ / "err");
  const std::string out = slurp(dir_ / "out");
  EXPECT_NE(out.find("warning: point B is not used as evidence: no collector connected for it, so it never "
                     "captured (was `pathtrace collect --point B` started, with this correlator's address and "
                     "token?)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("not evidence: no_capture"), std::string::npos) << out;
  EXPECT_EQ(out.find("lost between"), std::string::npos) << out;
  EXPECT_EQ(out.find("disappears"), std::string::npos) << out;
  EXPECT_EQ(out.find("capture window unknown"), std::string::npos) << out;
}

// `ulimit -n 64` and 80 connections: the correlator runs out of descriptors. It waits instead
// of spinning: under half a CPU-second in 3 s, and one log line, not megabytes.
TEST_F(Network, OutOfDescriptorsTheAcceptLoopWaitsAndSaysSoOnce) {
  const uint16_t port = start_correlate("--points A --duration 4s", "ulimit -n 64; ");
  ASSERT_NE(port, 0) << slurp(dir_ / "err");
  auto cpu_ticks = [this] {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), {});
    const auto close = s.rfind(')');
    if (close == std::string::npos) return -1L;
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stol(field);
      if (i == 15) stime = std::stol(field);
    }
    return utime + stime;
  };
  std::vector<int> conns;
  const long before = cpu_ticks();
  for (int i = 0; i < 80; ++i) conns.push_back(connect_to(port));
  std::this_thread::sleep_for(3s);
  const long after = cpu_ticks();
  ASSERT_GE(before, 0);
  const double cpu_s = double(after - before) / double(::sysconf(_SC_CLK_TCK));
  for (int fd : conns) ::close(fd);
  wait_correlate(10s);
  const auto log_bytes = fs::file_size(dir_ / "err");
  const std::string err = slurp(dir_ / "err");
  std::printf("[ emfile ] 80 connections under ulimit -n 64: %.2f CPU-s in 3 s, %zu bytes of log\n", cpu_s,
              std::size_t(log_bytes));
  EXPECT_LT(cpu_s, 0.5);
  EXPECT_LT(log_bytes, 1u << 20);
  EXPECT_NE(err.find("accept: Too many open files: retrying every 100 ms"), std::string::npos) << err;
}

// A token file written on Windows (CRLF) works; a blank or empty one is refused, naming it.
TEST_F(Network, TokenFileWithCrlfWorksAndABlankOneIsRefused) {
  write("crlf", "s3cret\r\nsecond line\r\n");
  const uint16_t port = start_correlate("--points A --token-file " + quote(path("crlf")) + " --duration 30s");
  ASSERT_NE(port, 0) << slurp(dir_ / "err");
  const auto wrong = send_stream(port, collector_stream("A", 10, "s3cret\r"));
  ASSERT_EQ(wrong.size(), 1u);
  EXPECT_EQ(std::get<wire::Reject>(wrong[0]).reason, "wrong token");
  EXPECT_TRUE(send_stream(port, collector_stream("A", 10, "s3cret")).empty());  // no REJECT: admitted
  ASSERT_EQ(wait_correlate(10s), 0);
  EXPECT_NE(slurp(dir_ / "err").find("point A): BYE (count reached), 10 records"), std::string::npos)
      << slurp(dir_ / "err");

  write("blank", "\n  \ns3cret\n");
  write("empty", "");
  // Refused before anything listens or captures, by both commands alike.
  for (const std::string& cmd : {"correlate --points A --db " + quote(path("x.db")), std::string("collect --iface lo --to 127.0.0.1:9")}) {
    for (const char* f : {"blank", "empty"}) {
      const Result r = sh(quote(PATHTRACE_BIN) + " " + cmd + " --token-file " + quote(path(f)), dir_);
      EXPECT_EQ(r.code, 2) << cmd << " " << f << ": " << r.err;
      EXPECT_NE(r.err.find("--token-file " + path(f) + ": its first line is empty (no token)"), std::string::npos)
          << r.err;
    }
  }
}

// --require-token: no token file, no correlator, even on loopback.
TEST_F(Network, RequireTokenRefusesToListenWithoutOne) {
  const Result r = sh(quote(PATHTRACE_BIN) + " correlate --points A --require-token --db " + quote(path("t.db")), dir_);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err, "pathtrace correlate: --require-token: no shared secret given (--token-file)\n");
}

// `ssh hv1 pathtrace collect … --stdout | pathtrace correlate --stdin` where ssh or the command
// fails: standard input closes before any HELLO. The correlator says so and exits 5 at once
// (it used to wait forever), leaving no empty run behind; and --stdin, which carries one
// collector's stream, is refused for a path of several points unless --listen serves the others.
TEST_F(Network, StdinThatEndsBeforeHelloEndsTheCorrelator) {
  const std::string db = quote(path("t.db"));
  Result r = sh("timeout 30 " + quote(PATHTRACE_BIN) + " correlate --points G --stdin --db " + db + " </dev/null", dir_);
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("pathtrace correlate: standard input ended before a collector said HELLO: nothing was "
                       "captured for point G"),
            std::string::npos)
      << r.err;
  r = sh(quote(PATHTRACE_BIN) + " runs --db " + db, dir_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // no run was left behind

  r = sh("timeout 30 " + quote(PATHTRACE_BIN) + " correlate --points F,G --stdin --db " + db + " </dev/null", dir_);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err, "pathtrace correlate: --stdin carries one collector's stream, and --points names 2: give "
                   "--listen ADDR:PORT too, for the collectors of the others\n");
}

}  // namespace
