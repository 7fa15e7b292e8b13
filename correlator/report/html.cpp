#include "correlator/report/html.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/report/render.hpp"

namespace pathtrace::report {
namespace {

// Colours: one palette for the drawing, the bars and the pills.
constexpr const char* kRed = "#c62828";
constexpr const char* kAmber = "#b26a00";

std::string esc(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(uint64_t v) {
  std::string s = std::to_string(v), o;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) o += ",";
    o += s[i];
  }
  return o;
}

std::string pct(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, p >= 99.95 || p == 0.0 ? "%.0f%%" : "%.1f%%", p);
  return buf;
}

const char* verdict_class(VerdictKind v) {
  switch (v) {
    case VerdictKind::kDelivered: return "ok";
    case VerdictKind::kDisappears: case VerdictKind::kPartialLoss: return "bad";
    case VerdictKind::kInconclusive: return "warn";
    default: return "muted";
  }
}

std::string verdict_words(VerdictKind v) {
  std::string s = name(v);
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

// Text cut to `n` characters (UTF-8 safe enough for interface names), with an ellipsis.
std::string cut(const std::string& s, std::size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 1) + "…";
}

// The SVG drawing of one flow's path: boxes in travel order, hops between them.
void draw_path(std::ostream& o, const Report& r, const FlowResult& f, std::size_t index) {
  const auto ords = travel(r, f.dir);
  const std::size_t n = ords.size();
  if (n == 0) return;
  const int box_w = 138, box_h = 112, gap = n > 8 ? 40 : 56, top = 46, left = 8;
  const int width = left * 2 + int(n) * box_w + int(n - 1) * gap;
  const int height = top + box_h + 64;
  o << "<svg class=\"path\" id=\"path-" << index << "\" role=\"img\" aria-label=\"path of "
    << esc(flow_label(r, f.flow)) << "\" viewBox=\"0 0 " << width << ' ' << height
    << "\" width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  o << "<defs>"
    << "<marker id=\"arr-ok-" << index << "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8fa3b8\"/></marker>"
    << "<marker id=\"arr-bad-" << index << "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"" << kRed << "\"/></marker>"
    << "<marker id=\"arr-warn-" << index << "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"" << kAmber << "\"/></marker>"
    << "</defs>\n";
  // Where the packets enter, and which way they travel.
  o << "<text x=\"" << left << "\" y=\"18\" class=\"svg-note\">enters at "
    << esc(r.points[ords.front()].label) << " · direction of travel →</text>\n";
  // Hops first, so boxes sit on top of the lines.
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const HopStat* h = i < f.hops.size() ? &f.hops[i] : nullptr;
    const bool lost = h && h->lost > 0;
    const bool warn = lost && h->inconclusive;
    const char* cls = !lost ? "ok" : warn ? "warn" : "bad";
    const char* colour = !lost ? "#8fa3b8" : warn ? kAmber : kRed;
    const int x1 = left + int(i + 1) * box_w + int(i) * gap, x2 = x1 + gap;
    const int y = top + box_h / 2;
    o << "<g class=\"hop " << (lost ? (warn ? "inconclusive" : "lost") : "ok") << "\" data-from=\""
      << esc(r.points[ords[i]].label) << "\" data-to=\"" << esc(r.points[ords[i + 1]].label)
      << "\" data-lost=\"" << (h ? h->lost : 0) << "\">";
    o << "<line x1=\"" << x1 + 2 << "\" y1=\"" << y << "\" x2=\"" << x2 - 3 << "\" y2=\"" << y
      << "\" stroke=\"" << (h && h->in == 0 ? "#c9d2dc" : colour) << "\" stroke-width=\"" << (lost ? 4 : 2)
      << (h && h->in == 0 ? "\" stroke-dasharray=\"4 4" : "")
      << "\" marker-end=\"url(#arr-" << cls << '-' << index << ")\""
      << "/>";
    if (lost) {
      const int cx = (x1 + x2) / 2;
      o << "<circle cx=\"" << cx << "\" cy=\"" << y << "\" r=\"11\" fill=\"#fff\" stroke=\"" << colour
        << "\" stroke-width=\"2.5\"/>"
        << "<text x=\"" << cx << "\" y=\"" << y + 5 << "\" text-anchor=\"middle\" class=\"svg-x\" fill=\""
        << colour << "\">" << (warn ? "?" : "✕") << "</text>";
      o << "<text x=\"" << cx << "\" y=\"" << top + box_h + 28 << "\" text-anchor=\"middle\" class=\"svg-lost\" fill=\""
        << colour << "\">" << num(h->lost) << " lost</text>"
        << "<text x=\"" << cx << "\" y=\"" << top + box_h + 48 << "\" text-anchor=\"middle\" class=\"svg-pct\" fill=\""
        << colour << "\">" << pct(h->loss_pct()) << (warn ? " · inconclusive" : "") << "</text>";
    }
    o << "</g>\n";
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Point& p = r.points[ords[i]];
    const uint64_t count = ords[i] < f.seen_at.size() ? f.seen_at[ords[i]] : 0;
    const uint64_t holes = ords[i] < f.holes_at.size() ? f.holes_at[ords[i]] : 0;
    const bool capture_problem = p.capture_loss() > 0 || holes > 0;
    const int x = left + int(i) * (box_w + gap);
    const char* cls = count == 0 ? "point empty" : capture_problem ? "point warn" : "point seen";
    o << "<g class=\"" << cls << "\" data-label=\"" << esc(p.label) << "\" data-count=\"" << count
      << "\">";
    o << "<rect x=\"" << x << "\" y=\"" << top << "\" width=\"" << box_w << "\" height=\"" << box_h
      << "\" rx=\"10\"/>";
    const int cx = x + box_w / 2;
    o << "<text x=\"" << x + 12 << "\" y=\"" << top + 26 << "\" class=\"svg-label\">" << esc(p.label)
      << "</text>";
    o << "<text x=\"" << x + box_w - 12 << "\" y=\"" << top + 24 << "\" text-anchor=\"end\" class=\"svg-role\">"
      << esc(cut(p.role, 10)) << "</text>";
    o << "<text x=\"" << cx << "\" y=\"" << top + 66 << "\" text-anchor=\"middle\" class=\"svg-count\">"
      << num(count) << "</text>";
    o << "<text x=\"" << cx << "\" y=\"" << top + 82 << "\" text-anchor=\"middle\" class=\"svg-unit\">"
      << (count == 1 ? "packet" : "packets") << "</text>";
    o << "<text x=\"" << cx << "\" y=\"" << top + 102 << "\" text-anchor=\"middle\" class=\"svg-iface\">"
      << "<title>" << esc(point_where(p)) << "</title>" << esc(cut(point_where(p), 20)) << "</text>";
    o << "</g>\n";
  }
  o << "</svg>\n";
}

