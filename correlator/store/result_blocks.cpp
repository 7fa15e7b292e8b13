// Plain flow results, packed (result_blocks.hpp): which results are plain, formatting and
// inserting their blocks, and reading a block back.

#include "correlator/store/result_blocks.hpp"

#include "correlator/store/ahead.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>

namespace pathtrace::store_detail {
namespace {

// A block ends when its JSON reaches about this size (as traversal blocks, blocks.cpp).
constexpr std::size_t kResultBlockBytes = 40 * 1024;
// Blocks formatted ahead of the inserts, and the results from which a thread does it.
constexpr std::size_t kResultBlocksAhead = 8;
constexpr std::size_t kThreadedMinResults = 4096;

// Appends `s` as a JSON string: quotes, backslashes and control characters escaped, the rest
// (UTF-8) as it is.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

template <typename T>
void append_num(std::string& out, T v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Appends one result's entry: [rank, flow, dir, traversals, judged, delivered, out_of_window,
// no_entry, duplicates, aggregated, verdict, "summary", [seen_at per ord], [seen_any per ord],
// [[from, to, in, delay_samples, delay_min_ns, delay_mean_ns] per hop], [inner flow ids]].
void append_entry(std::string& out, const FlowResult& r, std::size_t rank) {
  out += '[';
  for (const uint64_t v : {uint64_t(rank), uint64_t(r.flow), uint64_t(r.dir), r.traversals, r.judged, r.delivered,
                           r.out_of_window, r.no_entry, r.duplicates, r.aggregated, uint64_t(r.verdict)}) {
    append_num(out, v);
    out += ',';
  }
  append_json_string(out, r.summary);
  for (const auto* per_point : {&r.seen_at, &r.seen_any}) {
    out += ",[";
    for (std::size_t i = 0; i < per_point->size(); ++i) {
      if (i) out += ',';
      append_num(out, (*per_point)[i]);
    }
    out += ']';
  }
  out += ",[";
  for (std::size_t i = 0; i < r.hops.size(); ++i) {
    const HopStat& h = r.hops[i];
    if (i) out += ',';
    out += '[';
    append_num(out, unsigned(h.from));
    out += ',';
    append_num(out, unsigned(h.to));
    out += ',';
    append_num(out, h.in);
    out += ',';
    append_num(out, h.delay_samples);
    out += ',';
    append_num(out, h.delay_min_ns);
    out += ',';
    append_num(out, h.delay_mean_ns);
    out += ']';
  }
  out += "],[";
  for (std::size_t i = 0; i < r.inner_flows.size(); ++i) {
    if (i) out += ',';
    append_num(out, r.inner_flows[i]);
  }
  out += "]]";
}

// A cursor over a block's JSON that reads exactly the shapes append_entry writes; every read
// reports failure instead of going past the end.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : p_(s.data()), e_(s.data() + s.size()) {}
  bool done() {
    ws();
    return p_ == e_;
  }
  // Consumes `c` (after blanks) if it is next.
  bool lit(char c) {
    ws();
    if (p_ == e_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  template <typename T>
  bool num(T& v) {
    ws();
    const auto r = std::from_chars(p_, e_, v);
    if (r.ec != std::errc()) return false;
    p_ = r.ptr;
    return true;
  }
  // A JSON string, unescaped (\uXXXX outside the surrogates, as UTF-8).
  bool str(std::string& out) {
    out.clear();
    if (!lit('"')) return false;
    while (p_ != e_) {
      const char c = *p_++;
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ == e_) return false;
      switch (const char x = *p_++) {
        case '"': case '\\': case '/': out += x; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (e_ - p_ < 4) return false;
          const auto r = std::from_chars(p_, p_ + 4, cp, 16);
          if (r.ptr != p_ + 4 || (cp >= 0xd800 && cp < 0xe000)) return false;
          p_ += 4;
          if (cp < 0x80) {
            out += char(cp);
          } else if (cp < 0x800) {
            out += char(0xc0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3f));
          } else {
            out += char(0xe0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3f));
            out += char(0x80 | (cp & 0x3f));
          }
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  // A JSON array of integers.
  template <typename T>
  bool nums(std::vector<T>& out) {
    out.clear();
    if (!lit('[')) return false;
    if (lit(']')) return true;
    do {
      T v{};
      if (!num(v)) return false;
      out.push_back(v);
    } while (lit(','));
    return lit(']');
  }

 private:
  void ws() {
    while (p_ != e_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) ++p_;
  }
  const char* p_;
  const char* e_;
};

// One entry (see append_entry) into `r` and its rank.
bool read_entry(Cursor& c, std::size_t n_points, uint32_t& rank, FlowResult& r) {
  uint64_t v[11];
  if (!c.lit('[')) return false;
  for (uint64_t& x : v)
    if (!c.num(x) || !c.lit(',')) return false;
  if (v[0] > UINT32_MAX || v[1] > UINT32_MAX || v[2] > 1 ||
      (v[10] != uint64_t(VerdictKind::kDelivered) && v[10] != uint64_t(VerdictKind::kNotJudged)))
    return false;
  rank = uint32_t(v[0]);
  r.flow = uint32_t(v[1]);
  r.dir = Dir(v[2]);
  r.traversals = v[3];
  r.judged = v[4];
  r.delivered = v[5];
  r.out_of_window = v[6];
  r.no_entry = v[7];
  r.duplicates = v[8];
  r.aggregated = v[9];
  r.verdict = VerdictKind(v[10]);
  if (!c.str(r.summary) || !c.lit(',') || !c.nums(r.seen_at) || !c.lit(',') || !c.nums(r.seen_any) ||
      !c.lit(',') || !c.lit('['))
    return false;
  if (r.seen_at.size() != n_points || r.seen_any.size() != n_points) return false;
  r.holes_at.assign(n_points, 0);
  r.hops.clear();
  if (!c.lit(']')) {
    do {
      HopStat h;
      unsigned from = 0, to = 0;
      if (!c.lit('[') || !c.num(from) || !c.lit(',') || !c.num(to) || !c.lit(',') || !c.num(h.in) ||
          !c.lit(',') || !c.num(h.delay_samples) || !c.lit(',') || !c.num(h.delay_min_ns) || !c.lit(',') ||
          !c.num(h.delay_mean_ns) || !c.lit(']'))
        return false;
      if (from >= n_points || to >= n_points) return false;
      h.from = uint8_t(from);
      h.to = uint8_t(to);
      h.out = h.in;
      r.hops.push_back(std::move(h));
    } while (c.lit(','));
    if (!c.lit(']')) return false;
  }
  return c.lit(',') && c.nums(r.inner_flows) && c.lit(']');
}

}  // namespace

bool packed(const FlowResult& r, std::size_t rank, std::size_t n_points) { return rank != 0 && plain(r, n_points); }

void write_result_blocks(sql::Stmt& ins, int64_t run_id, const RankedResults& results, std::size_t n_points) {
  struct Block {
    uint32_t count = 0;  // results in it
    std::string json;
  };
  std::size_t k = 0;  // the next result to look at
  FlowResult scratch;  // a packed one, decoded
  int64_t no = 0;
  made_ahead<Block, kResultBlocksAhead>(
      results.size() >= kThreadedMinResults,
      [&](Block& b) {
        b.json.clear();
        b.count = 0;
        for (; k < results.size() && b.json.size() < kResultBlockBytes; ++k) {
          const FlowResult& r = results.at(k, scratch);
          if (!packed(r, k, n_points)) continue;
          b.json += b.count ? ',' : '[';
          append_entry(b.json, r, k);
          ++b.count;
        }
        if (b.count == 0) return false;
        b.json += ']';
        return true;
      },
      [&](const Block& b) {
        ins.bind(1, run_id).bind(2, no++).bind(3, int64_t(b.count)).bind_text(4, b.json);
        ins.run();
      });
}

bool read_result_block(std::string_view json, std::size_t n_points,
                       std::vector<std::pair<uint32_t, FlowResult>>& out) {
  Cursor c(json);
  if (!c.lit('[')) return false;
  if (!c.lit(']')) {
    do {
      uint32_t rank = 0;
      FlowResult r;
      if (!read_entry(c, n_points, rank, r)) return false;
      out.emplace_back(rank, std::move(r));
    } while (c.lit(','));
    if (!c.lit(']')) return false;
  }
  return c.done();
}

}  // namespace pathtrace::store_detail
