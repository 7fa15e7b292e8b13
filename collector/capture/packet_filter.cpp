#include "collector/capture/packet_filter.hpp"

#include <pcap/pcap.h>

#include <vector>

#include "collector/common/error.hpp"

namespace pathtrace::capture {

// One compiled program per link type seen (files of one ingest may differ).
struct PacketFilter::Bpf {
  struct Prog {
    uint32_t linktype;
    bpf_program prog;
  };
  std::vector<Prog> progs;
  ~Bpf() {
    for (auto& p : progs) pcap_freecode(&p.prog);
  }
  const bpf_program& get(const std::string& text, uint32_t linktype) {
    for (const auto& p : progs)
      if (p.linktype == linktype) return p.prog;
    // pcap_open_dead takes a DLT; for the link types we read, DLT == LINKTYPE except RAW.
    const int dlt = linktype == 101 ? DLT_RAW : static_cast<int>(linktype);
    pcap_t* dead = pcap_open_dead(dlt, 262144);
    if (!dead) throw Error(ExitCode::kInternal, "pcap_open_dead failed");
    bpf_program prog{};
    const std::string bpf = packet::bpf_for_text(text, linktype);  // tagged frames too
    if (pcap_compile(dead, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      const std::string why = pcap_geterr(dead);
      pcap_close(dead);
      throw Error(ExitCode::kUsage, "--filter '" + text + "': " + why);
    }
    pcap_close(dead);
    progs.push_back({linktype, prog});
    return progs.back().prog;
  }
};

PacketFilter::PacketFilter(std::string text) : text_(std::move(text)) {
  if (text_.empty()) return;
  alias_ = packet::find_alias(text_);
  if (!alias_) {
    bpf_ = std::make_unique<Bpf>();
    prepare(1);  // fail early on syntax errors, against Ethernet
  }
}

PacketFilter::~PacketFilter() = default;
PacketFilter::PacketFilter(PacketFilter&&) noexcept = default;
PacketFilter& PacketFilter::operator=(PacketFilter&&) noexcept = default;

void PacketFilter::prepare(uint32_t linktype) {
  if (bpf_) bpf_->get(text_, linktype);
}

bool PacketFilter::keep(const packet::Parsed& p, std::span<const uint8_t> frame,
                        uint32_t wire_len, uint32_t linktype) {
  if (alias_) return alias_->match(p);
  if (!bpf_) return true;
  pcap_pkthdr hdr{};
  hdr.caplen = static_cast<bpf_u_int32>(frame.size());
  hdr.len = wire_len;
  return pcap_offline_filter(&bpf_->get(text_, linktype), &hdr, frame.data()) != 0;
}

}  // namespace pathtrace::capture
