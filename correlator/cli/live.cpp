// pathtrace run / correlate.
//
//   run:  inventory ─▶ points ─▶ pre-flight (remote hosts, in parallel; remote.hpp)
//                                ─▶ Server (Asio, pipes only) ◀─pipe── pathtrace collect --stdout × N
//                                   │ Collection (in memory)          (local child processes)
//                                   │           ◀─pipe── ssh HOST pathtrace collect --stdout
//                                   │           ◀─pipe── PcapPump ◀── ssh HOST tcpdump -w -
//              --traffic CMD ──▶ child                                 stdin closed = stop
//              stop: duration │ count │ idle │ traffic done │ Ctrl-C
//                                   ▼
//              analyze() ─▶ Store::save() ─▶ report (exit 0 delivered, 1 loss)
//
// Who times out: start-up (every point must say HELLO within --start-timeout), the stop
// (collectors get stdin EOF, then SIGTERM after 5 s, then SIGKILL).

#include "correlator/cli/live.hpp"
#include "correlator/cli/options.hpp"

#include <cxxopts.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "collector/common/error.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/analysis/clocks.hpp"
#include "correlator/cli/packet_filter.hpp"
#include "correlator/cli/discover.hpp"
#include "correlator/cli/explain.hpp"
#include "correlator/cli/points.hpp"
#include "correlator/cli/process.hpp"
#include "correlator/cli/progress.hpp"
#include "correlator/cli/remote.hpp"
#include "correlator/cli/render.hpp"
#include "correlator/server/collection.hpp"
#include "correlator/server/server.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

