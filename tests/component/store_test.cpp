// Component tests of the SQLite store: round trips, many runs per file, schema versions,
// read-only mode, error messages, live runs, kept frames, the documented example queries.
// (The bulk-write timings are bench/store/bench_store; the Neutron evidence is
// store/neutron_test.cpp.)

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "collector/common/error.hpp"
#include "correlator/store/store.hpp"
#include "schema/schema.hpp"
#include "tests/component/example_run.hpp"
#include "tests/component/store/fixture.hpp"

namespace pathtrace {
namespace {

namespace fs = std::filesystem;

using test::by_time;
using test::error_of;
using test::StoreTest;

void expect_same_points(const std::vector<Point>& a, const std::vector<Point>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("point " + a[i].label);
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_EQ(a[i].role, b[i].role);
    EXPECT_EQ(a[i].host, b[i].host);
    EXPECT_EQ(a[i].netns, b[i].netns);
    EXPECT_EQ(a[i].iface, b[i].iface);
    EXPECT_EQ(a[i].source, b[i].source);
    EXPECT_EQ(a[i].ord, b[i].ord);
    EXPECT_EQ(a[i].packets, b[i].packets);
    EXPECT_EQ(a[i].bytes, b[i].bytes);
    EXPECT_EQ(a[i].digested, b[i].digested);
    EXPECT_EQ(a[i].filtered, b[i].filtered);
    EXPECT_EQ(a[i].discarded, b[i].discarded);
    EXPECT_EQ(a[i].pcap_drop, b[i].pcap_drop);
    EXPECT_EQ(a[i].if_drop, b[i].if_drop);
    EXPECT_EQ(a[i].records_lost, b[i].records_lost);
    EXPECT_EQ(a[i].over_mtu, b[i].over_mtu);
    EXPECT_EQ(a[i].start_ns, b[i].start_ns);
    EXPECT_EQ(a[i].end_ns, b[i].end_ns);
    EXPECT_EQ(a[i].window_known, b[i].window_known);
  }
}

void expect_same_report(const Report& a, const Report& b) {
  EXPECT_EQ(a.run_id, b.run_id);
  EXPECT_EQ(a.started, b.started);
  EXPECT_EQ(a.command, b.command);
  EXPECT_EQ(a.filter, b.filter);
  EXPECT_EQ(a.window_start_ns, b.window_start_ns);
  EXPECT_EQ(a.window_end_ns, b.window_end_ns);
  EXPECT_EQ(a.sightings, b.sightings);
  EXPECT_EQ(a.warnings, b.warnings);
  expect_same_points(a.points, b.points);
  ASSERT_EQ(a.flows.size(), b.flows.size());
  for (std::size_t i = 0; i < a.flows.size(); ++i) {
    EXPECT_EQ(a.flows[i].id, b.flows[i].id);
    EXPECT_EQ(a.flows[i].parent, b.flows[i].parent);
    EXPECT_TRUE(a.flows[i].key == b.flows[i].key) << "flow " << a.flows[i].id;
  }
  ASSERT_EQ(a.results.size(), b.results.size());
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    const FlowResult& x = a.results[i];
    const FlowResult& y = b.results[i];
    SCOPED_TRACE("result " + std::to_string(i));
    EXPECT_EQ(x.flow, y.flow);
    EXPECT_EQ(x.dir, y.dir);
    EXPECT_EQ(x.traversals, y.traversals);
    EXPECT_EQ(x.judged, y.judged);
    EXPECT_EQ(x.delivered, y.delivered);
    EXPECT_EQ(x.lost, y.lost);
    EXPECT_EQ(x.out_of_window, y.out_of_window);
    EXPECT_EQ(x.no_entry, y.no_entry);
    EXPECT_EQ(x.duplicates, y.duplicates);
    EXPECT_EQ(x.seen_at, y.seen_at);
    EXPECT_EQ(x.holes_at, y.holes_at);
    EXPECT_EQ(x.verdict, y.verdict);
    EXPECT_EQ(x.hop, y.hop);
    EXPECT_EQ(x.summary, y.summary);
    EXPECT_EQ(x.findings, y.findings);
    EXPECT_EQ(x.inner_flows, y.inner_flows);
    ASSERT_EQ(x.hops.size(), y.hops.size());
    for (std::size_t h = 0; h < x.hops.size(); ++h) {
      EXPECT_EQ(x.hops[h].from, y.hops[h].from);
      EXPECT_EQ(x.hops[h].to, y.hops[h].to);
      EXPECT_EQ(x.hops[h].in, y.hops[h].in);
      EXPECT_EQ(x.hops[h].out, y.hops[h].out);
      EXPECT_EQ(x.hops[h].lost, y.hops[h].lost);
      EXPECT_EQ(x.hops[h].inconclusive, y.hops[h].inconclusive);
      EXPECT_EQ(x.hops[h].why, y.hops[h].why);
    }
  }
}

TEST_F(StoreTest, SaveThenLoadGivesBackTheSameReport) {
  pathtrace::Run run = test::example_run();
  int64_t id = 0;
  {
    Store store(db_, Store::Mode::kReadWrite);
    id = store.save(run);
  }
  EXPECT_EQ(id, 1);
  EXPECT_EQ(run.report.run_id, 1);
  Store store(db_, Store::Mode::kReadOnly);
  expect_same_report(run.report, store.load(id));
  expect_same_report(run.report, store.load());  // 0 = newest
}

TEST_F(StoreTest, AnIpv6FlowKeyRoundTrips) {
  pathtrace::Run run = test::example_run();
  packet::FlowKey& k = run.report.flows[2].key;
  k.version = 6;
  k.src = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  k.dst = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  Store store(db_, Store::Mode::kReadWrite);
  store.save(run);
  expect_same_report(run.report, store.load());
  EXPECT_EQ(raw(db_, "SELECT src, dst FROM flows WHERE id = 3"), "2001:db8::1|fe80::211:22ff:fe33:4455\n");
}

