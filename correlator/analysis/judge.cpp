#include "correlator/analysis/judge.hpp"

#include <algorithm>

#include "correlator/analysis/clocks.hpp"

namespace pathtrace {

Run judge(Collected in, const JudgeOptions& opt) {
  std::vector<std::string> clock_notes;
  const bool several_hosts =
      std::any_of(in.points.begin(), in.points.end(),
                  [&](const Point& p) { return p.host != in.points.front().host; });
  if (opt.clocks && several_hosts) {
    // Hosts' clocks disagree: put every host's sightings on the clock of the first point's
    // host before traversals are grouped (hop order still comes from the path only).
    const auto clocks = estimate_clocks(in.points, in.sightings);
    apply_clocks(clocks, in.points, in.sightings);
    for (const auto& hc : clocks)
      if (!hc.reference) clock_notes.push_back(describe(hc, clocks.front().host));
  }
  Run run = analyze(std::move(in.points), std::move(in.chains), std::move(in.sightings),
                    std::move(in.scratch), opt.analysis);
  run.kept = std::move(in.kept);
  for (auto& w : in.warnings) run.report.warnings.push_back(std::move(w));
  for (auto& w : clock_notes) run.report.warnings.push_back(std::move(w));
  return run;
}

}  // namespace pathtrace
