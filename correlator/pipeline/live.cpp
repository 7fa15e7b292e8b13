// pathtrace run / correlate: see live.hpp for the picture.

#include "correlator/pipeline/live.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "collector/capture/packet_filter.hpp"
#include "collector/common/console.hpp"
#include "collector/common/error.hpp"
#include "collector/common/process.hpp"
#include "correlator/pipeline/explainer.hpp"
#include "correlator/pipeline/finish.hpp"
#include "correlator/pipeline/progress.hpp"
#include "correlator/pipeline/stager.hpp"
#include "correlator/remote/remote.hpp"
#include "correlator/server/collection.hpp"
#include "correlator/server/server.hpp"

namespace pathtrace::pipeline {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using inventory::is_local;

std::atomic<int>& stop_signal() noexcept {
  static std::atomic<int> sig{0};
  return sig;
}

std::string describe(const Stop& s) {
  switch (s.reason) {
    case StopReason::kDuration: return "duration reached";
    case StopReason::kCount: return "count reached";
    case StopReason::kIdle: return "idle";
    case StopReason::kTrafficFinished: return "traffic finished";
    case StopReason::kSignal: return "interrupted (signal " + std::to_string(s.signal) + ")";
    case StopReason::kCollectorExited:
      return "the collector of point " + s.point + " exited (code " + std::to_string(s.code) + ")";
    case StopReason::kAllEnded: return "every collector finished";
    case StopReason::kStoreFailed: return "the database could not be written";
  }
  return "stopped";
}

namespace {

// Every stream of a collector child is a pipe we hold; it gets its own process group.
constexpr SpawnOptions kPiped{Stdio::kPipe, Stdio::kPipe, Stdio::kPipe, true};

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
    c.discarded = p.all_discards();
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

// Waits for the stop condition; returns why it stopped.
Stop wait_for_stop(server::Collection& col, const Stager& stager, std::vector<Child>& collectors,
                   const std::vector<Point>& points, Child* traffic, const LiveOptions& lo,
                   std::vector<std::string>& warnings) {
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
    if (const int sig = stop_signal().load()) return Stop{StopReason::kSignal, sig, {}, 0};
    if (stager.failed()) return Stop{StopReason::kStoreFailed};
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
        return Stop{StopReason::kCollectorExited, 0, points[i].label, *code};
    }
    if (traffic && !traffic_done) {
      if (auto code = traffic->poll()) {
        traffic_done = now;
        if (*code != 0) warnings.push_back("the --traffic command exited with code " + std::to_string(*code));
      }
    }
    if (lo.duration_ms && now - start >= std::chrono::milliseconds(lo.duration_ms))
      return Stop{StopReason::kDuration};
    if (lo.count && max_records >= lo.count) return Stop{StopReason::kCount};
    if (lo.idle_ms && total > 0 && now - last_change >= std::chrono::milliseconds(lo.idle_ms))
      return Stop{StopReason::kIdle};
    if (traffic_done && now - *traffic_done >= std::chrono::milliseconds(lo.settle_ms))
      return Stop{StopReason::kTrafficFinished};
  }
}

// The last flush of a live run, after its collectors stopped: a write that failed then or
// earlier (the reason capture stopped) marks the run failed and throws StoreFailed.
void flush_or_fail(Stager& stager, Store& store, int64_t run_id) {
  try {
    stager.stop_and_flush();
  } catch (const Error& e) {
    if (e.code() != ExitCode::kDatabase) throw;
    throw store_failed(store, run_id, e);
  }
}

// store_run() for a staged live run: a failure marks it failed and throws StoreFailed.
void store_live_run(Store& store, int64_t run_id, Run& run, const Report& meta) {
  try {
    store_run(store, run_id, run, meta);
  } catch (const Error& e) {
    if (e.code() != ExitCode::kDatabase) throw;
    throw store_failed(store, run_id, e);
  }
}

}  // namespace

