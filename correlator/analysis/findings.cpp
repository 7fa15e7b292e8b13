// Findings (findings.hpp): turns a flow result's loss character into the sentences of rule 7
// of docs/verdicts.md, and decides which ones the numbers support — a size split, a loss
// concentrated in few inner flows (clearly fewer than random loss would touch), TCP flags
// only the lost packets share, a burst or a spread in time — then per point holes,
// duplicates and frames over the MTU.

#include "correlator/analysis/findings.hpp"

#include <algorithm>
#include <cmath>

#include "correlator/analysis/invariant.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace {
namespace {

using text::u64;

// "1400 bytes" when every packet had one length; else the bound the comparison uses.
std::string range_text(const PacketSide& s, bool upper) {
  if (s.len_min == s.len_max) return u64(s.len_min) + " bytes";
  return std::string(upper ? "≥ " : "≤ ") + u64(upper ? s.len_min : s.len_max) + " bytes";
}

std::string flow_label(const FindingsContext& ctx, uint32_t id) {
  PT_INVARIANT(id >= 1 && id <= ctx.flows.size());
  return ctx.flows[id - 1].label();
}

// The headline hop: what the lost packets have in common that the delivered ones do not.
void describe_headline(const LossCharacter& c, const HeadlineComparison& h, const FindingsContext& ctx,
                       std::vector<std::string>& found) {
  const PacketSide& L = h.lost;
  const PacketSide& P = h.passed;
  // Sizes.
  if (P.packets > 0 && L.len_min > P.len_max) {
    found.push_back("all " + u64(L.packets) + " lost packets were " + range_text(L, true) +
                    " on the wire; all " + u64(P.packets) + " delivered were " + range_text(P, false) +
                    ": an MTU problem?");
  } else if (P.packets > 0 && L.len_max < P.len_min) {
    found.push_back("all " + u64(L.packets) + " lost packets were " + range_text(L, false) +
                    " on the wire; all " + u64(P.packets) + " delivered were " + range_text(P, true));
  }
  // Inner flows (the result's own flow among them stands for packets without an inner layer).
  if (h.inner.size() > 1 || (h.inner.size() == 1 && h.inner.front().flow != c.flow)) {
    struct Lost {
      uint64_t lost;
      std::string label;
    };
    std::vector<Lost> lost_inner;
    bool lost_only = true;  // no packet of those inner flows got through
    for (const InnerFlowCount& f : h.inner) {
      if (f.lost > 0) {
        lost_inner.push_back({f.lost, flow_label(ctx, f.flow)});
        if (f.passed > 0) lost_only = false;
      }
    }
    std::sort(lost_inner.begin(), lost_inner.end(), [](const Lost& a, const Lost& b) {
      if (a.lost != b.lost) return a.lost > b.lost;  // most lost first
      return a.label < b.label;
    });
    // Concentrated, not random: if every packet had the same chance p of being lost, about
    // sum(1 - (1-p)^n_f) inner flows would have lost some. Speak only when the lost packets
    // sit in clearly fewer flows than that (and in at most half of them).
    uint64_t total_lost = 0, total = 0;
    for (const InnerFlowCount& f : h.inner) {
      total_lost += f.lost;
      total += f.lost + f.passed;
    }
    const double p = total ? double(total_lost) / double(total) : 0.0;
    double expected_hit = 0;
    for (const InnerFlowCount& f : h.inner) expected_hit += 1.0 - std::pow(1.0 - p, double(f.lost + f.passed));
    // With about one packet per inner flow (LVS-TUN: every client its own flow), any loss is
    // "concentrated" in the flows it hit and "none of their packets got through": that says
    // nothing. Speak only when inner flows carry several packets each.
    const bool several_each = total >= 3 * h.inner.size();
    if (several_each && lost_inner.size() * 2 <= h.inner.size() &&
        (lost_only || double(lost_inner.size()) * 2 <= expected_hit)) {
      std::string s = "all lost packets belong to " + u64(lost_inner.size()) + " of " + u64(h.inner.size()) +
                      " inner flows: ";
      for (std::size_t i = 0; i < lost_inner.size() && i < 3; ++i) {
        if (i) s += ", ";
        s += lost_inner[i].label;
      }
      if (lost_inner.size() > 3) s += ", …";
      if (lost_only) s += lost_inner.size() == 1 ? " (none of its packets got through)"
                                                 : " (none of their packets got through)";
      found.push_back(std::move(s));
    }
  }
  // TCP flags.
  if (h.flags_agree && h.lost_flags != 0 && h.passed_with_lost_flags < P.packets) {
    found.push_back("all " + u64(L.packets) + " lost packets are " + text::tcp_flags_text(h.lost_flags) + " (" +
                    u64(h.passed_with_lost_flags) + " of the " + u64(P.packets) + " delivered are)");
  }
  // Time.
  const int64_t span = h.judged_t_max - h.judged_t_min;
  if (L.packets >= 3 && span > 0) {
    const std::string from = "t+" + text::seconds_text(L.t_min - ctx.time_origin_ns);
    const std::string to = "t+" + text::seconds_text(L.t_max - ctx.time_origin_ns);
    if ((L.t_max - L.t_min) * 4 <= span) {
      found.push_back("all losses between " + from + " and " + to + " (the flow's packets span " +
                      text::seconds_text(span) + "; t = when the first point started capturing)");
    } else if ((L.t_max - L.t_min) * 4 >= span * 3) {
      found.push_back("losses spread over the flow's whole duration (" + from + " to " + to + ")");
    }
  }
}

const std::string& point_label(const FindingsContext& ctx, std::size_t ord) {
  PT_INVARIANT(ord < ctx.points.size());
  return ctx.points[ord].label;
}

}  // namespace

std::vector<std::string> describe(const LossCharacter& c, const FindingsContext& ctx) {
  std::vector<std::string> found;
  if (c.headline && c.headline->lost.packets > 0) describe_headline(c, *c.headline, ctx, found);
  for (std::size_t p = 0; p < c.holes_at.size(); ++p) {
    if (c.holes_at[p]) {
      const std::string& label = point_label(ctx, p);
      found.push_back("point " + label + " missed " + u64(c.holes_at[p]) + " packets that passed it (capture problem at " +
                      label + ", not a drop)");
    }
  }
  for (std::size_t p = 0; p < c.duplicates_at.size(); ++p) {
    if (c.duplicates_at[p]) {
      found.push_back("point " + point_label(ctx, p) + " saw " + u64(c.duplicates_at[p]) +
                      " duplicate copies of packets (counted once, not as loss)");
    }
  }
  for (std::size_t p = 0; p < c.over_mtu_at.size(); ++p) {
    if (c.over_mtu_at[p]) {
      found.push_back("point " + point_label(ctx, p) + " saw " + u64(c.over_mtu_at[p]) + " frames over " +
                      u64(ctx.mtu_frame) +
                      " bytes (GSO/GRO aggregates): they cannot match single packets at other points, "
                      "TCP may be compared by sequence ranges");
    }
  }
  return found;
}

}  // namespace pathtrace
