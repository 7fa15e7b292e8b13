#include "correlator/analysis/clocks.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include "correlator/analysis/text.hpp"

namespace pathtrace {
namespace {

// What one host saw of one packet: its first and last point along the path.
struct HostView {
  bool seen = false;
  uint8_t ord_min = 0, ord_max = 0;
  int64_t ts_at_min = 0, ts_at_max = 0;  // timestamps at those points
  int64_t t_first = 0, t_last = 0;       // earliest / latest sighting on the host
};

// Bounds on D = off(b) − off(a) for a pair of hosts a < b.
struct PairBounds {
  int64_t upper = std::numeric_limits<int64_t>::max();  // min over packets a → b of t_b − t_a
  int64_t lower = std::numeric_limits<int64_t>::min();  // max over packets b → a of t_b − t_a
  uint64_t n_upper = 0, n_lower = 0;
};

// The estimate one pair gives: D and its half-width (-1: one-sided).
struct Edge {
  bool usable = false;
  bool both = false;
  int64_t d = 0;
  int64_t err = 0;
  uint64_t samples = 0;
};

Edge edge_of(const PairBounds& b) {
  Edge e;
  e.samples = b.n_upper + b.n_lower;
  if (b.n_upper && b.n_lower) {
    e.usable = e.both = true;
    // Midpoint without overflow; an inconsistent pair (lower > upper: drift, jitter) still
    // gets the midpoint, with the gap as its error.
    e.d = b.lower + (b.upper - b.lower) / 2;
    e.err = (b.upper > b.lower ? b.upper - b.lower : b.lower - b.upper) / 2;
  } else if (b.n_upper) {
    e.usable = true;
    e.d = b.upper;
  } else if (b.n_lower) {
    e.usable = true;
    e.d = b.lower;
  }
  return e;
}

}  // namespace

struct ClockEstimator::State {
  ClockOptions opt;
  std::size_t n_points = 0;
  std::vector<int> host_of;
  std::vector<HostClock> out;  // one per host, the reference first
  std::map<std::pair<int, int>, PairBounds> pairs;
};

ClockEstimator::ClockEstimator(const std::vector<Point>& points, const ClockOptions& opt)
    : s_(std::make_unique<State>()) {
  s_->opt = opt;
  s_->n_points = points.size();
  // Hosts, the reference first: the host with the most points (the hypervisor most of the path
  // is on), the first along the path among equals; then the others in order of appearance.
  std::vector<std::string> seen_order;
  std::vector<int> count;
  for (const Point& p : points) {
    auto it = std::find(seen_order.begin(), seen_order.end(), p.host);
    if (it == seen_order.end()) {
      seen_order.push_back(p.host);
      count.push_back(0);
      it = seen_order.end() - 1;
    }
    ++count[std::size_t(it - seen_order.begin())];
  }
  std::vector<std::string> hosts;
  if (!seen_order.empty()) {
    const std::size_t ref = std::size_t(std::max_element(count.begin(), count.end()) - count.begin());
    hosts.push_back(seen_order[ref]);
    for (std::size_t h = 0; h < seen_order.size(); ++h)
      if (h != ref) hosts.push_back(seen_order[h]);
  }
  std::vector<int>& host_of = s_->host_of;
  host_of.assign(points.size(), -1);
  for (std::size_t i = 0; i < points.size(); ++i)
    host_of[i] = int(std::find(hosts.begin(), hosts.end(), points[i].host) - hosts.begin());
  std::vector<HostClock>& out = s_->out;
  out.resize(hosts.size());
  for (std::size_t h = 0; h < hosts.size(); ++h) out[h].host = hosts[h];
  if (out.empty()) return;
  out[0].reference = out[0].known = out[0].both_ways = true;
}

ClockEstimator::~ClockEstimator() = default;

void ClockEstimator::add(std::span<const Sighting> sightings) {
  const std::vector<int>& host_of = s_->host_of;
  const ClockOptions& opt = s_->opt;
  if (s_->out.size() < 2) return;
  const std::size_t nh = s_->out.size();
  std::vector<uint32_t> order;
  order.reserve(sightings.size());
  for (uint32_t i = 0; i < sightings.size(); ++i)
    if (sightings[i].point < s_->n_points) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return sightings[a].digest != sightings[b].digest ? sightings[a].digest < sightings[b].digest
                                                      : sightings[a].ts_ns < sightings[b].ts_ns;
  });
  std::map<std::pair<int, int>, PairBounds>& pairs = s_->pairs;
  std::vector<HostView> view(nh);
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && sightings[order[j]].digest == sightings[order[i]].digest) ++j;
    std::fill(view.begin(), view.end(), HostView{});
    bool repeated = false;
    for (std::size_t k = i; k < j && !repeated; ++k) {
      const Sighting& s = sightings[order[k]];
      HostView& v = view[std::size_t(host_of[s.point])];
      if (!v.seen) {
        v = {true, s.point, s.point, s.ts_ns, s.ts_ns, s.ts_ns, s.ts_ns};
        continue;
      }
      if (s.ts_ns - v.t_first > opt.max_transit_ns) repeated = true;  // sent again: ambiguous
      v.t_last = std::max(v.t_last, s.ts_ns);
      if (s.point < v.ord_min) v.ord_min = s.point, v.ts_at_min = s.ts_ns;
      if (s.point > v.ord_max) v.ord_max = s.point, v.ts_at_max = s.ts_ns;
      if (s.point == v.ord_min) v.ts_at_min = std::min(v.ts_at_min, s.ts_ns);
      if (s.point == v.ord_max) v.ts_at_max = std::min(v.ts_at_max, s.ts_ns);
    }
    i = j;
    if (repeated) continue;
    // Direction from same-host timestamps only: +1 along increasing ord, -1 against it.
    int dir = 0;
    bool conflict = false;
    int hosts_seen = 0;
    for (const HostView& v : view) {
      if (!v.seen) continue;
      ++hosts_seen;
      if (v.ord_min == v.ord_max || v.ts_at_min == v.ts_at_max) continue;
      const int d = v.ts_at_min < v.ts_at_max ? 1 : -1;
      if (dir && d != dir) conflict = true;
      dir = d;
    }
    if (hosts_seen < 2 || dir == 0 || conflict) continue;
    for (std::size_t a = 0; a < nh; ++a) {
      if (!view[a].seen) continue;
      for (std::size_t b = a + 1; b < nh; ++b) {
        if (!view[b].seen) continue;
        const HostView& va = view[a];
        const HostView& vb = view[b];
        // Only hosts whose points do not interleave along the path hand the packet over.
        bool a_low;
        if (va.ord_max < vb.ord_min) a_low = true;
        else if (vb.ord_max < va.ord_min) a_low = false;
        else continue;
        // The hand-over points: the last point of the lower host, the first of the upper.
        const int64_t ta = a_low ? va.ts_at_max : va.ts_at_min;
        const int64_t tb = a_low ? vb.ts_at_min : vb.ts_at_max;
        const int64_t y = tb - ta;
        const bool a_to_b = (dir > 0) == a_low;
        PairBounds& pb = pairs[{int(a), int(b)}];
        if (a_to_b) {
          pb.upper = std::min(pb.upper, y);
          ++pb.n_upper;
        } else {
          pb.lower = std::max(pb.lower, y);
          ++pb.n_lower;
        }
      }
    }
  }
}

