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
  std::size_t reserved = 0;          // kReadReserve per read in flight
  std::vector<std::function<void()>> parked;
  bool resume_posted = false;
  uint32_t next_session = 1;
  std::unordered_map<uint32_t, std::function<void(const std::string&)>> sessions;  // id → close(reason)
  std::unordered_map<uint32_t, std::function<void(const std::string&)>> stoppers;  // id → send STOP

  std::atomic<uint64_t> c_sessions{0}, c_active{0}, c_rejected{0}, c_proto{0}, c_records{0},
      c_high{0}, c_parked{0};
  std::atomic<int64_t> c_open{0};     // connections and streams not yet closed (incl. not yet started)

  Impl(ServerOptions o, Consumer& c) : opt(std::move(o)), consumer(c) {
    if (!opt.log)
      opt.log = [](const std::string& s) { std::fprintf(stderr, "pathtrace correlator: %s\n", s.c_str()); };
    if (!opt.info) opt.info = opt.log;
  }

  // -- queue (io thread pushes, consumer thread pops) --
  void push(uint32_t session, std::size_t cost, Payload p) {
    std::lock_guard lk(qm);
    queue.push_back(Event{session, cost, std::move(p)});
    queued += cost;
    if (queued > c_high.load()) c_high.store(queued);
    qcv.notify_one();
  }
  // True when one more read's worst case fits under the cap (io thread).
  bool room_for_read() {
    std::lock_guard lk(qm);
    return queued + reserved + kReadReserve <= opt.queue_records;
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
  void wait_signal();
  template <typename Stream>
  void start_session(Stream stream, std::string peer, bool can_write);
};

