// `pathtrace timeline`: options → evidence::print_timeline (correlator/evidence/timeline.hpp).

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/timeline.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

int cmd_timeline(int argc, char** argv) {
  cxxopts::Options opts(
      "pathtrace timeline",
      "The sightings of a stored run in time order: point, host, interface, layer stack, wire "
      "length, and the delay since the previous point on the same host that saw the packet.\n"
      "Pick one packet (--packet, the digest the output shows), one flow (--flow, a top-level "
      "or inner flow id), or list the packets that vanished (--lost) with the last point that "
      "saw them. Reads the database from a read-only connection.");
  opts.add_options()
      ("db", "SQLite database", cxxopts::value<std::string>()->default_value(kDefaultDb))
      ("run", "run id (default: the newest)", cxxopts::value<int64_t>()->default_value("0"))
      ("flow", "only this flow (id from `pathtrace query 'SELECT id, label FROM flows'`)", cxxopts::value<uint32_t>())
      ("packet", "only this packet: its 16-hex-digit digest", cxxopts::value<std::string>())
      ("lost", "the packets that entered the path and vanished, with the last point that saw them")
      ("point", "only sightings at this point label (with --lost: last seen there)", cxxopts::value<std::string>())
      ("limit", "at most N rows, earliest first (0: all)", cxxopts::value<std::size_t>()->default_value("100"))
      ("h,help", "show this help");
  const cxxopts::ParseResult res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help()
              << "\nexamples:\n"
                 "  pathtrace timeline --run 1 --lost\n"
                 "  pathtrace timeline --run 1 --lost --point C\n"
                 "  pathtrace timeline --run 1 --flow 1 --limit 20\n"
                 "  pathtrace timeline --run 1 --packet 8a3c0d9e1f2b4c5d\n"
                 "  pathtrace timeline --db lab.db --flow 3 --point B --limit 0\n"
                 "\nexit: 0 ok · 2 usage (unknown run, bad digest, unknown point or flow) · 4 database\n";
    return 0;
  }
  if (!res.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + res.unmatched().front() + "' (see --help)");
  const int modes = int(res.count("flow")) + int(res.count("packet")) + int(res.count("lost"));
  if (modes > 1) throw Error(ExitCode::kUsage, "--flow, --packet and --lost exclude each other");
  std::optional<uint64_t> digest;
  if (res.count("packet")) {
    digest = evidence::parse_digest(res["packet"].as<std::string>());
    if (!digest)
      throw Error(ExitCode::kUsage, "--packet " + res["packet"].as<std::string>() +
                                        ": not a digest (16 hex digits, as timeline prints it)");
  }
  evidence::TimelineQuery q;
  q.run = res["run"].as<int64_t>();
  q.packet = digest;
  if (res.count("flow")) q.flow = res["flow"].as<uint32_t>();
  q.lost = res.count("lost") > 0;
  if (res.count("point")) q.point = res["point"].as<std::string>();
  q.limit = res["limit"].as<std::size_t>();
  Store store(res["db"].as<std::string>(), Store::Mode::kReadOnly);
  evidence::print_timeline(std::cout, store, q);
  return 0;
}

}  // namespace pathtrace::cli
