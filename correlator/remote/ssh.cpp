// Quoting, ssh command lines and the remote commands of agent and agentless points. See ssh.hpp.

#include "correlator/remote/ssh.hpp"

#include "collector/packet/filter.hpp"

namespace pathtrace::remote {
namespace {

// Stops tcpdump when the ssh session's stdin closes (we stop, or sshd lost the link): tcpdump
// itself never reads stdin. Its own stdin is /dev/null; the watcher's output goes nowhere, so
// the session ends as soon as tcpdump does.
// pathtrace run also writes a byte every 2 s: when none came for 10 s (a link that died
// without a FIN, which sshd by default never notices), tcpdump is stopped too. One byte is
// read at a time with a timeout; end of file and the timeout both end the loop.
constexpr const char* kWatchdog =
    "PATH=$PATH:/usr/sbin:/sbin; exec 3<&0; \"$@\" </dev/null 3<&- & p=$!; "
    "{ while [ \"$(timeout 10 dd bs=1 count=1 2>/dev/null <&3 | wc -c)\" -eq 1 ]; do :; done; "
    "kill -TERM \"$p\"; } </dev/null >/dev/null 2>&1 & exec 3<&-; "
    "wait \"$p\"; exit $?";

}  // namespace

std::string local_version() {
#ifdef PATHTRACE_VERSION
  return std::string("pathtrace ") + PATHTRACE_VERSION;
#else
  return "";
#endif
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  out += '\'';
  return out;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

std::vector<std::string> ssh_argv(const Host& host, const std::vector<std::string>& remote_argv) {
  std::vector<std::string> a = {"ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                                "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3",
                                "-o", "LogLevel=ERROR"};
  if (host.port) a.insert(a.end(), {"-p", std::to_string(host.port)});
  if (!host.identity.empty()) a.insert(a.end(), {"-i", host.identity});
  for (const auto& o : host.options) a.insert(a.end(), {"-o", o});
  a.insert(a.end(), {"-T", "--", host.ssh.empty() ? host.name : host.ssh, shell_join(remote_argv)});
  return a;
}

std::vector<std::string> agent_command(const Host& host, const Point& point, const CaptureSpec& spec) {
  std::vector<std::string> a;
  if (host.sudo) a.insert(a.end(), {"sudo", "-n"});
  a.insert(a.end(), {host.pathtrace, "collect", "--iface", point.iface});
  if (!point.netns.empty()) a.insert(a.end(), {"--netns", point.netns});
  a.insert(a.end(), {"--point", point.label, "--run", spec.run, "--snaplen", std::to_string(spec.snaplen)});
  if (spec.keep_bytes) a.insert(a.end(), {"--keep-bytes", std::to_string(spec.keep_bytes)});
  if (!spec.filter.empty()) a.insert(a.end(), {"--filter", spec.filter});
  // pathtrace run writes a byte every 2 s: without them for 10 s the link is gone (sshd by
  // default never notices a peer that vanished without a FIN) and the capture stops itself.
  a.insert(a.end(), {"--stdout", "--heartbeat", "10"});
  return a;
}

std::vector<std::string> agentless_command(const Host& host, const Point& point, const CaptureSpec& spec) {
  std::vector<std::string> a;
  if (host.sudo) a.insert(a.end(), {"sudo", "-n"});
  a.insert(a.end(), {"sh", "-c", kWatchdog, "sh"});
  if (!point.netns.empty()) a.insert(a.end(), {"ip", "netns", "exec", point.netns});
  a.insert(a.end(), {"tcpdump", "-i", point.iface, "-U", "--immediate-mode", "-s",
                     std::to_string(spec.snaplen), "-w", "-"});
  if (!spec.filter.empty()) {
    if (const packet::Alias* al = packet::find_alias(spec.filter))
      a.emplace_back(packet::bpf_for(*al, 1));
    else
      a.push_back(spec.filter);
  }
  return a;
}

}  // namespace pathtrace::remote
