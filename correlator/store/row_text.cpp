// The flows' and stacks' row text, made a batch at a time ahead of the inserts (row_text.hpp).

#include "correlator/store/row_text.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <xxhash.h>

#include "collector/common/id_table.hpp"
#include "correlator/store/ahead.hpp"

namespace pathtrace::store_detail {
namespace {

// Fewer rows than this (flows and stacks together) are made on the calling thread: a thread
// start costs more.
constexpr std::size_t kThreadedMinRows = 4096;
// Rows per batch, and batches made ahead of the inserts: a few hundred KB of text at most.
constexpr std::size_t kBatchRows = 4096;
constexpr std::size_t kRowBatchesAhead = 4;

// Longest address text: INET6_ADDRSTRLEN with its terminating NUL.
constexpr std::size_t kAddressBytes = INET6_ADDRSTRLEN;
// Longest text of one layer's flow id: 10 digits or "null", and a comma.
constexpr std::size_t kLayerBytes = 11;

// Writes address `a` of IP version `version` (4, else 6) as text at `out`; returns its length.
std::size_t address_text(const std::array<uint8_t, 16>& a, uint8_t version, char* out) {
  char buf[kAddressBytes] = {};
  inet_ntop(version == 4 ? AF_INET : AF_INET6, a.data(), buf, sizeof buf);
  const std::size_t n = std::strlen(buf);
  std::memcpy(out, buf, n);
  return n;
}

// Makes the batches, flows first: making them also builds the two indexes a stack's layers
// are looked up in, by (parent, key), and by key alone (the first flow with that key, for the
// rare layer not under its previous one). The first keeps copies side by side, not pointers
// into the flows: a stack's lookup touches one entry, not a pointer and then a Flow.
class Maker {
 public:
  Maker(const std::vector<Flow>& flows, const std::vector<Chain>& chains) : flows_(flows), chains_(chains) {
    parent_key_flow_.reserve(flows.size());
  }

  bool next_flows(TextRows& b) {
    if (next_ >= flows_.size()) return false;
    b.begin = next_;
    b.count = std::min(kBatchRows, flows_.size() - next_);
    b.text.clear();
    b.ends.resize(3 * b.count);
    for (std::size_t k = 0; k < b.count; ++k) {
      const Flow& f = flows_[b.begin + k];
      char address[kAddressBytes];
      b.text.append(address, address_text(f.key.src, f.key.version, address));
      b.ends[3 * k] = b.text.size();
      b.text.append(address, address_text(f.key.dst, f.key.version, address));
      b.ends[3 * k + 1] = b.text.size();
      b.text += f.label();
      b.ends[3 * k + 2] = b.text.size();
      if (by_parent_key_.find_or_add(parent_key_hash(f.parent, f.key), [&](uint32_t j) {
            return parent_key_flow_[j].parent == f.parent && parent_key_flow_[j].key == f.key;
          }).second)
        parent_key_flow_.push_back({f.parent, f.id, f.key});
      if (by_key_.find_or_add(key_hash(f.key), [&](uint32_t j) { return key_flow_[j]->key == f.key; }).second)
        key_flow_.push_back(&f);
    }
    next_ += b.count;
    return true;
  }

  // After every flow's batch (the indexes are complete).
  bool next_stacks(TextRows& b) {
    if (next_stack_ >= chains_.size()) return false;
    b.begin = next_stack_;
    b.count = std::min(kBatchRows, chains_.size() - next_stack_);
    std::size_t bytes = 0;
    for (std::size_t c = b.begin; c < b.begin + b.count; ++c) bytes += 2 + chains_[c].ip.size() * kLayerBytes;
    if (b.text.size() < bytes) b.text.resize(bytes);
    b.ends.resize(b.count);
    char* const out = b.text.data();
    std::size_t at = 0;
    for (std::size_t k = 0; k < b.count; ++k) {
      const Chain& ch = chains_[b.begin + k];
      out[at++] = '[';
      uint32_t parent = 0;
      for (std::size_t l = 0; l < ch.ip.size(); ++l) {
        if (l) out[at++] = ',';
        const uint32_t id = flow_id(parent, ch.ip[l]);
        if (id) {
          at = std::size_t(std::to_chars(out + at, out + b.text.size(), id).ptr - out);
        } else {
          std::memcpy(out + at, "null", 4);
          at += 4;
        }
        parent = id;
      }
      out[at++] = ']';
      b.ends[k] = at;
    }
    next_stack_ += b.count;
    return true;
  }

 private:
  struct Entry {
    uint32_t parent;
    uint32_t id;
    packet::FlowKey key;
  };
  static uint64_t key_hash(const packet::FlowKey& k) { return XXH3_64bits(&k, sizeof k); }
  static uint64_t parent_key_hash(uint32_t parent, const packet::FlowKey& k) {
    return XXH3_64bits_withSeed(&k, sizeof k, parent);
  }
  // The flow nested under `parent` with key `k`, else the first flow with that key, else 0.
  uint32_t flow_id(uint32_t parent, const packet::FlowKey& k) const {
    if (const uint32_t j = by_parent_key_.find(parent_key_hash(parent, k), [&](uint32_t x) {
          return parent_key_flow_[x].parent == parent && parent_key_flow_[x].key == k;
        });
        j != IdTable::kNone)
      return parent_key_flow_[j].id;
    if (const uint32_t j = by_key_.find(key_hash(k), [&](uint32_t x) { return key_flow_[x]->key == k; });
        j != IdTable::kNone)
      return key_flow_[j]->id;
    return 0;
  }

  const std::vector<Flow>& flows_;
  const std::vector<Chain>& chains_;
  std::size_t next_ = 0, next_stack_ = 0;  // the next flow's and chain's index
  IdTable by_parent_key_, by_key_;
  std::vector<Entry> parent_key_flow_;   // by by_parent_key_ id
  std::vector<const Flow*> key_flow_;    // by by_key_ id
};

}  // namespace

void write_rows(const std::vector<Flow>& flows, const std::vector<Chain>& chains,
                const std::function<void(const TextRows&)>& insert_flows,
                const std::function<void(const TextRows&)>& insert_stacks) {
  Maker maker(flows, chains);
  const bool threaded = flows.size() + chains.size() >= kThreadedMinRows;
  made_ahead<TextRows, kRowBatchesAhead>(
      threaded, [&](TextRows& b) { return maker.next_flows(b); }, insert_flows);
  // The second maker thread starts after the first is joined: it sees the finished indexes.
  made_ahead<TextRows, kRowBatchesAhead>(
      threaded, [&](TextRows& b) { return maker.next_stacks(b); }, insert_stacks);
}

}  // namespace pathtrace::store_detail
