#include "correlator/evidence/timeline.hpp"
#include "correlator/report/render.hpp"
#include "correlator/evidence/trips.hpp"
#include "collector/common/clock.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/report/text.hpp"
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
  std::map<uint32_t, std::string> stacks;  // by stack id: those of the rows printed
};

const std::string& stack_name(const RunView& v, uint32_t id) {
  static const std::string kUnknown = "?";
  const auto it = v.stacks.find(id);
  return it != v.stacks.end() ? it->second : kUnknown;
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

std::string micros(int64_t ns) {
  if (ns % 1000 == 0) return std::to_string(ns / 1000);  // µs captures: no false precision
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", double(ns) / 1000.0);
  return buf;
}

// The rows as a table: time, point, role, interface, stack, length, delay, digest (and flow).
report::Table rows_table(const RunView& v, const std::vector<TimelineRow>& rows, bool show_flow) {
  const Report& r = v.report;
  std::vector<std::string> head = {"time (UTC)", "point", "role", "interface", "stack", "len",
                                   "since prev point (µs)", "packet"};
  std::vector<std::string> keys = {"time", "point", "role", "interface", "stack", "len", "since_prev_point_us", "packet"};
  std::vector<bool> right = {false, false, false, false, false, true, true, false, true};
  if (show_flow) {
    head.push_back("flow");
    keys.push_back("flow");
  }
  report::Table t(head, right, keys);
  for (const auto& row : rows) {
    const Point* p = row.ord < r.points.size() ? &r.points[row.ord] : nullptr;
    std::string delay = "-";
    if (row.prev_ord != kNoPoint && row.prev_ord < r.points.size())
      delay = r.points[row.prev_ord].label + "→" + (p ? p->label : "?") + " " +
              (row.delay_ns >= 0 ? "+" : "") + micros(row.delay_ns);
    std::vector<std::string> c = {format_utc(row.ts_ns, 9), p ? p->label : "?", p ? p->role : "",
                                  p ? point_where(*p) : "", stack_name(v, row.stack_id),
                                  std::to_string(row.wire_len), delay, hex(row.digest)};
    if (show_flow) c.push_back(std::to_string(row.flow));
    t.add(std::move(c));
  }
  return t;
}

// Prints a titled table as text, or as {"run", "title", "total", "shown", "rows"} JSON.
void emit(std::ostream& out, bool json, int64_t run, const std::string& title, std::size_t total,
          const report::Table& t, const std::vector<bool>& numeric, const std::vector<std::string>& notes) {
  if (json) {
    nlohmann::ordered_json j;
    j["run"] = run;
    j["title"] = title;
    j["total"] = total;
    j["shown"] = t.size();
    j["rows"] = t.to_json(numeric);
    j["notes"] = notes;
    out << j.dump(2) << "\n";
    return;
  }
  if (t.size()) t.print(out);
  for (const auto& n : notes) out << n << "\n";
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

void print_timeline(std::ostream& out, Store& store, const TimelineQuery& q) {
  const std::optional<uint64_t> digest = q.packet;
  const std::size_t limit = q.limit;
  // A capturing or interrupted run has no traversals stored yet: analysed from what it committed.
  const StoredRun stored = open_run(store, q.run, kPacketScope);
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
    std::cerr << "pathtrace timeline: run " << run
              << (stored.status == RunStatus::kCapturing ? " is still capturing" : stored.status == RunStatus::kFailed ? " failed" : " was interrupted")
              << ": its timeline is analysed from the sightings committed so far\n";
  }
  if (q.flow) check_flow(r, *q.flow);
  // The names of the flows and stacks the output shows (a busy run has millions: read those).
  auto name_flows = [&](std::vector<uint32_t> ids) { store.load_flows(r, ids); };
  auto name_stacks = [&](const std::vector<TimelineRow>& rows) {
    std::vector<uint32_t> ids;
    for (const auto& row : rows) ids.push_back(row.stack_id);
    if (!analysed) {
      view.stacks = store.stacks(run, ids);
      return;
    }
    const auto& chains = stored.analysed->chains;
    for (uint32_t id : ids)
      if (id < chains.size()) view.stacks.emplace(id, chains[id].stack);
  };

  auto scan = [&](auto&& want, auto&& f) { scan_trips(store, stored, Trips::kAll, want, f); };
  const std::string run_name = "run " + std::to_string(run);

  if (q.lost) {
    std::vector<Trip> lost;
    std::size_t total = 0;
    std::map<uint8_t, std::size_t> by_last;
    scan_trips(store, stored, Trips::kLost, [&](const Traversal& t) { return point == kNoPoint || t.last_seen == point; },
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
    std::vector<uint32_t> flows;
    for (const auto& x : lost) flows.push_back(x.t.flow);
    name_flows(std::move(flows));
    std::string head = run_name + " · " + std::to_string(total) + " lost packet" + (total == 1 ? "" : "s") +
                       (point != kNoPoint ? " last seen at " + r.points[point].label : "");
    if (lost.size() < total) head += " · showing the first " + std::to_string(lost.size()) + " (--limit 0 for all)";
    if (!q.json) out << head << "\n";
    if (total == 0 && !q.json) return;
    report::Table t({"entered (UTC)", "packet", "flow", "dir", "entered at", "last seen at", "lost before", "len", "seen by"},
                    {false, false, false, false, false, false, false, true, false},
                    {"entered", "packet", "flow", "dir", "entered_at", "last_seen_at", "lost_before", "len", "seen_by"});
    for (const auto& x : lost) {
      std::string seen;
      for (std::size_t o = 0; o < r.points.size(); ++o)
        if (x.t.seen >> o & 1) seen += r.points[o].label;
      if (x.t.dir == Dir::kReverse) std::reverse(seen.begin(), seen.end());
      t.add({format_utc(x.t.t0_ns, 9), hex(x.t.digest), std::to_string(x.t.flow) + " " + flow_label(r, x.t.flow),
             x.t.dir == Dir::kForward ? "forward" : "reverse",
             x.t.entry < r.points.size() ? r.points[x.t.entry].label : "-", point_name(r, x.t.last_seen),
             point_name(r, next_point(r, x.t.last_seen, x.t.dir)), std::to_string(x.t.wire_len), seen});
    }
    std::vector<std::string> notes;
    for (const auto& [ord, n] : by_last) notes.push_back("last seen at " + point_name(r, ord) + ": " + std::to_string(n));
    emit(out, q.json, run, head, total, t, {false, false, false, false, false, false, false, true, false}, notes);
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
  std::vector<std::string> traversal_lines;  // one packet: what became of each of its traversals
  if (digest) {
    title = "packet " + hex(*digest);
    if (analysed) {
      scan([&](const Traversal& t) { return t.digest == *digest; }, collect);
    } else {
      std::vector<FoundTraversal> found = store.find_packet(run, *digest);
      std::vector<uint32_t> flows;
      for (const FoundTraversal& f : found) flows.push_back(f.traversal.flow);
      name_flows(std::move(flows));
      for (FoundTraversal& f : found) {
        Trip trip{f.id, f.traversal, std::move(f.sightings)};
        collect(trip);
        std::string line = run_name + " · packet " + hex(*digest) + " · traversal " + std::to_string(f.id) + " · " +
                           flow_label(r, f.traversal.flow) + " · " + fate_name(f.traversal.fate);
        if (f.traversal.fate == Fate::kLost)
          line += ": last seen at " + point_name(r, f.traversal.last_seen) + ", never at " +
                  point_name(r, next_point(r, f.traversal.last_seen, f.traversal.dir));
        traversal_lines.push_back(std::move(line));
      }
    }
    if (packets == 0)
      throw Error(ExitCode::kUsage, run_name + " has no packet " + hex(*digest) +
                                        " (digests: pathtrace timeline --run " +
                                        std::to_string(run) + " or --lost)");
  } else if (one_flow) {
    name_flows({flow});
    title = "flow " + std::to_string(flow) + " " + flow_label(r, flow);
    scan([&](const Traversal& t) { return in_flow(t, flow); }, collect);
  } else {
    title = "all flows";
    scan([](const Traversal&) { return true; }, collect);
  }
  keep_earliest(rows, limit, true);
  std::sort(rows.begin(), rows.end(), row_before);
  name_stacks(rows);
  std::string head = run_name + " · " + title + " · " + std::to_string(total) + " sighting" + (total == 1 ? "" : "s") +
                     " of " + std::to_string(packets) + " packet" + (packets == 1 ? "" : "s") +
                     (point != kNoPoint ? " at " + r.points[point].label : "");
  if (rows.size() < total) head += " · showing the first " + std::to_string(rows.size()) + " (--limit 0 for all)";
  if (!q.json) {
    for (const auto& l : traversal_lines) out << l << "\n";
    if (!digest || analysed) out << head << "\n";
  }
  emit(out, q.json, run, head, total, rows_table(view, rows, !one_flow && !digest),
       {false, false, false, false, false, true, false, false, true}, q.json ? traversal_lines : std::vector<std::string>{});
}

}  // namespace pathtrace::evidence
