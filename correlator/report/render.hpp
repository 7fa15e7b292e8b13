#pragma once
// How a Report reads: the per-point table and verdict for people (text), and a documented,
// versioned JSON structure for programs (docs/report-json.md).

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace::report {

constexpr int kReportJsonVersion = 1;

struct RenderOptions {
  bool all_flows = false;   // every flow gets its table, not only the ones that lost packets
  std::string db_path;      // where the run is stored, for the closing hint ("" = not stored)
};

// The text report: a table per interesting flow (points in travel order with counts and
// the hop that lost packets), one line for each of the first kListedFlows others (all with
// all_flows), capture problems, the verdict. A partial load (Report::omitted) prints the
// same as the whole report when it holds every lost or inconclusive result and the first
// kListedFlows + 1 others; all_flows needs the whole report.
inline constexpr std::size_t kListedFlows = 10;
// The HTML page's table of flows: every lost or inconclusive one and the first this many
// others (a busy run's million rows would make a page no browser opens); the same partial
// load serves it.
inline constexpr std::size_t kHtmlListedFlows = kListedResults;
void print_text(std::ostream& out, const Report& report, const RenderOptions& opt);

// The JSON report (format "pathtrace-report", version kReportJsonVersion).
// Written as it is made, one flow and one result at a time (a busy run has millions: the
// whole document in memory would be gigabytes), byte for byte what nlohmann's dump(2) of it
// prints, with a newline. A partial load (Report::omitted) needs the whole report.
void write_json(std::ostream& out, const Report& report);
// The same document from `report`'s run data (points, warnings, clocks, and enough results for
// the verdict: every lost or inconclusive one, and the counts of the others — a partial load)
// with every flow and every result from `flows` and `results`, in order: each calls its
// argument once per flow (result). So a stored run is written without holding it all.
using FlowVisit = std::function<void(const Flow&)>;
using ResultVisit = std::function<void(const FlowResult&)>;
using EachFlow = std::function<void(const FlowVisit&)>;
using EachResult = std::function<void(const ResultVisit&)>;
void write_json(std::ostream& out, const Report& report, const EachFlow& flows, const EachResult& results);

// The headline: the most interesting flow's verdict, or what was delivered/not judged.
std::string headline(const Report& report);

// An address of a flow key as text ("198.18.0.1", "2001:db8::1").
std::string address_text(const packet::FlowKey& key, const std::array<uint8_t, 16>& addr);

// The label of flow `id` ("IPIP 198.18.0.1 → 198.18.0.20"), or "flow N" for an unknown id.
std::string flow_label(const Report& r, uint32_t id);

// Where a point captured: "qvobdd1f2c3-bd@hv1" (no "@host" for local points), or the capture
// file's name when the point has no interface.
std::string point_where(const Point& p);

// True when some flow lost packets (disappears or partial loss).
bool has_loss(const Report& report);
// The ords of a result's points in its direction of travel.
std::vector<uint8_t> travel(const Report& r, Dir d);
// A verdict worth a block of its own: pathtrace::interesting (model.hpp).
using pathtrace::interesting;

}  // namespace pathtrace::report
