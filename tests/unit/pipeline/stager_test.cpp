// The stager of a live run: records that arrive faster than it ticks (a recorded stream on
// standard input, many points at full rate) stay within the run's memory budget — the
// collection wakes the stager past the budget and waits past twice the budget — and every
// record still reaches the run's spilled ranges.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "correlator/pipeline/stager.hpp"
#include "correlator/server/collection.hpp"
#include "correlator/server/server.hpp"
#include "correlator/store/store.hpp"
#include "tests/common/collector_stream.hpp"
#include "tests/common/temp_dir.hpp"

namespace pathtrace::pipeline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A collection that notes the most sightings it held after each batch.
struct Watched : server::Collection {
  using Collection::Collection;
  std::atomic<std::size_t> most{0};
  void on_records(uint32_t s, uint64_t seq, std::span<const wire::Record> r) override {
    Collection::on_records(s, seq, r);
    const std::size_t now = held();
    std::size_t m = most.load();
    while (now > m && !most.compare_exchange_weak(m, now)) {
    }
  }
};

TEST(Stager, RecordsFasterThanItTicksStayWithinTheBudget) {
  test::TempDir d("pt-stager");
  Store store((d.path / "run.db").string(), Store::Mode::kReadWrite);
  Point a;
  a.label = "A";
  a.host = "local";
  a.iface = "veth0";
  Report meta;
  meta.points = {a};
  const int64_t run = store.begin_run(meta);
  Watched col({a}, true);
  server::ServerOptions so;
  so.listen = "";
  server::Server srv(so, col);
  srv.start();
  // 64 KiB: 1,024 sightings held before the run spills.
  constexpr std::size_t kMemory = std::size_t{64} << 10;
  constexpr std::size_t kLimit = kMemory / (2 * sizeof(Sighting));
  constexpr uint32_t kBatches = 300;
  Stager stager(store, run, col, kMemory, d.path.string());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  srv.add_stream(fds[0], "stdin");
  // The whole stream at once: far faster than a 250 ms tick.
  std::thread writer([&, bytes = test::collector_stream("A", uint64_t{kBatches} * 1024, "", 1024)] {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::write(fds[1], bytes.data() + off, bytes.size() - off);
      if (n <= 0) break;
      off += std::size_t(n);
    }
    ::close(fds[1]);
  });
  writer.join();
  ASSERT_TRUE(srv.wait_idle(60s));
  srv.stop();
  stager.stop_and_flush();
  server::Collected c = col.take();
  const std::unique_ptr<spill::Partitions> spilled = stager.take_spilled(c.sightings);
  ASSERT_TRUE(spilled);
  EXPECT_EQ(spilled->size(), std::size_t{kBatches} * 1024) << "every record reached the run";
  // Twice the limit, and the batch that went past it.
  EXPECT_LE(col.most.load(), 2 * kLimit + 1024);
  EXPECT_GT(col.most.load(), kLimit);
}

}  // namespace
}  // namespace pathtrace::pipeline
