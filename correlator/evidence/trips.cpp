#include "correlator/evidence/trips.hpp"

#include <string>

#include "collector/common/error.hpp"
#include "correlator/analysis/judge.hpp"

namespace pathtrace::evidence {

Run analyse_committed(Store& store, const Report& stored, const std::string& state) {
  const int64_t id = stored.run_id;
  std::vector<Point> points;
  std::vector<Chain> chains;
  std::vector<Sighting> sightings;
  store.load_staged(id, points, chains, sightings);
  const std::size_t committed = sightings.size();
  Run run = judge(Collected{std::move(points), std::move(chains), std::move(sightings), {}, {}, {}, {}});
  Report& r = run.report;
  r.run_id = id;
  r.started = stored.started;
  r.command = stored.command;
  r.filter = stored.filter;
  r.warnings.insert(r.warnings.begin(), "run " + std::to_string(id) + " " + state + ": analysed from the " +
                                            std::to_string(committed) +
                                            " sightings committed before it stopped (nothing is written back)");
  return run;
}

StoredRun open_run(Store& store, int64_t run, const Store::LoadScope& scope) {
  StoredRun out;
  out.report = store.load(run, scope);
  out.status = store.status(out.report.run_id);
  if (out.status != RunStatus::kComplete) {
    std::string state = out.status == RunStatus::kCapturing ? "is still capturing" : "was interrupted";
    if (out.status == RunStatus::kFailed) {
      state = "failed";
      for (const RunSummary& s : store.runs())
        if (s.id == out.report.run_id) state += " (" + s.failure + ")";
    }
    out.analysed = analyse_committed(store, out.report, state);
    out.report = out.analysed->report;
  }
  return out;
}

void check_flow(const Report& r, uint32_t flow) {
  if (flow == 0 || flow > r.flow_count())
    throw Error(ExitCode::kUsage, "run " + std::to_string(r.run_id) + " has no flow " +
                                      std::to_string(flow) + " (flows 1.." +
                                      std::to_string(r.flow_count()) + ")");
}

uint8_t next_point(const Report& r, uint8_t last, Dir dir) {
  if (last == kNoPoint) return kNoPoint;
  if (dir == Dir::kForward) return last + 1u < r.points.size() ? uint8_t(last + 1) : kNoPoint;
  return last > 0 ? uint8_t(last - 1) : kNoPoint;
}

}  // namespace pathtrace::evidence
