#pragma once
// Live runs: `pathtrace run` (a correlator in this process and one collector per point, the
// whole investigation in one command) and `pathtrace correlate` (a correlator that collectors
// on other hosts stream to).
//
//   run:  points ─▶ pre-flight (remote hosts, in parallel; remote/)
//                   ─▶ Server (Asio, pipes only) ◀─pipe── pathtrace collect --stdout × N
//                      │ Collection (in memory)          (local child processes)
//                      │           ◀─pipe── ssh HOST pathtrace collect --stdout
//                      │           ◀─pipe── agentless pump ◀── ssh HOST tcpdump -w -
//                      │ Stager ──every 250 ms──▶ Store (a killed run keeps what it committed)
//     --traffic CMD ──▶ child                               stdin closed = stop
//     stop: duration │ count │ idle │ traffic done │ signal │ a collector exited │ a write failed
//                      ▼
//     judge() ─▶ [explain] ─▶ store_run() (finish.hpp: the end every run shares)
//     a write failed (staging, the last flush, store_run) ─▶ collectors stopped, run marked
//     failed, StoreFailed thrown (finish.hpp): the CLI prints what was committed
//
// Who times out: start-up (every point must say HELLO within start_timeout_ms), the stop
// (collectors get stdin EOF, then SIGTERM after 5 s, then SIGKILL).

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"
#include "correlator/pipeline/stated.hpp"
#include "correlator/server/server.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::pipeline {

// Why a live run stopped capturing.
enum class StopReason : uint8_t {
  kDuration,         // --duration reached
  kCount,            // a point kept --count packets
  kIdle,             // nothing new for --idle
  kTrafficFinished,  // the --traffic command ended (and the settle time passed)
  kSignal,           // SIGINT/SIGTERM
  kCollectorExited,  // a collector ended before it was asked to
  kAllEnded,         // correlate: every collector said BYE
  kStoreFailed,      // the database could not be written (Stager::failed)
};
struct Stop {
  StopReason reason = StopReason::kDuration;
  int signal = 0;     // kSignal
  std::string point;  // kCollectorExited: its label
  int code = 0;       // kCollectorExited: its exit code
  Stop(StopReason r = StopReason::kDuration, int sig = 0, std::string pt = {}, int c = 0)
      : reason(r), signal(sig), point(std::move(pt)), code(c) {}
};
// "duration reached", "interrupted (signal 2)", "the collector of point C exited (code 1)", ...
std::string describe(const Stop& stop);

// The signal that stops a live run (set by the server's signal handler; 0: none).
std::atomic<int>& stop_signal() noexcept;

struct LiveOptions {
  std::string filter;
  int snaplen = 256;
  uint32_t keep_bytes = 0;     // --keep-bytes: first bytes of each packet, stored for export
  long long duration_ms = 0;   // 0 = not set
  long long idle_ms = 0;
  long long settle_ms = 1000;  // after --traffic ends
  long long start_timeout_ms = 10000;
  uint64_t count = 0;
  std::string traffic;         // shell command started once every point captures
  bool quiet = false;
  std::map<std::string, inventory::Host> hosts;  // [hosts.NAME] of the inventory
  bool keep_going = false;     // run without the points whose host failed pre-flight
  bool explain = false;        // attribute the loss to a filtering rule (Neutron)
  std::string ovs_db;          // for discovery and ovs-ofctl
  std::string run_name;        // sent in every HELLO
  server::SessionLimits limits;  // what each collector may send (--max-records, ...)
  // --memory: the bytes the sightings held may take; past it they go to temporary files in
  // spill_dir (as IngestOptions::memory). 0: no limit.
  std::size_t memory = std::size_t{512} << 20;
  std::string spill_dir = ".";
};

// Captures at every point until a stop condition, judges and stores the run (staged in `store`
// from the moment every point captures). Returns the stored run (report.run_id set).
// Throws Error(kUsage) for a point without an interface or a bad filter, Error(kRemote) when a
// remote host fails pre-flight (unless keep_going), Error(kCapture) when a point does not
// start capturing, Error(kDatabase) when the store fails before capturing, StoreFailed once
// the run has begun (capture stops at the first failed write).
Run run_live(std::vector<Point> points, const LiveOptions& lo, Store& store, const Report& meta);

struct CorrelateOptions {
  std::string listen;        // "ADDR:PORT", "" = streams only
  bool from_stdin = false;   // one collector stream on standard input
  std::string token;         // required of collectors ("" = none; loopback only)
  bool require_token = false;  // refuse to listen without a token, even on loopback
  server::SessionLimits limits;  // what each collector may send (--max-records, ...)
  long long duration_ms = 0; // 0: until every point's collector said BYE (or a signal)
  bool quiet = false;
  Stated stated;             // --window (over the collectors' own windows), --clock
  std::size_t memory = std::size_t{512} << 20;  // as LiveOptions::memory
  std::string spill_dir = ".";
};

// Receives the collectors of `points` (labels in path order; host, interface and namespace
// come from their HELLOs), until each has ended, the duration passes, a signal or a failed
// write, or (standard input alone) the end of standard input; judges and stores the run like
// run_live. Throws Error(kUsage) for a bad address, Error(kDatabase) before the run begins,
// Error(kCapture) when standard input (and nothing else) ended before a collector said HELLO
// (the run begun for it is deleted), StoreFailed after.
Run correlate(std::vector<Point> points, const CorrelateOptions& co, Store& store, const Report& meta);

}  // namespace pathtrace::pipeline
