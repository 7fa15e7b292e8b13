#include "collector/agent/agent.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "collector/common/clock.hpp"
#include "collector/common/error.hpp"
#include "collector/common/log_text.hpp"
#include "collector/packet/filter.hpp"
#include "collector/wire/record_stream.hpp"

namespace pathtrace::agent {
namespace {

constexpr std::size_t kWriteBytes = 256 << 10;  // encoded bytes that trigger a write
constexpr int kDispatchMax = 4096;              // frames per pcap_dispatch() call


// Splits "host:port" / "[v6]:port".
bool split_host_port(const std::string& s, std::string& host, std::string& port) {
  if (!s.empty() && s[0] == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  return !host.empty() && !port.empty();
}

int connect_to(const std::string& to, const std::string& who) {
  std::string host, port;
  if (!split_host_port(to, host, port))
    throw Error(ExitCode::kUsage, who + "--to '" + to + "': expected HOST:PORT");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw Error(ExitCode::kRemote, who + "correlator " + to + ": " + gai_strerror(rc));
  std::string why = "no address";
  int fd = -1;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    why = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) throw Error(ExitCode::kRemote, who + "correlator " + to + " unreachable: " + why);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool is_dev_null(int fd) {
  struct stat a {}, b{};
  if (fstat(fd, &a) != 0 || stat("/dev/null", &b) != 0) return false;
  return S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev;
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

struct Collector::Impl {
  std::unique_ptr<LiveCapture> cap;
  const packet::Alias* alias = nullptr;
  int out = -1;          // where frames go
  bool own_out = false;  // a socket we opened
  bool is_socket = false;
  int wake = -1;         // eventfd: request_stop()
  std::atomic<bool> stop{false};
  std::atomic<const char*> stop_reason{"stop requested"};
  wire::Encoder enc;
  std::optional<wire::RecordStream> stream;  // chains, batches and kept bytes into enc
  packet::Parsed parsed;
  wire::Decoder from_peer;
  std::string who;
  std::string failure;   // set when the session cannot go on ("correlator rejected: …")
  bool count_reached = false;

  ~Impl() {
    if (own_out && out >= 0) ::close(out);
    if (wake >= 0) ::close(wake);
  }

  // Writes everything encoded so far. False (failure set) when the peer is gone.
  bool write_out() {
    auto b = enc.bytes();
    std::size_t off = 0;
    while (off < b.size()) {
      const ssize_t n = is_socket ? ::send(out, b.data() + off, b.size() - off, MSG_NOSIGNAL)
                                  : ::write(out, b.data() + off, b.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          pollfd p{out, POLLOUT, 0};
          ::poll(&p, 1, 100);
          continue;
        }
        failure = "correlator connection lost: " + std::string(std::strerror(errno));
        enc.clear();
        return false;
      }
      off += static_cast<std::size_t>(n);
    }
    enc.clear();
    return true;
  }

  void flush_records(wire::Stats& st) {
    stream->flush();
    st.records_sent = stream->sent();
  }
};

void Collector::on_frame(int64_t ts, std::span<const uint8_t> frame, uint32_t wire_len) {
  Impl& m = *impl_;
  wire::Stats& st = stats_;
  if (m.count_reached) return;
  // The kernel wrote the frame from another CPU: its cache lines are cold here, and the parser
  // reaches the next header only after reading this one. Ask for the line holding the end of
  // the headers now, so the two misses overlap instead of following each other.
  if (!frame.empty()) __builtin_prefetch(frame.data() + std::min<std::size_t>(frame.size(), 96) - 1);
  st.last_packet_ns = ts;
  if (opt_.count && st.packets + 1 >= opt_.count) m.count_reached = true;
  const bool keep = packet::account(st, frame, wire_len, static_cast<packet::LinkType>(m.cap->linktype()),
                                    opt_.parse, m.parsed,
                                    [&](const packet::Parsed& p) { return !m.alias || m.alias->match(p); });
  if (!keep) return;
  m.stream->add(m.parsed, ts, wire_len, frame);
}

Collector::Collector(CollectOptions opt) : opt_(std::move(opt)), impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.who = opt_.capture.point.empty() ? std::string() : "point " + opt_.capture.point + ": ";
  if (opt_.keep_bytes > wire::RecordStream::kMaxKeepBytes)
    throw Error(ExitCode::kUsage, m.who + "--keep-bytes " + std::to_string(opt_.keep_bytes) +
                                      ": at most " + std::to_string(wire::RecordStream::kMaxKeepBytes));
  m.stream.emplace(m.enc, opt_.batch, opt_.keep_bytes);
  if (opt_.to.empty() && opt_.out_fd < 0)
    throw Error(ExitCode::kUsage, m.who + "either --to HOST:PORT or --stdout is required");
  if (!opt_.filter.empty()) {
    m.alias = packet::find_alias(opt_.filter);
    opt_.capture.bpf = opt_.filter;
    opt_.capture.alias = m.alias;
  }
  m.cap = std::make_unique<LiveCapture>(opt_.capture);
  m.wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m.wake < 0) throw Error(ExitCode::kInternal, "eventfd: " + std::string(std::strerror(errno)));
  if (!opt_.to.empty()) {
    m.out = connect_to(opt_.to, m.who);
    m.own_out = true;
    m.is_socket = true;
  } else {
    m.out = opt_.out_fd;
    struct stat s {};
    m.is_socket = fstat(m.out, &s) == 0 && S_ISSOCK(s.st_mode);
  }
  if (opt_.watch_stdin && is_dev_null(0)) opt_.watch_stdin = false;

