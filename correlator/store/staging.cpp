// A live run's staging (Store::begin_run, append, load_staged): the runs row and points
// first, then every batch of sightings and new layer stacks in its own transaction, packed
// for speed (docs/schema.md, "Live runs"), so that a killed writer leaves every batch it
// committed and a reader can load them back.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "collector/common/error.hpp"
#include "correlator/store/store_impl.hpp"

namespace pathtrace {
namespace {

// Staged sightings: 24 bytes each, little-endian, in Sighting's own field order (which on a
// little-endian machine is its memory layout: one memcpy).
constexpr std::size_t kPackedSighting = 24;
static_assert(std::endian::native == std::endian::little,
              "staged_sightings are little-endian; add byte swapping for this machine");
static_assert(sizeof(Sighting) == kPackedSighting && offsetof(Sighting, digest) == 0 &&
                  offsetof(Sighting, ts_ns) == 8 && offsetof(Sighting, chain) == 16 &&
                  offsetof(Sighting, wire_len) == 20 && offsetof(Sighting, point) == 22 &&
                  offsetof(Sighting, tcp_flags) == 23,
              "Sighting's layout is the staged_sightings format");
// Sightings per staged BLOB: a batch bigger than this is split (SQLite's row limit is 1 GB).
constexpr std::size_t kStagedBlobSightings = std::size_t(1) << 20;

// A chain's flow keys packed for staged_chains.ip: 38 bytes per layer.
constexpr std::size_t kPackedKey = 38;

std::string pack_keys(std::span<const packet::FlowKey> keys) {
  std::string out;
  out.reserve(keys.size() * kPackedKey);
  for (const auto& k : keys) {
    out += char(k.version);
    out += char(k.proto);
    out.append(reinterpret_cast<const char*>(k.src.data()), 16);
    out.append(reinterpret_cast<const char*>(k.dst.data()), 16);
    out += char(k.sport & 0xff);
    out += char(k.sport >> 8);
    out += char(k.dport & 0xff);
    out += char(k.dport >> 8);
  }
  return out;
}

std::vector<packet::FlowKey> unpack_keys(std::string_view b) {
  std::vector<packet::FlowKey> out;
  for (std::size_t i = 0; i + kPackedKey <= b.size(); i += kPackedKey) {
    const auto* p = reinterpret_cast<const uint8_t*>(b.data() + i);
    packet::FlowKey k;
    k.version = p[0];
    k.proto = p[1];
    std::memcpy(k.src.data(), p + 2, 16);
    std::memcpy(k.dst.data(), p + 18, 16);
    k.sport = uint16_t(p[34] | (p[35] << 8));
    k.dport = uint16_t(p[36] | (p[37] << 8));
    out.push_back(k);
  }
  return out;
}

}  // namespace

int64_t Store::Impl::begin_run(const Report& meta) {
  use_wal();
  sql::Txn txn(db);
  const int64_t run_id = insert_run(meta, true);
  txn.commit();
  live[run_id] = Live{};
  return run_id;
}

void Store::Impl::append(int64_t run, std::span<const Chain> chains, uint32_t first,
                         std::span<const Sighting> batch) {
  sql::Txn txn(db);
  auto it = live.find(run);
  if (it == live.end()) {  // staged by another connection before: continue after its rows
    require_capturing(run);
    auto& q = stmt(Q::kSelectStagedCounts).bind(1, run);
    const sql::ResetOnExit done(q);
    q.step();
    it = live.emplace(run, Live{uint32_t(q.int_at(0)), uint32_t(q.int_at(1))}).first;
  }
  Live st = it->second;
  if (!chains.empty() && first != st.chains) {
    throw Error(ExitCode::kInternal, "store: run " + std::to_string(run) + ": chains from " +
                                         std::to_string(first) + " appended after " +
                                         std::to_string(st.chains) + " staged chains");
  }
  auto& ins_chain = stmt(Q::kInsertStagedChain);
  for (const Chain& c : chains) {
    const std::string ip = pack_keys(c.ip);
    ins_chain.bind(1, run).bind(2, int64_t(st.chains)).bind_text(3, c.stack.str())
        .bind_blob(4, ip.data(), ip.size());
    ins_chain.run();
    ++st.chains;
  }
  uint32_t max_chain = 0;
  for (const Sighting& x : batch) max_chain = std::max(max_chain, x.chain);
  if (!batch.empty() && max_chain >= st.chains) {
    throw Error(ExitCode::kInternal, "store: run " + std::to_string(run) + ": a sighting of chain " +
                                         std::to_string(max_chain) + " but " +
                                         std::to_string(st.chains) + " chains staged");
  }
  auto& ins = stmt(Q::kInsertStagedSightings);
  for (std::size_t off = 0; off < batch.size(); off += kStagedBlobSightings) {
    const std::size_t n = std::min(kStagedBlobSightings, batch.size() - off);
    ins.bind(1, run).bind(2, int64_t(st.next_batch++)).bind(3, int64_t(n))
        .bind_blob(4, batch.data() + off, n * kPackedSighting);
    ins.run();
  }
  stmt(Q::kAddRunSightings).bind(1, run).bind(2, int64_t(batch.size())).run();
  txn.commit();
  it->second = st;  // only once committed
}

bool Store::Impl::load_staged(int64_t run, std::vector<Point>& points, std::vector<Chain>& chains,
                              std::vector<Sighting>& sightings) {
  sql::ReadTxn snapshot(db);
  if (stored_status(run).first == "complete") return false;
  points = load_points(run);
  chains.clear();
  {
    auto& q = stmt(Q::kSelectStagedChains).bind(1, run);
    const sql::ResetOnExit done(q);
    while (q.step()) {
      Chain c;
      c.stack = q.text_at(1);
      c.ip = unpack_keys(q.blob_at(2));
      chains.push_back(std::move(c));
    }
  }
  sightings.clear();
  auto& q = stmt(Q::kSelectStagedSightings).bind(1, run);
  const sql::ResetOnExit done(q);
  while (q.step()) {
    const std::string_view b = q.blob_at(1);
    const std::size_t n = b.size() / kPackedSighting;
    const std::size_t at = sightings.size();
    sightings.resize(at + n);
    std::memcpy(static_cast<void*>(sightings.data() + at), b.data(), n * kPackedSighting);
  }
  return true;
}

}  // namespace pathtrace
