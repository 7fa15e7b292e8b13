// parse() + digest per packet for the stacks a capture point sees most, and the collector's
// whole per-packet path after libpcap (parse + RecordStream + encoding). Target: <= 100
// ns/packet (>= 10 M packets/s on one core). Run:
//   build/bench/packet/bench_packet --benchmark_min_time=1

#include <algorithm>
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
// 64 KiB as the collector's writes do. Frames of the incident's IPIP traffic (outer and inner
// IP id vary) in range(0) flows (inner TCP source ports), round robin as bench/live's sender
// sends them: 1 flow, or a busy port's thousands, where every packet's chain is another one's.
void BM_CollectorPath(benchmark::State& state) {
  const auto flows = static_cast<std::size_t>(state.range(0));
  std::vector<std::vector<uint8_t>> frames;
  for (std::size_t k = 0; k < std::max<std::size_t>(64, flows); ++k) {
    std::vector<uint8_t> f(fx::eth_vlan_ipv4_ipip_tcp.begin(), fx::eth_vlan_ipv4_ipip_tcp.end());
    f[18 + 5] = static_cast<uint8_t>(k);       // outer IPv4 id (after Ethernet + 802.1Q)
    f[18 + 20 + 5] = static_cast<uint8_t>(k);  // inner IPv4 id
    const auto sport = static_cast<uint16_t>(1000 + k % flows);
    f[18 + 20 + 20] = static_cast<uint8_t>(sport >> 8);  // inner TCP source port
    f[18 + 20 + 21] = static_cast<uint8_t>(sport);
    frames.push_back(std::move(f));
  }
  const pk::Options opt;
  pk::Parsed parsed;
  pathtrace::wire::Encoder enc;
  pathtrace::wire::RecordStream stream(enc, 4096, 0);
  int64_t ts = 1'700'000'000'000'000'000;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& f = frames[i];
    if (++i == frames.size()) i = 0;
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

BENCHMARK(BM_CollectorPath)->Arg(1)->Arg(4096)->Arg(65536);
BENCHMARK(BM_EthIpv4Tcp);
BENCHMARK(BM_EthVlanIpipTcp);
BENCHMARK(BM_VxlanTcp);
BENCHMARK(BM_GeneveTcp);
BENCHMARK(BM_Ipv6ExtUdp);
BENCHMARK(BM_ChainHash);

BENCHMARK_MAIN();
