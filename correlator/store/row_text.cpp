// The flows' and stacks' row text, made ahead of the inserts (row_text.hpp).

#include "correlator/store/row_text.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <xxhash.h>

#include "collector/common/id_table.hpp"

namespace pathtrace::store_detail {
namespace {

// Fewer rows than this (flows and stacks together) are made on the calling thread: a thread
// start costs more.
constexpr std::size_t kThreadedMinRows = 4096;
// Rows are published this many at a time (and at the end).
constexpr uint32_t kPublishEvery = 64;
// The count a failed thread publishes: every wait ends, and the caller rethrows.
constexpr uint32_t kTextFailed = ~uint32_t{0};

// Longest address text: INET6_ADDRSTRLEN with its terminating NUL.
constexpr std::size_t kAddressBytes = INET6_ADDRSTRLEN;
constexpr std::size_t kV4AddressBytes = INET_ADDRSTRLEN;
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

}  // namespace

RowText::RowText(const std::vector<Flow>& flows, const std::vector<Chain>& chains)
    : flows_(flows), chains_(chains) {
  // The longest text of each flow's two addresses ("255.255.255.255", or an IPv6 address's).
  std::size_t flow_bytes = 0;
  for (const Flow& f : flows) flow_bytes += 2 * (f.key.version == 4 ? kV4AddressBytes : kAddressBytes);
  flow_text_.resize(flow_bytes);
  flow_ends_.resize(flows.size() * 2);
  std::size_t stack_bytes = 0;
  for (const Chain& c : chains) stack_bytes += 2 + c.ip.size() * kLayerBytes;
  stack_text_.resize(stack_bytes);
  stack_ends_.resize(chains.size());
  if (flows.size() + chains.size() < kThreadedMinRows) {
    make();
    if (failed_) std::rethrow_exception(failed_);
    return;
  }
  thread_ = std::thread([this] { make(); });
}

RowText::~RowText() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

std::string_view RowText::text(std::size_t i, const std::atomic<uint32_t>& made, const std::vector<std::size_t>& ends,
                               const std::string& buf, std::size_t k) {
  uint32_t m = made.load(std::memory_order_acquire);
  while (m <= i) {
    made.wait(m, std::memory_order_acquire);
    m = made.load(std::memory_order_acquire);
  }
  if (m == kTextFailed) std::rethrow_exception(failed_);
  const std::size_t begin = k ? ends[k - 1] : 0;
  return std::string_view(buf.data() + begin, ends[k] - begin);
}

void RowText::make() {
  auto publish = [](std::atomic<uint32_t>& made, std::size_t n) {
    made.store(uint32_t(n), std::memory_order_release);
    made.notify_all();
  };
  try {
    // Flows, and two indexes for the stacks' per-layer flow ids: by (parent, key), and by key
    // alone (the first flow with that key, for the rare layer not under its previous one). The
    // first keeps copies side by side, not pointers into the flows: a stack's lookup touches one
    // entry, not a pointer and then a Flow.
    IdTable by_parent_key, by_key;
    struct Entry {
      uint32_t parent;
      uint32_t id;
      packet::FlowKey key;
    };
    std::vector<Entry> parent_key_flow;  // by IdTable id
    std::vector<const Flow*> key_flow;   // by IdTable id
    parent_key_flow.reserve(flows_.size());
    auto key_hash = [](const packet::FlowKey& k) { return XXH3_64bits(&k, sizeof k); };
    auto parent_key_hash = [](uint32_t parent, const packet::FlowKey& k) {
      return XXH3_64bits_withSeed(&k, sizeof k, parent);
    };
    std::size_t at = 0;
    for (std::size_t i = 0; i < flows_.size(); ++i) {
      const Flow& f = flows_[i];
      at += address_text(f.key.src, f.key.version, flow_text_.data() + at);
      flow_ends_[2 * i] = at;
      at += address_text(f.key.dst, f.key.version, flow_text_.data() + at);
      flow_ends_[2 * i + 1] = at;
      if (by_parent_key.find_or_add(parent_key_hash(f.parent, f.key), [&](uint32_t j) {
            return parent_key_flow[j].parent == f.parent && parent_key_flow[j].key == f.key;
          }).second)
        parent_key_flow.push_back({f.parent, f.id, f.key});
      if (by_key.find_or_add(key_hash(f.key), [&](uint32_t j) { return key_flow[j]->key == f.key; }).second)
        key_flow.push_back(&f);
      if ((i + 1) % kPublishEvery == 0) {
        if (stop_.load(std::memory_order_relaxed)) return;
        publish(flows_made_, i + 1);
      }
    }
    publish(flows_made_, flows_.size());

    at = 0;
    char* const out = stack_text_.data();
    for (std::size_t c = 0; c < chains_.size(); ++c) {
      const Chain& ch = chains_[c];
      out[at++] = '[';
      uint32_t parent = 0;
      for (std::size_t l = 0; l < ch.ip.size(); ++l) {
        if (l) out[at++] = ',';
        const packet::FlowKey& k = ch.ip[l];
        uint32_t id = 0;  // prefer the flow nested under the previous layer
        if (const uint32_t j = by_parent_key.find(parent_key_hash(parent, k), [&](uint32_t x) {
              return parent_key_flow[x].parent == parent && parent_key_flow[x].key == k;
            });
            j != IdTable::kNone) {
          id = parent_key_flow[j].id;
        } else if (const uint32_t j = by_key.find(key_hash(k), [&](uint32_t x) { return key_flow[x]->key == k; });
                   j != IdTable::kNone) {
          id = key_flow[j]->id;
        }
        if (id) {
          at = std::size_t(std::to_chars(out + at, out + stack_text_.size(), id).ptr - out);
        } else {
          std::memcpy(out + at, "null", 4);
          at += 4;
        }
        parent = id;
      }
      out[at++] = ']';
      stack_ends_[c] = at;
      if ((c + 1) % kPublishEvery == 0) {
        if (stop_.load(std::memory_order_relaxed)) return;
        publish(stacks_made_, c + 1);
      }
    }
    publish(stacks_made_, chains_.size());
  } catch (...) {
    failed_ = std::current_exception();
    publish(flows_made_, kTextFailed);
    publish(stacks_made_, kTextFailed);
  }
}

}  // namespace pathtrace::store_detail