void hop_bars(std::ostream& o, const Report& r, const FlowResult& f) {
  o << "<table class=\"bars\"><thead><tr><th>hop</th><th class=\"num\">in</th><th class=\"num\">out</th>"
       "<th class=\"num\">lost</th><th class=\"barcol\">loss</th></tr></thead><tbody>\n";
  for (const auto& h : f.hops) {
    if (h.from >= r.points.size() || h.to >= r.points.size()) continue;
    const double p = h.loss_pct();
    const char* cls = h.lost == 0 ? "ok" : h.inconclusive ? "warn" : "bad";
    o << "<tr class=\"hoprow " << cls << "\" data-from=\"" << esc(r.points[h.from].label)
      << "\" data-to=\"" << esc(r.points[h.to].label) << "\"><td>" << esc(r.points[h.from].label)
      << " → " << esc(r.points[h.to].label) << " <span class=\"muted\">"
      << esc(r.points[h.from].role) << " → " << esc(r.points[h.to].role) << "</span></td><td class=\"num\">"
      << num(h.in) << "</td><td class=\"num\">" << num(h.out) << "</td><td class=\"num\">" << num(h.lost)
      << "</td><td class=\"barcol\"><div class=\"bar\"><div class=\"fill " << cls << "\" style=\"width:"
      << std::max(p, h.lost ? 0.8 : 0.0) << "%\"></div></div><span class=\"barpct\">" << pct(p)
      << (h.inconclusive ? " · inconclusive: " + esc(h.why.str()) : "") << "</span></td></tr>\n";
  }
  o << "</tbody></table>\n";
}

