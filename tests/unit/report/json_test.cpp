// The JSON report is written as it is made (report::write_json): it must be exactly the
// document a JSON library prints for the same content, for an empty run and a busy one.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "correlator/report/render.hpp"
#include "tests/unit/analysis/builder.hpp"

namespace pathtrace {
namespace {

using namespace testing_runs;

std::string written(const Report& r) {
  std::ostringstream out;
  report::write_json(out, r);
  return out.str();
}

// What nlohmann prints for the same document (ordered_json keeps the members' order).
std::string printed(const std::string& text) { return nlohmann::ordered_json::parse(text).dump(2) + "\n"; }

TEST(ReportJson, AnEmptyRunIsWhatTheLibraryPrints) {
  Report r;
  r.run_id = 3;
  r.started = "2026-12-05T00:00:00Z";
  r.command = "pathtrace ingest \"x\\ny\"";
  const std::string text = written(r);
  EXPECT_EQ(text, printed(text));
  const auto j = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(j["flows"], nlohmann::ordered_json::array());
  EXPECT_EQ(j["results"], nlohmann::ordered_json::array());
  EXPECT_EQ(j["command"], "pathtrace ingest \"x\\ny\"");
  EXPECT_EQ(j["verdict"]["headline"], "nothing judged: no packet was seen at an end of the path inside the common window");
}

TEST(ReportJson, AnIncidentWithManyFlowsIsWhatTheLibraryPrints) {
  Builder b;
  b.points = incident_points();
  const auto lossy = incident_chains(b);
  for (int i = 0; i < 50; ++i) b.send(b.fresh_digest(), 1 * kS + i * 10 * kMs, kGtoC, lossy);
  for (uint16_t f = 0; f < 20; ++f) {
    const uint32_t udp = b.chain("eth/ipv4/udp", {v4("192.0.2.9", "198.18.0.20", 17, uint16_t(5000 + f), 53)});
    const std::vector<uint32_t> ch(7, udp);
    for (int i = 0; i < 3; ++i) b.send(b.fresh_digest(), 2 * kS + f * kMs + i * 1000, kGtoA, ch);
  }
  const pathtrace::Run run = b.analyze();
  const std::string text = written(run.report);
  EXPECT_EQ(text, printed(text));
  const auto j = nlohmann::ordered_json::parse(text);
  ASSERT_EQ(j["results"].size(), run.report.results.size());
  EXPECT_EQ(j["flows"].size(), run.report.flows.size());
  EXPECT_EQ(j["results"][0]["verdict"], "disappears");
  EXPECT_EQ(j["results"][0]["headline_hop"]["from"], "C");
  EXPECT_EQ(j["points"].size(), 7u);
  EXPECT_EQ(j["results"].back()["verdict"], "delivered");
  EXPECT_EQ(j.begin().key(), "format");
  EXPECT_EQ(std::prev(j.end()).key(), "clocks");
}

}  // namespace
}  // namespace pathtrace
