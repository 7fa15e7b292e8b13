// RankedResults (model.hpp): plain results packed, the others whole, all in rank order.
//
// A packed result, in bytes (LEB128 varints; signed values zigzagged):
//   flow, dir | verdict << 1 (one byte), traversals, judged, delivered, out_of_window, no_entry,
//   duplicates, aggregated, summary (length, bytes), seen_at and seen_any (n_points each),
//   per hop: from, to (one byte each), in, delay_samples, delay_min_ns, delay_mean_ns,
//   inner flows (count, ids).
// What a plain result leaves out is known: nothing lost or assumed, no holes, no headline hop,
// every hop's out equal to its in.

#include <algorithm>

#include "correlator/model/model.hpp"

namespace pathtrace {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
constexpr unsigned kOffsetShift = 1;
constexpr unsigned kChunkShift = 40;

void put(std::vector<uint8_t>& b, uint64_t v) {
  while (v >= 0x80) {
    b.push_back(uint8_t(v | 0x80));
    v >>= 7;
  }
  b.push_back(uint8_t(v));
}

void put_signed(std::vector<uint8_t>& b, int64_t v) { put(b, (uint64_t(v) << 1) ^ uint64_t(v >> 63)); }

uint64_t get(const uint8_t*& p) {
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    const uint8_t byte = *p++;
    v |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
}

int64_t get_signed(const uint8_t*& p) {
  const uint64_t v = get(p);
  return int64_t(v >> 1) ^ -int64_t(v & 1);
}

}  // namespace

bool interesting(const FlowResult& f) {
  return f.verdict == VerdictKind::kDisappears || f.verdict == VerdictKind::kPartialLoss ||
         f.verdict == VerdictKind::kInconclusive;
}

bool plain(const FlowResult& r, std::size_t n_points) {
  if (r.verdict != VerdictKind::kDelivered && r.verdict != VerdictKind::kNotJudged) return false;
  if (r.lost || r.assumed || r.hop != -1 || !r.findings.empty() || !r.assumptions.empty() ||
      !r.translations.empty())
    return false;
  if (r.seen_at.size() != n_points || r.seen_any.size() != n_points || r.holes_at.size() != n_points ||
      r.hops.size() != (n_points ? n_points - 1 : 0))
    return false;
  if (std::any_of(r.holes_at.begin(), r.holes_at.end(), [](uint32_t h) { return h != 0; })) return false;
  return std::all_of(r.hops.begin(), r.hops.end(), [&](const HopStat& h) {
    return h.lost == 0 && h.in == h.out && !h.inconclusive && h.why.empty() && h.assumed == 0 &&
           h.from < n_points && h.to < n_points;
  });
}

RankedResults::RankedResults(std::vector<FlowResult> results) : whole_(std::move(results)) {
  entries_.reserve(whole_.size());
  for (std::size_t i = 0; i < whole_.size(); ++i) {
    entries_.push_back(uint64_t(i) << 1);
    delivered_ += whole_[i].verdict == VerdictKind::kDelivered;
  }
}

void RankedResults::add(FlowResult&& r, bool may_pack) {
  delivered_ += r.verdict == VerdictKind::kDelivered;
  if (may_pack && plain(r, n_points_)) {
    pack(r);
    return;
  }
  entries_.push_back(uint64_t(whole_.size()) << 1);
  whole_.push_back(std::move(r));
}

void RankedResults::pack(const FlowResult& r) {
  std::vector<uint8_t>& b = buf_;
  b.clear();
  put(b, r.flow);
  b.push_back(uint8_t(uint8_t(r.dir) | uint8_t(r.verdict) << 1));
  for (const uint64_t v : {r.traversals, r.judged, r.delivered, r.out_of_window, r.no_entry, r.duplicates, r.aggregated})
    put(b, v);
  put(b, r.summary.size());
  b.insert(b.end(), r.summary.begin(), r.summary.end());
  for (const uint32_t v : r.seen_at) put(b, v);
  for (const uint32_t v : r.seen_any) put(b, v);
  for (const HopStat& h : r.hops) {
    b.push_back(h.from);
    b.push_back(h.to);
    put(b, h.in);
    put(b, h.delay_samples);
    put_signed(b, h.delay_min_ns);
    put_signed(b, h.delay_mean_ns);
  }
  put(b, r.inner_flows.size());
  for (const uint32_t f : r.inner_flows) put(b, f);
  if (chunks_.empty() || chunks_.back().capacity() - chunks_.back().size() < b.size()) {
    chunks_.emplace_back();
    chunks_.back().reserve(std::max(kChunkBytes, b.size()));
  }
  std::vector<uint8_t>& c = chunks_.back();
  const uint64_t at = c.size();
  c.insert(c.end(), b.begin(), b.end());
  entries_.push_back(uint64_t(chunks_.size() - 1) << kChunkShift | at << kOffsetShift | 1);
}

