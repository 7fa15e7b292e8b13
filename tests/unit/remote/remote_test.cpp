// Remote capture pieces that need no network: shell quoting (proved by running /bin/sh),
// the ssh and remote command lines, [hosts] in the inventory and the watchdog that stops an
// agentless tcpdump when its ssh session's stdin closes. (The pcap stream parser is tested in
// tests/unit/pcapfile/stream_test.cpp, the agentless pump in agentless_test.cpp.)

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/inventory/inventory.hpp"
#include "collector/common/process.hpp"
#include "correlator/remote/preflight.hpp"
#include "correlator/remote/remote.hpp"

namespace pathtrace::remote {

using namespace pathtrace::inventory;
namespace {

namespace fs = std::filesystem;

// What /bin/sh prints for `printf '%s\n' WORDS`, one line per word it received.
std::vector<std::string> words_seen_by_shell(const std::string& words) {
  const std::string cmd = "printf '%s\\n' " + words;
  const std::string script = "/bin/sh -c " + shell_quote(cmd);
  std::vector<std::string> lines;
  FILE* f = ::popen(script.c_str(), "r");
  if (!f) return lines;
  std::string cur;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += char(c);
    }
  }
  ::pclose(f);
  return lines;
}

class Quoting : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pt-remote-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    pwned_ = (dir_ / "pwned").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string pwned_;
};

TEST_F(Quoting, HostileWordsReachTheShellAsOneWordAndRunNothing) {
  const std::vector<std::string> hostile = {
      "eth0;touch " + pwned_,
      "$(touch " + pwned_ + ")",
      "`touch " + pwned_ + "`",
      "ip proto 4' ; touch " + pwned_ + " ; echo '",
      "\"; touch " + pwned_ + "; \"",
      "a\nb; touch " + pwned_,
      "it's | touch " + pwned_ + " && $HOME > " + pwned_,
      "",
      "'",
      "''\\'",
  };
  for (const auto& w : hostile) {
    const auto seen = words_seen_by_shell(shell_quote(w));
    std::string joined;
    for (std::size_t i = 0; i < seen.size(); ++i) joined += (i ? "\n" : "") + seen[i];
    EXPECT_EQ(joined, w);
    EXPECT_FALSE(fs::exists(pwned_)) << "ran a command from: " << w;
  }
}

TEST_F(Quoting, RemoteCommandLinesKeepEveryWord) {
  Host h;
  h.name = "hv1";
  h.ssh = "root@192.0.2.1";
  h.sudo = true;
  Point p;
  p.label = "C";
  p.iface = "qbr0;touch " + pwned_;
  p.netns = "$(touch " + pwned_ + ")";
  CaptureSpec spec;
  spec.filter = "ip proto 4 and `touch " + pwned_ + "` and '\"";
  for (const auto& argv : {agent_command(h, p, spec), agentless_command(h, p, spec)}) {
    EXPECT_EQ(words_seen_by_shell(shell_join(argv)), argv);
    EXPECT_FALSE(fs::exists(pwned_));
  }
}

TEST(SshArgv, BatchModeTimeoutsOptionsAndOneQuotedCommand) {
  Host h;
  h.name = "hv1";
  h.ssh = "ops@hv1.example";
  h.port = 2222;
  h.identity = "/keys/id";
  h.options = {"ProxyJump=bastion", "StrictHostKeyChecking=no"};
  const auto a = ssh_argv(h, {"pathtrace", "collect", "--iface", "eth 0"});
  ASSERT_GE(a.size(), 4u);
  EXPECT_EQ(a[0], "ssh");
  auto has_pair = [&](const std::string& x, const std::string& y) {
    for (std::size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == x && a[i + 1] == y) return true;
    return false;
  };
  EXPECT_TRUE(has_pair("-o", "BatchMode=yes"));
  EXPECT_TRUE(has_pair("-o", "ConnectTimeout=5"));
  EXPECT_TRUE(has_pair("-o", "ServerAliveInterval=2"));
  EXPECT_TRUE(has_pair("-p", "2222"));
  EXPECT_TRUE(has_pair("-i", "/keys/id"));
  EXPECT_TRUE(has_pair("-o", "ProxyJump=bastion"));
  EXPECT_TRUE(has_pair("--", "ops@hv1.example"));
  EXPECT_EQ(a.back(), "'pathtrace' 'collect' '--iface' 'eth 0'");
}