// From 4,096 rows on, the flows' and stacks' text and the packed results are made on a second
// thread while the connection inserts: what is stored is what one thread stores.
TEST_F(StoreTest, ManyFlowsStacksAndResultsRoundTrip) {
  pathtrace::Run run = test::example_run();
  const std::size_t first_new = run.report.flows.size() + 1;
  const FlowResult model = run.report.results.back();
  for (uint32_t i = 0; i < 5000; ++i) {
    Flow f;
    f.id = uint32_t(run.report.flows.size() + 1);
    f.key = run.report.flows[0].key;
    f.key.sport = uint16_t(i);
    f.key.version = i % 7 == 0 ? 6 : 4;
    run.report.flows.push_back(f);
    packet::FlowKey unknown = f.key;
    unknown.dport = 1;  // no flow has it: null
    run.chains.push_back({"eth/ipv4/udp", i % 1000 == 0 ? std::vector<packet::FlowKey>{f.key, unknown}
                                                          : std::vector<packet::FlowKey>{f.key}});
    FlowResult r = model;
    r.flow = f.id;
    r.traversals = i;
    run.report.results.push_back(r);
  }
  run.results = RankedResults(run.report.results);
  Store store(db_, Store::Mode::kReadWrite);
  store.save(run);
  expect_same_report(run.report, store.load());
  const std::size_t last = run.chains.size() - 1;
  EXPECT_EQ(raw(db_, "SELECT flow_ids FROM stacks WHERE id = " + std::to_string(last)),
            "[" + std::to_string(run.report.flows.size()) + "]\n");
  const std::size_t with_null = last - 4999;
  EXPECT_EQ(raw(db_, "SELECT flow_ids FROM stacks WHERE id = " + std::to_string(with_null)),
            "[" + std::to_string(first_new) + ",null]\n");
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM stacks"), std::to_string(run.chains.size()) + "\n");
}

TEST_F(StoreTest, TwoRunsInOneFileNewestFirst) {
  pathtrace::Run first = test::example_run();
  pathtrace::Run second = test::example_run();
  second.report.command = "pathtrace ingest second";
  second.report.results.clear();
  second.results = RankedResults();
  {
    Store store(db_, Store::Mode::kReadWrite);
    EXPECT_EQ(store.save(first), 1);
  }
  {
    Store store(db_, Store::Mode::kReadWrite);  // reopening an existing file: no migration
    EXPECT_EQ(store.save(second), 2);
  }
  Store store(db_, Store::Mode::kReadOnly);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, 2);
  EXPECT_EQ(runs[0].command, "pathtrace ingest second");
  EXPECT_EQ(runs[0].verdict, "no flows");
  EXPECT_EQ(runs[1].id, 1);
  EXPECT_EQ(runs[1].points, 7);
  EXPECT_EQ(runs[1].sightings, 22u);
  EXPECT_EQ(runs[1].filter, "ipip");
  EXPECT_EQ(runs[1].verdict,
            "disappears between C (qbrbdd1f2c3-bd) and B (tapbdd1f2c3-bd): 3 of 3 lost");
  expect_same_report(first.report, store.load(1));
  expect_same_report(second.report, store.load(2));
  expect_same_report(second.report, store.load());
  EXPECT_EQ(raw(db_, "SELECT run_id, count(*) FROM traversals GROUP BY run_id"), "1|4\n2|4\n");
}

TEST_F(StoreTest, MissingRunsAreUsageErrors) {
  Store store(db_, Store::Mode::kReadWrite);
  auto [code, msg] = error_of([&] { store.load(); });
  EXPECT_EQ(code, ExitCode::kUsage);
  EXPECT_EQ(msg, db_ + " has no runs yet");
  pathtrace::Run run = test::example_run();
  store.save(run);
  std::tie(code, msg) = error_of([&] { store.load(5); });
  EXPECT_EQ(code, ExitCode::kUsage);
  EXPECT_EQ(msg, db_ + " has no run 5");
  EXPECT_TRUE(store.runs().size() == 1);
}

TEST_F(StoreTest, AFailedSaveLeavesThePreviousRunsIntact) {
  Store store(db_, Store::Mode::kReadWrite);
  pathtrace::Run good = test::example_run();
  store.save(good);
  pathtrace::Run bad = test::example_run();
  bad.traversals.back().first = 1000;  // beyond its sightings: fails after rows were inserted
  auto [code, msg] = error_of([&] { store.save(bad); });
  EXPECT_EQ(code, ExitCode::kInternal);
  EXPECT_NE(msg.find("traversal 3"), std::string::npos) << msg;
  EXPECT_EQ(store.runs().size(), 1u);
  for (const char* table : {"runs", "points", "flows", "stacks", "traversal_blocks", "flow_results", "hops"}) {
    EXPECT_EQ(raw(db_, std::string("SELECT count(DISTINCT ") +
                           (std::string(table) == "runs" ? "id" : "run_id") + ") FROM " + table),
              "1\n")
        << table;
  }
  // And the store still works afterwards.
  EXPECT_EQ(store.save(good), 2);
}

