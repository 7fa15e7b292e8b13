#include "correlator/evidence/timeline.hpp"
#include "correlator/report/render.hpp"
#include "correlator/evidence/trips.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <string_view>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::evidence {

using report::flow_label;
using report::point_where;

namespace {


// One sighting of one traversal, as the timeline prints it.
struct TimelineRow {
  int64_t ts_ns = 0;
  uint32_t traversal = 0;
  uint64_t digest = 0;
  uint32_t flow = 0;
  uint32_t stack_id = 0;
  uint16_t wire_len = 0;
  uint8_t ord = 0;
  uint8_t prev_ord = kNoPoint;  // previous point on the same host that saw this packet
  int64_t delay_ns = 0;         // since prev_ord saw it
};

// What a run's timeline is made of: the report (points, flows) and the layer stacks.
struct RunView {
  Report report;
  std::vector<std::string> stacks;  // by stack id
};

const std::string& stack_name(const RunView& v, uint32_t id) {
  static const std::string kUnknown = "?";
  return id < v.stacks.size() ? v.stacks[id] : kUnknown;
}

std::string hex(uint64_t d) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d));
  return buf;
}

// The trip's sightings as rows in time order, each with the delay since the previous point
// on the same host that saw the packet.
void trip_rows(const Report& r, Trip& trip, std::vector<TimelineRow>& out) {
  std::stable_sort(trip.sightings.begin(), trip.sightings.end(),
                   [](const PacketSighting& a, const PacketSighting& b) { return a.ts_ns < b.ts_ns; });
  for (std::size_t i = 0; i < trip.sightings.size(); ++i) {
    const PacketSighting& s = trip.sightings[i];
    TimelineRow row;
    row.ts_ns = s.ts_ns;
    row.traversal = trip.id;
    row.digest = trip.t.digest;
    row.flow = trip.t.flow;
    row.stack_id = s.stack_id;
    row.wire_len = s.wire_len;
    row.ord = s.ord;
    const std::string* host = s.ord < r.points.size() ? &r.points[s.ord].host : nullptr;
    for (std::size_t k = i; k-- > 0;) {
      const PacketSighting& p = trip.sightings[k];
      if (p.ord == s.ord || p.ord >= r.points.size() || !host) continue;
      if (r.points[p.ord].host != *host) continue;
      row.prev_ord = p.ord;
      row.delay_ns = s.ts_ns - p.ts_ns;
      break;
    }
    out.push_back(row);
  }
}

bool row_before(const TimelineRow& a, const TimelineRow& b) {
  if (a.ts_ns != b.ts_ns) return a.ts_ns < b.ts_ns;
  if (a.traversal != b.traversal) return a.traversal < b.traversal;
  return a.ord < b.ord;
}

// Keeps the `limit` earliest rows (limit 0: all) without holding millions of them.
void keep_earliest(std::vector<TimelineRow>& rows, std::size_t limit, bool final) {
  if (limit == 0 || (!final && rows.size() < 2 * limit + 4096)) return;
  if (rows.size() > limit) {
    std::nth_element(rows.begin(), rows.begin() + std::ptrdiff_t(limit), rows.end(), row_before);
    rows.resize(limit);
  }
}

// Display width of UTF-8 text: its code points ("→" is one column).
std::size_t width(const std::string& s) {
  std::size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps;
}

// `s` padded with spaces to `w` columns, on the left when `right`.
std::string align(const std::string& s, std::size_t w, bool right) {
  const std::size_t n = width(s);
  if (n >= w) return s;
  return right ? std::string(w - n, ' ') + s : s + std::string(w - n, ' ');
}

// Prints rows of cells as columns two spaces apart; `right[i]` aligns column i right. The
// last column is not padded.
void print_columns(std::ostream& out, const std::vector<std::vector<std::string>>& cells,
                   const std::vector<bool>& right) {
  if (cells.empty()) return;
  std::vector<std::size_t> w(cells.front().size(), 0);
  for (const auto& c : cells)
    for (std::size_t i = 0; i < c.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(c[i]));
  for (const auto& c : cells) {
    std::string line;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const bool r = i < right.size() && right[i];
      line += (i ? "  " : "") + (i + 1 == c.size() && !r ? c[i] : align(c[i], w[i], r));
    }
    out << line << "\n";
  }
}

std::string micros(int64_t ns) {
  if (ns % 1000 == 0) return std::to_string(ns / 1000);  // µs captures: no false precision
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", double(ns) / 1000.0);
  return buf;
}

