// The collect agent capturing for real: a veth pair between two private network namespaces,
// `pathtrace collect` as a subprocess, capture errors, an unprivileged collector. Needs root
// (ctest label `lab`: `ctest -LE lab` never creates namespaces); skips elsewhere.

// Component tests of the correlator transport: real TCP on loopback (port 0), pipes, fake
// collectors in threads, and (as root) a live capture on a veth pair in private namespaces.
#include "correlator/server/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
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

// ---- live: a veth pair between two private namespaces ------------------------------

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

struct Lab {
  std::string a, b;
  Lab() {
    const std::string tag = "ptw" + std::to_string(::getpid());
    a = tag + "a";
    b = tag + "b";
    down();
    ok = sh("ip netns add " + a) == 0 && sh("ip netns add " + b) == 0 &&
         sh("ip link add " + a + "v netns " + a + " type veth peer name " + b + "v netns " + b) == 0 &&
         sh("ip -n " + a + " addr add 198.18.77.1/24 dev " + a + "v") == 0 &&
         sh("ip -n " + b + " addr add 198.18.77.2/24 dev " + b + "v") == 0 &&
         sh("ip -n " + a + " link set " + a + "v up") == 0 &&
         sh("ip -n " + b + " link set " + b + "v up") == 0 &&
         sh("ip -n " + a + " link set lo up") == 0;
  }
  void down() {
    sh("ip netns del " + a);
    sh("ip netns del " + b);
  }
  ~Lab() { down(); }
  bool ok = false;
};

// Sends `n` UDP datagrams from inside namespace `ns` (in a thread that enters it).
void send_udp_in(const std::string& ns, int n) {
  std::thread([&] {
    const int nsfd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY);
    ASSERT_GE(nsfd, 0);
    ASSERT_EQ(::setns(nsfd, CLONE_NEWNET), 0);
    ::close(nsfd);
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9999);
    inet_pton(AF_INET, "198.18.77.1", &to.sin_addr);
    for (int i = 0; i < n; ++i) {
      char msg[64];
      const int len = std::snprintf(msg, sizeof msg, "pathtrace packet %06d", i);
      ::sendto(s, msg, static_cast<std::size_t>(len), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      if (i % 100 == 99) std::this_thread::sleep_for(1ms);
    }
    ::close(s);
  }).join();
}

TEST(Live, VethCaptureInANamespaceDigestsEveryPacket) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, packet capture)";
  Lab lab;
  if (!lab.ok) GTEST_SKIP() << "cannot create network namespaces / veth here";
  Log log;
  Collection col;
  ServerOptions sopt;
  sopt.log = log.sink();
  Server srv(sopt, col);
  srv.start();

  agent::CollectOptions o;
  o.capture.point = "A";
  o.capture.iface = lab.a + "v";
  o.capture.netns = lab.a;
  o.filter = "udp";  // alias: kernel prefilter + exact predicate
  o.keep_bytes = 64;
  o.to = srv.address();
  o.watch_stdin = false;
  agent::Collector collector(o);
  int rc = -1;
  std::thread run([&] { rc = collector.run(); });
  std::this_thread::sleep_for(200ms);
  // Static neighbour: exact counts, no ARP in the capture.
  sh("ip -n " + lab.b + " neigh replace 198.18.77.1 lladdr $(ip -n " + lab.a + " -br link show " +
     lab.a + "v | awk '{print $3}') dev " + lab.b + "v");
  send_udp_in(lab.b, 2000);
  std::this_thread::sleep_for(300ms);
  collector.request_stop();
  run.join();
  EXPECT_EQ(rc, 0);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  auto got = col.take();
  ASSERT_EQ(got.points.size(), 1u);
  EXPECT_TRUE(got.status[0].clean) << got.status[0].end_reason;
  EXPECT_EQ(got.status[0].end_reason, "stop requested");
  EXPECT_EQ(got.points[0].iface, lab.a + "v");
  EXPECT_EQ(got.points[0].netns, lab.a);
  EXPECT_EQ(got.points[0].pcap_drop, 0u);
  // Every datagram sent was captured and digested, and nothing else passed the filter.
  EXPECT_EQ(got.sightings.size(), 2000u);
  EXPECT_EQ(got.points[0].digested - got.points[0].filtered, 2000u);
  ASSERT_EQ(got.chains.size(), 1u);
  EXPECT_EQ(got.chains[0].stack, "eth/ipv4/udp");
  EXPECT_EQ(packet::to_string(got.chains[0].ip[0]), "UDP 198.18.77.2:" + std::to_string(got.chains[0].ip[0].sport) + " → 198.18.77.1:9999");
  // Distinct packets, distinct digests.
  std::set<uint64_t> d;
  for (auto& s : got.sightings) d.insert(s.digest);
  EXPECT_EQ(d.size(), 2000u);
  // --keep-bytes 64: every packet's first bytes came too, and they are that packet: parsed
  // again they give the digest of the record they came with.
  KeptFrames kept;
  col.take_kept(kept);
  ASSERT_EQ(kept.frames.size(), 2000u);
  packet::Parsed parsed;
  std::size_t same = 0;
  for (const auto& k : kept.frames) {
    EXPECT_EQ(k.linktype, 1u);
    EXPECT_EQ(k.len, std::min<uint32_t>(k.wire_len, 64));
    if (packet::parse(kept.bytes(k), k.wire_len, packet::LinkType::kEthernet, {}, parsed) ==
            packet::Status::kOk &&
        parsed.digest == k.digest)
      ++same;
  }
  EXPECT_EQ(same, 2000u);
}

