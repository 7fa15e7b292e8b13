// The run store (store.hpp): opening and migrating the file, writing a whole analysed run in
// one transaction (save, finish_run: points, flows, stacks, traversal blocks, results, hops,
// kept frames and the Neutron evidence together), kept frames, and every reader (load, runs,
// find_packet, scan_traversals, stacks). The pieces it builds on have files of their own:
// sqlite.hpp (the SQLite layer), statements.cpp (the statement table), blocks.cpp (the
// traversal-block codec), staging.cpp (a live run's batches), writer.cpp (who writes a
// capturing run), neutron_tables.cpp (the Neutron evidence).

#include "correlator/store/store.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include <xxhash.h>

#include "collector/common/error.hpp"
#include "collector/common/id_table.hpp"
#include "correlator/store/blocks.hpp"
#include "correlator/store/result_blocks.hpp"
#include "correlator/store/row_text.hpp"
#include "correlator/store/neutron_tables.hpp"
#include "correlator/store/trust_json.hpp"
#include "correlator/store/store_impl.hpp"
#include "correlator/store/writer.hpp"
#include "schema/schema.hpp"

namespace pathtrace {
namespace {

using store_detail::Q;

static_assert(packet::kStatusCount == 6, "points has one discard column per packet::Status");

// ------------------------------------------------------------------ text encodings

const char* dir_text(Dir d) { return d == Dir::kReverse ? "reverse" : "forward"; }

// Lines joined with '\n'. A newline inside a line would split it on load: written as a space.
std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    for (char c : lines[i]) out += (c == '\n' ? ' ' : c);
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const auto nl = text.find('\n', start);
    out.emplace_back(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

// Appends the decimal form of v to out.
template <typename T>
void append_num(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

template <typename T>
std::string json_array(const std::vector<T>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_num(out, values[i]);
  }
  out += ']';
  return out;
}

// Parses a flat JSON array of non-negative integers as written by json_array().
template <typename T>
std::vector<T> parse_json_array(std::string_view text, const std::string& path) {
  std::vector<T> out;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    if (*p >= '0' && *p <= '9') {
      T v{};
      const auto r = std::from_chars(p, end, v);
      if (r.ec != std::errc()) {
        throw Error(ExitCode::kDatabase,
                    "database " + path + ": bad number list \"" + std::string(text) + "\"");
      }
      out.push_back(v);
      p = r.ptr;
    } else {
      ++p;  // '[', ',', ']', spaces
    }
  }
  return out;
}

std::array<uint8_t, 16> parse_address(std::string_view text, uint8_t version) {
  std::array<uint8_t, 16> a{};
  const std::string s(text);
  if (inet_pton(version == 4 ? AF_INET : AF_INET6, s.c_str(), a.data()) != 1) a.fill(0);
  return a;
}

// How long a write waits for another connection's lock before it fails (docs/schema.md).
constexpr int kBusyTimeoutMs = 10000;
// The page cache (KiB): 16 MiB (docs/schema.md, "Performance").
constexpr std::size_t kCacheKib = 16384;
// Page cache per kept frame inserted in bulk: its digest index entry (~20 bytes in pages about
// two thirds full) with room to spare.
constexpr std::size_t kKeptIndexBytes = 48;

// While one transaction writes a run's bulk, asks the kernel every 50 ms to start writing the
// file's dirty pages to disk (sync_file_range, SYNC_FILE_RANGE_WRITE: it starts writeback and
// waits for nothing), so that the commit's fsync finds most of them written instead of all
// hundreds of megabytes of them. Durability is unchanged: SQLite's own syncs still decide it.
// A file it cannot open (a read-only mount cannot be written anyway) is left alone.
//
//   this thread: inserts ──▶ page cache (dirty) ◀── the writeback thread: sync_file_range every 50 ms
class EarlyWriteback {
 public:
  explicit EarlyWriteback(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ >= 0) thread_ = std::thread([this] { loop(); });
  }
  ~EarlyWriteback() {
    if (thread_.joinable()) {
      {
        std::lock_guard lk(m_);
        stop_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
    if (fd_ >= 0) ::close(fd_);
  }
  EarlyWriteback(const EarlyWriteback&) = delete;
  EarlyWriteback& operator=(const EarlyWriteback&) = delete;

 private:
  void loop() {
    std::unique_lock lk(m_);
    while (!cv_.wait_for(lk, std::chrono::milliseconds(50), [this] { return stop_; }))
      (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  const int fd_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

void Store::Impl::configure_and_migrate() {
  const std::string& path = db.path();
  db.set_busy_timeout(kBusyTimeoutMs);
  // The first read: a file that is not SQLite fails here ("file is not a database").
  const int64_t version = db.query_int("PRAGMA user_version", "read schema version");
  const int latest = schema::latest_version();
  if (version > latest) {
    throw Error(ExitCode::kDatabase, "database " + path + " was written by a newer pathtrace (schema " +
                                         std::to_string(version) + ", this one knows " +
                                         std::to_string(latest) + ")");
  }
  if (db.read_only()) {
    db.exec("PRAGMA query_only = 1", "set query_only");
    if (version < latest) {
      throw Error(ExitCode::kDatabase,
                  "database " + path + " has schema " + std::to_string(version) +
                      ", this pathtrace needs " + std::to_string(latest) +
                      (version == 0 ? " (not a pathtrace database, or empty)"
                                    : " (open it for writing once to upgrade it)"));
    }
    return;
  }
  // Tuned for the bulk save of a run (docs/schema.md, "Performance"): 32 KiB pages cut the
  // B-tree and journal work per byte against 4-16 KiB (page_size only takes effect on a new
  // file, before the first table); a 16 MiB cache is as fast as a bigger one here.
  // The file rests in rollback-journal mode (docs/schema.md, "Journal mode"): a person without
  // write access can read it. A live run switches to WAL (begin_run) and the writer switches
  // back when it closes the file. FULL: a rollback journal is synced before the file changes.
  if (version == 0) db.exec("PRAGMA page_size = 32768", "set page_size");
  db.exec("PRAGMA synchronous = FULL", "set synchronous");
  db.exec("PRAGMA cache_size = -" + std::to_string(kCacheKib), "set cache_size");
  // Before foreign keys are on: a migration that rebuilds a table (0005) drops the old one,
  // which must not cascade.
  for (const auto& m : schema::migrations()) {
    if (m.version <= version) continue;
    sql::Txn txn(db);
    db.exec(m.sql, "apply migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")");
    db.exec("PRAGMA user_version = " + std::to_string(m.version), "set schema version");
    txn.commit();
  }
  db.exec("PRAGMA foreign_keys = ON", "set foreign_keys");
}

int64_t Store::Impl::insert_run(const Report& r, bool capturing) {
  const std::string warnings = join_lines(r.warnings);
  const std::string writer = capturing ? store_detail::this_writer() : std::string();
  auto& q = stmt(Q::kInsertRun)
                .bind_text(1, r.started)
                .bind_text(2, r.command)
                .bind_text(3, r.filter)
                .bind(4, int64_t(r.window_start_ns))
                .bind(5, int64_t(r.window_end_ns))
                .bind(6, int64_t(capturing ? 0 : r.sightings))
                .bind_text(7, warnings)
                .bind_text(8, capturing ? "capturing" : "complete");
  if (capturing) {
    q.bind_text(9, writer);
  } else {
    q.bind_null(9);
  }
  const std::string clocks = store_detail::clocks_json(r.clocks);
  q.bind_text(10, clocks);
  q.run();
  const int64_t run_id = db.last_insert_rowid();
  if (run_id > 0x7fffffff) {
    throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run_id) +
                                         " does not fit the block key");
  }
  auto& ins_point = stmt(Q::kInsertPoint);
  for (std::size_t i = 0; i < r.points.size(); ++i) {
    const Point& p = r.points[i];
    ins_point.bind(1, run_id).bind(2, int64_t(p.ord)).bind_text(3, p.label).bind_text(4, p.role)
        .bind_text(5, p.host).bind_text(6, p.netns).bind_text(7, p.iface).bind_text(8, p.source)
        .bind(9, int64_t(p.packets)).bind(10, int64_t(p.bytes)).bind(11, int64_t(p.digested))
        .bind(12, int64_t(p.filtered));
    for (int k = 1; k <= 5; ++k) ins_point.bind(12 + k, int64_t(p.discarded[std::size_t(k)]));
    ins_point.bind(18, int64_t(p.pcap_drop)).bind(19, int64_t(p.if_drop))
        .bind(20, int64_t(p.records_lost)).bind(21, int64_t(p.over_mtu))
        .bind(22, int64_t(p.start_ns)).bind(23, int64_t(p.end_ns))
        .bind(24, int64_t(p.window_known ? 1 : 0)).bind(25, p.first_frame_ns).bind(26, p.last_frame_ns)
        .bind(27, int64_t(p.snaplen)).bind(28, p.clock_offset_ns).bind(29, int64_t(p.clock_unknown ? 1 : 0))
        .bind(30, int64_t(p.health.usable ? 1 : 0)).bind_text(31, name(p.health.problem))
        .bind_text(32, p.health.detail);
    ins_point.run();
  }

  return run_id;
}

void Store::Impl::update_points(int64_t run_id, std::span<const Point> points) {
  auto& q = stmt(Q::kUpdatePoint);
  for (const Point& p : points) {
    q.bind(1, run_id).bind(2, int64_t(p.ord)).bind(3, int64_t(p.packets))
        .bind(4, int64_t(p.bytes)).bind(5, int64_t(p.digested)).bind(6, int64_t(p.filtered));
    for (int k = 1; k <= 5; ++k) q.bind(6 + k, int64_t(p.discarded[std::size_t(k)]));
    q.bind(12, int64_t(p.pcap_drop)).bind(13, int64_t(p.if_drop))
        .bind(14, int64_t(p.records_lost)).bind(15, int64_t(p.over_mtu))
        .bind(16, int64_t(p.start_ns)).bind(17, int64_t(p.end_ns))
        .bind(18, int64_t(p.window_known ? 1 : 0)).bind_text(19, p.host).bind_text(20, p.netns)
        .bind_text(21, p.iface).bind(22, p.first_frame_ns).bind(23, p.last_frame_ns)
        .bind(24, int64_t(p.snaplen)).bind(25, p.clock_offset_ns).bind(26, int64_t(p.clock_unknown ? 1 : 0))
        .bind(27, int64_t(p.health.usable ? 1 : 0)).bind_text(28, name(p.health.problem))
        .bind_text(29, p.health.detail);
    q.run();
  }
}

void Store::Impl::write_analysis(int64_t run_id, Run& run) {
  const Report& r = run.report;
  // Flows and stacks: their text is made on a second thread while this one inserts, a batch
  // at a time; so are the traversal blocks' and the packed results' blocks, a few ahead of
  // their inserts. kRowsPerInsert rows per statement run, the batch's last few one by one.
  auto bind_flow = [&](sql::Stmt& q, int at, std::size_t i, std::string_view src, std::string_view dst,
                       std::string_view label) {
    const Flow& f = r.flows[i];
    q.bind(at + 1, run_id).bind(at + 2, int64_t(f.id)).bind(at + 3, int64_t(f.parent))
        .bind(at + 4, int64_t(f.key.version)).bind(at + 5, int64_t(f.key.proto)).bind_text(at + 6, src)
        .bind_text(at + 7, dst).bind(at + 8, int64_t(f.key.sport)).bind(at + 9, int64_t(f.key.dport))
        .bind_text(at + 10, label);
  };
  auto bind_stack = [&](sql::Stmt& q, int at, std::size_t c, std::string_view flow_ids) {
    q.bind(at + 1, run_id).bind(at + 2, int64_t(c)).bind_text(at + 3, run.chains[c].stack.str())
        .bind_text(at + 4, flow_ids);
  };
  // Inserts rows [0, b.count) of a batch with bind_row(statement, first parameter - 1, k).
  auto insert_rows = [&](const store_detail::TextRows& b, Q many, Q one, int columns, const auto& bind_row) {
    std::size_t k = 0;
    if (b.count >= std::size_t(store_detail::kRowsPerInsert)) {
      sql::Stmt& q = stmt(many);
      for (; k + store_detail::kRowsPerInsert <= b.count; k += store_detail::kRowsPerInsert) {
        for (int j = 0; j < store_detail::kRowsPerInsert; ++j) bind_row(q, j * columns, k + std::size_t(j));
        q.run_keep_bindings();  // every parameter is bound again before the next run
      }
    }
    for (; k < b.count; ++k) {
      sql::Stmt& q = stmt(one);
      bind_row(q, 0, k);
      q.run();
    }
  };
  store_detail::write_rows(
      r.flows, run.chains,
      [&](const store_detail::TextRows& b) {
        insert_rows(b, Q::kInsertFlows, Q::kInsertFlow, 10, [&](sql::Stmt& q, int at, std::size_t k) {
          bind_flow(q, at, b.begin + k, b.at(3 * k), b.at(3 * k + 1), b.at(3 * k + 2));
        });
      },
      [&](const store_detail::TextRows& b) {
        insert_rows(b, Q::kInsertStacks, Q::kInsertStack, 4, [&](sql::Stmt& q, int at, std::size_t k) {
          bind_stack(q, at, b.begin + k, b.at(k));
        });
      });

  // The bulk: one row per block of traversals (see schema/0001_initial.sql). Traversal ids
  // are 32-bit, block keys run_id << 32 | block.
  if (run.all_traversals().size() > 0xffffffffu || run_id > 0x7fffffff) {
    throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run_id) +
                                         " with " + std::to_string(run.all_traversals().size()) +
                                         " traversals does not fit the traversal key");
  }
  store_detail::write_blocks(stmt(Q::kInsertBlock), run_id, run, store_detail::cut_blocks(run));
  store_detail::write_lost_blocks(stmt(Q::kInsertLostBlock), run_id, run);
  stmt(Q::kUpdateRunTotals).bind(1, run_id).bind(2, int64_t(run.results.size()))
      .bind(3, int64_t(run.results.delivered())).run();

  auto& ins_result = stmt(Q::kInsertResult);
  auto& ins_hop = stmt(Q::kInsertHop);
  auto label_of = [&](uint8_t ord) -> std::string_view {
    return ord < r.points.size() ? std::string_view(r.points[ord].label) : std::string_view();
  };
  // Every result in rank order: plain ones packed into result_blocks (below), the others in full rows.
  FlowResult scratch;
  for (std::size_t k = 0; k < run.results.size(); ++k) {
    const FlowResult& fr = run.results.at(k, scratch);
    if (store_detail::packed(fr, k, r.points.size())) continue;
    const std::string seen_at = json_array(fr.seen_at);
    const std::string holes_at = json_array(fr.holes_at);
    const std::string findings = join_lines(fr.findings);
    const std::string inner = json_array(fr.inner_flows);
    const std::string seen_any = json_array(fr.seen_any);
    const std::string assumptions = store_detail::assumptions_json(fr.assumptions);
    const std::string translations = store_detail::translations_json(fr.translations, r.points);
    ins_result.bind(1, run_id).bind(2, int64_t(k)).bind(3, int64_t(fr.flow))
        .bind_text(4, dir_text(fr.dir)).bind(5, int64_t(fr.traversals))
        .bind(6, int64_t(fr.judged)).bind(7, int64_t(fr.delivered)).bind(8, int64_t(fr.lost))
        .bind(9, int64_t(fr.out_of_window)).bind(10, int64_t(fr.no_entry))
        .bind(11, int64_t(fr.duplicates)).bind_text(12, seen_at).bind_text(13, holes_at)
        .bind_text(14, name(fr.verdict)).bind(15, int64_t(fr.hop))
        .bind_text(16, fr.summary).bind_text(17, findings).bind_text(18, inner)
        .bind_text(19, seen_any).bind(20, int64_t(fr.assumed)).bind_text(21, assumptions)
        .bind_text(22, translations).bind(23, int64_t(fr.aggregated));
    ins_result.run();
    for (std::size_t h = 0; h < fr.hops.size(); ++h) {
      const HopStat& hs = fr.hops[h];
      ins_hop.bind(1, run_id).bind(2, int64_t(k)).bind(3, int64_t(fr.flow))
          .bind_text(4, dir_text(fr.dir)).bind(5, int64_t(h)).bind(6, int64_t(hs.from))
          .bind(7, int64_t(hs.to)).bind_text(8, label_of(hs.from)).bind_text(9, label_of(hs.to))
          .bind(10, int64_t(hs.in)).bind(11, int64_t(hs.out)).bind(12, int64_t(hs.lost))
          .bind(13, hs.loss_pct()).bind(14, int64_t(hs.inconclusive ? 1 : 0))
          .bind_text(15, hs.why).bind(16, int64_t(hs.assumed)).bind(17, int64_t(hs.delay_samples))
          .bind(18, hs.delay_min_ns).bind(19, hs.delay_mean_ns);
      ins_hop.run();
    }
  }
  store_detail::write_result_blocks(stmt(Q::kInsertResultBlock), run_id, run.results, r.points.size());
  insert_kept(run_id, run.kept, r.points.size());
  if (run.neutron) store_detail::write_neutron(db, run_id, *run.neutron);
}

void Store::Impl::insert_kept(int64_t run_id, const KeptFrames& kept, std::size_t n_points) {
  if (kept.frames.empty()) return;
  // In time order, the rows and the time index grow at their end; the digest index takes
  // digests in random order, so a bulk insert gets a page cache that holds all of it (else
  // every insert evicts a dirty 32 KiB page: 50 s instead of a few for 7 M frames), and the
  // usual cache back afterwards (docs/schema.md, "Kept frames").
  std::vector<uint32_t> order(kept.frames.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const KeptFrame& x = kept.frames[a];
    const KeptFrame& y = kept.frames[b];
    return x.ts_ns != y.ts_ns ? x.ts_ns < y.ts_ns : x.point < y.point;
  });
  const std::size_t cache_kib = kept.frames.size() * kKeptIndexBytes / 1024;
  const bool big = cache_kib > kCacheKib;
  if (big) db.exec("PRAGMA cache_size = -" + std::to_string(cache_kib), "set cache_size");
  struct CacheBack {
    sql::Db& db;
    bool big;
    ~CacheBack() {
      if (!big) return;
      try {
        db.exec("PRAGMA cache_size = -" + std::to_string(kCacheKib), "set cache_size");
      } catch (...) {  // a bigger cache than usual is not an error
      }
    }
  } back{db, big};
  auto& ins = stmt(Q::kInsertKept);
  for (const uint32_t i : order) {
    const KeptFrame& f = kept.frames[i];
    if (std::size_t(f.offset) + f.len > kept.data.size() || f.point >= n_points) {
      throw Error(ExitCode::kInternal,
                  "store: run " + std::to_string(run_id) + ": kept frame at point " +
                      std::to_string(f.point) + " (of " + std::to_string(n_points) +
                      "), bytes " + std::to_string(f.offset) + "+" + std::to_string(f.len) +
                      " of " + std::to_string(kept.data.size()));
    }
    ins.bind(1, run_id).bind(2, int64_t(f.point)).bind(3, f.ts_ns).bind(4, int64_t(f.digest))
        .bind(5, int64_t(f.wire_len)).bind(6, int64_t(f.linktype))
        .bind_blob(7, kept.data.data() + f.offset, f.len);
    ins.run_keep_bindings();
  }
}

namespace {

// Sets the journal mode and returns the one in force, "" when SQLite refused (it keeps the
// old mode when it cannot switch: another connection has the file open, a statement is
// active, a read-only file). Never throws: either mode is correct, the switch is for speed
// (WAL: readers beside a live writer) or for readers (rollback: no -wal and -shm needed).
std::string set_journal_mode(sql::Db& db, const char* mode) {
  if (db.read_only()) return {};
  return db.try_query_text(std::string("PRAGMA journal_mode = ") + mode);
}

}  // namespace

void Store::Impl::use_wal() {
  // In WAL mode NORMAL cannot corrupt the file; it only may lose the last commits on power loss.
  if (set_journal_mode(db, "WAL") == "wal") db.exec("PRAGMA synchronous = NORMAL", "set synchronous");
}

void Store::Impl::leave_wal() noexcept {
  if (db.read_only()) return;
  try {
    // Everything in the WAL into the file, then rollback mode: the file alone is the database
    // again, and `report`/`query` read it without write access. Only when no other connection
    // has the file open (SQLite refuses the switch otherwise: that writer switches later).
    db.try_query_text("PRAGMA wal_checkpoint(TRUNCATE)");
    if (set_journal_mode(db, "DELETE") == "delete") db.exec("PRAGMA synchronous = FULL", "set synchronous");
  } catch (...) {  // the file is consistent in either mode
  }
}

void Store::Impl::close() noexcept { leave_wal(); }

namespace {

// While one transaction writes a run's rows, foreign keys are not checked: every row names
// the run that transaction made, or found capturing (a check per row was about a sixth of
// the flows' and stacks' inserts on a busy port). PRAGMA foreign_keys is a no-op inside a
// transaction: this goes around one, and puts the checks back when it ends either way.
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(sql::Db& db) : db_(db) { db_.exec("PRAGMA foreign_keys = OFF", "set foreign_keys"); }
  ~ForeignKeysOff() {
    try {
      db_.exec("PRAGMA foreign_keys = ON", "set foreign_keys");
    } catch (...) {  // a connection flag: it does not touch the file
    }
  }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  sql::Db& db_;
};

}  // namespace

