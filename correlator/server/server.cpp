#include "correlator/server/server.hpp"

#include <utility>  // before Boost 1.74 Asio: its awaitable.hpp uses std::exchange

#include <fcntl.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <future>
#include <optional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "collector/common/error.hpp"
#include "collector/common/log_text.hpp"

namespace pathtrace::server {
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

struct HelloEvent {
  wire::Hello hello;
  std::string peer;
};
struct GapEvent {
  uint64_t expected, got;
};
using Payload = std::variant<HelloEvent, wire::ChainEntry, wire::Records, wire::Kept, wire::Stats, GapEvent, SessionEnd>;
struct Event {
  uint32_t session;
  std::size_t cost;  // record-equivalents
  Payload payload;
};

bool equal_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

}  // namespace

// Shared state of the io thread, the consumer thread and the caller.
struct Server::Impl {
  ServerOptions opt;
  Consumer& consumer;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::optional<asio::signal_set> signals;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread, consumer_thread;
  bool started = false, stopped = false;

  // Queue towards the consumer.
  std::mutex qm;
  std::condition_variable qcv;       // consumer waits for events
  std::condition_variable idle_cv;   // wait_idle waits for active==0 && queue drained
  std::deque<Event> queue;
  std::size_t queued = 0;            // record-equivalents in queue (guarded by qm)
  std::size_t in_consumer = 0;       // events being consumed right now
  bool closing = false;

  // io-thread-only state.
  std::vector<std::function<void()>> parked;
  bool resume_posted = false;
  uint32_t next_session = 1;
  std::unordered_map<uint32_t, std::function<void(const std::string&)>> sessions;  // id → close(reason)
  std::unordered_map<uint32_t, std::function<void(const std::string&)>> stoppers;  // id → send STOP
  std::deque<uint32_t> unadmitted;   // TCP sessions without HELLO yet, oldest first
  std::size_t tcp_open = 0;          // TCP sessions not closed
  asio::steady_timer accept_timer{io};
  uint64_t accept_failures = 0;      // in a row, since the last accept that worked
  std::chrono::steady_clock::time_point accept_failing_since;
  std::string accept_error;          // the last failure's message
  RepeatLimiter repeats;             // lines about strangers and gaps
  asio::steady_timer repeats_timer{io};
  bool repeats_armed = false;

  std::atomic<uint64_t> c_sessions{0}, c_active{0}, c_rejected{0}, c_proto{0}, c_records{0},
      c_high{0}, c_parked{0}, c_dropped{0}, c_accept_errors{0};
  std::atomic<int64_t> c_open{0};     // streams (incl. not yet started) and admitted connections not yet closed

  Impl(ServerOptions o, Consumer& c) : opt(std::move(o)), consumer(c) {
    if (!opt.log)
      opt.log = [](const std::string& s) { std::fprintf(stderr, "pathtrace correlator: %s\n", s.c_str()); };
    if (!opt.info) opt.info = opt.log;
  }

  // -- log (io thread) --
  // A line of `kind` that may come in floods (strangers' connections, gaps): a few per 10 s
  // pass, the rest are counted and the count is logged when the period is over.
  void log_repeated(const std::string& kind, std::string line) {
    for (auto& l : repeats.pass(kind, std::move(line))) opt.log(l);
    if (repeats.holding() && !repeats_armed) {
      repeats_armed = true;
      repeats_timer.expires_after(std::chrono::seconds(10));
      repeats_timer.async_wait([this](error_code ec) {
        repeats_armed = false;
        if (!ec) flush_repeats();
      });
    }
  }
  void flush_repeats() {
    for (auto& l : repeats.flush()) opt.log(l);
  }

  // -- queue (io thread pushes, consumer thread pops) --
  void push(uint32_t session, std::size_t cost, Payload p) {
    std::lock_guard lk(qm);
    queue.push_back(Event{session, cost, std::move(p)});
    queued += cost;
    if (queued > c_high.load()) c_high.store(queued);
    qcv.notify_one();
  }
  // True when a frame of `cost` record-equivalents fits under the cap now (io thread). An
  // empty queue takes any frame, so a cap below one frame's records still moves.
  bool room_for(std::size_t cost) {
    std::lock_guard lk(qm);
    return queued == 0 || queued + cost <= opt.queue_records;
  }
  void park(std::function<void()> resume) {
    ++c_parked;
    parked.push_back(std::move(resume));
  }
  void resume_parked() {
    resume_posted = false;
    auto list = std::move(parked);
    parked.clear();
    for (auto& f : list) f();  // each re-checks the room and may park again
  }