long long parse_duration_ms(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60000;
  else if (unit == "h") scale = 3600000;
  if (used == 0 || scale == 0 || !(v >= 0) || !std::isfinite(v))
    throw Error(ExitCode::kUsage, what + " '" + text + "': expected a duration like 10s, 500ms, 2m");
  return static_cast<long long>(v * scale);
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// `LABEL[:ROLE]=HOST:IFACE[@NETNS]`, e.g. `X=local:veth0@lab`.
Point parse_live_point(const std::string& arg) {
  const auto eq = arg.find('=');
  const auto colon = eq == std::string::npos ? std::string::npos : arg.find(':', eq + 1);
  if (eq == std::string::npos || colon == std::string::npos)
    throw Error(ExitCode::kUsage, "--point '" + arg + "': expected LABEL[:ROLE]=HOST:IFACE[@NETNS]");
  Point p;
  const std::string left = arg.substr(0, eq);
  const auto rc = left.find(':');
  p.label = left.substr(0, rc);
  if (rc != std::string::npos) p.role = left.substr(rc + 1);
  p.host = arg.substr(eq + 1, colon - eq - 1);
  std::string iface = arg.substr(colon + 1);
  if (const auto at = iface.find('@'); at != std::string::npos) {
    p.netns = iface.substr(at + 1);
    iface = iface.substr(0, at);
  }
  p.iface = iface;
  if (p.label.empty() || p.host.empty() || p.iface.empty())
    throw Error(ExitCode::kUsage, "--point '" + arg + "': expected LABEL[:ROLE]=HOST:IFACE[@NETNS]");
  return p;
}

std::atomic<int> g_signal{0};

bool is_local(const Point& p) { return p.host.empty() || p.host == "local"; }

// The live progress of a run: a header, then one line per point, e.g.
//   run: capturing for 3.5 s
//     C qbr qbrbdd1f2c3-bd: 1234 packets, 1.2 k/s, 3 dropped
// The rate is over the time since the previous call (`prev` keeps each point's count).
std::vector<std::string> progress_lines(const server::Collection& col, double elapsed_s, double since_s,
                                        std::vector<uint64_t>& prev) {
  const auto pts = col.points();
  const auto st = col.status();
  char head[64];
  std::snprintf(head, sizeof head, "run: capturing for %.1f s", elapsed_s);
  std::vector<std::string> lines{head};
  prev.resize(pts.size(), 0);
  for (std::size_t i = 0; i < pts.size() && i < st.size(); ++i) {
    const Point& p = pts[i];
    PointCounts c;
    c.state = !st[i].connected ? PointCounts::State::kWaiting
              : st[i].ended    ? PointCounts::State::kDone
                               : PointCounts::State::kRunning;
    c.packets = st[i].records;
    c.rate = since_s > 0 && c.packets >= prev[i] ? double(c.packets - prev[i]) / since_s : 0;
    for (const uint64_t d : p.discarded) c.discarded += d;
    c.dropped = p.pcap_drop + p.if_drop + st[i].records_lost;
    prev[i] = c.packets;
    std::string name = p.label + (p.role.empty() ? "" : " " + p.role) + " " + p.iface +
                       (is_local(p) ? "" : "@" + p.host);
    std::string line = "  " + point_progress_line(name, c);
    if (st[i].ended && !st[i].clean) line += " (ended without BYE: " + st[i].end_reason + ")";
    lines.push_back(std::move(line));
  }
  return lines;
}

struct LiveOptions {
  std::string filter;
  int snaplen = 256;
  uint32_t keep_bytes = 0;     // --keep-bytes: first bytes of each packet, stored for export
  long long duration_ms = 0;   // 0 = not set
  long long idle_ms = 0;
  long long settle_ms = 1000;  // after --traffic ends
  long long start_timeout_ms = 10000;
  uint64_t count = 0;
  std::string traffic;
  bool quiet = false;
  std::map<std::string, Host> hosts;  // [hosts.NAME] of the inventory
  bool keep_going = false;            // run without the points whose host failed pre-flight
  bool explain = false;               // --explain: attribute the loss to a filtering rule
  std::string ovs_db;                 // --ovs-db for discovery and ovs-ofctl
};

// --explain: the filtering layers of every local namespace on the path, read before the
// traffic and after the capture; the loss at the headline hop is attributed to the rules
// whose counters grew by about as many packets (docs/neutron.md). Remote hosts over ssh.
struct Explainer {
  std::vector<ExplainTarget> targets;           // one per distinct (host, netns)
  std::vector<ExplainSnapshot> before, after;
  std::optional<Discovery> discovery;           // when a point is a Neutron tap
  std::string discovery_host;                   // the host it was found on
  std::vector<std::string> notes;

  Explainer(const std::vector<Point>& points, const std::string& ovs_db,
            const std::map<std::string, Host>& hosts) {
    // Remote points' counters are read over ssh, as their captures are.
    auto remote_of = [&](const Point& p) -> std::optional<Host> {
      if (is_local(p)) return std::nullopt;
      if (auto it = hosts.find(p.host); it != hosts.end()) return it->second;
      Host h;
      h.name = p.host;
      h.ssh = p.host;
      return h;
    };
    // A Neutron tap among the points names the port: discover its bridges and chains.
    for (const Point& p : points) {
      if (p.iface.rfind("tap", 0) != 0 || p.iface.size() != 14) continue;
      DiscoverRequest dq;
      dq.tap = p.iface;
      dq.netns = p.netns;
      dq.ovs_db = ovs_db;
      dq.remote = remote_of(p);
      try {
        discovery = discover_path(dq, gather_facts(dq));
        discovery_host = p.host;
      } catch (const Error& e) {
        notes.push_back(std::string("explain: could not discover the Neutron port of ") + p.iface + ": " + e.what());
      }
      break;
    }
    for (const Point& p : points) {
      const std::string host = is_local(p) ? "local" : p.host;
      where_[p.label] = {host, p.netns};  // the report's points carry the collectors' host names
      if (std::any_of(targets.begin(), targets.end(),
                      [&](const ExplainTarget& t) { return t.netns == p.netns && host_of(t) == host; }))
        continue;
      ExplainTarget t;
      t.netns = p.netns;
      t.ovs_db = ovs_db;
      t.remote = remote_of(p);
      if (discovery && discovery->netns == p.netns && discovery_host == p.host) t.bridges = discovery->bridges;
      targets.push_back(std::move(t));
    }
  }
  static std::string host_of(const ExplainTarget& t) { return t.remote ? t.remote->name : "local"; }
  std::map<std::string, std::pair<std::string, std::string>> where_;  // label → (host, netns)
  void snap(std::vector<ExplainSnapshot>& into) {
    into.clear();
    for (const auto& t : targets) into.push_back(snapshot(t));
  }
  // Attributes the headline loss of `rep` (its first flow that lost packets) and adds the
  // explanation to that flow's findings. Returns the attributions and counter deltas.
  std::pair<std::vector<Attribution>, std::vector<CounterDelta>> attribute(Report& rep) {
    std::vector<Attribution> all;
    std::vector<CounterDelta> deltas;
    for (std::size_t i = 0; i < targets.size() && i < before.size() && i < after.size(); ++i) {
      auto d = diff(before[i], after[i]);
      deltas.insert(deltas.end(), d.begin(), d.end());
    }
    for (FlowResult& r : rep.results) {
      if (r.verdict != VerdictKind::kDisappears && r.verdict != VerdictKind::kPartialLoss) continue;
      if (r.hop < 0 || std::size_t(r.hop) >= r.hops.size()) continue;
      const HopStat& hop = r.hops[std::size_t(r.hop)];
      const Flow& f = rep.flows.at(r.flow - 1);
      FlowHint hint;
      hint.ip_version = f.key.version;
      hint.proto = f.key.proto;
      hint.src = address_text(f.key, f.key.src);
      hint.dst = address_text(f.key, f.key.dst);
      if (f.key.dport) hint.dport = f.key.dport;
      if (discovery) hint.port_uuid = discovery->port;
      // The namespaces of the hop's two points hold the layers that could have dropped.
      auto on_hop = [&](const ExplainTarget& t) {
        for (const Point* p : {&rep.points[hop.from], &rep.points[hop.to]}) {
          const auto it = where_.find(p->label);
          if (it != where_.end() && it->second == std::make_pair(host_of(t), t.netns)) return true;
        }
        return false;
      };
      ExplainSnapshot b, a;
      for (std::size_t i = 0; i < targets.size() && i < before.size() && i < after.size(); ++i) {
        if (!on_hop(targets[i])) continue;
        b.rules.insert(b.rules.end(), before[i].rules.begin(), before[i].rules.end());
        a.rules.insert(a.rules.end(), after[i].rules.begin(), after[i].rules.end());
        a.layers.insert(a.layers.end(), after[i].layers.begin(), after[i].layers.end());
        a.warnings.insert(a.warnings.end(), after[i].warnings.begin(), after[i].warnings.end());
      }
      all = explain(b, a, hop.lost, hint);
      std::istringstream text(render(all, hop.lost, a));
      for (std::string line; std::getline(text, line);)
        if (!line.empty()) r.findings.push_back(line);  // render() starts with "explain:"
      break;  // the headline flow only
    }
    for (const auto& n : notes) rep.warnings.push_back(n);
    return {std::move(all), std::move(deltas)};
  }
};


// Stages a live run in the database as it arrives (every 250 ms: new chains and sightings,
// the points' latest statistics), so that a correlator killed mid-run leaves what it had
// committed: `pathtrace report` analyses it. Owns the store while it runs.
//
//   Collection ──drain_new()──▶ Stager thread ──append()/update_points()──▶ Store
class Stager {
 public:
  Stager(Store& store, int64_t run, server::Collection& col)
      : store_(store), run_(run), col_(col), thread_([this] { loop(); }) {}
  ~Stager() {
    try {
      stop_and_flush();
    } catch (...) {  // unwinding already: the error that brought us here is the one to report
    }
  }
  // Final flush and join; rethrows a database error from the thread. Idempotent.
  void stop_and_flush() {
    if (thread_.joinable()) {
      {
        std::lock_guard lk(m_);
        stop_ = true;
      }
      cv_.notify_all();
      thread_.join();
      if (!error_) flush_once();
    }
    if (error_) {
      auto e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);
    }
  }

 private:
  void flush_once() {
    std::vector<Chain> chains;
    std::vector<Sighting> sightings;
    uint32_t first = 0;
    col_.drain_new(chains, first, sightings);
    if (!chains.empty() || !sightings.empty()) store_.append(run_, chains, first, sightings);
    col_.take_kept(kept_);
    if (!kept_.empty()) store_.append_kept(run_, kept_);
    const auto points = col_.points();
    store_.update_points(run_, points);
  }
  void loop() {
    std::unique_lock lk(m_);
    while (!stop_) {
      cv_.wait_for(lk, 250ms, [this] { return stop_; });
      if (stop_) break;
      lk.unlock();
      try {
        flush_once();
      } catch (...) {
        error_ = std::current_exception();
        return;
      }
      lk.lock();
    }
  }
  Store& store_;
  int64_t run_;
  server::Collection& col_;
  KeptFrames kept_;  // reused between flushes
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

// Waits for the stop condition; returns why it stopped.
std::string wait_for_stop(server::Collection& col, std::vector<Child>& collectors,
                          const std::vector<Point>& points, Child* traffic,
                          const LiveOptions& lo, std::vector<std::string>& warnings) {
  const auto start = Clock::now();
  Console& console = Console::err();
  const auto period = progress_period(console.terminal());
  auto last_print = start;
  std::vector<uint64_t> printed;  // each point's count at the last print, for its rate
  uint64_t last_total = 0;
  auto last_change = start;
  std::optional<Clock::time_point> traffic_done;
  for (;;) {
    std::this_thread::sleep_for(50ms);
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (!lo.quiet && now - last_print >= period) {
      console.show(progress_lines(col, elapsed, std::chrono::duration<double>(now - last_print).count(), printed));
      last_print = now;
    }
    if (g_signal.load()) return "interrupted (signal " + std::to_string(g_signal.load()) + ")";
    const auto st = col.status();
    uint64_t total = 0, max_records = 0;
    for (const auto& s : st) {
      total += s.records;
      max_records = std::max(max_records, s.records);
    }
    if (total != last_total) {
      last_total = total;
      last_change = now;
    }
    for (auto& c : collectors) c.heartbeat();  // remote captures stop without these
    for (std::size_t i = 0; i < collectors.size(); ++i) {
      if (auto code = collectors[i].poll(); code && !(i < st.size() && st[i].ended && st[i].clean))
        return "the collector of point " + points[i].label + " exited (code " +
               std::to_string(*code) + ")";
    }
    if (traffic && !traffic_done) {
      if (auto code = traffic->poll()) {
        traffic_done = now;
        if (*code != 0) warnings.push_back("the --traffic command exited with code " + std::to_string(*code));
      }
    }
    if (lo.duration_ms && now - start >= std::chrono::milliseconds(lo.duration_ms))
      return "duration reached";
    if (lo.count && max_records >= lo.count) return "count reached";
    if (lo.idle_ms && total > 0 && now - last_change >= std::chrono::milliseconds(lo.idle_ms))
      return "idle";
    if (traffic_done && now - *traffic_done >= std::chrono::milliseconds(lo.settle_ms))
      return "traffic finished";
  }
}

// Runs a live collection over `points`, staged in `store` from the moment every point is
// capturing (run id in *run_id), and returns the analysed run (not yet finished in the store).
Run run_live(std::vector<Point> points, const LiveOptions& lo, const std::string& run_name,
             Store& store, Report meta, int64_t* run_id, std::optional<Explainer>* explainer) {
  for (const auto& p : points)
    if (p.iface.empty())
      throw Error(ExitCode::kUsage, "point " + p.label + ": no interface (inventory `iface`)");
  std::vector<std::string> missing_warnings;
  std::map<std::string, HostCheck> host_checks;
  const bool any_remote = std::any_of(points.begin(), points.end(), [](const Point& p) { return !is_local(p); });
  if (any_remote) {
    // Agentless points apply the filter here: it must compile before anything starts.
    if (!lo.filter.empty()) {
      PacketFilter check(lo.filter);
      check.prepare(1);
    }
    ::signal(SIGPIPE, SIG_IGN);  // a stream's reader may go away: write() returns EPIPE instead
    const auto checks = preflight(points, lo.hosts, host_checks);
    std::vector<Point> kept;
    std::string first_error;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (!lo.quiet || !checks[i].ok)
        Console::err().line("pre-flight: " + checks[i].detail);
      if (checks[i].ok) {
        kept.push_back(points[i]);
      } else {
        ++failed;
        if (first_error.empty()) first_error = checks[i].detail;
        missing_warnings.push_back("point " + points[i].label + " (" + points[i].host +
                                   ") was not captured: pre-flight failed (" + checks[i].detail +
                                   "); the path is judged without it, no hop is blamed on it");
      }
    }
    if (failed && !lo.keep_going)
      throw Error(ExitCode::kRemote, first_error +
                                         (failed > 1 ? " (and " + std::to_string(failed - 1) + " more point(s) failed)" : "") +
                                         "; --keep-going runs the other points");
    if (kept.empty()) throw Error(ExitCode::kRemote, "no point passed pre-flight: " + first_error);
    points = std::move(kept);
    for (std::size_t i = 0; i < points.size(); ++i) points[i].ord = static_cast<uint8_t>(i);
  }
  server::Collection col(points, /*strict=*/true);
  server::ServerOptions so;
  so.listen.clear();  // every stream is a pipe: local collectors' stdout, ssh sessions
  so.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  so.on_signal = [](int sig) { g_signal.store(sig); };
  so.log = [](const std::string& line) { Console::err().line("pathtrace correlator: " + line); };
  server::Server srv(so, col);
  srv.start();
  const std::string exe = self_exe();

  // Declared first, destroyed last: the children (ssh, local collectors) die before their
  // relays are joined.
  std::vector<std::unique_ptr<RemoteStream>> remotes(points.size());
  std::vector<std::jthread> local_relays;  // local collectors' stderr, line by line to the console
  std::vector<Child> collectors;
  CaptureSpec spec;
  spec.filter = lo.filter;
  spec.snaplen = lo.snaplen;
  spec.keep_bytes = lo.keep_bytes;
  spec.run = run_name;
  for (const auto& p : points) {
    if (!is_local(p)) {
      const Host host = host_for(lo.hosts, p.host);
      const auto remote = host.mode == Host::Mode::kAgent ? agent_command(host, p, spec)
                                                          : agentless_command(host, p, spec);
      int out_fd = -1, err_fd = -1, stream_fd = -1;
      collectors.push_back(Child::spawn_piped(ssh_argv(host, remote), &out_fd, &err_fd));
      const auto hc = host_checks.find(p.host);
      const int64_t offset = hc != host_checks.end() && hc->second.clock_known ? hc->second.clock_offset_ns : 0;
      remotes[collectors.size() - 1] = std::make_unique<RemoteStream>(host, p, spec, out_fd, err_fd, offset, &stream_fd);
      srv.add_stream(stream_fd, "ssh " + p.host + " (point " + p.label + ")");
      continue;
    }
    std::vector<std::string> argv = {exe, "collect", "--iface", p.iface, "--point", p.label,
                                     "--run", run_name, "--stdout",
                                     "--snaplen", std::to_string(lo.snaplen)};
    if (!p.netns.empty()) argv.insert(argv.end(), {"--netns", p.netns});
    if (!lo.filter.empty()) argv.insert(argv.end(), {"--filter", lo.filter});
    if (lo.keep_bytes) argv.insert(argv.end(), {"--keep-bytes", std::to_string(lo.keep_bytes)});
    // Its stderr goes through the console, so that progress lines never draw over it. Its own
    // process group: Ctrl-C reaches pathtrace, which stops every collector in order.
    int out_fd = -1, err_fd = -1;
    collectors.push_back(Child::spawn_piped(argv, &out_fd, &err_fd));
    // Its stream comes back on its stdout, a pipe, as from ssh: a pipe costs the collector
    // less CPU than loopback TCP (docs/performance.md). Closing its stdin stops it.
    srv.add_stream(out_fd, "local " + p.iface);
    local_relays.emplace_back([err_fd] {
      relay_lines(err_fd, [](const std::string& line) { Console::err().line(line); });
    });
  }
  auto stop_all = [&] {
    for (auto& c : collectors) c.close_stdin();  // a collector stops when its stdin closes
    for (auto& c : collectors)
      if (!c.wait_for(5s)) c.signal(SIGTERM);
    for (auto& c : collectors)
      if (!c.wait_for(2s)) c.signal(SIGKILL);
    srv.wait_idle(3s);
    srv.stop();
  };

  // Every point must be capturing before anything is judged (or sent).
  const auto deadline = Clock::now() + std::chrono::milliseconds(lo.start_timeout_ms);
  for (;;) {
    const auto st = col.status();
    std::size_t ready = 0;
    for (const auto& s : st) ready += s.connected;
    if (ready == points.size()) break;
    for (auto& c : collectors) c.heartbeat();
    for (std::size_t i = 0; i < collectors.size(); ++i) {
      if (auto code = collectors[i].poll()) {
        stop_all();
        if (remotes[i]) {
          const std::string last = remotes[i]->last_error();
          remotes.clear();
          // A filter the remote collector could not compile is a usage error; the rest is remote.
          throw Error(*code == 2 ? ExitCode::kUsage : ExitCode::kRemote, "point " + points[i].label + "@" + points[i].host +
                                             ": the remote capture on " + points[i].iface +
                                             " ended with code " + std::to_string(*code) +
                                             " before capturing" + (last.empty() ? "" : ": " + last));
        }
        const ExitCode ec = (*code >= 2 && *code <= 6) ? ExitCode(*code) : ExitCode::kCapture;
        throw Error(ec, "point " + points[i].label + ": the collector on " + points[i].iface +
                            " exited with code " + std::to_string(*code) +
                            " before capturing (its message is above)");
      }
    }
    if (g_signal.load()) {
      stop_all();
      throw Error(ExitCode::kCapture, "interrupted before every point was capturing");
    }
    if (Clock::now() > deadline) {
      std::string missing;
      for (std::size_t i = 0; i < st.size(); ++i)
        if (!st[i].connected) missing += (missing.empty() ? "" : ", ") + points[i].label;
      stop_all();
      throw Error(ExitCode::kCapture, "points " + missing + " did not start capturing within " +
                                          std::to_string(lo.start_timeout_ms / 1000.0).substr(0, 4) + " s");
    }
    std::this_thread::sleep_for(20ms);
  }
  if (!lo.quiet)
    Console::err().line("capturing at " + std::to_string(points.size()) + " points; " +
                        (lo.traffic.empty() ? "press Ctrl-C to stop" : "starting the traffic"));

  // Packets inside the guard margin of a point's start are not judged: let it pass before
  // the traffic starts, so every packet the traffic sends counts.
  std::this_thread::sleep_for(std::chrono::nanoseconds(AnalysisOptions{}.guard_ns) + 50ms);
  if (lo.explain) {
    explainer->emplace(points, lo.ovs_db, lo.hosts);
    (*explainer)->snap((*explainer)->before);  // counters before the traffic
  }
  meta.points = points;
  *run_id = store.begin_run(meta);
  Stager stager(store, *run_id, col);
  std::vector<std::string> warnings;
  std::optional<Child> traffic;
  if (!lo.traffic.empty()) traffic = Child::spawn({"/bin/sh", "-c", lo.traffic}, /*keep_stdout=*/false);
  const std::string why = wait_for_stop(col, collectors, points, traffic ? &*traffic : nullptr, lo, warnings);
  if (!lo.quiet) Console::err().line(why + ": stopping");
  if (traffic && !traffic->poll()) {
    traffic->signal(SIGTERM);
    if (!traffic->wait_for(2s)) traffic->signal(SIGKILL);
    warnings.push_back("the --traffic command was still running when the run stopped (" + why + ")");
  }
  stop_all();
  if (*explainer) (*explainer)->snap((*explainer)->after);  // ... and after the capture
  remotes.clear();  // joins the relays: every remote stream has ended
  stager.stop_and_flush();
  for (std::size_t i = 0; i < collectors.size(); ++i)
    if (auto code = collectors[i].exit_code(); code && *code != 0)
      warnings.push_back("point " + points[i].label + (is_local(points[i]) ? "" : "@" + points[i].host) +
                         ": its collector exited with code " + std::to_string(*code) +
                         (!is_local(points[i]) && *code == 255 ? " (the ssh link was lost: the point's capture is incomplete)" : ""));

  server::Collected c = col.take();
  // Hosts' clocks disagree: put every host's sightings on the clock of the first point's
  // host before traversals are grouped (hop order still comes from the path only).
  std::vector<std::string> clock_notes;
  if (std::any_of(c.points.begin(), c.points.end(), [&](const Point& p) { return p.host != c.points.front().host; })) {
    const auto clocks = estimate_clocks(c.points, c.sightings);
    apply_clocks(clocks, c.points, c.sightings);
    for (const auto& hc : clocks)
      if (!hc.reference) clock_notes.push_back(describe(hc, clocks.front().host));
  }
  Run run = analyze(std::move(c.points), std::move(c.chains), std::move(c.sightings));
  for (auto& w : c.warnings) run.report.warnings.push_back(std::move(w));
  for (auto& w : clock_notes) run.report.warnings.push_back(std::move(w));
  for (auto& w : missing_warnings) run.report.warnings.push_back(std::move(w));
  for (auto& w : warnings) run.report.warnings.push_back(std::move(w));
  if (why.rfind("interrupted", 0) == 0) run.report.warnings.push_back("the run was " + why);
  if (why.rfind("the collector", 0) == 0) run.report.warnings.push_back("the run stopped early: " + why);
  return run;
}

