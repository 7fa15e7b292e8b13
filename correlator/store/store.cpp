#include "correlator/store/store.hpp"

#include <functional>

#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <algorithm>
#include <bit>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <charconv>
#include <cstring>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "collector/common/error.hpp"
#include "correlator/store/neutron_tables.hpp"
#include "correlator/store/sqlite.hpp"
#include "schema/schema.hpp"

namespace pathtrace {
namespace {

// ------------------------------------------------------------------ the statement table
// Every statement the store runs, prepared once (on first use) and reused.
enum class Q : int {
  kInsertRun,
  kInsertPoint,
  kInsertFlow,
  kInsertStack,
  kInsertBlock,
  kInsertResult,
  kInsertHop,
  kSelectNewestRunId,
  kSelectRun,
  kSelectPoints,
  kSelectFlows,
  kSelectResults,
  kSelectHops,
  kSelectRuns,
  kUpdateRunFinished,
  kUpdatePoint,
  kSelectRunStatus,
  kInsertStagedChain,
  kInsertStagedSightings,
  kAddRunSightings,
  kSelectStagedCounts,
  kSelectStagedChains,
  kSelectStagedSightings,
  kDeleteStagedChains,
  kDeleteStagedSightings,
  kFindPacket,
  kSelectStacks,
  kScanBlocks,
  kCountPoints,
  kInsertKept,
  kHasKept,
  kShiftKept,
  kScanKept,
  kSelectKeptDigest,
  kCount
};

struct QueryText {
  Q id;
  const char* sql;
};

constexpr QueryText kQueries[] = {
    {Q::kInsertRun,
     "INSERT INTO runs (started, command, filter, window_start_ns, window_end_ns, sightings, "
     "warnings, status, writer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
    {Q::kInsertPoint,
     "INSERT INTO points (run_id, ord, label, role, host, netns, iface, source, packets, bytes, "
     "digested, filtered, truncated, malformed, not_ip, too_deep, unsupported_link, pcap_drop, "
     "if_drop, records_lost, over_mtu, start_ns, end_ns, window_known) VALUES (?1, ?2, ?3, ?4, "
     "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
     "?24)"},
    {Q::kInsertFlow,
     "INSERT INTO flows (run_id, id, parent, version, proto, src, dst, sport, dport, label) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
    {Q::kInsertStack, "INSERT INTO stacks (run_id, id, stack, flow_ids) VALUES (?1, ?2, ?3, ?4)"},
    {Q::kInsertBlock,
     "INSERT INTO traversal_blocks (key, run_id, block, first_id, count, digest_min, digest_max, "
     "t_min, t_max, data) VALUES ((?1 << 32) | ?2, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
    {Q::kInsertResult,
     "INSERT INTO flow_results (run_id, rank, flow, dir, traversals, judged, delivered, lost, "
     "out_of_window, no_entry, duplicates, seen_at, holes_at, verdict, hop, summary, findings, "
     "inner_flows) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
     "?16, ?17, ?18)"},
    {Q::kInsertHop,
     "INSERT INTO hops (run_id, rank, flow, dir, idx, from_ord, to_ord, from_label, to_label, "
     "packets_in, packets_out, lost, loss_pct, inconclusive, why) VALUES (?1, ?2, ?3, ?4, ?5, "
     "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"},
    {Q::kSelectNewestRunId, "SELECT max(id) FROM runs"},
    {Q::kSelectRun,
     "SELECT started, command, filter, window_start_ns, window_end_ns, sightings, warnings "
     "FROM runs WHERE id = ?1"},
    {Q::kSelectPoints,
     "SELECT ord, label, role, host, netns, iface, source, packets, bytes, digested, filtered, "
     "truncated, malformed, not_ip, too_deep, unsupported_link, pcap_drop, if_drop, "
     "records_lost, over_mtu, start_ns, end_ns, window_known FROM points WHERE run_id = ?1 "
     "ORDER BY ord"},
    {Q::kSelectFlows,
     "SELECT id, parent, version, proto, src, dst, sport, dport, label FROM flows "
     "WHERE run_id = ?1 ORDER BY id"},
    {Q::kSelectResults,
     "SELECT rank, flow, dir, traversals, judged, delivered, lost, out_of_window, no_entry, "
     "duplicates, seen_at, holes_at, verdict, hop, summary, findings, inner_flows "
     "FROM flow_results WHERE run_id = ?1 ORDER BY rank"},
    {Q::kSelectHops,
     "SELECT rank, from_ord, to_ord, packets_in, packets_out, lost, inconclusive, why "
     "FROM hops WHERE run_id = ?1 ORDER BY rank, idx"},
    {Q::kSelectRuns,
     "SELECT r.id, r.started, r.command, r.filter, "
     "(SELECT count(*) FROM points p WHERE p.run_id = r.id), r.sightings, "
     "(SELECT CASE WHEN fr.summary <> '' THEN fr.summary ELSE fr.verdict END "
     " FROM flow_results fr WHERE fr.run_id = r.id AND fr.rank = 0), r.status, r.writer "
     "FROM runs r ORDER BY r.id DESC"},
    {Q::kUpdateRunFinished,
     "UPDATE runs SET window_start_ns = ?2, window_end_ns = ?3, sightings = ?4, warnings = ?5, "
     "status = 'complete', writer = NULL WHERE id = ?1"},
    {Q::kUpdatePoint,
     "UPDATE points SET packets = ?3, bytes = ?4, digested = ?5, filtered = ?6, truncated = ?7, "
     "malformed = ?8, not_ip = ?9, too_deep = ?10, unsupported_link = ?11, pcap_drop = ?12, "
     "if_drop = ?13, records_lost = ?14, over_mtu = ?15, start_ns = ?16, end_ns = ?17, "
     "window_known = ?18 WHERE run_id = ?1 AND ord = ?2"},
    {Q::kSelectRunStatus, "SELECT status, writer FROM runs WHERE id = ?1"},
    {Q::kInsertStagedChain, "INSERT INTO staged_chains (run_id, id, stack, ip) VALUES (?1, ?2, ?3, ?4)"},
    {Q::kInsertStagedSightings,
     "INSERT INTO staged_sightings (key, run_id, batch, count, data) "
     "VALUES ((?1 << 32) | ?2, ?1, ?2, ?3, ?4)"},
    {Q::kAddRunSightings, "UPDATE runs SET sightings = sightings + ?2 WHERE id = ?1"},
    {Q::kSelectStagedCounts,
     "SELECT (SELECT count(*) FROM staged_chains WHERE run_id = ?1), "
     "(SELECT coalesce(max(batch) + 1, 0) FROM staged_sightings "
     " WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295)"},
    {Q::kSelectStagedChains, "SELECT id, stack, ip FROM staged_chains WHERE run_id = ?1 ORDER BY id"},
    {Q::kSelectStagedSightings,
     "SELECT count, data FROM staged_sightings "
     "WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295 ORDER BY key"},
    {Q::kDeleteStagedChains, "DELETE FROM staged_chains WHERE run_id = ?1"},
    {Q::kDeleteStagedSightings,
     "DELETE FROM staged_sightings WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295"},
    {Q::kFindPacket,
     "SELECT b.first_id + e.key, b.t_min, e.value FROM traversal_blocks b "
     "CROSS JOIN json_each(b.data) e WHERE b.run_id = ?1 AND b.digest_max >= ?2 "
     "AND b.digest_min <= ?2 AND e.value ->> 2 = ?2 ORDER BY 1"},
    {Q::kSelectStacks, "SELECT id, stack FROM stacks WHERE run_id = ?1"},
    {Q::kScanBlocks,
     "SELECT first_id, t_min, data FROM traversal_blocks "
     "WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295 ORDER BY key"},
    {Q::kCountPoints, "SELECT count(*) FROM points WHERE run_id = ?1"},
    {Q::kInsertKept,
     "INSERT INTO kept_frames (run_id, point, ts_ns, digest, wire_len, linktype, data) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
    {Q::kHasKept, "SELECT EXISTS (SELECT 1 FROM kept_frames WHERE run_id = ?1)"},
    {Q::kShiftKept, "UPDATE kept_frames SET ts_ns = ts_ns - ?3 WHERE run_id = ?1 AND point = ?2"},
    {Q::kScanKept,
     "SELECT point, ts_ns, digest, wire_len, linktype, data FROM kept_frames "
     "WHERE run_id = ?1 ORDER BY ts_ns, point"},
    {Q::kSelectKeptDigest,
     "SELECT point, ts_ns, digest, wire_len, linktype, data FROM kept_frames "
     "WHERE run_id = ?1 AND digest = ?2"},
};
static_assert(std::size(kQueries) == std::size_t(Q::kCount), "one entry per Q");
constexpr bool queries_in_order() {
  for (std::size_t i = 0; i < std::size(kQueries); ++i) {
    if (std::size_t(kQueries[i].id) != i) return false;
  }
  return true;
}
static_assert(queries_in_order(), "kQueries is indexed by Q");

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

std::string address_text(const std::array<uint8_t, 16>& a, uint8_t version) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (version == 4) {
    inet_ntop(AF_INET, a.data(), buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  }
  return buf;
}

std::array<uint8_t, 16> parse_address(std::string_view text, uint8_t version) {
  std::array<uint8_t, 16> a{};
  const std::string s(text);
  if (inet_pton(version == 4 ? AF_INET : AF_INET6, s.c_str(), a.data()) != 1) a.fill(0);
  return a;
}

struct KeyHash {
  std::size_t operator()(const packet::FlowKey& k) const noexcept {
    std::size_t h = k.version * 131u + k.proto;
    for (uint8_t b : k.src) h = h * 31 + b;
    for (uint8_t b : k.dst) h = h * 31 + b;
    return h * 65599u + k.sport * 257u + k.dport;
  }
};

// ------------------------------------------------------------------ traversal blocks
// Run::traversals are stored in blocks of consecutive traversals, one row per block
// (schema/0001_initial.sql, docs/schema.md "Performance").

// A block ends when its JSON would exceed about kBlockBytes (≈ 260 traversals of 7 sightings),
// or at kMaxBlockTraversals. Rows larger than a 32 KiB page's largest local payload spill into
// full overflow pages; rows of 16-32 KiB would each leave a page a third empty (measured in
// docs/schema.md, "Performance").
constexpr std::size_t kBlockBytes = 40 * 1024;
constexpr std::size_t kMaxBlockTraversals = 4096;
// A traversal's JSON is about this long plus kSightingBytes per sighting.
constexpr std::size_t kTraversalBytes = 60;
constexpr std::size_t kSightingBytes = 14;
// Blocks formatted ahead of the inserting thread.
constexpr std::size_t kBlocksAhead = 8;
// Fewer blocks than this are formatted on the calling thread (a thread costs more).
constexpr std::size_t kThreadedMinBlocks = 16;

// A block: traversals [begin, end) of Run::traversals.
struct BlockSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
};

// Cuts the traversals into blocks of about kBlockBytes, starting a new block wherever the
// digest's top bit changes (in digest order: once, at 2^63), so that every block's digests
// have one sign and [digest_min, digest_max] is a proper signed range. Checks every
// traversal's sightings are inside the run first: formatting then cannot fail.
std::vector<BlockSpan> cut_blocks(const Run& run) {
  const auto& ts = run.traversals;
  const std::size_t n_sightings = run.sightings.size();
  std::vector<BlockSpan> out;
  out.reserve(ts.size() / 128 + 2);
  BlockSpan cur;
  std::size_t bytes = 0;  // estimated JSON size of the block so far
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const Traversal& t = ts[i];
    if (std::size_t(t.first) + t.count > n_sightings) {
      throw Error(ExitCode::kInternal, "store: traversal " + std::to_string(i) +
                                           " refers to sightings beyond the run's " +
                                           std::to_string(n_sightings));
    }
    if (i > cur.begin && (bytes >= kBlockBytes || i - cur.begin == kMaxBlockTraversals ||
                          ((t.digest ^ ts[i - 1].digest) >> 63) != 0)) {
      cur.end = uint32_t(i);
      out.push_back(cur);
      cur.begin = uint32_t(i);
      bytes = 0;
    }
    bytes += kTraversalBytes + kSightingBytes * t.count;
  }
  if (ts.size() > cur.begin) {
    cur.end = uint32_t(ts.size());
    out.push_back(cur);
  }
  return out;
}

// One formatted block, ready to bind. `text` is a reused buffer; its first `len` bytes are
// the JSON.
struct Block {
  std::string text;
  std::size_t len = 0;
  uint32_t no = 0;
  BlockSpan span;
  int64_t digest_min = 0;
  int64_t digest_max = 0;
  int64_t t_min = 0;
  int64_t t_max = 0;
};

// Formats block `no` (traversals `span`) into `out`: a JSON array with one entry per
// traversal, [flow, inner_flow, digest, t0_ns - t_min, seen, fate, dir, entry, last_seen,
// wire_len, tcp_flags, [[ord, dt_ns, wire_len - the traversal's, stack], ...]] (its id is
// first_id + its index; see schema/0001_initial.sql).
void format_block(const Run& run, BlockSpan span, uint32_t no, Block& out) {
  // Bytes at most: 12 numbers of up to 20 digits, 16 punctuation; per sighting 3 + 20 + 5 +
  // 10 digits and 6 punctuation.
  std::size_t need = 2;
  for (uint32_t i = span.begin; i < span.end; ++i) {
    need += 12 * 21 + 8 + std::size_t(run.traversals[i].count) * 44;
  }
  if (out.text.size() < need) out.text.resize(need + need / 2);
  char* p = out.text.data();
  char* const e = p + out.text.size();
  out.no = no;
  out.span = span;
  const Traversal& first = run.traversals[span.begin];
  out.digest_min = out.digest_max = int64_t(first.digest);
  out.t_min = out.t_max = first.t0_ns;
  for (uint32_t i = span.begin; i < span.end; ++i) {
    const Traversal& t = run.traversals[i];
    out.digest_min = std::min(out.digest_min, int64_t(t.digest));
    out.digest_max = std::max(out.digest_max, int64_t(t.digest));
    out.t_min = std::min(out.t_min, t.t0_ns);
    out.t_max = std::max(out.t_max, t.t0_ns);
  }
  auto num = [&](auto v) { p = std::to_chars(p, e, v).ptr; };
  auto ord_or_null = [&](uint8_t ord) {
    if (ord == kNoPoint) {
      std::memcpy(p, "null", 4);
      p += 4;
    } else {
      num(unsigned(ord));
    }
  };
  *p++ = '[';
  for (uint32_t i = span.begin; i < span.end; ++i) {
    const Traversal& t = run.traversals[i];
    if (i != span.begin) *p++ = ',';
    *p++ = '[';
    num(t.flow);
    *p++ = ',';
    num(t.inner_flow);
    *p++ = ',';
    num(int64_t(t.digest));
    *p++ = ',';
    num(t.t0_ns - out.t_min);
    *p++ = ',';
    num(int64_t(t.seen));
    *p++ = ',';
    num(unsigned(t.fate));
    *p++ = ',';
    num(unsigned(t.dir));
    *p++ = ',';
    ord_or_null(t.entry);
    *p++ = ',';
    ord_or_null(t.last_seen);
    *p++ = ',';
    num(unsigned(t.wire_len));
    *p++ = ',';
    num(unsigned(t.tcp_flags));
    *p++ = ',';
    *p++ = '[';
    for (uint32_t k = 0; k < t.count; ++k) {
      const Sighting& s = run.sightings[t.first + k];
      if (k) *p++ = ',';
      *p++ = '[';
      num(unsigned(s.point));
      *p++ = ',';
      num(s.ts_ns - t.t0_ns);
      *p++ = ',';
      num(int(s.wire_len) - int(t.wire_len));
      *p++ = ',';
      num(s.chain);
      *p++ = ']';
    }
    *p++ = ']';
    *p++ = ']';
  }
  *p++ = ']';
  out.len = std::size_t(p - out.text.data());
}

// Inserts the blocks of `run` with `ins` (Q::kInsertBlock). With enough blocks, a second
// thread formats the JSON while this one inserts: a bounded ring of kBlocksAhead formatted
// blocks, handed over in order.
void write_blocks(sql::Stmt& ins, int64_t run_id, const Run& run,
                  const std::vector<BlockSpan>& spans) {
  auto insert = [&](const Block& b) {
    ins.bind(1, run_id).bind(2, int64_t(b.no)).bind(3, int64_t(b.span.begin))
        .bind(4, int64_t(b.span.end - b.span.begin)).bind(5, b.digest_min)
        .bind(6, b.digest_max).bind(7, b.t_min).bind(8, b.t_max)
        .bind_text(9, std::string_view(b.text.data(), b.len));
    ins.run_keep_bindings();
  };
  const std::size_t n = spans.size();
  if (n < kThreadedMinBlocks) {
    Block b;
    for (std::size_t i = 0; i < n; ++i) {
      format_block(run, spans[i], uint32_t(i), b);
      insert(b);
    }
    return;
  }
  std::array<Block, kBlocksAhead> ring;
  std::mutex m;
  std::condition_variable cv;
  std::size_t produced = 0;  // blocks formatted
  std::size_t consumed = 0;  // blocks inserted (their slot is free again)
  bool stop = false;         // the inserting side gave up (an exception)
  bool producer_waits = false;
  bool consumer_waits = false;
  std::exception_ptr failed;  // what the formatting thread threw (out of memory)
  std::thread producer([&] {
    try {
      for (std::size_t i = 0; i < n; ++i) {
        {
          std::unique_lock lock(m);
          if (i - consumed >= kBlocksAhead && !stop) {
            producer_waits = true;
            cv.wait(lock, [&] { return i - consumed < kBlocksAhead || stop; });
            producer_waits = false;
          }
          if (stop) return;
        }
        format_block(run, spans[i], uint32_t(i), ring[i % kBlocksAhead]);
        std::lock_guard lock(m);
        produced = i + 1;
        if (consumer_waits) cv.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(m);
      failed = std::current_exception();
      cv.notify_all();
    }
  });
  // Stops and joins the producer however this scope is left.
  struct Joiner {
    std::thread& t;
    std::mutex& m;
    std::condition_variable& cv;
    bool& stop;
    ~Joiner() {
      {
        std::lock_guard lock(m);
        stop = true;
      }
      cv.notify_all();
      t.join();
    }
  } joiner{producer, m, cv, stop};
  for (std::size_t i = 0; i < n; ++i) {
    {
      std::unique_lock lock(m);
      if (produced <= i) {
        consumer_waits = true;
        cv.wait(lock, [&] { return produced > i || failed; });
        consumer_waits = false;
      }
      if (produced <= i) std::rethrow_exception(failed);
    }
    insert(ring[i % kBlocksAhead]);
    std::lock_guard lock(m);
    consumed = i + 1;
    if (producer_waits) cv.notify_all();
  }
}

// ------------------------------------------------------------------ live runs

// This machine's boot id ("" when unknown): a pid and start time only identify a process
// within one boot.
std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or "" when unknown.
std::string start_time(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto close = line.rfind(')');  // the command may hold spaces and parentheses
  if (close == std::string::npos) return {};
  std::istringstream fields(line.substr(close + 1));
  std::string f;
  for (int i = 3; i <= 22 && (fields >> f); ++i) {
    if (i == 22) return f;
  }
  return {};
}

// "<boot_id> <pid> <start time>" of this process: the runs.writer of the runs it captures.
std::string this_writer() {
  const long pid = long(getpid());
  return boot_id() + " " + std::to_string(pid) + " " + start_time(pid);
}

// Whether the process that wrote `writer` still runs: same boot, and a process with that pid
// and start time exists (a reused pid has another start time). Written on another machine
// (another boot id): assumed gone.
bool writer_alive(std::string_view writer) {
  std::istringstream in{std::string(writer)};
  std::string boot, start;
  long pid = 0;
  if (!(in >> boot >> pid) || pid <= 0) return false;
  in >> start;
  if (boot != boot_id()) return false;
  if (kill(pid_t(pid), 0) != 0 && errno != EPERM) return false;
  return start.empty() || start_time(pid) == start;
}

RunStatus run_status(std::string_view status, std::string_view writer) {
  if (status != "capturing") return RunStatus::kComplete;
  return writer_alive(writer) ? RunStatus::kCapturing : RunStatus::kInterrupted;
}

// Staged sightings: 24 bytes each, little-endian, in Sighting's own field order (which on a
// little-endian machine is its memory layout: one memcpy).
constexpr std::size_t kPackedSighting = 24;
static_assert(std::endian::native == std::endian::little,
              "staged_sightings are little-endian; add byte swapping for this machine");
static_assert(sizeof(Sighting) == kPackedSighting && offsetof(Sighting, digest) == 0 &&
                  offsetof(Sighting, ts_ns) == 8 && offsetof(Sighting, chain) == 16 &&
                  offsetof(Sighting, wire_len) == 20 && offsetof(Sighting, point) == 22 &&
                  offsetof(Sighting, tcp_flags) == 23,
              "Sighting's layout is the staged_sightings format");
// Sightings per staged BLOB: a batch bigger than this is split (SQLite's row limit is 1 GB).
constexpr std::size_t kStagedBlobSightings = std::size_t(1) << 20;

// A chain's flow keys packed for staged_chains.ip: 38 bytes per layer.
constexpr std::size_t kPackedKey = 38;

std::string pack_keys(const std::vector<packet::FlowKey>& keys) {
  std::string out;
  out.reserve(keys.size() * kPackedKey);
  for (const auto& k : keys) {
    out += char(k.version);
    out += char(k.proto);
    out.append(reinterpret_cast<const char*>(k.src.data()), 16);
    out.append(reinterpret_cast<const char*>(k.dst.data()), 16);
    out += char(k.sport & 0xff);
    out += char(k.sport >> 8);
    out += char(k.dport & 0xff);
    out += char(k.dport >> 8);
  }
  return out;
}

std::vector<packet::FlowKey> unpack_keys(std::string_view b) {
  std::vector<packet::FlowKey> out;
  for (std::size_t i = 0; i + kPackedKey <= b.size(); i += kPackedKey) {
    const auto* p = reinterpret_cast<const uint8_t*>(b.data() + i);
    packet::FlowKey k;
    k.version = p[0];
    k.proto = p[1];
    std::memcpy(k.src.data(), p + 2, 16);
    std::memcpy(k.dst.data(), p + 18, 16);
    k.sport = uint16_t(p[34] | (p[35] << 8));
    k.dport = uint16_t(p[36] | (p[37] << 8));
    out.push_back(k);
  }
  return out;
}

constexpr int64_t kNullNumber = INT64_MIN;  // a JSON null in a traversal entry

// The page cache (KiB): 16 MiB (docs/schema.md, "Performance").
constexpr std::size_t kCacheKib = 16384;
// Page cache per kept frame inserted in bulk: its digest index entry (~20 bytes in pages about
// two thirds full) with room to spare.
constexpr std::size_t kKeptIndexBytes = 48;

// Calls f(numbers) for every entry of a traversal_blocks.data array (docs/schema.md), or for
// the one entry when `json` is a single entry: the entry's numbers flattened in order, null
// as kNullNumber. Entries hold only integers, so a flat scan with a depth counter is enough
// and much faster than a JSON parser.
template <typename F>
void for_each_entry(std::string_view json, bool whole_block, F&& f) {
  std::vector<int64_t> v;
  const int entry_depth = whole_block ? 2 : 1;
  int depth = 0;
  const char* p = json.data();
  const char* const end = p + json.size();
  while (p < end) {
    const char c = *p;
    if (c == '[') {
      ++depth;
      ++p;
    } else if (c == ']') {
      if (depth-- == entry_depth) {
        f(v);
        v.clear();
      }
      ++p;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      int64_t x = 0;
      p = std::from_chars(p, end, x).ptr;
      v.push_back(x);
    } else if (c == 'n') {
      v.push_back(kNullNumber);
      p += 4;
    } else {
      ++p;
    }
  }
}

// A traversal from one entry's numbers (11 scalars, then 4 per sighting); with_sightings
// false leaves out.sightings empty. False when the entry is malformed.
bool decode_traversal(const std::vector<int64_t>& v, uint32_t id, int64_t t_min,
                      bool with_sightings, FoundTraversal& out) {
  if (v.size() < 11 || (v.size() - 11) % 4 != 0) return false;
  auto ord = [](int64_t x) { return x == kNullNumber ? kNoPoint : uint8_t(x); };
  out.id = id;
  Traversal& t = out.traversal;
  t = Traversal{};
  t.flow = uint32_t(v[0]);
  t.inner_flow = uint32_t(v[1]);
  t.digest = uint64_t(v[2]);
  t.t0_ns = t_min + v[3];
  t.seen = uint64_t(v[4]);
  t.fate = Fate(v[5]);
  t.dir = Dir(v[6]);
  t.entry = ord(v[7]);
  t.last_seen = ord(v[8]);
  t.wire_len = uint16_t(v[9]);
  t.tcp_flags = uint8_t(v[10]);
  t.count = uint16_t((v.size() - 11) / 4);
  out.sightings.clear();
  if (!with_sightings) return true;
  for (std::size_t k = 11; k + 3 < v.size(); k += 4) {
    PacketSighting ps;
    ps.ord = uint8_t(v[k]);
    ps.ts_ns = t.t0_ns + v[k + 1];
    ps.wire_len = uint16_t(int64_t(t.wire_len) + v[k + 2]);
    ps.stack_id = uint32_t(v[k + 3]);
    out.sightings.push_back(std::move(ps));
  }
  return true;
}

}  // namespace

// ------------------------------------------------------------------ Store

struct Store::Impl {
  // What this connection knows of a run it is staging: the next chain index and batch.
  struct Live {
    uint32_t chains = 0;
    uint32_t next_batch = 0;
  };
  sql::Db db;
  std::unordered_map<int64_t, Live> live;
  std::array<std::optional<sql::Stmt>, std::size_t(Q::kCount)> stmts;

  Impl(const std::string& path, bool read_only) : db(path, read_only) {}

  // The prepared statement `q`, prepared on first use and then reused.
  sql::Stmt& stmt(Q q) {
    auto& s = stmts[std::size_t(q)];
    if (!s) s.emplace(db, kQueries[std::size_t(q)].sql);
    return s->reset();
  }

  void configure_and_migrate();
  // Inserts the runs row (status capturing with this process as writer, or complete) and
  // the points; returns the id. In the caller's transaction.
  int64_t insert_run(const Report& r, bool capturing);
  // Updates the points' statistics. In the caller's transaction.
  void update_points(int64_t run_id, std::span<const Point> points);
  // Inserts flows, stacks, traversal blocks, results, hops and run.kept. In the caller's
  // transaction.
  void write_analysis(int64_t run_id, Run& run);
  // Inserts kept frames of a run with `n_points` points. In the caller's transaction.
  void insert_kept(int64_t run_id, const KeptFrames& kept, std::size_t n_points);
  void append_kept(int64_t run, const KeptFrames& kept);
  bool has_kept(int64_t run);
  // Calls f for every row of `q` (a kScanKept or kSelectKeptDigest query, bound).
  void read_kept(sql::Stmt& q, const KeptFrameFn& f);
  int64_t save(Run& run);
  int64_t begin_run(const Report& meta);
  void append(int64_t run, std::span<const Chain> chains, uint32_t first, std::span<const Sighting> batch);
  void finish_run(int64_t run, Run& analysed);
  bool load_staged(int64_t run, std::vector<Point>& points, std::vector<Chain>& chains,
                   std::vector<Sighting>& sightings);
  RunStatus status(int64_t run);
  // The stored status and writer of `run`; throws Error(kUsage) when there is no such run.
  std::pair<std::string, std::string> stored_status(int64_t run);
  std::vector<FoundTraversal> find_packet(int64_t run, uint64_t digest);
  void scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                       const std::function<void(const FoundTraversal&)>& f);
  std::vector<std::string> stacks(int64_t run);
  std::vector<Point> load_points(int64_t run);
  Report load(int64_t id);
  std::vector<RunSummary> runs();
};

void Store::Impl::configure_and_migrate() {
  const std::string& path = db.path();
  db.exec("PRAGMA busy_timeout = 5000", "set busy_timeout");
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
  // B-tree and WAL-frame work per byte against 4-16 KiB (page_size only takes effect on a
  // new file, before the first table and before WAL); a 16 MiB cache is as fast as a
  // bigger one here, since WAL spills dirty pages by appending.
  if (version == 0) db.exec("PRAGMA page_size = 32768", "set page_size");
  db.exec("PRAGMA journal_mode = WAL", "set journal_mode");
  db.exec("PRAGMA synchronous = NORMAL", "set synchronous");
  db.exec("PRAGMA foreign_keys = ON", "set foreign_keys");
  db.exec("PRAGMA cache_size = -" + std::to_string(kCacheKib), "set cache_size");
  for (const auto& m : schema::migrations()) {
    if (m.version <= version) continue;
    sql::Txn txn(db);
    db.exec(m.sql, "apply migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")");
    db.exec("PRAGMA user_version = " + std::to_string(m.version), "set schema version");
    txn.commit();
  }
}

int64_t Store::Impl::insert_run(const Report& r, bool capturing) {
  const std::string warnings = join_lines(r.warnings);
  const std::string writer = capturing ? this_writer() : std::string();
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
        .bind(24, int64_t(p.window_known ? 1 : 0));
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
        .bind(18, int64_t(p.window_known ? 1 : 0));
    q.run();
  }
}

void Store::Impl::write_analysis(int64_t run_id, Run& run) {
  const Report& r = run.report;
  // Flows, and an index from key to ids for the stacks' per-layer flow ids.
  std::unordered_map<packet::FlowKey, std::vector<const Flow*>, KeyHash> by_key;
  auto& ins_flow = stmt(Q::kInsertFlow);
  for (const Flow& f : r.flows) {
    const std::string src = address_text(f.key.src, f.key.version);
    const std::string dst = address_text(f.key.dst, f.key.version);
    ins_flow.bind(1, run_id).bind(2, int64_t(f.id)).bind(3, int64_t(f.parent))
        .bind(4, int64_t(f.key.version)).bind(5, int64_t(f.key.proto)).bind_text(6, src)
        .bind_text(7, dst).bind(8, int64_t(f.key.sport)).bind(9, int64_t(f.key.dport))
        .bind_text(10, f.label);
    ins_flow.run();
    by_key[f.key].push_back(&f);
  }

  auto& ins_stack = stmt(Q::kInsertStack);
  std::string ids;
  for (std::size_t c = 0; c < run.chains.size(); ++c) {
    const Chain& ch = run.chains[c];
    ids = "[";
    uint32_t parent = 0;
    for (std::size_t l = 0; l < ch.ip.size(); ++l) {
      if (l) ids += ',';
      uint32_t id = 0;
      if (auto it = by_key.find(ch.ip[l]); it != by_key.end()) {
        id = it->second.front()->id;  // prefer the flow nested under the previous layer
        for (const Flow* f : it->second) {
          if (f->parent == parent) id = f->id;
        }
      }
      if (id) {
        append_num(ids, id);
      } else {
        ids += "null";
      }
      parent = id;
    }
    ids += ']';
    ins_stack.bind(1, run_id).bind(2, int64_t(c)).bind_text(3, ch.stack).bind_text(4, ids);
    ins_stack.run();
  }

  // The bulk: one row per block of traversals (see schema/0001_initial.sql). Traversal ids
  // are 32-bit, block keys run_id << 32 | block.
  if (run.traversals.size() > 0xffffffffu || run_id > 0x7fffffff) {
    throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run_id) +
                                         " with " + std::to_string(run.traversals.size()) +
                                         " traversals does not fit the traversal key");
  }
  write_blocks(stmt(Q::kInsertBlock), run_id, run, cut_blocks(run));