  void consume_loop() {
    for (;;) {
      Event ev;
      {
        std::unique_lock lk(qm);
        qcv.wait(lk, [&] { return !queue.empty() || closing; });
        if (queue.empty()) return;
        ev = std::move(queue.front());
        queue.pop_front();
        ++in_consumer;
      }
      deliver(ev);
      bool wake_io = false;
      {
        std::lock_guard lk(qm);
        --in_consumer;
        queued -= ev.cost;
        wake_io = queued <= opt.queue_records / 2;
        idle_cv.notify_all();
      }
      if (wake_io) {
        Impl* self = this;
        asio::post(io, [self] {
          if (!self->parked.empty() && !self->resume_posted) {
            self->resume_posted = true;
            self->resume_parked();
          }
        });
      }
    }
  }

  void deliver(Event& ev) {
    std::visit(
        [&](auto& p) {
          using T = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<T, HelloEvent>) consumer.on_hello(ev.session, p.hello, p.peer);
          else if constexpr (std::is_same_v<T, wire::ChainEntry>) consumer.on_chain(ev.session, p);
          else if constexpr (std::is_same_v<T, wire::Records>) consumer.on_records(ev.session, p.seq, p.records);
          else if constexpr (std::is_same_v<T, wire::Kept>) consumer.on_kept(ev.session, p);
          else if constexpr (std::is_same_v<T, wire::Stats>) consumer.on_stats(ev.session, p);
          else if constexpr (std::is_same_v<T, GapEvent>) consumer.on_gap(ev.session, p.expected, p.got);
          else consumer.on_end(ev.session, p);
        },
        ev.payload);
  }

  void session_ended() {
    --c_active;
    std::lock_guard lk(qm);
    idle_cv.notify_all();
  }
  void connection_closed() {
    --c_open;
    std::lock_guard lk(qm);
    idle_cv.notify_all();
  }

  void do_accept();
  void accept_failed(const error_code& ec);
  void wait_signal();
  template <typename Stream>
  void start_session(Stream stream, std::string peer, bool tcp);
};

namespace {

// One collector connection (TCP socket or pipe). Owns itself through shared_from_this:
// alive while a read, write or timer handler holds it.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Server::Impl* srv, Stream stream, uint32_t id, std::string peer, bool tcp)
      : srv_(srv), stream_(std::move(stream)), timer_(srv_->io), id_(id), peer_(escape_text(peer)),
        tcp_(tcp), buf_(kHelloBuffer), decoder_(kMaxHelloFrame) {}

  void start() {
    if (!tcp_) ++srv_->c_open;  // a TCP connection counts once admitted: strangers keep nobody waiting
    auto self = this->shared_from_this();
    srv_->sessions[id_] = [self](const std::string& why) { self->end_unclean(why); };
    if (tcp_) {
      ++srv_->tcp_open;
      srv_->stoppers[id_] = [self](const std::string& why) {
        if (self->admitted_ && !self->closed_) self->send(wire::encode(wire::Stop{why}), false);
      };
      srv_->unadmitted.push_back(id_);
      arm_deadline(srv_->opt.hello_timeout, "no HELLO");
    } else {
      arm_deadline(srv_->opt.read_timeout, "no data");
    }
    read();
  }

 private:
  std::string who() const {
    return "session " + std::to_string(id_) + " (" + peer_ + (label_.empty() ? std::string() : ", point " + label_) + ")";
  }
  std::string point() const { return label_.empty() ? who() : "point " + label_; }

  // The deadline: `what` within `after` ("no HELLO within 5000 ms") ends the session.
  void arm_deadline(std::chrono::milliseconds after, const char* what) {
    timer_.expires_after(after);
    auto self = this->shared_from_this();
    timer_.async_wait([self, after, what](error_code ec) {
      if (ec || self->closed_) return;
      self->end_unclean(std::string(what) + " within " + std::to_string(after.count()) +
                        (self->admitted_ ? " ms (read deadline)" : " ms of connecting"));
    });
  }