TEST(SshArgv, AgentAndAgentlessCommands) {
  Host h;
  h.name = "hv1";
  h.pathtrace = "/opt/pt/pathtrace";
  Point p;
  p.label = "C";
  p.iface = "qbrbdd1f2c3-bd";
  p.netns = "lab-hv";
  CaptureSpec spec;
  spec.filter = "ipip";
  spec.snaplen = 128;
  spec.run = "run-1";
  const auto agent = agent_command(h, p, spec);
  const std::vector<std::string> want = {"/opt/pt/pathtrace", "collect", "--iface", "qbrbdd1f2c3-bd",
                                         "--netns", "lab-hv", "--point", "C", "--run", "run-1",
                                         "--snaplen", "128", "--filter", "ipip", "--stdout",
                                         "--heartbeat", "10"};
  EXPECT_EQ(agent, want);
  const auto less = agentless_command(h, p, spec);
  ASSERT_GE(less.size(), 10u);
  EXPECT_EQ(less[0], "sh");
  const std::vector<std::string> tail(less.begin() + 4, less.end());
  const std::vector<std::string> want_tail = {"ip", "netns", "exec", "lab-hv", "tcpdump", "-i",
                                              "qbrbdd1f2c3-bd", "-U", "--immediate-mode", "-s",
                                              "128", "-w", "-", "(ip proto 4) or (vlan and ip proto 4)"};
  ASSERT_EQ(tail.size(), want_tail.size());
  for (std::size_t i = 0; i + 1 < tail.size(); ++i) EXPECT_EQ(tail[i], want_tail[i]);
  EXPECT_NE(tail.back().find("ip proto 4"), std::string::npos);  // the alias's prefilter
  h.sudo = true;
  EXPECT_EQ(agent_command(h, p, spec)[0], "sudo");
  EXPECT_EQ(agent_command(h, p, spec)[1], "-n");
}

