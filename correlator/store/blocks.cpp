// The traversal-block codec: cutting, formatting and inserting blocks, and decoding one entry
// (blocks.hpp).

#include "correlator/store/blocks.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "collector/common/error.hpp"
#include "correlator/store/ahead.hpp"

namespace pathtrace::store_detail {
namespace {

// A block ends when its JSON would exceed about kBlockBytes (≈ 260 traversals of 7 sightings),
// or at kMaxBlockTraversals. Rows larger than a 32 KiB page's largest local payload spill into
// full overflow pages; rows of 16-32 KiB would each leave a page a third empty (measured in
// docs/schema.md, "Performance").
constexpr std::size_t kBlockBytes = 40 * 1024;
constexpr std::size_t kMaxBlockTraversals = 4096;
// A traversal's JSON is about this long plus kSightingBytes per sighting.
constexpr std::size_t kTraversalBytes = 60;
constexpr std::size_t kSightingBytes = 14;
// Blocks formatted ahead of the inserting thread.
constexpr std::size_t kBlocksAhead = 8;
// Fewer blocks than this are formatted on the calling thread (a thread costs more).
constexpr std::size_t kThreadedMinBlocks = 16;

// One formatted block, ready to bind. `text` is a reused buffer; its first `len` bytes are
// the JSON.
struct Block {
  std::string text;
  std::size_t len = 0;
  uint32_t no = 0;
  BlockSpan span;
  int64_t digest_min = 0;
  int64_t digest_max = 0;
  int64_t t_min = 0;
  int64_t t_max = 0;
};

// Bytes format_entry() writes at most for `t`: 13 numbers of up to 20 digits, 16
// punctuation; per sighting 3 + 20 + 5 + 10 digits and 6 punctuation.
std::size_t entry_bytes(const Traversal& t) { return 13 * 21 + 8 + std::size_t(t.count) * 44; }

// Writes traversal `t`'s entry at `p` (room for entry_bytes(t) before `e`), its time as
// t0_ns - t_min, and returns its end: [flow, inner_flow, digest, t0_ns - t_min, seen, fate,
// dir, entry, last_seen, wire_len, tcp_flags, [[ord, dt_ns, wire_len - the traversal's,
// stack], ...], assumed (only when not 0: schema 4)].
char* format_entry(char* p, char* e, const Sighting* sightings, const Traversal& t, int64_t t_min) {
  auto num = [&](auto v) { p = std::to_chars(p, e, v).ptr; };
  auto ord_or_null = [&](uint8_t ord) {
    if (ord == kNoPoint) {
      std::memcpy(p, "null", 4);
      p += 4;
    } else {
      num(unsigned(ord));
    }
  };
  *p++ = '[';
  num(t.flow);
  *p++ = ',';
  num(t.inner_flow);
  *p++ = ',';
  num(int64_t(t.digest));
  *p++ = ',';
  num(t.t0_ns - t_min);
  *p++ = ',';
  num(int64_t(t.seen));
  *p++ = ',';
  num(unsigned(t.fate));
  *p++ = ',';
  num(unsigned(t.dir));
  *p++ = ',';
  ord_or_null(t.entry);
  *p++ = ',';
  ord_or_null(t.last_seen);
  *p++ = ',';
  num(unsigned(t.wire_len));
  *p++ = ',';
  num(unsigned(t.tcp_flags));
  *p++ = ',';
  *p++ = '[';
  for (uint32_t k = 0; k < t.count; ++k) {
    const Sighting& s = sightings[t.first + k];
    if (k) *p++ = ',';
    *p++ = '[';
    num(unsigned(s.point));
    *p++ = ',';
    num(s.ts_ns - t.t0_ns);
    *p++ = ',';
    num(int(s.wire_len) - int(t.wire_len));
    *p++ = ',';
    num(s.chain);
    *p++ = ']';
  }
  *p++ = ']';
  if (t.assumed) {
    *p++ = ',';
    num(unsigned(t.assumed));
  }
  *p++ = ']';
  return p;
}

// Formats block `no` (traversals `span`) into `out`: a JSON array of their format_entry()s,
// times from the block's t_min (an entry's id is first_id + its index; see
// schema/0001_initial.sql).
void format_block(const Run& run, BlockSpan span, uint32_t no, Block& out) {
  const std::span<const Traversal> travs = run.all_traversals();
  std::size_t need = 2;
  for (uint32_t i = span.begin; i < span.end; ++i) need += entry_bytes(travs[i]) + 1;
  if (out.text.size() < need) out.text.resize(need + need / 2);
  char* p = out.text.data();
  char* const e = p + out.text.size();
  out.no = no;
  out.span = span;
  const Traversal& first = travs[span.begin];
  out.digest_min = out.digest_max = int64_t(first.digest);
  out.t_min = out.t_max = first.t0_ns;
  for (uint32_t i = span.begin; i < span.end; ++i) {
    const Traversal& t = travs[i];
    out.digest_min = std::min(out.digest_min, int64_t(t.digest));
    out.digest_max = std::max(out.digest_max, int64_t(t.digest));
    out.t_min = std::min(out.t_min, t.t0_ns);
    out.t_max = std::max(out.t_max, t.t0_ns);
  }
  *p++ = '[';
  const Sighting* sightings = run.all_sightings().data();
  for (uint32_t i = span.begin; i < span.end; ++i) {
    if (i != span.begin) *p++ = ',';
    p = format_entry(p, e, sightings, travs[i], out.t_min);
  }
  *p++ = ']';
  out.len = std::size_t(p - out.text.data());
  // Blocks are formatted in order: a spilled run's traversals before this block are done with.
  run.release_traversals_before(span.begin);
}

}  // namespace

// Cuts the traversals into blocks of about kBlockBytes, starting a new block wherever the
// digest's top bit changes (in digest order: once, at 2^63), so that every block's digests
// have one sign and [digest_min, digest_max] is a proper signed range. Checks every
// traversal's sightings are inside the run first: formatting then cannot fail.
std::vector<BlockSpan> cut_blocks(const Run& run) {
  const std::span<const Traversal> ts = run.all_traversals();
  const std::size_t n_sightings = run.all_sightings().size();
  std::vector<BlockSpan> out;
  out.reserve(ts.size() / 128 + 2);
  BlockSpan cur;
  std::size_t bytes = 0;  // estimated JSON size of the block so far
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const Traversal& t = ts[i];
    if (std::size_t(t.first) + t.count > n_sightings) {
      throw Error(ExitCode::kInternal, "store: traversal " + std::to_string(i) +
                                           " refers to sightings beyond the run's " +
                                           std::to_string(n_sightings));
    }
    if (i > cur.begin && (bytes >= kBlockBytes || i - cur.begin == kMaxBlockTraversals ||
                          ((t.digest ^ ts[i - 1].digest) >> 63) != 0)) {
      cur.end = uint32_t(i);
      out.push_back(cur);
      cur.begin = uint32_t(i);
      bytes = 0;
    }
    bytes += kTraversalBytes + kSightingBytes * t.count;
    if ((i & 0xffff) == 0xffff) [[unlikely]] run.release_traversals_before(i);
  }
  if (ts.size() > cur.begin) {
    cur.end = uint32_t(ts.size());
    out.push_back(cur);
  }
  run.release_traversals_before(ts.size());
  return out;
}

