#include "correlator/cli/trips.hpp"

#include <string>

#include "collector/common/error.hpp"
#include "correlator/analysis/analysis.hpp"

namespace pathtrace::cli {

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
    out.analysed = analyze(std::move(points), std::move(chains), std::move(sightings));
    out.report = out.analysed->report;
    out.report.run_id = id;
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

}  // namespace pathtrace::cli
