#pragma once
// Filter aliases: a name an operator types (`--filter ipip`) that becomes both a kernel BPF
// prefilter wide enough to catch VLAN-tagged and VXLAN-wrapped copies, and an exact
// predicate on the parsed layers (so every point keeps exactly the same packets).

#include <span>
#include <string_view>

#include "collector/packet/packet.hpp"

namespace pathtrace::packet {

struct Alias {
  std::string_view name;         // "ipip"
  std::string_view description;  // "IPv4-in-IPv4 (IP protocol 4) at any depth"
  std::string_view bpf;          // pcap-filter text for the kernel prefilter
  // Exact test on a parsed packet (status kOk); false for anything else.
  bool (*match)(const Parsed&) noexcept;
};

// All aliases, in the order `--help` lists them.
std::span<const Alias> aliases() noexcept;
// The alias called `text`, or nullptr when `text` is not an alias (then it is pcap-filter text).
const Alias* find_alias(std::string_view text) noexcept;

}  // namespace pathtrace::packet
