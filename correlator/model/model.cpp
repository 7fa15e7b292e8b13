#include "correlator/model/model.hpp"

#include <algorithm>

namespace pathtrace {

const Flow* Report::flow(uint32_t id) const noexcept {
  if (omitted.flows == 0) return id >= 1 && id <= flows.size() ? &flows[id - 1] : nullptr;
  const auto it = std::lower_bound(flows.begin(), flows.end(), id, [](const Flow& f, uint32_t v) { return f.id < v; });
  return it != flows.end() && it->id == id ? &*it : nullptr;
}

const char* name(VerdictKind k) noexcept {
  switch (k) {
    case VerdictKind::kDelivered: return "delivered";
    case VerdictKind::kDisappears: return "disappears";
    case VerdictKind::kPartialLoss: return "partial_loss";
    case VerdictKind::kInconclusive: return "inconclusive";
    case VerdictKind::kNotJudged: return "not_judged";
  }
  return "unknown";
}

static_assert(std::size_t(HealthProblem::kEarly) + 1 == kHealthProblemCount);

const char* name(HealthProblem p) noexcept {
  switch (p) {
    case HealthProblem::kNone: return "";
    case HealthProblem::kNotIp: return "not_ip";
    case HealthProblem::kLinkType: return "linktype";
    case HealthProblem::kSnaplen: return "snaplen";
    case HealthProblem::kIdentical: return "identical";
    case HealthProblem::kVlanFilter: return "vlan_filter";
    case HealthProblem::kNothingSeen: return "nothing_seen";
    case HealthProblem::kVxlanPort: return "vxlan_port";
    case HealthProblem::kLate: return "late";
    case HealthProblem::kEarly: return "early";
  }
  return "unknown";
}

}  // namespace pathtrace
