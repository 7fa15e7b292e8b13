// Point health: see health.hpp. The likely cause of each problem is said in words, with what
// would settle it, because the operator has to go and take that capture again.

#include "correlator/analysis/health.hpp"

#include <algorithm>
#include <cstdint>
#include <array>
#include <string>

#include "correlator/analysis/analysis.hpp"
#include "correlator/analysis/text.hpp"

namespace pathtrace {
namespace {

using text::u64;

void set(Point& p, HealthProblem problem, std::string detail) {
  p.health.usable = false;
  p.health.problem = problem;
  p.health.detail = std::move(detail);
}

}  // namespace

bool tagged(const std::string& stack) noexcept {
  return stack.find("/vlan") != std::string::npos || stack.find("/qinq") != std::string::npos;
}

namespace {

// Well-known tunnel ports: VXLAN, Linux's VXLAN default, VXLAN-GPE, Geneve.
constexpr std::array<uint16_t, 4> kTunnelPorts = {4789, 8472, 4790, 6081};

// 1 + the index in kTunnelPorts of a chain that is UDP to a tunnel port with nothing decoded
// inside it; 0 otherwise.
unsigned undecoded_tunnel_port(const Chain& c) {
  if (c.ip.size() != 1 || c.ip[0].proto != 17) return 0;
  for (std::size_t i = 0; i < kTunnelPorts.size(); ++i)
    if (c.ip[0].dport == kTunnelPorts[i]) return unsigned(i + 1);
  return 0;
}

}  // namespace

PointTally::PointTally(std::size_t n_points, const std::vector<Chain>& chains)
    : chain_kind_(chains.size(), 0), seen_(n_points, 0), tags_(n_points, 0), tunnel_(n_points, 0), by_port_(n_points) {
  static_assert(std::tuple_size_v<decltype(by_port_)::value_type> == kTunnelPorts.size());
  for (std::size_t c = 0; c < chains.size(); ++c)
    chain_kind_[c] = uint8_t(tagged(chains[c].stack) | (undecoded_tunnel_port(chains[c]) << 1));
}

void PointTally::add(std::span<const Sighting> sightings) noexcept {
  for (const Sighting& s : sightings) {
    if (s.point >= seen_.size() || s.chain >= chain_kind_.size()) [[unlikely]] {
      ++out_of_range_;
      continue;
    }
    const uint8_t kind = chain_kind_[s.chain];
    ++seen_[s.point];
    tags_[s.point] += kind & 1;
    if (kind >> 1) {
      ++tunnel_[s.point];
      ++by_port_[s.point][(kind >> 1) - 1];
    }
  }
}

void assess_points(std::vector<Point>& points, PointTally tally, std::vector<std::string>& warnings,
                   std::vector<uint64_t>* tagged_at) {
  const std::size_t n = points.size();
  const std::vector<uint64_t>& seen = tally.seen_;
  const std::vector<uint64_t>& tunnel = tally.tunnel_;
  const auto& by_port = tally.by_port_;
  auto mostly_tunnel = [&](std::size_t i) { return tunnel[i] >= 10 && tunnel[i] * 2 >= seen[i]; };
  auto no_tunnel = [&](std::size_t i) { return seen[i] >= 10 && tunnel[i] * 10 < seen[i]; };

  for (std::size_t i = 0; i < n; ++i) {
    Point& p = points[i];
    if (!p.health.usable) continue;
    // Undecoded tunnel packets next to a point that sees what is inside them: they cannot match.
    if (mostly_tunnel(i) && ((i > 0 && no_tunnel(i - 1)) || (i + 1 < n && no_tunnel(i + 1)))) {
      const auto top = std::size_t(std::max_element(by_port[i].begin(), by_port[i].end()) - by_port[i].begin());
      const uint16_t top_port = kTunnelPorts[top];
      const std::string port = u64(top_port);
      const bool geneve = top_port == 6081;
      set(p, HealthProblem::kVxlanPort,
          u64(tunnel[i]) + " of its " + u64(seen[i]) + " packets are UDP to port " + port +
              " and did not decode as " + (geneve ? "Geneve" : "VXLAN") +
              (top_port == 8472 ? " (8472 is the Linux kernel's VXLAN port; pathtrace expects 4789 unless told)"
                                  : "") +
              ": the packets inside them cannot match the next point's. Give " +
              (geneve ? "--geneve-port " : "--vxlan-port ") + port + " to decode them");
      continue;
    }
    const uint64_t digested = p.digested;
    if (p.packets >= 10 && digested * 20 < p.packets) {
      const uint64_t cut = p.discards(packet::Status::kTruncated);
      if (cut * 2 >= p.packets) {
        set(p, HealthProblem::kSnaplen,
            u64(cut) + " of " + u64(p.packets) + " frames were cut" +
                (p.snaplen ? " at " + u64(p.snaplen) + " bytes (the capture's snaplen)" : " short (snaplen)") +
                ", before the end of the headers and payload bytes the digest needs: capture again with a "
                "larger snaplen (tcpdump -s 256, or -s 0)");
      } else {
        set(p, HealthProblem::kNotIp,
            "only " + u64(digested) + " of " + u64(p.packets) + " frames parsed as IP (" +
                u64(p.discards(packet::Status::kNotIp)) + " not IP, " + u64(p.discards(packet::Status::kMalformed)) +
                " malformed): does the file's link type match its bytes? (`capinfos -E FILE`; an Ethernet "
                "capture saved as raw IP reads as garbage)");
      }
      continue;
    }
  }
  for (const Point& p : points)
    if (!p.health.usable)
      warnings.push_back("point " + point_text(p) + " is not used as evidence: " + p.health.detail);
  if (tagged_at) *tagged_at = std::move(tally.tags_);
}

bool vlan_suspect(const Point& p, const std::vector<uint64_t>& tagged_at) noexcept {
  const std::size_t n = tagged_at.size(), i = p.ord;
  // Its own frames are tagged, or both its neighbours' are (a tag that is on both sides of it
  // is on it too).
  if (i < n && tagged_at[i] > 0) return true;
  if (i > 0 && i + 1 < n && tagged_at[i - 1] > 0 && tagged_at[i + 1] > 0) return true;
  // Neutron's provider bridge and br-int carry 802.1Q tags, and so do their veth ends.
  for (const char* hint : {"br-ethx", "br-int", "br-eth", "phy-br", "int-br"})
    if (p.role.find(hint) != std::string::npos || p.iface.find(hint) != std::string::npos) return true;
  return false;
}

void mark_blind(Point& p, const std::string& saw, const std::vector<uint64_t>& tagged_at,
                std::vector<std::string>& warnings) {
  std::string why = saw;
  if (p.packets == 0) why += "; its capture holds no frame at all";
  const bool vlan = vlan_suspect(p, tagged_at);
  if (vlan)
    why += "; frames here are VLAN-tagged: was it captured with a filter like `ip proto 4` instead of "
           "`vlan and ip proto 4`? (pathtrace's --filter aliases match both)";
  else
    why += ": a capture filter that did not match them, or the wrong interface?";
  set(p, vlan ? HealthProblem::kVlanFilter : HealthProblem::kNothingSeen, why);
  warnings.push_back("point " + point_text(p) + " is not used as evidence: " + why);
}

}  // namespace pathtrace
