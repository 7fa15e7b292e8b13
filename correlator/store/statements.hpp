#pragma once
// The store's statement table (inside the store only): every SQL statement Store runs, named
// by Q, with its text in statements.cpp. Store::Impl::stmt() prepares each one once, on first
// use, and reuses it; nothing in the store prepares SQL of its own beside these but the
// migrations, the PRAGMAs and the Neutron tables (neutron_tables.cpp).

namespace pathtrace::store_detail {

// Every statement the store runs.
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
  kScanBlocks,
  kCountPoints,
  kInsertKept,
  kHasKept,
  kShiftKept,
  kRenameKept,
  kScanKept,
  kSelectKeptDigest,
  kUpdateRunFailed,
  kUpdateRunName,
  kSelectRunByName,
  kDeleteRun,
  kInsertResultBlock,
  kSelectResultBlocks,
  kSelectFlow,
  kSelectFlowCount,
  kSelectStack,
  kInsertLostBlock,
  kUpdateRunTotals,
  kSelectLostIndexed,
  kScanLostBlocks,
  kSelectTraversalCount,
  kInsertFlows,   // kRowsPerInsert rows of kInsertFlow's columns, in order
  kInsertStacks,  // kRowsPerInsert rows of kInsertStack's columns, in order
  kCount
};

// Rows per kInsertFlows / kInsertStacks: one statement run inserts them all, so SQLite's cost
// per run (step, reset, the VDBE's setup) is paid once per this many rows.
constexpr int kRowsPerInsert = 64;

// The SQL text of statement `q` (kCount has none: nullptr).
const char* statement_sql(Q q) noexcept;

}  // namespace pathtrace::store_detail
