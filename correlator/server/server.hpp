#pragma once
// The correlator's transport: many collectors in, one consumer out.
//
//            io thread (one io_context)                          consumer thread
//   ┌──────────────────────────────────────────────┐
//   │ acceptor ──accept──▶ Session<tcp::socket>    │
//   │ add_stream(fd) ────▶ Session<stream_desc.>   │   bounded     ┌──────────────────┐
//   │   each session: read ─▶ Decoder ─▶ checks ───┼──▶ queue ───▶ │ Consumer::on_*() │
//   │     (HELLO first, version, token, seq gaps,  │  (records)    └──────────────────┘
//   │      chain ids) ; read deadline timer ;      │      │ drained below half
//   │     one write in flight (REJECT / STOP)      │◀─────┘ post(resume parked sessions)
//   │ signal_set (optional) ─▶ on_signal           │
//   └──────────────────────────────────────────────┘
//
// Backpressure: a session only starts a read when the queue's records plus every read in
// flight's worst case (kReadReserve) fit under the cap; otherwise it parks and the socket's
// kernel buffer fills, which slows the collector (its own ring then drops, counted there).
// So the queue never holds more than `queue_records` record-equivalents.
//
// Who times out: each session's read deadline (no bytes for read_timeout → ended uncleanly).
// Who closes: the session itself (errors, BYE, REJECT written), or Server::stop().

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

// Server settings.
struct ServerOptions {
  // "ADDR:PORT" to listen on ("" = do not listen, streams only). Port 0 picks one.
  std::string listen = "127.0.0.1:0";
  // Shared secret collectors must present in HELLO. Required when `listen` is not loopback.
  std::string token;
  // A session that sends nothing for this long ends uncleanly.
  std::chrono::milliseconds read_timeout{30000};
  // Cap of the queue towards the consumer, in records (each other event counts as 1).
  std::size_t queue_records = 1 << 20;
  // Extra admission check on the io thread: "" admits, anything else is the REJECT reason.
  std::function<std::string(const wire::Hello&)> admit;
  // Where log lines go (default: stderr, prefixed "pathtrace correlator: "): problems —
  // records lost, protocol errors, rejections, sessions that end without BYE.
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
  uint64_t protocol_errors = 0;   // sessions ended by a decoding/protocol error
  uint64_t records = 0;           // records queued to the consumer
  uint64_t queue_high_water = 0;  // most record-equivalents ever queued
  uint64_t parked = 0;            // times a session waited for queue room
};

// Worst case of record-equivalents one read can produce (reserved before reading): the
// records of the frames it completes, or a KEPT frame (a record each + a record per 64 bytes).
constexpr std::size_t kReadBuffer = 256 << 10;
constexpr std::size_t kReadReserve =
    kReadBuffer / 11 + wire::kMaxRecordsPerFrame + wire::kMaxFrame / 64 + 64;

class Server {
 public:
  // Binds the listening socket. Throws Error(kUsage): bad address, address in use, or a
  // non-loopback address without a token ("listening on 0.0.0.0:7000 requires --token-file").
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
  // Waits until every connection and stream is closed (collectors that have not connected
  // yet do not count) and the consumer has seen everything queued. False on timeout.
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
