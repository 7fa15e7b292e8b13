#pragma once
// Sorting sightings by (digest, time, point): the first step of analyze(), and the only one
// that streams every sighting through memory. A radix sort that is stable and exact, can use
// two threads, and hands each half of its result to the caller on the thread that sorted it,
// while the other half may still be in the works. Also the memory advice the analysis gives its large buffers.
// Internal to pt_analysis.

#include <cstddef>
#include <functional>

#include "correlator/model/model.hpp"

namespace pathtrace {

// Sorts a[0, n) by (digest, time, point), stably, leaving the result in a; b[0, n) is
// scratch (contents ignored, overwritten). With `parallel`, two threads share every pass.
// `on_sorted(half, begin, end)` is called once per half as soon as a[begin, end) is final, on
// the thread that sorted it: half 0, a[0, split), on the calling thread; half 1, a[split, n),
// on the second thread, at the same time (without `parallel`: only half 0, a[0, n)). A
// digest's sightings never straddle `split`. What the second thread's call throws is
// rethrown here once both halves are done. Allocates a few buffers per call, nothing per
// sighting.
void sort_sightings(Sighting* a, Sighting* b, std::size_t n, bool parallel,
                    const std::function<void(unsigned half, std::size_t begin, std::size_t end)>& on_sorted);

// Asks for transparent huge pages on a large buffer about to be written: a few hundred
// faults instead of tens of thousands. Advice only: buffers under 4 MiB, or a refusal,
// change nothing.
void advise_huge(void* p, std::size_t bytes) noexcept;

}  // namespace pathtrace