std::vector<HostClock> ClockEstimator::finish() const {
  std::vector<HostClock> out = s_->out;
  const std::size_t nh = out.size();
  if (nh < 2) return out;
  const std::map<std::pair<int, int>, PairBounds>& pairs = s_->pairs;
  // Walk from the reference: each host gets the offset through its best-measured edge to a
  // host already placed (both-ways edges first, then the most samples).
  std::vector<bool> placed(nh, false);
  placed[0] = true;
  for (bool progress = true; progress;) {
    progress = false;
    int best_host = -1;
    Edge best;
    int64_t best_offset = 0, best_err = 0;
    for (const auto& [key, pb] : pairs) {
      const auto [a, b] = key;
      if (placed[std::size_t(a)] == placed[std::size_t(b)]) continue;
      const Edge e = edge_of(pb);
      if (!e.usable) continue;
      const int from = placed[std::size_t(a)] ? a : b;
      const int to = placed[std::size_t(a)] ? b : a;
      const int64_t d = to == b ? e.d : -e.d;  // off(to) − off(from)
      const bool better = best_host < 0 || (e.both && !best.both) ||
                          (e.both == best.both && e.samples > best.samples);
      if (better) {
        best_host = to;
        best = e;
        best_offset = out[std::size_t(from)].offset_ns + d;
        best_err = out[std::size_t(from)].error_ns + e.err;
      }
    }
    if (best_host >= 0) {
      HostClock& c = out[std::size_t(best_host)];
      c.known = true;
      c.both_ways = best.both;
      c.offset_ns = best_offset;
      c.error_ns = best_err;
      c.samples = best.samples;
      placed[std::size_t(best_host)] = true;
      progress = true;
    }
  }
  return out;
}

std::vector<HostClock> estimate_clocks(const std::vector<Point>& points, const std::vector<Sighting>& sightings,
                                       const ClockOptions& opt) {
  ClockEstimator e(points, opt);
  e.add(sightings);
  return e.finish();
}

std::vector<int64_t> apply_clocks(const std::vector<HostClock>& clocks, std::vector<Point>& points,
                                  std::vector<Sighting>& sightings, KeptFrames* kept) {
  std::vector<int64_t> shift(points.size(), 0);
  bool any = false;
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (const HostClock& c : clocks) {
      if (c.host != points[i].host) continue;
      points[i].clock_unknown = !c.known;
      if (!c.known || c.offset_ns == 0) continue;
      shift[i] = c.offset_ns;
      points[i].clock_offset_ns = c.offset_ns;
      any = true;
      if (points[i].window_known) {
        points[i].start_ns -= c.offset_ns;
        points[i].end_ns -= c.offset_ns;
      }
      if (points[i].first_frame_ns) {
        points[i].first_frame_ns -= c.offset_ns;
        points[i].last_frame_ns -= c.offset_ns;
      }
    }
  }
  if (!any) return shift;
  for (Sighting& s : sightings)
    if (s.point < shift.size()) s.ts_ns -= shift[s.point];
  if (kept)
    for (KeptFrame& f : kept->frames)
      if (f.point < shift.size()) f.ts_ns -= shift[f.point];
  return shift;
}

std::string describe(const HostClock& c, const std::string& reference) {
  if (c.reference) return "";
  if (!c.known)
    return "clock of " + c.host + " could not be compared with " + reference +
           " (no packet seen on both with a known direction): its timestamps are used as they are";
  const char* way = c.offset_ns >= 0 ? "ahead of" : "behind";
  if (c.both_ways)
    return "clock of " + c.host + " is " + text::duration_text(c.offset_ns) + " " + way + " " + reference +
           " (±" + text::duration_text(c.error_ns) + ", from " + text::u64(c.samples) + " packets both ways)";
  return "clock of " + c.host + " is about " + text::duration_text(c.offset_ns) + " " + way + " " +
         reference + " (packets seen one way only: a bound that includes the one-way delay; " +
         text::u64(c.samples) + " packets)";
}

}  // namespace pathtrace
