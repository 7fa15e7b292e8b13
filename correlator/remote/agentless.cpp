// RemoteStream: the agent's stderr relay and the agentless pump. See agentless.hpp for who
// reads, who writes and who stops.

#include "correlator/remote/agentless.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "collector/capture/packet_filter.hpp"
#include "collector/common/clock.hpp"
#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "collector/common/log_text.hpp"
#include "collector/common/process.hpp"
#include "collector/packet/accounting.hpp"
#include "collector/pcapfile/stream.hpp"
#include "collector/wire/record_stream.hpp"

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

}  // namespace

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

void RemoteStream::pump_loop(UniqueFd in, UniqueFd err, UniqueFd out) {
  try {
    pump(in.get(), err.get(), out);
  } catch (const std::exception& e) {  // never out of a thread: the stream just ends, unclean
    relay_line(std::string("agentless stream stopped: ") + e.what());
  }
}

// The agentless pump: pcap from ssh's stdout in, collector frames out; stderr relayed, and
// tcpdump's closing counters ("N packets dropped by kernel") become the final statistics.
void RemoteStream::pump(int in_fd, int err_fd, UniqueFd& out) {
  pcapfile::StreamParser parser;
  capture::PacketFilter filter(spec_.filter);
  packet::Options popt;
  packet::Parsed parsed;
  wire::Encoder enc;
  wire::Stats stats;
  wire::RecordStream stream(enc, 1024, spec_.keep_bytes);
  bool hello_sent = false;
  bool clean = false;   // tcpdump printed its closing counters: it stopped as asked
  bool failed = false;  // the stream was ended without BYE; the rest of the session is dropped
  std::string err_pending;
  auto last_flush = Clock::now(), last_stats = Clock::now();
  auto remote_now = [&] { return realtime_ns() + clock_offset_ns_; };
  auto write_enc = [&] {
    // A failed write means the correlator closed its end (it is stopping): nothing to tell.
    if (out && enc.size() && !write_all(out.get(), enc.bytes().data(), enc.size())) out.reset();
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
  // Ends the stream without BYE: says why, sends the records and counters of the packets that
  // came before, closes the pipe (the correlator marks the point incomplete).
  auto fail = [&](const std::string& why) {
    relay_line(why);
    if (hello_sent) send_stats();
    out.reset();
    failed = true;
  };
  auto on_err_line = [&](const std::string& line) {
    relay_line(escape_text(line));  // the remote tcpdump's bytes: never raw to the terminal
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
  // HELLO, once the pcap header says the link type. False (and failed) if it cannot be read.
  auto start = [&] {
    const uint32_t link = parser.header().linktype;
    if (!packet::is_supported(link)) {
      fail("link type " + std::to_string(link) + " is not supported");
      return false;
    }
    try {
      filter.prepare(link);
    } catch (const Error& e) {
      fail(e.what());
      return false;
    }
    wire::Hello h;
    h.run = spec_.run;
    h.point = point_.label;
    h.host = host_.name;
    h.netns = point_.netns;
    h.iface = point_.iface;
    h.linktype = link;
    h.snaplen = parser.header().snaplen;
    h.filter = spec_.filter;
    h.keep_bytes = stream.keep_bytes();
    h.realtime_ns = remote_now();
    h.monotonic_ns = monotonic_ns();
    h.software = "tcpdump (agentless, via " + local_version() + ")";
    enc.hello(h);
    stats.capture_start_ns = h.realtime_ns;
    write_enc();
    send_stats();
    hello_sent = true;
    return true;
  };
  // Everything the parser has: whole packets, and after finish() the end or its error.
  auto drain = [&] {
    pcapfile::Packet pkt;
    for (;;) {
      const auto res = parser.next(pkt);
      if (!hello_sent && parser.has_header() && !start()) return;
      if (res == pcapfile::StreamParser::Result::kError) {
        fail("pcap stream: " + parser.error());
        return;
      }
      if (res != pcapfile::StreamParser::Result::kPacket) return;
      stats.last_packet_ns = pkt.ts_ns;
      if (!packet::account(stats, pkt.data, pkt.wire_len, static_cast<packet::LinkType>(pkt.linktype), popt,
                           parsed, [&](const packet::Parsed& p) {
                             return filter.keep(p, pkt.data, pkt.wire_len, pkt.linktype);
                           }))
        continue;
      stream.add(parsed, pkt.ts_ns, pkt.wire_len, pkt.data);
      if (enc.size() >= (64u << 10)) write_enc();
    }
  };
  int fds_open = 2;
  pollfd fds[2] = {{in_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::vector<uint8_t> buf(65536);
  while (fds_open > 0) {
    if (::poll(fds, 2, 50) < 0) {
      if (errno == EINTR) continue;
      if (!failed) fail(std::string("agentless stream stopped: poll: ") + std::strerror(errno));
      break;
    }
    if (fds[1].fd >= 0 && fds[1].revents) {
      const ssize_t n = ::read(fds[1].fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // end (or a read error) of stderr: no more lines; the capture goes on
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
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (!failed) fail(std::string("pcap stream: reading the ssh session: ") + std::strerror(errno));
        fds[0].fd = -1;
        --fds_open;
      } else if (n == 0) {  // tcpdump and ssh are done: what is left must be whole records
        if (!failed) {
          parser.finish();
          drain();
        }
        fds[0].fd = -1;
        --fds_open;
      } else {
        bytes_in_ += uint64_t(n);
        if (!failed) {
          parser.feed({buf.data(), std::size_t(n)});
          drain();
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
