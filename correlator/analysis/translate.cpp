// Address translation (rule 9 of docs/verdicts.md): a NAT hop (a floating IP's DNAT, SNAT of
// the replies, a port mapping) changes a packet's addresses, so its digest changes too and the
// packet looks lost before the hop while another one appears from nowhere after it. Digest v2
// (docs/digest.md) keeps a translation key that leaves the addresses out: a packet lost right
// before a point, and one first seen at that very point, mid-path, with the same key, other
// addresses and within the transit time, are one packet translated at that hop.
//
//   first analysis ──► find_translations(): lost traversals ⋈ traversals without an entry,
//                      on the translation key; only one-to-one matches, adjacent points
//   rename the later side's sightings to the earlier side's digest
//   second analysis, the translated flow's keys aliased to the earlier side's ──► the Run

#include "correlator/analysis/translate.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <bit>
#include <map>
#include <string>
#include <tuple>

namespace pathtrace::analyzer {
namespace {

struct Candidate {
  uint64_t key;    // translation key
  int64_t t0;      // the traversal's first sighting
  uint32_t trav;   // index into Run::traversals
  bool operator<(const Candidate& o) const {
    if (key != o.key) return key < o.key;
    return t0 != o.t0 ? t0 < o.t0 : trav < o.trav;
  }
};

// The next point after `ord` in direction `dir` (or kNoPoint past the end).
unsigned step(unsigned ord, Dir dir, unsigned n) {
  if (dir == Dir::kForward) return ord + 1 < n ? ord + 1 : kNoPoint;
  return ord > 0 ? ord - 1 : kNoPoint;
}

std::string address(const packet::FlowKey& k, const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(k.version == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
  return buf;
}

bool has_ports(const packet::FlowKey& k) { return k.proto == 6 || k.proto == 17 || k.proto == 132; }
bool is_icmp(const packet::FlowKey& k) { return k.proto == 1 || k.proto == 58; }

std::string end_text(const packet::FlowKey& k, const std::array<uint8_t, 16>& a, uint16_t port, bool port_changed) {
  std::string s = address(k, a);
  if (!port_changed) return s;
  return (k.version == 6 ? "[" + s + "]" : s) + ":" + std::to_string(port);
}

}  // namespace

std::pair<std::string, std::string> translation_text(const packet::FlowKey& before, const packet::FlowKey& after) {
  const bool ports = has_ports(before) && has_ports(after);
  const bool src = before.src != after.src || (ports && before.sport != after.sport);
  const bool dst = before.dst != after.dst || (ports && before.dport != after.dport);
  // An ICMP echo's identifier (both "ports" of its key) rewritten with the address.
  const bool id = is_icmp(before) && is_icmp(after) && before.sport != after.sport;
  auto side = [&](const packet::FlowKey& k, const packet::FlowKey& other) {
    const std::string s = end_text(k, k.src, k.sport, ports && k.sport != other.sport);
    const std::string d = end_text(k, k.dst, k.dport, ports && k.dport != other.dport);
    const std::string echo = id ? " id " + std::to_string(k.sport) : "";
    if (src && dst) return s + " → " + d + echo;
    return (src ? s : dst ? d : std::string("echo")) + echo;
  };
  return {side(before, after), side(after, before)};
}

Translations find_translations(const Run& run, const AnalysisOptions& opt) {
  Translations out;
  const std::vector<Point>& points = run.report.points;
  const unsigned n = unsigned(points.size());
  if (n < 2) return out;
  auto innermost = [&](const Traversal& t) -> const packet::FlowKey& {
    return run.chains[run.all_sightings()[t.first].chain].ip.back();
  };
  // Lost packets (their hop named or assumed) and packets first seen mid-path.
  std::vector<Candidate> lost, appeared;
  const std::span<const Traversal> travs = run.all_traversals();
  for (uint32_t i = 0; i < travs.size(); ++i) {
    const Traversal& t = travs[i];
    if ((i & 0xffff) == 0xffff) [[unlikely]] run.release_traversals_before(i);
    if ((t.fate == Fate::kLost || t.fate == Fate::kOutOfWindow) && t.last_seen != kNoPoint)
      lost.push_back({packet::translation_key(t.digest, innermost(t)), t.t0_ns, i});
    else if (t.fate == Fate::kNoEntry && t.seen)
      appeared.push_back({packet::translation_key(t.digest, innermost(t)), t.t0_ns, i});
  }
  if (lost.empty() || appeared.empty()) return out;
  std::sort(lost.begin(), lost.end());
  std::sort(appeared.begin(), appeared.end());
  // The run of candidates with v[i]'s key: [first, end).
  auto run_of = [](const std::vector<Candidate>& v, std::size_t i) {
    std::size_t first = i, end = i + 1;
    while (first > 0 && v[first - 1].key == v[i].key) --first;
    while (end < v.size() && v[end].key == v[i].key) ++end;
    return std::pair<std::size_t, std::size_t>{first, end};
  };
  // One group per (earlier keys, later keys, hop, direction).
  auto bytes_of = [](std::span<const packet::FlowKey> ip) {
    return std::string(reinterpret_cast<const char*>(ip.data()), ip.size() * sizeof(packet::FlowKey));
  };
  std::map<std::string, std::size_t> groups;
  std::vector<std::size_t> group_of;  // per renamed entry
  std::size_t a = 0;
  for (std::size_t l = 0; l < lost.size(); ++l) {
    while (a < appeared.size() && appeared[a].key < lost[l].key) ++a;
    if (a == appeared.size() || appeared[a].key != lost[l].key) continue;
    // As many packets on each side with this key (identical packets sent again: IP ID 0, the
    // same datagram): the i-th lost pairs with the i-th to appear, in time order, as they
    // passed the translating hop. Different counts: ambiguous, never guessed.
    const auto [l0, l1] = run_of(lost, l);
    const auto [a0, a1] = run_of(appeared, a);
    if (l1 - l0 != a1 - a0) continue;
    const std::size_t pair_a = a0 + (l - l0);
    const Traversal& before = travs[lost[l].trav];
    const Traversal& after = travs[appeared[pair_a].trav];
    if (before.digest == after.digest) continue;
    // Seen only beyond the point it was lost after, first at the next point (or the next
    // point whose capture is evidence).
    const uint64_t beyond = before.dir == Dir::kForward ? ~((uint64_t{2} << before.last_seen) - 1)
                                                        : (uint64_t{1} << before.last_seen) - 1;
    if (after.seen & ~beyond) continue;
    const unsigned first = before.dir == Dir::kForward ? unsigned(std::countr_zero(after.seen))
                                                       : unsigned(63 - std::countl_zero(after.seen));
    const unsigned next = step(before.last_seen, before.dir, n);
    unsigned next_usable = next;
    while (next_usable != kNoPoint && !points[next_usable].health.usable) next_usable = step(next_usable, before.dir, n);
    if (first != next && first != next_usable) continue;
    const int64_t dt = after.t0_ns - before.t0_ns;
    if (dt < -opt.max_transit_ns || dt > opt.max_transit_ns) continue;
    const Chain& bc = run.chains[run.all_sightings()[before.first].chain];
    const Chain& ac = run.chains[run.all_sightings()[after.first].chain];
    if (bc.ip.size() != ac.ip.size()) continue;  // a translation changes addresses, not layers
    std::string gk = bytes_of(bc.ip) + bytes_of(ac.ip);
    gk += char(before.last_seen);
    gk += char(first);
    gk += char(before.dir);
    auto [it, fresh] = groups.emplace(std::move(gk), out.groups.size());
    if (fresh) {
      TranslationGroup g;
      g.before_keys.assign(bc.ip.begin(), bc.ip.end());
      g.after_keys.assign(ac.ip.begin(), ac.ip.end());
      g.from = before.last_seen;
      g.to = uint8_t(first);
      g.digest = before.digest;
      std::tie(g.before, g.after) = translation_text(bc.ip.back(), ac.ip.back());
      out.groups.push_back(std::move(g));
    }
    ++out.groups[it->second].packets;
    out.renamed.push_back({appeared[pair_a].trav, before.digest});
    group_of.push_back(it->second);
  }
  // The later side's keys are taken for the earlier side's: one later flow can stand for one
  // earlier flow only (several clients behind one address with the same keys: not paired).
  std::vector<bool> drop(out.groups.size(), false);
  for (std::size_t i = 0; i < out.groups.size(); ++i)
    for (std::size_t j = 0; j < out.groups.size(); ++j)
      if (out.groups[i].after_keys == out.groups[j].after_keys && out.groups[i].before_keys != out.groups[j].before_keys)
        drop[i] = true;
  if (std::find(drop.begin(), drop.end(), true) == drop.end()) return out;
  Translations kept;
  for (std::size_t i = 0; i < out.groups.size(); ++i)
    if (!drop[i]) kept.groups.push_back(std::move(out.groups[i]));
  for (std::size_t r = 0; r < out.renamed.size(); ++r)
    if (!drop[group_of[r]]) kept.renamed.push_back(out.renamed[r]);
  return kept;
}

}  // namespace pathtrace::analyzer