Run run_live(std::vector<Point> points, const LiveOptions& lo, Store& store, const Report& meta_in) {
  Report meta = meta_in;
  for (const auto& p : points)
    if (p.iface.empty())
      throw Error(ExitCode::kUsage, "point " + p.label + ": no interface (inventory `iface`)");
  std::vector<std::string> missing_warnings;
  std::map<std::string, remote::HostCheck> host_checks;
  const bool any_remote = std::any_of(points.begin(), points.end(), [](const Point& p) { return !is_local(p); });
  if (any_remote) {
    // Agentless points apply the filter here: it must compile before anything starts.
    if (!lo.filter.empty()) {
      capture::PacketFilter check(lo.filter);
      check.prepare(1);
    }
    ::signal(SIGPIPE, SIG_IGN);  // a stream's reader may go away: write() returns EPIPE instead
    const auto checks = remote::preflight(points, lo.hosts, host_checks);
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
  so.limits = lo.limits;
  so.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  so.release = [&col](const wire::Hello& h) { col.release(h); };
  so.on_signal = [](int sig) { stop_signal().store(sig); };
  so.log = [](const std::string& line) { Console::err().line("pathtrace correlator: " + line); };
  so.info = lo.quiet ? std::function<void(const std::string&)>([](const std::string&) {}) : so.log;
  server::Server srv(so, col);
  srv.start();
  const std::string exe = self_exe();

  // Declared first, destroyed last: the children (ssh, local collectors) die before their
  // relays are joined.
  std::vector<std::unique_ptr<remote::RemoteStream>> remotes(points.size());
  std::vector<std::jthread> local_relays;  // local collectors' stderr, line by line to the console
  std::vector<Child> collectors;
  remote::CaptureSpec spec;
  spec.filter = lo.filter;
  spec.snaplen = lo.snaplen;
  spec.keep_bytes = lo.keep_bytes;
  spec.run = lo.run_name;
  for (const auto& p : points) {
    if (!is_local(p)) {
      const inventory::Host host = inventory::host_for(lo.hosts, p.host);
      const auto remote = host.mode == inventory::Host::Mode::kAgent ? remote::agent_command(host, p, spec)
                                                                     : remote::agentless_command(host, p, spec);
      int stream_fd = -1;
      collectors.push_back(Child::spawn(remote::ssh_argv(host, remote), kPiped));
      UniqueFd out_fd = collectors.back().take_stdout(), err_fd = collectors.back().take_stderr();
      const auto hc = host_checks.find(p.host);
      const int64_t offset = hc != host_checks.end() && hc->second.clock_known ? hc->second.clock_offset_ns : 0;
      remotes[collectors.size() - 1] =
          std::make_unique<remote::RemoteStream>(host, p, spec, std::move(out_fd), std::move(err_fd), offset, &stream_fd);
      srv.add_stream(stream_fd, "ssh " + p.host + " (point " + p.label + ")");
      continue;
    }
    std::vector<std::string> argv = {exe, "collect", "--iface", p.iface, "--point", p.label,
                                     "--run", lo.run_name, "--stdout",
                                     "--snaplen", std::to_string(lo.snaplen)};
    if (!p.netns.empty()) argv.insert(argv.end(), {"--netns", p.netns});
    if (!lo.filter.empty()) argv.insert(argv.end(), {"--filter", lo.filter});
    if (lo.keep_bytes) argv.insert(argv.end(), {"--keep-bytes", std::to_string(lo.keep_bytes)});
    if (lo.quiet) argv.push_back("--quiet");
    // Its stderr goes through the console, so that progress lines never draw over it. Its own
    // process group: Ctrl-C reaches pathtrace, which stops every collector in order.
    collectors.push_back(Child::spawn(argv, kPiped));
    // Its stream comes back on its stdout, a pipe, as from ssh: a pipe costs the collector
    // less CPU than loopback TCP (docs/performance.md). Closing its stdin stops it.
    srv.add_stream(collectors.back().take_stdout().release(), "local " + p.iface);
    local_relays.emplace_back([err = collectors.back().take_stderr()]() mutable {
      relay_lines(std::move(err), [](const std::string& line) { Console::err().line(line); });
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
    if (stop_signal().load()) {
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
  std::optional<Explainer> explainer;
  if (lo.explain) {
    // Discovery and the counters before the traffic run commands, over ssh for remote hosts:
    // on a loaded machine that takes longer than a remote collector waits for a heartbeat
    // (10 s), so the heartbeats go on meanwhile.
    auto snap = std::async(std::launch::async, [&] {
      explainer.emplace(points, lo.ovs_db, lo.hosts);
      explainer->snap_before();
    });
    while (snap.wait_for(100ms) != std::future_status::ready)
      for (auto& c : collectors) c.heartbeat();
    snap.get();  // rethrows what the snapshot threw
  }
  meta.points = points;
  for (Point& p : meta.points) p.source = "live";
  const int64_t run_id = store.begin_run(meta);
  Stager stager(store, run_id, col, lo.memory, lo.spill_dir);
  std::vector<std::string> warnings;
  std::optional<Child> traffic;
  if (!lo.traffic.empty()) traffic = Child::spawn({"/bin/sh", "-c", lo.traffic});
  const Stop stop = wait_for_stop(col, stager, collectors, points, traffic ? &*traffic : nullptr, lo, warnings);
  const std::string why = describe(stop);
  if (!lo.quiet) Console::err().line(why + ": stopping");
  if (traffic && !traffic->poll()) {
    traffic->signal(SIGTERM);
    if (!traffic->wait_for(2s)) traffic->signal(SIGKILL);
    warnings.push_back("the --traffic command was still running when the run stopped (" + why + ")");
  }
  stop_all();
  if (explainer) explainer->snap_after();  // ... and after the capture
  remotes.clear();  // joins the relays: every remote stream has ended
  flush_or_fail(stager, store, run_id);
  for (std::size_t i = 0; i < collectors.size(); ++i)
    if (auto code = collectors[i].exit_code(); code && *code != 0)
      warnings.push_back("point " + points[i].label + (is_local(points[i]) ? "" : "@" + points[i].host) +
                         ": its collector exited with code " + std::to_string(*code) +
                         (!is_local(points[i]) && *code == 255 ? " (the ssh link was lost: the point's capture is incomplete)" : ""));

  server::Collected c = col.take();
  std::unique_ptr<SightingParts> spilled = stager.take_spilled(c.sightings);
  if (spilled) std::vector<Sighting>().swap(c.sightings);
  check_run_size(spilled ? spilled->size() : c.sightings.size());
  Collected in{std::move(c.points), std::move(c.chains), std::move(c.sightings), {}, {}, std::move(c.warnings),
               std::move(spilled)};
  JudgeOptions jo;  // the inventory's [hosts.NAME] clock, when stated
  for (const auto& [name, host] : lo.hosts)
    if (host.clock_ns) jo.given_offsets[name] = *host.clock_ns;
  Run run = judge(std::move(in), jo);
  for (auto& w : missing_warnings) run.report.warnings.push_back(std::move(w));
  for (auto& w : warnings) run.report.warnings.push_back(std::move(w));
  if (stop.reason == StopReason::kSignal) run.report.warnings.push_back("the run was " + why);
  if (stop.reason == StopReason::kCollectorExited) run.report.warnings.push_back("the run stopped early: " + why);
  if (explainer) run.neutron = explainer->attribute(run);
  store_live_run(store, run_id, run, meta);
  return run;
}

Run correlate(std::vector<Point> points, const CorrelateOptions& co, Store& store, const Report& meta_in) {
  Report meta = meta_in;
  for (Point& p : points) p.source = "live";
  meta.points = points;
  server::Collection col(points, true);
  server::ServerOptions so;
  so.listen = co.listen;
  so.token = co.token;
  so.require_token = co.require_token;
  so.limits = co.limits;
  so.admit = [&col](const wire::Hello& h) { return col.admit(h); };
  so.release = [&col](const wire::Hello& h) { col.release(h); };
  so.on_signal = [](int sig) { stop_signal().store(sig); };
  so.log = [](const std::string& line) { Console::err().line("pathtrace correlator: " + line); };
  so.info = co.quiet ? std::function<void(const std::string&)>([](const std::string&) {}) : so.log;
  server::Server srv(so, col);
  srv.start();
  if (co.from_stdin) {
    const int fd = ::dup(STDIN_FILENO);
    if (fd < 0) throw Error(ExitCode::kInternal, "cannot duplicate stdin: " + std::string(std::strerror(errno)));
    srv.add_stream(fd, "stdin");
  }
  std::string labels;
  for (const auto& p : points) labels += (labels.empty() ? "" : ",") + p.label;
  if (!so.listen.empty())
    Console::err().line("pathtrace correlate: listening on " + srv.address() + " for points " + labels);
  else
    Console::err().line("pathtrace correlate: reading stdin for points " + labels);
  const int64_t run_id = store.begin_run(meta);
  Stager stager(store, run_id, col, co.memory, co.spill_dir);
  const auto start = Clock::now();
  Stop stop{StopReason::kAllEnded};
  for (;;) {
    std::this_thread::sleep_for(100ms);
    if (const int sig = stop_signal().load()) {
      stop = Stop{StopReason::kSignal, sig, {}, 0};
      break;
    }
    if (stager.failed()) break;  // flush_or_fail() below says why
    if (co.duration_ms && Clock::now() - start >= std::chrono::milliseconds(co.duration_ms)) {
      stop = Stop{StopReason::kDuration};
      break;
    }
    const auto st = col.status();
    bool all_done = true;
    for (const auto& s : st) all_done = all_done && s.connected && s.ended;
    if (all_done) break;
    // Standard input alone, and it has ended (its collector said BYE, or it closed before
    // saying HELLO: ssh could not connect, the command failed): nothing more can come.
    if (so.listen.empty() && srv.wait_idle(0ms)) break;
  }
  if (so.listen.empty() && stop.reason == StopReason::kAllEnded) {
    const auto st = col.status();
    if (std::none_of(st.begin(), st.end(), [](const auto& s) { return s.connected; })) {
      srv.stop();
      stager.stop_and_flush();
      store.delete_run(run_id);
      throw Error(ExitCode::kCapture,
                  "standard input ended before a collector said HELLO: nothing was captured for point " + labels +
                      " (is `pathtrace collect … --stdout` writing into the pipe? its own error is on its "
                      "standard error)");
    }
  }
  srv.stop_collectors("correlator finished");
  srv.wait_idle(5s);
  srv.stop();
  flush_or_fail(stager, store, run_id);
  server::Collected c = col.take();
  std::unique_ptr<SightingParts> spilled = stager.take_spilled(c.sightings);
  if (spilled) std::vector<Sighting>().swap(c.sightings);
  check_run_size(spilled ? spilled->size() : c.sightings.size());
  Collected in{std::move(c.points), std::move(c.chains), std::move(c.sightings), {}, {}, std::move(c.warnings),
               std::move(spilled)};
  JudgeOptions jo;
  for (auto& line : apply_windows(co.stated, in.points, std::vector<bool>(in.points.size()), jo.analysis))
    in.warnings.push_back(std::move(line));
  for (const auto& clock : co.stated.clocks) {
    const std::string& host = clock.first;
    if (std::any_of(in.points.begin(), in.points.end(), [&](const Point& p) { return p.host == host; }))
      jo.given_offsets[host] = clock.second;
    else
      in.warnings.push_back("--clock " + host + ": no point was on host " + host + ": not used");
  }
  Run run = judge(std::move(in), jo);
  if (stop.reason == StopReason::kSignal) run.report.warnings.push_back("the run was " + describe(stop));
  store_live_run(store, run_id, run, meta);
  return run;
}

}  // namespace pathtrace::pipeline
