#pragma once
// A fresh directory for one test, under the test temporary directory, named after the test
// and the process (tests of one binary may run in parallel under ctest), removed at the end.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace pathtrace::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "pt") {
    path = std::filesystem::path(::testing::TempDir()) /
           (prefix + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool empty() const { return std::filesystem::is_empty(path); }
};

}  // namespace pathtrace::test