TEST(Live, CaptureErrorsNameThePoint) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  capture::CaptureOptions o;
  o.point = "C";
  o.iface = "qbrX";
  o.netns = "ptw-does-not-exist";
  try {
    capture::LiveCapture c(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kCapture);
    EXPECT_EQ(std::string(e.what()),
              "point C: network namespace ptw-does-not-exist not found (no /var/run/netns/ptw-does-not-exist)");
  }
  Lab lab;
  if (!lab.ok) GTEST_SKIP() << "cannot create network namespaces here";
  o.netns = lab.a;
  try {
    capture::LiveCapture c(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "point C: interface qbrX in netns " + lab.a + " not found");
  }
  o.iface = lab.a + "v";
  o.bpf = "ip proto nonsense";
  try {
    capture::LiveCapture c(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << "a filter that does not compile is a usage error, as in ingest";
    EXPECT_NE(std::string(e.what()).find("point C: --filter 'ip proto nonsense' does not compile"), std::string::npos);
  }
}

// ---- the collect agent as a subprocess (`pathtrace collect`) --


// Starts `pathtrace collect` with `args`; stdin from a pipe (write end returned in *in_w), stdout
// to a pipe (read end in *out_r) or inherited when out_r is null. Returns the pid.
pid_t spawn_collect(const std::vector<std::string>& args, int* in_w, int* out_r) {
  int in[2], out[2] = {-1, -1};
  if (::pipe(in) != 0) return -1;
  if (out_r && ::pipe(out) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    if (out_r) ::dup2(out[1], 1);
    ::close(in[0]);
    ::close(in[1]);
    if (out_r) ::close(out[0]), ::close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  *in_w = in[1];
  if (out_r) {
    ::close(out[1]);
    *out_r = out[0];
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int st = 0;
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &st, 0);
  return -1;
}

TEST(Live, CollectSubprocessStopsOnStdinEofAndOnSigterm) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, packet capture)";
  Lab lab;
  if (!lab.ok) GTEST_SKIP() << "cannot create network namespaces / veth here";
  sh("ip -n " + lab.b + " neigh replace 10.77.0.1 lladdr $(ip -n " + lab.a + " -br link show " +
     lab.a + "v | awk '{print $3}') dev " + lab.b + "v");
  Log log;
  Collection col;
  ServerOptions sopt;
  sopt.log = log.sink();
  Server srv(sopt, col);
  srv.start();
  const std::vector<std::string> base{PT_COLLECT_BIN, "collect", "--iface", lab.a + "v", "--netns", lab.a,
                                      "--filter", "udp"};
  // B: over a pipe (as through ssh); stops when its stdin closes.
  int in_b = -1, out_b = -1;
  auto args_b = base;
  args_b.insert(args_b.end(), {"--point", "B", "--stdout"});
  const pid_t b = spawn_collect(args_b, &in_b, &out_b);
  srv.add_stream(out_b, "pipe B");
  // C: over TCP; stops on SIGTERM.
  int in_c = -1;
  auto args_c = base;
  args_c.insert(args_c.end(), {"--point", "C", "--to", srv.address()});
  const pid_t c = spawn_collect(args_c, &in_c, nullptr);
  for (int i = 0; i < 300 && col.status().size() < 2; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(col.status().size(), 2u) << log.all();
  std::this_thread::sleep_for(100ms);
  send_udp_in(lab.b, 500);
  std::this_thread::sleep_for(200ms);
  ::close(in_b);
  ::kill(c, SIGTERM);
  EXPECT_EQ(wait_exit(b), 0);
  EXPECT_EQ(wait_exit(c), 0);
  ::close(in_c);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  auto got = col.take();
  ASSERT_EQ(got.points.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(got.status[i].clean) << got.points[i].label << ": " << got.status[i].end_reason;
    EXPECT_EQ(got.status[i].records, 500u) << got.points[i].label;
  }
  // Points join in connection order.
  const std::size_t ib = got.points[0].label == "B" ? 0 : 1;
  EXPECT_EQ(got.status[ib].end_reason, "stdin closed");
  EXPECT_EQ(got.status[1 - ib].end_reason, "signal");
  EXPECT_EQ(got.status[ib].peer, "pipe B");
  EXPECT_EQ(got.sightings.size(), 1000u);
}

