#pragma once
// Puts the elements of a vector in a new order in place, cycle by cycle: no second copy of a
// big vector at the moment memory peaks.

#include <cstdint>
#include <utility>
#include <vector>

namespace pathtrace {

// Moves v[i] to position to[i] for every i; `to` (a permutation of 0..v.size()-1, consumed) is
// left as the identity.
template <class T>
void move_to_places(std::vector<T>& v, std::vector<uint32_t>& to) {
  for (uint32_t i = 0; i < to.size(); ++i) {
    while (to[i] != i) {
      const uint32_t j = to[i];
      std::swap(v[i], v[j]);
      std::swap(to[i], to[j]);
    }
  }
}

}  // namespace pathtrace