int64_t Store::Impl::save(Run& run) {
  // A whole run written at once, in the rollback-journal mode the file rests in: every new
  // page is written once (pages beyond the old end of file need no journal); in WAL mode it
  // would be written twice, into the WAL and again by the checkpoint, each with its fsync.
  const ForeignKeysOff unchecked(db);
  const EarlyWriteback early(db.path());
  sql::Txn txn(db);
  const int64_t run_id = insert_run(run.report, false);
  write_analysis(run_id, run);
  txn.commit();
  run.report.run_id = run_id;
  return run_id;
}

std::pair<std::string, std::string> Store::Impl::stored_status(int64_t run) {
  auto& q = stmt(Q::kSelectRunStatus).bind(1, run);
  const sql::ResetOnExit done(q);
  if (!q.step()) throw Error(ExitCode::kUsage, db.path() + " has no run " + std::to_string(run));
  return {std::string(q.text_at(0)), std::string(q.text_at(1))};
}

std::string Store::Impl::fail_run(int64_t run, const std::string& reason) noexcept {
  auto mark = [&]() -> std::string {
    try {
      sql::Txn txn(db);
      stmt(Q::kUpdateRunFailed).bind(1, run).bind_text(2, reason).run();
      txn.commit();
      live.erase(run);
      return {};
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  std::string why = mark();
  // A full disk: the WAL's frames into the file (pages it has already) and the WAL truncated
  // free what the one-row update needs.
  if (why.find("database or disk is full") != std::string::npos) {
    db.try_query_text("PRAGMA wal_checkpoint(TRUNCATE)");
    why = mark();
  }
  return why;
}

int64_t Store::Impl::find_run(const std::string& text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) {
    stored_status(id);  // "FILE has no run N"
    return id;
  }
  auto& q = stmt(Q::kSelectRunByName).bind_text(1, text);
  const sql::ResetOnExit done(q);
  if (!q.step()) throw Error(ExitCode::kUsage, db.path() + " has no run named '" + text + "'");
  return q.int_at(0);
}

void Store::Impl::name_run(int64_t run, const std::string& name) {
  const bool shape = !name.empty() && name.size() <= 64 &&
                     std::isalpha(static_cast<unsigned char>(name.front())) &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                     });
  if (!shape)
    throw Error(ExitCode::kUsage, "run name '" + name + "': letters, digits, '.', '_' and '-', starting with a "
                                                        "letter, at most 64 characters");
  sql::Txn txn(db);
  stored_status(run);
  {
    auto& q = stmt(Q::kSelectRunByName).bind_text(1, name);
    const sql::ResetOnExit done(q);
    if (q.step() && q.int_at(0) != run)
      throw Error(ExitCode::kUsage, "run name '" + name + "' is taken by run " + std::to_string(q.int_at(0)) +
                                        " in " + db.path());
  }
  stmt(Q::kUpdateRunName).bind(1, run).bind_text(2, name).run();
  txn.commit();
}