// Over ssh, a link that dies without a FIN leaves stdin open but silent: with --heartbeat
// the collector stops by itself, says why in its BYE, and exits.
TEST(Live, CollectStopsWhenTheHeartbeatStops) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (packet capture)";
  Log log;
  Collection col;
  ServerOptions sopt;
  sopt.log = log.sink();
  Server srv(sopt, col);
  srv.start();
  int in = -1, out = -1;
  const pid_t pid = spawn_collect({PT_COLLECT_BIN, "collect", "--iface", "lo", "--point", "H", "--stdout",
                                   "--heartbeat", "1"},
                                  &in, &out);
  srv.add_stream(out, "pipe H");
  const auto t0 = std::chrono::steady_clock::now();
  // Beat three times, 0.5 s apart: still running.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(500ms);
    ASSERT_EQ(::write(in, "\n", 1), 1);
  }
  int st = 0;
  EXPECT_EQ(::waitpid(pid, &st, WNOHANG), 0) << "stopped although heartbeats arrived";
  // Then silence, stdin still open: it must stop within about a second.
  const int code = wait_exit(pid);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(in);
  EXPECT_EQ(code, 6) << "a lost correlator or link is a remote failure (docs/cli.md)";
  EXPECT_LT(secs, 4.5);
  ASSERT_TRUE(srv.wait_idle(5s)) << log.all();
  srv.stop();
  auto got = col.take();
  ASSERT_EQ(got.status.size(), 1u);
  EXPECT_TRUE(got.status[0].clean);
  EXPECT_NE(got.status[0].end_reason.find("heartbeat"), std::string::npos) << got.status[0].end_reason;
}

// `pathtrace run` with 24 points (19 used to exit 5: the correlator reserved room in its queue
// for every read waiting on an idle pipe, and ran out after 18): every point starts capturing
// and every collector is read to its BYE.
TEST(Live, RunWithTwentyFourPointsReadsEveryCollectorToItsBye) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, packet capture)";
  const std::string ns = "ptw" + std::to_string(::getpid()) + "r";
  sh("ip netns del " + ns);
  if (sh("ip netns add " + ns) != 0 || sh("ip -n " + ns + " link set lo up") != 0)
    GTEST_SKIP() << "cannot create a network namespace here";
  const std::string dir = ::testing::TempDir() + "pathtrace-run24-" + std::to_string(::getpid());
  sh("rm -rf " + dir + " && mkdir -p " + dir);
  std::string cmd = std::string(PT_COLLECT_BIN) + " run --duration 2s --db " + dir + "/t.db";
  for (int i = 1; i <= 24; ++i) cmd += " --point P" + std::to_string(i) + "=local:lo@" + ns;
  const int st = std::system((cmd + " >" + dir + "/out 2>" + dir + "/err </dev/null").c_str());
  sh("ip netns del " + ns);
  std::ifstream ef(dir + "/err");
  const std::string err((std::istreambuf_iterator<char>(ef)), {});
  sh("rm -rf " + dir);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << err;
  EXPECT_NE(err.find("capturing at 24 points"), std::string::npos) << err;
  for (int i = 1; i <= 24; ++i)
    EXPECT_NE(err.find("point P" + std::to_string(i) + "): BYE (stdin closed)"), std::string::npos)
        << "P" << i << " was not read to its BYE\n" << err;
}

TEST(Live, UnprivilegedCollectFailsWithExitCodeCapture) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody with setpriv";
  if (sh("command -v setpriv") != 0) GTEST_SKIP() << "setpriv not installed";
  const std::string cmd = std::string("setpriv --reuid=65534 --regid=65534 --clear-groups ") +
                          PT_COLLECT_BIN + " collect --iface lo --point C --stdout </dev/null 2>&1 >/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  const int st = ::pclose(p);
  const std::string out(buf, n);
  EXPECT_EQ(WEXITSTATUS(st), static_cast<int>(ExitCode::kCapture)) << out;
  EXPECT_NE(out.find("point C: no privilege to capture on interface lo"), std::string::npos) << out;
}

}  // namespace
}  // namespace pathtrace::server
