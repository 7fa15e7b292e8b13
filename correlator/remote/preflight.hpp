#pragma once
// Pre-flight: before anything captures, one ssh per remote host (all in parallel, 15 s cap
// each) runs a fixed check script and says, point by point, whether the capture can start:
// reachable without a prompt, pathtrace of our version (agent) or tcpdump (agentless),
// privilege, every interface and namespace; it also measures a first clock offset. Failures
// are values in the result, naming point, host and cause (docs/remote.md, "Pre-flight").

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::remote {

using inventory::Host;

// The result of pre-flight for one point.
struct PointCheck {
  bool ok = false;
  std::string detail;   // "ok: pathtrace 0.1.0 (agent), root" / the error, naming host and point
};
// What pre-flight learned about one host.
struct HostCheck {
  std::string host;
  bool reachable = false;     // ssh ran the check script
  std::string error;          // "" or why the host failed ("ssh: Permission denied (publickey)")
  std::string software;       // "pathtrace 0.1.0" (agent), "tcpdump" (agentless)
  bool clock_known = false;
  int64_t clock_offset_ns = 0;   // remote CLOCK_REALTIME − ours, measured over ssh
  int64_t clock_error_ns = 0;    // its uncertainty (ssh start-up included)
};

// Checks every remote host of `points` in parallel (one ssh per host, 15 s cap each):
// reachable, BatchMode authentication, pathtrace (same version) or tcpdump present, every
// interface and namespace there, privilege (root, or `sudo = true` and `sudo -n` works).
// Returns one PointCheck per point (local points: ok) and fills `hosts_out` by host name.
// Never throws for a remote failure: it is in the result.
std::vector<PointCheck> preflight(const std::vector<Point>& points,
                                  const std::map<std::string, Host>& hosts,
                                  std::map<std::string, HostCheck>& hosts_out);

}  // namespace pathtrace::remote