// Inserts the blocks of `run` with `ins` (Q::kInsertBlock). With enough blocks, a second
// thread formats the JSON while this one inserts (made_ahead: a bounded ring of formatted
// blocks, handed over in order).
void write_blocks(sql::Stmt& ins, int64_t run_id, const Run& run,
                  const std::vector<BlockSpan>& spans) {
  std::size_t next = 0;
  made_ahead<Block, kBlocksAhead>(
      spans.size() >= kThreadedMinBlocks,
      [&](Block& b) {
        if (next == spans.size()) return false;
        format_block(run, spans[next], uint32_t(next), b);
        ++next;
        return true;
      },
      [&](const Block& b) {
        ins.bind(1, run_id).bind(2, int64_t(b.no)).bind(3, int64_t(b.span.begin))
            .bind(4, int64_t(b.span.end - b.span.begin)).bind(5, b.digest_min)
            .bind(6, b.digest_max).bind(7, b.t_min).bind(8, b.t_max)
            .bind_text(9, std::string_view(b.text.data(), b.len));
        ins.run_keep_bindings();
      });
}

// A traversal from one entry's numbers (11 scalars, 4 per sighting, then `assumed` when it is
// not 0: schema 4); with_sightings false leaves out.sightings empty. False when the entry is
// malformed.
bool decode_traversal(const std::vector<int64_t>& v, uint32_t id, int64_t t_min,
                      bool with_sightings, FoundTraversal& out) {
  if (v.size() < 11) return false;
  const std::size_t tail = (v.size() - 11) % 4;
  if (tail > 1) return false;
  auto ord = [](int64_t x) { return x == kNullNumber ? kNoPoint : uint8_t(x); };
  out.id = id;
  Traversal& t = out.traversal;
  t = Traversal{};
  t.flow = uint32_t(v[0]);
  t.inner_flow = uint32_t(v[1]);
  t.digest = uint64_t(v[2]);
  t.t0_ns = t_min + v[3];
  t.seen = uint64_t(v[4]);
  t.fate = Fate(v[5]);
  t.dir = Dir(v[6]);
  t.entry = ord(v[7]);
  t.last_seen = ord(v[8]);
  t.wire_len = uint16_t(v[9]);
  t.tcp_flags = uint8_t(v[10]);
  t.count = uint16_t((v.size() - 11 - tail) / 4);
  t.assumed = tail ? uint8_t(v.back()) : uint8_t{0};
  out.sightings.clear();
  if (!with_sightings) return true;
  for (std::size_t k = 11; k + 3 < v.size() - tail; k += 4) {
    PacketSighting ps;
    ps.ord = uint8_t(v[k]);
    ps.ts_ns = t.t0_ns + v[k + 1];
    ps.wire_len = uint16_t(int64_t(t.wire_len) + v[k + 2]);
    ps.stack_id = uint32_t(v[k + 3]);
    out.sightings.push_back(std::move(ps));
  }
  return true;
}

