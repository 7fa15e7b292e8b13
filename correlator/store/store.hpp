#pragma once
// The SQLite store: one file holds many runs. Schema from schema/NNNN_*.sql (embedded at
// build time), applied by PRAGMA user_version; a database from a newer pathtrace is
// refused. Writers batch in one transaction; readers open read-only.
// See docs/schema.md for the tables and views a person can query.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "correlator/model/model.hpp"

namespace pathtrace {

// Where a run stands.
enum class RunStatus : uint8_t {
  kCapturing = 0,    // a live run whose writing process is still running
  kComplete = 1,     // analysed and stored
  kInterrupted = 2,  // a live run whose writer is gone: only its staged sightings are there
  kFailed = 3,       // a live run stopped because the database could not be written: its staged
                     // sightings are there, RunSummary::failure says why
};
// "capturing", "complete", "interrupted", "failed".
const char* name(RunStatus) noexcept;

// One sighting of a packet found by find_packet(), spelled out.
struct PacketSighting {
  uint8_t ord = 0;
  std::string point;     // the point's label
  int64_t ts_ns = 0;
  uint16_t wire_len = 0;
  uint32_t stack_id = 0; // Sighting::chain
  std::string stack;     // "eth/vlan/ipv4[ipip]/ipv4/tcp"
};

// One traversal of a packet found by find_packet(): `traversal.first` is 0 and
// `traversal.count` the number of `sightings`, in the order they were stored (time order).
struct FoundTraversal {
  uint32_t id = 0;  // index in the run (digest order)
  Traversal traversal;
  std::vector<PacketSighting> sightings;
};

// One line of `pathtrace runs`.
struct RunSummary {
  int64_t id = 0;
  std::string started;
  std::string command;
  std::string filter;
  int points = 0;
  uint64_t sightings = 0;
  std::string verdict;  // headline of the most interesting flow
  RunStatus status = RunStatus::kComplete;
  std::string name;     // "" when not named
  std::string writer;   // capturing or interrupted: "pid 1234 on hv1" (who writes/wrote it)
  std::string failure;  // failed: the database error that stopped it
};

class Store {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  // Opens (kReadWrite: creates and migrates) the database. Throws Error(kDatabase) naming
  // the file: cannot open/create, not a SQLite database, schema newer than this pathtrace,
  // read-only mode on a file that does not exist.
  Store(const std::string& path, Mode mode);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes a whole analysed run, with its Neutron evidence (run.neutron), in one transaction
  // (begin_run + finish_run without the staging) and returns its id (also stored in
  // run.report.run_id). Throws Error(kDatabase) on any write failure; nothing is left
  // half-written.
  int64_t save(Run& run);

  // ---- live runs: staged as they arrive, so that a killed writer leaves what it committed.
  // Inserts the run (status capturing, writer = this process) and its points, in one
  // transaction; returns its id. Only started, command, filter and points are used.
  int64_t begin_run(const Report& meta_with_points);
  // Stages one batch in one transaction: chains new_chains get indexes first_chain_index,
  // first_chain_index + 1, ... (they must follow the run's staged chains without a gap), and
  // the sightings (their chain must be a staged chain) are appended packed in a BLOB.
  // Throws Error(kInternal) on a gap or an unknown chain, Error(kDatabase) on a write failure
  // or a run that is not capturing.
  void append(int64_t run, std::span<const Chain> new_chains, uint32_t first_chain_index,
              std::span<const Sighting> batch);
  // Stores the latest host, netns, iface, capture statistics and windows of the run's points,
  // matched by ord (a live point's host, netns and iface are known only once its collector
  // says HELLO, after begin_run). Label, role and source stay as begin_run stored them; a
  // point whose ord the run does not have is ignored. Throws Error(kUsage) "FILE has no run
  // N", Error(kDatabase) on a write failure.
  void update_points(int64_t run, std::span<const Point> points);
  // Stores the analysed run in one transaction: points (as update_points), flows, stacks,
  // traversal blocks, results and hops, the Neutron evidence (analysed.neutron), and
  // analysed.kept (frames not already stored with append_kept: leave it empty when every
  // frame went through append_kept); moves the staged kept frames of points with a
  // clock_offset_ns onto the reference clock, as their sightings were; deletes the staged
  // rows (kept frames stay); status complete. Sets analysed.report.run_id. Throws
  // Error(kDatabase) on a write failure or a run that is not capturing: then nothing of it is
  // written (the run stays capturing, with its staged rows).
  void finish_run(int64_t run, Run& analysed);
  // Stores kept frames (--keep-bytes) of a capturing run in one transaction, like append: call
  // it as often as batches arrive. A frame is tied to its sighting by run, point, ts_ns and
  // digest, so each frame must carry exactly the values of a sighting the run stores (after
  // any clock correction), or export will not find it. Throws Error(kInternal) for a frame
  // whose bytes lie outside kept.data or whose point is not one of the run's, Error(kDatabase)
  // on a write failure or a run that is not capturing, Error(kUsage) "FILE has no run N".
  void append_kept(int64_t run, const KeptFrames& kept);
  // What a capturing, interrupted or failed run has committed: its points, staged chains and
  // sightings (in arrival order), read in one snapshot. False (outputs untouched) for a
  // complete run. Throws Error(kUsage) "FILE has no run N".
  bool load_staged(int64_t run, std::vector<Point>& points, std::vector<Chain>& chains,
                   std::vector<Sighting>& sightings);
  // capturing / complete / interrupted / failed. A run stays "capturing" in the file while its
  // writer lives; once that process (same boot, pid and start time) is gone it reads as
  // interrupted. Throws Error(kUsage) "FILE has no run N".
  RunStatus status(int64_t run);
  // Marks a capturing run failed because the database could not be written, with the reason
  // (the staged rows stay: `report` analyses them). Never throws: the database may still be
  // unwritable (locked, full); returns "" when marked, else why it could not be (the run then
  // reads as interrupted once this process is gone).
  std::string fail_run(int64_t run, const std::string& reason) noexcept;