  auto& ins_result = stmt(Q::kInsertResult);
  auto& ins_hop = stmt(Q::kInsertHop);
  auto label_of = [&](uint8_t ord) -> std::string_view {
    return ord < r.points.size() ? std::string_view(r.points[ord].label) : std::string_view();
  };
  for (std::size_t k = 0; k < r.results.size(); ++k) {
    const FlowResult& fr = r.results[k];
    const std::string seen_at = json_array(fr.seen_at);
    const std::string holes_at = json_array(fr.holes_at);
    const std::string findings = join_lines(fr.findings);
    const std::string inner = json_array(fr.inner_flows);
    ins_result.bind(1, run_id).bind(2, int64_t(k)).bind(3, int64_t(fr.flow))
        .bind_text(4, dir_text(fr.dir)).bind(5, int64_t(fr.traversals))
        .bind(6, int64_t(fr.judged)).bind(7, int64_t(fr.delivered)).bind(8, int64_t(fr.lost))
        .bind(9, int64_t(fr.out_of_window)).bind(10, int64_t(fr.no_entry))
        .bind(11, int64_t(fr.duplicates)).bind_text(12, seen_at).bind_text(13, holes_at)
        .bind_text(14, name(fr.verdict)).bind(15, int64_t(fr.hop))
        .bind_text(16, fr.summary).bind_text(17, findings).bind_text(18, inner);
    ins_result.run();
    for (std::size_t h = 0; h < fr.hops.size(); ++h) {
      const HopStat& hs = fr.hops[h];
      ins_hop.bind(1, run_id).bind(2, int64_t(k)).bind(3, int64_t(fr.flow))
          .bind_text(4, dir_text(fr.dir)).bind(5, int64_t(h)).bind(6, int64_t(hs.from))
          .bind(7, int64_t(hs.to)).bind_text(8, label_of(hs.from)).bind_text(9, label_of(hs.to))
          .bind(10, int64_t(hs.in)).bind(11, int64_t(hs.out)).bind(12, int64_t(hs.lost))
          .bind(13, hs.loss_pct()).bind(14, int64_t(hs.inconclusive ? 1 : 0))
          .bind_text(15, hs.why);
      ins_hop.run();
    }
  }
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

// Sets the journal mode and returns the one in force, "" when SQLite refused (it keeps the
// old mode when it cannot switch: another connection has the file open, a statement is
// active, a read-only file). Never throws: staying in WAL is always correct.
std::string set_journal_mode(sql::Db& db, const char* mode) {
  if (db.read_only()) return {};
  return db.try_query_text(std::string("PRAGMA journal_mode = ") + mode);
}

int64_t Store::Impl::save(Run& run) {
  // A whole run written at once: with a rollback journal every new page is written once
  // (pages beyond the old end of file need no journal); in WAL mode it is written twice,
  // into the WAL and again by the checkpoint, each with its fsync. Switch for the bulk
  // write when this is the only connection, and back to WAL (readers beside live writers)
  // after. Atomicity is the same: one transaction either way.
  const bool rollback = set_journal_mode(db, "DELETE") == "delete";
  auto back_to_wal = [&] {
    if (rollback) set_journal_mode(db, "WAL");
  };
  int64_t run_id = 0;
  try {
    sql::Txn txn(db);
    run_id = insert_run(run.report, false);
    write_analysis(run_id, run);
    txn.commit();
  } catch (...) {
    back_to_wal();
    throw;
  }
  back_to_wal();
  run.report.run_id = run_id;
  return run_id;
}

int64_t Store::Impl::begin_run(const Report& meta) {
  sql::Txn txn(db);
  const int64_t run_id = insert_run(meta, true);
  txn.commit();
  live[run_id] = Live{};
  return run_id;
}

std::pair<std::string, std::string> Store::Impl::stored_status(int64_t run) {
  auto& q = stmt(Q::kSelectRunStatus).bind(1, run);
  if (!q.step()) throw Error(ExitCode::kUsage, db.path() + " has no run " + std::to_string(run));
  return {std::string(q.text_at(0)), std::string(q.text_at(1))};
}

void Store::Impl::append(int64_t run, std::span<const Chain> chains, uint32_t first,
                         std::span<const Sighting> batch) {
  sql::Txn txn(db);
  auto it = live.find(run);
  if (it == live.end()) {  // staged by another connection before: continue after its rows
    if (stored_status(run).first != "capturing") {
      throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                           " is not capturing");
    }
    auto& q = stmt(Q::kSelectStagedCounts).bind(1, run);
    q.step();
    it = live.emplace(run, Live{uint32_t(q.int_at(0)), uint32_t(q.int_at(1))}).first;
  }
  Live st = it->second;
  if (!chains.empty() && first != st.chains) {
    throw Error(ExitCode::kInternal, "store: run " + std::to_string(run) + ": chains from " +
                                         std::to_string(first) + " appended after " +
                                         std::to_string(st.chains) + " staged chains");
  }
  auto& ins_chain = stmt(Q::kInsertStagedChain);
  for (const Chain& c : chains) {
    const std::string ip = pack_keys(c.ip);
    ins_chain.bind(1, run).bind(2, int64_t(st.chains)).bind_text(3, c.stack)
        .bind_blob(4, ip.data(), ip.size());
    ins_chain.run();
    ++st.chains;
  }
  uint32_t max_chain = 0;
  for (const Sighting& x : batch) max_chain = std::max(max_chain, x.chain);
  if (!batch.empty() && max_chain >= st.chains) {
    throw Error(ExitCode::kInternal, "store: run " + std::to_string(run) + ": a sighting of chain " +
                                         std::to_string(max_chain) + " but " +
                                         std::to_string(st.chains) + " chains staged");
  }
  auto& ins = stmt(Q::kInsertStagedSightings);
  for (std::size_t off = 0; off < batch.size(); off += kStagedBlobSightings) {
    const std::size_t n = std::min(kStagedBlobSightings, batch.size() - off);
    ins.bind(1, run).bind(2, int64_t(st.next_batch++)).bind(3, int64_t(n))
        .bind_blob(4, batch.data() + off, n * kPackedSighting);
    ins.run();
  }
  stmt(Q::kAddRunSightings).bind(1, run).bind(2, int64_t(batch.size())).run();
  txn.commit();
  it->second = st;  // only once committed
}

