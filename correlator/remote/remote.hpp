#pragma once
// Points on other hosts, reached with the system `ssh` client (so ~/.ssh/config, aliases and
// ProxyJump apply; BatchMode: never a password prompt).
//
//   agent mode:      ssh HOST -- pathtrace collect … --stdout
//                      stdout ─────────────────────────────────────▶ Server::add_stream
//                      stderr ──StderrRelay thread──▶ "point C@hv1: …" on our stderr
//   agentless mode:  ssh HOST -- sh -c WATCHDOG sh [ip netns exec NS] tcpdump -U -w - FILTER
//                      stdout ──PcapPump thread: pcap records ─▶ parse/digest/filter ─▶
//                               wire frames (HELLO, CHAIN, RECORDS, STATS, BYE) ─▶ pipe
//                                                                   ─▶ Server::add_stream
//                      stderr ──(same thread)──▶ relayed; tcpdump's final counters ─▶ STATS
//   Stopping: the caller closes ssh's stdin. The remote collector (or the watchdog around
//   tcpdump) sees EOF and stops cleanly; when the link drops, sshd closes the same pipe.
//
// Every word that reaches the remote shell goes through shell_quote(): nothing a user puts
// in an interface name, a namespace or a filter is ever run.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "correlator/model/model.hpp"
#include "collector/common/fd.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::remote {

using inventory::Host;

// `text` as one POSIX shell word: single-quoted, each ' written as '\''. Never fails.
std::string shell_quote(std::string_view text);
// The words of `argv`, each quoted, joined by spaces: one command line for a remote shell.
std::string shell_join(const std::vector<std::string>& argv);

// The local argv running `remote_argv` on `host`: ssh -o BatchMode=yes -o ConnectTimeout=5
// -o ServerAliveInterval=2 -o ServerAliveCountMax=3 [-p] [-i] [-o OPTION]... -T -- DEST 'CMD'.
std::vector<std::string> ssh_argv(const Host& host, const std::vector<std::string>& remote_argv);

// What a live point captures with.
struct CaptureSpec {
  std::string filter;   // alias or pcap-filter text, as typed ("" = everything)
  int snaplen = 256;
  std::string run;      // run name for HELLO
  uint32_t keep_bytes = 0;  // --keep-bytes: first bytes of each packet, for export
};

// The remote argv of an agent-mode point: [sudo -n] PATHTRACE collect --iface IF [--netns NS]
// --point L --run R --snaplen N [--keep-bytes K] [--filter F] --stdout.
std::vector<std::string> agent_command(const Host& host, const Point& point, const CaptureSpec& spec);
// The remote argv of an agentless point: [sudo -n] sh -c WATCHDOG sh [ip netns exec NS]
// tcpdump -i IF -U --immediate-mode -s SNAP -w - [BPF]. An alias becomes its Ethernet
// prefilter (the exact predicate runs locally). WATCHDOG stops tcpdump (SIGINT: it flushes
// and prints its counters) when stdin closes, so no tcpdump outlives its ssh session.
std::vector<std::string> agentless_command(const Host& host, const Point& point, const CaptureSpec& spec);

// The result of pre-flight for one point.
struct PointCheck {
  bool ok = false;
  std::string detail;   // "ok: pathtrace 0.1.0 (agent), root" / the error, naming host and point
};
// What pre-flight learned about one host.
struct HostCheck {
  std::string host;
  bool reachable = false;     // ssh ran the check script
  std::string error;          // "" or why the host failed ("ssh: Permission denied (publickey)")
  std::string software;       // "pathtrace 0.1.0" (agent), "tcpdump" (agentless)
  bool clock_known = false;
  int64_t clock_offset_ns = 0;   // remote CLOCK_REALTIME − ours, measured over ssh
  int64_t clock_error_ns = 0;    // its uncertainty (ssh start-up included)
};

// Checks every remote host of `points` in parallel (one ssh per host, 15 s cap each):
// reachable, BatchMode authentication, pathtrace (same version) or tcpdump present, every
// interface and namespace there, privilege (root, or `sudo = true` and `sudo -n` works).
// Returns one PointCheck per point (local points: ok) and fills `hosts_out` by host name.
// Never throws for a remote failure: it is in the result.
std::vector<PointCheck> preflight(const std::vector<Point>& points,
                                  const std::map<std::string, Host>& hosts,
                                  std::map<std::string, HostCheck>& hosts_out);

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