  // ---- naming and deleting (`pathtrace runs --name`, `--delete`)
  // The id of the run `id_or_name` names: a number is an id, anything else a name. Throws
  // Error(kUsage) "FILE has no run N" / "FILE has no run named NAME".
  int64_t find_run(const std::string& id_or_name);
  // Names run `run` (replacing its name): letters, digits, '.', '_' and '-', starting with a
  // letter, at most 64 characters, not another run's name. Throws Error(kUsage) naming the
  // name for any other, "FILE has no run N".
  void name_run(int64_t run, const std::string& name);
  // Deletes run `run` and every row of it (points, flows, traversals, results, hops, staged
  // rows, kept frames, Neutron evidence) in one transaction. Refuses a run whose writer is
  // still capturing (Error(kUsage) naming its pid and host), unless this Store is that writer.
  // Throws Error(kUsage) "FILE has no run N", Error(kDatabase) on a write failure (then
  // nothing is deleted).
  void delete_run(int64_t run);
  // Rebuilds the file to give deleted runs' pages back to the file system (VACUUM: needs as
  // much free space as the file, and no other connection writing). Throws Error(kDatabase).
  void vacuum();

  // Every traversal of the packet with this digest in run `run`, by id, with its sightings:
  // reads only the blocks whose digest range holds it (docs/schema.md, "Finding one packet").
  std::vector<FoundTraversal> find_packet(int64_t run, uint64_t digest);

  // Every stored traversal of a complete run in id order, read in one snapshot: `want` sees
  // each traversal before its sightings are decoded; `f` gets those it accepts, with their
  // sightings (ord, ts_ns, wire_len, stack_id; point and stack names left empty: see
  // stacks(run, ids)). Throws Error(kDatabase) naming the run on a malformed block.
  void scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                       const std::function<void(const FoundTraversal&)>& f);
  // As scan_traversals, over the lost traversals only (fate kLost), read from their own rows
  // (lost_blocks: a few in a busy run; a run stored before schema 7 is scanned whole).
  void scan_lost(int64_t run, const std::function<bool(const Traversal&)>& want,
                 const std::function<void(const FoundTraversal&)>& f);
  // How many traversals run `run` stored (0 for no such run).
  std::size_t traversal_count(int64_t run);
  // The layer stacks of these chains of run `run` (one lookup each, for a few rows of a big
  // run), by stack id; an id the run does not have is left out.
  std::map<uint32_t, std::string> stacks(int64_t run, std::span<const uint32_t> ids);

  // ---- kept frames (--keep-bytes N): the first bytes of frames, for `pathtrace export`.
  // True when run `run` has at least one kept frame (false: captured without --keep-bytes,
  // or no such run).
  bool has_kept(int64_t run);
  // Gets one kept frame and its bytes (valid during the call); frame.offset is 0 and
  // frame.len the number of bytes.
  using KeptFrameFn = std::function<void(const KeptFrame& frame, std::span<const uint8_t> bytes)>;
  // Every kept frame of run `run` in time order (ts_ns, then point, then as stored), read in
  // one snapshot through the (run_id, ts_ns, point) index. Nothing for an unknown run.
  void scan_kept(int64_t run, const KeptFrameFn& f);
  // The kept frames of run `run` whose digest is in `digests`: one lookup in the
  // (run_id, digest) index per digest, digest by digest in the order given (a digest given
  // twice is read twice), read in one snapshot. For a few packets of a big run.
  void scan_kept_digests(int64_t run, std::span<const uint64_t> digests, const KeptFrameFn& f);

  // How much of a run load() reads. A busy run has millions of flows and results; a text
  // report or one packet's timeline needs a handful.
  struct LoadScope {
    // Results: none (Report::omitted says nothing of them), or every one that is lost or
    // inconclusive (they rank first) and of the others at most plain_results, the first by
    // rank; the rest are counted in Report::omitted.
    bool results = true;
    std::size_t plain_results = SIZE_MAX;
    // Flows: all of them, or only those the loaded results name (their own and the first of
    // their inner flows); load_flows() adds others.
    bool all_flows = true;
  };
  // The report of run `id`, or of the newest run when id == 0 (a capturing or interrupted
  // run: its metadata and points, no flows or results; see status()). Throws Error(kUsage)
  // "FILE has no run N" / "FILE has no runs yet".
  Report load(int64_t id = 0);
  Report load(int64_t id, const LoadScope& scope);
  // Every result of run `run` (with `n_points` points) in rank order, read in one snapshot one
  // block at a time (memory does not grow with the run). Throws Error(kDatabase) naming the run
  // on a malformed block or a rank out of order.
  void scan_results(int64_t run, std::size_t n_points, const std::function<void(const FlowResult&)>& f);
  // Every flow of run `run` in id order, read in one snapshot.
  void scan_flows(int64_t run, const std::function<void(const Flow&)>& f);
  // Adds the flows with these ids to a partial load `r` (Report::omitted.flows > 0), keeping
  // r.flows sorted by id; ids it holds already, and ids the run has not, are skipped.
  void load_flows(Report& r, std::span<const uint32_t> ids);

  // All runs, newest first.
  std::vector<RunSummary> runs();

  const std::string& path() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathtrace
