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

}  // namespace pathtrace::pipeline