// The watchdog around tcpdump: closing the session's stdin stops the command at once.
TEST(Watchdog, StopsTheCommandWhenStdinCloses) {
  Host h;
  Point p;
  p.iface = "x";
  auto argv = agentless_command(h, p, CaptureSpec{});
  // Keep `sh -c WATCHDOG sh`, run `sleep 30` under it instead of tcpdump.
  argv.resize(4);
  argv.insert(argv.end(), {"sleep", "30"});
  Child c = Child::spawn(argv, SpawnOptions{Stdio::kPipe, Stdio::kPipe, Stdio::kPipe, true});
  EXPECT_FALSE(c.wait_for(std::chrono::milliseconds(300)));  // still running
  const auto t0 = std::chrono::steady_clock::now();
  c.close_stdin();
  const auto code = c.wait_for(std::chrono::seconds(5));
  ASSERT_TRUE(code) << "the watchdog did not stop the command";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

// A host that refuses the connection: ssh's own "ssh: connect to host …" reaches the user with
// one "ssh: " prefix, not two. (Loopback, a port nothing listens on.)
TEST(Preflight, SshsOwnMessageKeepsOnePrefix) {
  if (std::system("command -v ssh >/dev/null 2>&1") != 0) GTEST_SKIP() << "ssh is not installed";
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(s);  // the port is free again: nothing listens on it
  const int port = ntohs(a.sin_port);
  Host h;
  h.name = "dead";
  h.ssh = "root@127.0.0.1";
  h.port = port;
  Point p;
  p.label = "C";
  p.host = "dead";
  p.iface = "eth0";
  std::map<std::string, HostCheck> hosts_out;
  const auto checks = preflight({p}, {{"dead", h}}, hosts_out);
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_FALSE(checks[0].ok);
  EXPECT_EQ(checks[0].detail, "point C@dead: host dead (root@127.0.0.1): ssh: connect to host 127.0.0.1 port " +
                                  std::to_string(port) + ": Connection refused");
}

TEST(Hosts, InventoryTablesAndDefaults) {
  const fs::path f = fs::temp_directory_path() / ("pt-hosts-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream o(f);
    o << "[hosts.hv1]\nssh = \"root@198.18.255.3\"\nport = 2222\nidentity = \"/k/id\"\n"
         "options = [\"StrictHostKeyChecking=no\"]\npathtrace = \"/usr/local/bin/pathtrace\"\n"
         "sudo = true\nmode = \"agentless\"\n\n[[point]]\nlabel = \"A\"\nhost = \"hv1\"\niface = \"eth0\"\n";
  }
  const auto hosts = load_hosts(f.string());
  ASSERT_EQ(hosts.size(), 1u);
  const Host& h = hosts.at("hv1");
  EXPECT_EQ(h.ssh, "root@198.18.255.3");
  EXPECT_EQ(h.port, 2222);
  EXPECT_EQ(h.identity, "/k/id");
  EXPECT_EQ(h.options, std::vector<std::string>{"StrictHostKeyChecking=no"});
  EXPECT_EQ(h.pathtrace, "/usr/local/bin/pathtrace");
  EXPECT_TRUE(h.sudo);
  EXPECT_EQ(h.mode, Host::Mode::kAgentless);
  const Host d = host_for(hosts, "vm1");  // no table: an ssh alias
  EXPECT_EQ(d.ssh, "vm1");
  EXPECT_EQ(d.mode, Host::Mode::kAgent);
  EXPECT_FALSE(d.sudo);
  {
    std::ofstream o(f);
    o << "[hosts.hv1]\nmode = \"telnet\"\n";
  }
  try {
    load_hosts(f.string());
    ADD_FAILURE() << "mode telnet accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("host hv1"), std::string::npos);
  }
  {
    std::ofstream o(f);
    o << "[hosts.hv1]\nssh = \"-oProxyCommand=touch /tmp/x\"\n";
  }
  EXPECT_THROW(load_hosts(f.string()), Error);  // a destination that ssh would take as an option
  fs::remove(f);
}

// Pre-flight compares what an agent speaks, not its release string (docs/remote.md).
TEST(AgentVersions, AnotherReleaseOfTheSameWireAndDigestIsAccepted) {
  const AgentVersion mine = parse_version_line(version_line() + "\n");
  EXPECT_EQ(mine.wire, 2u);
  EXPECT_EQ(agent_incompatibility(mine), "");
  const AgentVersion later = parse_version_line("pathtrace 0.3.1 (wire 2; kept, digest2, gzip)");
  EXPECT_EQ(later.release, "pathtrace 0.3.1");
  EXPECT_EQ(later.caps, (std::vector<std::string>{"kept", "digest2", "gzip"}));
  EXPECT_EQ(agent_incompatibility(later), "");
}

TEST(AgentVersions, OldDigestsAndOtherWireVersionsAreRefusedSayingWhy) {
  // pathtrace 0.1.0 printed the release alone: wire 2, digest v1.
  const AgentVersion old = parse_version_line("pathtrace 0.1.0");
  EXPECT_EQ(old.wire, 2u);
  EXPECT_EQ(agent_incompatibility(old),
            "pathtrace 0.1.0 computes digest v1: its packets would match no other point's (upgrade it to 0.2 or later)");
  EXPECT_EQ(agent_incompatibility(parse_version_line("pathtrace 1.0.0 (wire 3; kept, digest2)")),
            "pathtrace 1.0.0 speaks wire version 3, this correlator 2 (install a release of wire version 2)");
  EXPECT_EQ(agent_incompatibility(parse_version_line("bash: pathtrace: command not found")),
            "not a pathtrace version line");
  EXPECT_EQ(parse_version_line("pathtrace 9 (wire x; kept)").wire, 0u);
}

}  // namespace
}  // namespace pathtrace::remote
