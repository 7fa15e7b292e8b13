// libFuzzer entry for the packet parser: the same bytes through every link type and a few
// option sets, then everything a caller does with the result. Invariant violations trap.

#include <cstddef>
#include <cstdint>
#include <span>

#include "collector/packet/filter.hpp"
#include "collector/packet/packet.hpp"

namespace {

using pathtrace::packet::LinkType;

constexpr LinkType kLinks[] = {LinkType::kEthernet, LinkType::kRaw,  LinkType::kLinuxSll,
                               LinkType::kIpv4,     LinkType::kIpv6, LinkType::kLinuxSll2};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

// Parses `data` as every supported link type; never fails, traps on a broken invariant.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  namespace pk = pathtrace::packet;
  const std::span<const uint8_t> frame(data, size);
  pk::Options opts[3];
  opts[1].payload_bytes = 0;
  opts[2].payload_bytes = 32;
  opts[2].vxlan_port = 6081;  // both tunnels on one port: VXLAN wins, must not break
  for (LinkType link : kLinks) {
    for (const pk::Options& opt : opts) {
      pk::Parsed p;
      const pk::Status s = pk::parse(frame, static_cast<uint32_t>(size), link, opt, p);
      check(s == p.status);
      check(p.n_layers <= pk::kMaxLayers);
      check(p.n_ip <= pk::kMaxIpLayers);
      check(s == pk::Status::kOk || p.digest == 0);
      check(s != pk::Status::kOk || p.n_ip > 0);
      for (std::size_t i = 0; i < p.n_ip; ++i) check(p.ip_layer[i] < p.n_layers);
      (void)pk::chain_hash(p);
      if (s == pk::Status::kOk) {
        // digest = H ^ G, and G is what a correlator recomputes from the CHAIN frame's key,
        // which carries 4 address bytes for IPv4: the rest must be zero.
        const pk::FlowKey& inner = p.ip[p.n_ip - 1];
        check((pk::translation_key(p.digest, inner) ^ pk::address_hash(inner)) == p.digest);
        for (std::size_t i = 0; i < p.n_ip; ++i) {
          check(p.ip[i].version == 4 || p.ip[i].version == 6);
          if (p.ip[i].version == 4)
            for (std::size_t b = 4; b < 16; ++b) check(p.ip[i].src[b] == 0 && p.ip[i].dst[b] == 0);
        }
        check(!pk::stack_string(p).empty());
        for (std::size_t i = 0; i < p.n_ip; ++i) check(!pk::to_string(p.ip[i]).empty());
      }
      for (const pk::Alias& a : pk::aliases()) check(s == pk::Status::kOk || !a.match(p));
    }
  }
  return 0;
}
