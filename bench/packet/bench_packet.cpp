// parse() + digest per packet for the stacks a capture point sees most, and the collector's
// whole per-packet path after libpcap (parse + RecordStream + encoding). Target: <= 100
// ns/packet (>= 10 M packets/s on one core). Run:
//   build/bench/packet/bench_packet --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <array>
#include <span>
#include <vector>

#include "collector/packet/packet.hpp"
#include "collector/wire/record_stream.hpp"
#include "tests/unit/packet/fixtures.hpp"

namespace {

namespace pk = pathtrace::packet;
namespace fx = pathtrace::packet::fixtures;

void run(benchmark::State& state, std::span<const uint8_t> frame, pk::LinkType link) {
  const pk::Options opt;
  pk::Parsed parsed;
  for (auto _ : state) {
    pk::parse(frame, static_cast<uint32_t>(frame.size()), link, opt, parsed);
    benchmark::DoNotOptimize(parsed.digest);
    benchmark::ClobberMemory();
  }
  if (parsed.status != pk::Status::kOk) state.SkipWithError("fixture did not parse");
  state.SetItemsProcessed(state.iterations());
}

void BM_EthIpv4Tcp(benchmark::State& s) { run(s, fx::eth_ipv4_tcp, pk::LinkType::kEthernet); }
void BM_EthVlanIpipTcp(benchmark::State& s) {
  run(s, fx::eth_vlan_ipv4_ipip_tcp, pk::LinkType::kEthernet);
}
void BM_VxlanTcp(benchmark::State& s) {
  run(s, fx::eth_ipv4_udp_vxlan_tcp, pk::LinkType::kEthernet);
}
void BM_GeneveTcp(benchmark::State& s) {
  run(s, fx::eth_ipv4_udp_geneve_tcp, pk::LinkType::kEthernet);
}
void BM_Ipv6ExtUdp(benchmark::State& s) {
  run(s, fx::eth_ipv6_ext_frag_udp, pk::LinkType::kEthernet);
}

void BM_ChainHash(benchmark::State& state) {
  pk::Parsed parsed;
  pk::parse(fx::eth_vlan_ipv4_ipip_tcp, 0, pk::LinkType::kEthernet, pk::Options{}, parsed);
  for (auto _ : state) benchmark::DoNotOptimize(pk::chain_hash(parsed));
  state.SetItemsProcessed(state.iterations());
}

// What `pathtrace collect` does per packet once libpcap hands it over: parse + digest, the
// record into a RecordStream (chain cache, batch of 4096), encoded, the buffer emptied every
// 64 KiB as the collector's writes do. 64 distinct packets of one IPIP flow (IP id varies),
// 60..1514 bytes: the incident's traffic.
void BM_CollectorPath(benchmark::State& state) {
  std::vector<std::vector<uint8_t>> frames;
  for (uint8_t i = 0; i < 64; ++i) {
    std::vector<uint8_t> f(fx::eth_vlan_ipv4_ipip_tcp.begin(), fx::eth_vlan_ipv4_ipip_tcp.end());
    f[18 + 5] = i;  // outer IPv4 id (after Ethernet + 802.1Q)
    f[18 + 20 + 5] = i;  // inner IPv4 id
    frames.push_back(std::move(f));
  }
  const pk::Options opt;
  pk::Parsed parsed;
  pathtrace::wire::Encoder enc;
  pathtrace::wire::RecordStream stream(enc, 4096, 0);
  int64_t ts = 1'700'000'000'000'000'000;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& f = frames[i++ & 63];
    ts += 2'200;
    if (pk::parse(f, static_cast<uint32_t>(f.size()), pk::LinkType::kEthernet, opt, parsed) ==
        pk::Status::kOk)
      stream.add(parsed, ts, static_cast<uint32_t>(f.size()), f);
    if (enc.size() >= (64u << 10)) enc.clear();
  }
  benchmark::DoNotOptimize(enc.size());
  if (stream.sent() == 0 && state.iterations() > 4096) state.SkipWithError("nothing encoded");
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_CollectorPath);
BENCHMARK(BM_EthIpv4Tcp);
BENCHMARK(BM_EthVlanIpipTcp);
BENCHMARK(BM_VxlanTcp);
BENCHMARK(BM_GeneveTcp);
BENCHMARK(BM_Ipv6ExtUdp);
BENCHMARK(BM_ChainHash);

BENCHMARK_MAIN();