  void read() {
    if (closed_ || reading_ || held_) return;
    reading_ = true;
    auto self = this->shared_from_this();
    stream_.async_read_some(asio::buffer(buf_), [self](error_code ec, std::size_t n) {
      self->reading_ = false;
      self->on_read(ec, n);
    });
  }

  void on_read(error_code ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
      if (ec == asio::error::eof)
        end_unclean(admitted_ ? "connection closed without BYE" : "connection closed before HELLO");
      else if (ec != asio::error::operation_aborted)
        end_unclean("read error: " + ec.message());
      return;
    }
    // A stranger's HELLO deadline counts from the accept, whatever arrives meanwhile.
    if (admitted_ || !tcp_) arm_deadline(srv_->opt.read_timeout, "no data");
    bytes_ += n;
    if (admitted_ && bytes_ > srv_->opt.limits.bytes)
      return over_limit("more than " + std::to_string(srv_->opt.limits.bytes) + " bytes", "--max-bytes");
    decoder_.feed(std::span<const uint8_t>(buf_.data(), n));
    drain();
  }

  // Record-equivalents a frame costs in the queue.
  static std::size_t cost_of(const wire::Frame& f) {
    if (auto* r = std::get_if<wire::Records>(&f)) return r->records.size() + 1;  // + a possible gap
    if (auto* k = std::get_if<wire::Kept>(&f)) return k->lens.size() + k->data.size() / 64;
    return 1;
  }

  // Hands every whole frame on, in order; parks (holding the frame, not reading) when the
  // queue has no room for it, and reads again once everything decoded has gone.
  void drain() {
    if (parked_) {  // room came: the deadline counts again (the wait was ours, not the collector's)
      parked_ = false;
      arm_deadline(srv_->opt.read_timeout, "no data");
    }
    for (;;) {
      if (closed_) return;
      if (!held_) {
        wire::Frame f;
        const auto r = decoder_.next(f);
        if (r == wire::Decoder::Result::kNeedMore) break;
        if (r == wire::Decoder::Result::kError) {
          protocol_error(escape_text(decoder_.error()));
          return;
        }
        held_ = std::move(f);
      }
      if (admitted_ && !srv_->room_for(cost_of(*held_))) {
        parked_ = true;
        timer_.cancel();
        auto self = this->shared_from_this();
        srv_->park([self] { self->drain(); });
        return;
      }
      wire::Frame f = std::move(*held_);
      held_.reset();
      if (!handle(f) || closed_) return;
    }
    read();
  }

  // False when the session is over (closed or closing).
  bool handle(wire::Frame& f) {
    if (!admitted_) return admit(f);
    const SessionLimits& lim = srv_->opt.limits;
    if (auto* c = std::get_if<wire::ChainEntry>(&f)) {
      if (c->id >= (1u << 20)) return protocol_error("chain id " + std::to_string(c->id) + " too large"), false;
      if (++chains_ > lim.chains)
        return over_limit("more than " + std::to_string(lim.chains) + " chains (flows)", "--max-chains"), false;
      if (c->id >= announced_.size()) announced_.resize(c->id + 1, false);
      announced_[c->id] = true;
      srv_->push(id_, 1, std::move(*c));
      return true;
    }
    const bool after_records = last_was_records_;
    last_was_records_ = std::holds_alternative<wire::Records>(f);
    if (auto* k = std::get_if<wire::Kept>(&f)) {
      if (!after_records || k->seq != last_records_seq_ || k->lens.size() != last_records_n_)
        return protocol_error("KEPT frame (seq " + std::to_string(k->seq) + ", " +
                              std::to_string(k->lens.size()) +
                              " records) does not follow its RECORDS frame"),
               false;
      const std::size_t cost = cost_of(f);
      srv_->push(id_, cost, std::move(*k));
      return true;
    }
    if (auto* r = std::get_if<wire::Records>(&f)) {
      const std::size_t n = r->records.size();
      if (r->seq > UINT64_MAX - n)
        return protocol_error("RECORDS seq " + std::to_string(r->seq) + " + " + std::to_string(n) +
                              " records passes 2^64"),
               false;
      if (r->seq < next_seq_)
        return protocol_error("RECORDS seq " + std::to_string(r->seq) + " goes back (expected " +
                              std::to_string(next_seq_) + ")"),
               false;
      if (r->seq + n > lim.records)
        return over_limit("more than " + std::to_string(lim.records) + " records (RECORDS seq " +
                              std::to_string(r->seq) + " + " + std::to_string(n) + ")",
                          "--max-records"),
               false;
      for (const auto& rec : r->records)
        if (rec.chain >= announced_.size() || !announced_[rec.chain])
          return protocol_error("record uses chain " + std::to_string(rec.chain) +
                                " before its CHAIN frame"),
                 false;
      if (r->seq > next_seq_) {
        if (++gaps_ > lim.gaps)
          return over_limit("more than " + std::to_string(lim.gaps) + " sequence gaps", "--max-gaps"), false;
        lost_ += r->seq - next_seq_;
        srv_->log_repeated("gap " + std::to_string(id_),
                           who() + ": " + std::to_string(r->seq - next_seq_) + " records lost (seq " +
                               std::to_string(next_seq_) + " → " + std::to_string(r->seq) + ")");
        srv_->push(id_, 1, GapEvent{next_seq_, r->seq});
      }
      last_records_seq_ = r->seq;
      last_records_n_ = n;
      next_seq_ = r->seq + n;
      received_ += n;
      srv_->c_records += n;
      srv_->push(id_, n, std::move(*r));
      return true;
    }
    if (auto* s = std::get_if<wire::Stats>(&f)) {
      if (!stats_fit(*s)) return false;
      last_stats_ = *s;
      has_stats_ = true;
      srv_->push(id_, 1, *s);
      return true;
    }
    if (auto* b = std::get_if<wire::Bye>(&f)) {
      if (!stats_fit(b->stats)) return false;
      last_stats_ = b->stats;
      has_stats_ = true;
      finish(true, escape_text(b->reason));
      return false;
    }
    return protocol_error(frame_name(f) + " frame from a collector"), false;
  }

  // The first frame: HELLO, version, token, the admit hook. False when refused.
  bool admit(wire::Frame& f) {
    if (!std::holds_alternative<wire::Hello>(f)) {
      reject("HELLO expected first, got " + frame_name(f));
      return false;
    }
    hello_ = std::move(std::get<wire::Hello>(f));
    label_ = escape_text(hello_.point, 64);
    if (hello_.wire_version != wire::kWireVersion) {
      reject("wire version " + std::to_string(hello_.wire_version) + " not supported (this correlator speaks " +
             std::to_string(wire::kWireVersion) + ")");
      return false;
    }
    if (!srv_->opt.token.empty() && !equal_secret(hello_.token, srv_->opt.token)) {
      reject(hello_.token.empty() ? "token required" : "wrong token");
      return false;
    }
    hello_.token.clear();  // do not keep the secret around
    if (srv_->opt.admit) {
      if (std::string why = srv_->opt.admit(hello_); !why.empty()) {
        reject(escape_text(why));
        return false;
      }
      claimed_ = true;
    }
    admitted_ = true;
    std::erase(srv_->unadmitted, id_);
    if (tcp_) ++srv_->c_open;
    ++srv_->c_sessions;
    ++srv_->c_active;
    decoder_.set_max_frame(wire::kMaxFrame);
    buf_.resize(kReadBuffer);
    arm_deadline(srv_->opt.read_timeout, "no data");
    srv_->opt.info(who() + ": collector " + escape_text(hello_.host) + " iface " + escape_text(hello_.iface) +
                   (hello_.netns.empty() ? "" : " netns " + escape_text(hello_.netns)) + " connected");
    srv_->push(id_, 1, HelloEvent{hello_, peer_});
    return true;
  }

  // A STATS or BYE must not promise more records than the limit allows.
  bool stats_fit(const wire::Stats& s) {
    if (s.records_sent <= srv_->opt.limits.records) return true;
    over_limit("more than " + std::to_string(srv_->opt.limits.records) + " records (its statistics say " +
                   std::to_string(s.records_sent) + " sent)",
               "--max-records");
    return false;
  }

  static std::string frame_name(const wire::Frame& f) {
    static const char* names[] = {"HELLO", "CHAIN", "RECORDS", "STATS", "BYE", "STOP", "REJECT", "KEPT"};
    return names[f.index()];
  }

  bool protocol_error(const std::string& why) {
    ++srv_->c_proto;
    if (admitted_) {
      srv_->opt.log(who() + ": " + why + "; closing");
      finish(false, "protocol error: " + why);
    } else {
      srv_->log_repeated("unadmitted", who() + ": " + why + "; closing");
    }
    close();
    return false;
  }

  // An admitted session sent more than SessionLimits allow: it ends, naming the point and the
  // option that raises the limit; a TCP collector is told why (REJECT) and exits.
  void over_limit(const std::string& what, const char* option) {
    const std::string why = point() + ": " + what + ", the limit per session (raise it with " + option + ")";
    srv_->opt.log(who() + ": " + why + "; closing");
    finish(false, why);
    if (tcp_) send(wire::encode(wire::Reject{why}), true);
    else close();
  }

  void reject(const std::string& why) {
    ++srv_->c_rejected;
    srv_->log_repeated("rejected", who() + ": rejected: " + why);
    if (tcp_) send(wire::encode(wire::Reject{why}), true);
    else close();
  }

  void end_unclean(const std::string& why) {
    if (closed_) return;
    if (admitted_ && !ended_) srv_->opt.log(who() + ": ended without BYE: " + why);
    else if (!admitted_) {
      if (tcp_) ++srv_->c_dropped;
      srv_->log_repeated("unadmitted", who() + ": " + why);
    }
    if (admitted_) finish(false, why);
    close();
  }

  // Reports the end once.
  void finish(bool clean, const std::string& why) {
    if (ended_) return;
    ended_ = true;
    SessionEnd e;
    e.clean = clean;
    e.reason = why;
    e.has_stats = has_stats_;
    e.final_stats = last_stats_;
    e.records_received = received_;
    uint64_t tail = 0;
    if (has_stats_ && last_stats_.records_sent > next_seq_) tail = last_stats_.records_sent - next_seq_;
    e.records_lost = lost_ + tail;
    if (clean && !e.records_lost)
      srv_->opt.info(who() + ": BYE (" + why + "), " + std::to_string(received_) + " records");
    else if (clean)
      srv_->opt.log(who() + ": BYE (" + why + "), " + std::to_string(received_) + " records" +
                    (e.records_lost ? ", " + std::to_string(e.records_lost) + " lost" : ""));
    if (claimed_ && srv_->opt.release) srv_->opt.release(hello_);  // its point may reconnect
    srv_->push(id_, 1, std::move(e));
    srv_->session_ended();
    if (clean) close();  // nothing may follow BYE; the collector waits for this close
  }

  // One write in flight; a capped queue (only REJECT/STOP travel this way).
  void send(std::vector<uint8_t> bytes, bool close_after) {
    if (closed_ || !tcp_) return;
    if (out_.size() >= 4) return;  // cap: a collector that does not read gets no more
    out_.push_back({std::move(bytes), close_after});
    if (out_.size() == 1) write_next();
  }
  void write_next() {
    auto self = this->shared_from_this();
    asio::async_write(stream_, asio::buffer(out_.front().bytes), [self](error_code ec, std::size_t) {
      const bool close_after = self->out_.front().close_after;
      self->out_.pop_front();
      if (ec || close_after) return self->close();
      if (!self->out_.empty()) self->write_next();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    timer_.cancel();
    stream_.close(ec);
    held_.reset();
    srv_->sessions.erase(id_);
    srv_->stoppers.erase(id_);
    if (tcp_) {
      --srv_->tcp_open;
      if (!admitted_) std::erase(srv_->unadmitted, id_);
    }
    if (!tcp_ || admitted_) srv_->connection_closed();
  }

  struct Out {
    std::vector<uint8_t> bytes;
    bool close_after;
  };
  Server::Impl* srv_;  // outlives every session (sessions die with its io_context at the latest)
  Stream stream_;
  asio::steady_timer timer_;
  uint32_t id_;
  std::string peer_;
  std::string label_;  // the HELLO's point label, escaped for logs
  bool tcp_;           // a network connection (a stranger until admitted; can be written to)
  std::vector<uint8_t> buf_;  // kHelloBuffer until admitted, then kReadBuffer
  wire::Decoder decoder_;
  std::optional<wire::Frame> held_;  // decoded, waiting for room in the queue
  std::deque<Out> out_;
  wire::Hello hello_;
  std::vector<bool> announced_;
  uint64_t next_seq_ = 0, received_ = 0, lost_ = 0;
  uint64_t bytes_ = 0, chains_ = 0, gaps_ = 0;  // against SessionLimits
  // The RECORDS frame a KEPT frame must directly follow.
  bool last_was_records_ = false;
  uint64_t last_records_seq_ = 0;
  std::size_t last_records_n_ = 0;
  wire::Stats last_stats_;
  bool has_stats_ = false;
  bool admitted_ = false, claimed_ = false, ended_ = false, closed_ = false, reading_ = false;
  bool parked_ = false;  // waiting for queue room, its deadline stopped
};

}  // namespace

