#pragma once
// What the store's component tests share: a temp directory with a database path per test,
// raw SQL on the file as a person's sqlite3 shell would run it, and small helpers.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::test {

class StoreTest : public ::testing::Test {
 public:
  // Runs raw SQL on the file with the plain C API (what a person's sqlite3 shell does): one
  // line per row, values joined by '|', NULL as "". "error: <message>" when it does not
  // prepare.
  static std::string raw(const std::string& path, const std::string& sql);

 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pt_store_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = (dir_ / "pathtrace.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::filesystem::path dir_;
  std::string db_;
};

inline std::string StoreTest::raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        if (c) out += '|';
        const auto* t = sqlite3_column_text(st, c);
        if (t) out += reinterpret_cast<const char*>(t);
      }
      out += '\n';
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// What the thrown Error says, or {kOk, ""} when nothing was thrown.
template <typename F>
std::pair<ExitCode, std::string> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {ExitCode::kOk, ""};
}

// A run's sightings in arrival order (by time), as a live correlator stages them.
inline std::vector<Sighting> by_time(const Run& run) {
  std::vector<Sighting> out = run.sightings;
  std::stable_sort(out.begin(), out.end(),
                   [](const Sighting& a, const Sighting& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

}  // namespace pathtrace::test
