#pragma once
// How the read-only commands (`timeline`, `export`) walk the traversals of a stored run: a
// complete run from the store's traversal blocks, a capturing or interrupted live run analysed
// from the sightings it committed so far (nothing is written back).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::evidence {

// One traversal with its sightings (ord, ts_ns, wire_len, stack_id; names left empty).
struct Trip {
  uint32_t id = 0;
  Traversal t;
  std::vector<PacketSighting> sightings;
};

// A stored run as the read-only commands see it.
struct StoredRun {
  Report report;              // report.run_id is the run's id
  RunStatus status = RunStatus::kComplete;
  std::optional<Run> analysed;  // a capturing or interrupted run: analysed from its staged sightings
};

// Loads run `run` (0: the newest), as much of it as `scope` asks (Store::load); analyses a
// capturing, interrupted or failed run from what it committed (whole, whatever the scope).
// Throws Error(kUsage) "FILE has no run N" / "FILE has no runs yet".
StoredRun open_run(Store& store, int64_t run, const Store::LoadScope& scope = {});

// The scope of the commands that follow packets (timeline, export): no results, and only
// the flows they name (Store::load_flows).
inline constexpr Store::LoadScope kPacketScope{false, 0, false};

// The analysis of what live run `stored.run_id` committed (its staged points and sightings),
// with `stored`'s started, command and filter, and a first warning "run N <state>: analysed
// from the K sightings committed before it stopped (nothing is written back)". `state` says
// what became of it: "was interrupted", "failed (…)".
Run analyse_committed(Store& store, const Report& stored, const std::string& state);

// Which traversals scan_trips() visits.
enum class Trips { kAll, kLost };

// Calls f(trip) for every traversal of the run (kLost: every lost one, read from their own
// rows: Store::scan_lost), in id order, that want(traversal) accepts (sightings are decoded
// only for those).
template <typename Want, typename F>
void scan_trips(Store& store, const StoredRun& run, Trips which, Want&& want, F&& f) {
  Trip trip;
  if (!run.analysed) {
    auto found = [&](const FoundTraversal& ft) {
      trip.id = ft.id;
      trip.t = ft.traversal;
      trip.sightings = ft.sightings;
      f(trip);
    };
    auto wanted = [&](const Traversal& t) { return want(t); };
    if (which == Trips::kLost) {
      store.scan_lost(run.report.run_id, wanted, found);
    } else {
      store.scan_traversals(run.report.run_id, wanted, found);
    }
    return;
  }
  const Run& a = *run.analysed;
  const std::span<const Sighting> sightings = a.all_sightings();
  const std::span<const Traversal> travs = a.all_traversals();
  for (std::size_t i = 0; i < travs.size(); ++i) {
    const Traversal& t = travs[i];
    if ((which == Trips::kLost && t.fate != Fate::kLost) || !want(t)) continue;
    trip.id = uint32_t(i);
    trip.t = t;
    trip.sightings.clear();
    for (uint32_t k = t.first; k < t.first + t.count && k < sightings.size(); ++k) {
      const Sighting& s = sightings[k];
      PacketSighting ps;
      ps.ord = s.point;
      ps.ts_ns = s.ts_ns;
      ps.wire_len = s.wire_len;
      ps.stack_id = s.chain;
      trip.sightings.push_back(std::move(ps));
    }
    f(trip);
  }
}

// How many traversals the run has.
inline std::size_t traversal_count(Store& store, const StoredRun& run) {
  return run.analysed ? run.analysed->traversals.size() : store.traversal_count(run.report.run_id);
}

// Whether traversal t belongs to flow `flow` as `--flow` means it: its top-level flow or its
// innermost flow.
inline bool in_flow(const Traversal& t, uint32_t flow) { return t.flow == flow || t.inner_flow == flow; }

// Throws Error(kUsage) "run N has no flow F (flows 1..M)" unless `flow` is one of the run's.
void check_flow(const Report& r, uint32_t flow);

// The point after `last` along `dir` (where a lost packet never arrived), or kNoPoint.
uint8_t next_point(const Report& r, uint8_t last, Dir dir);

}  // namespace pathtrace::evidence