template <typename Stream>
void Server::Impl::start_session(Stream stream, std::string peer, bool tcp) {
  const uint32_t id = next_session++;
  std::make_shared<Session<Stream>>(this, std::move(stream), id, std::move(peer), tcp)->start();
  // One stranger too many: the one that has waited longest goes (a real collector says HELLO
  // at once, so it is never the oldest for long).
  if (tcp && unadmitted.size() > opt.max_unauthenticated) {
    const uint32_t oldest = unadmitted.front();
    if (auto it = sessions.find(oldest); it != sessions.end()) {
      const auto close = it->second;  // a copy: closing erases the map's entry
      close("closed: more than " + std::to_string(opt.max_unauthenticated) +
            " connections without HELLO (the oldest goes)");
    }
  }
}

void Server::Impl::wait_signal() {
  signals->async_wait([this](error_code ec, int sig) {
    if (ec) return;
    opt.on_signal(sig);
    wait_signal();
  });
}

void Server::Impl::do_accept() {
  Impl* self = this;
  acceptor.async_accept([self](error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (ec) return self->accept_failed(ec);
    if (self->accept_failures) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - self->accept_failing_since).count();
      self->opt.log("accept: working again after " + std::to_string(self->accept_failures) + " failures in " +
                    std::to_string(secs).substr(0, std::to_string(secs).find('.') + 2) + " s (" +
                    self->accept_error + ")");
      self->accept_failures = 0;
    }
    error_code e2;
    const auto ep = sock.remote_endpoint(e2);
    std::string peer = e2 ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
    if (self->tcp_open >= self->opt.max_connections) {
      ++self->c_dropped;
      self->log_repeated("unadmitted", "connection from " + peer + " closed: " +
                                           std::to_string(self->opt.max_connections) + " connections open already");
      sock.close(e2);
    } else {
      sock.set_option(tcp::no_delay(true), e2);
      self->start_session(std::move(sock), std::move(peer), true);
    }
    self->do_accept();
  });
}