void print_rows(std::ostream& out, const RunView& v, const std::vector<TimelineRow>& rows,
                bool show_flow) {
  const Report& r = v.report;
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"time (UTC)", "point", "role", "interface", "stack", "len",
                   "since prev point (µs)", "packet"});
  if (show_flow) cells.front().push_back("flow");
  for (const auto& row : rows) {
    const Point* p = row.ord < r.points.size() ? &r.points[row.ord] : nullptr;
    std::string delay = "-";
    if (row.prev_ord != kNoPoint && row.prev_ord < r.points.size())
      delay = r.points[row.prev_ord].label + "→" + (p ? p->label : "?") + " " +
              (row.delay_ns >= 0 ? "+" : "") + micros(row.delay_ns);
    std::vector<std::string> c = {iso_time_ns(row.ts_ns), p ? p->label : "?", p ? p->role : "",
                                  p ? point_where(*p) : "", stack_name(v, row.stack_id),
                                  std::to_string(row.wire_len), delay, hex(row.digest)};
    if (show_flow) c.push_back(std::to_string(row.flow));
    cells.push_back(std::move(c));
  }
  print_columns(out, cells, {false, false, false, false, false, true, true, false, true});
}

const char* fate_name(Fate f) {
  switch (f) {
    case Fate::kDelivered: return "delivered";
    case Fate::kLost: return "lost";
    case Fate::kOutOfWindow: return "out of window";
    case Fate::kNoEntry: return "no entry";
  }
  return "?";
}

std::string point_name(const Report& r, uint8_t ord) {
  if (ord == kNoPoint || ord >= r.points.size()) return "-";
  const Point& p = r.points[ord];
  return p.label + (p.role.empty() ? "" : " " + p.role) + " " + point_where(p);
}

}  // namespace

std::optional<uint64_t> parse_digest(const std::string& text) {
  std::string_view s = text;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string iso_time_ns(int64_t ts_ns) {
  int64_t sec = ts_ns / 1'000'000'000, ns = ts_ns % 1'000'000'000;
  if (ns < 0) {
    ns += 1'000'000'000;
    --sec;
  }
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns));
  return buf;
}

