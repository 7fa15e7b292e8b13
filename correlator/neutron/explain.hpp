#pragma once
// Explain a loss: which filtering rule dropped the packets (docs/neutron.md).
//
//   snapshot(target) ── iptables-save -c, ip6tables-save -c, nft -j list ruleset,
//        │              ovs-ofctl dump-flows BR  (read-only, in the target's netns)
//   … capture …
//   snapshot(target)
//        │
//   explain(before, after, lost, flow) ── pure: counter deltas → the DROP rules that grew by
//        │                                about `lost`, each with the chain path leading to it
//   render(attributions, lost) ── text for the report
//   evidence_of(discovery, deltas, attributions) ── what the store writes with the run
//
// Everything but snapshot() is pure and unit-tested on captured outputs.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/model/neutron.hpp"
#include "correlator/neutron/discover.hpp"

namespace pathtrace::neutron {

// Where to read the counters.
struct ExplainTarget {
  std::string netns;                 // "" = this namespace
  std::string ovs_db;                // "unix:PATH" (its folder has BR.mgmt) or "" (OVS_RUNDIR)
  std::vector<std::string> bridges;  // OVS bridges to dump (Discovery::bridges); may be empty
  int settle_ms = 3000;  // at most this long waiting for OVS flow counters to stop moving
  std::optional<Host> remote;  // read them on this host over ssh ("" = here)
};

// One rule (or a chain's policy, or an OpenFlow flow) and its packet counter.
struct RuleCounter {
  std::string layer;   // "iptables", "ip6tables", "nft", "openflow"
  std::string table;   // "filter" (nft: "ip filter"; openflow: the bridge)
  std::string chain;   // "neutron-openvswi-sg-fallback" (openflow: "table=82")
  int index = 0;       // 1-based position in the chain; 0 = the chain's policy
  std::string rule;    // "-A CHAIN ... -j DROP" without counters (openflow: match + actions)
  std::string target;  // "DROP", "REJECT", "ACCEPT", "RETURN", a chain name, "drop", ""
  bool is_goto = false;  // -g: the chain returns to the caller's caller
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// The counters of all filtering layers at one moment.
struct ExplainSnapshot {
  std::vector<RuleCounter> rules;
  std::vector<std::string> layers;    // what was read: "iptables", "nft", "openflow br-int", ...
  std::vector<std::string> warnings;  // what could not be read, and why
};

// Parses `iptables-save -c` (or ip6tables-save -c) text; `layer` names it. Lines it does not
// understand are skipped (never throws).
std::vector<RuleCounter> parse_iptables_save(std::string_view text, std::string_view layer);

// Parses `ovs-ofctl dump-flows BR`: one RuleCounter per flow, chain "table=N", rule = the
// flow without its statistics (duration, n_packets, n_bytes, idle_age, hard_age). Never throws.
std::vector<RuleCounter> parse_ofctl_flows(std::string_view text, std::string_view bridge);

// Parses `nft -j list ruleset`: rules that have a counter. Tables that iptables-nft manages
// (ip/ip6 filter, nat, mangle, raw, security) are skipped when `skip_xtables`, since
// iptables-save already reported them. Returns {} on text that is not JSON.
std::vector<RuleCounter> parse_nft_json(std::string_view json, bool skip_xtables);

// Reads every layer's counters in target.netns. Read-only. OpenFlow counters lag the datapath
// by up to ~1 s, so the bridges are dumped every 0.6 s until two dumps agree (at most
// target.settle_ms; at least one extra dump). A missing tool or a failing
// command becomes a warning (iptables missing: a warning saying so); throws nothing but
// Error(kCapture) when the netns does not exist.
ExplainSnapshot snapshot(const ExplainTarget& target);

// How a rule's counter changed between two snapshots.
struct CounterDelta {
  RuleCounter rule;  // as in the later snapshot
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// The rules whose packet counter grew (matched by layer, table, chain and rule text, so rules
// inserted in between do not shift the others). A counter that went down (rules reloaded)
// counts from 0. Sorted by layer, table, chain, index.
std::vector<CounterDelta> diff(const ExplainSnapshot& before, const ExplainSnapshot& after);

// What is known of the lost flow (all optional).
struct FlowHint {
  int ip_version = 4;     // 4 or 6
  int proto = -1;         // IP protocol of the lost packets (4 IPIP, 6 TCP, ...); -1 unknown
  std::string src, dst;   // addresses of the lost flow ("" unknown)
  int dport = -1;         // TCP/UDP destination port; -1 unknown
  std::string port_uuid;  // the Neutron port on the path: prefer its per-port chains
};

// One rule blamed for (part of) the loss.
struct Attribution {
  std::string layer;                // "iptables", ...
  std::string table;                // "filter"
  std::vector<std::string> path;    // FORWARD, neutron-openvswi-FORWARD, ..., the rule's chain
  std::string rule;                 // the dropping rule, as iptables-save prints it
  std::string verdict;              // "DROP", "REJECT", "drop", "policy DROP"
  uint64_t packets = 0;             // the packets attributed (the smallest delta on the path)
  uint64_t rule_packets = 0;        // the dropping rule's own delta (shared chains: all ports)
  std::string port_chain;           // "neutron-openvswi-ibdd1f2c3-b" when the path has one
  std::string direction;            // "ingress" / "egress" (from the per-port chain), or ""
  std::string suggestion;           // the security-group rule that would let the traffic in
  std::string suggested_rule;       // how Neutron renders it: "-A neutron-openvswi-i… -p 4 -j RETURN"
  // "FORWARD → neutron-openvswi-FORWARD → … → neutron-openvswi-sg-fallback: DROP"
  std::string path_text() const;
};

// Attributes `lost_packets`: the dropping rules (DROP/REJECT, a DROP policy, OpenFlow drop)
// whose counter grew, reached through a chain path of jumps that all grew, whose smallest
// delta is about lost_packets (within max(2, 5%)). Shared chains (sg-fallback) are attributed
// through the per-port chain that jumped to them. Best match first. lost_packets 0: {}.
std::vector<Attribution> explain(const ExplainSnapshot& before, const ExplainSnapshot& after,
                                 uint64_t lost_packets, const FlowHint& flow);

// Text for a person: one block per attribution, or one line saying that no filtering rule's
// counter grew by about lost_packets (the loss is not a firewall drop on these layers).
std::string render(const std::vector<Attribution>& attributions, uint64_t lost_packets,
                   const ExplainSnapshot& after);

// The discovery (may be null), counter deltas and attributions as the evidence the store
// writes with the run (Run::neutron), in one transaction.
NeutronEvidence evidence_of(const Discovery* discovery, const std::vector<CounterDelta>& deltas,
                            const std::vector<Attribution>& attributions);

// "IPIP" for 4, "TCP" for 6, ...; "" when unknown.
std::string_view ip_proto_name(int proto) noexcept;

}  // namespace pathtrace::neutron