void Store::Impl::finish_run(int64_t run, Run& analysed) {
  Report& r = analysed.report;
  sql::Txn txn(db);
  if (stored_status(run).first != "capturing") {
    throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                         " is not capturing");
  }
  const std::string warnings = join_lines(r.warnings);
  stmt(Q::kUpdateRunFinished)
      .bind(1, run)
      .bind(2, int64_t(r.window_start_ns))
      .bind(3, int64_t(r.window_end_ns))
      .bind(4, int64_t(r.sightings))
      .bind_text(5, warnings)
      .run();
  update_points(run, r.points);
  // Frames staged on a host's own clock follow its sightings onto the reference clock.
  for (const Point& p : r.points)
    if (p.clock_offset_ns)
      stmt(Q::kShiftKept).bind(1, run).bind(2, int64_t(p.ord)).bind(3, p.clock_offset_ns).run();
  write_analysis(run, analysed);
  stmt(Q::kDeleteStagedChains).bind(1, run).run();
  stmt(Q::kDeleteStagedSightings).bind(1, run).run();
  txn.commit();
  live.erase(run);
  r.run_id = run;
}

void Store::Impl::append_kept(int64_t run, const KeptFrames& kept) {
  sql::Txn txn(db);
  if (stored_status(run).first != "capturing") {
    throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                         " is not capturing");
  }
  auto& q = stmt(Q::kCountPoints).bind(1, run);
  q.step();
  const auto n_points = std::size_t(q.int_at(0));
  q.reset();
  insert_kept(run, kept, n_points);
  txn.commit();
}

