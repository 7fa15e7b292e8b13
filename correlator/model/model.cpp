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

}  // namespace pathtrace
