#pragma once
// The collect agent: what `pathtrace collect` runs.
//
//            ┌───────────────────── one thread, poll() ─────────────────────┐
//   pcap fd ─┤ dispatch → parse/digest → alias predicate → RecordStream     │
//            │   → CHAIN (first use) + RECORDS (+ KEPT): 4096 or 200 ms ────┼─▶ out fd
//   timer  ──┤ STATS every second                                           │  (TCP socket
//   stdin  ──┤ EOF → stop          (watched unless /dev/null or disabled)   │   or stdout)
//   out fd ──┤ STOP / REJECT from the correlator (TCP only)                 │
//   wake   ──┤ request_stop() / SIGINT / SIGTERM                            │
//            └── on stop: drain the ring, flush records, final STATS → BYE ─┘
//
// Writes block: a slow correlator slows the agent, the kernel ring fills, and the kernel's
// drops show up in ps_drop (counted, never silent).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "collector/capture/capture.hpp"
#include "collector/packet/packet.hpp"
#include "collector/wire/wire.hpp"

namespace pathtrace::agent {

using capture::CaptureOptions;
using capture::LiveCapture;
using capture::PcapCounters;

// Everything `pathtrace collect` takes.
struct CollectOptions {
  CaptureOptions capture;      // iface, netns, snaplen, ... (capture.bpf is derived from filter)
  std::string filter;          // alias name or pcap-filter expression ("" = everything)
  std::string run;             // run id/name to put in HELLO
  std::string token;           // shared secret sent in HELLO ("" = none)
  std::string to;              // "HOST:PORT" of the correlator, or "" ...
  int out_fd = -1;             // ... or write frames to this fd (1 for --stdout); not closed
  bool watch_stdin = true;     // stop when fd 0 reaches EOF (ignored if stdin is /dev/null)
  // Stop when nothing arrived on stdin for this long (0 = never). Over ssh, the correlator
  // writes a byte every 2 s: a link that died without a FIN (sshd's default never notices)
  // still stops the remote capture.
  double heartbeat_s = 0;
  uint64_t count = 0;          // stop after this many frames read (0 = no limit)
  double duration_s = 0;       // stop after this many seconds (0 = no limit)
  std::size_t batch = 4096;    // records per RECORDS frame (1..wire::kMaxRecordsPerFrame)
  uint32_t keep_bytes = 0;     // first bytes of each packet sent in KEPT frames (0 = none, ≤ 65535)
  int flush_ms = 500;          // flush a partial batch at least this often
  int stats_ms = 1000;         // STATS period
  packet::Options parse;       // digest knobs (must match every point)
  bool quiet = false;          // no closing summary line on stderr (warnings and errors stay)
};

// One collector: opens the capture at construction, streams until stopped.
class Collector {
 public:
  // Opens the capture (throws Error(kCapture)), resolves the filter (Error(kCapture) if a
  // pcap-filter expression does not compile), connects to the correlator (Error(kRemote)
  // "correlator 127.0.0.1:7000 unreachable: Connection refused").
  explicit Collector(CollectOptions opt);
  ~Collector();

  // Streams until stopped (request_stop, SIGINT/SIGTERM if run_collect installed handlers,
  // stdin EOF, STOP, count/duration) and returns the exit code: 0 after a clean BYE,
  // kRemote when the correlator rejected the session or went away (message on stderr).
  int run();
  // Thread- and signal-safe: makes run() flush, send BYE (with `reason`) and return.
  // `reason` must be a string literal (or outlive run()).
  void request_stop(const char* reason = "stop requested") noexcept;
  // Counters so far (updated by run()'s thread; read after run() returns, or racy-approximate).
  const wire::Stats& stats() const noexcept { return stats_; }
  // The HELLO this collector sends.
  const wire::Hello& hello() const noexcept { return hello_; }

 private:
  struct Impl;
  // One captured frame: counted, parsed, filtered, streamed.
  void on_frame(int64_t ts, std::span<const uint8_t> frame, uint32_t wire_len);
  CollectOptions opt_;
  std::unique_ptr<Impl> impl_;
  wire::Stats stats_;
  wire::Hello hello_;
};

// `pathtrace collect`: builds a Collector, stops it on SIGINT/SIGTERM, returns the exit
// code. Start-up errors propagate as pathtrace::Error (main maps them to exit codes).
int run_collect(const CollectOptions& opt);

}  // namespace pathtrace::agent
