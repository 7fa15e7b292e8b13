// Times the store's two bulk writes on synthetic runs, each into a new temp file. Not a test:
// prints its timings (docs/schema.md, "Performance" and "Live runs").
//
//   bench_store [stage|save|all] [--traversals N] [--keep-db FILE]
//
//   stage  a live run's staging: 40 append() batches of 250,000 sightings (10 M), one
//          transaction each; prints M sightings/s
//   save   save() of a run of N traversals (default 1,000,000) x 7 sightings in digest order,
//          as the analysis orders them; prints save() alone and open + save + close, with
//          the process's CPU time and the file's size
//   all    both (the default)
//   --keep-db FILE  copies the saved database to FILE (to look at it with sqlite3)
//
// Measure on a quiet machine, best of a few runs: on a shared VM wall time swings ±30 %.

#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/store/store.hpp"
#include "tests/component/example_run.hpp"

namespace fs = std::filesystem;
using namespace pathtrace;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// User + system CPU time of this process so far, in seconds.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A temp directory, removed with everything in it when this goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pt_bench_store_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temp directory");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// 40 batches of 250,000 sightings staged with append(), as a live run stages them.
void bench_stage(const fs::path& db) {
  constexpr int kBatches = 40;
  const Run meta = test::big_run(7, 0);
  std::vector<Sighting> batch(250'000);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].digest = i * 0x9e3779b97f4a7c15ull;
    batch[i].ts_ns = int64_t(i) * 100;
    batch[i].point = uint8_t(i % 7);
  }
  Store store(db.string(), Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(meta.report);
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < kBatches; ++b) {
    store.append(id, b == 0 ? std::span<const Chain>(meta.chains) : std::span<const Chain>(), 0,
                 batch);
  }
  const double s = seconds_since(t0);
  const uint64_t staged = store.runs().front().sightings;
  std::printf("stage: %d batches of %zu sightings: %.3f s, %.1f M sightings/s (%llu staged)\n",
              kBatches, batch.size(), s, double(kBatches) * double(batch.size()) / s / 1e6,
              static_cast<unsigned long long>(staged));
}

// save() of n traversals x 7 sightings into a new file.
void bench_save(const fs::path& db, std::size_t n, const std::string& keep) {
  Run run = test::big_run(7, n);
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  double save_s = 0;
  uint64_t stored = 0;
  {
    Store store(db.string(), Store::Mode::kReadWrite);
    const auto t1 = std::chrono::steady_clock::now();
    store.save(run);
    save_s = seconds_since(t1);
    stored = store.runs().front().sightings;
  }
  const double total_s = seconds_since(t0);
  const double cpu_s = cpu_seconds() - cpu0;
  std::printf("save: %zu traversals x 7 sightings: save() %.3f s, open+save+close %.3f s "
              "(cpu %.3f s; %.2f M sightings/s), file %.1f MB (%llu sightings stored)\n",
              n, save_s, total_s, cpu_s, double(n) * 7 / total_s / 1e6,
              double(fs::file_size(db)) / 1e6, static_cast<unsigned long long>(stored));
  if (!keep.empty()) fs::copy_file(db, keep, fs::copy_options::overwrite_existing);
}

int usage() {
  std::fprintf(stderr, "usage: bench_store [stage|save|all] [--traversals N] [--keep-db FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = "all", keep;
  std::size_t traversals = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "stage" || a == "save" || a == "all") {
      what = a;
    } else if (a == "--traversals" && i + 1 < argc) {
      char* end = nullptr;
      traversals = std::strtoull(argv[++i], &end, 10);
      if (!end || *end || traversals == 0) return usage();
    } else if (a == "--keep-db" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      return usage();
    }
  }
  try {
    TempDir dir;
    if (what != "save") bench_stage(dir.path() / "stage.db");
    if (what != "stage") bench_save(dir.path() / "save.db", traversals, keep);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_store: %s\n", e.what());
    return 1;
  }
  return 0;
}