void Store::Impl::delete_run(int64_t run) {
  sql::Txn txn(db);
  const auto [status, writer] = stored_status(run);
  if (store_detail::run_status(status, writer) == RunStatus::kCapturing && !live.count(run))
    throw Error(ExitCode::kUsage, "run " + std::to_string(run) + " is still capturing (" +
                                      store_detail::writer_text(writer) + "): stop it before deleting it");
  stmt(Q::kDeleteRun).bind(1, run).run();  // every other table: ON DELETE CASCADE
  txn.commit();
  live.erase(run);
}

void Store::Impl::require_capturing(int64_t run) {
  if (stored_status(run).first != "capturing") {
    throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                         " is not capturing");
  }
}

void Store::Impl::finish_run(int64_t run, Run& analysed) {
  Report& r = analysed.report;
  // The capture is over: nobody needs to read beside this writer any more, and the analysis
  // (most of the run's bytes) written in rollback mode is written once, not twice.
  leave_wal();
  const ForeignKeysOff unchecked(db);
  const EarlyWriteback early(db.path());
  sql::Txn txn(db);
  require_capturing(run);
  const std::string warnings = join_lines(r.warnings);
  stmt(Q::kUpdateRunFinished)
      .bind(1, run)
      .bind(2, int64_t(r.window_start_ns))
      .bind(3, int64_t(r.window_end_ns))
      .bind(4, int64_t(r.sightings))
      .bind_text(5, warnings)
      .bind_text(6, store_detail::clocks_json(r.clocks))
      .run();
  update_points(run, r.points);
  // Frames staged on a host's own clock follow its sightings onto the reference clock.
  for (const Point& p : r.points)
    if (p.clock_offset_ns)
      stmt(Q::kShiftKept).bind(1, run).bind(2, int64_t(p.ord)).bind(3, p.clock_offset_ns).run();
  // And translated packets' frames follow their sightings to the digest before the translation.
  for (const auto& [after, before] : analysed.renamed)
    stmt(Q::kRenameKept).bind(1, run).bind(2, int64_t(after)).bind(3, int64_t(before)).run();
  // The staged rows go first: the analysis's blocks then reuse their pages.
  stmt(Q::kDeleteStagedChains).bind(1, run).run();
  stmt(Q::kDeleteStagedSightings).bind(1, run).run();
  write_analysis(run, analysed);
  txn.commit();
  live.erase(run);
  r.run_id = run;
}

