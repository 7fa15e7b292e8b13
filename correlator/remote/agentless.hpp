#pragma once
// One point captured over ssh, from the moment its ssh process runs: RemoteStream owns the
// thread that reads the session's pipes. In agent mode that is only a relay of the remote
// collector's stderr (its stdout already is a collector stream). In agentless mode it is the
// pump: tcpdump's pcap from ssh's stdout, parsed by pcapfile::StreamParser and digested,
// accounted and filtered exactly as `ingest` does, turned into a collector stream on a pipe
// for Server::add_stream. Every problem reaches the user as a relayed line naming the point
// and host ("point C@hv1: pcap stream: truncated at byte 4242 (inside packet record 17)").
//
//   agent mode:      ssh stdout ───────────────────────────────────────▶ Server::add_stream
//                    ssh stderr ──relay thread──▶ "point C@hv1: LINE" on our stderr
//   agentless mode:  ssh stdout ──┐ pump thread (poll, 50 ms):
//                                 ├─▶ StreamParser ─▶ account/digest/filter ─▶ RecordStream
//                    ssh stderr ──┘   ─▶ HELLO, CHAIN, RECORDS, STATS (1 s), BYE ─▶ pipe
//                                     ─▶ Server::add_stream; stderr lines relayed, tcpdump's
//                                     closing counters ─▶ STATS/BYE
//   Who stops: the caller closes ssh's stdin; the watchdog stops tcpdump, which flushes,
//   prints its counters and exits; ssh's pipes reach EOF and the thread ends. Records are
//   flushed every 50 ms, STATS every second. BYE only when tcpdump printed its counters and
//   the pcap ended on a record boundary; bad or cut-short bytes, or a read error, send the
//   records and counters before them, then close the pipe without BYE (the point is marked
//   incomplete), and the rest of the session is read and dropped so the run goes on.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

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

  // The last line relayed for this point (the remote side's or ssh's stderr, or the pump's own
  // "pcap stream: …"): the error to quote when it failed. Without the "point L@host: " prefix.
  std::string last_error() const;
  // Bytes read from the ssh session's stdout so far (for measuring the link).
  uint64_t bytes_in() const noexcept { return bytes_in_.load(); }

 private:
  void relay_loop(UniqueFd stderr_fd);
  void pump_loop(UniqueFd stdout_fd, UniqueFd stderr_fd, UniqueFd out_fd);
  void pump(int stdout_fd, int stderr_fd, UniqueFd& out_fd);
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

}  // namespace pathtrace::remote
