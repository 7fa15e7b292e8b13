#pragma once
// The end every run shares — `run`, `correlate` and `ingest` alike: judge() what was collected
// (correlator/analysis/judge.hpp: hosts' clocks, analysis, warnings), then store_run(): one
// transaction holding the run, its results and its Neutron evidence, or nothing. So a run
// stored by any command reads back the same way, with the same points (host, interface,
// namespace) and the same clock correction.

#include <cstdint>
#include <string>

#include "collector/common/error.hpp"
#include "correlator/analysis/judge.hpp"
#include "correlator/model/model.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::pipeline {

// A live run whose database writes failed (a batch, the last flush, or storing the analysis),
// thrown once its collectors have stopped. what() is the one-line error: the database's, what
// became of the run ("run 3 marked failed", or why it could not be marked: then it reads as
// interrupted once this process is gone). The run keeps what it committed: the caller prints
// the report of that (evidence::analyse_committed) before the error.
class StoreFailed : public Error {
 public:
  StoreFailed(const std::string& message, int64_t run) : Error(ExitCode::kDatabase, message), run_(run) {}
  int64_t run() const noexcept { return run_; }

 private:
  int64_t run_;
};

// Marks live run `run` failed with `error`'s message (Store::fail_run) and returns the
// StoreFailed to throw.
StoreFailed store_failed(Store& store, int64_t run, const Error& error);

// A run holds at most 2^32 - 1 sightings (a traversal points at its first by a 32-bit index):
// throws Error(kUsage) saying so, and what to do, when `sightings` is more.
void check_run_size(uint64_t sightings);

// Stores `run` with `meta`'s started/command/filter: over the staged rows of live run
// `staged_run` (Store::finish_run), or as a new run when staged_run is 0 (Store::save). One
// transaction, with run.neutron. Sets run.report.run_id.
void store_run(Store& store, int64_t staged_run, Run& run, const Report& meta);

}  // namespace pathtrace::pipeline