void Store::Impl::append_kept(int64_t run, const KeptFrames& kept) {
  sql::Txn txn(db);
  require_capturing(run);
  std::size_t n_points = 0;
  {
    auto& q = stmt(Q::kCountPoints).bind(1, run);
    const sql::ResetOnExit done(q);
    if (q.step()) n_points = std::size_t(q.int_at(0));
  }
  insert_kept(run, kept, n_points);
  txn.commit();
}

bool Store::Impl::has_kept(int64_t run) {
  auto& q = stmt(Q::kHasKept).bind(1, run);
  const sql::ResetOnExit done(q);
  return q.step() && q.int_at(0) != 0;
}

void Store::Impl::read_kept(sql::Stmt& q, const KeptFrameFn& f) {
  const sql::ResetOnExit done(q);  // also when f throws
  KeptFrame k;
  while (q.step()) {
    const std::string_view b = q.blob_at(5);
    k.point = uint8_t(q.int_at(0));
    k.ts_ns = q.int_at(1);
    k.digest = uint64_t(q.int_at(2));
    k.wire_len = uint32_t(q.int_at(3));
    k.linktype = uint32_t(q.int_at(4));
    k.offset = 0;
    k.len = uint16_t(std::min<std::size_t>(b.size(), 0xffff));
    f(k, {reinterpret_cast<const uint8_t*>(b.data()), k.len});
  }
}

