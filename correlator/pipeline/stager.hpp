#pragma once
// Stages a live run in the database as it arrives (every 250 ms: new chains and sightings,
// kept frames, the points' latest statistics), so that a correlator killed mid-run leaves
// what it had committed: `pathtrace report` analyses it.
//
//   server::Collection ──drain_new()/take_kept()──▶ Stager thread ──append()/update_points()──▶ Store
//                                                        └─ past the memory budget: the staged
//                                                           sightings also to spill::Partitions,
//                                                           and the collection lets them go
//
// Who times out: nobody; the thread wakes every 250 ms, on stop, and at once when the
// collection holds more than the budget (Collection::on_pressure). A write that fails (the
// store's busy timeout passed, the disk is full) ends the thread: failed() says so at once, so
// that the run stops capturing instead of collecting what it can no longer store.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <mutex>
#include <thread>

#include "correlator/model/model.hpp"
#include "correlator/server/collection.hpp"
#include "correlator/spill/spill.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::pipeline {

class Stager {
 public:
  // Starts staging run `run` (begun with Store::begin_run) from `col` into `store`, which the
  // stager uses alone until stop_and_flush().
  // `memory` bounds the sightings the collection holds (0: no bound): past it, staged sightings
  // go to temporary files in `spill_dir` by digest range (spill.hpp) and the collection lets
  // them go.
  Stager(Store& store, int64_t run, server::Collection& col, std::size_t memory, std::string spill_dir);
  // Stops; a database error is dropped (the one that unwound us is the one to report).
  ~Stager();
  Stager(const Stager&) = delete;
  Stager& operator=(const Stager&) = delete;

  // Final flush and join; rethrows a database error from the thread. Idempotent.
  void stop_and_flush();
  // True once a flush failed (the thread has ended; stop_and_flush() rethrows the error).
  bool failed() const noexcept { return failed_.load(); }
  // After stop_and_flush(): the ranges the run spilled to, with `rest` (what the collection
  // still held) added; null when it never spilled (then `rest` is the run's sightings).
  std::unique_ptr<spill::Partitions> take_spilled(std::span<const Sighting> rest);

 private:
  void flush_once();
  void loop();
  Store& store_;
  int64_t run_;
  server::Collection& col_;
  KeptFrames kept_;  // reused between flushes
  const std::size_t limit_ = 0;  // sightings held before the run spills (0: never)
  const std::string spill_dir_;
  std::unique_ptr<spill::Partitions> spilled_;
  std::unique_ptr<spill::Partitions::Writer> writer_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool pressure_ = false;  // the collection is past the budget: flush now
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

}  // namespace pathtrace::pipeline
