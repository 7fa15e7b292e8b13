#pragma once
// The report for people to pass around: one self-contained HTML file (inline CSS and SVG,
// no script, nothing fetched) with a drawing of the path — the points as boxes in travel
// order with their counts, the hop where the flow disappears in red with its loss — per-hop
// loss bars, per-point capture statistics, the flows table and the verdict.

#include <ostream>
#include <string>

#include "collector/common/output_file.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::report {

// Writes the HTML report of `report` to `out`. Never fails on odd data (missing points,
// empty runs): it draws what is there.
void write_html(std::ostream& out, const Report& report);

// Writes the HTML report to the file `path` as every output file is written
// (collector/common/output_file.hpp: 0600, whole or not at all, never through a link; a file
// already there is refused unless `existing` is kReplace). Throws Error(kUsage) naming the
// file when it exists (kRefuse) or cannot be created or written.
void write_html_file(const std::string& path, const Report& report, Existing existing);

}  // namespace pathtrace::report
