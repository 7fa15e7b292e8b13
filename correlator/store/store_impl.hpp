#pragma once
// Store's private half (inside the store only): the connection, the prepared statements of
// the statement table, and what this connection knows of the runs it stages. Its member
// functions live in store.cpp (open and migrate, save and finish a run, kept frames, the
// readers) and staging.cpp (a live run's batches as they arrive).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "correlator/store/sqlite.hpp"
#include "correlator/store/statements.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace {

struct Store::Impl {
  // What this connection knows of a run it is staging: the next chain index and batch.
  struct Live {
    uint32_t chains = 0;
    uint32_t next_batch = 0;
  };
  using Q = store_detail::Q;

  sql::Db db;
  std::unordered_map<int64_t, Live> live;
  std::array<std::optional<sql::Stmt>, std::size_t(Q::kCount)> stmts;

  Impl(const std::string& path, bool read_only) : db(path, read_only) {}

  // The prepared statement `q`, prepared on first use and then reused; reset, no bindings.
  sql::Stmt& stmt(Q q) {
    auto& s = stmts[std::size_t(q)];
    if (!s) s.emplace(db, store_detail::statement_sql(q));
    return s->reset();
  }

  // Sets the connection up (busy timeout; for writing: page and cache size, synchronous,
  // foreign keys) and applies the migrations this file lacks. Throws Error(kDatabase) as
  // Store().
  void configure_and_migrate();
  // WAL mode (and synchronous NORMAL) when SQLite can switch: for a live run, so that readers
  // read beside it.
  void use_wal();
  // Checkpoints and leaves WAL mode (synchronous FULL again) when this is the only connection:
  // when a live run's capture is over (its analysis, the bulk of its bytes, is then written
  // once instead of into the WAL and again at the checkpoint), and when the file closes.
  // Never throws: either mode is correct.
  void leave_wal() noexcept;
  // For the destructor: leave_wal().
  void close() noexcept;
  std::string fail_run(int64_t run, const std::string& reason) noexcept;
  int64_t find_run(const std::string& text);
  void name_run(int64_t run, const std::string& name);
  void delete_run(int64_t run);
  // Inserts the runs row (status capturing with this process as writer, or complete) and
  // the points; returns the id. In the caller's transaction.
  int64_t insert_run(const Report& r, bool capturing);
  // Updates the points' host, netns, iface, statistics and windows (matched by ord). In the
  // caller's transaction.
  void update_points(int64_t run_id, std::span<const Point> points);
  // Inserts flows, stacks, traversal blocks, results, hops, run.kept and run.neutron. In the
  // caller's transaction.
  void write_analysis(int64_t run_id, Run& run);
  // Inserts kept frames of a run with `n_points` points. In the caller's transaction.
  void insert_kept(int64_t run_id, const KeptFrames& kept, std::size_t n_points);
  void append_kept(int64_t run, const KeptFrames& kept);
  bool has_kept(int64_t run);
  // Calls f for every row of `q` (a kScanKept or kSelectKeptDigest query, bound).
  void read_kept(sql::Stmt& q, const KeptFrameFn& f);
  int64_t save(Run& run);
  int64_t begin_run(const Report& meta);
  void append(int64_t run, std::span<const Chain> chains, uint32_t first,
              std::span<const Sighting> batch);
  void finish_run(int64_t run, Run& analysed);
  bool load_staged(int64_t run, std::vector<Point>& points, std::vector<Chain>& chains,
                   std::vector<Sighting>& sightings);
  RunStatus status(int64_t run);
  // The stored status and writer of `run`; throws Error(kUsage) when there is no such run.
  std::pair<std::string, std::string> stored_status(int64_t run);
  // Throws Error(kDatabase) "database FILE: run N is not capturing" unless it is (stored:
  // a run whose writer died is still "capturing" in the file); Error(kUsage) for no run.
  void require_capturing(int64_t run);
  std::vector<FoundTraversal> find_packet(int64_t run, uint64_t digest);
  void scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                       const std::function<void(const FoundTraversal&)>& f);
  void scan_lost(int64_t run, const std::function<bool(const Traversal&)>& want,
                 const std::function<void(const FoundTraversal&)>& f);
  std::size_t traversal_count(int64_t run);
  std::map<uint32_t, std::string> stacks(int64_t run, std::span<const uint32_t> ids);
  std::vector<Point> load_points(int64_t run);
  Report load(int64_t id, const Store::LoadScope& scope);
  // The results of r.run_id as `scope` says (Store::LoadScope), counted by `totals` (the
  // run's results and delivered, schema 7) where it reads only some.
  void load_results(Report& r, const Store::LoadScope& scope, std::optional<std::pair<int64_t, int64_t>> totals);
  void load_flows(Report& r, std::span<const uint32_t> ids);
  // The run's full result rows (flow_results) with their hops, in rank order.
  std::vector<std::pair<uint32_t, FlowResult>> full_results(int64_t run);
  void scan_results(int64_t run, std::size_t n_points, const std::function<void(const FlowResult&)>& f);
  void scan_flows(int64_t run, const std::function<void(const Flow&)>& f);
  // Every flow of `run` in id order, in the caller's transaction (or none).
  void each_flow(int64_t run, const std::function<void(Flow&&)>& f);
  // The flow of the current row of a statement that selects id, parent, version, proto, src,
  // dst, sport, dport, label.
  static Flow read_flow(sql::Stmt& q);
  std::vector<RunSummary> runs();
};

}  // namespace pathtrace
