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
// `runs` reads from flow_results) whose result is plain as above, with n_points entries in
// each per-point array and n_points - 1 hops.
bool packed(const FlowResult& r, std::size_t rank, std::size_t n_points);

// A run's results as stored: the packed ones' blocks, ready to insert, and the ranks of the
// others (full rows).
struct ResultText {
  struct Block {
    uint32_t count = 0;  // results in it
    std::string json;
  };
  std::vector<Block> blocks;
  std::vector<uint32_t> full;  // ranks of the results that are not packed, in order
};

// Sorts `results` (ranked by index) of a run with `n_points` points into packed ones, in
// blocks of about 40 KiB, and the others. Pure encoding: it may run on a thread of its own
// while the caller inserts other rows.
ResultText format_results(const std::vector<FlowResult>& results, std::size_t n_points);

// Inserts the blocks of `text` with `ins` (Q::kInsertResultBlock), in the caller's
// transaction. Throws what the insert throws.
void write_result_blocks(sql::Stmt& ins, int64_t run_id, const ResultText& text);

// Decodes one result_blocks.data array of a run with `n_points` points, appending (rank,
// result) to `out` exactly as the result was before it was packed. False, at the first fault,
// when the text is not such an array (a block damaged by hand is an error, never a crash).
bool read_result_block(std::string_view json, std::size_t n_points,
                       std::vector<std::pair<uint32_t, FlowResult>>& out);

}  // namespace pathtrace::store_detail
