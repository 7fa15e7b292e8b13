#include "correlator/pipeline/finish.hpp"

namespace pathtrace::pipeline {

void store_run(Store& store, int64_t staged_run, Run& run, const Report& meta) {
  run.report.started = meta.started;
  run.report.command = meta.command;
  run.report.filter = meta.filter;
  if (staged_run) {
    store.finish_run(staged_run, run);
  } else {
    store.save(run);
  }
}

StoreFailed store_failed(Store& store, int64_t run, const Error& error) {
  const std::string what = error.what();
  const std::string id = std::to_string(run);
  const std::string not_marked = store.fail_run(run, what);
  return StoreFailed(what + "; capture stopped: run " + id +
                         (not_marked.empty() ? " marked failed"
                                             : " could not be marked failed (" + not_marked +
                                                   "), it reads as interrupted once pathtrace exits") +
                         "; its report covers what it committed (pathtrace report --run " + id + ")",
                     run);
}

void check_run_size(uint64_t sightings) {
  if (sightings <= 0xffffffffu) return;
  throw Error(ExitCode::kUsage, "the run holds " + std::to_string(sightings) +
                                    " sightings (packets × points), more than the 4294967295 one run can hold: "
                                    "take fewer or shorter captures, or a narrower --filter");
}

}  // namespace pathtrace::pipeline
