#pragma once
// The command lines of remote points: every word that reaches a remote shell is quoted here
// (shell_quote: nothing a user puts in an interface name, a namespace or a filter is ever
// run), the system `ssh` client's argv (so ~/.ssh/config, aliases and ProxyJump apply;
// BatchMode: never a password prompt), and the remote argv of an agent-mode point
// (`pathtrace collect … --stdout`) and of an agentless one (tcpdump under a watchdog that
// stops it when the ssh session's stdin closes). Pure: builds strings, runs nothing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::remote {

using inventory::Host;

// `text` as one POSIX shell word: single-quoted, each ' written as '\''. Never fails.
std::string shell_quote(std::string_view text);
// The words of `argv`, each quoted, joined by spaces: one command line for a remote shell.
std::string shell_join(const std::vector<std::string>& argv);

// The local argv running `remote_argv` on `host`: ssh -o BatchMode=yes -o ConnectTimeout=5
// -o ServerAliveInterval=2 -o ServerAliveCountMax=3 [-p] [-i] [-o OPTION]... -T -- DEST 'CMD'.
std::vector<std::string> ssh_argv(const Host& host, const std::vector<std::string>& remote_argv);

// What a live point captures with.
struct CaptureSpec {
  std::string filter;   // alias or pcap-filter text, as typed ("" = everything)
  int snaplen = 256;
  std::string run;      // run name for HELLO
  uint32_t keep_bytes = 0;  // --keep-bytes: first bytes of each packet, for export
};

// The remote argv of an agent-mode point: [sudo -n] PATHTRACE collect --iface IF [--netns NS]
// --point L --run R --snaplen N [--keep-bytes K] [--filter F] --stdout.
std::vector<std::string> agent_command(const Host& host, const Point& point, const CaptureSpec& spec);
// The remote argv of an agentless point: [sudo -n] sh -c WATCHDOG sh [ip netns exec NS]
// tcpdump -i IF -U --immediate-mode -s SNAP -w - [BPF]. An alias becomes its Ethernet
// prefilter (the exact predicate runs locally). WATCHDOG stops tcpdump (SIGTERM: it flushes
// and prints its counters) when stdin closes, so no tcpdump outlives its ssh session.
std::vector<std::string> agentless_command(const Host& host, const Point& point, const CaptureSpec& spec);

// This build as `pathtrace --version` prints it ("pathtrace 0.1.0"); "" when built without a
// version. Pre-flight compares an agent's with it; agentless HELLOs name it.
std::string local_version();

}  // namespace pathtrace::remote
