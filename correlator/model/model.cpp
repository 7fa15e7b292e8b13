#include "correlator/model/model.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_set>

namespace pathtrace {
namespace {

// Every stack text seen by this process, never freed (stable addresses: a node-based set),
// found by a string_view without making a string.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct StackTexts {
  std::shared_mutex m;
  std::unordered_set<std::string, TextHash, std::equal_to<>> texts;
};

StackTexts& stack_texts() {
  static StackTexts* t = new StackTexts;  // never destroyed: StackTexts may outlive static destructors
  return *t;
}

const std::string* empty_stack() {
  static const std::string* e = &*stack_texts().texts.emplace().first;
  return e;
}

}  // namespace

StackText::StackText() noexcept : text_(empty_stack()) {}

StackText::StackText(std::string_view text) {
  StackTexts& t = stack_texts();
  {
    std::shared_lock read(t.m);
    if (const auto it = t.texts.find(text); it != t.texts.end()) {
      text_ = &*it;
      return;
    }
  }
  std::unique_lock write(t.m);
  text_ = &*t.texts.emplace(text).first;
}

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
    case HealthProblem::kNoCapture: return "no_capture";
    case HealthProblem::kLate: return "late";
    case HealthProblem::kEarly: return "early";
  }
  return "unknown";
}

}  // namespace pathtrace
