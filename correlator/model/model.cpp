#include "correlator/model/model.hpp"

namespace pathtrace {

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
