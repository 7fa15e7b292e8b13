#pragma once
// One live libpcap handle on one interface, optionally inside a network namespace.
//
//   constructor: [setns(/var/run/netns/NAME)] → pcap_create → options → activate → BPF
//                → [setns back]   (the socket stays in the namespace it was made in)
//   dispatch():  TPACKET_V3 ring ──callback(ts_ns, bytes, wire_len)──▶ caller
//
// Start-up problems throw pathtrace::Error(ExitCode::kCapture, "point C: …"); runtime read
// errors are values (dispatch() < 0, error()).

#include <pcap/pcap.h>

#include <cstdint>
#include <span>
#include <string>

#include "collector/packet/filter.hpp"

namespace pathtrace::capture {

// How to open the handle. Defaults are the ones `pathtrace collect` uses.
struct CaptureOptions {
  std::string point;        // label used in error messages ("C"); may be empty
  std::string iface;        // required
  std::string netns;        // "" = the current namespace; else /var/run/netns/NAME
  std::string bpf;          // kernel filter text ("" = none); ignored when `alias` is set
  const packet::Alias* alias = nullptr;  // kernel filter = bpf_for(*alias, link type)
  bool promiscuous = true;  // a Linux bridge shows forwarded frames only in promiscuous mode
  bool immediate = false;   // deliver each packet at once instead of per ring block
  int timeout_ms = 250;     // ring block timeout when not immediate (tcpdump: 1000)
  int snaplen = 256;
  int buffer_bytes = 32 << 20;  // kernel ring size
};

// pcap_stats() counters (zero when unavailable).
struct PcapCounters {
  uint64_t recv = 0;
  uint64_t drop = 0;
  uint64_t ifdrop = 0;
};

// Maps a libpcap DLT_* to the LINKTYPE_* the packet parser and pcap files use
// (DLT_RAW → 101, DLT_LINUX_SLL → 113, DLT_LINUX_SLL2 → 276, Ethernet 1); other values
// pass through unchanged.
uint32_t linktype_of_dlt(int dlt) noexcept;

// A live, activated capture handle. Not copyable; one thread reads it at a time.
class LiveCapture {
 public:
  // Opens and activates the handle. Throws Error(kCapture) with the point, interface and
  // namespace named: namespace missing, interface missing, no privilege, interface down,
  // filter does not compile, link type the parser does not know.
  explicit LiveCapture(const CaptureOptions& opt);
  ~LiveCapture();
  LiveCapture(const LiveCapture&) = delete;
  LiveCapture& operator=(const LiveCapture&) = delete;

  // Reads what the ring holds now (non-blocking), at most `max` frames (-1 = all), calling
  // f(int64_t ts_ns, std::span<const uint8_t> frame, uint32_t wire_len) for each: capture
  // time (ns since the epoch), captured bytes, original length; f must not throw. A template
  // so that f inlines into libpcap's callback: one indirect call per packet, not two.
  // Returns frames read (0 = none ready), or -1 on a read error (see error()).
  template <typename F>
  int dispatch(F& f, int max = -1) {
    struct Ctx {
      F* f;
      bool nano;
    } ctx{&f, nano_};
    const int n = pcap_dispatch(
        p_, max,
        [](u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
          const auto* c = reinterpret_cast<const Ctx*>(user);
          const int64_t ts = int64_t(h->ts.tv_sec) * 1'000'000'000 +
                             int64_t(h->ts.tv_usec) * (c->nano ? 1 : 1000);
          (*c->f)(ts, std::span<const uint8_t>(bytes, h->caplen), h->len);
        },
        reinterpret_cast<u_char*>(&ctx));
    return n < 0 ? -1 : n;
  }

  // A descriptor that becomes readable when frames are ready (for poll()).
  int selectable_fd() const noexcept { return fd_; }
  // LINKTYPE_* of the handle.
  uint32_t linktype() const noexcept { return linktype_; }
  int snaplen() const noexcept { return snaplen_; }
  // CLOCK_REALTIME when the handle was activated.
  int64_t started_ns() const noexcept { return started_ns_; }
  // pcap_stats(); the previous values when the call fails.
  PcapCounters counters();
  // Last libpcap error text.
  std::string error() const;
  // Non-fatal notes from activation ("promiscuous mode not supported"), "" if none.
  const std::string& warning() const noexcept { return warning_; }

 private:
  pcap_t* p_ = nullptr;
  int fd_ = -1;
  uint32_t linktype_ = 0;
  int snaplen_ = 0;
  bool nano_ = false;
  int64_t started_ns_ = 0;
  PcapCounters last_{};
  std::string warning_;
};

}  // namespace pathtrace::capture
