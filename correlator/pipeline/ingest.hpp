#pragma once
// Offline ingest: capture files (one or more per point) → sightings → the end every run shares.
//
//   point files ──(2 threads: read (pcapfile::Capture), parse, digest, filter, intern chains)──▶
//        Collected ──stated windows (stated.hpp)──judge() + store_run() (finish.hpp)──▶ Run, stored

#include <chrono>
#include <string>
#include <vector>

#include "collector/packet/packet.hpp"
#include "correlator/analysis/analysis.hpp"
#include "correlator/model/model.hpp"
#include "correlator/pipeline/finish.hpp"
#include "correlator/pipeline/stated.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::pipeline {

// Per-point progress on stderr while the files are read (correlator/pipeline/progress.hpp).
struct IngestProgress {
  bool enabled = false;      // false: nothing printed (--quiet)
  bool terminal = false;     // lines redrawn in place; else plain lines
  // Lines every period, the first after one period (so a fast ingest prints nothing); plain
  // lines also once more with the final counts when reading took at least one period.
  std::chrono::milliseconds period{500};
};

inline constexpr std::uintmax_t kNeverSplit = ~std::uintmax_t{0};

struct IngestOptions {
  std::string filter;             // alias or pcap-filter expression; empty keeps everything
  packet::Options parse;
  AnalysisOptions analysis;
  bool clocks = true;             // estimate hosts' clock offsets before judging (judge.hpp)
  unsigned threads = 2;           // files read in parallel
  // A big plain pcap file is read in chunks of about this many bytes on the threads at once
  // (0: a sixteenth of the run's bytes, at least 32 MiB; kNeverSplit: never).
  std::uintmax_t split_bytes = 0;
  uint16_t keep_bytes = 0;        // --keep-bytes: first bytes of each kept frame into Run::kept
  // --memory: the bytes the run's sightings may take in memory (with the sort's buffer); past
  // it they go to temporary files in spill_dir by digest range, and the analysis takes one
  // range at a time (correlator/spill). 0: no limit.
  std::size_t memory = std::size_t{512} << 20;
  std::string spill_dir = ".";
  IngestProgress progress;
  Stated stated;                  // --window, --assume-capturing, --clock (after reading)
};

// Wall time and CPU time (user + system, all threads: on a busy machine the figure to compare)
// of each ingest phase, for --verbose and the benchmark.
struct IngestTimings {
  struct Phase {
    double wall_s = 0;
    double cpu_s = 0;
  };
  Phase read;     // read, parse, digest, filter, intern (all threads)
  Phase merge;    // merge the threads' chains and sightings
  Phase analyze;  // traversals, windows, verdicts
  Phase store;    // the SQLite write
  // When the sightings outgrew IngestOptions::memory: the digest ranges they went to, on disk
  // in spill_dir (0: the run stayed in memory).
  unsigned spilled_ranges = 0;
  std::string spill_dir;
  // Big plain pcap files read in chunks on the threads at once, and their chunks in all.
  unsigned split_files = 0;
  unsigned chunks = 0;
  // Files read again whole, and why ("point A: FILE: read again whole (a chunk did not start
  // where the one before it ended)"): the run is right, it took longer.
  std::vector<std::string> reread;
};

// Reads every point's files (points[i].files and .pick, in path order, ord set) into
// sightings, on opt.threads threads. With keep_bytes N > 0, the result's kept holds the first
// N bytes of every frame that passed the filter (one per sighting). A file cut short is read
// up to the cut, and the result's warnings say so ("point C: FILE: cut short at byte N …").
// Throws Error(kInput) "point C: FILE: …" for a missing, empty, corrupt, non-pcap file or an
// unsupported link type; Error(kUsage) for a filter that does not compile, kept bytes beyond
// 4 GiB, or a multi-interface file without an interface picked.
Collected read_captures(std::vector<Point> points, const IngestOptions& opt,
                        IngestTimings* timings = nullptr);

// read_captures(), the stated windows (apply_windows) and clocks, then judge() and store_run()
// as a new run with `meta`'s started, command and filter. Nothing is stored when reading
// fails. Throws as read_captures and apply_windows, Error(kDatabase).
Run ingest(std::vector<Point> points, const IngestOptions& opt, Store& store, const Report& meta,
           IngestTimings* timings = nullptr);

}  // namespace pathtrace::pipeline
