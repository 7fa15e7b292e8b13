#pragma once
// What the user states beyond the captures, put on the points before a run is judged: when
// points were capturing (`--window`, `--assume-capturing`; the inventory's `start`/`stop`
// are already on the points) and how far hosts' clocks are off (`--clock`, the inventory's
// `[hosts.NAME] clock`). The analysis honours them (Point::start_ns/end_ns/window_known,
// JudgeOptions::given_offsets); the report says each one.
//
//   inventory start/stop ─┐
//   pcapng statistics  ───┼─(a stated window wins over the file's; --window over the inventory)
//   --window ─────────────┤
//   --assume-capturing ───┘─▶ Point windows ──judge()──▶ verdicts without the "window" assumption

#include <map>
#include <string>
#include <vector>

#include "correlator/analysis/analysis.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::pipeline {

struct Stated {
  std::vector<inventory::WindowArg> windows;  // --window, in order
  bool assume = false;                        // --assume-capturing given
  std::vector<std::string> assume_points;     // its points ("": all)
  std::map<std::string, int64_t> clocks;      // host → how far its clock runs ahead (ns)
};

// Refuses (Error(kUsage)) a --window or --assume-capturing that names no point of `points`,
// naming the argument and the points there are.
void check_points(const Stated& st, const std::vector<Point>& points);

// Refuses (Error(kUsage)) a clock of `cli` (--clock) for a host no point is on, or when every
// point is on one host (nothing to correct), naming the argument.
void check_clocks(const std::map<std::string, int64_t>& cli, const std::vector<Point>& points);

// Puts the stated windows on `points` after their captures were read (first/last frames
// known): --window (all points first, then named ones; "+S" from the run's first frame),
// then --assume-capturing on the points it names that no window was stated for (the
// inventory's, --window): capturing over the span of every point's frames, widened by the
// guard and the transit time (and the spread of the --clock values) on each side. `stated`:
// per point, whether the inventory stated its window. Returns one line per statement for the
// report ("capture window of B: 2026-12-04T20:47:27.000Z to …Z, as stated (--window)").
std::vector<std::string> apply_windows(const Stated& st, std::vector<Point>& points, const std::vector<bool>& stated,
                                       const AnalysisOptions& ao);

}  // namespace pathtrace::pipeline
