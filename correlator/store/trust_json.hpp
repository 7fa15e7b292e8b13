#pragma once
// The JSON text columns of schema 4 (inside the store only): a result's assumptions and
// address translations, a run's host clocks, and a point's health problem by name. Written
// and read back exactly; text that is not what was written is Error(kDatabase).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::store_detail {

std::string assumptions_json(const std::vector<Assumption>& a);
// `points` name the translation's ends by label (read back by label).
std::string translations_json(const std::vector<Translation>& t, std::span<const Point> points);
std::string clocks_json(const std::vector<HostClockInfo>& c);

std::vector<Assumption> parse_assumptions(std::string_view json, const std::string& db_path);
std::vector<Translation> parse_translations(std::string_view json, const std::string& db_path);
std::vector<HostClockInfo> parse_clocks(std::string_view json, const std::string& db_path);

// The HealthProblem called `name` (as name() spells it; "" or unknown: kNone).
HealthProblem health_problem(std::string_view name) noexcept;

}  // namespace pathtrace::store_detail