bool Store::Impl::has_kept(int64_t run) {
  auto& q = stmt(Q::kHasKept).bind(1, run);
  const bool any = q.step() && q.int_at(0) != 0;
  q.reset();
  return any;
}

void Store::Impl::read_kept(sql::Stmt& q, const KeptFrameFn& f) {
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
  q.reset();
}

std::vector<Point> Store::Impl::load_points(int64_t id) {
  std::vector<Point> out;
  auto& q = stmt(Q::kSelectPoints).bind(1, id);
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
    out.push_back(std::move(p));
  }
  return out;
}

bool Store::Impl::load_staged(int64_t run, std::vector<Point>& points, std::vector<Chain>& chains,
                              std::vector<Sighting>& sightings) {
  sql::ReadTxn snapshot(db);
  if (stored_status(run).first != "capturing") return false;
  points = load_points(run);
  chains.clear();
  {
    auto& q = stmt(Q::kSelectStagedChains).bind(1, run);
    while (q.step()) {
      Chain c;
      c.stack = q.text_at(1);
      c.ip = unpack_keys(q.blob_at(2));
      chains.push_back(std::move(c));
    }
  }
  sightings.clear();
  auto& q = stmt(Q::kSelectStagedSightings).bind(1, run);
  while (q.step()) {
    const std::string_view b = q.blob_at(1);
    const std::size_t n = b.size() / kPackedSighting;
    const std::size_t at = sightings.size();
    sightings.resize(at + n);
    std::memcpy(static_cast<void*>(sightings.data() + at), b.data(), n * kPackedSighting);
  }
  return true;
}

