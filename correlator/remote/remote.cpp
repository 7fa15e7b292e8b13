#include "correlator/remote/remote.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <unordered_map>

#include "collector/common/clock.hpp"
#include "collector/common/error.hpp"
#include "collector/packet/accounting.hpp"
#include "collector/packet/filter.hpp"
#include "collector/wire/record_stream.hpp"
#include "collector/capture/packet_filter.hpp"
#include "collector/common/process.hpp"
#include "collector/common/console.hpp"

namespace pathtrace::remote {
namespace {

using Clock = std::chrono::steady_clock;

// Writes all of `bytes` to a blocking fd; false when the reader is gone.
bool write_all(int fd, const uint8_t* p, std::size_t n) {
  while (n) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= std::size_t(w);
  }
  return true;
}

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

std::string version_string() {
#ifdef PATHTRACE_VERSION
  return std::string("pathtrace ") + PATHTRACE_VERSION;
#else
  return "";
#endif
}

}  // namespace

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

// ---- pre-flight ----------------------------------------------------------------------------

namespace {

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
    fail_all("ssh: " + why);
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
      try {
        const int64_t remote = std::stoll(line.substr(6));
        const int64_t arrival = clock_arrival ? clock_arrival : realtime_ns();
        hc.clock_offset_ns = remote - arrival;
        hc.clock_error_ns = arrival - t0;  // the remote moment lies in [t0, arrival]
        hc.clock_known = true;
      } catch (...) {
      }
    } else if (line.rfind("software ", 0) == 0) {
      hc.software = line.substr(9);
    } else if (line.rfind("priv ", 0) == 0) {
      priv = line.substr(5);
    } else if (line.rfind("point ", 0) == 0) {
      const auto sp = line.find(' ', 6);
      if (sp != std::string::npos) {
        try {
          point_state[std::stoul(line.substr(6, sp - 6))] = line.substr(sp + 1);
        } catch (...) {
        }
      }
    }
  }
  std::string host_error;
  if (hc.software == "-" || hc.software.empty()) {
    host_error = agent ? "pathtrace not found at '" + h.pathtrace + "' (set `pathtrace = \"/path\"` in [hosts." +
                             h.name + "], or mode = \"agentless\")"
                       : "tcpdump not found (install it, or use agent mode)";
  } else if (agent && !version_string().empty() && hc.software != version_string()) {
    host_error = "remote " + hc.software + " differs from local " + version_string() +
                 " (the wire format must match: install the same version)";
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

// ---- pcap stream ---------------------------------------------------------------------------

uint32_t PcapStreamParser::u32(std::size_t at) const noexcept {
  uint32_t v;
  std::memcpy(&v, buf_.data() + at, 4);
  return swap_ ? __builtin_bswap32(v) : v;
}

void PcapStreamParser::feed(const uint8_t* bytes, std::size_t n) {
  if (!error_.empty()) return;
  if (pos_ > 0 && pos_ * 2 > buf_.size()) {
    buf_.erase(buf_.begin(), buf_.begin() + std::ptrdiff_t(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes, bytes + n);
}

PcapStreamParser::Result PcapStreamParser::next(Packet& out) {
  if (!error_.empty()) return Result::kError;
  if (!header_) {
    if (buf_.size() - pos_ < 24) return Result::kNeedMore;
    uint32_t magic;
    std::memcpy(&magic, buf_.data() + pos_, 4);
    if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) swap_ = false;
    else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) swap_ = true;
    else {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", magic);
      error_ = std::string("not a pcap stream (magic ") + hex + ")";
      return Result::kError;
    }
    nano_ = (magic == 0xa1b23c4du || magic == 0x4d3cb2a1u);
    snaplen_ = u32(pos_ + 16);
    linktype_ = u32(pos_ + 20) & 0x0fffffffu;
    pos_ += 24;
    header_ = true;
  }
  if (buf_.size() - pos_ < 16) return Result::kNeedMore;
  const uint32_t sec = u32(pos_), frac = u32(pos_ + 4), caplen = u32(pos_ + 8), len = u32(pos_ + 12);
  if (caplen > 262144 + 64 || (nano_ ? frac >= 1'000'000'000u : frac >= 1'000'000u)) {
    error_ = "bad pcap record header (captured length " + std::to_string(caplen) + ")";
    return Result::kError;
  }
  if (buf_.size() - pos_ < 16 + std::size_t(caplen)) return Result::kNeedMore;
  out.ts_ns = int64_t(sec) * 1'000'000'000 + (nano_ ? int64_t(frac) : int64_t(frac) * 1000);
  out.caplen = caplen;
  out.wire_len = std::max(len, caplen);
  out.data = buf_.data() + pos_ + 16;
  pos_ += 16 + caplen;
  return Result::kPacket;
}

// ---- remote streams ------------------------------------------------------------------------

RemoteStream::RemoteStream(const Host& host, const Point& point, const CaptureSpec& spec,
                           UniqueFd stdout_fd, UniqueFd stderr_fd, int64_t clock_offset_ns, int* stream_fd)
    : prefix_("point " + point.label + "@" + host.name + ": "),
      point_(point),
      host_(host),
      spec_(spec),
      clock_offset_ns_(clock_offset_ns) {
  if (host.mode == Host::Mode::kAgent) {
    *stream_fd = stdout_fd.release();
    relay_thread_ = std::thread([this, err = std::move(stderr_fd)]() mutable { relay_loop(std::move(err)); });
    return;
  }
  Pipe stream = make_pipe();
  *stream_fd = stream.read.release();
  thread_ = std::thread([this, in = std::move(stdout_fd), err = std::move(stderr_fd),
                         out = std::move(stream.write)]() mutable {
    pump_loop(std::move(in), std::move(err), std::move(out));
  });
}

RemoteStream::~RemoteStream() {
  if (thread_.joinable()) thread_.join();
  if (relay_thread_.joinable()) relay_thread_.join();
}

std::string RemoteStream::last_error() const {
  std::lock_guard lk(m_);
  return last_error_;
}

void RemoteStream::relay_line(const std::string& line) {
  if (line.empty()) return;
  {
    std::lock_guard lk(m_);
    last_error_ = line;
  }
  Console::err().line(prefix_ + line);
}

void RemoteStream::relay_loop(UniqueFd fd) {
  relay_lines(std::move(fd), [this](const std::string& line) { relay_line(line); });
}

// The agentless pump: pcap from ssh's stdout in, collector frames out; stderr relayed, and
// tcpdump's closing counters ("N packets dropped by kernel") become the final statistics.
// A BYE is written only when tcpdump printed those counters (it stopped cleanly): a cut
// link ends the stream without BYE, and the correlator marks the point incomplete.
void RemoteStream::pump_loop(UniqueFd in, UniqueFd err, UniqueFd out) {
  try {
    pump(in.get(), err.get(), out.get());
  } catch (const std::exception& e) {  // never out of a thread: the stream just ends, unclean
    relay_line(std::string("agentless stream stopped: ") + e.what());
  }
}

void RemoteStream::pump(int in_fd, int err_fd, int out_fd) {
  PcapStreamParser parser;
  capture::PacketFilter filter(spec_.filter);
  packet::Options popt;
  packet::Parsed parsed;
  wire::Encoder enc;
  wire::Stats stats;
  wire::RecordStream stream(enc, 1024, spec_.keep_bytes);
  bool out_ok = true, hello_sent = false, clean = false, failed = false;
  std::string err_pending;
  auto last_flush = Clock::now(), last_stats = Clock::now();
  auto remote_now = [&] { return realtime_ns() + clock_offset_ns_; };
  auto write_enc = [&] {
    if (out_ok && enc.size()) out_ok = write_all(out_fd, enc.bytes().data(), enc.size());
    enc.clear();
  };
  auto flush = [&] {
    stream.flush();
    stats.records_sent = stream.sent();
    write_enc();
    last_flush = Clock::now();
  };
  auto send_stats = [&] {
    flush();
    stats.sent_at_ns = remote_now();
    enc.stats(stats);
    write_enc();
    last_stats = Clock::now();
  };
  auto on_err_line = [&](const std::string& line) {
    relay_line(line);
    unsigned long long n = 0;
    char what[32] = {0};
    if (std::sscanf(line.c_str(), "%llu packets dropped by %31s", &n, what) == 2) {
      if (std::strcmp(what, "kernel") == 0) {
        stats.ps_drop = n;
        clean = true;
      } else if (std::strcmp(what, "interface") == 0) {
        stats.ps_ifdrop = n;
      }
    }
  };
  int fds_open = 2;
  pollfd fds[2] = {{in_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::vector<uint8_t> buf(65536);
  while (fds_open > 0) {
    const int r = ::poll(fds, 2, 50);
    if (r < 0 && errno != EINTR) break;
    if (fds[1].fd >= 0 && fds[1].revents) {
      const ssize_t n = ::read(fds[1].fd, buf.data(), buf.size());
      if (n <= 0) {
        if (!err_pending.empty()) on_err_line(err_pending);
        err_pending.clear();
        fds[1].fd = -1;
        --fds_open;
      } else {
        err_pending.append(reinterpret_cast<const char*>(buf.data()), std::size_t(n));
        for (auto nl = err_pending.find('\n'); nl != std::string::npos; nl = err_pending.find('\n')) {
          on_err_line(err_pending.substr(0, nl));
          err_pending.erase(0, nl + 1);
        }
      }
    }
    if (fds[0].fd >= 0 && fds[0].revents) {
      const ssize_t n = ::read(fds[0].fd, buf.data(), buf.size());
      if (n <= 0) {
        fds[0].fd = -1;
        --fds_open;
      } else if (!failed) {
        bytes_in_ += uint64_t(n);
        parser.feed(buf.data(), std::size_t(n));
        PcapStreamParser::Packet pkt;
        for (;;) {
          const auto res = parser.next(pkt);
          if (!hello_sent && parser.has_header()) {
            if (!packet::is_supported(parser.linktype())) {
              relay_line("link type " + std::to_string(parser.linktype()) + " is not supported");
              failed = true;
              break;
            }
            try {
              filter.prepare(parser.linktype());
            } catch (const Error& e) {
              relay_line(e.what());
              failed = true;
              break;
            }
            wire::Hello h;
            h.run = spec_.run;
            h.point = point_.label;
            h.host = host_.name;
            h.netns = point_.netns;
            h.iface = point_.iface;
            h.linktype = parser.linktype();
            h.snaplen = parser.snaplen();
            h.filter = spec_.filter;
            h.keep_bytes = stream.keep_bytes();
            h.realtime_ns = remote_now();
            h.monotonic_ns = monotonic_ns();
            h.software = "tcpdump (agentless, via " + version_string() + ")";
            enc.hello(h);
            stats.capture_start_ns = h.realtime_ns;
            write_enc();
            send_stats();
            hello_sent = true;
          }
          if (res == PcapStreamParser::Result::kError) {
            relay_line("pcap stream: " + parser.error());
            failed = true;
            break;
          }
          if (res != PcapStreamParser::Result::kPacket) break;
          stats.last_packet_ns = pkt.ts_ns;
          const std::span<const uint8_t> frame(pkt.data, pkt.caplen);
          if (!packet::account(stats, frame, pkt.wire_len, static_cast<packet::LinkType>(parser.linktype()), popt,
                               parsed, [&](const packet::Parsed& p) {
                                 return filter.keep(p, frame, pkt.wire_len, parser.linktype());
                               }))
            continue;
          stream.add(parsed, pkt.ts_ns, pkt.wire_len, {pkt.data, pkt.caplen});
          if (enc.size() >= (64u << 10)) write_enc();
        }
      }
    }
    if (hello_sent && !failed) {
      if (Clock::now() - last_flush >= std::chrono::milliseconds(50)) flush();
      if (Clock::now() - last_stats >= std::chrono::seconds(1)) send_stats();
    }
  }
  if (hello_sent && !failed) {
    flush();
    if (clean) {
      stats.sent_at_ns = std::max(remote_now(), stats.last_packet_ns);
      wire::Bye bye;
      bye.stats = stats;
      bye.reason = "stdin closed (tcpdump stopped)";
      enc.bye(bye);
      write_enc();
    }
  }
}

}  // namespace pathtrace::remote