// Out of descriptors (EMFILE, ENFILE) or memory: accepting again at once would fail again at
// once, forever, at full speed. Connections wait in the listen backlog while descriptors are
// freed (strangers' HELLO deadlines, sessions that end); the accept is retried every 100 ms,
// and the failure is logged once, with its count when accepting works again.
void Server::Impl::accept_failed(const error_code& ec) {
  ++c_accept_errors;
  accept_error = ec.message();
  if (accept_failures++ == 0) {
    accept_failing_since = std::chrono::steady_clock::now();
    opt.log("accept: " + accept_error + ": retrying every 100 ms (connections wait in the backlog)");
  }
  accept_timer.expires_after(std::chrono::milliseconds(100));
  accept_timer.async_wait([this](error_code e) {
    if (!e && acceptor.is_open()) do_accept();
  });
}

Server::Server(ServerOptions opt, Consumer& consumer)
    : impl_(std::make_shared<Impl>(std::move(opt), consumer)) {
  Impl& m = *impl_;
  if (m.opt.listen.empty()) return;
  const std::string& l = m.opt.listen;
  std::string host, port;
  if (!l.empty() && l[0] == '[') {
    const auto c = l.find("]:");
    if (c != std::string::npos) host = l.substr(1, c - 1), port = l.substr(c + 2);
  } else if (const auto c = l.rfind(':'); c != std::string::npos) {
    host = l.substr(0, c), port = l.substr(c + 1);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoul(port) > 65535)
    throw Error(ExitCode::kUsage, "--listen '" + l + "': expected ADDR:PORT");
  error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw Error(ExitCode::kUsage, "--listen '" + l + "': not an IP address");
  if (!addr.is_loopback() && m.opt.token.empty())
    throw Error(ExitCode::kUsage, "listening on " + l +
                                      " (not loopback) requires a shared secret (--token-file)");
  if (m.opt.require_token && m.opt.token.empty())
    throw Error(ExitCode::kUsage, "--require-token: no shared secret given (--token-file)");
  const tcp::endpoint ep(addr, static_cast<uint16_t>(std::stoul(port)));
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw Error(ExitCode::kUsage, "cannot listen on " + l + ": " + ec.message());
  port_ = m.acceptor.local_endpoint().port();
}

