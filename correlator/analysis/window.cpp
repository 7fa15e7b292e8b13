// The common window (rule 3 of docs/verdicts.md): when every point was capturing, with a
// guard at both ends, and the run's warnings about the points themselves — windows unknown
// or never overlapping, late starts and early stops that kept packets out of judgement, a
// point's own capture loss, frames over the MTU. Also which points share a host (one clock),
// which the direction of travel depends on.

#include <algorithm>
#include <string>
#include <unordered_map>

#include "correlator/analysis/analyzer.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace::analyzer {

using text::u64;

// Hosts per point, the judging window, and the warnings that do not wait for the traversals.
void Analyzer::setup_points(Report& rep) {
  std::unordered_map<std::string, uint32_t> hosts;
  host_of_.resize(n_);
  for (unsigned i = 0; i < n_; ++i) {
    PT_INVARIANT(points_[i].ord == i);
    host_of_[i] = hosts.emplace(points_[i].host, uint32_t(hosts.size())).first->second;
  }
  ends_same_host_ = n_ == 0 || host_of_[0] == host_of_[n_ - 1];
  one_host_ = hosts.size() <= 1;

  int64_t first_start = kMaxTime, last_end = kMinTime;
  bool any_known = false;
  std::string unknown;
  for (const Point& p : points_) {
    if (!p.window_known) {
      unknown += unknown.empty() ? p.label : ", " + p.label;
      continue;
    }
    any_known = true;
    first_start = std::min(first_start, p.start_ns);
    last_end = std::max(last_end, p.end_ns);
  }
  if (!unknown.empty()) {
    rep.warnings.push_back("capture window unknown at point" +
                           std::string(unknown.find(',') == std::string::npos ? " " : "s ") + unknown +
                           " (no packets and no capture statistics): it does not restrict the judging window");
  }
  if (any_known) {
    time_origin_ = first_start;
    int64_t start = kMinTime, end = kMaxTime;
    for (const Point& p : points_) {
      if (!p.window_known) continue;
      start = std::max(start, p.start_ns);
      end = std::min(end, p.end_ns);
      // Said once the traversals are judged, and only if the late start (early stop) kept
      // packets out of judgement: see window_warnings().
      if (p.start_ns - first_start > opt_.guard_ns)
        late_starts_.push_back("point " + p.label + " started capturing " +
                               u64(uint64_t(p.start_ns - first_start) / 1'000'000) +
                               " ms after the first point");
      if (last_end - p.end_ns > opt_.guard_ns)
        early_stops_.push_back("point " + p.label + " stopped capturing " +
                               u64(uint64_t(last_end - p.end_ns) / 1'000'000) +
                               " ms before the last point");
    }
    win_start_ = start + opt_.guard_ns;
    win_end_ = end - opt_.guard_ns;
    if (win_start_ > win_end_) {
      rep.warnings.push_back("the points were never all capturing at the same time (with a " +
                             u64(uint64_t(opt_.guard_ns) / 1'000'000) + " ms guard): nothing is judged");
    }
  } else if (n_ > 0) {
    rep.warnings.push_back("no point's capture window is known: every packet is judged");
  }
  for (const Point& p : points_) {
    if (const uint64_t lost = p.capture_loss()) {
      rep.warnings.push_back("point " + p.label + " lost " + u64(lost) +
                             " packets in its own capture (kernel " + u64(p.pcap_drop) + ", interface " +
                             u64(p.if_drop) + ", parser " + u64(p.damaged()) +
                             ", transport " + u64(p.records_lost) +
                             "): losses at the hops next to it are inconclusive");
    }
    if (p.over_mtu > 0) {
      rep.warnings.push_back("point " + p.label + " saw " + u64(p.over_mtu) + " frames over " +
                             u64(opt_.mtu_frame) +
                             " bytes (GSO/GRO aggregates): they cannot match single packets at other points");
    }
  }
}

// Late starts and early stops, said only when they kept packets out of judgement: a late
// start that cost nothing (live runs wait for every point before the traffic) is not worth
// a warning.
void Analyzer::window_warnings(Report& rep) const {
  for (const std::string& w : late_starts_)
    if (before_window_)
      rep.warnings.push_back(w + ": " + u64(before_window_) + " packets seen before every point was capturing are not judged");
  for (const std::string& w : early_stops_)
    if (after_window_)
      rep.warnings.push_back(w + ": " + u64(after_window_) + " packets seen after a point stopped capturing are not judged");
}

}  // namespace pathtrace::analyzer
