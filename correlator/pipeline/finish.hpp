#pragma once
// The end every run shares — `run`, `correlate` and `ingest` alike: judge() what was collected
// (correlator/analysis/judge.hpp: hosts' clocks, analysis, warnings), then store_run(): one
// transaction holding the run, its results and its Neutron evidence, or nothing. So a run
// stored by any command reads back the same way, with the same points (host, interface,
// namespace) and the same clock correction.

#include <cstdint>

#include "correlator/analysis/judge.hpp"
#include "correlator/model/model.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::pipeline {

// Stores `run` with `meta`'s started/command/filter: over the staged rows of live run
// `staged_run` (Store::finish_run), or as a new run when staged_run is 0 (Store::save). One
// transaction, with run.neutron. Sets run.report.run_id.
void store_run(Store& store, int64_t staged_run, Run& run, const Report& meta);

}  // namespace pathtrace::pipeline
