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

// This build's release ("pathtrace 0.2.0"); "" when built without a version. Agentless
// HELLOs name it.
std::string local_version();

// What `pathtrace --version` prints: the release, the wire version and the capabilities a
// collector of this build announces ("pathtrace 0.2.0 (wire 2; kept, digest2)").
std::string version_line();

// A remote agent's `pathtrace --version` line, read back. pathtrace 0.1.0 printed the release
// only: wire version 2, capabilities {kept} (docs/wire.md).
struct AgentVersion {
  std::string release;             // "pathtrace 0.2.0"
  uint32_t wire = 0;               // 0: not a pathtrace version line
  std::vector<std::string> caps;
};
AgentVersion parse_version_line(std::string_view line);

// Why an agent of version `v` cannot collect for this correlator, or "" when it can: another
// wire version, or digests computed another way (the run's points must all agree). Releases
// may differ.
std::string agent_incompatibility(const AgentVersion& v);

}  // namespace pathtrace::remote