void point_stats(std::ostream& o, const Report& r) {
  o << "<table class=\"grid\" id=\"points\"><thead><tr><th>point</th><th>role</th><th>interface</th>"
       "<th class=\"num\">frames</th><th class=\"num\">bytes</th><th class=\"num\">digested</th>"
       "<th class=\"num\">filtered out</th><th class=\"num\">not digested</th><th class=\"num\">kernel drop</th>"
       "<th class=\"num\">if drop</th><th class=\"num\">records lost</th><th class=\"num\">over MTU</th>"
       "<th class=\"num\">capture loss</th></tr></thead><tbody>\n";
  for (const auto& p : r.points) {
    const uint64_t loss = p.capture_loss();
    o << "<tr" << (loss ? " class=\"warnrow\"" : "") << "><td><b>" << esc(p.label) << "</b></td><td>"
      << esc(p.role) << "</td><td class=\"mono\">" << esc(point_where(p)) << "</td><td class=\"num\">"
      << num(p.packets) << "</td><td class=\"num\">" << num(p.bytes) << "</td><td class=\"num\">"
      << num(p.digested) << "</td><td class=\"num\">" << num(p.filtered) << "</td><td class=\"num\">"
      << num(p.all_discards()) << "</td><td class=\"num\">" << num(p.pcap_drop) << "</td><td class=\"num\">"
      << num(p.if_drop) << "</td><td class=\"num\">" << num(p.records_lost) << "</td><td class=\"num\">"
      << num(p.over_mtu) << "</td><td class=\"num " << (loss ? "bad" : "ok") << "\">" << num(loss)
      << "</td></tr>\n";
  }
  o << "</tbody></table>\n";
}

void flows_table(std::ostream& o, const Report& r) {
  o << "<table class=\"grid\" id=\"flows\"><thead><tr><th>flow</th><th>direction</th><th>verdict</th>"
       "<th class=\"num\">judged</th><th class=\"num\">delivered</th><th class=\"num\">lost</th>"
       "<th class=\"num\">not judged</th><th class=\"num\">inner flows</th><th>summary</th></tr></thead><tbody>\n";
  std::size_t listed = 0, more = 0;
  for (const auto& f : r.results) {
    if (!interesting(f) && listed++ >= kHtmlListedFlows) {
      ++more;
      continue;
    }
    const auto ords = travel(r, f.dir);
    o << "<tr><td class=\"mono\">" << esc(flow_label(r, f.flow)) << "</td><td>"
      << (ords.empty() ? "" : esc(r.points[ords.front()].label) + " → " + esc(r.points[ords.back()].label))
      << "</td><td><span class=\"pill " << verdict_class(f.verdict) << "\">" << verdict_words(f.verdict)
      << "</span></td><td class=\"num\">" << num(f.judged) << "</td><td class=\"num\">" << num(f.delivered)
      << "</td><td class=\"num" << (f.lost ? " bad" : "") << "\">" << num(f.lost) << "</td><td class=\"num\">"
      << num(f.out_of_window + f.no_entry) << "</td><td class=\"num\">" << num(f.inner_flows.size())
      << "</td><td>" << esc(f.summary) << "</td></tr>\n";
  }
  more += r.omitted.results;
  if (more)
    o << "<tr><td colspan=\"9\" class=\"muted\">… and " << num(more)
      << " more flows, none of them lost or inconclusive: <code>pathtrace report --json</code> or the "
         "<code>verdicts</code> view list every one</td></tr>\n";
  if (r.results.empty()) o << "<tr><td colspan=\"9\" class=\"muted\">no flow in this run</td></tr>\n";
  o << "</tbody></table>\n";
}