std::vector<Point> Store::Impl::load_points(int64_t id) {
  std::vector<Point> out;
  auto& q = stmt(Q::kSelectPoints).bind(1, id);
  const sql::ResetOnExit done(q);
  while (q.step()) {
    Point p;
    p.ord = uint8_t(q.int_at(0));
    p.label = q.text_at(1);
    p.role = q.text_at(2);
    p.host = q.text_at(3);
    p.netns = q.text_at(4);
    p.iface = q.text_at(5);
    p.source = q.text_at(6);
    p.packets = uint64_t(q.int_at(7));
    p.bytes = uint64_t(q.int_at(8));
    p.digested = uint64_t(q.int_at(9));
    p.filtered = uint64_t(q.int_at(10));
    for (int k = 1; k <= 5; ++k) p.discarded[std::size_t(k)] = uint64_t(q.int_at(10 + k));
    p.pcap_drop = uint64_t(q.int_at(16));
    p.if_drop = uint64_t(q.int_at(17));
    p.records_lost = uint64_t(q.int_at(18));
    p.over_mtu = uint64_t(q.int_at(19));
    p.start_ns = q.int_at(20);
    p.end_ns = q.int_at(21);
    p.window_known = q.int_at(22) != 0;
    p.first_frame_ns = q.int_at(23);
    p.last_frame_ns = q.int_at(24);
    p.snaplen = uint32_t(q.int_at(25));
    p.clock_offset_ns = q.int_at(26);
    p.clock_unknown = q.int_at(27) != 0;
    p.health.usable = q.int_at(28) != 0;
    p.health.problem = store_detail::health_problem(q.text_at(29));
    p.health.detail = q.text_at(30);
    out.push_back(std::move(p));
  }
  return out;
}

RunStatus Store::Impl::status(int64_t run) {
  const auto [status, writer] = stored_status(run);
  return store_detail::run_status(status, writer);
}

std::vector<FoundTraversal> Store::Impl::find_packet(int64_t run, uint64_t digest) {
  sql::ReadTxn snapshot(db);
  std::vector<FoundTraversal> out;
  {
    auto& q = stmt(Q::kFindPacket).bind(1, run).bind(2, int64_t(digest));
    const sql::ResetOnExit done(q);
    while (q.step()) {
      FoundTraversal f;
      bool ok = false;
      const bool parsed =
          store_detail::for_each_entry(q.text_at(2), false, [&](const std::vector<int64_t>& v) {
            ok = store_detail::decode_traversal(v, uint32_t(q.int_at(0)), q.int_at(1), true, f);
          });
      if (!parsed || !ok) {
        throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                             ": malformed traversal " + std::to_string(q.int_at(0)));
      }
      f.traversal.first = 0;
      out.push_back(std::move(f));
    }
  }
  if (out.empty()) return out;
  const std::vector<Point> points = load_points(run);
  std::vector<uint32_t> ids;
  for (const FoundTraversal& f : out)
    for (const PacketSighting& ps : f.sightings) ids.push_back(ps.stack_id);
  const std::map<uint32_t, std::string> names = stacks(run, ids);
  for (FoundTraversal& f : out) {
    for (PacketSighting& ps : f.sightings) {
      if (ps.ord < points.size()) ps.point = points[ps.ord].label;
      if (auto it = names.find(ps.stack_id); it != names.end()) ps.stack = it->second;
    }
  }
  return out;
}

Report Store::Impl::load(int64_t id, const Store::LoadScope& scope) {
  const std::string& path = db.path();
  if (id == 0) {
    auto& q = stmt(Q::kSelectNewestRunId);
    const sql::ResetOnExit done(q);
    if (!q.step() || q.null_at(0)) throw Error(ExitCode::kUsage, path + " has no runs yet");
    id = q.int_at(0);
  }
  Report r;
  r.run_id = id;
  std::optional<std::pair<int64_t, int64_t>> totals;  // results, delivered (NULL before schema 7)
  {
    auto& q = stmt(Q::kSelectRun).bind(1, id);
    const sql::ResetOnExit done(q);
    if (!q.step()) throw Error(ExitCode::kUsage, path + " has no run " + std::to_string(id));
    r.started = q.text_at(0);
    r.command = q.text_at(1);
    r.filter = q.text_at(2);
    r.window_start_ns = q.int_at(3);
    r.window_end_ns = q.int_at(4);
    r.sightings = uint64_t(q.int_at(5));
    r.warnings = split_lines(q.text_at(6));
    r.clocks = store_detail::parse_clocks(q.text_at(7), path);
    if (!q.null_at(8) && !q.null_at(9)) totals = {q.int_at(8), q.int_at(9)};
  }
  r.points = load_points(id);
  if (scope.all_flows) each_flow(id, [&](Flow&& f) { r.flows.push_back(std::move(f)); });
  if (scope.results) load_results(r, scope, totals);
  if (!scope.all_flows) {
    auto& q = stmt(Q::kSelectFlowCount).bind(1, id);
    const sql::ResetOnExit done(q);
    const int64_t count = q.step() && !q.null_at(0) ? q.int_at(0) : 0;
    r.omitted.flows = uint32_t(std::clamp<int64_t>(count, 0, 0xffffffff));
    std::vector<uint32_t> ids;
    for (const FlowResult& fr : r.results) {
      ids.push_back(fr.flow);
      if (!fr.inner_flows.empty()) ids.push_back(fr.inner_flows.front());  // a tunnel's: maybe millions
    }
    load_flows(r, ids);
  }
  return r;
}

