#include "correlator/pipeline/stager.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace pathtrace::pipeline {

Stager::Stager(Store& store, int64_t run, server::Collection& col, std::size_t memory, std::string spill_dir)
    : store_(store), run_(run), col_(col),
      limit_(memory ? std::max<std::size_t>(1, memory / (2 * sizeof(Sighting))) : 0),
      spill_dir_(std::move(spill_dir)), thread_([this] { loop(); }) {
  if (limit_)
    col_.on_pressure(limit_, [this] {
      std::lock_guard lk(m_);
      pressure_ = true;
      cv_.notify_all();
    });
}

std::unique_ptr<spill::Partitions> Stager::take_spilled(std::span<const Sighting> rest) {
  if (!spilled_) return nullptr;
  writer_->add(rest);
  writer_->flush();
  writer_.reset();
  return std::move(spilled_);
}

Stager::~Stager() {
  try {
    stop_and_flush();
  } catch (...) {  // unwinding already: the error that brought us here is the one to report
  }
}

void Stager::stop_and_flush() {
  col_.on_pressure(0, {});  // nothing waits for this thread's flushes any more
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
  // Past the budget, what is staged also goes to the run's ranges, and the collection lets it go.
  if (limit_ && !spilled_ && col_.held() > limit_) {
    // A live run's length is not known: 256 ranges keep each one small up to ~10^9 sightings.
    spilled_ = std::make_unique<spill::Partitions>(spill_dir_, 8);
    writer_ = std::make_unique<spill::Partitions::Writer>(*spilled_);
  }
  if (spilled_) col_.forget_drained([this](std::span<const Sighting> staged) { writer_->add(staged); });
  col_.take_kept(kept_);
  if (!kept_.empty()) store_.append_kept(run_, kept_);
  const auto points = col_.points();
  store_.update_points(run_, points);
}

void Stager::loop() {
  std::unique_lock lk(m_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::milliseconds(250), [this] { return stop_ || pressure_; });
    pressure_ = false;
    if (stop_) break;
    lk.unlock();
    try {
      flush_once();
    } catch (...) {
      error_ = std::current_exception();
      failed_.store(true);
      col_.on_pressure(0, {});  // the collection must not wait for flushes that will not come
      return;
    }
    lk.lock();
  }
}

}  // namespace pathtrace::pipeline
