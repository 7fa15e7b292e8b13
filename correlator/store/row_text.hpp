#pragma once
// The text of a run's flows and stacks rows (inside the store only): a flow's addresses, and a
// stack's flow id per IP layer as a JSON array ("[2,59454]", null for a layer without a flow).
// Pure encoding of Report::flows and Run::chains, made a batch at a time on a second thread
// ahead of the inserts (made_ahead, ahead.hpp): the connection's thread binds and steps (most
// of the cost of a row), the other makes the next rows' text meanwhile. A run of a busy port
// has hundreds of thousands of each, so only a few batches of text exist at any time.
//
//   write_rows(): flows, then stacks
//   maker thread                                 the caller (the connection's thread)
//   ────────────                                 ────────────────────────────────────
//   next_flows(batch): addresses of the next     insert_flow(i, src, dst) for each flow
//     flows, and the stacks' flow indexes          of the batch
//   next_stacks(batch): flow ids of the next     insert_stack(c, text) for each chain
//     chains, from those indexes                   of the batch

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::store_detail {

// Calls insert_flow(i, src, dst) for every flow of `flows` (index i, in order), then
// insert_stack(c, text) for every chain c of `chains`, with their text made ahead on a second
// thread from kThreadedMinRows rows on. What either side throws reaches the caller.
void write_rows(const std::vector<Flow>& flows, const std::vector<Chain>& chains,
                const std::function<void(std::size_t, std::string_view, std::string_view)>& insert_flow,
                const std::function<void(std::size_t, std::string_view)>& insert_stack);

}  // namespace pathtrace::store_detail
