#pragma once
// The SQLite store: one file holds many runs. Schema from schema/NNNN_*.sql (embedded at
// build time), applied by PRAGMA user_version; a database from a newer pathtrace is
// refused. Writers batch in one transaction; readers open read-only.
// See docs/schema.md for the tables and views a person can query.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "correlator/analysis/model.hpp"

namespace pathtrace {

// One line of `pathtrace runs`.
struct RunSummary {
  int64_t id = 0;
  std::string started;
  std::string command;
  std::string filter;
  int points = 0;
  uint64_t sightings = 0;
  std::string verdict;  // headline of the most interesting flow
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

  // Writes a whole analysed run in one transaction and returns its id (also stored in
  // run.report.run_id). Throws Error(kDatabase) on any write failure; nothing is left
  // half-written.
  int64_t save(Run& run);

  // The report of run `id`, or of the newest run when id == 0. Throws Error(kUsage)
  // "FILE has no run N" / "FILE has no runs yet".
  Report load(int64_t id = 0);

  // All runs, newest first.
  std::vector<RunSummary> runs();

  const std::string& path() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pathtrace
