// `pathtrace timeline`: options → evidence::print_timeline (correlator/evidence/timeline.hpp).

#include <iostream>

#include "collector/common/error.hpp"
#include "correlator/cli/commands.hpp"
#include "correlator/cli/options.hpp"
#include "correlator/evidence/timeline.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

const CommandSpec kTimelineSpec{
    "timeline",
    "the sightings of a run in time order: one packet, one flow, or the lost packets",
    "[--db FILE] [--run RUN] [--flow ID | --packet DIGEST | --lost] [--point LABEL] [--limit N] [--json]",
    "The sightings of a stored run in time order: point, host, interface, layer stack, wire "
    "length, and the delay since the previous point on the same host that saw the packet. Pick "
    "one packet (--packet, the digest the output shows), one flow (--flow, a top-level or inner "
    "flow id), or list the packets that vanished (--lost) with the last point that saw them. "
    "Reads the database without writing.",
    {{"db", 0, "FILE", "SQLite database", kDefaultDb},
     {"run", 0, "RUN", "run id or name (`runs --name`; default: the newest)", ""},
     {"flow", 0, "ID", "only this flow (ids: `pathtrace query 'SELECT id, label FROM flows'`)", ""},
     {"packet", 0, "DIGEST", "only this packet: its 16-hex-digit digest", ""},
     {"lost", 0, "", "the packets that entered the path and vanished, with the last point that saw them", ""},
     {"point", 0, "LABEL", "only sightings at this point (with --lost: last seen there)", ""},
     {"limit", 0, "N", "at most N rows, earliest first (0: all)", "100"},
     {"json", 0, "", "print a JSON object (run, title, total, shown, rows) instead of text", ""}},
    "pathtrace timeline --run 1 --lost\npathtrace timeline --run 1 --lost --point C\n"
    "pathtrace timeline --run 1 --flow 1 --limit 20\npathtrace timeline --run 1 --packet 8a3c0d9e1f2b4c5d\n"
    "pathtrace timeline --db lab.db --flow 3 --point B --limit 0 --json",
    "0 ok · 2 usage (unknown run, bad digest, unknown point or flow) · 4 database"};

int run_timeline(const Args& a, const std::string&) {
  if (!a.unmatched().empty())
    throw Error(ExitCode::kUsage, "unexpected argument '" + a.unmatched().front() + "' (see --help)");
  exclusive(a, {"flow", "packet", "lost"});
  evidence::TimelineQuery q;
  if (a.has("packet")) {
    q.packet = evidence::parse_digest(a.str("packet"));
    if (!q.packet)
      throw Error(ExitCode::kUsage, "--packet " + a.str("packet") + ": not a digest (16 hex digits, as timeline prints it)");
  }
  if (a.has("flow")) q.flow = uint32_t(a.uint("flow", 0, UINT32_MAX));
  q.lost = a.has("lost");
  q.point = a.str("point");
  q.limit = std::size_t(a.uint("limit", 0, UINT32_MAX));
  q.json = a.has("json");
  Store store(a.str("db"), Store::Mode::kReadOnly);
  q.run = run_arg(a, store);
  evidence::print_timeline(std::cout, store, q);
  return 0;
}

}  // namespace pathtrace::cli