void add_common(cxxopts::Options& opts) {
  opts.add_options()
      ("db", "SQLite database to store the run in", cxxopts::value<std::string>()->default_value("pathtrace.db"))
      ("filter", "alias (ipip, tcp, ...) or pcap-filter expression", cxxopts::value<std::string>()->default_value(""))
      ("duration", "stop after this long (10s, 500ms, 2m)", cxxopts::value<std::string>())
      ("count", "stop when a point has kept this many packets", cxxopts::value<uint64_t>()->default_value("0"))
      ("idle", "stop after this long without a new packet", cxxopts::value<std::string>())
      ("json", "print the report as JSON")
      ("all", "print a table for every flow")
      ("q,quiet", "no live counts")
      ("h,help", "show this help");
}


Report run_meta(const cxxopts::ParseResult& res, const std::string& command) {
  Report meta;
  meta.started = now_iso8601();
  meta.command = command;
  meta.filter = res["filter"].as<std::string>();
  return meta;
}

// Stores the analysed run over its staged rows and prints the report.
int finish(Store& store, int64_t run_id, Run& run, const Report& meta,
           const cxxopts::ParseResult& res) {
  run.report.started = meta.started;
  run.report.command = meta.command;
  run.report.filter = meta.filter;
  store.finish_run(run_id, run);
  if (res.count("json")) {
    std::cout << to_json(run.report).dump(2) << "\n";
  } else {
    RenderOptions ro;
    ro.all_flows = res.count("all") > 0;
    ro.db_path = store.path();
    print_text(std::cout, run.report, ro);
  }
  return has_loss(run.report) ? int(ExitCode::kLoss) : 0;
}

}  // namespace