std::vector<std::pair<uint32_t, FlowResult>> Store::Impl::full_results(int64_t id) {
  const std::string& path = db.path();
  auto bad_rank = [&](int64_t rank) {
    throw Error(ExitCode::kDatabase, "database " + path + ": run " + std::to_string(id) + ": result rank " +
                                         std::to_string(rank) + " is out of order or given twice");
  };
  std::vector<std::pair<uint32_t, FlowResult>> out;
  {
    auto& q = stmt(Q::kSelectResults).bind(1, id);
    const sql::ResetOnExit done(q);
    while (q.step()) {
      FlowResult fr;
      const int64_t rank = q.int_at(0);
      fr.flow = uint32_t(q.int_at(1));
      fr.dir = q.text_at(2) == "reverse" ? Dir::kReverse : Dir::kForward;
      fr.traversals = uint64_t(q.int_at(3));
      fr.judged = uint64_t(q.int_at(4));
      fr.delivered = uint64_t(q.int_at(5));
      fr.lost = uint64_t(q.int_at(6));
      fr.out_of_window = uint64_t(q.int_at(7));
      fr.no_entry = uint64_t(q.int_at(8));
      fr.duplicates = uint64_t(q.int_at(9));
      fr.seen_at = parse_json_array<uint32_t>(q.text_at(10), path);
      fr.holes_at = parse_json_array<uint32_t>(q.text_at(11), path);
      const std::string_view verdict = q.text_at(12);
      bool known = false;
      for (std::size_t v = 0; v < kVerdictKindCount; ++v) {
        if (verdict == name(VerdictKind(v))) {
          fr.verdict = VerdictKind(v);
          known = true;
        }
      }
      if (!known) {
        throw Error(ExitCode::kDatabase, "database " + path + ": run " + std::to_string(id) +
                                             ": unknown verdict \"" + std::string(verdict) + "\"");
      }
      fr.hop = int(q.int_at(13));
      fr.summary = q.text_at(14);
      fr.findings = split_lines(q.text_at(15));
      fr.inner_flows = parse_json_array<uint32_t>(q.text_at(16), path);
      fr.seen_any = parse_json_array<uint32_t>(q.text_at(17), path);
      fr.assumed = uint64_t(q.int_at(18));
      fr.assumptions = store_detail::parse_assumptions(q.text_at(19), path);
      fr.translations = store_detail::parse_translations(q.text_at(20), path);
      fr.aggregated = uint64_t(q.int_at(21));
      if (rank < 0 || rank > 0xffffffff) bad_rank(rank);
      out.emplace_back(uint32_t(rank), std::move(fr));
    }
  }
  {
    auto& q = stmt(Q::kSelectHops).bind(1, id);
    const sql::ResetOnExit done(q);
    while (q.step()) {
      const int64_t rank = q.int_at(0);
      const auto at = std::lower_bound(out.begin(), out.end(), rank,
                                       [](const auto& x, int64_t v) { return int64_t(x.first) < v; });
      if (at == out.end() || int64_t(at->first) != rank) continue;  // orphan hop: nothing to attach it to
      HopStat h;
      h.from = uint8_t(q.int_at(1));
      h.to = uint8_t(q.int_at(2));
      h.in = uint64_t(q.int_at(3));
      h.out = uint64_t(q.int_at(4));
      h.lost = uint64_t(q.int_at(5));
      h.inconclusive = q.int_at(6) != 0;
      h.why = q.text_at(7);
      h.assumed = uint64_t(q.int_at(8));
      h.delay_samples = uint64_t(q.int_at(9));
      h.delay_min_ns = q.int_at(10);
      h.delay_mean_ns = q.int_at(11);
      at->second.hops.push_back(std::move(h));
    }
  }
  return out;
}

void Store::Impl::scan_results(int64_t run, std::size_t n_points, const std::function<void(const FlowResult&)>& f) {
  sql::ReadTxn snapshot(db);
  const std::vector<std::pair<uint32_t, FlowResult>> full = full_results(run);
  std::size_t next_full = 0;
  uint32_t expect = 0;  // ranks are 0, 1, 2, … over both kinds
  auto emit = [&](uint32_t rank, const FlowResult& fr) {
    if (rank != expect)
      throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) + ": result rank " +
                                           std::to_string(rank) + " is out of order or given twice");
    ++expect;
    f(fr);
  };
  std::vector<std::pair<uint32_t, FlowResult>> block;
  auto& q = stmt(Q::kSelectResultBlocks).bind(1, run);
  const sql::ResetOnExit done(q);
  while (q.step()) {
    block.clear();
    if (!store_detail::read_result_block(q.text_at(0), n_points, block))
      throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) + ": malformed result block");
    for (const auto& [rank, fr] : block) {
      for (; next_full < full.size() && full[next_full].first < rank; ++next_full) emit(full[next_full].first, full[next_full].second);
      emit(rank, fr);
    }
  }
  for (; next_full < full.size(); ++next_full) emit(full[next_full].first, full[next_full].second);
}

void Store::Impl::each_flow(int64_t run, const std::function<void(Flow&&)>& f) {
  auto& q = stmt(Q::kSelectFlows).bind(1, run);
  const sql::ResetOnExit done(q);
  while (q.step()) f(read_flow(q));
}

void Store::Impl::scan_flows(int64_t run, const std::function<void(const Flow&)>& f) {
  sql::ReadTxn snapshot(db);
  each_flow(run, [&](Flow&& flow) { f(flow); });
}

