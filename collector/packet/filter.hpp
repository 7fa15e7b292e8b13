#pragma once
// Filter aliases: a name an operator types (`--filter ipip`) that becomes both a kernel BPF
// prefilter wide enough to catch VLAN-tagged and VXLAN-wrapped copies, and an exact
// predicate on the parsed layers (so every point keeps exactly the same packets).

#include <span>
#include <string>
#include <string_view>

#include "collector/packet/packet.hpp"

namespace pathtrace::packet {

struct Alias {
  std::string_view name;         // "ipip"
  std::string_view description;  // "IPv4-in-IPv4 (IP protocol 4) at any depth"
  std::string_view bpf;          // pcap-filter text for the kernel prefilter (Ethernet)
  // Exact test on a parsed packet (status kOk); false for anything else.
  bool (*match)(const Parsed&) noexcept;
  // The same prefilter without `vlan` terms, for link types where libpcap refuses `vlan`
  // (Linux cooked v1/v2, raw IP): `bpf` fails to compile there. Added after the first draft.
  std::string_view bpf_untagged;
};

// The prefilter text to compile for a capture of LINKTYPE_* `linktype`: `bpf` for Ethernet,
// `bpf_untagged` for everything else.
std::string_view bpf_for(const Alias& alias, uint32_t linktype) noexcept;

// The text to compile for a pcap-filter expression the user gave (not an alias) on a capture
// of LINKTYPE_* `linktype`. On Ethernet, `X` becomes `(X) or (vlan and ((X) or (vlan and
// (X))))`: the same frames untagged or behind one or two 802.1Q/802.1ad tags, as at a
// provider bridge or br-int (a filter blind to tags makes such a point look as if it lost
// everything). Left as it is when the expression names an encapsulation itself (`vlan`,
// `mpls`, `pppoes`, `geneve`, `vxlan`: each shifts the offsets after it, and the user chose
// where), when it is empty, and on other link types (libpcap refuses `vlan` there).
std::string bpf_for_text(std::string_view text, uint32_t linktype);

// All aliases, in the order `--help` lists them.
std::span<const Alias> aliases() noexcept;
// The alias called `text`, or nullptr when `text` is not an alias (then it is pcap-filter text).
const Alias* find_alias(std::string_view text) noexcept;

}  // namespace pathtrace::packet
