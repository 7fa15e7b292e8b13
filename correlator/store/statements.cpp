// The text of every statement in the store's statement table (statements.hpp), checked at
// compile time to be one entry per Q, in Q's order.

#include "correlator/store/statements.hpp"

#include <cstddef>
#include <iterator>

namespace pathtrace::store_detail {
namespace {

// kRowsPerInsert copies of a row of anonymous parameters (numbered in order by SQLite).
#define PT_ROWS_4(row) row "," row "," row "," row
#define PT_ROWS_16(row) PT_ROWS_4(row) "," PT_ROWS_4(row) "," PT_ROWS_4(row) "," PT_ROWS_4(row)
#define PT_ROWS_64(row) PT_ROWS_16(row) "," PT_ROWS_16(row) "," PT_ROWS_16(row) "," PT_ROWS_16(row)
static_assert(kRowsPerInsert == 64, "PT_ROWS_64 spells out kRowsPerInsert rows");

struct QueryText {
  Q id;
  const char* sql;
};

constexpr QueryText kQueries[] = {
    {Q::kInsertRun,
     "INSERT INTO runs (started, command, filter, window_start_ns, window_end_ns, sightings, "
     "warnings, status, writer, clocks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
    {Q::kInsertPoint,
     "INSERT INTO points (run_id, ord, label, role, host, netns, iface, source, packets, bytes, "
     "digested, filtered, truncated, malformed, not_ip, too_deep, unsupported_link, pcap_drop, "
     "if_drop, records_lost, over_mtu, start_ns, end_ns, window_known, first_frame_ns, "
     "last_frame_ns, snaplen, clock_offset_ns, clock_unknown, usable, health, health_detail) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
     "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)"},
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
     "inner_flows, seen_any, assumed, assumptions, translations, aggregated) VALUES (?1, ?2, ?3, "
     "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"},
    {Q::kInsertHop,
     "INSERT INTO hops (run_id, rank, flow, dir, idx, from_ord, to_ord, from_label, to_label, "
     "packets_in, packets_out, lost, loss_pct, inconclusive, why, assumed, delay_samples, "
     "delay_min_ns, delay_mean_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
     "?14, ?15, ?16, ?17, ?18, ?19)"},
    {Q::kSelectNewestRunId, "SELECT max(id) FROM runs"},
    {Q::kSelectRun,
     "SELECT started, command, filter, window_start_ns, window_end_ns, sightings, warnings, clocks, "
     "results, delivered FROM runs WHERE id = ?1"},
    {Q::kSelectPoints,
     "SELECT ord, label, role, host, netns, iface, source, packets, bytes, digested, filtered, "
     "truncated, malformed, not_ip, too_deep, unsupported_link, pcap_drop, if_drop, "
     "records_lost, over_mtu, start_ns, end_ns, window_known, first_frame_ns, last_frame_ns, "
     "snaplen, clock_offset_ns, clock_unknown, usable, health, health_detail FROM points "
     "WHERE run_id = ?1 ORDER BY ord"},
    {Q::kSelectFlows,
     "SELECT id, parent, version, proto, src, dst, sport, dport FROM flows "
     "WHERE run_id = ?1 ORDER BY id"},
    {Q::kSelectResults,
     "SELECT rank, flow, dir, traversals, judged, delivered, lost, out_of_window, no_entry, "
     "duplicates, seen_at, holes_at, verdict, hop, summary, findings, inner_flows, seen_any, "
     "assumed, assumptions, translations, aggregated FROM flow_results WHERE run_id = ?1 ORDER BY rank"},
    {Q::kSelectHops,
     "SELECT rank, from_ord, to_ord, packets_in, packets_out, lost, inconclusive, why, assumed, "
     "delay_samples, delay_min_ns, delay_mean_ns FROM hops WHERE run_id = ?1 ORDER BY rank, idx"},
    {Q::kSelectRuns,
     "SELECT r.id, r.started, r.command, r.filter, "
     "(SELECT count(*) FROM points p WHERE p.run_id = r.id), r.sightings, "
     "(SELECT CASE WHEN fr.summary <> '' THEN fr.summary ELSE fr.verdict END "
     " FROM flow_results fr WHERE fr.run_id = r.id AND fr.rank = 0), r.status, r.writer, "
     "r.name, r.failure FROM runs r ORDER BY r.id DESC"},
    {Q::kUpdateRunFinished,
     "UPDATE runs SET window_start_ns = ?2, window_end_ns = ?3, sightings = ?4, warnings = ?5, "
     "clocks = ?6, status = 'complete', writer = NULL WHERE id = ?1"},
    {Q::kUpdatePoint,
     "UPDATE points SET packets = ?3, bytes = ?4, digested = ?5, filtered = ?6, truncated = ?7, "
     "malformed = ?8, not_ip = ?9, too_deep = ?10, unsupported_link = ?11, pcap_drop = ?12, "
     "if_drop = ?13, records_lost = ?14, over_mtu = ?15, start_ns = ?16, end_ns = ?17, "
     "window_known = ?18, host = ?19, netns = ?20, iface = ?21, first_frame_ns = ?22, "
     "last_frame_ns = ?23, snaplen = ?24, clock_offset_ns = ?25, clock_unknown = ?26, usable = ?27, "
     "health = ?28, health_detail = ?29 WHERE run_id = ?1 AND ord = ?2"},
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
    {Q::kScanBlocks,
     "SELECT first_id, t_min, data FROM traversal_blocks "
     "WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295 ORDER BY key"},
    {Q::kCountPoints, "SELECT count(*) FROM points WHERE run_id = ?1"},
    {Q::kInsertKept,
     "INSERT INTO kept_frames (run_id, point, ts_ns, digest, wire_len, linktype, data) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
    {Q::kHasKept, "SELECT EXISTS (SELECT 1 FROM kept_frames WHERE run_id = ?1)"},
    {Q::kShiftKept, "UPDATE kept_frames SET ts_ns = ts_ns - ?3 WHERE run_id = ?1 AND point = ?2"},
    {Q::kRenameKept, "UPDATE kept_frames SET digest = ?3 WHERE run_id = ?1 AND digest = ?2"},
    {Q::kScanKept,
     "SELECT point, ts_ns, digest, wire_len, linktype, data FROM kept_frames "
     "WHERE run_id = ?1 ORDER BY ts_ns, point"},
    {Q::kSelectKeptDigest,
     "SELECT point, ts_ns, digest, wire_len, linktype, data FROM kept_frames "
     "WHERE run_id = ?1 AND digest = ?2"},
    {Q::kUpdateRunFailed,
     "UPDATE runs SET status = 'failed', failure = ?2, writer = NULL "
     "WHERE id = ?1 AND status = 'capturing'"},
    {Q::kUpdateRunName, "UPDATE runs SET name = ?2 WHERE id = ?1"},
    {Q::kSelectRunByName, "SELECT id FROM runs WHERE name = ?1"},
    {Q::kDeleteRun, "DELETE FROM runs WHERE id = ?1"},
    {Q::kInsertResultBlock,
     "INSERT INTO result_blocks (key, run_id, block, count, data) VALUES ((?1 << 32) | ?2, ?1, ?2, ?3, ?4)"},
    {Q::kSelectResultBlocks,
     "SELECT data FROM result_blocks WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295 ORDER BY key"},
    {Q::kSelectFlow,
     "SELECT id, parent, version, proto, src, dst, sport, dport FROM flows WHERE run_id = ?1 AND id = ?2"},
    // Flow ids are 1..N: the largest is the count, found in the primary key without a scan.
    {Q::kSelectFlowCount, "SELECT max(id) FROM flows WHERE run_id = ?1"},
    {Q::kSelectStack, "SELECT stack FROM stacks WHERE run_id = ?1 AND id = ?2"},
    {Q::kInsertLostBlock,
     "INSERT INTO lost_blocks (key, run_id, block, count, ids, data) VALUES ((?1 << 32) | ?2, ?1, ?2, ?3, ?4, ?5)"},
    {Q::kUpdateRunTotals, "UPDATE runs SET results = ?2, delivered = ?3, lost_indexed = 1 WHERE id = ?1"},
    {Q::kSelectLostIndexed, "SELECT lost_indexed FROM runs WHERE id = ?1"},
    {Q::kScanLostBlocks,
     "SELECT ids, data FROM lost_blocks WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295 ORDER BY key"},
    {Q::kSelectTraversalCount,
     "SELECT coalesce(sum(count), 0) FROM traversal_blocks WHERE key BETWEEN (?1 << 32) AND (?1 << 32) + 4294967295"},
    {Q::kInsertFlows,
     "INSERT INTO flows (run_id, id, parent, version, proto, src, dst, sport, dport, label) VALUES "
     PT_ROWS_64("(?,?,?,?,?,?,?,?,?,?)")},
    {Q::kInsertStacks, "INSERT INTO stacks (run_id, id, stack, flow_ids) VALUES " PT_ROWS_64("(?,?,?,?)")},
};
#undef PT_ROWS_64
#undef PT_ROWS_16
#undef PT_ROWS_4
static_assert(std::size(kQueries) == std::size_t(Q::kCount), "one entry per Q");
constexpr bool queries_in_order() {
  for (std::size_t i = 0; i < std::size(kQueries); ++i) {
    if (std::size_t(kQueries[i].id) != i) return false;
  }
  return true;
}
static_assert(queries_in_order(), "kQueries is indexed by Q");

}  // namespace

const char* statement_sql(Q q) noexcept {
  const auto i = std::size_t(q);
  return i < std::size(kQueries) ? kQueries[i].sql : nullptr;
}

}  // namespace pathtrace::store_detail
