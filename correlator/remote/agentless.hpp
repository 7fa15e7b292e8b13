#pragma once
// One point captured over ssh, from the moment its ssh process runs: RemoteStream owns the
// thread that reads the session's pipes. In agent mode that is only a relay of the remote
// collector's stderr (its stdout already is a collector stream). In agentless mode it is the
// pump: tcpdump's pcap from ssh's stdout, parsed by PcapStreamParser and digested, accounted
// and filtered exactly as `ingest` does, turned into a collector stream on a pipe for
// Server::add_stream.
//
//   agent mode:      ssh stdout ───────────────────────────────────────▶ Server::add_stream
//                    ssh stderr ──relay thread──▶ "point C@hv1: LINE" on our stderr
//   agentless mode:  ssh stdout ──┐ pump thread (poll, 50 ms):
//                                 ├─▶ PcapStreamParser ─▶ account/digest/filter ─▶ RecordStream
//                    ssh stderr ──┘   ─▶ HELLO, CHAIN, RECORDS, STATS (1 s), BYE ─▶ pipe
//                                     ─▶ Server::add_stream; stderr lines relayed, tcpdump's
//                                     closing counters ─▶ STATS/BYE
//   Who stops: the caller closes ssh's stdin; the watchdog stops tcpdump, which flushes,
//   prints its counters and exits; ssh's pipes reach EOF and the thread ends. Records are
//   flushed every 50 ms, STATS every second; BYE only when tcpdump printed its counters.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/common/fd.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"
#include "correlator/remote/ssh.hpp"

namespace pathtrace::remote {

// One point captured over ssh. Owns the relay thread (agent: stderr lines; agentless: the
// pcap stream too). The ssh process itself is the caller's Child.
class RemoteStream {
 public:
  // Agent mode: relays `stderr_fd` as "point L@host: LINE". Returns the record stream fd to
  // hand to Server::add_stream (= stdout_fd).
  // Agentless mode: digests the pcap on `stdout_fd` with the same engine as ingest and the
  // filter's exact predicate, and writes a collector stream; *stream_fd gets its read end.
  // `clock_offset_ns` (remote − local) dates the capture window of an agentless point in the
  // remote clock, like its packets. Throws Error(kInternal) if a pipe cannot be made.
  RemoteStream(const Host& host, const Point& point, const CaptureSpec& spec, UniqueFd stdout_fd,
               UniqueFd stderr_fd, int64_t clock_offset_ns, int* stream_fd);
  // Joins the thread (the ssh process must have exited or be about to: its pipes close).
  ~RemoteStream();
  RemoteStream(const RemoteStream&) = delete;
  RemoteStream& operator=(const RemoteStream&) = delete;

  // The last stderr line the remote side (or ssh) wrote: the error to quote when it failed.
  std::string last_error() const;
  // Bytes read from the ssh session's stdout so far (for measuring the link).
  uint64_t bytes_in() const noexcept { return bytes_in_.load(); }

 private:
  struct Pump;
  void relay_loop(UniqueFd stderr_fd);
  void pump_loop(UniqueFd stdout_fd, UniqueFd stderr_fd, UniqueFd out_fd);
  void pump(int stdout_fd, int stderr_fd, int out_fd);
  void relay_line(const std::string& line);

  std::string prefix_;  // "point C@hv1: "
  Point point_;
  Host host_;
  CaptureSpec spec_;
  int64_t clock_offset_ns_ = 0;
  mutable std::mutex m_;
  std::string last_error_;
  std::atomic<uint64_t> bytes_in_{0};
  std::thread thread_;
  std::thread relay_thread_;
};

// Parses a classic pcap byte stream as it arrives (any chunking): header first, then
// records. Microsecond or nanosecond magic, either byte order. Not pcapng (tcpdump -w writes
// pcap). Bad bytes are a value, never an exception.
class PcapStreamParser {
 public:
  enum class Result { kPacket, kNeedMore, kError };
  struct Packet {
    int64_t ts_ns = 0;
    uint32_t wire_len = 0;
    const uint8_t* data = nullptr;  // valid until the next feed()/next()
    uint32_t caplen = 0;
  };
  void feed(const uint8_t* bytes, std::size_t n);
  // The next whole packet, kNeedMore, or kError (error() says why; stays failed).
  Result next(Packet& out);
  bool has_header() const noexcept { return header_; }
  uint32_t linktype() const noexcept { return linktype_; }
  uint32_t snaplen() const noexcept { return snaplen_; }
  const std::string& error() const noexcept { return error_; }

 private:
  uint32_t u32(std::size_t at) const noexcept;
  std::vector<uint8_t> buf_;
  std::size_t pos_ = 0;
  bool header_ = false;
  bool swap_ = false;
  bool nano_ = false;
  uint32_t linktype_ = 0;
  uint32_t snaplen_ = 0;
  std::string error_;
};

}  // namespace pathtrace::remote
