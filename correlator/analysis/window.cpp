// When each point was capturing (rule 3 of docs/verdicts.md), and the run's warnings about
// the points themselves. A point's capture is known to be running
//   - between its first and last frame (any frame: a capture file proves no more than that), and
//   - inside the window it states (a live collector's start and stop, a pcapng statistics
//     block's times, the inventory's start/stop, --window, --assume-capturing), less a guard at
//     each edge; outside that window it was not capturing.
// A lost packet is judged at the hop it was lost at only if the point after that hop was
// capturing when the packet would have passed: known (judged), known not (not judged), or
// unknown — then the loss is judged under an assumption the verdict states. Delivered packets
// need no window: they were seen at both ends. Also which points share a host (one clock),
// which the direction of travel depends on, and which points are usable evidence.

#include <algorithm>
#include <string>
#include <unordered_map>

#include "correlator/analysis/analyzer.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace::analyzer {

using text::u64;

namespace {

// How long after a sighting the next point on the same host may see the packet at the latest
// (queues inside one host), and across hosts (links, and clock offsets known to that error).
constexpr int64_t kReachSameHost = 10'000'000;

}  // namespace

// Hosts per point, usable points and the path's judged ends, the report's common window, and
// the warnings that do not wait for the traversals.
void Analyzer::setup_points(Report& rep) {
  std::unordered_map<std::string, uint32_t> hosts;
  host_of_.resize(n_);
  not_capturing_.assign(n_, 0);
  late_at_.assign(n_, 0);
  passed_empty_.assign(n_, 0);
  early_at_.assign(n_, 0);
  unknown_window_.assign(n_, 0);
  usable_ = 0;
  n_usable_ = 0;
  for (unsigned i = 0; i < n_; ++i) {
    PT_INVARIANT(points_[i].ord == i);
    host_of_[i] = hosts.emplace(points_[i].host, uint32_t(hosts.size())).first->second;
    if (points_[i].health.usable) {
      usable_ |= bit(i);
      if (n_usable_++ == 0) lo_ = i;
      hi_ = i;
    }
  }
  if (n_usable_ == 0) lo_ = hi_ = 0;
  ends_same_host_ = n_usable_ < 2 || host_of_[lo_] == host_of_[hi_];
  one_host_ = hosts.size() <= 1;

  // "t": when the first point was known to capture. The common window (for the report): when
  // every usable point was known to capture.
  int64_t first = kMaxTime;
  std::string unknown;
  int64_t common_start = kMinTime, common_end = kMaxTime;
  bool any = false;
  for (const Point& p : points_) {
    int64_t from = kMaxTime, to = kMinTime;
    if (p.window_known) {
      from = p.start_ns;
      to = p.end_ns;
    }
    if (p.first_frame_ns) {
      from = std::min(from, p.first_frame_ns);
      to = std::max(to, p.last_frame_ns);
    }
    if (from == kMaxTime) {
      if (p.health.usable) unknown += unknown.empty() ? p.label : ", " + p.label;  // else not judged on at all
      continue;
    }
    first = std::min(first, from);
    if (!p.health.usable) continue;
    any = true;
    common_start = std::max(common_start, from);
    common_end = std::min(common_end, to);
  }
  time_origin_ = first == kMaxTime ? 0 : first;
  if (any) {
    win_start_ = common_start;
    win_end_ = common_end;
  }
  if (!unknown.empty()) {
    rep.warnings.push_back("capture window unknown at point" +
                           std::string(unknown.find(',') == std::string::npos ? " " : "s ") + unknown +
                           " (no frame and no stated start or stop): a packet lost just before " +
                           (unknown.find(',') == std::string::npos ? "it" : "them") +
                           " is judged only under the assumption that it was capturing");
  }
  if (n_ == 1) rep.warnings.push_back("one point only: a path needs two points to say where packets vanish");
  for (const Point& p : points_) {
    // A point that is not evidence has its own warning; what it lost of its capture adds nothing.
    if (!p.health.usable) continue;
    if (const uint64_t lost = p.capture_loss()) {
      std::string parts;
      auto add = [&](uint64_t v, const char* what) {
        if (v) parts += (parts.empty() ? "" : ", ") + u64(v) + " " + what;
      };
      add(p.pcap_drop, "dropped by the kernel");
      add(p.if_drop, "by the interface");
      add(p.discards(packet::Status::kTruncated), "cut too short to recognise");
      add(p.discards(packet::Status::kMalformed), "malformed");
      add(p.records_lost, "lost on the way to the correlator");
      rep.warnings.push_back("point " + p.label + " lost " + u64(lost) + " packets of its own capture (" + parts +
                             "): a loss at the hops next to it that these could explain is not blamed");
    }
    if (p.over_mtu > 0) {
      rep.warnings.push_back("point " + p.label + " saw " + u64(p.over_mtu) + " frames over " +
                             u64(opt_.mtu_frame) +
                             " bytes (GSO/GRO aggregates): they cannot match single packets at other points");
    }
  }
}

Analyzer::Capturing Analyzer::capturing(unsigned p, int64_t t, unsigned from) const {
  const Point& P = points_[p];
  const bool other_host = host_of_[p] != host_of_[from];
  if (other_host && (P.clock_unknown || points_[from].clock_unknown)) return Capturing::kClockUnknown;
  const int64_t reach = other_host ? opt_.max_transit_ns : kReachSameHost;
  // Frames before and after prove the capture ran then.
  if (P.first_frame_ns && t >= P.first_frame_ns && t <= P.last_frame_ns - reach) return Capturing::kYes;
  if (P.window_known) {
    if (t >= P.start_ns + opt_.guard_ns && t <= P.end_ns - opt_.guard_ns - reach) return Capturing::kYes;
    return Capturing::kNo;  // outside the stated window, or within its guard
  }
  return Capturing::kUnknown;
}

// Points that were not capturing when packets were lost before them, said only when it cost
// judged packets; and those whose capture could only be assumed.
void Analyzer::window_warnings(Report& rep) {
  for (unsigned p = 0; p < n_; ++p) {
    if (not_capturing_[p])
      rep.warnings.push_back("point " + points_[p].label + " was not capturing when " + u64(not_capturing_[p]) +
                             " packets lost before it would have passed it (outside its stated capture "
                             "window or its " + u64(uint64_t(opt_.guard_ns) / 1'000'000) +
                             " ms guard, or before its first frame of a flow it saw later): they are not judged");
    if (!late_at_[p] && !early_at_[p]) continue;
    // A partial capture is still evidence while it ran: said, not left out.
    Point& pt = points_[p];
    if (!pt.health.usable || pt.health.problem != HealthProblem::kNone) continue;
    const bool late = late_at_[p] >= early_at_[p];
    pt.health.problem = late ? HealthProblem::kLate : HealthProblem::kEarly;
    pt.health.detail = std::string(late ? "its capture started after " : "its capture stopped before ") +
                       u64(late ? late_at_[p] : early_at_[p]) +
                       " packets had passed it (or were lost before it): they are not held against any hop; "
                       "a capture started before the traffic and stopped after it leaves none out";
  }
}

}  // namespace pathtrace::analyzer