void print_timeline(std::ostream& out, Store& store, const TimelineQuery& q) {
  const std::optional<uint64_t> digest = q.packet;
  const std::size_t limit = q.limit;
  // A capturing or interrupted run has no traversals stored yet: analysed from what it committed.
  const StoredRun stored = open_run(store, q.run);
  RunView view;
  view.report = stored.report;
  Report& r = view.report;
  const int64_t run = r.run_id;

  uint8_t point = kNoPoint;
  if (!q.point.empty()) {
    const std::string& label = q.point;
    for (const auto& p : r.points)
      if (p.label == label) point = p.ord;
    if (point == kNoPoint) {
      std::string known;
      for (const auto& p : r.points) known += (known.empty() ? "" : ",") + p.label;
      throw Error(ExitCode::kUsage, "run " + std::to_string(run) + " has no point " + label +
                                        " (points: " + known + ")");
    }
  }

  const bool analysed = stored.analysed.has_value();
  if (analysed) {
    for (const auto& c : stored.analysed->chains) view.stacks.push_back(c.stack);
    std::cerr << "pathtrace timeline: run " << run
              << (stored.status == RunStatus::kCapturing ? " is still capturing" : " was interrupted")
              << ": its timeline is analysed from the sightings committed so far\n";
  } else {
    view.stacks = store.stacks(run);
  }
  if (q.flow) check_flow(r, *q.flow);

  auto scan = [&](auto&& want, auto&& f) { scan_trips(store, stored, want, f); };
  const std::string run_name = "run " + std::to_string(run);

  if (q.lost) {
    std::vector<Trip> lost;
    std::size_t total = 0;
    std::map<uint8_t, std::size_t> by_last;
    scan([&](const Traversal& t) { return t.fate == Fate::kLost && (point == kNoPoint || t.last_seen == point); },
         [&](Trip& trip) {
           ++total;
           ++by_last[trip.t.last_seen];
           lost.push_back(trip);
           if (limit && lost.size() >= 2 * limit + 4096) {
             std::nth_element(lost.begin(), lost.begin() + std::ptrdiff_t(limit), lost.end(),
                              [](const Trip& a, const Trip& b) { return a.t.t0_ns < b.t.t0_ns; });
             lost.resize(limit);
           }
         });
    std::sort(lost.begin(), lost.end(),
              [](const Trip& a, const Trip& b) { return a.t.t0_ns < b.t.t0_ns || (a.t.t0_ns == b.t.t0_ns && a.id < b.id); });
    if (limit && lost.size() > limit) lost.resize(limit);
    out << run_name << " · " << total << " lost packet" << (total == 1 ? "" : "s")
        << (point != kNoPoint ? " last seen at " + r.points[point].label : "");
    if (lost.size() < total) out << " · showing the first " << lost.size() << " (--limit 0 for all)";
    out << "\n";
    if (total == 0) return;
    std::vector<std::vector<std::string>> cells = {
        {"entered (UTC)", "packet", "flow", "dir", "entered at", "last seen at", "lost before", "len", "seen by"}};
    for (const auto& t : lost) {
      std::string seen;
      for (std::size_t o = 0; o < r.points.size(); ++o)
        if (t.t.seen >> o & 1) seen += r.points[o].label;
      if (t.t.dir == Dir::kReverse) std::reverse(seen.begin(), seen.end());
      cells.push_back({iso_time_ns(t.t.t0_ns), hex(t.t.digest),
                       std::to_string(t.t.flow) + " " + flow_label(r, t.t.flow),
                       t.t.dir == Dir::kForward ? "forward" : "reverse",
                       t.t.entry < r.points.size() ? r.points[t.t.entry].label : "-",
                       point_name(r, t.t.last_seen),
                       point_name(r, next_point(r, t.t.last_seen, t.t.dir)),
                       std::to_string(t.t.wire_len), seen});
    }
    print_columns(out, cells, {false, false, false, false, false, false, false, true, false});
    for (const auto& [ord, n] : by_last)
      out << "last seen at " << point_name(r, ord) << ": " << n << "\n";
    return;
  }

  std::vector<TimelineRow> rows;
  std::size_t total = 0, packets = 0;
  const bool one_flow = q.flow.has_value();
  const uint32_t flow = q.flow.value_or(0);
  auto collect = [&](Trip& trip) {
    ++packets;
    const std::size_t before = rows.size();
    trip_rows(r, trip, rows);
    if (point != kNoPoint)
      rows.erase(std::remove_if(rows.begin() + std::ptrdiff_t(before), rows.end(),
                                [&](const TimelineRow& x) { return x.ord != point; }),
                 rows.end());
    total += rows.size() - before;
    keep_earliest(rows, limit, false);
  };

  std::string title;
  if (digest) {
    title = "packet " + hex(*digest);
    if (analysed) {
      scan([&](const Traversal& t) { return t.digest == *digest; }, collect);
    } else {
      for (FoundTraversal& f : store.find_packet(run, *digest)) {
        Trip trip{f.id, f.traversal, std::move(f.sightings)};
        collect(trip);
        out << run_name << " · packet " << hex(*digest) << " · traversal " << f.id << " · "
            << flow_label(r, f.traversal.flow) << " · " << fate_name(f.traversal.fate);
        if (f.traversal.fate == Fate::kLost)
          out << ": last seen at " << point_name(r, f.traversal.last_seen) << ", never at "
              << point_name(r, next_point(r, f.traversal.last_seen, f.traversal.dir));
        out << "\n";
      }
    }
    if (packets == 0)
      throw Error(ExitCode::kUsage, run_name + " has no packet " + hex(*digest) +
                                        " (digests: pathtrace timeline --run " +
                                        std::to_string(run) + " or --lost)");
  } else if (one_flow) {
    title = "flow " + std::to_string(flow) + " " + flow_label(r, flow);
    scan([&](const Traversal& t) { return in_flow(t, flow); }, collect);
  } else {
    title = "all flows";
    scan([](const Traversal&) { return true; }, collect);
  }
  keep_earliest(rows, limit, true);
  std::sort(rows.begin(), rows.end(), row_before);
  if (!digest || analysed) {
    out << run_name << " · " << title << " · " << total << " sighting" << (total == 1 ? "" : "s")
        << " of " << packets << " packet" << (packets == 1 ? "" : "s")
        << (point != kNoPoint ? " at " + r.points[point].label : "");
    if (rows.size() < total) out << " · showing the first " << rows.size() << " (--limit 0 for all)";
    out << "\n";
  }
  if (!rows.empty()) print_rows(out, view, rows, !one_flow && !digest);
}

}  // namespace pathtrace::evidence