constexpr const char* kStyle = R"(
*{box-sizing:border-box}
body{margin:0;background:#f4f6f9;color:#1f2933;font:14px/1.45 "DejaVu Sans","Liberation Sans",Helvetica,Arial,sans-serif}
main{max-width:1340px;margin:0 auto;padding:22px 24px 40px}
header{display:flex;align-items:baseline;justify-content:space-between;gap:16px;flex-wrap:wrap}
h1{font-size:22px;margin:0;letter-spacing:-.2px}
h1 .brand{color:#3b6ea5}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:13px;margin:18px 0 8px;color:#52606d;text-transform:uppercase;letter-spacing:.6px}
.meta{color:#6b7785;font-size:13px}
.meta b{color:#1f2933;font-weight:600}
.verdict{margin:16px 0 18px;padding:14px 18px;border-radius:10px;font-size:16px;font-weight:600;display:flex;gap:12px;align-items:center}
.verdict.bad{background:#fdecea;color:#8e1b1b;border:1px solid #f3b8b3}
.verdict.ok{background:#e8f5e9;color:#1b5e20;border:1px solid #b7dfb9}
.verdict .tag{font-size:11px;text-transform:uppercase;letter-spacing:.8px;padding:3px 8px;border-radius:999px;color:#fff}
.verdict.bad .tag{background:#c62828}.verdict.ok .tag{background:#2e7d32}
.card{background:#fff;border:1px solid #dde3ea;border-radius:12px;padding:18px 20px;margin:0 0 16px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.card .sub{color:#6b7785;font-size:13px;margin:-6px 0 12px}
svg.path{display:block;max-width:100%;height:auto}
svg .point rect{fill:#eef4fb;stroke:#3b6ea5;stroke-width:1.6}
svg .point.empty rect{fill:#f6f7f9;stroke:#b6c0cb;stroke-dasharray:5 4}
svg .point.warn rect{fill:#fff8e6;stroke:#b26a00}
svg .svg-label{font-size:20px;font-weight:700;fill:#1f2933}
svg .svg-role{font-size:12px;fill:#52606d;font-weight:600}
svg .svg-count{font-size:24px;font-weight:700;fill:#1f2933}
svg .point.empty .svg-count{fill:#9aa5b1}
svg .svg-unit{font-size:11px;fill:#6b7785}
svg .svg-iface{font-size:11px;fill:#52606d;font-family:"DejaVu Sans Mono",monospace}
svg .svg-lost{font-size:15px;font-weight:700}
svg .svg-pct{font-size:12px;font-weight:600}
svg .svg-x{font-size:14px;font-weight:700}
svg .svg-note{font-size:12px;fill:#6b7785}
.summary{margin:8px 0 0;font-weight:600}
.findings{margin:6px 0 0 18px;padding:0;color:#52606d}
table{border-collapse:collapse;width:100%}
th{font-size:12px;color:#52606d;text-align:left;font-weight:600;border-bottom:1px solid #dde3ea;padding:6px 8px;white-space:nowrap}
td{padding:6px 8px;border-bottom:1px solid #eef1f4;vertical-align:middle}
tbody tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:"DejaVu Sans Mono",monospace;font-size:12.5px}
.muted{color:#8a96a3;font-size:12px}
td.bad,.num.bad{color:#c62828;font-weight:700}
td.ok{color:#2e7d32}
tr.warnrow td{background:#fff8e6}
.bars .barcol{width:46%}
.bar{display:inline-block;vertical-align:middle;width:72%;height:12px;background:#eef1f4;border-radius:6px;overflow:hidden}
.bar .fill{height:100%;border-radius:6px}
.fill.bad{background:#c62828}.fill.warn{background:#b26a00}.fill.ok{background:#2e7d32}
.barpct{display:inline-block;margin-left:10px;font-size:12px;color:#52606d;font-variant-numeric:tabular-nums}
tr.hoprow.bad td{color:#8e1b1b;font-weight:600}
.pill{display:inline-block;padding:2px 9px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.pill.bad{background:#fdecea;color:#b71c1c}.pill.ok{background:#e8f5e9;color:#1b5e20}
.pill.warn{background:#fff3e0;color:#8a4b00}.pill.muted{background:#eef1f4;color:#52606d}
.warnings{margin:0;padding-left:18px;color:#8a4b00}
footer{color:#8a96a3;font-size:12px;margin-top:10px}
.legend{display:flex;gap:18px;color:#6b7785;font-size:12px;margin-top:6px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;vertical-align:-2px}
)";

}  // namespace

void write_html(std::ostream& o, const Report& r) {
  const bool loss = has_loss(r);
  std::string points;
  for (const auto& p : r.points) points += (points.empty() ? "" : " · ") + p.label;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<meta name=\"generator\" content=\"pathtrace report --html\">\n"
    << "<title>pathtrace · run " << r.run_id << " · " << esc(headline(r)) << "</title>\n"
    << "<style>" << kStyle << "</style>\n</head>\n<body>\n<main>\n";
  o << "<header><h1><span class=\"brand\">pathtrace</span> · run " << r.run_id << "</h1>"
    << "<div class=\"meta\">started <b>" << esc(r.started) << "</b> · filter <b>"
    << esc(r.filter.empty() ? "none" : r.filter) << "</b> · " << r.points.size() << " points · <b>"
    << num(r.sightings) << "</b> sightings · " << r.result_count()
    << (r.result_count() == 1 ? " flow" : " flows") << "</div></header>\n";
  o << "<div class=\"verdict " << (loss ? "bad" : "ok") << "\" id=\"verdict\"><span class=\"tag\">"
    << (loss ? "loss" : "ok") << "</span><span>" << esc(headline(r)) << "</span></div>\n";

  // The flows worth drawing: those that lost packets, or the busiest one.
  std::vector<const FlowResult*> drawn;
  for (const auto& f : r.results)
    if (interesting(f) && drawn.size() < 4) drawn.push_back(&f);
  if (drawn.empty() && !r.results.empty()) drawn.push_back(&r.results.front());
  std::size_t index = 0;
  for (const FlowResult* f : drawn) {
    o << "<section class=\"card flow\" data-flow=\"" << f->flow << "\"><h2>" << esc(flow_label(r, f->flow))
      << " <span class=\"pill " << verdict_class(f->verdict) << "\">" << verdict_words(f->verdict)
      << "</span></h2>\n<div class=\"sub\">" << (f->dir == Dir::kForward ? "forward" : "reverse") << " · "
      << num(f->judged) << " judged packets · " << num(f->delivered) << " delivered · " << num(f->lost) << " lost";
    if (!f->inner_flows.empty()) {
      o << " · inner: " << esc(flow_label(r, f->inner_flows.front()));
      if (f->inner_flows.size() > 1) o << " and " << f->inner_flows.size() - 1 << " more";
    }
    o << "</div>\n";
    draw_path(o, r, *f, index++);
    o << "<div class=\"legend\"><span><i style=\"background:#eef4fb;border:1px solid #3b6ea5\"></i>saw the flow</span>"
         "<span><i style=\"background:#f6f7f9;border:1px dashed #b6c0cb\"></i>never saw it</span>"
         "<span><i style=\"background:"
      << kRed << "\"></i>hop that lost packets</span><span><i style=\"background:" << kAmber
      << "\"></i>inconclusive (a point lost captures)</span></div>\n";
    o << "<p class=\"summary\">→ " << esc(f->summary) << "</p>\n";
    if (!f->findings.empty()) {
      o << "<ul class=\"findings\">";
      for (const auto& s : f->findings) o << "<li>" << esc(s) << "</li>";
      o << "</ul>\n";
    }
    o << "<h3>Loss per hop</h3>\n";
    hop_bars(o, r, *f);
    o << "</section>\n";
  }
  o << "<section class=\"card\"><h2>Capture at each point</h2><div class=\"sub\">what each point "
       "captured, and what it lost itself (a hop next to a point with capture loss is not "
       "blamed)</div>\n";
  point_stats(o, r);
  o << "</section>\n<section class=\"card\"><h2>Flows</h2>\n";
  flows_table(o, r);
  o << "</section>\n";
  if (!r.warnings.empty()) {
    o << "<section class=\"card\"><h2>Warnings</h2><ul class=\"warnings\">";
    for (const auto& w : r.warnings) o << "<li>" << esc(w) << "</li>";
    o << "</ul></section>\n";
  }
  o << "<footer>window " << r.window_start_ns << " – " << r.window_end_ns
    << " ns · command <span class=\"mono\">" << esc(r.command) << "</span> · generated by "
    << "<span class=\"mono\">pathtrace report --html</span> (self-contained: nothing is fetched)</footer>\n";
  o << "</main>\n</body>\n</html>\n";
}

void write_html_file(const std::string& path, const Report& r, Existing existing) {
  std::ostringstream s;
  write_html(s, r);
  const std::string page = s.str();
  OutputFile out(path, existing);
  if (std::fwrite(page.data(), 1, page.size(), out.stream()) != page.size())
    throw Error(ExitCode::kUsage, path + ": cannot write: " + std::strerror(errno));
  out.commit();
}

}  // namespace pathtrace::report
