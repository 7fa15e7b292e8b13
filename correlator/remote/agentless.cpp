// RemoteStream: the agent's stderr relay and the agentless pump, and the pcap stream parser
// the pump reads with. See agentless.hpp.

#include "correlator/remote/agentless.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "collector/capture/packet_filter.hpp"
#include "collector/common/clock.hpp"
#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "collector/common/process.hpp"
#include "collector/packet/accounting.hpp"
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
            h.software = "tcpdump (agentless, via " + local_version() + ")";
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
