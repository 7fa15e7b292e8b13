#pragma once
// Where points come from: `LABEL[:ROLE[:IFACE[@HOST]]]=FILES` and `LABEL[:ROLE]=HOST:IFACE[@NETNS]`
// arguments, an inventory file (TOML, docs/inventory.md) with its points and `[hosts.NAME]`,
// and the `--order`/`--points` selection that fixes path order; and what the user states of
// points' capture windows and hosts' clocks (`--window`, `--clock`, the inventory's `start`,
// `stop` and `clock`), with the one parser of times. Only this library reads TOML.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::inventory {

// Parses one `LABEL[:ROLE[:IFACE[@HOST]]]=FILES` argument into a point reading FILES (see
// set_files: a comma-separated list unless the whole text names a file). Throws
// Error(kUsage) naming the argument when it has no '=', an empty label or file, or a label
// with characters other than letters, digits, '-', '_' and '.'; as set_files.
Point parse_point_arg(std::string_view arg);

// Sets a point's capture files from the names the user gave (`dir` for relative ones; ""
// for the working directory): a glob (`*`, `?`, `[`) is expanded (sorted), "-" is standard
// input, and a "#IFACE" suffix on any of them picks a pcapng interface (a name, or "#N" an
// index) for all of them. A name that exists as a file is taken as it is. p.source says them
// in one line. Throws Error(kInput) "point A: '/caps/A-*.pcap' matches no file", Error(kUsage)
// for an empty name or interface, or two different interfaces.
void set_files(Point& p, const std::vector<std::string>& names, const std::string& dir);

// Parses one live point `LABEL[:ROLE]=HOST:IFACE[@NETNS]` (run's --point, e.g.
// `X=local:veth0@lab`). Throws Error(kUsage) naming the argument when a part is missing.
Point parse_live_point(const std::string& arg);

// One point per interface of a multi-interface pcapng file (--split-interfaces FILE), in the
// file's order: `interfaces` are each interface's if_name and if_description. The label is the
// name's first word made a valid label ("eth0"; "C" of `pathtrace export`'s "C
// qbrbdd1f2c3-bd", whose role comes from its description "point C (qbr) …"), "if" + its index
// when the name gives none, with "-N" added to a label already taken; the point reads FILE's
// interface by index.
std::vector<Point> interface_points(const std::string& file,
                                    const std::vector<std::pair<std::string, std::string>>& interfaces);

// True when the point is captured on this host (host "local" or empty).
inline bool is_local(const Point& p) noexcept { return p.host.empty() || p.host == "local"; }

// Reads the points of an inventory, in file order (the path order). A point's `file` or
// `files` are resolved relative to the inventory's folder (set_files); its `start` and `stop`
// (parse_time, or TOML date-times, or numbers of seconds) become its stated capture window.
// Throws Error(kInput) when the file is missing or not TOML (with line and column),
// Error(kUsage) when a point lacks a label, has a key of the wrong type, a time that does not
// parse, only one of start and stop, or a stop not after its start.
std::vector<Point> load_inventory(const std::string& path);

// A time: RFC 3339 ("2026-12-04T20:47:27.25Z", "2026-12-04 21:47:27+01:00"; the offset is
// required) or seconds since 1970 ("1733344047.25"), as nanoseconds since 1970. nullopt for
// anything else, or a date that does not exist.
std::optional<int64_t> parse_time(std::string_view text);

// A time of a --window: absolute, or seconds after the run's first frame ("+S").
struct StatedTime {
  int64_t ns = 0;         // since 1970, or since the first frame when relative
  bool relative = false;
};
// `--window [POINT=]START..END`: when a point (all points: "") was capturing.
struct WindowArg {
  std::string text;   // as given, for messages
  std::string point;
  StatedTime start, end;
};
// Parses a --window value. Throws Error(kUsage) naming the argument: no "..", a time that is
// not RFC 3339, epoch seconds or +SECONDS, an end not after the start (both of one kind), or
// a bad label.
WindowArg parse_window_arg(const std::string& arg);
// Parses `HOST=±SECONDS` (--clock): the host and its clock's lead over true time, in ns.
// Throws Error(kUsage) naming the argument.
std::pair<std::string, int64_t> parse_clock_arg(const std::string& arg);

// How pathtrace reaches a host and runs things there (`[hosts.NAME]`, docs/inventory.md).
struct Host {
  enum class Mode { kAgent, kAgentless };
  std::string name;                  // "hv1": what points' `host` says
  std::string ssh;                   // ssh destination, "user@addr" or a ~/.ssh/config alias
  int port = 0;                      // 0: ssh's default (or ~/.ssh/config)
  std::string identity;              // -i FILE ("" = none)
  std::vector<std::string> options;  // each passed as -o OPTION
  std::string pathtrace = "pathtrace";  // remote binary (agent mode)
  bool sudo = false;                 // prefix remote commands with `sudo -n`
  Mode mode = Mode::kAgent;
  std::optional<int64_t> clock_ns;   // `clock`: seconds its clock runs ahead, as --clock
};

// Reads the `[hosts.NAME]` tables of an inventory (none: empty map). Throws Error(kInput)
// when the file is missing or not TOML, Error(kUsage) naming the host for a key of the wrong
// type, an unknown key, a port outside 1..65535, a mode other than agent/agentless or a clock
// that is not a number of seconds.
std::map<std::string, Host> load_hosts(const std::string& path);

// The host called `name`: its table, or defaults with `ssh = name` (so a ~/.ssh/config alias
// works without a table).
Host host_for(const std::map<std::string, Host>& hosts, const std::string& name);

// Picks and orders points: "A..G" (the points from A to G in the given order, reversed when
// G comes before A), "B,C,E" (exactly those, in that order), or "" (all, as given).
// Throws Error(kUsage) naming an unknown label.
std::vector<Point> select_points(const std::vector<Point>& all, std::string_view order);

// Checks a path: at least one point, at most kMaxPoints, labels unique, standard input read
// by one point at most. Sets ord = index. Throws Error(kUsage) naming the duplicate label or
// the points.
void finalize_path(std::vector<Point>& points);

}  // namespace pathtrace::inventory
