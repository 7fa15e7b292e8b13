#pragma once
// Offline ingest: capture files (one per point) → sightings → analysed Run.
//
//   point files ──(2 threads: mmap read, parse, digest, filter, intern chains)──▶ sightings
//        ──analyze()──▶ Run (report + traversals), which the caller stores and prints.

#include <string>
#include <vector>

#include "collector/packet/packet.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/analysis/model.hpp"

namespace pathtrace::cli {

struct IngestOptions {
  std::string filter;             // alias or pcap-filter expression; empty keeps everything
  packet::Options parse;
  AnalysisOptions analysis;
  unsigned threads = 2;           // files read in parallel
};

// Wall time of each ingest phase, for --verbose and the benchmark.
struct IngestTimings {
  double read_s = 0;     // read, parse, digest, filter, intern (all threads)
  double merge_s = 0;    // merge the threads' chains and sightings
  double analyze_s = 0;  // traversals, windows, verdicts
};

// Reads every point's file (points[i].source, in path order, ord set) and analyses them.
// Throws Error(kInput) "point C: FILE: …" for a missing, empty, truncated, non-pcap file or
// an unsupported link type; Error(kUsage) for a filter that does not compile.
Run ingest_files(std::vector<Point> points, const IngestOptions& opt,
                 IngestTimings* timings = nullptr);

}  // namespace pathtrace::cli