Server::~Server() { stop(); }

std::string Server::address() const {
  if (!impl_->acceptor.is_open()) return {};
  error_code ec;
  const auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {};
  return (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) +
         ":" + std::to_string(ep.port());
}

void Server::start() {
  Impl& m = *impl_;
  if (m.started) return;
  m.started = true;
  if (m.acceptor.is_open()) m.do_accept();
  if (m.opt.on_signal) {
    m.signals.emplace(m.io, SIGINT, SIGTERM);
    m.wait_signal();
  }
  m.work.emplace(m.io.get_executor());
  Impl* self = impl_.get();
  m.consumer_thread = std::thread([self] { self->consume_loop(); });
  m.io_thread = std::thread([self] { self->io.run(); });
}

void Server::add_stream(int fd, std::string name) {
  Impl* self = impl_.get();
  // A pipe holds 64 KiB by default: a collector writing 64 KiB pieces would wait for every
  // read. 1 MiB (the unprivileged maximum) lets it write ahead; failure is harmless.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) ::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
  ++self->c_open;  // counted from now: wait_idle() must not see a stream that has not started
  asio::post(self->io, [self, fd, name = std::move(name)]() mutable {
    // The session counts itself open first: decrementing before would let wait_idle() see a
    // moment with nothing open and return before a byte of the stream was read.
    self->start_session(asio::posix::stream_descriptor(self->io, fd), std::move(name), false);
    self->connection_closed();
  });
}

