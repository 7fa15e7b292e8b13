#pragma once
// Where points come from: `LABEL[:ROLE[:IFACE[@HOST]]]=FILE` arguments, an inventory file
// (TOML, docs/inventory.md), and the `--order`/`--points` selection that fixes path order.

#include <string>
#include <string_view>
#include <vector>

#include "correlator/analysis/model.hpp"

namespace pathtrace::cli {

// Parses one `LABEL[:ROLE[:IFACE[@HOST]]]=FILE` argument into a point whose source is FILE.
// Throws Error(kUsage) naming the argument when it has no '=', an empty label or file, or a
// label with characters other than letters, digits, '-', '_' and '.'.
Point parse_point_arg(std::string_view arg);

// Reads the points of an inventory, in file order (the path order). A point's `file` is
// resolved relative to the inventory's folder. Throws Error(kInput) when the file is missing
// or not TOML (with line and column), Error(kUsage) when a point lacks a label or has a key
// of the wrong type.
std::vector<Point> load_inventory(const std::string& path);

// Picks and orders points: "A..G" (the points from A to G in the given order, reversed when
// G comes before A), "B,C,E" (exactly those, in that order), or "" (all, as given).
// Throws Error(kUsage) naming an unknown label.
std::vector<Point> select_points(const std::vector<Point>& all, std::string_view order);

// Checks a path: at least one point, at most kMaxPoints, labels unique. Sets ord = index.
// Throws Error(kUsage) naming the duplicate label.
void finalize_path(std::vector<Point>& points);

}  // namespace pathtrace::cli
