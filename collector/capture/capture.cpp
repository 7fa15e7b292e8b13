#include "collector/capture/capture.hpp"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "collector/common/clock.hpp"
#include "collector/common/error.hpp"
#include "collector/packet/packet.hpp"

namespace pathtrace::capture {
namespace {

// Closes an fd on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Enters a network namespace for the lifetime of the object, then returns to the one the
// thread was in. setns() affects only the calling thread.
class NetnsGuard {
 public:
  NetnsGuard(const std::string& name, const std::string& who) {
    if (name.empty()) return;
    if (name.find('/') != std::string::npos || name == "." || name == "..")
      throw Error(ExitCode::kCapture, who + "bad network namespace name '" + name + "'");
    const std::string path = "/var/run/netns/" + name;
    target_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target_.fd < 0) {
      const int e = errno;
      if (e == ENOENT)
        throw Error(ExitCode::kCapture,
                    who + "network namespace " + name + " not found (no " + path + ")");
      throw Error(ExitCode::kCapture,
                  who + "cannot open network namespace " + path + ": " + std::strerror(e));
    }
    home_.fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_.fd < 0)
      throw Error(ExitCode::kCapture,
                  who + "cannot open /proc/thread-self/ns/net: " + std::strerror(errno));
    if (::setns(target_.fd, CLONE_NEWNET) != 0) {
      const int e = errno;
      if (e == EPERM)
        throw Error(ExitCode::kCapture, who + "no privilege to enter network namespace " + name +
                                            " (needs root or CAP_SYS_ADMIN)");
      throw Error(ExitCode::kCapture,
                  who + "cannot enter network namespace " + name + ": " + std::strerror(e));
    }
    entered_ = true;
  }
  ~NetnsGuard() {
    // Going home cannot fail for a thread that could leave (same privilege); if it did,
    // the thread would stay in the capture namespace: a broken invariant.
    if (entered_ && ::setns(home_.fd, CLONE_NEWNET) != 0) std::abort();
  }

 private:
  Fd target_, home_;
  bool entered_ = false;
};

struct Handle {
  pcap_t* p = nullptr;
  ~Handle() {
    if (p) pcap_close(p);
  }
};

}  // namespace

uint32_t linktype_of_dlt(int dlt) noexcept {
  switch (dlt) {
    case DLT_EN10MB: return 1;
    case 12:  // DLT_RAW on most systems
    case 14:  // DLT_RAW on BSD/OS
      return 101;
    case DLT_LINUX_SLL: return 113;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2: return 276;
#endif
    default: return static_cast<uint32_t>(dlt);
  }
}

LiveCapture::LiveCapture(const CaptureOptions& opt) {
  const std::string who = opt.point.empty() ? std::string() : "point " + opt.point + ": ";
  const std::string where =
      "interface " + opt.iface + (opt.netns.empty() ? std::string() : " in netns " + opt.netns);
  if (opt.iface.empty()) throw Error(ExitCode::kCapture, who + "no interface given");
  Handle h;
  {
    NetnsGuard ns(opt.netns, who);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    h.p = pcap_create(opt.iface.c_str(), errbuf);
    if (!h.p) throw Error(ExitCode::kCapture, who + where + ": " + errbuf);
    pcap_set_snaplen(h.p, opt.snaplen);
    pcap_set_promisc(h.p, opt.promiscuous ? 1 : 0);
    pcap_set_buffer_size(h.p, opt.buffer_bytes);
    if (opt.immediate) pcap_set_immediate_mode(h.p, 1);
    pcap_set_timeout(h.p, opt.timeout_ms);
    nano_ = pcap_set_tstamp_precision(h.p, PCAP_TSTAMP_PRECISION_NANO) == 0;
    const int rc = pcap_activate(h.p);
    if (rc < 0) {
      const std::string detail = pcap_geterr(h.p);
      switch (rc) {
        case PCAP_ERROR_NO_SUCH_DEVICE:
          throw Error(ExitCode::kCapture, who + where + " not found");
        case PCAP_ERROR_PERM_DENIED:
        case PCAP_ERROR_PROMISC_PERM_DENIED:
          throw Error(ExitCode::kCapture, who + "no privilege to capture on " + where +
                                              " (needs root or CAP_NET_RAW): " + detail);
        case PCAP_ERROR_IFACE_NOT_UP:
          throw Error(ExitCode::kCapture, who + where + " is down");
        default:
          throw Error(ExitCode::kCapture, who + "cannot capture on " + where + ": " + detail);
      }
    }
    if (rc > 0) warning_ = std::string(pcap_statustostr(rc)) + ": " + pcap_geterr(h.p);
    started_ns_ = realtime_ns();
  }  // back in the original namespace; the capture socket stays where it was made

  linktype_ = linktype_of_dlt(pcap_datalink(h.p));
  if (!packet::is_supported(linktype_))
    throw Error(ExitCode::kCapture, who + where + " has link type " + std::to_string(linktype_) +
                                        " (" + (pcap_datalink_val_to_name(pcap_datalink(h.p)) ?: "?") +
                                        "), which pathtrace cannot parse");
  snaplen_ = pcap_snapshot(h.p);
  // An alias's kernel text depends on the link type (libpcap refuses `vlan` on cooked and
  // raw captures): only now is it known.
  const std::string bpf =
      opt.alias ? std::string(packet::bpf_for(*opt.alias, linktype_)) : packet::bpf_for_text(opt.bpf, linktype_);
  if (!bpf.empty()) {
    bpf_program prog{};
    if (pcap_compile(h.p, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      throw Error(ExitCode::kUsage, who + "--filter '" + (opt.alias ? bpf : opt.bpf) +
                                        "' does not compile: " + pcap_geterr(h.p));
    const int rc = pcap_setfilter(h.p, &prog);
    pcap_freecode(&prog);
    if (rc != 0)
      throw Error(ExitCode::kCapture,
                  who + "cannot install filter on " + where + ": " + pcap_geterr(h.p));
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (pcap_setnonblock(h.p, 1, errbuf) != 0)
    throw Error(ExitCode::kCapture, who + "cannot make " + where + " non-blocking: " + errbuf);
  fd_ = pcap_get_selectable_fd(h.p);
  p_ = h.p;
  h.p = nullptr;
}

LiveCapture::~LiveCapture() {
  if (p_) pcap_close(p_);
}

PcapCounters LiveCapture::counters() {
  pcap_stat st{};
  if (pcap_stats(p_, &st) == 0) last_ = {st.ps_recv, st.ps_drop, st.ps_ifdrop};
  return last_;
}

std::string LiveCapture::error() const { return p_ ? pcap_geterr(p_) : std::string(); }

}  // namespace pathtrace::capture
