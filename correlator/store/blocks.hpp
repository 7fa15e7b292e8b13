#pragma once
// The traversal-block codec (inside the store only). Run::traversals are stored as rows of
// traversal_blocks, each a block of consecutive traversals packed as one compact JSON array
// (schema/0001_initial.sql, docs/schema.md "traversal_blocks" and "Performance"). This file
// owns both directions: cutting a run into blocks, formatting and inserting them (with a
// second thread formatting ahead of the inserts), and scanning a block's JSON back into
// traversals and sightings.

#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "correlator/model/model.hpp"
#include "correlator/store/sqlite.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::store_detail {

// A block: traversals [begin, end) of Run::traversals.
struct BlockSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// Cuts the traversals into blocks of about 40 KiB of JSON (at most 4096 traversals), starting a new block wherever the
// digest's top bit changes (in digest order: once, at 2^63), so that every block's digests
// have one sign and [digest_min, digest_max] is a proper signed range. Checks every
// traversal's sightings are inside the run first, so formatting cannot fail: throws
// Error(kInternal) naming the first traversal that refers beyond the run's sightings.
std::vector<BlockSpan> cut_blocks(const Run& run);

// Inserts the blocks `spans` of `run` with `ins` (Q::kInsertBlock), in the caller's
// transaction. With enough blocks, a second thread formats the JSON while this one inserts: a
// bounded ring of formatted blocks, handed over in order. Throws what the insert throws.
void write_blocks(sql::Stmt& ins, int64_t run_id, const Run& run,
                  const std::vector<BlockSpan>& spans);

// Inserts the lost traversals of `run` (fate kLost) once more, apart from the others, with
// `ins` (Q::kInsertLostBlock), in the caller's transaction: blocks of entries as in
// traversal_blocks (times absolute: t_min 0) with a JSON array of their ids, so that
// `timeline --lost` and `export --lost` read a few rows instead of every traversal of the run.
// Throws what the insert throws.
void write_lost_blocks(sql::Stmt& ins, int64_t run_id, const Run& run);

constexpr int64_t kNullNumber = INT64_MIN;  // a JSON null in a traversal entry

// Calls f(numbers) for every entry of a traversal_blocks.data array (docs/schema.md), or for
// the one entry when `json` is a single entry: the entry's numbers flattened in order, null
// as kNullNumber. Entries hold only integers, so a flat scan with a depth counter is enough
// and much faster than a JSON parser. False, at the first fault, when the text is not such
// an array (something that is not an integer or null, a number out of range, brackets that
// do not close): a block damaged by hand is an error, never a hang.
template <typename F>
bool for_each_entry(std::string_view json, bool whole_block, F&& f) {
  std::vector<int64_t> v;
  const int entry_depth = whole_block ? 2 : 1;
  int depth = 0;
  const char* p = json.data();
  const char* const end = p + json.size();
  while (p < end) {
    const char c = *p;
    if (c == '[') {
      ++depth;
      ++p;
    } else if (c == ']') {
      if (depth == 0) return false;
      if (depth-- == entry_depth) {
        f(v);
        v.clear();
      }
      ++p;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      int64_t x = 0;
      const auto r = std::from_chars(p, end, x);
      if (r.ec != std::errc()) return false;
      v.push_back(x);
      p = r.ptr;
    } else if (c == 'n') {
      if (end - p < 4 || std::string_view(p, 4) != "null") return false;
      v.push_back(kNullNumber);
      p += 4;
    } else if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      ++p;
    } else {
      return false;
    }
  }
  return depth == 0;
}

// A traversal from one entry's numbers (11 scalars, then 4 per sighting); with_sightings
// false leaves out.sightings empty. False when the entry is malformed.
bool decode_traversal(const std::vector<int64_t>& v, uint32_t id, int64_t t_min,
                      bool with_sightings, FoundTraversal& out);

}  // namespace pathtrace::store_detail
