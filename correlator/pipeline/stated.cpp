// Stated windows and clocks on the points. See stated.hpp.

#include "correlator/pipeline/stated.hpp"

#include <algorithm>
#include <set>

#include "collector/common/clock.hpp"
#include "collector/common/error.hpp"

namespace pathtrace::pipeline {
namespace {

std::string labels(const std::vector<Point>& points) {
  std::string s;
  for (const Point& p : points) s += (s.empty() ? "" : ",") + p.label;
  return s;
}

bool has_point(const std::vector<Point>& points, const std::string& label) {
  return std::any_of(points.begin(), points.end(), [&](const Point& p) { return p.label == label; });
}

}  // namespace

void check_points(const Stated& st, const std::vector<Point>& points) {
  for (const auto& w : st.windows)
    if (!w.point.empty() && !has_point(points, w.point))
      throw Error(ExitCode::kUsage, "--window '" + w.text + "': no point '" + w.point + "' (points: " +
                                        labels(points) + ")");
  for (const auto& label : st.assume_points)
    if (!has_point(points, label))
      throw Error(ExitCode::kUsage, "--assume-capturing: no point '" + label + "' (points: " + labels(points) + ")");
}

void check_clocks(const std::map<std::string, int64_t>& cli, const std::vector<Point>& points) {
  std::set<std::string> hosts;
  for (const Point& p : points) hosts.insert(p.host);
  std::string known;
  for (const auto& h : hosts) known += (known.empty() ? "" : ", ") + h;
  for (const auto& [host, lead] : cli) {
    if (!hosts.count(host))
      throw Error(ExitCode::kUsage, "--clock " + host + ": no point is on host " + host + " (hosts: " + known + ")");
    if (hosts.size() == 1)
      throw Error(ExitCode::kUsage, "--clock " + host + ": every point is on host " + host +
                                        ": one clock, nothing to correct");
  }
}

std::vector<std::string> apply_windows(const Stated& st, std::vector<Point>& points, const std::vector<bool>& stated_in,
                                       const AnalysisOptions& ao) {
  std::vector<std::string> notes;
  std::vector<bool> stated = stated_in;
  stated.resize(points.size(), false);
  int64_t first = 0, last = 0;
  bool any = false;
  for (const Point& p : points) {
    if (!p.first_frame_ns) continue;
    first = any ? std::min(first, p.first_frame_ns) : p.first_frame_ns;
    last = any ? std::max(last, p.last_frame_ns) : p.last_frame_ns;
    any = true;
  }
  std::vector<std::string> by_cli(points.size());  // the --window that set it
  for (const bool named : {false, true}) {
    for (const auto& w : st.windows) {
      if (w.point.empty() == named) continue;
      if ((w.start.relative || w.end.relative) && !any)
        throw Error(ExitCode::kUsage, "--window '" + w.text + "': no point captured a frame to count +SECONDS from");
      const int64_t from = w.start.relative ? first + w.start.ns : w.start.ns;
      const int64_t to = w.end.relative ? first + w.end.ns : w.end.ns;
      if (to <= from)
        throw Error(ExitCode::kUsage, "--window '" + w.text + "': its end (" +
                                          format_utc(to, 3) + ") is not after its start (" +
                                          format_utc(from, 3) + ")");
      for (std::size_t i = 0; i < points.size(); ++i) {
        if (named && points[i].label != w.point) continue;
        points[i].start_ns = from;
        points[i].end_ns = to;
        points[i].window_known = true;
        stated[i] = true;
        by_cli[i] = "--window";
      }
    }
  }
  // Windows stated point by point, in one line per distinct window.
  std::map<std::pair<std::pair<int64_t, int64_t>, std::string>, std::string> groups;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (!stated[i]) continue;
    auto& g = groups[{{points[i].start_ns, points[i].end_ns}, by_cli[i].empty() ? "inventory" : by_cli[i]}];
    g += (g.empty() ? "" : ", ") + points[i].label;
  }
  for (const auto& [key, who] : groups)
    notes.push_back("capture window of " + who + ": " + format_utc(key.first.first, 3) + " to " +
                    format_utc(key.first.second, 3) + ", as stated (" + key.second + ")");
  if (!st.assume) return notes;
  if (!any) throw Error(ExitCode::kUsage, "--assume-capturing: no point captured a frame: there is no span to assume");
  int64_t spread = 0;  // hosts' clocks stated apart: a window on one host's clock must cover the others'
  if (!st.clocks.empty()) {
    const auto [lo, hi] = std::minmax_element(st.clocks.begin(), st.clocks.end(),
                                              [](const auto& a, const auto& b) { return a.second < b.second; });
    spread = std::max<int64_t>(hi->second, 0) - std::min<int64_t>(lo->second, 0);
  }
  const int64_t pad = ao.guard_ns + ao.max_transit_ns + spread;
  std::string who, skipped;
  for (std::size_t i = 0; i < points.size(); ++i) {
    Point& p = points[i];
    const bool named = st.assume_points.empty() ||
                       std::find(st.assume_points.begin(), st.assume_points.end(), p.label) != st.assume_points.end();
    if (!named) continue;
    if (stated[i]) {
      skipped += (skipped.empty() ? "" : ", ") + p.label;
      continue;
    }
    p.start_ns = first - pad;
    p.end_ns = last + pad;
    p.window_known = true;
    who += (who.empty() ? "" : ", ") + p.label;
  }
  if (!who.empty())
    notes.push_back("capture window of " + who + ": assumed to span every point's frames, " +
                    format_utc(first, 3) + " to " + format_utc(last, 3) + " (--assume-capturing)" +
                    (skipped.empty() ? "" : "; " + skipped + " keep their stated window"));
  return notes;
}

}  // namespace pathtrace::pipeline
