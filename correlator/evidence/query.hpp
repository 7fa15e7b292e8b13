#pragma once
// `pathtrace query`: SQL on a stored database, read-only three times over — the file is
// opened SQLITE_OPEN_READONLY, `PRAGMA query_only = 1`, and an authorizer denies every
// action but reading (writes, DDL, temp tables, ATTACH, transactions, PRAGMA writes). Prints
// an aligned table, CSV or JSON.

#include <ostream>
#include <string>

namespace pathtrace::evidence {

// How query results are printed.
enum class QueryFormat { kTable, kCsv, kJson };

// Runs every statement of `sql` against the database at `path` and prints each result set
// to `out` in `format`. Every statement is prepared (and so authorized) before the first
// one runs: a write anywhere refuses the whole text. Throws Error: kUsage for bad SQL
// (SQLite's message) or a refused write ("refused: ... read-only"), kDatabase when the file
// cannot be opened. Returns the number of rows printed.
std::size_t run_query(const std::string& path, const std::string& sql, QueryFormat format,
                      std::ostream& out);

}  // namespace pathtrace::evidence
