#pragma once
// Plain flow results, packed (inside the store only). A result that says nothing beyond its
// counts — delivered or not judged, nothing lost, no holes, findings, assumptions or
// translations — is most of a busy run's results (a hypervisor port: 100,000 short flows, all
// delivered), and one flow_results row plus a hops row per hop each would be most of its
// SQLite work. Such results go into rows of result_blocks instead: a block of them as one
// compact JSON array (schema/0006_result_blocks.sql, docs/schema.md "result_blocks"), and the
// views verdicts and hop_loss unpack them beside the full rows. This file owns both directions.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "correlator/model/model.hpp"
#include "correlator/store/sqlite.hpp"

namespace pathtrace::store_detail {

// Whether the result at `rank` is stored packed: every rank but 0 (the run's headline, which
// `runs` reads from flow_results) whose result is plain (model.hpp, plain()).
bool packed(const FlowResult& r, std::size_t rank, std::size_t n_points);

// Packs the other results (ranked by index) into blocks of about 40 KiB and inserts them with
// `ins` (Q::kInsertResultBlock), in the caller's transaction: with many results, a second
// thread formats a few blocks ahead of the inserts, so a run's packed text is never all in
// memory at once. Throws what the insert throws.
void write_result_blocks(sql::Stmt& ins, int64_t run_id, const RankedResults& results, std::size_t n_points);

// Decodes one result_blocks.data array of a run with `n_points` points, appending (rank,
// result) to `out` exactly as the result was before it was packed. False, at the first fault,
// when the text is not such an array (a block damaged by hand is an error, never a crash).
bool read_result_block(std::string_view json, std::size_t n_points,
                       std::vector<std::pair<uint32_t, FlowResult>>& out);

}  // namespace pathtrace::store_detail
