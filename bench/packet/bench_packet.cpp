// parse() + digest per packet for the stacks a capture point sees most.
// Target: <= 100 ns/packet (>= 10 M packets/s on one core). Run:
//   build/bench/packet/bench_packet --benchmark_min_time=1

#include <benchmark/benchmark.h>

#include <span>

#include "collector/packet/packet.hpp"
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

}  // namespace

BENCHMARK(BM_EthIpv4Tcp);
BENCHMARK(BM_EthVlanIpipTcp);
BENCHMARK(BM_VxlanTcp);
BENCHMARK(BM_GeneveTcp);
BENCHMARK(BM_Ipv6ExtUdp);
BENCHMARK(BM_ChainHash);

BENCHMARK_MAIN();
