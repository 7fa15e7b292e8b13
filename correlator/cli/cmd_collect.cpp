// `pathtrace collect`: options → the collect agent (collector/agent/agent.hpp).

#include <unistd.h>

#include <cxxopts.hpp>
#include <iostream>

#include "collector/agent/agent.hpp"
#include "collector/common/error.hpp"
#include "collector/packet/filter.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"

namespace pathtrace::cli {

int cmd_collect(int argc, char** argv) {
  cxxopts::Options opts("pathtrace collect",
                        "Capture on one interface and stream packet records to a correlator.");
  std::string aliases;
  for (const auto& a : packet::aliases()) aliases += (aliases.empty() ? "" : ", ") + std::string(a.name);
  // clang-format off
  opts.add_options()
      ("i,iface", "interface to capture on", cxxopts::value<std::string>())
      ("netns", "network namespace to enter first (/var/run/netns/NAME)", cxxopts::value<std::string>()->default_value(""))
      ("filter", "alias (" + aliases + ") or pcap-filter expression", cxxopts::value<std::string>()->default_value(""))
      ("point", "point label sent to the correlator", cxxopts::value<std::string>()->default_value(""))
      ("run", "run id/name sent to the correlator", cxxopts::value<std::string>()->default_value(""))
      ("snaplen", "bytes captured per frame", cxxopts::value<int>()->default_value("256"))
      ("keep-bytes", "send the first N bytes of every packet too, for `pathtrace export` (0 = none; at most --snaplen)", cxxopts::value<uint32_t>()->default_value("0"))
      ("buffer-mb", "kernel capture buffer, MiB", cxxopts::value<int>()->default_value("32"))
      ("no-promisc", "do not put the interface in promiscuous mode")
      ("immediate", "deliver every frame at once (more CPU, less latency)")
      ("count", "stop after this many frames", cxxopts::value<uint64_t>()->default_value("0"))
      ("duration", "stop after this many seconds", cxxopts::value<double>()->default_value("0"))
      ("token-file", "file whose first line is the correlator's shared secret", cxxopts::value<std::string>())
      ("to", "correlator address HOST:PORT", cxxopts::value<std::string>())
      ("stdout", "write the frames to stdout (for ssh)")
      ("no-stdin-watch", "keep running when stdin closes")
      ("heartbeat", "stop when nothing arrives on stdin for this many seconds (0 = never; pathtrace run sends one every 2 s over ssh)", cxxopts::value<double>()->default_value("0"))
      ("payload-bytes", "L4 payload bytes hashed into the digest (0-32)", cxxopts::value<unsigned>()->default_value("8"))
      ("vxlan-port", "UDP port of VXLAN", cxxopts::value<uint16_t>()->default_value("4789"))
      ("geneve-port", "UDP port of Geneve", cxxopts::value<uint16_t>()->default_value("6081"))
      ("h,help", "show this help");
  // clang-format on
  const cxxopts::ParseResult res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help() << std::flush;
    return 0;
  }
  if (!res.count("iface")) throw Error(ExitCode::kUsage, "collect: --iface is required (see --help)");
  const bool to_stdout = res.count("stdout") > 0;
  if (to_stdout == (res.count("to") > 0))
    throw Error(ExitCode::kUsage, "collect: give exactly one of --to HOST:PORT and --stdout");

  agent::CollectOptions o;
  o.capture.iface = res["iface"].as<std::string>();
  o.capture.netns = res["netns"].as<std::string>();
  o.capture.point = res["point"].as<std::string>();
  o.capture.snaplen = res["snaplen"].as<int>();
  o.capture.buffer_bytes = res["buffer-mb"].as<int>() << 20;
  o.capture.promiscuous = !res.count("no-promisc");
  o.capture.immediate = res.count("immediate") > 0;
  if (o.capture.snaplen < 64 || o.capture.snaplen > 262144)
    throw Error(ExitCode::kUsage, "collect: --snaplen must be 64..262144");
  o.keep_bytes = res["keep-bytes"].as<uint32_t>();
  if (o.keep_bytes > uint32_t(o.capture.snaplen))
    throw Error(ExitCode::kUsage, "collect: --keep-bytes " + std::to_string(o.keep_bytes) +
                                      " exceeds --snaplen " + std::to_string(o.capture.snaplen) +
                                      " (raise --snaplen)");
  if (res["buffer-mb"].as<int>() < 1 || res["buffer-mb"].as<int>() > 2047)
    throw Error(ExitCode::kUsage, "collect: --buffer-mb must be 1..2047");
  o.filter = res["filter"].as<std::string>();
  o.run = res["run"].as<std::string>();
  if (res.count("token-file")) o.token = read_token_file(res["token-file"].as<std::string>());
  if (to_stdout) {
    if (::isatty(1)) throw Error(ExitCode::kUsage, "collect: --stdout writes binary frames; redirect it");
    o.out_fd = 1;
  } else {
    o.to = res["to"].as<std::string>();
  }
  o.watch_stdin = !res.count("no-stdin-watch");
  o.heartbeat_s = res["heartbeat"].as<double>();
  if (!(o.heartbeat_s >= 0)) throw Error(ExitCode::kUsage, "--heartbeat must be >= 0 seconds");
  o.count = res["count"].as<uint64_t>();
  o.duration_s = res["duration"].as<double>();
  const unsigned k = res["payload-bytes"].as<unsigned>();
  if (k > 32) throw Error(ExitCode::kUsage, "collect: --payload-bytes must be 0..32");
  o.parse.payload_bytes = static_cast<uint8_t>(k);
  o.parse.vxlan_port = res["vxlan-port"].as<uint16_t>();
  o.parse.geneve_port = res["geneve-port"].as<uint16_t>();
  return agent::run_collect(o);
}

}  // namespace pathtrace::cli