void Store::Impl::load_results(Report& r, const Store::LoadScope& scope,
                               std::optional<std::pair<int64_t, int64_t>> totals) {
  const int64_t id = r.run_id;
  const std::string& path = db.path();
  auto bad_rank = [&](int64_t rank) {
    throw Error(ExitCode::kDatabase, "database " + path + ": run " + std::to_string(id) + ": result rank " +
                                         std::to_string(rank) + " is out of order or given twice");
  };
  // Full rows (flow_results and their hops) and packed ones (result_blocks), placed by rank.
  std::vector<std::pair<uint32_t, FlowResult>> ranked = full_results(id);
  // Packed results, block by block in rank order: decoded while fewer than scope.plain_results
  // are; the rest are counted by the run's totals (a run stored before schema 7 has none: its
  // blocks are decoded to count them).
  const auto malformed = [&](const std::string& what) {
    return Error(ExitCode::kDatabase, "database " + path + ": run " + std::to_string(id) + ": " + what);
  };
  std::size_t total = ranked.size();
  uint64_t skipped_delivered = 0;
  std::size_t decoded = 0;  // packed results decoded
  bool partial = false;     // some results left unread or only counted
  {
    std::vector<std::pair<uint32_t, FlowResult>> counted;
    auto& q = stmt(Q::kSelectResultBlocks).bind(1, id);
    const sql::ResetOnExit done(q);
    while (q.step()) {
      if (decoded < scope.plain_results) {
        const std::size_t before = ranked.size();
        if (!store_detail::read_result_block(q.text_at(0), r.points.size(), ranked)) throw malformed("malformed result block");
        decoded += ranked.size() - before;
        total += ranked.size() - before;
        continue;
      }
      partial = true;
      if (totals) break;
      counted.clear();
      if (!store_detail::read_result_block(q.text_at(0), r.points.size(), counted)) throw malformed("malformed result block");
      total += counted.size();
      for (const auto& [rank, fr] : counted) skipped_delivered += fr.verdict == VerdictKind::kDelivered;
    }
  }
  if (partial && totals) {
    if (totals->first < int64_t(total) || totals->second < 0 || totals->second > totals->first)
      throw malformed("its counts of results (" + std::to_string(totals->first) + ", " +
                      std::to_string(totals->second) + " delivered) do not match its rows");
    total = std::size_t(totals->first);
  }
  // Ranks are 0, 1, 2, … over both kinds. A partial load keeps ranks 0 … P-1, P the first
  // rank it did not decode; the lost and inconclusive rank first, and are full rows, all read.
  std::vector<uint8_t> placed(total, 0);
  for (const auto& [rank, fr] : ranked) {
    if (rank >= total || placed[rank]) bad_rank(rank);
    placed[rank] = 1;
  }
  const std::size_t prefix = std::size_t(std::find(placed.begin(), placed.end(), uint8_t{0}) - placed.begin());
  if (!partial && prefix != total) bad_rank(int64_t(prefix));
  r.results.resize(prefix);
  for (auto& [rank, fr] : ranked) {
    if (rank < prefix) {
      r.results[rank] = std::move(fr);
    } else {
      skipped_delivered += fr.verdict == VerdictKind::kDelivered;
    }
  }
  if (partial && totals) {
    const auto loaded = uint64_t(std::count_if(r.results.begin(), r.results.end(),
                                               [](const FlowResult& f) { return f.verdict == VerdictKind::kDelivered; }));
    if (loaded > uint64_t(totals->second)) throw malformed("more delivered results than its count says");
    skipped_delivered = uint64_t(totals->second) - loaded;
  }
  r.omitted.results = total - prefix;
  r.omitted.delivered = skipped_delivered;
}

Flow Store::Impl::read_flow(sql::Stmt& q) {
  Flow f;
  f.id = uint32_t(q.int_at(0));
  f.parent = uint32_t(q.int_at(1));
  f.key.version = uint8_t(q.int_at(2));
  f.key.proto = uint8_t(q.int_at(3));
  f.key.src = parse_address(q.text_at(4), f.key.version);
  f.key.dst = parse_address(q.text_at(5), f.key.version);
  f.key.sport = uint16_t(q.int_at(6));
  f.key.dport = uint16_t(q.int_at(7));
  return f;
}

void Store::Impl::load_flows(Report& r, std::span<const uint32_t> ids) {
  if (r.omitted.flows == 0) return;
  std::vector<uint32_t> want(ids.begin(), ids.end());
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  std::erase_if(want, [&](uint32_t i) { return i == 0 || r.flow(i) != nullptr; });
  if (want.empty()) return;
  if (want.size() * 4 > r.flow_count()) {  // most of them: one pass over the run's flows
    r.flows.clear();
    each_flow(r.run_id, [&](Flow&& f) { r.flows.push_back(std::move(f)); });
    r.omitted.flows = 0;
    return;
  }
  auto& q = stmt(Q::kSelectFlow);
  const std::size_t before = r.flows.size();
  for (uint32_t i : want) {
    q.bind(1, r.run_id).bind(2, int64_t(i));
    const sql::ResetOnExit done(q);
    if (q.step()) r.flows.push_back(read_flow(q));
  }
  const std::size_t added = r.flows.size() - before;
  std::inplace_merge(r.flows.begin(), r.flows.begin() + std::ptrdiff_t(before), r.flows.end(),
                     [](const Flow& a, const Flow& b) { return a.id < b.id; });
  r.omitted.flows -= uint32_t(std::min<std::size_t>(added, r.omitted.flows));
}

std::map<uint32_t, std::string> Store::Impl::stacks(int64_t run, std::span<const uint32_t> ids) {
  std::map<uint32_t, std::string> out;
  auto& q = stmt(Q::kSelectStack);
  for (uint32_t i : ids) {
    if (out.count(i)) continue;
    q.bind(1, run).bind(2, int64_t(i));
    const sql::ResetOnExit done(q);
    if (q.step()) out.emplace(i, std::string(q.text_at(0)));
  }
  return out;
}


std::vector<RunSummary> Store::Impl::runs() {
  std::vector<RunSummary> out;
  auto& q = stmt(Q::kSelectRuns);
  const sql::ResetOnExit done(q);
  while (q.step()) {
    RunSummary s;
    s.id = q.int_at(0);
    s.started = q.text_at(1);
    s.command = q.text_at(2);
    s.filter = q.text_at(3);
    s.points = int(q.int_at(4));
    s.sightings = uint64_t(q.int_at(5));
    s.verdict = q.null_at(6) ? std::string("no flows") : std::string(q.text_at(6));
    s.status = store_detail::run_status(q.text_at(7), q.text_at(8));
    if (s.status == RunStatus::kCapturing || s.status == RunStatus::kInterrupted)
      s.writer = store_detail::writer_text(q.text_at(8));
    s.name = q.text_at(9);
    s.failure = q.text_at(10);
    out.push_back(std::move(s));
  }
  return out;
}

Store::Store(const std::string& path, Mode mode) {
  const bool read_only = mode == Mode::kReadOnly;
  if (read_only && !std::filesystem::exists(path)) {
    throw Error(ExitCode::kDatabase,
                "database " + path + ": cannot open: no such file (unable to open database file)");
  }
  impl_ = std::make_unique<Impl>(path, read_only);
  impl_->configure_and_migrate();
}

Store::~Store() { impl_->close(); }

int64_t Store::save(Run& run) { return impl_->save(run); }

int64_t Store::begin_run(const Report& meta_with_points) { return impl_->begin_run(meta_with_points); }

