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
//   next_flows(batch): addresses of the next     insert_flows(batch)
//     flows, and the stacks' flow indexes
//   next_stacks(batch): flow ids of the next     insert_stacks(batch)
//     chains, from those indexes

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::store_detail {

// The text of rows [begin, begin + count) of one batch: a flow's source address, destination
// address and label are texts 3k, 3k + 1 and 3k + 2, a stack's flow ids text k. Valid during the call it is
// given to.
struct TextRows {
  std::size_t begin = 0;
  std::size_t count = 0;
  std::string text;
  std::vector<std::size_t> ends;  // end of text k in `text`
  std::string_view at(std::size_t k) const {
    const std::size_t b = k ? ends[k - 1] : 0;
    return std::string_view(text.data() + b, ends[k] - b);
  }
};

// Calls insert_flows(batch) for the flows of `flows` a batch at a time, in order, then
// insert_stacks(batch) for the chains of `chains`, with their text made ahead on a second
// thread from kThreadedMinRows rows on. What either side throws reaches the caller.
void write_rows(const std::vector<Flow>& flows, const std::vector<Chain>& chains,
                const std::function<void(const TextRows&)>& insert_flows,
                const std::function<void(const TextRows&)>& insert_stacks);

}  // namespace pathtrace::store_detail
