// Quoting, ssh command lines and the remote commands of agent and agentless points. See ssh.hpp.

#include "correlator/remote/ssh.hpp"

#include <algorithm>
#include <charconv>

#include "collector/packet/filter.hpp"
#include "collector/wire/wire.hpp"

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

std::string version_line() {
  std::string caps;
  for (const std::string& c : wire::capabilities()) caps += (caps.empty() ? "" : ", ") + c;
  const std::string release = local_version().empty() ? std::string("pathtrace") : local_version();
  return release + " (wire " + std::to_string(wire::kWireVersion) + "; " + caps + ")";
}

AgentVersion parse_version_line(std::string_view line) {
  AgentVersion v;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.rfind("pathtrace", 0) != 0) return v;
  const std::size_t open = line.find(" (wire ");
  v.release = std::string(line.substr(0, open));
  if (open == std::string_view::npos) {  // pathtrace 0.1.0: the release alone
    v.wire = 2;
    v.caps = {wire::kCapKept};
    return v;
  }
  std::string_view rest = line.substr(open + 7);
  if (rest.empty() || rest.back() != ')') return AgentVersion{};
  rest.remove_suffix(1);
  const std::size_t semi = rest.find(';');
  const std::string_view num = rest.substr(0, semi);
  uint32_t w = 0;
  const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), w);
  if (ec != std::errc() || end != num.data() + num.size() || w == 0) return AgentVersion{};
  v.wire = w;
  if (semi != std::string_view::npos) {
    std::string_view list = rest.substr(semi + 1);
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) v.caps.emplace_back(item);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return v;
}

std::string agent_incompatibility(const AgentVersion& v) {
  if (v.wire == 0) return "not a pathtrace version line";
  if (v.wire != wire::kWireVersion)
    return v.release + " speaks wire version " + std::to_string(v.wire) + ", this correlator " +
           std::to_string(wire::kWireVersion) + " (install a release of wire version " +
           std::to_string(wire::kWireVersion) + ")";
  const auto has = [&](const char* cap) { return std::find(v.caps.begin(), v.caps.end(), cap) != v.caps.end(); };
  if (!has(wire::kCapDigest2))
    return v.release + " computes digest v1: its packets would match no other point's (upgrade it to 0.2 or later)";
  return "";
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
      a.push_back(packet::bpf_for_text(spec.filter, 1));
  }
  return a;
}

}  // namespace pathtrace::remote