void Store::append(int64_t run, std::span<const Chain> new_chains, uint32_t first_chain_index,
                   std::span<const Sighting> batch) {
  impl_->append(run, new_chains, first_chain_index, batch);
}

void Store::update_points(int64_t run, std::span<const Point> points) {
  sql::Txn txn(impl_->db);
  impl_->stored_status(run);  // a missing run is a usage error, not a silent no-op
  impl_->update_points(run, points);
  txn.commit();
}

void Store::finish_run(int64_t run, Run& analysed) { impl_->finish_run(run, analysed); }

void Store::append_kept(int64_t run, const KeptFrames& kept) { impl_->append_kept(run, kept); }

bool Store::has_kept(int64_t run) { return impl_->has_kept(run); }

void Store::scan_kept(int64_t run, const KeptFrameFn& f) {
  sql::ReadTxn snapshot(impl_->db);
  impl_->read_kept(impl_->stmt(Q::kScanKept).bind(1, run), f);
}

void Store::scan_kept_digests(int64_t run, std::span<const uint64_t> digests,
                              const KeptFrameFn& f) {
  sql::ReadTxn snapshot(impl_->db);
  for (const uint64_t d : digests)
    impl_->read_kept(impl_->stmt(Q::kSelectKeptDigest).bind(1, run).bind(2, int64_t(d)), f);
}

bool Store::load_staged(int64_t run, std::vector<Point>& points, std::vector<Chain>& chains,
                        std::vector<Sighting>& sightings) {
  return impl_->load_staged(run, points, chains, sightings);
}

RunStatus Store::status(int64_t run) { return impl_->status(run); }

std::string Store::fail_run(int64_t run, const std::string& reason) noexcept {
  return impl_->fail_run(run, reason);
}

int64_t Store::find_run(const std::string& id_or_name) { return impl_->find_run(id_or_name); }

void Store::name_run(int64_t run, const std::string& name) { impl_->name_run(run, name); }

void Store::delete_run(int64_t run) { impl_->delete_run(run); }

void Store::vacuum() { impl_->db.exec("VACUUM", "vacuum"); }

void Store::Impl::scan_lost(int64_t run, const std::function<bool(const Traversal&)>& want,
                            const std::function<void(const FoundTraversal&)>& f) {
  bool indexed = false;  // the flag is written with the blocks, in one transaction
  {
    auto& q = stmt(Q::kSelectLostIndexed).bind(1, run);
    const sql::ResetOnExit done(q);
    indexed = q.step() && q.int_at(0) != 0;
  }
  if (!indexed) {  // stored before schema 7
    scan_traversals(run, [&](const Traversal& t) { return t.fate == Fate::kLost && want(t); }, f);
    return;
  }
  sql::ReadTxn snapshot(db);
  auto& q = stmt(Q::kScanLostBlocks).bind(1, run);
  const sql::ResetOnExit done(q);
  FoundTraversal ft;
  std::vector<int64_t> ids;
  while (q.step()) {
    auto malformed = [&] {
      return Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                            ": malformed block of lost traversals");
    };
    ids.clear();
    std::size_t k = 0;
    const bool parsed =
        store_detail::for_each_entry(q.text_at(0), false, [&](const std::vector<int64_t>& v) { ids = v; }) &&
        store_detail::for_each_entry(q.text_at(1), true, [&](const std::vector<int64_t>& v) {
          if (k >= ids.size() || ids[k] < 0 || ids[k] > int64_t(0xffffffff)) throw malformed();
          const auto id = uint32_t(ids[k++]);
          if (!store_detail::decode_traversal(v, id, 0, false, ft)) throw malformed();
          if (want(ft.traversal)) {
            store_detail::decode_traversal(v, id, 0, true, ft);
            f(ft);
          }
        });
    if (!parsed || k != ids.size()) throw malformed();
  }
}

std::size_t Store::Impl::traversal_count(int64_t run) {
  auto& q = stmt(Q::kSelectTraversalCount).bind(1, run);
  const sql::ResetOnExit done(q);
  return q.step() ? std::size_t(std::max<int64_t>(0, q.int_at(0))) : 0;
}

void Store::Impl::scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                                  const std::function<void(const FoundTraversal&)>& f) {
  sql::ReadTxn snapshot(db);
  auto& q = stmt(Q::kScanBlocks).bind(1, run);
  const sql::ResetOnExit done(q);
  FoundTraversal ft;
  while (q.step()) {
    uint32_t id = uint32_t(q.int_at(0));
    const int64_t t_min = q.int_at(1);
    auto malformed = [&] {
      return Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                            ": malformed traversal " + std::to_string(id));
    };
    const bool parsed =
        store_detail::for_each_entry(q.text_at(2), true, [&](const std::vector<int64_t>& v) {
          if (!store_detail::decode_traversal(v, id, t_min, false, ft)) throw malformed();
          if (want(ft.traversal)) {  // sightings decoded only for the traversals asked for
            store_detail::decode_traversal(v, id, t_min, true, ft);
            f(ft);
          }
          ++id;
        });
    if (!parsed) throw malformed();
  }
}

void Store::scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                            const std::function<void(const FoundTraversal&)>& f) {
  impl_->scan_traversals(run, want, f);
}

void Store::scan_lost(int64_t run, const std::function<bool(const Traversal&)>& want,
                      const std::function<void(const FoundTraversal&)>& f) {
  impl_->scan_lost(run, want, f);
}

std::size_t Store::traversal_count(int64_t run) { return impl_->traversal_count(run); }


std::vector<FoundTraversal> Store::find_packet(int64_t run, uint64_t digest) {
  return impl_->find_packet(run, digest);
}

const char* name(RunStatus s) noexcept {
  switch (s) {
    case RunStatus::kCapturing: return "capturing";
    case RunStatus::kComplete: return "complete";
    case RunStatus::kInterrupted: return "interrupted";
    case RunStatus::kFailed: return "failed";
  }
  return "complete";
}

Report Store::load(int64_t id) { return impl_->load(id, LoadScope{}); }

Report Store::load(int64_t id, const LoadScope& scope) { return impl_->load(id, scope); }

void Store::load_flows(Report& r, std::span<const uint32_t> ids) { impl_->load_flows(r, ids); }

void Store::scan_results(int64_t run, std::size_t n_points, const std::function<void(const FlowResult&)>& f) {
  impl_->scan_results(run, n_points, f);
}

void Store::scan_flows(int64_t run, const std::function<void(const Flow&)>& f) { impl_->scan_flows(run, f); }

std::map<uint32_t, std::string> Store::stacks(int64_t run, std::span<const uint32_t> ids) {
  return impl_->stacks(run, ids);
}

std::vector<RunSummary> Store::runs() { return impl_->runs(); }

const std::string& Store::path() const noexcept { return impl_->db.path(); }

}  // namespace pathtrace
