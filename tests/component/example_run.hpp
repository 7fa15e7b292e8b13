#pragma once
// Hand-built runs for the store tests (no analysis needed): the incident's seven points with
// an IPIP flow that disappears between C and B and an ICMP flow that gets through, and a
// large synthetic run for timing.

#include <cstddef>

#include "correlator/model/model.hpp"

namespace pathtrace::test {

// The example documented in docs/schema.md: 7 points A..G, 3 flows, 4 traversals.
Run example_run();

// A synthetic run: `points` points, `traversals` traversals of one flow, each seen at
// every point, in digest order (as the analysis orders them).
Run big_run(std::size_t points, std::size_t traversals);

}  // namespace pathtrace::test
