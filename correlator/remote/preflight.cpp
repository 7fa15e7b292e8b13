// Pre-flight: one ssh per remote host runs kPreflight and its answer becomes a check per
// point. See preflight.hpp.

#include "correlator/remote/preflight.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "collector/common/clock.hpp"
#include "collector/common/error.hpp"
#include "collector/common/process.hpp"
#include "correlator/remote/ssh.hpp"

namespace pathtrace::remote {
namespace {

using Clock = std::chrono::steady_clock;

// Pre-flight, run by `sh -c SCRIPT sh MODE PATHTRACE SUDO IF NS IF NS ...` on the host.
// Prints "clock NS", "software …", "priv root|sudo|none", "point I ok|netns|iface", "end".
constexpr const char* kPreflight =
    "PATH=$PATH:/usr/sbin:/sbin; mode=$1; pt=$2; su=$3; shift 3; "
    "echo \"clock $(date +%s%N)\"; S=''; [ \"$su\" = 1 ] && S='sudo -n'; "
    "if [ \"$mode\" = agent ]; then v=$($S \"$pt\" --version 2>/dev/null) && echo \"software $v\" || echo 'software -'; "
    "else if command -v tcpdump >/dev/null 2>&1; then echo 'software tcpdump'; else echo 'software -'; fi; fi; "
    "if [ \"$(id -u)\" = 0 ]; then echo 'priv root'; "
    "elif [ \"$su\" = 1 ] && sudo -n true >/dev/null 2>&1; then echo 'priv sudo'; else echo 'priv none'; fi; "
    "i=0; while [ $# -ge 2 ]; do "
    "if [ -n \"$2\" ] && [ ! -e \"/run/netns/$2\" ] && [ ! -e \"/var/run/netns/$2\" ]; then echo \"point $i netns\"; "
    "elif [ -n \"$2\" ]; then if $S ip netns exec \"$2\" ip link show dev \"$1\" >/dev/null 2>&1; "
    "then echo \"point $i ok\"; else echo \"point $i iface\"; fi; "
    "elif ip link show dev \"$1\" >/dev/null 2>&1; then echo \"point $i ok\"; else echo \"point $i iface\"; fi; "
    "i=$((i+1)); shift 2; done; echo end";

// `text` as a whole decimal number; false (and `out` unchanged) for anything else.
template <typename T>
bool parse_number(std::string_view text, T& out) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  out = v;
  return true;
}

struct HostJob {
  Host host;
  std::vector<std::size_t> points;  // indices into the caller's points
};

// Runs the pre-flight script on one host; fills `hc` and the checks of its points.
void check_host(const HostJob& job, const std::vector<Point>& points, HostCheck& hc,
                std::vector<PointCheck>& checks) {
  const Host& h = job.host;
  const bool agent = h.mode == Host::Mode::kAgent;
  std::vector<std::string> cmd = {"sh", "-c", kPreflight, "sh", agent ? "agent" : "agentless",
                                  h.pathtrace, h.sudo ? "1" : "0"};
  for (std::size_t i : job.points) cmd.insert(cmd.end(), {points[i].iface, points[i].netns});
  auto fail_all = [&](const std::string& why) {
    hc.error = why;
    for (std::size_t i : job.points)
      checks[i] = {false, "point " + points[i].label + "@" + h.name + ": host " + h.name + " (" +
                              h.ssh + "): " + why};
  };
  const int64_t t0 = realtime_ns();
  Child child;
  try {
    child = Child::spawn(ssh_argv(h, cmd), SpawnOptions{Stdio::kPipe, Stdio::kPipe, Stdio::kPipe, true});
  } catch (const Error& e) {
    fail_all(e.what());
    return;
  }
  child.close_stdin();
  UniqueFd out_owned = child.take_stdout(), err_owned = child.take_stderr();
  int out_fd = out_owned.get(), err_fd = err_owned.get();
  std::string out, err;
  int64_t clock_arrival = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  bool timed_out = false;
  for (int open = 2; open > 0;) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    if (::poll(fds, 2, int(left)) < 0 && errno != EINTR) break;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !fds[k].revents) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[k].fd, buf, sizeof buf);
      if (n <= 0) {
        if (k == 0) out_owned.reset(), out_fd = -1;
        else err_owned.reset(), err_fd = -1;
        --open;
        continue;
      }
      if (k == 0) {
        out.append(buf, std::size_t(n));
        if (!clock_arrival && out.find('\n') != std::string::npos) clock_arrival = realtime_ns();
      } else {
        err.append(buf, std::size_t(n));
      }
    }
    if (out_fd < 0 && err_fd < 0) break;
  }
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0) ::close(err_fd);
  if (timed_out) {
    child.signal(SIGKILL);
    child.wait_for(std::chrono::seconds(2));
    fail_all("no answer within 15 s (ssh hangs: host down, or a prompt BatchMode could not refuse)");
    return;
  }
  const auto code = child.wait_for(std::chrono::seconds(5));
  if (!code) child.signal(SIGKILL);
  if (out.find("\nend") == std::string::npos && out.rfind("end", 0) != 0) {
    std::string why = err;
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    if (const auto nl = why.rfind('\n'); nl != std::string::npos) why = why.substr(nl + 1);
    if (why.empty()) why = "ssh exited with code " + (code ? std::to_string(*code) : std::string("?"));
    // ssh says "ssh: connect to host …" itself; its own messages keep their one prefix.
    fail_all(why.rfind("ssh: ", 0) == 0 ? why : "ssh: " + why);
    return;
  }
  hc.reachable = true;
  std::string priv;
  std::unordered_map<std::size_t, std::string> point_state;
  std::size_t start = 0;
  while (start < out.size()) {
    auto nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    const std::string line = out.substr(start, nl - start);
    start = nl + 1;
    if (line.rfind("clock ", 0) == 0) {
      int64_t remote = 0;
      if (parse_number(std::string_view(line).substr(6), remote)) {  // else: the clock stays unknown
        const int64_t arrival = clock_arrival ? clock_arrival : realtime_ns();
        hc.clock_offset_ns = remote - arrival;
        hc.clock_error_ns = arrival - t0;  // the remote moment lies in [t0, arrival]
        hc.clock_known = true;
      }
    } else if (line.rfind("software ", 0) == 0) {
      hc.software = line.substr(9);
    } else if (line.rfind("priv ", 0) == 0) {
      priv = line.substr(5);
    } else if (line.rfind("point ", 0) == 0) {
      const auto sp = line.find(' ', 6);
      std::size_t k = 0;
      if (sp != std::string::npos && parse_number(std::string_view(line).substr(6, sp - 6), k))
        point_state[k] = line.substr(sp + 1);  // a line it cannot read leaves the point unchecked
    }
  }
  std::string host_error;
  if (hc.software == "-" || hc.software.empty()) {
    host_error = agent ? "pathtrace not found at '" + h.pathtrace + "' (set `pathtrace = \"/path\"` in [hosts." +
                             h.name + "], or mode = \"agentless\")"
                       : "tcpdump not found (install it, or use agent mode)";
  } else if (const std::string why = agent ? agent_incompatibility(parse_version_line(hc.software)) : "";
             !why.empty()) {
    host_error = "remote " + why;
  } else if (priv == "none") {
    host_error = std::string("no privilege to capture (not root") + (h.sudo ? ", and `sudo -n` fails)" : "; set sudo = true)");
  }
  if (!host_error.empty()) {
    fail_all(host_error);
    return;
  }
  for (std::size_t k = 0; k < job.points.size(); ++k) {
    const std::size_t i = job.points[k];
    const Point& p = points[i];
    const std::string where = "point " + p.label + "@" + h.name + ": ";
    const std::string st = point_state.count(k) ? point_state[k] : "?";
    if (st == "ok")
      checks[i] = {true, where + "ok (" + hc.software + (agent ? ", agent" : ", agentless") + ", " + priv + ")"};
    else if (st == "netns")
      checks[i] = {false, where + "network namespace " + p.netns + " not found on host " + h.name};
    else if (st == "iface")
      checks[i] = {false, where + "interface " + p.iface + " not found on host " + h.name +
                              (p.netns.empty() ? "" : " (in namespace " + p.netns + ")")};
    else
      checks[i] = {false, where + "pre-flight did not check it (host " + h.name + ")"};
  }
}

}  // namespace

std::vector<PointCheck> preflight(const std::vector<Point>& points,
                                  const std::map<std::string, Host>& hosts,
                                  std::map<std::string, HostCheck>& hosts_out) {
  std::vector<PointCheck> checks(points.size());
  std::map<std::string, HostJob> jobs;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    if (p.host.empty() || p.host == "local") {
      checks[i] = {true, "point " + p.label + "@local: ok"};
      continue;
    }
    auto& job = jobs[p.host];
    if (job.points.empty()) job.host = host_for(hosts, p.host);
    job.points.push_back(i);
  }
  for (const auto& [name, job] : jobs) hosts_out[name].host = name;
  std::vector<std::thread> threads;
  for (auto& [name, job] : jobs)
    threads.emplace_back([&, n = name] { check_host(jobs.at(n), points, hosts_out.at(n), checks); });
  for (auto& t : threads) t.join();
  return checks;
}

}  // namespace pathtrace::remote
