#pragma once
// Where points come from: `LABEL[:ROLE[:IFACE[@HOST]]]=FILE` and `LABEL[:ROLE]=HOST:IFACE[@NETNS]`
// arguments, an inventory file (TOML, docs/inventory.md) with its points and `[hosts.NAME]`,
// and the `--order`/`--points` selection that fixes path order. Only this library reads TOML.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::inventory {

// Parses one `LABEL[:ROLE[:IFACE[@HOST]]]=FILE` argument into a point whose source is FILE.
// Throws Error(kUsage) naming the argument when it has no '=', an empty label or file, or a
// label with characters other than letters, digits, '-', '_' and '.'.
Point parse_point_arg(std::string_view arg);

// Parses one live point `LABEL[:ROLE]=HOST:IFACE[@NETNS]` (run's --point, e.g.
// `X=local:veth0@lab`). Throws Error(kUsage) naming the argument when a part is missing.
Point parse_live_point(const std::string& arg);

// True when the point is captured on this host (host "local" or empty).
inline bool is_local(const Point& p) noexcept { return p.host.empty() || p.host == "local"; }

// Reads the points of an inventory, in file order (the path order). A point's `file` is
// resolved relative to the inventory's folder. Throws Error(kInput) when the file is missing
// or not TOML (with line and column), Error(kUsage) when a point lacks a label or has a key
// of the wrong type.
std::vector<Point> load_inventory(const std::string& path);

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
};

// Reads the `[hosts.NAME]` tables of an inventory (none: empty map). Throws Error(kInput)
// when the file is missing or not TOML, Error(kUsage) naming the host for a key of the wrong
// type, an unknown key, a port outside 1..65535 or a mode other than agent/agentless.
std::map<std::string, Host> load_hosts(const std::string& path);

// The host called `name`: its table, or defaults with `ssh = name` (so a ~/.ssh/config alias
// works without a table).
Host host_for(const std::map<std::string, Host>& hosts, const std::string& name);

// Picks and orders points: "A..G" (the points from A to G in the given order, reversed when
// G comes before A), "B,C,E" (exactly those, in that order), or "" (all, as given).
// Throws Error(kUsage) naming an unknown label.
std::vector<Point> select_points(const std::vector<Point>& all, std::string_view order);

// Checks a path: at least one point, at most kMaxPoints, labels unique. Sets ord = index.
// Throws Error(kUsage) naming the duplicate label.
void finalize_path(std::vector<Point>& points);

}  // namespace pathtrace::inventory
