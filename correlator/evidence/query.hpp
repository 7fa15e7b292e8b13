#pragma once
// `pathtrace query`: SQL on a stored database, read-only three times over — the file is
// opened SQLITE_OPEN_READONLY, `PRAGMA query_only = 1`, and an authorizer denies every
// action but reading (writes, DDL, temp tables, ATTACH, transactions, PRAGMA writes; read-only
// PRAGMAs are allowed, also as table-valued functions) — and limited in time, memory and
// string length (sql::UntrustedLimits, docs/security.md). Prints an aligned table, CSV or JSON.

#include <ostream>
#include <string>

#include "correlator/store/sqlite.hpp"

namespace pathtrace::evidence {

// How query results are printed.
enum class QueryFormat { kTable, kCsv, kJson };

// Runs every statement of `sql` against the database at `path` and prints each result set
// to `out` in `format`, within `limits`. Every statement is prepared (and so authorized)
// before the first one runs: a write anywhere refuses the whole text. Throws Error: kUsage for
// bad SQL (SQLite's message), a refused write ("refused: ... read-only"), or a limit reached
// ("query stopped after 10 s (--timeout …)", "… needs more than 512 MiB of memory …"),
// kDatabase when the file cannot be opened. Returns the number of rows printed.
std::size_t run_query(const std::string& path, const std::string& sql, QueryFormat format,
                      std::ostream& out, const sql::UntrustedLimits& limits = {});

}  // namespace pathtrace::evidence
