#pragma once
// The text of a run's flows and stacks rows (inside the store only): a flow's addresses, and a
// stack's flow id per IP layer as a JSON array ("[2,59454]", null for a layer without a flow).
// Pure encoding of Report::flows and Run::chains, made on a second thread ahead of the
// inserts: the connection's thread binds and steps (most of the cost of a row), the other
// makes the next rows' text meanwhile. A run of a busy port has hundreds of thousands of each.
//
//   RowText's thread                            the caller (the connection's thread)
//   ────────────────                            ────────────────────────────────────
//   flow i's addresses  ──▶ flows_made_  ──▶   flow(i): waits until i < flows_made_
//   chain c's flow ids  ──▶ stacks_made_ ──▶   stack(c): waits until c < stacks_made_
//   (each text written once into a buffer sized beforehand, published by a release store of
//   the count; the destructor stops the thread and joins it, also when the caller throws)

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::store_detail {

class RowText {
 public:
  // Starts making the text of every flow of `flows` (in order, ids 1, 2, …) and every chain of
  // `chains`, which must outlive this and not change meanwhile. On a thread of its own from
  // kThreadedMinRows rows on; below, on the calling thread, before this returns.
  RowText(const std::vector<Flow>& flows, const std::vector<Chain>& chains);
  // Stops the thread (if any) and waits for it.
  ~RowText();
  RowText(const RowText&) = delete;
  RowText& operator=(const RowText&) = delete;

  // Flow i's source and destination address as text; waits until they are made. Rethrows
  // what the thread threw (out of memory). Valid until this is destroyed.
  std::string_view src(std::size_t i) { return text(i, flows_made_, flow_ends_, flow_text_, 2 * i); }
  std::string_view dst(std::size_t i) { return text(i, flows_made_, flow_ends_, flow_text_, 2 * i + 1); }
  // Chain c's flow id per IP layer, outermost first, as a JSON array: the flow nested under the
  // previous layer's, else the first flow with that key, else null. Waits as src().
  std::string_view stack(std::size_t c) { return text(c, stacks_made_, stack_ends_, stack_text_, c); }

 private:
  // Text k of `buf` (ends[k - 1] .. ends[k]) once item i is made.
  std::string_view text(std::size_t i, const std::atomic<uint32_t>& made, const std::vector<std::size_t>& ends,
                        const std::string& buf, std::size_t k);
  void make();  // every flow's text, then every stack's: the thread's work

  const std::vector<Flow>& flows_;
  const std::vector<Chain>& chains_;
  std::string flow_text_, stack_text_;         // sized beforehand: never reallocated
  std::vector<std::size_t> flow_ends_, stack_ends_;  // end of text k in its buffer (flows: k = 2 × index + 0/1)
  std::atomic<uint32_t> flows_made_{0}, stacks_made_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr failed_;  // set before the counts jump to the end (the thread failed)
  std::thread thread_;
};

}  // namespace pathtrace::store_detail
