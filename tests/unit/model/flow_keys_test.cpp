// FlowKeys: a chain's keys read back as they were given, for one key (held in place) and for
// more (on the heap), through copies, moves and assignments, including from themselves.

#include <gtest/gtest.h>

#include <span>
#include <utility>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {
namespace {

packet::FlowKey key(uint8_t last, uint16_t dport) {
  packet::FlowKey k;
  k.version = 4;
  k.proto = 6;
  k.src[15] = last;
  k.dst[15] = uint8_t(last + 1);
  k.sport = 40000;
  k.dport = dport;
  return k;
}

std::vector<packet::FlowKey> keys(std::size_t n) {
  std::vector<packet::FlowKey> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(key(uint8_t(10 * i), uint16_t(80 + i)));
  return v;
}

void expect_keys(const FlowKeys& got, const std::vector<packet::FlowKey>& want) {
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(got.empty(), want.empty());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "key " << i;
  if (!want.empty()) {
    EXPECT_EQ(got.front(), want.front());
    EXPECT_EQ(got.back(), want.back());
  }
  const std::span<const packet::FlowKey> s = got;
  EXPECT_TRUE(std::equal(s.begin(), s.end(), want.begin(), want.end()));
}

TEST(FlowKeys, HoldsOneToFourKeys) {
  for (std::size_t n = 0; n <= packet::kMaxIpLayers; ++n) {
    SCOPED_TRACE(n);
    const FlowKeys k(keys(n));
    expect_keys(k, keys(n));
  }
}

TEST(FlowKeys, CopiesAndMovesKeepTheKeys) {
  for (std::size_t n : {1u, 2u, 4u}) {
    SCOPED_TRACE(n);
    FlowKeys a(keys(n));
    FlowKeys b(a);  // copy: both hold the keys
    expect_keys(a, keys(n));
    expect_keys(b, keys(n));
    EXPECT_EQ(a, b);
    FlowKeys c(std::move(a));  // move: the source is left empty
    expect_keys(c, keys(n));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): a moved-from FlowKeys is empty
    FlowKeys d{key(1, 1)};
    d = c;  // copy-assign over one key
    expect_keys(d, keys(n));
    FlowKeys e(keys(3));
    e = std::move(d);  // move-assign over heap keys
    expect_keys(e, keys(n));
  }
}

TEST(FlowKeys, AssignsFromItselfAndAcrossSizes) {
  FlowKeys k(keys(3));
  const FlowKeys& same = k;
  k = same;
  expect_keys(k, keys(3));
  k.assign(k.begin() + 1, k.end());  // from its own keys: two of the three
  expect_keys(k, {keys(3)[1], keys(3)[2]});
  k.assign(k.end() - 1, k.end());  // from its own heap keys into the one held in place
  expect_keys(k, {keys(3)[2]});
  k.assign(k.begin(), k.end());  // one key from itself
  expect_keys(k, {keys(3)[2]});
  const std::vector<packet::FlowKey> four = keys(4);
  k.assign(four.begin(), four.end());
  expect_keys(k, four);
  EXPECT_NE(k, FlowKeys(keys(3)));
}

TEST(FlowKeys, ChainStaysSmall) {
  // One key in place: a run's millions of chains take 48 bytes each, no allocation.
  EXPECT_EQ(sizeof(Chain), 48u);
}

}  // namespace
}  // namespace pathtrace
