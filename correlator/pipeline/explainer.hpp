#pragma once
// `run --explain`: the filtering layers of every namespace on the path, read before the
// traffic and after the capture; the loss at the headline hop is attributed to the rules
// whose counters grew by about as many packets (docs/neutron.md). Remote hosts over ssh.
//
//   Explainer(points) ── discover the Neutron port of a tap among the points (if any)
//   snap(before) … capture … snap(after)
//   attribute(run) ── explain() at the headline hop ──▶ findings + NeutronEvidence

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"
#include "correlator/neutron/discover.hpp"
#include "correlator/neutron/explain.hpp"

namespace pathtrace::pipeline {

class Explainer {
 public:
  // Finds the filtering layers of every (host, namespace) of `points`. A failed discovery is
  // a note in the report, never an error.
  Explainer(const std::vector<Point>& points, const std::string& ovs_db,
            const std::map<std::string, inventory::Host>& hosts);
  // Reads every target's counters into `before` (call before the traffic) or `after`.
  void snap_before() { snap(before_); }
  void snap_after() { snap(after_); }
  // Attributes the headline loss of `run` (its first flow that lost packets), adds the
  // explanation to that flow's findings and the notes to the report's warnings, and returns
  // what the store keeps with the run.
  NeutronEvidence attribute(Run& run);

 private:
  void snap(std::vector<neutron::ExplainSnapshot>& into);
  static std::string host_of(const neutron::ExplainTarget& t);
  std::vector<neutron::ExplainTarget> targets_;  // one per distinct (host, netns)
  std::vector<neutron::ExplainSnapshot> before_, after_;
  std::optional<neutron::Discovery> discovery_;  // when a point is a Neutron tap
  std::string discovery_host_;                   // the host it was found on
  std::vector<std::string> notes_;
  std::map<std::string, std::pair<std::string, std::string>> where_;  // label → (host, netns)
};

}  // namespace pathtrace::pipeline
