#pragma once
// Test helper: a log sink for ServerOptions::log that keeps the lines (thread-safe).

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace pathtrace::test {

// Collects log lines (thread-safe).
struct Log {
  std::mutex m;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& s) {
      std::lock_guard lk(m);
      lines.push_back(s);
    };
  }
  bool has(const std::string& needle) {
    std::lock_guard lk(m);
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string all() {
    std::lock_guard lk(m);
    std::string s;
    for (auto& l : lines) s += l + "\n";
    return s;
  }
};

}  // namespace pathtrace::test