int cmd_run(int argc, char** argv, const std::string& command) {
  cxxopts::Options opts("pathtrace run",
                        "Capture at every point of a path at once, recognise each packet at every "
                        "point, and say where each flow disappears. Points come from the "
                        "inventory (docs/inventory.md) in path order.");
  add_common(opts);
  opts.add_options()
      ("inventory", "TOML inventory", cxxopts::value<std::string>()->default_value("pathtrace.toml"))
      ("points", "which points, in path order: A..G or B,C,E (default: all)", cxxopts::value<std::string>()->default_value(""))
      ("point", "add a point: LABEL[:ROLE]=HOST:IFACE[@NETNS] (HOST is local)", cxxopts::value<std::vector<std::string>>())
      ("traffic", "shell command to run once every point is capturing; the run stops 1 s after it ends", cxxopts::value<std::string>())
      ("snaplen", "bytes captured per frame", cxxopts::value<int>()->default_value("256"))
      ("keep-bytes", "store the first N bytes of every packet, for `pathtrace export` (0 = none; at most --snaplen)", cxxopts::value<uint32_t>()->default_value("0"))
      ("start-timeout", "how long points may take to start capturing", cxxopts::value<std::string>()->default_value("10s"))
      ("keep-going", "when a remote host fails pre-flight, capture at the other points (the report names the missing ones)")
      ("explain", "read the filtering layers' counters (iptables, nft, OpenFlow) before and after, and name the rule that dropped the lost packets")
      ("ovs-db", "with --explain: the OVS database socket, unix:PATH (default: $OVS_RUNDIR/db.sock)", cxxopts::value<std::string>()->default_value(""));
  const auto res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nstops at --duration, --count, --idle, 1 s after --traffic ends, or Ctrl-C "
                 "(whichever comes first; with none of them: 10 s)\n"
                 "exit codes: 0 every flow delivered · 1 a flow lost packets · 2 usage · 3 "
                 "inventory · 4 database · 5 capture · 6 remote\n"
                 "\nexamples:\n"
                 "  pathtrace run --points A..G --filter ipip --duration 10s\n"
                 "  pathtrace run --inventory lab.toml --filter ipip --traffic 'ip netns exec dir ./send'\n"
                 "  pathtrace run --point A=local:veth0@ns1 --point B=local:veth1@ns2 --filter icmp --count 100\n"
                 "  pathtrace run --points A..G --filter ipip --explain --traffic './send'   # which rule dropped them\n";
    return 0;
  }
  std::vector<Point> points;
  const std::string inv = res["inventory"].as<std::string>();
  const bool inv_given = res["inventory"].count() > 0;
  std::map<std::string, Host> hosts;
  if (inv_given || std::filesystem::exists(inv) || !res.count("point")) {
    points = load_inventory(inv);
    hosts = load_hosts(inv);
  }
  points = select_points(points, res["points"].as<std::string>());
  if (res.count("point"))
    for (const auto& a : res["point"].as<std::vector<std::string>>()) points.push_back(parse_live_point(a));
  finalize_path(points);

  LiveOptions lo;
  lo.filter = res["filter"].as<std::string>();
  lo.snaplen = res["snaplen"].as<int>();
  if (lo.snaplen < 64 || lo.snaplen > 262144)
    throw Error(ExitCode::kUsage, "--snaplen " + std::to_string(lo.snaplen) + ": must be 64..262144");
  lo.keep_bytes = res["keep-bytes"].as<uint32_t>();
  if (lo.keep_bytes > uint32_t(lo.snaplen))
    throw Error(ExitCode::kUsage, "--keep-bytes " + std::to_string(lo.keep_bytes) + " exceeds --snaplen " +
                                      std::to_string(lo.snaplen) + " (raise --snaplen)");
  if (res.count("duration")) lo.duration_ms = parse_duration_ms(res["duration"].as<std::string>(), "--duration");
  if (res.count("idle")) lo.idle_ms = parse_duration_ms(res["idle"].as<std::string>(), "--idle");
  lo.count = res["count"].as<uint64_t>();
  lo.start_timeout_ms = parse_duration_ms(res["start-timeout"].as<std::string>(), "--start-timeout");
  if (res.count("traffic")) lo.traffic = res["traffic"].as<std::string>();
  if (!lo.duration_ms && !lo.idle_ms && !lo.count && lo.traffic.empty()) lo.duration_ms = 10000;
  lo.quiet = res.count("quiet") > 0;
  progress_period(false);  // a bad PATHTRACE_PROGRESS_MS fails here, before anything starts
  lo.hosts = std::move(hosts);
  lo.keep_going = res.count("keep-going") > 0;
  Store store(res["db"].as<std::string>(), Store::Mode::kReadWrite);  // fails before capturing
  const Report meta = run_meta(res, command);
  lo.explain = res.count("explain") > 0;
  lo.ovs_db = res["ovs-db"].as<std::string>();
  int64_t run_id = 0;
  std::optional<Explainer> explainer;
  Run run = run_live(std::move(points), lo, "run-" + std::to_string(::getpid()), store, meta, &run_id, &explainer);
  std::vector<Attribution> blamed;
  std::vector<CounterDelta> deltas;
  if (explainer) std::tie(blamed, deltas) = explainer->attribute(run.report);
  const int code = finish(store, run_id, run, meta, res);
  if (explainer)
    save_neutron(store.path(), run_id, explainer->discovery ? &*explainer->discovery : nullptr, deltas, blamed);
  return code;
}

