#pragma once
// A collector's whole stream for one point, as `pathtrace collect --stdout` would write it, for
// tests that feed a correlator (over TCP, or a pipe) without capturing: HELLO (host "test"),
// one chain (UDP 198.18.0.1:1000 → 198.18.0.2:2000), `n` records 1 µs apart with distinct
// digests in RECORDS frames of at most `per_frame`, STATS, BYE.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "collector/wire/wire.hpp"

namespace pathtrace::test {

inline constexpr int64_t kStreamT0 = 1'700'000'000'000'000'000;

inline std::vector<uint8_t> collector_stream(const std::string& label, uint64_t n, const std::string& token = "",
                                             uint64_t per_frame = UINT64_MAX) {
  wire::Encoder e;
  wire::Hello h;
  h.point = label;
  h.host = "test";
  h.iface = "lo";
  h.token = token;
  e.hello(h);
  wire::ChainEntry c;
  c.stack = "eth/ipv4/udp";
  packet::FlowKey k;
  k.version = 4;
  k.proto = 17;
  k.src = {198, 18, 0, 1};
  k.dst = {198, 18, 0, 2};
  k.sport = 1000;
  k.dport = 2000;
  c.ip = {k};
  e.chain(c);
  std::vector<wire::Record> recs;
  for (uint64_t first = 0; first < n; first += per_frame) {
    recs.clear();
    for (uint64_t i = first; i < n && i - first < per_frame; ++i)
      recs.push_back({(i + 1) * 0x9e3779b97f4a7c15ULL, kStreamT0 + int64_t(i) * 1000, 0, 60, 0});
    e.records(first, recs);
  }
  wire::Stats st;
  st.packets = st.digested = n;
  st.records_sent = n;
  st.capture_start_ns = kStreamT0 - 1'000'000'000;
  st.last_packet_ns = kStreamT0 + int64_t(n) * 1000;
  st.sent_at_ns = kStreamT0 + std::max<int64_t>(2'000'000'000, int64_t(n) * 1000);
  e.stats(st);
  e.bye(wire::Bye{st, "count reached"});
  return e.take();
}

}  // namespace pathtrace::test
