#pragma once
// The correlator's transport: many collectors in, one consumer out.
//
//            io thread (one io_context)                          consumer thread
//   ┌──────────────────────────────────────────────┐
//   │ acceptor ──accept──▶ Session<tcp::socket>    │
//   │   (connection caps; EMFILE: retry on a timer)│
//   │ add_stream(fd) ────▶ Session<stream_desc.>   │   bounded     ┌──────────────────┐
//   │   each session: read ─▶ Decoder ─▶ checks ───┼──▶ queue ───▶ │ Consumer::on_*() │
//   │     (HELLO first, version, token, limits,    │  (records)    └──────────────────┘
//   │      seq, chain ids) ; deadline timer ;      │      │ drained below half
//   │     one write in flight (REJECT / STOP)      │◀─────┘ post(resume parked sessions)
//   │ signal_set (optional) ─▶ on_signal           │
//   │ log: escaped text, repeats held and counted  │
//   └──────────────────────────────────────────────┘
//
// Backpressure: a session decodes the frames it has read one by one; a frame goes into the
// queue only when its records fit under the cap (an empty queue takes any frame). When one
// does not fit, the session parks with that frame and stops reading: the socket's kernel
// buffer fills, which slows the collector (its own ring then drops, counted there). Nothing
// is reserved for a read that has not produced a frame, so any number of idle connections
// or pipes cost the queue nothing, and a session that has not said HELLO queues nothing at all.
// So the queue never holds more than `queue_records` record-equivalents (plus one HELLO per
// session admitted meanwhile).
//
// Before HELLO a TCP connection is a stranger's: it gets a 4 KiB buffer, a HELLO of at most
// 64 KiB, hello_timeout in all to be admitted, and a place among at most
// `max_unauthenticated` such connections (the oldest goes first). Admitted sessions get the
// 256 KiB buffer, the 1 MiB frame limit and SessionLimits. Accepting stops for 100 ms at a
// time while the process is out of descriptors (logged once, counted when it works again).
//
// Who times out: a TCP connection's HELLO deadline (hello_timeout from the accept, however
// much it sends), then each admitted session's read deadline (no bytes for read_timeout →
// ended uncleanly; stopped while the session waits for queue room). Who closes: the session itself (errors, BYE, REJECT written, a limit), or
// Server::stop().

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "collector/wire/wire.hpp"

