#pragma once
// IdTable: interning by hash without a key type — the table keeps only ids, the caller keeps the
// entries and says whether an id's entry is the one looked for. For the tables of many small
// keys that are built once per run (chains, flows, lists of flow keys): no allocation per
// entry and no key copy, where a std::unordered_map<std::string, …> allocates both.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace pathtrace {

// Ids found by a 64-bit hash and an equality test the caller gives: open addressing,
// power-of-two size, 8-byte slots (the hash's top 32 bits, id + 1). `same` is asked only about
// ids whose hash has the same top 32 bits (a table of hashes alone passes
// `[&](uint32_t id) { return table.hash(id) == h; }`). Nothing is allocated per entry: the
// slots and one hash per id (kept for growing) grow by doubling. Ids are handed out 0, 1, 2, …
class IdTable {
 public:
  // The id added with hash `h` that `same(id)` accepts; if there is none, adds the next id
  // (size() before the call). Returns the id and whether it was added.
  template <class Same>
  std::pair<uint32_t, bool> find_or_add(uint64_t h, Same&& same) {
    if (slots_.empty()) slots_.assign(1024, 0);
    const uint64_t tag = h >> 32;
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) break;
      const uint32_t id = uint32_t(slot) - 1;
      if ((slot >> 32) == tag && same(id)) return {id, false};
    }
    const auto id = uint32_t(hashes_.size());
    hashes_.push_back(h);
    if (hashes_.size() * 2 > slots_.size()) {
      rehash(slots_.size() * 2);
    } else {
      slots_[i] = (tag << 32) | (uint64_t(id) + 1);
    }
    return {id, true};
  }
  // The id added with hash `h` that `same(id)` accepts, or kNone.
  template <class Same>
  uint32_t find(uint64_t h, Same&& same) const {
    if (slots_.empty()) return kNone;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const uint64_t slot = slots_[i];
      if (slot == 0) return kNone;
      const uint32_t id = uint32_t(slot) - 1;
      if ((slot >> 32) == (h >> 32) && same(id)) return id;
    }
  }
  // Starts loading the slot where a look-up of `h` begins (a hint; no effect on the table).
  void prefetch(uint64_t h) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(slots_.data() + (h & (slots_.size() - 1)));
  }
  static constexpr uint32_t kNone = ~uint32_t{0};
  // The hash id `id` was added with (id < size()).
  uint64_t hash(uint32_t id) const noexcept { return hashes_[id]; }
  std::size_t size() const noexcept { return hashes_.size(); }

 private:
  void rehash(std::size_t size) {
    slots_.assign(size, 0);
    const std::size_t mask = size - 1;
    for (uint32_t id = 0; id < hashes_.size(); ++id) {
      std::size_t i = hashes_[id] & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = ((hashes_[id] >> 32) << 32) | (uint64_t(id) + 1);
    }
  }
  std::vector<uint64_t> slots_;   // 0 = empty
  std::vector<uint64_t> hashes_;  // by id
};

}  // namespace pathtrace