int cmd_correlate(int argc, char** argv, const std::string& command) {
  cxxopts::Options opts("pathtrace correlate",
                        "Receive the streams of `pathtrace collect --to` from many hosts, store "
                        "the run and print the report when every collector has finished (or on "
                        "Ctrl-C).");
  add_common(opts);
  opts.add_options()
      ("listen", "ADDR:PORT to listen on (non-loopback needs --token-file)", cxxopts::value<std::string>()->default_value("127.0.0.1:7300"))
      ("stdin", "read one collector's stream from standard input (`pathtrace collect --stdout | pathtrace correlate --stdin`); listens only with --listen")
      ("token-file", "file whose first line is the shared secret collectors present", cxxopts::value<std::string>())
      ("points", "the path, in order: A,B,C (labels collectors announce)", cxxopts::value<std::string>());
  const auto res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nexamples:\n  pathtrace correlate --points A,B,C --listen 127.0.0.1:7300\n"
                 "  pathtrace collect --iface eth0 --point A --to 127.0.0.1:7300   # on each host\n"
                 "  ssh hv1 pathtrace collect --iface eth1 --point G --stdout | pathtrace correlate --points G --stdin\n";
    return 0;
  }
  if (!res.count("points"))
    throw Error(ExitCode::kUsage, "--points A,B,C is required: the path order never comes from clocks");
  std::vector<Point> points;
  std::stringstream ss(res["points"].as<std::string>());
  for (std::string label; std::getline(ss, label, ',');) {
    Point p;
    p.label = label;
    points.push_back(p);
  }
  finalize_path(points);
  std::string token;
  if (res.count("token-file")) {
    std::ifstream f(res["token-file"].as<std::string>());
    if (!f) throw Error(ExitCode::kUsage, "--token-file " + res["token-file"].as<std::string>() + ": cannot read");
    std::getline(f, token);
  }
  Store store(res["db"].as<std::string>(), Store::Mode::kReadWrite);
  Report meta = run_meta(res, command);
  meta.points = points;
  server::Collection col(points, true);
  server::ServerOptions so;
  const bool from_stdin = res.count("stdin") > 0;
  so.listen = from_stdin && !res["listen"].count() ? std::string() : res["listen"].as<std::string>();
  so.token = token;
  so.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  so.on_signal = [](int sig) { g_signal.store(sig); };
  server::Server srv(so, col);
  srv.start();
  if (from_stdin) {
    const int fd = ::dup(STDIN_FILENO);
    if (fd < 0) throw Error(ExitCode::kInternal, "cannot duplicate stdin: " + std::string(std::strerror(errno)));
    srv.add_stream(fd, "stdin");
  }
  if (!so.listen.empty())
    std::fprintf(stderr, "pathtrace correlate: listening on %s for points %s\n", srv.address().c_str(),
                 res["points"].as<std::string>().c_str());
  else
    std::fprintf(stderr, "pathtrace correlate: reading stdin for points %s\n", res["points"].as<std::string>().c_str());
  const long long duration = res.count("duration") ? parse_duration_ms(res["duration"].as<std::string>(), "--duration") : 0;
  const int64_t run_id = store.begin_run(meta);
  Stager stager(store, run_id, col);
  const auto start = Clock::now();
  for (;;) {
    std::this_thread::sleep_for(100ms);
    if (g_signal.load()) break;
    if (duration && Clock::now() - start >= std::chrono::milliseconds(duration)) break;
    const auto st = col.status();
    bool all_done = true;
    for (const auto& s : st) all_done = all_done && s.connected && s.ended;
    if (all_done) break;
  }
  srv.stop_collectors("correlator finished");
  srv.wait_idle(5s);
  srv.stop();
  stager.stop_and_flush();
  server::Collected c = col.take();
  Run run = analyze(std::move(c.points), std::move(c.chains), std::move(c.sightings));
  for (auto& w : c.warnings) run.report.warnings.push_back(std::move(w));
  return finish(store, run_id, run, meta, res);
}

}  // namespace pathtrace::cli