  hello_.run = opt_.run;
  hello_.point = opt_.capture.point;
  hello_.host = hostname();
  hello_.netns = opt_.capture.netns;
  hello_.iface = opt_.capture.iface;
  hello_.linktype = m.cap->linktype();
  hello_.snaplen = static_cast<uint32_t>(m.cap->snaplen());
  hello_.filter = opt_.filter;
  hello_.token = opt_.token;
  hello_.keep_bytes = opt_.keep_bytes;
#ifdef PATHTRACE_VERSION
  hello_.software = "pathtrace " PATHTRACE_VERSION;
#else
  hello_.software = "pathtrace";
#endif
  stats_.capture_start_ns = m.cap->started_ns();
  if (!m.cap->warning().empty())
    std::fprintf(stderr, "pathtrace collect: %swarning: %s\n", m.who.c_str(),
                 m.cap->warning().c_str());
}

Collector::~Collector() = default;

void Collector::request_stop(const char* reason) noexcept {
  impl_->stop_reason.store(reason);
  impl_->stop.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake, &one, sizeof one);
}

int Collector::run() {
  Impl& m = *impl_;
  // A broken pipe must be an error value here, not a process-killing signal.
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

  hello_.realtime_ns = clock_ns(CLOCK_REALTIME);
  hello_.monotonic_ns = clock_ns(CLOCK_MONOTONIC);
  m.enc.hello(hello_);
  bool ok = m.write_out();

  const int64_t t0 = clock_ns(CLOCK_MONOTONIC);
  int64_t last_stdin = t0;
  const int64_t heartbeat_ns = int64_t(opt_.heartbeat_s * 1e9);
  const int64_t flush_every = int64_t(opt_.flush_ms) * 1'000'000;
  const int64_t stats_every = int64_t(opt_.stats_ms) * 1'000'000;
  const int64_t end_at = opt_.duration_s > 0 ? t0 + int64_t(opt_.duration_s * 1e9) : INT64_MAX;
  int64_t next_flush = t0 + flush_every, next_stats = t0 + stats_every;
  const char* reason = nullptr;
  std::vector<uint8_t> rbuf(65536);
  uint64_t frames_read = 0;  // from the ring, filtered or not (compared with pcap_stats at the end)
  bool flowing = false;      // the last wake-up found frames in the ring
  const int64_t block_timeout_ns = int64_t(opt_.capture.timeout_ms) * 1'000'000;
  auto sink = [this](int64_t ts, std::span<const uint8_t> frame, uint32_t wire_len) {
    on_frame(ts, frame, wire_len);
  };

  auto send_stats = [&] {
    const PcapCounters c = m.cap->counters();
    stats_.ps_recv = c.recv;
    stats_.ps_drop = c.drop;
    stats_.ps_ifdrop = c.ifdrop;
    stats_.sent_at_ns = clock_ns(CLOCK_REALTIME);
  };

  while (ok && !reason) {
    pollfd fds[4];
    nfds_t n = 0;
    fds[n++] = {m.cap->selectable_fd(), POLLIN, 0};
    fds[n++] = {m.wake, POLLIN, 0};
    const int stdin_at = opt_.watch_stdin ? static_cast<int>(n) : -1;
    if (opt_.watch_stdin) fds[n++] = {0, POLLIN, 0};
    const int peer_at = m.is_socket ? static_cast<int>(n) : -1;
    if (m.is_socket) fds[n++] = {m.out, POLLIN, 0};
    // Sleep until the next thing due: the flush only when something waits to be sent, STATS
    // once a second. An idle capture wakes once a second (stop requests, stdin and the
    // correlator have descriptors of their own). While frames flow, the ring wakes the
    // collector at least once per block timeout: the two timers then wait for that wake-up
    // (at most one block timeout late) instead of adding wake-ups of their own.
    const int64_t now = clock_ns(CLOCK_MONOTONIC);
    const bool unsent = m.stream->pending() || m.enc.size();
    const int64_t slack = flowing ? block_timeout_ns : 0;
    const int64_t due_at =
        std::min({unsent ? next_flush + slack : INT64_MAX, next_stats + slack, end_at});
    const int64_t wait = std::max<int64_t>(0, due_at - now);
    ::poll(fds, n, static_cast<int>(std::min<int64_t>(wait / 1'000'000 + 1, 1000)));

    // Frames first: the ring is what overflows.
    flowing = false;
    for (int round = 0; round < 64; ++round) {
      const int got = m.cap->dispatch(sink, kDispatchMax);
      if (got > 0) {
        frames_read += static_cast<uint64_t>(got);
        flowing = true;
      }
      if (got < 0) {
        m.failure = "capture failed: " + m.cap->error();
        reason = "error";
        break;
      }
      if (m.enc.size() >= kWriteBytes && !(ok = m.write_out())) break;
      // Short of the limit, libpcap has just found the next ring block not ready (it polled
      // it): another call would only poll again. Back to our own poll().
      if (got < kDispatchMax || m.count_reached) break;
    }
    if (m.count_reached) reason = "count reached";

    if (fds[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] auto r = ::read(m.wake, &v, sizeof v);
    }
    if (m.stop.load()) reason = m.stop_reason.load();
    if (stdin_at >= 0 && fds[stdin_at].revents) {
      const ssize_t r = ::read(0, rbuf.data(), rbuf.size());
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) reason = "stdin closed";
      if (r > 0) last_stdin = clock_ns(CLOCK_MONOTONIC);
    }
    if (stdin_at >= 0 && heartbeat_ns > 0 && !reason &&
        clock_ns(CLOCK_MONOTONIC) - last_stdin > heartbeat_ns) {
      m.failure = "no heartbeat on stdin for " + std::to_string(opt_.heartbeat_s) +
                  " s: the correlator or the link is gone";
      reason = "heartbeat lost";
    }
    if (peer_at >= 0 && fds[peer_at].revents) {
      const ssize_t r = ::recv(m.out, rbuf.data(), rbuf.size(), MSG_DONTWAIT);
      if (r == 0) {
        m.failure = "correlator closed the connection";
        ok = false;
      } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
        m.failure = "correlator connection lost: " + std::string(std::strerror(errno));
        ok = false;
      } else if (r > 0) {
        m.from_peer.feed(std::span(rbuf.data(), static_cast<std::size_t>(r)));
        wire::Frame f;
        wire::Decoder::Result res;
        while ((res = m.from_peer.next(f)) == wire::Decoder::Result::kFrame) {
          if (std::holds_alternative<wire::Reject>(f)) {
            m.failure = "correlator rejected the session: " + escape_text(std::get<wire::Reject>(f).reason);
            ok = false;
          } else if (std::holds_alternative<wire::Stop>(f)) {
            reason = "stop requested";
          }
        }
        if (res == wire::Decoder::Result::kError) {
          m.failure = "bad frame from the correlator: " + escape_text(m.from_peer.error());
          ok = false;
        }
      }
    }
    if (!ok) break;
    const int64_t after = clock_ns(CLOCK_MONOTONIC);
    if (after >= end_at && !reason) reason = "duration reached";
    bool due = reason != nullptr;
    if (after >= next_flush) {
      m.flush_records(stats_);
      next_flush = after + flush_every;
      due = true;
    }
    if (after >= next_stats) {
      m.flush_records(stats_);
      send_stats();
      m.enc.stats(stats_);
      next_stats = after + stats_every;
      due = true;
    }
    // Write in large pieces: every write wakes the correlator (and over TCP also runs its
    // receive path here). Whole batches at the flush/STATS timers, otherwise once kWriteBytes
    // are encoded.
    if (m.enc.size() >= kWriteBytes || (due && m.enc.size()))
      if (!(ok = m.write_out())) break;
  }

  if (ok) {
    // Drain what the ring still holds, flush, say goodbye.
    // Frames in a ring block the kernel has not retired yet become readable only when the
    // block times out. pcap_stats() counts every frame the kernel has put in the ring (ps_recv
    // includes ps_drop): once as many as it counted at the stop were read, nothing is owed
    // and the collector stops at once; until then it sleeps until the block is retired.
    // Bounded by a few block timeouts: libpcap may skip a frame it filters in user space, and
    // then the counts never meet. (32-bit counters: compared modulo 2^32.)
    if (!m.count_reached) {
      const int64_t until = clock_ns(CLOCK_MONOTONIC) +
                            int64_t(std::max(3 * opt_.capture.timeout_ms, 50)) * 1'000'000;
      const PcapCounters at_stop = m.cap->counters();
      const auto owed = static_cast<uint32_t>(at_stop.recv - at_stop.drop);
      for (;;) {
        for (int round = 0, got = 0; round < 64 && (got = m.cap->dispatch(sink, kDispatchMax)) > 0; ++round)
          frames_read += static_cast<uint64_t>(got);
        if (m.enc.size() >= kWriteBytes && !(ok = m.write_out())) break;
        if (static_cast<int32_t>(static_cast<uint32_t>(frames_read) - owed) >= 0) break;
        const int64_t left = until - clock_ns(CLOCK_MONOTONIC);
        if (left <= 0) break;
        pollfd p{m.cap->selectable_fd(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left / 1'000'000 + 1));
      }
    }
    m.flush_records(stats_);
    send_stats();
    m.enc.bye(wire::Bye{stats_, m.failure.empty() ? reason : "error: " + m.failure});
    ok = m.write_out();
    if (ok && m.is_socket) {
      // Half-close and wait (briefly) for the correlator to close: closing with unread
      // input would reset the connection and could lose the BYE.
      ::shutdown(m.out, SHUT_WR);
      const int64_t until = clock_ns(CLOCK_MONOTONIC) + 2'000'000'000;
      while (clock_ns(CLOCK_MONOTONIC) < until) {
        pollfd p{m.out, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        if (::recv(m.out, rbuf.data(), rbuf.size(), MSG_DONTWAIT) <= 0) break;
      }
    }
  }
  // Consume a SIGPIPE raised while it was blocked, then restore the mask.
  timespec zero{};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  if (!m.failure.empty()) {
    std::fprintf(stderr, "pathtrace collect: %s%s\n", m.who.c_str(), m.failure.c_str());
    return static_cast<int>(ExitCode::kRemote);
  }
  return static_cast<int>(ExitCode::kOk);
}

namespace {
Collector* g_signal_target = nullptr;
void on_signal(int) {
  if (g_signal_target) g_signal_target->request_stop("signal");
}
}  // namespace

int run_collect(const CollectOptions& opt) {
  Collector c(opt);
  g_signal_target = &c;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills outright
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  const int rc = c.run();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_signal_target = nullptr;
  if (rc == 0 && !opt.quiet)
    std::fprintf(stderr, "pathtrace collect: %s%s: %llu packets, %llu records sent, %llu dropped by the kernel\n",
                 opt.capture.point.empty() ? "" : ("point " + opt.capture.point + ": ").c_str(),
                 opt.capture.iface.c_str(), static_cast<unsigned long long>(c.stats().packets),
                 static_cast<unsigned long long>(c.stats().records_sent),
                 static_cast<unsigned long long>(c.stats().ps_drop));
  return rc;
}

}  // namespace pathtrace::agent
