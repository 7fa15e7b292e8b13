#include "correlator/pipeline/stager.hpp"

#include <chrono>
#include <vector>

namespace pathtrace::pipeline {

Stager::Stager(Store& store, int64_t run, server::Collection& col)
    : store_(store), run_(run), col_(col), thread_([this] { loop(); }) {}

Stager::~Stager() {
  try {
    stop_and_flush();
  } catch (...) {  // unwinding already: the error that brought us here is the one to report
  }
}

void Stager::stop_and_flush() {
  if (thread_.joinable()) {
    {
      std::lock_guard lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (!error_) flush_once();
  }
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void Stager::flush_once() {
  std::vector<Chain> chains;
  std::vector<Sighting> sightings;
  uint32_t first = 0;
  col_.drain_new(chains, first, sightings);
  if (!chains.empty() || !sightings.empty()) store_.append(run_, chains, first, sightings);
  col_.take_kept(kept_);
  if (!kept_.empty()) store_.append_kept(run_, kept_);
  const auto points = col_.points();
  store_.update_points(run_, points);
}

void Stager::loop() {
  std::unique_lock lk(m_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::milliseconds(250), [this] { return stop_; });
    if (stop_) break;
    lk.unlock();
    try {
      flush_once();
    } catch (...) {
      error_ = std::current_exception();
      failed_.store(true);
      return;
    }
    lk.lock();
  }
}

}  // namespace pathtrace::pipeline
