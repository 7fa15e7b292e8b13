#pragma once
// `--filter` as a per-packet decision: an alias (exact predicate on the parsed layers, the
// same at every point whatever VLAN tags or tunnels surround the packet) or a plain
// pcap-filter expression evaluated on the raw frame with libpcap's BPF interpreter.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "collector/packet/filter.hpp"
#include "collector/packet/packet.hpp"

namespace pathtrace::capture {

class PacketFilter {
 public:
  // Empty text keeps everything. Throws Error(kUsage) when a pcap-filter expression does not
  // compile (compiled lazily per link type: the first frame of a new link type may throw).
  explicit PacketFilter(std::string text);
  ~PacketFilter();
  PacketFilter(PacketFilter&&) noexcept;
  PacketFilter& operator=(PacketFilter&&) noexcept;

  // Checks that the expression compiles for `linktype`; throws Error(kUsage) if not.
  void prepare(uint32_t linktype);
  // True when the packet is kept. `p` must be a successfully parsed packet.
  bool keep(const packet::Parsed& p, std::span<const uint8_t> frame, uint32_t wire_len,
            uint32_t linktype);

  const std::string& text() const noexcept { return text_; }
  const packet::Alias* alias() const noexcept { return alias_; }

 private:
  struct Bpf;
  std::string text_;
  const packet::Alias* alias_ = nullptr;
  std::unique_ptr<Bpf> bpf_;
};

}  // namespace pathtrace::capture
