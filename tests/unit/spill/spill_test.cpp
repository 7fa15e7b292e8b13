// correlator/spill: a run's sightings in files by digest range, and analyze() over them.

#include "correlator/spill/spill.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "tests/common/temp_dir.hpp"
#include "tests/unit/analysis/builder.hpp"

namespace pathtrace {
namespace {

using ::testing::HasSubstr;
using namespace testing_runs;

TEST(Spill, RangesFollowDigestOrderAndLoadMapsChainsAndTimes) {
  test::TempDir dir("pt-spill");
  spill::Partitions parts(dir.path.string(), 3);
  ASSERT_EQ(parts.count(), 8u);
  std::vector<Sighting> in;
  uint64_t d = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < 10000; ++i) {
    d = d * 6364136223846793005ull + 1442695040888963407ull;
    // Point 1 was read by shard 1, point 0 by shard 0.
    in.push_back({d, int64_t(i) * 1000, spill::Partitions::shard_chain(i % 2, i % 3), 100, uint8_t(i % 2), 0});
  }
  {
    spill::Partitions::Writer w(parts);
    w.add(in);
    w.flush();
  }
  EXPECT_EQ(parts.size(), in.size());
  // Shard 1's chains were numbered by another thread; point 1's clock is 5 µs ahead.
  parts.map_chains({{}, {7, 8, 9}});
  parts.shift_times({0, 5000});
  std::vector<Sighting> range;
  std::size_t total = 0;
  for (unsigned p = 0; p < parts.count(); ++p) {
    parts.load(p, range);
    total += range.size();
    EXPECT_GT(range.size(), 1000u) << "range " << p;  // digests are spread evenly
    for (const Sighting& s : range) {
      ASSERT_EQ(s.digest >> 61, p);
      const uint32_t i = uint32_t((s.ts_ns + (s.point ? 5000 : 0)) / 1000);
      ASSERT_LT(i, in.size());
      EXPECT_EQ(s.digest, in[i].digest);
      EXPECT_EQ(s.chain, s.point ? 7 + i % 3 : i % 3);
    }
  }
  EXPECT_EQ(total, in.size());
  // Nothing is ever visible in the directory: the files are unlinked as they are made.
  EXPECT_TRUE(dir.empty());
}

TEST(Spill, AFileThatCannotBeMadeNamesItsDirectory) {
  try {
    spill::TempFile f("/nonexistent-pathtrace-dir");
    FAIL() << "made a file in a missing directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kDatabase);
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent-pathtrace-dir"));
    EXPECT_THAT(e.what(), HasSubstr("No such file or directory"));
  }
}

// What the analysis of a run split into 16 ranges says and keeps is what the analysis of the
// same sightings in memory says and keeps: flows, results, findings, traversals with their
// sightings, warnings. The run has many flows both ways, losses, duplicates, packets sent again
// and packets translated on the path (found in a first analysis, then analysed again).
TEST(Spill, AnalysisOverRangesMakesTheSameRunAsInMemory) {
  Builder b;
  busy_run(b, 3000, 20000, true);
  AnalysisOptions opt;
  opt.threads = 1;
  const pathtrace::Run in_memory = pathtrace::analyze(b.points, b.chains, b.sightings, opt);
  const std::string expected = run_text(in_memory);
  EXPECT_THAT(expected, HasSubstr("disappears"));
  ASSERT_FALSE(in_memory.renamed.empty()) << "the run has no translated packet";

  test::TempDir dir("pt-spill");
  for (unsigned threads : {1u, 2u}) {
    spill::Partitions parts(dir.path.string(), 4);
    {
      spill::Partitions::Writer w(parts);
      w.add(b.sightings);
      w.flush();
    }
    opt.threads = threads;
    const pathtrace::Run spilled = pathtrace::analyze(b.points, b.chains, parts, opt);
    ASSERT_TRUE(spilled.spilled) << "the grouped sightings are in a file";
    ASSERT_TRUE(spilled.spilled_traversals) << "so are the traversals";
    EXPECT_TRUE(spilled.sightings.empty());
    EXPECT_TRUE(spilled.traversals.empty());
    EXPECT_EQ(spilled.renamed, in_memory.renamed);
    const std::string got = run_text(spilled);
    // The first line that differs (the whole text is a few MB).
    std::istringstream e(expected), g(got);
    std::string el, gl;
    for (std::size_t line = 1; std::getline(e, el); ++line) {
      ASSERT_TRUE(std::getline(g, gl)) << "the spilled run ends at line " << line;
      ASSERT_EQ(gl, el) << "line " << line << " (threads " << threads << ")";
    }
    EXPECT_FALSE(std::getline(g, gl)) << "the spilled run goes on: " << gl;
    // Letting pages go loses nothing, what passes wrote included: they are read back from the file.
    spilled.release_traversals_before(spilled.all_traversals().size());
    EXPECT_EQ(run_text(spilled), expected);
  }
  EXPECT_TRUE(dir.empty());
}

}  // namespace
}  // namespace pathtrace
