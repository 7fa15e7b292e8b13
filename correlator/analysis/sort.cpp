// Sorting sightings by (digest, time, point) (sort.hpp): the radix passes, the exact sort of
// the short runs they leave, the split of the work between two threads, and the huge-page
// advice for the buffers it streams through. Rule 1 of docs/verdicts.md starts from its
// order; nothing here knows about traversals or flows.

#include "correlator/analysis/sort.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

#include <sys/mman.h>

namespace pathtrace {
namespace {

bool sighting_less(const Sighting& a, const Sighting& b) noexcept {
  if (a.digest != b.digest) return a.digest < b.digest;
  if (a.ts_ns != b.ts_ns) return a.ts_ns < b.ts_ns;
  return a.point < b.point;
}

// Exact, stable order by (digest, time, point) of a run that the radix passes left together.
void sort_run(Sighting* first, Sighting* last) {
  if (last - first <= 32) {
    for (Sighting* p = first + 1; p < last; ++p) {  // insertion sort: tiny, nearly sorted runs
      if (!sighting_less(*p, p[-1])) continue;
      const Sighting v = *p;
      Sighting* q = p;
      do {
        *q = q[-1];
        --q;
      } while (q > first && sighting_less(v, q[-1]));
      *q = v;
    }
  } else {
    std::stable_sort(first, last, sighting_less);
  }
}

// One stable counting pass of src[0, m) into dst on the 8 digest bits at `shift`.
void radix_pass(const Sighting* src, Sighting* dst, std::size_t m, int shift) {
  std::size_t h[256] = {};
  for (std::size_t i = 0; i < m; ++i) ++h[(src[i].digest >> shift) & 0xff];
  std::size_t sum = 0;
  for (std::size_t& c : h) {
    const std::size_t v = c;
    c = sum;
    sum += v;
  }
  for (std::size_t i = 0; i < m; ++i) dst[h[(src[i].digest >> shift) & 0xff]++] = src[i];
}

}  // namespace

// Sorts a[0, n) by (digest, time, point), stably, leaving the result in a; b[0, n) is scratch.
// One stable MSD pass a → b on digest bits 53..63 (2048 buckets, the only pass over memory),
// then inside each bucket (a few thousand sightings, in cache) two stable LSD passes on bits
// 45..52 (b → a small buffer) and 37..44 (buffer → back into a), then an exact sort of each
// run of equal top 27 bits (almost always one digest: a handful of sightings).
//
// With two threads (`parallel`), each pass is split: the MSD pass by halves of the input
// (each half histogrammed, then scattered at its own offsets: the first half's sightings
// before the second's in every bucket, so still stable), the buckets by halves of the
// sightings. Each thread then calls `on_sorted` for its half of the buckets: the caller
// groups each half on the thread that sorted it.
void sort_sightings(Sighting* a, Sighting* b, std::size_t n, bool parallel,
                    const std::function<void(unsigned half, std::size_t begin, std::size_t end)>& on_sorted) {
  constexpr int kTopShift = 53;
  constexpr std::size_t kTop = std::size_t{1} << (64 - kTopShift);
  // MSD pass: per half a histogram, then offsets (bucket start, + the first half's count
  // for the second half), then the scatter.
  const std::size_t half = parallel ? n / 2 : n;
  std::vector<std::size_t> count0(kTop, 0), count1(kTop, 0);
  auto histogram = [&](std::size_t lo, std::size_t hi, std::vector<std::size_t>& h) {
    for (std::size_t i = lo; i < hi; ++i) ++h[a[i].digest >> kTopShift];
  };
  auto scatter = [&](std::size_t lo, std::size_t hi, std::vector<std::size_t>& next) {
    for (std::size_t i = lo; i < hi; ++i) b[next[a[i].digest >> kTopShift]++] = a[i];
  };
  std::vector<std::size_t> start(kTop + 1, 0);
  if (parallel) {
    std::thread t([&] { histogram(half, n, count1); });
    histogram(0, half, count0);
    t.join();
  } else {
    histogram(0, n, count0);
  }
  std::vector<std::size_t> next0(kTop), next1(kTop);
  for (std::size_t k = 0; k < kTop; ++k) {
    next0[k] = start[k];
    next1[k] = start[k] + count0[k];
    start[k + 1] = start[k] + count0[k] + count1[k];
  }
  if (parallel) {
    std::thread t([&] { scatter(half, n, next1); });
    scatter(0, half, next0);
    t.join();
  } else {
    scatter(0, n, next0);
  }

  // Buckets [k_lo, k_hi): b → buffer → a, then the exact sort of equal-prefix runs in a.
  auto sort_buckets = [&](std::size_t k_lo, std::size_t k_hi) {
    std::size_t biggest = 0;
    for (std::size_t k = k_lo; k < k_hi; ++k) biggest = std::max(biggest, start[k + 1] - start[k]);
    std::vector<Sighting> buffer(biggest);
    for (std::size_t k = k_lo; k < k_hi; ++k) {
      const std::size_t lo = start[k], hi = start[k + 1];
      if (hi - lo <= 32) {
        std::copy(b + lo, b + hi, a + lo);
        if (hi - lo > 1) sort_run(a + lo, a + hi);
        continue;
      }
      radix_pass(b + lo, buffer.data(), hi - lo, 45);
      radix_pass(buffer.data(), a + lo, hi - lo, 37);
      for (std::size_t i = lo; i < hi;) {
        const uint64_t top = a[i].digest >> 37;
        std::size_t j = i + 1;
        while (j < hi && (a[j].digest >> 37) == top) ++j;
        if (j - i > 1) sort_run(a + i, a + j);
        i = j;
      }
    }
  };
  if (!parallel) {
    sort_buckets(0, kTop);
    on_sorted(0, 0, n);
    return;
  }
  // The split bucket: the first whose start reaches half the sightings.
  std::size_t split = 0;
  while (split < kTop && start[split] < n / 2) ++split;
  std::exception_ptr upper_failed;  // what the second thread threw (out of memory)
  std::thread t([&] {
    try {
      sort_buckets(split, kTop);
      on_sorted(1, start[split], n);
    } catch (...) {
      upper_failed = std::current_exception();
    }
  });
  // Joins the second thread however this scope is left.
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join{t};
  sort_buckets(0, split);
  on_sorted(0, 0, start[split]);
  t.join();
  if (upper_failed) std::rethrow_exception(upper_failed);
}

void advise_huge(void* p, std::size_t bytes) noexcept {
  constexpr std::uintptr_t kPage = 4096;
  if (bytes < (std::size_t{4} << 20)) return;
  const std::uintptr_t lo = (reinterpret_cast<std::uintptr_t>(p) + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t hi = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kPage - 1);
  if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
}

}  // namespace pathtrace
