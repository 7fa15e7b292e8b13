// `pathtrace collect`: options → the collect agent (collector/agent/agent.hpp).

#include <unistd.h>

#include <iostream>

#include "collector/agent/agent.hpp"
#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"

namespace pathtrace::cli {

const CommandSpec kCollectSpec{
    "collect",
    "capture at one point and stream digests to a correlator (or stdout, for ssh)",
    "--iface IF (--to HOST:PORT | --stdout) [OPTIONS]",
    "Capture on one interface (entering a network namespace first if asked), digest every "
    "packet and stream compact records to a correlator over TCP (--to) or to standard output "
    "(--stdout, for `ssh HOST pathtrace collect … | pathtrace correlate --stdin`, and what "
    "`pathtrace run` starts at every point). Stops on Ctrl-C, SIGTERM, when standard input "
    "closes, on the correlator's STOP, or at --count/--duration; it drains its capture ring and "
    "says BYE first.",
    join({{"iface", 'i', "IF", "interface to capture on (required)", ""},
          {"netns", 0, "NAME", "network namespace to enter first (/var/run/netns/NAME)", ""},
          {"filter", 0, "EXPR", "alias (ipip, tcp, ...) or pcap-filter expression", ""},
          {"point", 0, "LABEL", "point label sent to the correlator", ""},
          {"run", 0, "NAME", "run id/name sent to the correlator", ""},
          {"snaplen", 0, "BYTES", "bytes captured per frame, 64-262144", "256"},
          {"keep-bytes", 0, "N", "send the first N bytes of every packet too, for `pathtrace export` (at most --snaplen)", "0"},
          {"buffer-mb", 0, "MIB", "kernel capture buffer, 1-2047 MiB", "32"},
          {"no-promisc", 0, "", "do not put the interface in promiscuous mode", ""},
          {"immediate", 0, "", "deliver every frame at once (more CPU, less latency)", ""},
          {"count", 0, "N", "stop after this many frames", ""},
          {"duration", 0, "SECONDS", "stop after this many seconds", ""},
          {"token-file", 0, "FILE", "file whose first line is the correlator's shared secret", ""},
          {"to", 0, "HOST:PORT", "correlator address", ""},
          {"stdout", 0, "", "write the stream to standard output (for ssh and `pathtrace run`)", ""},
          {"no-stdin-watch", 0, "", "keep running when standard input closes", ""},
          {"heartbeat", 0, "SECONDS", "stop when nothing arrives on standard input for this long (pathtrace run sends a byte every 2 s over ssh)", ""},
          {"quiet", 'q', "", "no closing summary on stderr (warnings and errors are still shown)", ""}},
         {digest_options()}),
    "pathtrace collect --iface eth1 --point G --to 198.18.0.9:7300 --token-file tok --filter ipip\n"
    "ssh hv1 pathtrace collect --iface eth1 --point G --stdout | pathtrace correlate --points G --stdin",
    "0 stopped cleanly · 2 usage · 5 capture could not start · 6 correlator unreachable or refused"};

int run_collect(const Args& a, const std::string&) {
  if (!a.has("iface")) throw Error(ExitCode::kUsage, "collect: --iface is required (see --help)");
  if (a.has("stdout") == a.has("to"))
    throw Error(ExitCode::kUsage, "collect: give exactly one of --to HOST:PORT and --stdout");
  agent::CollectOptions o;
  o.capture.iface = a.str("iface");
  o.capture.netns = a.str("netns");
  o.capture.point = a.str("point");
  o.capture.snaplen = int(a.uint("snaplen", 64, 262144));
  o.capture.buffer_bytes = int(a.uint("buffer-mb", 1, 2047)) << 20;
  o.capture.promiscuous = !a.has("no-promisc");
  o.capture.immediate = a.has("immediate");
  o.keep_bytes = uint32_t(a.uint("keep-bytes", 0, uint64_t(o.capture.snaplen)));
  o.filter = a.str("filter");
  o.run = a.str("run");
  if (a.has("token-file")) o.token = read_token_file(a.str("token-file"));
  if (a.has("stdout")) {
    if (::isatty(1)) throw Error(ExitCode::kUsage, "collect: --stdout writes binary frames; redirect it");
    o.out_fd = 1;
  } else {
    o.to = a.str("to");
  }
  o.watch_stdin = !a.has("no-stdin-watch");
  if (a.has("heartbeat")) {
    o.heartbeat_s = a.number("heartbeat");
    if (!(o.heartbeat_s > 0)) throw Error(ExitCode::kUsage, "--heartbeat must be more than 0 seconds");
  }
  if (a.has("count")) o.count = a.uint("count", 1, UINT64_MAX);
  if (a.has("duration")) {
    o.duration_s = a.number("duration");
    if (!(o.duration_s > 0)) throw Error(ExitCode::kUsage, "--duration must be more than 0 seconds");
  }
  o.quiet = a.has("quiet");
  o.parse.payload_bytes = uint8_t(a.uint("payload-bytes", 0, 32));
  o.parse.vxlan_port = uint16_t(a.uint("vxlan-port", 1, 65535));
  o.parse.geneve_port = uint16_t(a.uint("geneve-port", 1, 65535));
  return agent::run_collect(o);
}

}  // namespace pathtrace::cli
