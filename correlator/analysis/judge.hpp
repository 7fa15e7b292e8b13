#pragma once
// judge(): what every run does with what it collected, whatever collected it (`run`,
// `correlate`, `ingest`, or `report` of a run that never finished):
//
//   points + chains + sightings ──hosts' clocks (points on several hosts: clocks.hpp)──▶
//        one reference clock ──analyze()──▶ Run ──+ the collection's warnings, clock notes
//
// Pure: no I/O.

#include <map>
#include <string>
#include <vector>

#include "correlator/analysis/analysis.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace {

// Everything a run collected, ready to be judged.
struct Collected {
  std::vector<Point> points;        // path order, points[i].ord == i
  std::vector<Chain> chains;
  std::vector<Sighting> sightings;  // chain = index into chains, point = ord
  std::vector<Sighting> scratch;    // optional: a sort buffer whose pages are already touched
  KeptFrames kept;                  // --keep-bytes frames not already staged
  std::vector<std::string> warnings;  // the collection's own (sessions without BYE, ...)
  // Instead of `sightings`, for a run larger than the memory budget: the sightings by digest
  // range, in files (analysis.hpp, SightingParts).
  std::unique_ptr<SightingParts> parts;
};

struct JudgeOptions {
  AnalysisOptions analysis;
  // Estimate each host's clock offset from packets seen on two hosts and put every sighting on
  // the reference host's clock before judging (when the points are on more than one host).
  bool clocks = true;
  // Hosts whose clock the user gave (--clock HOST=±SECONDS): how far each runs ahead of true
  // time, in ns. A given host's offset is its value minus the reference host's (0 when the
  // reference's is not given), taken instead of an estimate.
  std::map<std::string, int64_t> given_offsets;
};

// Clocks, analysis and the run's warnings: the collection's first, then one line per host
// whose clock was compared. Deterministic.
Run judge(Collected in, const JudgeOptions& opt = {});

}  // namespace pathtrace
