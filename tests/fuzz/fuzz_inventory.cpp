// libFuzzer entry for the TOML inventory (correlator/inventory): the bytes as an inventory
// file, read for its points and its [hosts.NAME] tables, then the points put in path order as
// `run` and `ingest` do. Bad input must end in Error(kInput) or Error(kUsage), never in a
// crash or any other exception.

#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/common/error.hpp"
#include "correlator/inventory/inventory.hpp"
#include "tests/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using pathtrace::fuzz::check;
  namespace inv = pathtrace::inventory;
  static pathtrace::fuzz::MemoryFile file;
  const std::string& path = file.hold(data, size);
  auto expected = [](const pathtrace::Error& e) {
    check(e.code() == pathtrace::ExitCode::kInput || e.code() == pathtrace::ExitCode::kUsage);
    check(*e.what() != '\0');
  };
  try {
    auto points = inv::load_inventory(path);
    for (const auto& p : points) check(!p.label.empty());
    if (!points.empty()) {
      const std::string range = points.front().label + ".." + points.back().label;
      auto picked = inv::select_points(points, range);
      inv::finalize_path(picked);
      for (std::size_t i = 0; i < picked.size(); ++i) check(picked[i].ord == i);
    }
  } catch (const pathtrace::Error& e) {
    expected(e);
  }
  try {
    const auto hosts = inv::load_hosts(path);
    for (const auto& [name, h] : hosts) {
      check(h.port >= 0 && h.port <= 65535);
      (void)inv::host_for(hosts, name);
    }
  } catch (const pathtrace::Error& e) {
    expected(e);
  }
  return 0;
}