void write_lost_blocks(sql::Stmt& ins, int64_t run_id, const Run& run) {
  std::string text, ids;
  uint32_t block = 0, count = 0;
  auto flush = [&] {
    text += ']';
    ids += ']';
    ins.bind(1, run_id).bind(2, int64_t(block)).bind(3, int64_t(count)).bind_text(4, ids).bind_text(5, text);
    ins.run();
    ++block;
    count = 0;
    text.clear();
    ids.clear();
  };
  char digits[12];
  const Sighting* sightings = run.all_sightings().data();
  const std::span<const Traversal> travs = run.all_traversals();
  for (std::size_t i = 0; i < travs.size(); ++i) {
    const Traversal& t = travs[i];
    if ((i & 0xffff) == 0xffff) [[unlikely]] run.release_traversals_before(i);
    if (t.fate != Fate::kLost) continue;
    const std::size_t at = text.size();
    text.resize(at + 1 + entry_bytes(t));
    char* p = text.data() + at;
    *p++ = count ? ',' : '[';
    p = format_entry(p, text.data() + text.size(), sightings, t, 0);
    text.resize(std::size_t(p - text.data()));
    ids += count ? ',' : '[';
    ids.append(digits, std::to_chars(digits, digits + sizeof digits, uint32_t(i)).ptr);
    if (++count >= kMaxBlockTraversals || text.size() >= kBlockBytes) flush();
  }
  if (count) flush();
  run.release_traversals_before(travs.size());
}

}  // namespace pathtrace::store_detail