RunStatus Store::Impl::status(int64_t run) {
  const auto [status, writer] = stored_status(run);
  return run_status(status, writer);
}

std::vector<FoundTraversal> Store::Impl::find_packet(int64_t run, uint64_t digest) {
  sql::ReadTxn snapshot(db);
  std::vector<FoundTraversal> out;
  {
    auto& q = stmt(Q::kFindPacket).bind(1, run).bind(2, int64_t(digest));
    while (q.step()) {
      FoundTraversal f;
      bool ok = false;
      for_each_entry(q.text_at(2), false, [&](const std::vector<int64_t>& v) {
        ok = decode_traversal(v, uint32_t(q.int_at(0)), q.int_at(1), true, f);
      });
      if (!ok) {
        throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                             ": malformed traversal " + std::to_string(q.int_at(0)));
      }
      f.traversal.first = 0;
      out.push_back(std::move(f));
    }
  }
  if (out.empty()) return out;
  const std::vector<Point> points = load_points(run);
  std::unordered_map<uint32_t, std::string> stacks;
  {
    auto& q = stmt(Q::kSelectStacks).bind(1, run);
    while (q.step()) stacks.emplace(uint32_t(q.int_at(0)), std::string(q.text_at(1)));
  }
  for (FoundTraversal& f : out) {
    for (PacketSighting& ps : f.sightings) {
      if (ps.ord < points.size()) ps.point = points[ps.ord].label;
      if (auto it = stacks.find(ps.stack_id); it != stacks.end()) ps.stack = it->second;
    }
  }
  return out;
}

