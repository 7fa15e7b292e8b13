#include "correlator/evidence/trips.hpp"

#include <string>

#include "collector/common/error.hpp"
#include "correlator/analysis/judge.hpp"

namespace pathtrace::evidence {

StoredRun open_run(Store& store, int64_t run) {
  StoredRun out;
  out.report = store.load(run);
  const int64_t id = out.report.run_id;
  out.status = store.status(id);
  if (out.status != RunStatus::kComplete) {
    std::vector<Point> points;
    std::vector<Chain> chains;
    std::vector<Sighting> sightings;
    store.load_staged(id, points, chains, sightings);
    const std::size_t committed = sightings.size();
    out.analysed = judge(Collected{std::move(points), std::move(chains), std::move(sightings), {}, {}, {}});
    Report& r = out.analysed->report;
    r.run_id = id;
    r.started = out.report.started;
    r.command = out.report.command;
    r.filter = out.report.filter;
    r.warnings.insert(r.warnings.begin(),
                      "run " + std::to_string(id) +
                          (out.status == RunStatus::kCapturing ? " is still capturing" : " was interrupted") +
                          ": analysed from the " + std::to_string(committed) +
                          " sightings committed before it stopped (nothing is written back)");
    out.report = r;
  }
  return out;
}

void check_flow(const Report& r, uint32_t flow) {
  if (flow == 0 || flow > r.flows.size())
    throw Error(ExitCode::kUsage, "run " + std::to_string(r.run_id) + " has no flow " +
                                      std::to_string(flow) + " (flows 1.." +
                                      std::to_string(r.flows.size()) + ")");
}

uint8_t next_point(const Report& r, uint8_t last, Dir dir) {
  if (last == kNoPoint) return kNoPoint;
  if (dir == Dir::kForward) return last + 1u < r.points.size() ? uint8_t(last + 1) : kNoPoint;
  return last > 0 ? uint8_t(last - 1) : kNoPoint;
}

}  // namespace pathtrace::evidence
