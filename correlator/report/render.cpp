#include "correlator/report/render.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "correlator/report/text.hpp"

namespace pathtrace::report {
namespace {

const char* dir_name(Dir d) { return d == Dir::kForward ? "forward" : "reverse"; }


// The first usable point after `from` along `dir` (an unusable point is skipped over), or
// `from`'s own neighbour when there is none.
unsigned next_usable(const Report& r, unsigned from, Dir dir) {
  const unsigned n = unsigned(r.points.size());
  unsigned o = from;
  do {
    o = dir == Dir::kForward ? o + 1 : o - 1;
  } while (o < n && !r.points[o].health.usable);
  if (o < n) return o;
  return dir == Dir::kForward ? std::min(from + 1, n - 1) : (from ? from - 1 : 0);
}

std::string inner_summary(const Report& r, const FlowResult& f) {
  if (f.inner_flows.empty()) return {};
  std::string s = "  (inner: ";
  if (f.inner_flows.size() == 1) return s + flow_label(r, f.inner_flows[0]) + ")";
  return s + std::to_string(f.inner_flows.size()) + " flows, e.g. " +
         flow_label(r, f.inner_flows[0]) + ")";
}

// A delay in the unit that reads best: "+12 µs", "+1.5 ms", "-0.3 s".
std::string delay_text(int64_t ns) {
  char buf[32];
  const double a = double(ns < 0 ? -ns : ns);
  const char* sign = ns < 0 ? "-" : "+";
  if (a < 1e3) std::snprintf(buf, sizeof buf, "%s%lld ns", sign, static_cast<long long>(a));
  else if (a < 1e6) std::snprintf(buf, sizeof buf, "%s%.0f µs", sign, a / 1e3);
  else if (a < 1e9) std::snprintf(buf, sizeof buf, "%s%.1f ms", sign, a / 1e6);
  else std::snprintf(buf, sizeof buf, "%s%.2f s", sign, a / 1e9);
  return buf;
}

// The table of one flow: every point in travel direction with what it saw of the flow (all
// its packets, and those judged), the delay from the previous point, and the hop's loss.
void print_table(std::ostream& out, const Report& r, const FlowResult& f) {
  out << flow_label(r, f.flow) << inner_summary(r, f) << "\n";
  const auto ords = travel(r, f.dir);
  Table t({"point", "role", "where", "seen", "judged", "delay", ""}, {false, false, false, true, true, true, false});
  for (std::size_t i = 0; i < ords.size(); ++i) {
    const uint8_t o = ords[i];
    const Point& p = r.points[o];
    std::string delay, note;
    if (i > 0 && i - 1 < f.hops.size()) {
      const HopStat& h = f.hops[i - 1];
      if (h.delay_samples) delay = delay_text(h.delay_mean_ns);
      if (h.lost > 0) {
        std::ostringstream pct;
        pct << std::fixed << std::setprecision(h.loss_pct() >= 99.95 || h.lost == h.in ? 0 : 1) << h.loss_pct();
        const uint8_t to = uint8_t(next_usable(r, h.from, f.dir));
        note = std::string(h.inconclusive ? "? " : "✗ ") + std::to_string(h.lost) + " lost between " +
               r.points[h.from].label + " and " + r.points[to].label + " (" + pct.str() + "%)" +
               (h.assumed ? ", " + std::to_string(h.assumed) + " of them assumed" : "") +
               (h.inconclusive ? " — inconclusive: " + h.why : "");
      }
    }
    if (!p.health.usable) note += std::string(note.empty() ? "" : "; ") + "not evidence: " + name(p.health.problem);
    if (o < f.holes_at.size() && f.holes_at[o] > 0)
      note += std::string(note.empty() ? "" : "; ") + "? missed " + std::to_string(f.holes_at[o]) +
              " that passed (capture problem here)";
    t.add({p.label, p.role, point_where(p), std::to_string(o < f.seen_any.size() ? f.seen_any[o] : 0),
           std::to_string(o < f.seen_at.size() ? f.seen_at[o] : 0), delay, note});
  }
  t.print(out, "  ");
  out << "  → " << f.summary << "\n";
  for (const auto& a : f.assumptions) out << "  assumes (" << a.kind << "): " << a.text << "\n";
  for (const auto& x : f.translations)
    out << "  translated between " << r.points[x.from].label << " and " << r.points[x.to].label << ": " << x.before
        << " → " << x.after << " (" << x.packets << " packets paired)\n";
  for (const auto& s : f.findings) out << "  · " << s << "\n";
  if (f.out_of_window || f.no_entry || f.duplicates || f.aggregated) {
    out << "  not judged: " << f.out_of_window << " lost where the next point was not capturing, "
        << f.no_entry << " not seen where they entered the path";
    if (f.aggregated) out << ", " << f.aggregated << " aggregates (TSO/GSO) where they entered";
    out << "; " << f.duplicates << " duplicate sightings\n";
  }
}

}  // namespace

std::vector<uint8_t> travel(const Report& r, Dir d) {
  std::vector<uint8_t> ords(r.points.size());
  for (std::size_t i = 0; i < ords.size(); ++i)
    ords[i] = static_cast<uint8_t>(d == Dir::kForward ? i : ords.size() - 1 - i);
  return ords;
}

std::string flow_label(const Report& r, uint32_t id) {
  const Flow* f = r.flow(id);
  return f ? f->label() : "flow " + std::to_string(id);
}

std::string point_where(const Point& p) {
  std::string w = p.iface.empty() ? p.source.substr(p.source.find_last_of('/') + 1) : p.iface;
  if (!p.host.empty() && p.host != "local") w += "@" + p.host;
  return w;
}

std::string address_text(const packet::FlowKey& k, const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(k.version == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
  return buf;
}

// Packets lost, blamed on a hop or not (inconclusive): exit 1.
bool has_loss(const Report& r) { return std::any_of(r.results.begin(), r.results.end(), interesting); }

std::string headline(const Report& r) {
  for (const auto& f : r.results)
    if (interesting(f)) return flow_label(r, f.flow) + ": " + f.summary;
  std::size_t delivered = r.omitted.delivered;
  for (const auto& f : r.results) delivered += f.verdict == VerdictKind::kDelivered;
  if (delivered)
    return "delivered: every judged packet of " + std::to_string(delivered) +
           (delivered == 1 ? " flow" : " flows") + " reached the far end";
  return "nothing judged: no packet was seen at an end of the path inside the common window";
}

void print_text(std::ostream& out, const Report& r, const RenderOptions& opt) {
  out << (r.run_id ? "run " + std::to_string(r.run_id) + " · " : "") << r.points.size()
      << (r.points.size() == 1 ? " point " : " points ");
  for (std::size_t i = 0; i < r.points.size(); ++i) out << (i ? "," : "") << r.points[i].label;
  out << " · filter " << (r.filter.empty() ? "none" : r.filter) << " · " << r.sightings
      << " sightings · " << r.result_count() << (r.result_count() == 1 ? " flow" : " flows")
      << "\n";
  bool any_table = false;
  for (const auto& f : r.results) {
    if (!interesting(f) && !opt.all_flows) continue;
    print_table(out, r, f);
    any_table = true;
  }
  if (!any_table && !r.results.empty()) {  // nothing lost: show the busiest flow's table
    print_table(out, r, r.results.front());
    any_table = true;
  }
  std::size_t shown = 0, skipped = 0;
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& f = r.results[i];
    if (interesting(f) || opt.all_flows || (i == 0 && !has_loss(r) && !interesting(f))) continue;
    if (!opt.all_flows && shown >= kListedFlows) {
      ++skipped;
      continue;
    }
    ++shown;
    // From the first to the last point whose capture is evidence, in travel direction.
    std::vector<uint8_t> ords = travel(r, f.dir);
    std::erase_if(ords, [&](uint8_t o) { return !r.points[o].health.usable; });
    if (ords.empty()) ords = travel(r, f.dir);
    out << (f.verdict == VerdictKind::kDelivered ? "delivered   " : "not judged  ")
        << flow_label(r, f.flow) << "  " << f.judged << " packets "
        << r.points[ords.front()].label << "→" << r.points[ords.back()].label;
    if (f.verdict != VerdictKind::kDelivered) out << " (" << f.summary << ")";
    for (const auto& x : f.translations)
      out << " (translated between " << r.points[x.from].label << " and " << r.points[x.to].label << ": " << x.before
          << " → " << x.after << ")";
    if (f.aggregated)
      out << " (" << f.aggregated << " TSO/GSO aggregates at " << r.points[ords.front()].label << " and the "
          << f.no_entry << " segments seen after it not judged)";
    out << "\n";
  }
  skipped += r.omitted.results;
  if (skipped) out << "… and " << skipped << " more flows (--all shows every flow)\n";
  for (const auto& w : r.warnings) out << "warning: " << w << "\n";
  out << "verdict: " << headline(r) << "\n";
  if (!opt.db_path.empty() && r.run_id)
    out << "stored as run " << r.run_id << " in " << opt.db_path
        << " — try: pathtrace report --db " << opt.db_path << " --run " << r.run_id
        << " --json\n";
}

namespace {

using J = nlohmann::ordered_json;

// `v` as dump(2) prints it `depth` levels down in a document (its lines after the first
// indented 2 * depth spaces more; a string never holds a raw newline in JSON).
void put(std::ostream& out, const J& v, int depth) {
  const std::string text = v.dump(2);
  const std::string pad(std::size_t(2 * depth), ' ');
  std::size_t from = 0;
  for (std::size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1)
    out.write(text.data() + from, std::streamsize(nl + 1 - from)) << pad;
  out.write(text.data() + from, std::streamsize(text.size() - from));
}

// One member of the top-level object: `,` after the previous one, then `"key": value`.
void member(std::ostream& out, bool& first, const char* key, const J& v) {
  out << (first ? "\n  \"" : ",\n  \"") << key << "\": ";
  first = false;
  put(out, v, 1);
}

// A member whose value is an array, written element by element: each(element) writes one.
template <typename Each>
void array_member(std::ostream& out, bool& first, const char* key, Each&& each) {
  out << (first ? "\n  \"" : ",\n  \"") << key << "\": [";
  first = false;
  bool any = false;
  each([&](const J& v) {
    out << (any ? ",\n    " : "\n    ");
    put(out, v, 2);
    any = true;
  });
  out << (any ? "\n  ]" : "]");
}

J point_json(const Point& p) {
  J d = J::object();
  for (std::size_t i = 1; i < packet::kStatusCount; ++i)
    d[std::string(packet::name(static_cast<packet::Status>(i)))] = p.discarded[i];
  return {{"label", p.label},         {"ord", p.ord},
          {"role", p.role},           {"host", p.host},
          {"netns", p.netns},         {"iface", p.iface},
          {"source", p.source},       {"packets", p.packets},
          {"bytes", p.bytes},         {"digested", p.digested},
          {"filtered", p.filtered},   {"discarded", d},
          {"pcap_drop", p.pcap_drop}, {"if_drop", p.if_drop},
          {"records_lost", p.records_lost}, {"over_mtu", p.over_mtu},
          {"capture_loss", p.capture_loss()},
          {"start_ns", p.start_ns},   {"end_ns", p.end_ns},
          {"window_known", p.window_known},
          {"first_frame_ns", p.first_frame_ns}, {"last_frame_ns", p.last_frame_ns},
          {"snaplen", p.snaplen},
          {"clock_offset_ns", p.clock_offset_ns}, {"clock_unknown", p.clock_unknown},
          {"health", {{"usable", p.health.usable}, {"problem", name(p.health.problem)},
                      {"detail", p.health.detail}}}};
}

J flow_json(const Flow& f) {
  return {{"id", f.id},
          {"parent", f.parent},
          {"label", f.label()},
          {"ip_version", f.key.version},
          {"proto", f.key.proto},
          {"src", address_text(f.key, f.key.src)},
          {"dst", address_text(f.key, f.key.dst)},
          {"sport", f.key.sport},
          {"dport", f.key.dport}};
}

J result_json(const Report& r, const FlowResult& f, const std::string& label) {
  J path = J::array(), seen = J::object(), holes = J::object(), seen_any = J::object(), hops = J::array();
  for (uint8_t o : travel(r, f.dir)) {
    path.push_back(r.points[o].label);
    seen[r.points[o].label] = o < f.seen_at.size() ? f.seen_at[o] : 0;
    holes[r.points[o].label] = o < f.holes_at.size() ? f.holes_at[o] : 0;
    seen_any[r.points[o].label] = o < f.seen_any.size() ? f.seen_any[o] : 0;
  }
  for (const auto& h : f.hops)
    hops.push_back({{"from", r.points[h.from].label},
                    {"to", r.points[h.to].label},
                    {"in", h.in},
                    {"out", h.out},
                    {"lost", h.lost},
                    {"loss_pct", h.loss_pct()},
                    {"inconclusive", h.inconclusive},
                    {"why", h.why},
                    {"assumed", h.assumed},
                    {"delay_samples", h.delay_samples},
                    {"delay_min_ns", h.delay_min_ns},
                    {"delay_mean_ns", h.delay_mean_ns}});
  J headline_hop = nullptr;
  if (f.hop >= 0 && std::size_t(f.hop) < f.hops.size())
    headline_hop = {{"from", r.points[f.hops[f.hop].from].label},
                    {"to", r.points[next_usable(r, f.hops[f.hop].from, f.dir)].label}};
  J assumptions = J::array(), translations = J::array();
  for (const auto& a : f.assumptions) assumptions.push_back({{"kind", a.kind}, {"points", a.points}, {"text", a.text}});
  for (const auto& t : f.translations)
    translations.push_back({{"from", r.points[t.from].label}, {"to", r.points[t.to].label}, {"before", t.before},
                            {"after", t.after}, {"packets", t.packets},
                            {"text", "translated between " + r.points[t.from].label + " and " +
                                         r.points[t.to].label + ": " + t.before + " → " + t.after}});
  return {{"flow", f.flow},
          {"flow_label", label},
          {"direction", dir_name(f.dir)},
          {"path", path},
          {"traversals", f.traversals},
          {"judged", f.judged},
          {"delivered", f.delivered},
          {"lost", f.lost},
          {"out_of_window", f.out_of_window},
          {"no_entry", f.no_entry},
          {"duplicates", f.duplicates},
          {"seen_at", seen},
          {"holes_at", holes},
          {"hops", hops},
          {"verdict", name(f.verdict)},
          {"headline_hop", headline_hop},
          {"summary", f.summary},
          {"findings", f.findings},
          {"inner_flows", f.inner_flows},
          {"seen_any", seen_any},
          {"assumed", f.assumed},
          {"assumptions", assumptions},
          {"translations", translations},
          {"aggregated", f.aggregated}};
}

}  // namespace

void write_json(std::ostream& out, const Report& r) {
  write_json(
      out, r, [&](const FlowVisit& visit) { for (const Flow& f : r.flows) visit(f); },
      [&](const ResultVisit& visit) { for (const FlowResult& f : r.results) visit(f); });
}

void write_json(std::ostream& out, const Report& r, const EachFlow& flows, const EachResult& results) {
  // A partial report's flows are those it names: the labels come from the flows written.
  const bool whole = r.omitted.flows == 0;
  std::vector<std::string> labels;
  bool first = true;
  out << "{";
  member(out, first, "format", "pathtrace-report");
  member(out, first, "version", kReportJsonVersion);
  member(out, first, "run", r.run_id);
  member(out, first, "started", r.started);
  member(out, first, "command", r.command);
  member(out, first, "filter", r.filter);
  member(out, first, "window", J{{"start_ns", r.window_start_ns}, {"end_ns", r.window_end_ns}});
  member(out, first, "sightings", r.sightings);
  array_member(out, first, "points", [&](const auto& put_one) {
    for (const Point& p : r.points) put_one(point_json(p));
  });
  array_member(out, first, "flows", [&](const auto& put_one) {
    flows([&](const Flow& f) {
      if (!whole) {
        if (f.id >= labels.size()) labels.resize(std::size_t(f.id) + 1);
        labels[f.id] = f.label();
      }
      put_one(flow_json(f));
    });
  });
  array_member(out, first, "results", [&](const auto& put_one) {
    results([&](const FlowResult& f) {
      put_one(result_json(r, f, whole || f.flow >= labels.size() || labels[f.flow].empty() ? flow_label(r, f.flow)
                                                                                           : labels[f.flow]));
    });
  });
  member(out, first, "warnings", r.warnings);
  member(out, first, "verdict", J{{"loss", has_loss(r)}, {"headline", headline(r)}});
  J clocks = J::array();
  for (const auto& c : r.clocks)
    clocks.push_back({{"host", c.host}, {"reference", c.reference}, {"known", c.known}, {"offset_ns", c.offset_ns},
                      {"error_ns", c.error_ns}, {"samples", c.samples}, {"method", c.method}});
  member(out, first, "clocks", clocks);
  out << "\n}\n";
}

}  // namespace pathtrace::report
