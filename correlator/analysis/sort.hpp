#pragma once
// Sorting sightings by (digest, time, point): the first step of analyze(), and the only one
// that streams every sighting through memory. A radix sort that is stable and exact, can use
// two threads, and hands the lower half of its result to the caller while the upper half is
// still being sorted. Also the memory advice the analysis gives its large buffers.
// Internal to pt_analysis.

#include <cstddef>
#include <functional>

#include "correlator/model/model.hpp"

namespace pathtrace {

// Sorts a[0, n) by (digest, time, point), stably, leaving the result in a; b[0, n) is
// scratch (contents ignored, overwritten). With `parallel`, two threads share every pass.
// `on_lower_half(end)` is called exactly once on the calling thread as soon as a[0, end) is
// final (end == n without `parallel`); a digest's sightings never straddle `end`. Allocates
// a few buffers per call, nothing per sighting.
void sort_sightings(Sighting* a, Sighting* b, std::size_t n, bool parallel,
                    const std::function<void(std::size_t end)>& on_lower_half);

// Asks for transparent huge pages on a large buffer about to be written: a few hundred
// faults instead of tens of thousands. Advice only: buffers under 4 MiB, or a refusal,
// change nothing.
void advise_huge(void* p, std::size_t bytes) noexcept;

}  // namespace pathtrace