void RankedResults::unpack(uint64_t entry, FlowResult& r) const {
  const std::vector<uint8_t>& c = chunks_[entry >> kChunkShift];
  const uint8_t* p = c.data() + ((entry & ((uint64_t{1} << kChunkShift) - 1)) >> kOffsetShift);
  const std::size_t n = n_points_;
  r.flow = uint32_t(get(p));
  const uint8_t dv = *p++;
  r.dir = Dir(dv & 1);
  r.verdict = VerdictKind(dv >> 1);
  for (uint64_t* v : {&r.traversals, &r.judged, &r.delivered, &r.out_of_window, &r.no_entry, &r.duplicates,
                      &r.aggregated})
    *v = get(p);
  r.lost = 0;
  r.assumed = 0;
  r.hop = -1;
  const std::size_t len = std::size_t(get(p));
  r.summary.assign(reinterpret_cast<const char*>(p), len);
  p += len;
  r.seen_at.resize(n);
  for (uint32_t& v : r.seen_at) v = uint32_t(get(p));
  r.seen_any.resize(n);
  for (uint32_t& v : r.seen_any) v = uint32_t(get(p));
  r.holes_at.assign(n, 0);
  r.hops.resize(n ? n - 1 : 0);
  for (HopStat& h : r.hops) {
    h.from = *p++;
    h.to = *p++;
    h.inconclusive = false;
    h.in = uint32_t(get(p));
    h.out = h.in;
    h.lost = 0;
    h.assumed = 0;
    h.delay_samples = uint32_t(get(p));
    h.delay_min_ns = get_signed(p);
    h.delay_mean_ns = get_signed(p);
    h.why.clear();
  }
  r.inner_flows.resize(std::size_t(get(p)));
  for (uint32_t& f : r.inner_flows) f = uint32_t(get(p));
  r.findings.clear();
  r.assumptions.clear();
  r.translations.clear();
}

const FlowResult& RankedResults::at(std::size_t rank, FlowResult& scratch) const {
  const uint64_t e = entries_[rank];
  if (!(e & 1)) return whole_[e >> 1];
  unpack(e, scratch);
  return scratch;
}

FlowResult* RankedResults::whole(std::size_t rank) noexcept {
  const uint64_t e = entries_[rank];
  return e & 1 ? nullptr : &whole_[e >> 1];
}

const FlowResult* RankedResults::whole(std::size_t rank) const noexcept {
  const uint64_t e = entries_[rank];
  return e & 1 ? nullptr : &whole_[e >> 1];
}

void RankedResults::rank(std::span<const uint32_t> order) {
  std::vector<uint64_t> ranked(entries_.size());
  for (std::size_t k = 0; k < ranked.size(); ++k) ranked[k] = entries_[order[k]];
  entries_ = std::move(ranked);
  std::vector<uint8_t>().swap(buf_);
}

void Run::list_results(std::size_t others) {
  report.results.clear();
  report.omitted.results = 0;
  report.omitted.delivered = 0;
  std::size_t listed_others = 0;
  FlowResult scratch;
  for (std::size_t k = 0; k < results.size(); ++k) {
    const FlowResult& r = results.at(k, scratch);
    if (!interesting(r)) {
      if (listed_others == others) {
        report.omitted.results = results.size() - k;
        report.omitted.delivered = results.delivered();
        for (const FlowResult& f : report.results) report.omitted.delivered -= f.verdict == VerdictKind::kDelivered;
        return;
      }
      ++listed_others;
    }
    report.results.push_back(r);
  }
}

}  // namespace pathtrace