namespace {

// One collector connection (TCP socket or pipe). Owns itself through shared_from_this:
// alive while a read, write or timer handler holds it.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Server::Impl* srv, Stream stream, uint32_t id, std::string peer,
          bool can_write)
      : srv_(srv), stream_(std::move(stream)), timer_(srv_->io), id_(id),
        peer_(std::move(peer)), can_write_(can_write) {}

  void start() {
    ++srv_->c_open;
    auto self = this->shared_from_this();
    srv_->sessions[id_] = [self](const std::string& why) { self->end_unclean(why); };
    if (can_write_)
      srv_->stoppers[id_] = [self](const std::string& why) {
        if (self->admitted_ && !self->closed_) self->send(wire::encode(wire::Stop{why}), false);
      };
    arm_deadline();
    read();
  }

 private:
  std::string who() const {
    return "session " + std::to_string(id_) + " (" + peer_ +
           (hello_.point.empty() ? std::string() : ", point " + hello_.point) + ")";
  }

  void arm_deadline() {
    timer_.expires_after(srv_->opt.read_timeout);
    auto self = this->shared_from_this();
    timer_.async_wait([self](error_code ec) {
      if (ec || self->closed_) return;
      self->end_unclean("no data for " + std::to_string(self->srv_->opt.read_timeout.count()) +
                        " ms (read deadline)");
    });
  }

  void read() {
    if (closed_ || reading_) return;
    if (!srv_->room_for_read()) {
      auto self = this->shared_from_this();
      srv_->park([self] { self->read(); });
      return;
    }
    reading_ = true;
    srv_->reserved += kReadReserve;
    auto self = this->shared_from_this();
    stream_.async_read_some(asio::buffer(buf_), [self](error_code ec, std::size_t n) {
      self->reading_ = false;
      self->srv_->reserved -= kReadReserve;
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
    arm_deadline();
    decoder_.feed(std::span<const uint8_t>(buf_.data(), n));
    wire::Frame f;
    for (;;) {
      const auto r = decoder_.next(f);
      if (r == wire::Decoder::Result::kNeedMore) break;
      if (r == wire::Decoder::Result::kError) {
        protocol_error(decoder_.error());
        return;
      }
      if (!handle(f) || closed_) return;
    }
    read();
  }

  // False when the session is over (closed or closing).
  bool handle(wire::Frame& f) {
    if (!admitted_) {
      if (!std::holds_alternative<wire::Hello>(f)) {
        reject("HELLO expected first, got " + frame_name(f));
        return false;
      }
      hello_ = std::get<wire::Hello>(f);
      if (hello_.wire_version != wire::kWireVersion) {
        reject("wire version " + std::to_string(hello_.wire_version) +
               " not supported (this correlator speaks " + std::to_string(wire::kWireVersion) + ")");
        return false;
      }
      if (!srv_->opt.token.empty() && !equal_secret(hello_.token, srv_->opt.token)) {
        reject(hello_.token.empty() ? "token required" : "wrong token");
        return false;
      }
      if (srv_->opt.admit) {
        if (std::string why = srv_->opt.admit(hello_); !why.empty()) {
          reject(why);
          return false;
        }
      }
      admitted_ = true;
      ++srv_->c_sessions;
      ++srv_->c_active;
      srv_->opt.info(who() + ": collector " + hello_.host + " iface " + hello_.iface +
                    (hello_.netns.empty() ? "" : " netns " + hello_.netns) + " connected");
      hello_.token.clear();  // do not keep the secret around
      srv_->push(id_, 1, HelloEvent{hello_, peer_});
      return true;
    }
    if (auto* c = std::get_if<wire::ChainEntry>(&f)) {
      if (c->id >= (1u << 20)) return protocol_error("chain id " + std::to_string(c->id) + " too large"), false;
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
      const std::size_t cost = k->lens.size() + k->data.size() / 64;
      srv_->push(id_, cost, std::move(*k));
      return true;
    }
    if (auto* r = std::get_if<wire::Records>(&f)) {
      if (r->seq < next_seq_)
        return protocol_error("RECORDS seq " + std::to_string(r->seq) + " goes back (expected " +
                              std::to_string(next_seq_) + ")"),
               false;
      for (const auto& rec : r->records)
        if (rec.chain >= announced_.size() || !announced_[rec.chain])
          return protocol_error("record uses chain " + std::to_string(rec.chain) +
                                " before its CHAIN frame"),
                 false;
      if (r->seq > next_seq_) {
        lost_ += r->seq - next_seq_;
        srv_->opt.log(who() + ": " + std::to_string(r->seq - next_seq_) + " records lost (seq " +
                      std::to_string(next_seq_) + " → " + std::to_string(r->seq) + ")");
        srv_->push(id_, 1, GapEvent{next_seq_, r->seq});
      }
      const std::size_t n = r->records.size();
      last_records_seq_ = r->seq;
      last_records_n_ = n;
      next_seq_ = r->seq + n;
      received_ += n;
      srv_->c_records += n;
      srv_->push(id_, n, std::move(*r));
      return true;
    }
    if (auto* s = std::get_if<wire::Stats>(&f)) {
      last_stats_ = *s;
      has_stats_ = true;
      srv_->push(id_, 1, *s);
      return true;
    }
    if (auto* b = std::get_if<wire::Bye>(&f)) {
      last_stats_ = b->stats;
      has_stats_ = true;
      finish(true, b->reason);
      return false;
    }
    return protocol_error(frame_name(f) + " frame from a collector"), false;
  }

  static std::string frame_name(const wire::Frame& f) {
    static const char* names[] = {"HELLO", "CHAIN", "RECORDS", "STATS", "BYE", "STOP", "REJECT", "KEPT"};
    return names[f.index()];
  }

  bool protocol_error(const std::string& why) {
    ++srv_->c_proto;
    srv_->opt.log(who() + ": " + why + "; closing");
    if (admitted_) finish(false, "protocol error: " + why);
    close();
    return false;
  }

  void reject(const std::string& why) {
    ++srv_->c_rejected;
    srv_->opt.log(who() + ": rejected: " + why);
    if (can_write_) send(wire::encode(wire::Reject{why}), true);
    else close();
  }

  void end_unclean(const std::string& why) {
    if (closed_) return;
    if (admitted_ && !ended_) srv_->opt.log(who() + ": ended without BYE: " + why);
    else if (!admitted_) srv_->opt.log(who() + ": " + why);
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
    srv_->push(id_, 1, std::move(e));
    srv_->session_ended();
    if (clean) close();  // nothing may follow BYE; the collector waits for this close
  }

  // One write in flight; a capped queue (only REJECT/STOP travel this way).
  void send(std::vector<uint8_t> bytes, bool close_after) {
    if (closed_ || !can_write_) return;
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
    srv_->sessions.erase(id_);
    srv_->stoppers.erase(id_);
    srv_->connection_closed();
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
  bool can_write_;
  std::array<uint8_t, kReadBuffer> buf_{};
  wire::Decoder decoder_;
  std::deque<Out> out_;
  wire::Hello hello_;
  std::vector<bool> announced_;
  uint64_t next_seq_ = 0, received_ = 0, lost_ = 0;
  // The RECORDS frame a KEPT frame must directly follow.
  bool last_was_records_ = false;
  uint64_t last_records_seq_ = 0;
  std::size_t last_records_n_ = 0;
  wire::Stats last_stats_;
  bool has_stats_ = false;
  bool admitted_ = false, ended_ = false, closed_ = false, reading_ = false;
};

}  // namespace

template <typename Stream>
void Server::Impl::start_session(Stream stream, std::string peer, bool can_write) {
  const uint32_t id = next_session++;
  std::make_shared<Session<Stream>>(this, std::move(stream), id, std::move(peer),
                                    can_write)
      ->start();
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
    if (!ec) {
      error_code e2;
      const auto ep = sock.remote_endpoint(e2);
      std::string peer = e2 ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
      sock.set_option(tcp::no_delay(true), e2);
      self->start_session(std::move(sock), std::move(peer), true);
    } else {
      self->opt.log("accept: " + ec.message());
    }
    self->do_accept();
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
      auto list = self->sessions;  // copy: close() erases
      for (auto& [id, f] : list) f("correlator stopping");
      self->parked.clear();
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
  return {m.c_sessions.load(), m.c_active.load(), m.c_rejected.load(), m.c_proto.load(),
          m.c_records.load(), m.c_high.load(), m.c_parked.load()};
}

}  // namespace pathtrace::server