Report Store::Impl::load(int64_t id) {
  const std::string& path = db.path();
  if (id == 0) {
    auto& q = stmt(Q::kSelectNewestRunId);
    if (!q.step() || q.null_at(0)) throw Error(ExitCode::kUsage, path + " has no runs yet");
    id = q.int_at(0);
  }
  Report r;
  r.run_id = id;
  {
    auto& q = stmt(Q::kSelectRun).bind(1, id);
    if (!q.step()) throw Error(ExitCode::kUsage, path + " has no run " + std::to_string(id));
    r.started = q.text_at(0);
    r.command = q.text_at(1);
    r.filter = q.text_at(2);
    r.window_start_ns = q.int_at(3);
    r.window_end_ns = q.int_at(4);
    r.sightings = uint64_t(q.int_at(5));
    r.warnings = split_lines(q.text_at(6));
  }
  r.points = load_points(id);
  {
    auto& q = stmt(Q::kSelectFlows).bind(1, id);
    while (q.step()) {
      Flow f;
      f.id = uint32_t(q.int_at(0));
      f.parent = uint32_t(q.int_at(1));
      f.key.version = uint8_t(q.int_at(2));
      f.key.proto = uint8_t(q.int_at(3));
      f.key.src = parse_address(q.text_at(4), f.key.version);
      f.key.dst = parse_address(q.text_at(5), f.key.version);
      f.key.sport = uint16_t(q.int_at(6));
      f.key.dport = uint16_t(q.int_at(7));
      f.label = q.text_at(8);
      r.flows.push_back(std::move(f));
    }
  }
  {
    auto& q = stmt(Q::kSelectResults).bind(1, id);
    while (q.step()) {
      FlowResult fr;
      fr.flow = uint32_t(q.int_at(1));
      fr.dir = q.text_at(2) == "reverse" ? Dir::kReverse : Dir::kForward;
      fr.traversals = uint64_t(q.int_at(3));
      fr.judged = uint64_t(q.int_at(4));
      fr.delivered = uint64_t(q.int_at(5));
      fr.lost = uint64_t(q.int_at(6));
      fr.out_of_window = uint64_t(q.int_at(7));
      fr.no_entry = uint64_t(q.int_at(8));
      fr.duplicates = uint64_t(q.int_at(9));
      fr.seen_at = parse_json_array<uint64_t>(q.text_at(10), path);
      fr.holes_at = parse_json_array<uint64_t>(q.text_at(11), path);
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
      r.results.push_back(std::move(fr));
    }
  }
  {
    auto& q = stmt(Q::kSelectHops).bind(1, id);
    while (q.step()) {
      const auto rank = std::size_t(q.int_at(0));
      if (rank >= r.results.size()) continue;  // orphan hop: nothing to attach it to
      HopStat h;
      h.from = uint8_t(q.int_at(1));
      h.to = uint8_t(q.int_at(2));
      h.in = uint64_t(q.int_at(3));
      h.out = uint64_t(q.int_at(4));
      h.lost = uint64_t(q.int_at(5));
      h.inconclusive = q.int_at(6) != 0;
      h.why = q.text_at(7);
      r.results[rank].hops.push_back(std::move(h));
    }
  }
  return r;
}