void Server::stop_collectors(const std::string& reason) {
  Impl* self = impl_.get();
  asio::post(self->io, [self, reason] {
    auto list = self->stoppers;  // copy: handlers may erase
    for (auto& [id, f] : list) f(reason);
  });
}

bool Server::wait_idle(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::unique_lock lk(m.qm);
  return m.idle_cv.wait_for(lk, timeout, [&] {
    return m.c_active.load() == 0 && m.c_open.load() == 0 && m.queue.empty() && m.in_consumer == 0;
  });
}

void Server::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (m.started) {
    std::promise<void> done;
    auto fut = done.get_future();
    Impl* self = impl_.get();
    asio::post(m.io, [self, &done] {
      error_code ec;
      self->acceptor.close(ec);
      if (self->signals) self->signals->cancel(ec);
      self->accept_timer.cancel();
      auto list = self->sessions;  // copy: close() erases
      for (auto& [id, f] : list) f("correlator stopping");
      self->parked.clear();
      if (self->accept_failures)
        self->opt.log("accept: " + std::to_string(self->accept_failures) + " failures (" + self->accept_error +
                      ") until the correlator stopped");
      self->repeats_timer.cancel();
      self->flush_repeats();
      self->work.reset();  // run() returns once the aborted handlers have run
      done.set_value();
    });
    fut.wait();
    m.io_thread.join();
    {
      std::lock_guard lk(m.qm);
      m.closing = true;
      m.qcv.notify_all();
    }
    m.consumer_thread.join();  // delivers everything queued first
  }
  // Break the cycles sessions' closures hold on the Impl.
  m.sessions.clear();
  m.stoppers.clear();
  m.parked.clear();
}

ServerCounters Server::counters() const {
  const Impl& m = *impl_;
  ServerCounters c;
  c.sessions = m.c_sessions.load();
  c.active = m.c_active.load();
  c.rejected = m.c_rejected.load();
  c.dropped = m.c_dropped.load();
  c.accept_errors = m.c_accept_errors.load();
  c.protocol_errors = m.c_proto.load();
  c.records = m.c_records.load();
  c.queue_high_water = m.c_high.load();
  c.parked = m.c_parked.load();
  return c;
}

}  // namespace pathtrace::server