namespace pathtrace::server {

// How a session ended.
struct SessionEnd {
  bool clean = false;          // a BYE arrived
  std::string reason;          // BYE's reason, or why it ended without one
  bool has_stats = false;      // final_stats valid (from BYE, or the last STATS)
  wire::Stats final_stats;
  uint64_t records_received = 0;
  uint64_t records_lost = 0;   // sequence gaps + records the last statistics said were sent but never came
};

// Receives everything the sessions decode, in order per session, on the consumer thread
// (one call at a time). Must not throw.
class Consumer {
 public:
  virtual ~Consumer() = default;
  // A session was admitted. `peer` is "127.0.0.1:45678" or the stream's name.
  virtual void on_hello(uint32_t session, const wire::Hello& hello, const std::string& peer) = 0;
  // A flow dictionary entry (always before records that use its id).
  virtual void on_chain(uint32_t session, const wire::ChainEntry& chain) = 0;
  // A batch of records numbered from `seq`.
  virtual void on_records(uint32_t session, uint64_t seq, std::span<const wire::Record> records) = 0;
  // The first bytes of the packets of the records just delivered by on_records (same seq,
  // one length per record; --keep-bytes). Ignored unless overridden.
  virtual void on_kept(uint32_t /*session*/, const wire::Kept& /*kept*/) {}
  // Records [expected, got) never arrived.
  virtual void on_gap(uint32_t session, uint64_t expected, uint64_t got) = 0;
  // Periodic capture statistics.
  virtual void on_stats(uint32_t session, const wire::Stats& stats) = 0;
  // The session is over (clean BYE, or not); no further calls for it.
  virtual void on_end(uint32_t session, const SessionEnd& end) = 0;
};

// What one admitted session may send before it is ended ("point C: more than 33554432
// records (--max-records)"). The defaults are far above a real run's (a 60 s capture at
// 450 000 packets/s is 27 M records) and keep one collector from taking the correlator's
// memory: each record held costs ~32 bytes until the run is judged.
struct SessionLimits {
  uint64_t records = uint64_t(1) << 25;  // records, counted by sequence number (sent or lost): 32 Mi ≈ 1 GiB held
  uint64_t bytes = uint64_t(8) << 30;    // bytes of frames, all types: 8 GiB
  uint64_t chains = uint64_t(1) << 18;   // CHAIN frames (flows): 256 Ki
  uint64_t gaps = 1000;                  // RECORDS frames that skip sequence numbers (a real collector sends none)
};

// Server settings.
struct ServerOptions {
  // "ADDR:PORT" to listen on ("" = do not listen, streams only). Port 0 picks one.
  std::string listen = "127.0.0.1:0";
  // Shared secret collectors must present in HELLO. Required when `listen` is not loopback.
  std::string token;
  // Require the token on loopback too (a non-loopback address always does): the Server
  // refuses to start without one.
  bool require_token = false;
  // An admitted session that sends nothing for this long ends uncleanly.
  std::chrono::milliseconds read_timeout{30000};
  // A TCP connection must be admitted (HELLO, right token) within this long of its accept,
  // whatever it sends meanwhile. (A pipe is ours: it gets read_timeout without bytes.)
  std::chrono::milliseconds hello_timeout{5000};
  // TCP connections not admitted yet: one more closes the oldest of them.
  std::size_t max_unauthenticated = 64;
  // TCP connections open, admitted or not: one more is closed as soon as it is accepted.
  std::size_t max_connections = 256;
  // What each admitted session may send.
  SessionLimits limits;
  // Cap of the queue towards the consumer, in records (each other event counts as 1).
  std::size_t queue_records = 1 << 20;
  // Extra admission check on the io thread: "" admits, anything else is the REJECT reason.
  std::function<std::string(const wire::Hello&)> admit;
  // Called on the io thread when a session that `admit` let in ends (BYE, error, drop), so
  // that its point may be claimed again by a reconnecting collector.
  std::function<void(const wire::Hello&)> release;
  // Where log lines go (default: stderr, prefixed "pathtrace correlator: "): problems —
  // records lost, protocol errors, rejections, sessions that end without BYE. Text from the
  // network in them is escaped (escape_text); lines about strangers' connections and gaps
  // are limited to a few per 10 s and a count (RepeatLimiter).
  std::function<void(const std::string&)> log;
  // Where the routine lines go (a collector connected, said BYE with nothing lost); default: log.
  std::function<void(const std::string&)> info;
  // When set, SIGINT/SIGTERM are caught by the io thread and reported here.
  std::function<void(int)> on_signal;
};

// Transport counters (any thread).
struct ServerCounters {
  uint64_t sessions = 0;          // admitted
  uint64_t active = 0;            // admitted and not ended
  uint64_t rejected = 0;          // refused (token, version, bad first frame, admit)
  uint64_t dropped = 0;           // TCP connections closed unadmitted: no HELLO in time, over a cap
  uint64_t accept_errors = 0;     // accepts that failed (out of descriptors, ...)
  uint64_t protocol_errors = 0;   // sessions ended by a decoding/protocol error
  uint64_t records = 0;           // records queued to the consumer
  uint64_t queue_high_water = 0;  // most record-equivalents ever queued
  uint64_t parked = 0;            // times a session waited for queue room
};

// Read buffer of an admitted session, and of a connection that has not said HELLO.
constexpr std::size_t kReadBuffer = 256 << 10;
constexpr std::size_t kHelloBuffer = 4 << 10;
// Largest frame before admission: a HELLO is a few hundred bytes of JSON.
constexpr uint32_t kMaxHelloFrame = 64 << 10;

class Server {
 public:
  // Binds the listening socket. Throws Error(kUsage): bad address, address in use, a
  // non-loopback address without a token ("listening on 0.0.0.0:7000 requires --token-file"),
  // or require_token without a token.
  Server(ServerOptions opt, Consumer& consumer);
  // Stops (as stop()) if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts the io thread and the consumer thread.
  void start();
  // Bound address, e.g. "127.0.0.1:40123" ("" when not listening).
  std::string address() const;
  uint16_t port() const noexcept { return port_; }
  // Reads one collector stream from `fd` (a pipe: the stdout of `ssh host pathtrace
  // collect --stdout`). Takes ownership of fd. `name` is used in logs ("ssh hv2").
  void add_stream(int fd, std::string name);
  // Sends STOP to every TCP session (collectors flush and answer with BYE).
  void stop_collectors(const std::string& reason);
  // Waits until every admitted connection and every stream is closed (collectors that have
  // not connected yet, and connections that have not been admitted, do not count) and the
  // consumer has seen everything queued. False on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Closes the acceptor, ends every remaining session (uncleanly: "correlator stopping"),
  // delivers what is queued to the consumer, joins both threads. Idempotent.
  void stop();
  // Counters so far.
  ServerCounters counters() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace pathtrace::server