TEST_F(StoreTest, AProcessKilledMidSaveLeavesThePreviousRunsIntact) {
  {
    Store store(db_, Store::Mode::kReadWrite);
    pathtrace::Run first = test::example_run();
    store.save(first);
  }
  pathtrace::Run big = test::big_run(7, 1'000'000);  // ~0.35 s to save: killed long before
  int saved_pipe[2];
  ASSERT_EQ(pipe(saved_pipe), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(saved_pipe[0]);
    try {
      Store store(db_, Store::Mode::kReadWrite);
      store.save(big);
      (void)!write(saved_pipe[1], "s", 1);  // committed
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  close(saved_pipe[1]);
  usleep(100'000);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  char c = 0;
  const bool committed = read(saved_pipe[0], &c, 1) == 1;
  close(saved_pipe[0]);
  std::printf("child %s\n", committed ? "committed before the kill" : "killed mid-save");
  Store store(db_, Store::Mode::kReadWrite);  // recovers from the WAL the child left
  EXPECT_EQ(store.runs().size(), committed ? 2u : 1u) << "committed: " << committed;
  EXPECT_EQ(store.load(1).points.size(), 7u);
  EXPECT_EQ(raw(db_, "PRAGMA integrity_check"), "ok\n");
  EXPECT_EQ(raw(db_, "PRAGMA foreign_key_check"), "");
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM traversals WHERE run_id = 1"), "4\n");
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM traversals"), committed ? "1000004\n" : "4\n");
}

TEST_F(StoreTest, RefusesADatabaseFromANewerPathtrace) {
  { Store store(db_, Store::Mode::kReadWrite); }
  const std::string newer = std::to_string(schema::latest_version() + 1);
  raw(db_, "PRAGMA user_version = " + newer);
  const std::string want = "database " + db_ + " was written by a newer pathtrace (schema " + newer +
                           ", this one knows " + std::to_string(schema::latest_version()) + ")";
  for (auto mode : {Store::Mode::kReadWrite, Store::Mode::kReadOnly}) {
    auto [code, msg] = error_of([&] { Store store(db_, mode); });
    EXPECT_EQ(code, ExitCode::kDatabase);
    EXPECT_EQ(msg, want);
  }
  EXPECT_EQ(raw(db_, "PRAGMA user_version"), newer + "\n");  // untouched
}

TEST_F(StoreTest, MigratesAVersionZeroDatabase) {
  raw(db_, "PRAGMA user_version");  // creates an empty SQLite file at version 0
  ASSERT_TRUE(fs::exists(db_));
  EXPECT_EQ(raw(db_, "PRAGMA user_version"), "0\n");
  {
    Store store(db_, Store::Mode::kReadWrite);
    EXPECT_TRUE(store.runs().empty());
  }
  EXPECT_EQ(raw(db_, "PRAGMA user_version"), std::to_string(schema::latest_version()) + "\n");
  EXPECT_EQ(raw(db_, "SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name"),
            "hop_loss\nlost_packets\nobservations\ntimeline\ntraversals\nverdicts\n");
  // Closed, the file rests in rollback-journal mode: readable without write access.
  EXPECT_EQ(raw(db_, "PRAGMA journal_mode"), "delete\n");
}

TEST_F(StoreTest, ReadOnlyRefusesWrites) {
  { Store store(db_, Store::Mode::kReadWrite); }
  Store store(db_, Store::Mode::kReadOnly);
  pathtrace::Run run = test::example_run();
  auto [code, msg] = error_of([&] { store.save(run); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_NE(msg.find(db_), std::string::npos) << msg;
  EXPECT_NE(msg.find("readonly"), std::string::npos) << msg;
  EXPECT_TRUE(store.runs().empty());
}

TEST_F(StoreTest, ReadOnlyOfAMissingFileFailsAndCreatesNothing) {
  auto [code, msg] = error_of([&] { Store store(db_, Store::Mode::kReadOnly); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_EQ(msg, "database " + db_ + ": cannot open: no such file (unable to open database file)");
  EXPECT_FALSE(fs::exists(db_));
}

TEST_F(StoreTest, UnwritablePathsNameTheFile) {
  const std::string missing_dir = (dir_ / "no" / "such" / "dir" / "x.db").string();
  auto [code, msg] = error_of([&] { Store store(missing_dir, Store::Mode::kReadWrite); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_EQ(msg, "database " + missing_dir + ": cannot create: No such file or directory");

  const std::string a_dir = dir_.string();
  std::tie(code, msg) = error_of([&] { Store store(a_dir, Store::Mode::kReadWrite); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_EQ(msg.rfind("database " + a_dir + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find("unable to open database file"), std::string::npos) << msg;
}

TEST_F(StoreTest, NotADatabaseFileIsRefused) {
  {
    std::ofstream f(db_);
    f << "this is a capture file, not a database\n" << std::string(4096, 'x');
  }
  for (auto mode : {Store::Mode::kReadWrite, Store::Mode::kReadOnly}) {
    auto [code, msg] = error_of([&] { Store store(db_, mode); });
    EXPECT_EQ(code, ExitCode::kDatabase);
    EXPECT_EQ(msg, "database " + db_ + ": read schema version: file is not a database");
  }
}

TEST_F(StoreTest, ViewsUnpackTheSightings) {
  pathtrace::Run run = test::example_run();
  { Store store(db_, Store::Mode::kReadWrite); store.save(run); }
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM observations"), "22\n");
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM timeline"), "22\n");
  EXPECT_EQ(raw(db_, "SELECT group_concat(point, ' ') FROM (SELECT point FROM observations "
                     "WHERE traversal = 2 ORDER BY ts_ns)"),
            "G F E D C\n");
  EXPECT_EQ(raw(db_, "SELECT digest_hex, last_seen FROM lost_packets WHERE traversal = 3"),
            "fedcba9876543210|C\n");
  EXPECT_EQ(raw(db_, "SELECT stack, flow_ids FROM stacks WHERE id = 1"),
            "eth/vlan/ipv4[ipip]/ipv4/tcp|[1,2]\n");
  // Every traversal comes back with the columns it had, in digest order.
  EXPECT_EQ(raw(db_, "SELECT id, flow, inner_flow, digest_hex, t0_ns, seen, fate, dir, entry_ord, "
                     "quote(last_seen_ord), wire_len, tcp_flags FROM traversals ORDER BY id"),
            "0|3|3|0123456789abcdef|1700000001500000000|127|0|0|0|6|98|0\n"
            "1|1|2|1f2e3d4c5b6a7988|1700000001000000000|124|1|1|6|2|174|24\n"
            "2|1|2|2a2b2c2d2e2f3031|1700000001001000000|124|1|1|6|2|174|24\n"
            "3|1|2|fedcba9876543210|1700000001002000000|124|1|1|6|2|174|24\n");
  // Two blocks: 0xfedc… is negative as a signed integer and never shares a block with the
  // positive digests, so each block's [digest_min, digest_max] is a proper range.
  EXPECT_EQ(raw(db_, "SELECT block, first_id, count, printf('%016x', digest_min), "
                     "printf('%016x', digest_max), t_min, t_max FROM traversal_blocks ORDER BY key"),
            "0|0|3|0123456789abcdef|2a2b2c2d2e2f3031|1700000001000000000|1700000001500000000\n"
            "1|3|1|fedcba9876543210|fedcba9876543210|1700000001002000000|1700000001002000000\n");
  // The packed sightings: [ord, dt_ns, dwire, stack] relative to t0 and the traversal's
  // wire_len (the VLAN-tagged points F and E add 4 bytes).
  EXPECT_EQ(raw(db_, "SELECT sightings FROM traversals WHERE id = 1"),
            "[[6,0,0,0],[5,3000,4,1],[4,6000,4,1],[3,9000,0,0],[2,12000,0,0]]\n");
  EXPECT_EQ(raw(db_, "SELECT group_concat(wire_len) FROM observations WHERE traversal = 1"),
            "174,178,178,174,174\n");
}

// --------------------------------------------------------------- live runs

bool same_sightings(const std::vector<Sighting>& a, const std::vector<Sighting>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](const Sighting& x, const Sighting& y) {
           return x.digest == y.digest && x.ts_ns == y.ts_ns && x.chain == y.chain &&
                  x.wire_len == y.wire_len && x.point == y.point && x.tcp_flags == y.tcp_flags;
         });
}

TEST_F(StoreTest, ALiveRunStagedThenFinishedGivesTheSameReportAsSave) {
  pathtrace::Run run = test::example_run();
  const std::vector<Sighting> arrived = by_time(run);
  Store store(db_, Store::Mode::kReadWrite);
  Report meta = run.report;
  for (Point& p : meta.points) p.packets = p.bytes = p.digested = 0;  // nothing captured yet
  const int64_t id = store.begin_run(meta);
  EXPECT_EQ(id, 1);
  EXPECT_EQ(store.status(id), RunStatus::kCapturing);  // its writer (this process) lives
  EXPECT_EQ(raw(db_, "SELECT status, sightings FROM runs"), "capturing|0\n");
  // Three batches: chains 0-1 with the first, chain 2 with the second, none with the third.
  const std::span<const Chain> chains(run.chains);
  const std::span<const Sighting> all(arrived);
  store.append(id, chains.subspan(0, 2), 0, all.subspan(0, 10));
  store.append(id, chains.subspan(2, 1), 2, all.subspan(10, 7));
  store.append(id, {}, 3, all.subspan(17));
  store.update_points(id, run.report.points);
  EXPECT_EQ(raw(db_, "SELECT count(*), sum(count) FROM staged_sightings"), "3|22\n");
  EXPECT_EQ(raw(db_, "SELECT sightings FROM runs"), "22\n");

  std::vector<Point> points;
  std::vector<Chain> got_chains;
  std::vector<Sighting> got;
  ASSERT_TRUE(store.load_staged(id, points, got_chains, got));
  expect_same_points(run.report.points, points);
  ASSERT_EQ(got_chains.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got_chains[i].stack, run.chains[i].stack);
    EXPECT_TRUE(got_chains[i].ip == run.chains[i].ip) << i;
  }
  EXPECT_TRUE(same_sightings(got, arrived));

  // A chain gap or an unknown chain is the caller's bug: refused, nothing staged.
  EXPECT_EQ(error_of([&] { store.append(id, chains.subspan(0, 1), 7, {}); }).first, ExitCode::kInternal);
  Sighting bad = arrived[0];
  bad.chain = 9;
  EXPECT_EQ(error_of([&] { store.append(id, {}, 3, std::span(&bad, 1)); }).first, ExitCode::kInternal);
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM staged_sightings"), "3\n");

  pathtrace::Run analysed = run;
  store.finish_run(id, analysed);
  EXPECT_EQ(analysed.report.run_id, id);
  EXPECT_EQ(store.status(id), RunStatus::kComplete);
  EXPECT_FALSE(store.load_staged(id, points, got_chains, got));
  EXPECT_EQ(raw(db_, "SELECT (SELECT count(*) FROM staged_chains) + (SELECT count(*) FROM staged_sightings), "
                     "status, quote(writer) FROM runs"),
            "0|complete|NULL\n");

  // The same run through save() into another file: the same report and the same rows.
  const std::string other = (dir_ / "saved.db").string();
  {
    Store saved(other, Store::Mode::kReadWrite);
    pathtrace::Run copy = run;
    saved.save(copy);
  }
  Store saved(other, Store::Mode::kReadOnly);
  expect_same_report(saved.load(1), store.load(id));
  for (const char* q : {"SELECT * FROM traversal_blocks", "SELECT * FROM observations",
                        "SELECT * FROM hop_loss", "SELECT * FROM stacks", "SELECT * FROM points",
                        "SELECT id, started, command, filter, window_start_ns, window_end_ns, "
                        "sightings, warnings, status FROM runs"}) {
    EXPECT_EQ(raw(db_, q), raw(other, q)) << q;
  }
  EXPECT_EQ(store.runs()[0].status, RunStatus::kComplete);
}

// `correlate` knows only its points' labels when it begins the run; where each point is
// (host, netns, interface) arrives with its collector's HELLO. update_points and finish_run
// store it, so the report rebuilt from the file names the points as the printed one did.
TEST_F(StoreTest, WhereAPointCapturedArrivesAfterBeginRunAndIsStored) {
  pathtrace::Run run = test::example_run();
  run.report.points[0].netns = "qrouter-1f2e";  // A captured inside a namespace
  Report meta = run.report;
  meta.points.clear();
  for (const Point& p : run.report.points) {
    Point label_only;  // what `correlate --points A,B,...` knows before any HELLO
    label_only.label = p.label;
    label_only.ord = p.ord;
    label_only.source = "live";
    meta.points.push_back(label_only);
  }
  Store store(db_, Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(meta);
  EXPECT_EQ(raw(db_, "SELECT group_concat(host || ':' || netns || ':' || iface, ' ') FROM points"),
            "local:: local:: local:: local:: local:: local:: local::\n");

  // The collectors said HELLO: the stager stores the points as the server now has them.
  std::vector<Point> hello = meta.points;
  for (std::size_t i = 0; i < hello.size(); ++i) {
    hello[i].host = run.report.points[i].host;
    hello[i].netns = run.report.points[i].netns;
    hello[i].iface = run.report.points[i].iface;
  }
  store.update_points(id, hello);
  {
    // `pathtrace report` of the run while it captures.
    const Report capturing = store.load(id);
    ASSERT_EQ(capturing.points.size(), 7u);
    EXPECT_EQ(capturing.points[0].host, "vm1");
    EXPECT_EQ(capturing.points[0].netns, "qrouter-1f2e");
    EXPECT_EQ(capturing.points[0].iface, "eth0");
    EXPECT_EQ(capturing.points[1].host, "hv1");
    EXPECT_EQ(capturing.points[1].iface, "tapbdd1f2c3-bd");
    EXPECT_EQ(capturing.points[1].label, "B");  // label and source as begin_run stored them
    EXPECT_EQ(capturing.points[1].source, "live");
  }

  store.append(id, run.chains, 0, by_time(run));
  pathtrace::Run analysed = run;
  for (Point& p : analysed.report.points) p.source = "live";
  store.finish_run(id, analysed);
  const Report loaded = store.load(id);
  ASSERT_EQ(loaded.points.size(), run.report.points.size());
  for (std::size_t i = 0; i < loaded.points.size(); ++i) {
    SCOPED_TRACE("point " + loaded.points[i].label);
    EXPECT_EQ(loaded.points[i].host, run.report.points[i].host);
    EXPECT_EQ(loaded.points[i].netns, run.report.points[i].netns);
    EXPECT_EQ(loaded.points[i].iface, run.report.points[i].iface);
    EXPECT_EQ(loaded.points[i].packets, run.report.points[i].packets);
  }
  EXPECT_EQ(raw(db_, "SELECT point, iface, host FROM timeline WHERE run_id = 1 AND traversal = 1 LIMIT 1"),
            "G|eth1|hv1\n");

  // finish_run alone (no update_points while capturing) stores them as well.
  const int64_t second = store.begin_run(meta);
  store.append(second, run.chains, 0, by_time(run));
  pathtrace::Run again = run;
  store.finish_run(second, again);
  const Report loaded_again = store.load(second);
  ASSERT_EQ(loaded_again.points.size(), 7u);
  EXPECT_EQ(loaded_again.points[0].host + " " + loaded_again.points[0].netns + " " +
                loaded_again.points[0].iface,
            "vm1 qrouter-1f2e eth0");
  EXPECT_EQ(loaded_again.points[6].host + " " + loaded_again.points[6].iface, "hv1 eth1");
}

// A live run's Store reads as well as writes (status(), load(): `pathtrace report --run N`
// of a run in progress reads through its own Store). A read must not hold on to the
// database as it was: another process that writes the file in between (a second `run`, an
// `ingest` into the same file) must not make the live run's next write fail.
TEST_F(StoreTest, AWriterThatAlsoReadsKeepsWritingBesideAnotherWriter) {
  pathtrace::Run run = test::example_run();
  const std::vector<Sighting> arrived = by_time(run);
  const std::span<const Sighting> all(arrived);
  Store live(db_, Store::Mode::kReadWrite);
  const int64_t id = live.begin_run(run.report);
  live.append(id, run.chains, 0, all.subspan(0, 10));
  int64_t other_id = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    EXPECT_EQ(live.status(id), RunStatus::kCapturing);
    EXPECT_EQ(live.load(id).points.size(), 7u);
    EXPECT_EQ(live.load().run_id, round == 0 ? id : other_id);
    {
      Store other(db_, Store::Mode::kReadWrite);
      pathtrace::Run copy = run;
      other_id = other.save(copy);
    }
    EXPECT_EQ(error_of([&] { live.append(id, {}, 3, all.subspan(10 + std::size_t(round) * 4, 4)); }),
              std::make_pair(ExitCode::kOk, std::string()));
  }
  pathtrace::Run analysed = run;
  EXPECT_EQ(error_of([&] { live.finish_run(id, analysed); }), std::make_pair(ExitCode::kOk, std::string()));
  EXPECT_EQ(live.status(id), RunStatus::kComplete);
  EXPECT_EQ(live.runs().size(), 4u);
}

TEST_F(StoreTest, AWriterKilledMidAppendLeavesWhatItCommitted) {
  { Store store(db_, Store::Mode::kReadWrite); pathtrace::Run first = test::example_run(); store.save(first); }
  // Batches of 100,000 synthetic sightings, batch b's digests b * 1e6 + i: reproducible here.
  constexpr std::size_t kBatch = 100'000;
  auto batch_of = [](std::size_t b) {
    std::vector<Sighting> v(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      v[i].digest = b * 1'000'000 + i;
      v[i].ts_ns = int64_t(b * kBatch + i) * 1000;
      v[i].chain = uint32_t(i % 2);
      v[i].wire_len = uint16_t(60 + i % 1400);
      v[i].point = uint8_t(i % 7);
      v[i].tcp_flags = uint8_t(i);
    }
    return v;
  };
  const pathtrace::Run meta = test::big_run(7, 0);
  int done_pipe[2];
  ASSERT_EQ(pipe(done_pipe), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(done_pipe[0]);
    try {
      Store store(db_, Store::Mode::kReadWrite);
      const int64_t id = store.begin_run(meta.report);
      std::vector<Chain> chains = {meta.chains[0], meta.chains[0]};
      chains[1].stack = "eth/ipv4/udp";
      for (std::size_t b = 0;; ++b) {
        store.append(id, b == 0 ? std::span<const Chain>(chains) : std::span<const Chain>(), 0,
                     batch_of(b));
        const uint32_t committed = uint32_t(b + 1);
        (void)!write(done_pipe[1], &committed, sizeof committed);
      }
    } catch (...) {
      _exit(2);
    }
  }
  close(done_pipe[1]);
  uint32_t committed = 0, n = 0;
  while (committed < 5 && read(done_pipe[0], &n, sizeof n) == sizeof n) committed = n;
  usleep(20'000);
  kill(child, SIGKILL);
  while (read(done_pipe[0], &n, sizeof n) == sizeof n) committed = n;
  close(done_pipe[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer should still have been appending";
  ASSERT_GE(committed, 5u);

  Store store(db_, Store::Mode::kReadOnly);
  EXPECT_EQ(raw(db_, "PRAGMA integrity_check"), "ok\n");
  EXPECT_EQ(store.status(2), RunStatus::kInterrupted);
  EXPECT_EQ(store.runs()[0].status, RunStatus::kInterrupted);
  // Which process it was, so that a person can tell (`runs`: "interrupted (pid N on HOST is gone)").
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(store.runs()[0].writer, "pid " + std::to_string(child) + " on " + host);
  EXPECT_EQ(store.status(1), RunStatus::kComplete);
  std::vector<Point> points;
  std::vector<Chain> chains;
  std::vector<Sighting> got;
  ASSERT_TRUE(store.load_staged(2, points, chains, got));
  EXPECT_EQ(points.size(), 7u);
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[1].stack, "eth/ipv4/udp");
  // Every batch it reported committed, and at most the one it was killed reporting.
  const std::size_t batches = got.size() / kBatch;
  EXPECT_EQ(got.size() % kBatch, 0u);
  EXPECT_TRUE(batches == committed || batches == committed + 1) << batches << " vs " << committed;
  std::vector<Sighting> want;
  for (std::size_t b = 0; b < batches; ++b) {
    const auto v = batch_of(b);
    want.insert(want.end(), v.begin(), v.end());
  }
  EXPECT_TRUE(same_sightings(got, want));
  EXPECT_EQ(store.runs()[0].sightings, got.size());
  std::printf("writer killed after %u committed batches; %zu sightings load back\n", committed,
              got.size());
}

TEST_F(StoreTest, AFailedRunSaysWhyAndKeepsWhatItCommitted) {
  const pathtrace::Run meta = test::big_run(3, 0);
  Store store(db_, Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(meta.report);
  const std::vector<Sighting> batch = by_time(meta);
  store.append(id, meta.chains, 0, batch);
  const std::string why = "database " + db_ + ": commit: database or disk is full";
  EXPECT_EQ(store.fail_run(id, why), "");
  EXPECT_EQ(store.status(id), RunStatus::kFailed);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::kFailed);
  EXPECT_EQ(runs[0].failure, why);
  EXPECT_EQ(runs[0].writer, "");
  EXPECT_EQ(raw(db_, "SELECT status, failure, writer IS NULL FROM runs"), "failed|" + why + "|1\n");
  // What it committed is there for `report` to analyse; nothing more can be staged.
  std::vector<Point> points;
  std::vector<Chain> chains;
  std::vector<Sighting> got;
  ASSERT_TRUE(store.load_staged(id, points, chains, got));
  EXPECT_EQ(got.size(), batch.size());
  auto [code, msg] = error_of([&] { store.append(id, {}, 0, batch); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_EQ(msg, "database " + db_ + ": run 1 is not capturing");
  // A second failure does not overwrite the first reason.
  EXPECT_EQ(store.fail_run(id, "later"), "");
  EXPECT_EQ(store.runs()[0].failure, why);
}

TEST_F(StoreTest, ALockedDatabaseFailsAfterTheBusyTimeoutNamingTheLock) {
  Store store(db_, Store::Mode::kReadWrite);
  const pathtrace::Run meta = test::big_run(3, 0);
  const int64_t id = store.begin_run(meta.report);
  // Another process's `BEGIN IMMEDIATE` (the sqlite3 shell's), held past the busy timeout.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto t0 = std::chrono::steady_clock::now();
  auto [code, msg] = error_of([&] { store.append(id, meta.chains, 0, by_time(meta)); });
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_EQ(msg, "database " + db_ + ": begin transaction: database is locked (by another process, for more than 10 s)");
  EXPECT_GE(waited, 9.5);  // retried all that time
  // Marking it failed meets the same lock: said, not thrown.
  EXPECT_NE(store.fail_run(id, msg).find("database is locked"), std::string::npos);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(store.fail_run(id, msg), "");
  EXPECT_EQ(store.status(id), RunStatus::kFailed);
}

TEST_F(StoreTest, Schema5KeepsTheRowsOfAnOlderDatabase) {
  // A schema-4 file with a run and its points, as pathtrace 0.2 left it.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
    for (const auto& m : schema::migrations()) {
      if (m.version > 4) break;
      ASSERT_EQ(sqlite3_exec(h, std::string(m.sql).c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << m.name;
    }
    ASSERT_EQ(sqlite3_exec(h,
                           "PRAGMA user_version = 4; PRAGMA foreign_keys = ON;"
                           "INSERT INTO runs (id, started, command, window_start_ns, window_end_ns, sightings, status, writer) "
                           "VALUES (1, '2024-01-01T00:00:00Z', 'pathtrace run', 0, 0, 5, 'capturing', 'x 1 2');"
                           "INSERT INTO points (run_id, ord, label) VALUES (1, 0, 'A'), (1, 1, 'B');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(h);
  }
  {
    Store store(db_, Store::Mode::kReadWrite);
    EXPECT_EQ(store.runs().size(), 1u);
    EXPECT_EQ(store.runs()[0].status, RunStatus::kInterrupted);
    EXPECT_EQ(store.fail_run(1, "disk full"), "");
  }
  EXPECT_EQ(raw(db_, "PRAGMA user_version"), std::to_string(schema::latest_version()) + "\n");
  EXPECT_EQ(raw(db_, "SELECT run_id, label FROM points ORDER BY ord"), "1|A\n1|B\n");  // not cascaded away
  EXPECT_EQ(raw(db_, "SELECT id, sightings, status, failure FROM runs"), "1|5|failed|disk full\n");
  EXPECT_EQ(raw(db_, "PRAGMA foreign_key_check"), "");
  // Deleting the run now cascades to its points: the references name the rebuilt table.
  {
    Store store(db_, Store::Mode::kReadWrite);
    store.delete_run(1);
  }
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM points"), "0\n");
}

TEST_F(StoreTest, FindPacketReadsOnlyItsBlock) {
  pathtrace::Run run = test::example_run();
  Store store(db_, Store::Mode::kReadWrite);
  store.save(run);
  const auto found = store.find_packet(1, 0xfedcba9876543210ull);
  ASSERT_EQ(found.size(), 1u);
  const FoundTraversal& f = found[0];
  EXPECT_EQ(f.id, 3u);
  EXPECT_EQ(f.traversal.digest, 0xfedcba9876543210ull);
  EXPECT_EQ(f.traversal.flow, 1u);
  EXPECT_EQ(f.traversal.inner_flow, 2u);
  EXPECT_EQ(f.traversal.t0_ns, run.traversals[3].t0_ns);
  EXPECT_EQ(f.traversal.seen, run.traversals[3].seen);
  EXPECT_EQ(f.traversal.fate, Fate::kLost);
  EXPECT_EQ(f.traversal.dir, Dir::kReverse);
  EXPECT_EQ(f.traversal.entry, 6);
  EXPECT_EQ(f.traversal.last_seen, 2);
  EXPECT_EQ(f.traversal.wire_len, 174);
  EXPECT_EQ(f.traversal.tcp_flags, 0x18);
  EXPECT_EQ(f.traversal.count, 5);
  std::string seen;
  for (const PacketSighting& s : f.sightings) {
    seen += s.point + ":" + std::to_string(s.ts_ns - f.traversal.t0_ns) + ":" +
            std::to_string(s.wire_len) + ":" + s.stack + " ";
  }
  EXPECT_EQ(seen, "G:0:174:eth/ipv4[ipip]/ipv4/tcp F:3000:178:eth/vlan/ipv4[ipip]/ipv4/tcp "
                  "E:6000:178:eth/vlan/ipv4[ipip]/ipv4/tcp D:9000:174:eth/ipv4[ipip]/ipv4/tcp "
                  "C:12000:174:eth/ipv4[ipip]/ipv4/tcp ");
  const auto icmp = store.find_packet(1, 0x0123456789abcdefull);
  ASSERT_EQ(icmp.size(), 1u);
  EXPECT_EQ(icmp[0].id, 0u);
  EXPECT_EQ(icmp[0].traversal.entry, 0);
  EXPECT_TRUE(store.find_packet(1, 0x0123456789abcdeeull).empty());
  EXPECT_TRUE(store.find_packet(2, 0xfedcba9876543210ull).empty());
  // The index answers the range test: no scan of traversal_blocks.
  EXPECT_EQ(raw(db_, "EXPLAIN QUERY PLAN SELECT key FROM traversal_blocks WHERE run_id = 1 "
                     "AND digest_max >= 5 AND digest_min <= 5").find("SCAN"),
            std::string::npos);
}

// The traversals of a run in id order, their sightings decoded only for those `want` takes;
// a block a person damaged with the sqlite3 shell is an error naming the run, not a hang.
TEST_F(StoreTest, ScanTraversalsReadsEveryTraversalAndRefusesADamagedBlock) {
  pathtrace::Run run = test::example_run();
  Store store(db_, Store::Mode::kReadWrite);
  store.save(run);
  std::string seen;
  std::vector<uint32_t> asked;
  store.scan_traversals(
      1,
      [&](const Traversal& t) {
        asked.push_back(uint32_t(asked.size()));
        return t.fate == Fate::kLost;
      },
      [&](const FoundTraversal& f) {
        seen += std::to_string(f.id) + ":" + std::to_string(f.sightings.size()) + " ";
      });
  EXPECT_EQ(asked.size(), 4u);
  EXPECT_EQ(seen, "1:5 2:5 3:5 ");  // the three lost IPIP packets, each seen at G F E D C

  const std::vector<std::string> damage = {
      "replace(data, '[[', '[[-,')",     // a minus sign without digits
      "replace(data, '174', 'x')",        // a letter
      "replace(data, ',124,', ',99999999999999999999999,')",  // out of range
      "substr(data, 1, length(data) - 9) || 'nu'",  // cut inside a null
  };
  for (const std::string& how : damage) {
    SCOPED_TRACE(how);
    const std::string other = (dir_ / "damaged.db").string();
    std::filesystem::remove(other);
    {
      Store fresh(other, Store::Mode::kReadWrite);
      pathtrace::Run copy = run;
      fresh.save(copy);
    }
    ASSERT_EQ(raw(other, "UPDATE traversal_blocks SET data = " + how + " WHERE block = 1"), "");
    Store damaged(other, Store::Mode::kReadOnly);
    const auto [code, what] = error_of([&] {
      damaged.scan_traversals(1, [](const Traversal&) { return true; }, [](const FoundTraversal&) {});
    });
    EXPECT_EQ(code, ExitCode::kDatabase);
    EXPECT_EQ(what, "database " + other + ": run 1: malformed traversal 3");
  }
}

// --------------------------------------------------------------- kept frames

// One kept frame per sighting of `run` (the first `keep` bytes of a made-up frame whose
// bytes say which digest and point it is), in the order of run.sightings (not time order).
KeptFrames kept_of(const Run& run, std::size_t keep) {
  KeptFrames k;
  for (const Sighting& s : run.sightings) {
    std::vector<uint8_t> frame(s.wire_len);
    for (std::size_t i = 0; i < frame.size(); ++i) frame[i] = uint8_t(s.digest >> (8 * (i % 8))) ^ s.point;
    k.add(s.point, s.digest, s.ts_ns, s.wire_len, 1, frame, keep);
  }
  return k;
}

// Every kept frame read back as "point:ts:digest-low-byte:wire_len:linktype:len:ok" (ok: its
// bytes are the ones kept_of made for it).
std::vector<std::string> frames_read(Store& store, int64_t run, const std::vector<uint64_t>* digests) {
  std::vector<std::string> out;
  auto f = [&](const KeptFrame& k, std::span<const uint8_t> bytes) {
    bool ok = bytes.size() == k.len && k.offset == 0;
    for (std::size_t i = 0; i < bytes.size(); ++i)
      ok = ok && bytes[i] == (uint8_t(k.digest >> (8 * (i % 8))) ^ k.point);
    out.push_back(std::to_string(k.point) + ":" + std::to_string(k.ts_ns - 1'700'000'001'000'000'000) +
                  ":" + std::to_string(k.digest & 0xff) + ":" + std::to_string(k.wire_len) + ":" +
                  std::to_string(k.linktype) + ":" + std::to_string(k.len) + (ok ? ":ok" : ":BAD"));
  };
  if (digests) {
    store.scan_kept_digests(run, *digests, f);
  } else {
    store.scan_kept(run, f);
  }
  return out;
}

TEST_F(StoreTest, KeptFramesRoundTripInTimeOrderAndByDigest) {
  pathtrace::Run run = test::example_run();
  run.kept = kept_of(run, 128);  // IPIP frames of 174/178 bytes are cut at 128, ICMP kept whole
  Store store(db_, Store::Mode::kReadWrite);
  store.save(run);
  pathtrace::Run plain = test::example_run();
  store.save(plain);
  EXPECT_TRUE(store.has_kept(1));
  EXPECT_FALSE(store.has_kept(2));  // saved without kept frames
  EXPECT_FALSE(store.has_kept(3));  // no such run
  EXPECT_EQ(raw(db_, "SELECT count(*), sum(length(data)) FROM kept_frames"),
            std::to_string(run.sightings.size()) + "|" + std::to_string(15 * 128 + 7 * 98) + "\n");

  // The whole run in time order: the three IPIP packets G..C, then the ICMP reply A..G.
  const std::vector<std::string> all = frames_read(store, 1, nullptr);
  const std::vector<std::string> want = {
      "6:0:136:174:1:128:ok",       "5:3000:136:178:1:128:ok",     "4:6000:136:178:1:128:ok",
      "3:9000:136:174:1:128:ok",    "2:12000:136:174:1:128:ok",    "6:1000000:49:174:1:128:ok",
      "5:1003000:49:178:1:128:ok",  "4:1006000:49:178:1:128:ok",   "3:1009000:49:174:1:128:ok",
      "2:1012000:49:174:1:128:ok",  "6:2000000:16:174:1:128:ok",   "5:2003000:16:178:1:128:ok",
      "4:2006000:16:178:1:128:ok",  "3:2009000:16:174:1:128:ok",   "2:2012000:16:174:1:128:ok",
      "0:500000000:239:98:1:98:ok", "1:500002500:239:98:1:98:ok",  "2:500005000:239:98:1:98:ok",
      "3:500007500:239:98:1:98:ok", "4:500010000:239:98:1:98:ok",  "5:500012500:239:98:1:98:ok",
      "6:500015000:239:98:1:98:ok"};
  EXPECT_EQ(all, want);
  // By digest: only that packet's frames, digest by digest in the order asked.
  const std::vector<uint64_t> two = {0xfedcba9876543210ull, 0x0123456789abcdefull};
  const std::vector<std::string> some = frames_read(store, 1, &two);
  ASSERT_EQ(some.size(), 12u);
  EXPECT_EQ(std::count_if(some.begin(), some.begin() + 5, [](const std::string& x) { return x.find(":16:174:") != std::string::npos || x.find(":16:178:") != std::string::npos; }), 5);
  EXPECT_EQ(std::count_if(some.begin() + 5, some.end(), [](const std::string& x) { return x.find(":239:98:1:98:ok") != std::string::npos; }), 7);
  EXPECT_TRUE(frames_read(store, 2, &two).empty());
  EXPECT_TRUE(frames_read(store, 2, nullptr).empty());
  // Both readers go through their index, never a scan of the table.
  for (const char* q : {"SELECT data FROM kept_frames WHERE run_id = 1 ORDER BY ts_ns, point",
                        "SELECT data FROM kept_frames WHERE run_id = 1 AND digest = 5"}) {
    const std::string plan = raw(db_, std::string("EXPLAIN QUERY PLAN ") + q);
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << q << ": " << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << q << ": " << plan;
  }

  // A frame whose bytes lie outside the arena, or at a point the run does not have, is the
  // caller's bug: nothing of that run is written.
  pathtrace::Run bad = test::example_run();
  bad.kept = kept_of(bad, 64);
  bad.kept.frames.back().offset = uint32_t(bad.kept.data.size());
  EXPECT_EQ(error_of([&] { store.save(bad); }).first, ExitCode::kInternal);
  bad.kept = kept_of(bad, 64);
  bad.kept.frames.front().point = 7;
  EXPECT_EQ(error_of([&] { store.save(bad); }).first, ExitCode::kInternal);
  EXPECT_EQ(raw(db_, "SELECT count(*), max(run_id) FROM kept_frames"), "22|1\n");
  EXPECT_EQ(store.runs().size(), 2u);

  // Deleting a run deletes its frames (ON DELETE CASCADE, as every table of a run).
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, "PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 1", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM kept_frames"), "0\n");
}

// A live multi-host run stages frames on each host's own clock; when the analysis puts a host
// on the reference clock (apply_clocks), finish_run moves that point's frames with its
// sightings, so export still finds every frame's sighting.
TEST_F(StoreTest, KeptFramesFollowTheirPointOntoTheReferenceClock) {
  pathtrace::Run run = test::example_run();
  Store store(db_, Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(run.report);
  store.append(id, run.chains, 0, by_time(run));
  store.append_kept(id, kept_of(run, 64));
  pathtrace::Run analysed = run;
  analysed.report.points[6].clock_offset_ns = 5000;  // G's host is 5 µs ahead
  for (Sighting& s : analysed.sightings)
    if (s.point == 6) s.ts_ns -= 5000;
  store.finish_run(id, analysed);
  const std::vector<std::string> got = frames_read(store, id, nullptr);
  ASSERT_EQ(got.size(), run.sightings.size());
  EXPECT_EQ(got.front(), "6:-5000:136:174:1:64:ok");  // G's first frame, moved back 5 µs
  EXPECT_EQ(std::count(got.begin(), got.end(), "5:3000:136:178:1:64:ok"), 1);  // F: unmoved
  EXPECT_EQ(std::count(got.begin(), got.end(), "6:500010000:239:98:1:64:ok"), 1);  // was …015000
}

TEST_F(StoreTest, KeptFramesAppendedWhileCapturingSurviveFinishRun) {
  pathtrace::Run run = test::example_run();
  const std::vector<Sighting> arrived = by_time(run);
  const KeptFrames all = kept_of(run, 64);
  // The frames in two batches, as a live correlator would append them.
  KeptFrames first, second;
  for (std::size_t i = 0; i < all.frames.size(); ++i) {
    const KeptFrame& f = all.frames[i];
    (i < 10 ? first : second).add(f.point, f.digest, f.ts_ns, f.wire_len, f.linktype, all.bytes(f), 64);
  }
  Store store(db_, Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(run.report);
  EXPECT_EQ(error_of([&] { store.append_kept(id + 1, first); }),
            std::make_pair(ExitCode::kUsage, db_ + " has no run 2"));
  store.append(id, run.chains, 0, arrived);
  store.append_kept(id, first);
  {
    // A reader sees what was committed while the run is still capturing.
    Store reader(db_, Store::Mode::kReadOnly);
    EXPECT_TRUE(reader.has_kept(id));
    EXPECT_EQ(frames_read(reader, id, nullptr).size(), 10u);
  }
  store.append_kept(id, second);
  KeptFrames bad = second;
  bad.frames[0].point = 9;
  EXPECT_EQ(error_of([&] { store.append_kept(id, bad); }).first, ExitCode::kInternal);

  pathtrace::Run analysed = run;  // its kept frames all went through append_kept
  store.finish_run(id, analysed);
  EXPECT_EQ(store.status(id), RunStatus::kComplete);
  EXPECT_EQ(raw(db_, "SELECT (SELECT count(*) FROM staged_sightings), (SELECT count(*) FROM kept_frames)"),
            "0|22\n");
  // Exactly what save() of the same run with its frames stores.
  const std::string other = (dir_ / "saved.db").string();
  {
    Store saved(other, Store::Mode::kReadWrite);
    pathtrace::Run copy = run;
    copy.kept = all;
    saved.save(copy);
  }
  Store saved(other, Store::Mode::kReadOnly);
  EXPECT_EQ(frames_read(store, id, nullptr), frames_read(saved, 1, nullptr));
  for (const std::string& f : frames_read(store, id, nullptr)) EXPECT_NE(f.find(":ok"), std::string::npos) << f;

  // A complete run takes no more frames.
  const auto [code, what] = error_of([&] { store.append_kept(id, first); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_NE(what.find("run 1 is not capturing"), std::string::npos) << what;
}

// --------------------------------------------------------------- docs/schema.md examples
// Every ```sql block in docs/schema.md that is followed by a ```text block is run against
// the example run (saved as run 1), and its rows, printed like `sqlite3 -header` (list mode:
// a header line, then values joined by '|'), must equal the text block.

struct DocExample {
  std::string sql;
  std::string expected;
};

std::vector<DocExample> doc_examples() {
  std::ifstream in(std::string(PT_SOURCE_DIR) + "/docs/schema.md");
  std::vector<DocExample> out;
  std::string line, block, kind, pending_sql;
  bool in_block = false;
  while (std::getline(in, line)) {
    if (!in_block && line.rfind("```", 0) == 0) {
      in_block = true;
      kind = line.substr(3);
      block.clear();
    } else if (in_block && line == "```") {
      in_block = false;
      if (kind == "sql") {
        pending_sql = block;
      } else if (kind == "text" && !pending_sql.empty()) {
        out.push_back({pending_sql, block});
        pending_sql.clear();
      } else {
        pending_sql.clear();
      }
    } else if (in_block) {
      block += line + "\n";
    } else if (!line.empty()) {
      pending_sql.clear();  // prose between the blocks: not an example pair
    }
  }
  return out;
}

std::string run_like_shell(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db) + "\n";
  } else {
    const int n = sqlite3_column_count(st);
    for (int c = 0; c < n; ++c) out += (c ? "|" : "") + std::string(sqlite3_column_name(st, c));
    out += '\n';
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < n; ++c) {
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

TEST_F(StoreTest, DocumentedExampleQueriesGiveTheDocumentedRows) {
  pathtrace::Run run = test::example_run();
  { Store store(db_, Store::Mode::kReadWrite); store.save(run); }
  if (const char* keep = std::getenv("PATHTRACE_KEEP_EXAMPLE_DB")) fs::copy_file(db_, keep, fs::copy_options::overwrite_existing);
  const auto examples = doc_examples();
  ASSERT_GE(examples.size(), 3u) << "docs/schema.md should hold 3+ example queries with output";
  for (const auto& ex : examples) {
    EXPECT_EQ(run_like_shell(db_, ex.sql), ex.expected) << ex.sql;
  }
}

}  // namespace
}  // namespace pathtrace
