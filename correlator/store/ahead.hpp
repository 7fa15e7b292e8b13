#pragma once
// Items made on a second thread a few ahead of the caller, who uses them in order (inside the
// store only): the text of the next rows is encoded while the connection inserts this one,
// and never more than `Ahead` items are held.
//
//   maker thread                                 the caller (the connection's thread)
//   ────────────                                 ────────────────────────────────────
//   make(slot[i % Ahead]) → true: item i made ─▶  use(slot[i % Ahead]) once item i is made
//                         → false: no more   ─▶  returns after the last item
//   waits while Ahead items are unused            waits while item i is not made
//
// What make() throws is rethrown in the caller; what use() throws stops the maker, which is
// joined before the exception leaves.

#include <array>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>

namespace pathtrace::store_detail {

// Calls make(slot) for items 0, 1, … until it returns false, and use(slot) for each item made,
// in order. With `threaded`, make runs on a second thread at most Ahead items ahead; else
// both on the calling thread, one item at a time.
template <class Slot, std::size_t Ahead, class Make, class Use>
void made_ahead(bool threaded, Make&& make, Use&& use) {
  static_assert(Ahead >= 1);
  if (!threaded) {
    Slot slot;
    while (make(slot)) use(slot);
    return;
  }
  std::array<Slot, Ahead> ring;
  std::mutex m;
  std::condition_variable cv;
  std::size_t made = 0;      // items made
  std::size_t used = 0;      // items used (their slot is free again)
  bool done = false;         // the maker made its last item (or failed)
  bool stop = false;         // the caller gave up (an exception)
  std::exception_ptr failed;  // what make() threw
  std::thread maker([&] {
    try {
      for (std::size_t i = 0;; ++i) {
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return i - used < Ahead || stop; });
          if (stop) return;
        }
        const bool more = make(ring[i % Ahead]);
        std::lock_guard lock(m);
        if (!more) {
          done = true;
          cv.notify_all();
          return;
        }
        made = i + 1;
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(m);
      failed = std::current_exception();
      done = true;
      cv.notify_all();
    }
  });
  // Stops and joins the maker however this scope is left.
  struct Joiner {
    std::thread& t;
    std::mutex& m;
    std::condition_variable& cv;
    bool& stop;
    ~Joiner() {
      {
        std::lock_guard lock(m);
        stop = true;
      }
      cv.notify_all();
      t.join();
    }
  } joiner{maker, m, cv, stop};
  for (std::size_t i = 0;; ++i) {
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return made > i || done; });
      if (made <= i) {
        if (failed) std::rethrow_exception(failed);
        return;  // every item used
      }
    }
    use(ring[i % Ahead]);
    std::lock_guard lock(m);
    used = i + 1;
    cv.notify_all();
  }
}

}  // namespace pathtrace::store_detail