std::vector<RunSummary> Store::Impl::runs() {
  std::vector<RunSummary> out;
  auto& q = stmt(Q::kSelectRuns);
  while (q.step()) {
    RunSummary s;
    s.id = q.int_at(0);
    s.started = q.text_at(1);
    s.command = q.text_at(2);
    s.filter = q.text_at(3);
    s.points = int(q.int_at(4));
    s.sightings = uint64_t(q.int_at(5));
    s.verdict = q.null_at(6) ? std::string("no flows") : std::string(q.text_at(6));
    s.status = run_status(q.text_at(7), q.text_at(8));
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

Store::~Store() = default;

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

void Store::Impl::scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                                  const std::function<void(const FoundTraversal&)>& f) {
  sql::ReadTxn snapshot(db);
  auto& q = stmt(Q::kScanBlocks).bind(1, run);
  FoundTraversal ft;
  while (q.step()) {
    uint32_t id = uint32_t(q.int_at(0));
    const int64_t t_min = q.int_at(1);
    for_each_entry(q.text_at(2), true, [&](const std::vector<int64_t>& v) {
      if (!decode_traversal(v, id, t_min, false, ft))
        throw Error(ExitCode::kDatabase, "database " + db.path() + ": run " + std::to_string(run) +
                                             ": malformed traversal " + std::to_string(id));
      if (want(ft.traversal)) {  // sightings decoded only for the traversals asked for
        decode_traversal(v, id, t_min, true, ft);
        f(ft);
      }
      ++id;
    });
  }
  q.reset();
}

std::vector<std::string> Store::Impl::stacks(int64_t run) {
  std::vector<std::string> out;
  auto& q = stmt(Q::kSelectStacks).bind(1, run);
  while (q.step()) {
    const auto id = std::size_t(q.int_at(0));
    if (id >= out.size()) out.resize(id + 1, "?");
    out[id] = std::string(q.text_at(1));
  }
  q.reset();
  return out;
}

void Store::scan_traversals(int64_t run, const std::function<bool(const Traversal&)>& want,
                            const std::function<void(const FoundTraversal&)>& f) {
  impl_->scan_traversals(run, want, f);
}

std::vector<std::string> Store::stacks(int64_t run) { return impl_->stacks(run); }

std::vector<FoundTraversal> Store::find_packet(int64_t run, uint64_t digest) {
  return impl_->find_packet(run, digest);
}

const char* name(RunStatus s) noexcept {
  switch (s) {
    case RunStatus::kCapturing: return "capturing";
    case RunStatus::kComplete: return "complete";
    case RunStatus::kInterrupted: return "interrupted";
  }
  return "complete";
}

Report Store::load(int64_t id) { return impl_->load(id); }

std::vector<RunSummary> Store::runs() { return impl_->runs(); }

const std::string& Store::path() const noexcept { return impl_->db.path(); }

}  // namespace pathtrace
