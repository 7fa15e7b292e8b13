#pragma once
// The Neutron evidence of a run as plain data: the port's discovered path and, for
// `run --explain`, the filtering-rule counters that grew and the rules blamed for the loss.
// The neutron library produces it (correlator/neutron/), the store writes it in the same
// transaction as the run (schema/0002_neutron.sql), reports print it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pathtrace {

struct NeutronEvidence {
  // One capture point of the discovered path, VM side first.
  struct PathPoint {
    std::string label, role, host, netns, iface;
    std::string what;  // one line: what this device is
  };
  struct Discovery {
    std::string port;                  // full UUID, or the 11-character device suffix
    std::string layout;                // "hybrid", "ovs-native", "linuxbridge"
    std::string netns;
    std::vector<std::string> bridges;  // OVS bridges on the path
    std::vector<std::string> notes;    // hops that cannot be captured, and what to do instead
    std::vector<PathPoint> points;
  };
  // A filtering rule whose packet counter grew between the snapshots around the capture.
  struct Counter {
    std::string layer, table, chain;
    int index = 0;  // 1-based position in the chain; 0 = the chain's policy
    std::string rule, target;
    uint64_t packets = 0, bytes = 0;
  };
  // A dropping rule blamed for (part of) the loss, best match first.
  struct Blame {
    std::string layer, table;
    std::string chain_path;  // "FORWARD → … → neutron-openvswi-sg-fallback: DROP"
    std::string rule, verdict;
    uint64_t packets = 0;       // attributed to this path
    uint64_t rule_packets = 0;  // the dropping rule's own delta (shared chains: every port)
    std::string port_chain, direction, suggestion, suggested_rule;
  };

  std::optional<Discovery> discovery;
  std::vector<Counter> deltas;
  std::vector<Blame> blamed;
};

}  // namespace pathtrace
