#include "correlator/store/trust_json.hpp"

#include <nlohmann/json.hpp>

#include "collector/common/error.hpp"

namespace pathtrace::store_detail {
namespace {

using nlohmann::json;

json parse(std::string_view text, const std::string& db_path, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array())
    throw Error(ExitCode::kDatabase, "database " + db_path + ": " + what + " is not a JSON array");
  return j;
}

}  // namespace

std::string assumptions_json(const std::vector<Assumption>& a) {
  json j = json::array();
  for (const auto& x : a) j.push_back({{"kind", x.kind}, {"points", x.points}, {"text", x.text}});
  return j.dump();
}

std::string translations_json(const std::vector<Translation>& t, std::span<const Point> points) {
  json j = json::array();
  auto label = [&](uint8_t ord) { return ord < points.size() ? points[ord].label : std::string(); };
  for (const auto& x : t)
    j.push_back({{"from", x.from}, {"to", x.to}, {"from_label", label(x.from)}, {"to_label", label(x.to)},
                 {"before", x.before}, {"after", x.after}, {"packets", x.packets}});
  return j.dump();
}

std::string clocks_json(const std::vector<HostClockInfo>& c) {
  json j = json::array();
  for (const auto& x : c)
    j.push_back({{"host", x.host}, {"reference", x.reference}, {"known", x.known}, {"offset_ns", x.offset_ns},
                 {"error_ns", x.error_ns}, {"samples", x.samples}, {"method", x.method}});
  return j.dump();
}

std::vector<Assumption> parse_assumptions(std::string_view text, const std::string& db_path) {
  std::vector<Assumption> out;
  try {
    for (const auto& e : parse(text, db_path, "flow_results.assumptions"))
      out.push_back({e.at("kind").get<std::string>(), e.at("points").get<std::vector<std::string>>(),
                     e.at("text").get<std::string>()});
  } catch (const json::exception& e) {
    throw Error(ExitCode::kDatabase, "database " + db_path + ": flow_results.assumptions: " + e.what());
  }
  return out;
}

std::vector<Translation> parse_translations(std::string_view text, const std::string& db_path) {
  std::vector<Translation> out;
  try {
    for (const auto& e : parse(text, db_path, "flow_results.translations")) {
      Translation t;
      t.from = e.at("from").get<uint8_t>();
      t.to = e.at("to").get<uint8_t>();
      t.before = e.at("before").get<std::string>();
      t.after = e.at("after").get<std::string>();
      t.packets = e.at("packets").get<uint64_t>();
      out.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    throw Error(ExitCode::kDatabase, "database " + db_path + ": flow_results.translations: " + e.what());
  }
  return out;
}

std::vector<HostClockInfo> parse_clocks(std::string_view text, const std::string& db_path) {
  std::vector<HostClockInfo> out;
  try {
    for (const auto& e : parse(text, db_path, "runs.clocks")) {
      HostClockInfo c;
      c.host = e.at("host").get<std::string>();
      c.reference = e.at("reference").get<bool>();
      c.known = e.at("known").get<bool>();
      c.offset_ns = e.at("offset_ns").get<int64_t>();
      c.error_ns = e.at("error_ns").get<int64_t>();
      c.samples = e.at("samples").get<uint64_t>();
      c.method = e.at("method").get<std::string>();
      out.push_back(std::move(c));
    }
  } catch (const json::exception& e) {
    throw Error(ExitCode::kDatabase, "database " + db_path + ": runs.clocks: " + e.what());
  }
  return out;
}

HealthProblem health_problem(std::string_view n) noexcept {
  for (std::size_t i = 1; i < kHealthProblemCount; ++i)
    if (n == name(HealthProblem(i))) return HealthProblem(i);
  return HealthProblem::kNone;
}

}  // namespace pathtrace::store_detail
