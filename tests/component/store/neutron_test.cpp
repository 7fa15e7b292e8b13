// The Neutron evidence of a run (Run::neutron: the discovered path, the rule counters that
// grew, the rules blamed) is written in the run's own transaction, by save() and by
// finish_run(): a run and its explanation are stored both or neither.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "correlator/store/store.hpp"
#include "tests/component/example_run.hpp"
#include "tests/component/store/fixture.hpp"

namespace pathtrace {
namespace {

using test::by_time;
using test::error_of;
using test::StoreTest;

constexpr const char* kFallbackPath =
    "FORWARD → neutron-openvswi-FORWARD → neutron-openvswi-sg-chain → "
    "neutron-openvswi-ibdd1f2c3-b → neutron-openvswi-sg-fallback: DROP";

// What `run --explain` found for the incident: the hybrid path of port bdd1f2c3, the
// fallback DROP rule's counter grown by the 200 lost packets, and that rule blamed.
NeutronEvidence incident_evidence() {
  NeutronEvidence ev;
  NeutronEvidence::Discovery d;
  d.port = "bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d";
  d.layout = "hybrid";
  d.bridges = {"br-int", "br-ethx"};
  d.points = {{"A", "vm", "local", "ptlab-vm", "eth0", "the VM"},
              {"B", "tap", "local", "ptlab-hv", "tapbdd1f2c3-bd", "tap"}};
  d.notes = {"br-int: internal"};
  ev.discovery = d;
  NeutronEvidence::Counter fallback;
  fallback.layer = "iptables";
  fallback.table = "filter";
  fallback.chain = "neutron-openvswi-sg-fallback";
  fallback.index = 1;
  fallback.rule = "-A neutron-openvswi-sg-fallback -m comment --comment \"default drop rule for "
                  "unmatched traffic\" -j DROP";
  fallback.target = "DROP";
  fallback.packets = 200;
  fallback.bytes = 200 * 174;
  NeutronEvidence::Counter port_chain = fallback;
  port_chain.chain = "neutron-openvswi-ibdd1f2c3-b";
  port_chain.index = 0;
  port_chain.rule = "-P neutron-openvswi-ibdd1f2c3-b";
  port_chain.target = "neutron-openvswi-sg-fallback";
  ev.deltas = {fallback, port_chain};
  NeutronEvidence::Blame blame;
  blame.layer = "iptables";
  blame.table = "filter";
  blame.chain_path = kFallbackPath;
  blame.rule = fallback.rule;
  blame.verdict = "DROP";
  blame.packets = 200;
  blame.rule_packets = 200;
  blame.port_chain = "neutron-openvswi-ibdd1f2c3-b";
  blame.direction = "ingress";
  blame.suggestion = "allow IPIP (protocol 4) in";
  blame.suggested_rule = "-A neutron-openvswi-ibdd1f2c3-b -p 4 -j RETURN";
  ev.blamed = {blame};
  return ev;
}

// The Neutron rows of every run, as a person would look for them.
std::string neutron_rows(const std::string& db) {
  return StoreTest::raw(db, "SELECT 'discovery', run_id, port, layout, bridges, notes FROM neutron_discovery") +
         StoreTest::raw(db, "SELECT 'point', run_id, ord, label, role, netns, iface, what FROM neutron_points ORDER BY run_id, ord") +
         StoreTest::raw(db, "SELECT 'delta', run_id, id, chain, rule_index, target, packets FROM counter_deltas ORDER BY run_id, id") +
         StoreTest::raw(db, "SELECT 'blame', run_id, rank, chain_path, verdict, packets, suggested_rule FROM attributions ORDER BY run_id, rank");
}

std::string incident_rows(int run_id) {
  const std::string r = std::to_string(run_id);
  return "discovery|" + r + "|bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d|hybrid|br-int br-ethx|br-int: internal\n\n"
         "point|" + r + "|0|A|vm|ptlab-vm|eth0|the VM\n"
         "point|" + r + "|1|B|tap|ptlab-hv|tapbdd1f2c3-bd|tap\n"
         "delta|" + r + "|1|neutron-openvswi-sg-fallback|1|DROP|200\n"
         "delta|" + r + "|2|neutron-openvswi-ibdd1f2c3-b|0|neutron-openvswi-sg-fallback|200\n"
         "blame|" + r + "|1|" + kFallbackPath + "|DROP|200|-A neutron-openvswi-ibdd1f2c3-b -p 4 -j RETURN\n";
}

TEST_F(StoreTest, SaveStoresTheRunsNeutronEvidence) {
  Store store(db_, Store::Mode::kReadWrite);
  pathtrace::Run plain = test::example_run();  // no evidence: no rows
  EXPECT_EQ(store.save(plain), 1);
  EXPECT_EQ(neutron_rows(db_), "");
  pathtrace::Run run = test::example_run();
  run.neutron = incident_evidence();
  EXPECT_EQ(store.save(run), 2);
  EXPECT_EQ(neutron_rows(db_), incident_rows(2));
  // Evidence without a discovery (explain with an inventory of its own): counters and blame.
  pathtrace::Run no_discovery = test::example_run();
  no_discovery.neutron = incident_evidence();
  no_discovery.neutron->discovery.reset();
  EXPECT_EQ(store.save(no_discovery), 3);
  EXPECT_EQ(raw(db_, "SELECT run_id, count(*) FROM counter_deltas GROUP BY run_id"), "2|2\n3|2\n");
  EXPECT_EQ(raw(db_, "SELECT run_id, count(*) FROM attributions GROUP BY run_id"), "2|1\n3|1\n");
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM neutron_discovery WHERE run_id = 3"), "0\n");
  // Deleting a run deletes its evidence (ON DELETE CASCADE).
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &h), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, "PRAGMA foreign_keys = ON; DELETE FROM runs WHERE id = 3", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM counter_deltas WHERE run_id = 3"), "0\n");
}

TEST_F(StoreTest, FinishRunStoresTheRunsNeutronEvidence) {
  pathtrace::Run run = test::example_run();
  Store store(db_, Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(run.report);
  store.append(id, run.chains, 0, by_time(run));
  pathtrace::Run analysed = run;
  analysed.neutron = incident_evidence();
  store.finish_run(id, analysed);
  EXPECT_EQ(store.status(id), RunStatus::kComplete);
  EXPECT_EQ(neutron_rows(db_), incident_rows(1));
}

// A failure while the evidence is written (the last rows of the transaction) leaves neither
// the run's analysis nor its evidence: a staged run stays capturing with its staged rows, and
// can be finished again; a saved run is not there at all.
TEST_F(StoreTest, ARunAndItsNeutronEvidenceAreStoredBothOrNeither) {
  pathtrace::Run run = test::example_run();
  Store store(db_, Store::Mode::kReadWrite);
  const int64_t id = store.begin_run(run.report);
  store.append(id, run.chains, 0, by_time(run));
  EXPECT_EQ(raw(db_, "CREATE TRIGGER fail BEFORE INSERT ON attributions "
                     "BEGIN SELECT RAISE(ABORT, 'injected'); END;"),
            "");

  pathtrace::Run analysed = run;
  analysed.neutron = incident_evidence();
  auto [code, what] = error_of([&] { store.finish_run(id, analysed); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_EQ(what.rfind("database " + db_ + ": ", 0), 0u) << what;
  EXPECT_NE(what.find("injected"), std::string::npos) << what;
  EXPECT_EQ(store.status(id), RunStatus::kCapturing);
  EXPECT_EQ(raw(db_, "SELECT status, sightings FROM runs"), "capturing|22\n");
  for (const char* table : {"flows", "stacks", "traversal_blocks", "flow_results", "hops",
                            "neutron_discovery", "neutron_points", "counter_deltas", "attributions"}) {
    EXPECT_EQ(raw(db_, std::string("SELECT count(*) FROM ") + table), "0\n") << table;
  }
  EXPECT_EQ(store.load(id).results.size(), 0u);
  std::vector<Point> points;
  std::vector<Chain> chains;
  std::vector<Sighting> staged;
  ASSERT_TRUE(store.load_staged(id, points, chains, staged));
  EXPECT_EQ(staged.size(), run.sightings.size());

  // save() of another run with evidence: nothing of it is stored.
  pathtrace::Run saved = test::example_run();
  saved.neutron = incident_evidence();
  std::tie(code, what) = error_of([&] { store.save(saved); });
  EXPECT_EQ(code, ExitCode::kDatabase);
  EXPECT_NE(what.find("injected"), std::string::npos) << what;
  EXPECT_EQ(store.runs().size(), 1u);
  EXPECT_EQ(raw(db_, "SELECT count(*) FROM points"), "7\n");  // the staged run's only
  EXPECT_EQ(neutron_rows(db_), "");
  // finish_run left WAL for its bulk write (the capture was over), and stays out of it.
  EXPECT_EQ(raw(db_, "PRAGMA journal_mode"), "delete\n");

  // Once the cause is gone the staged run finishes with its evidence.
  EXPECT_EQ(raw(db_, "DROP TRIGGER fail"), "");
  store.finish_run(id, analysed);
  EXPECT_EQ(store.status(id), RunStatus::kComplete);
  EXPECT_EQ(neutron_rows(db_), incident_rows(1));
  EXPECT_EQ(store.load(id).results.size(), run.report.results.size());
}

}  // namespace
}  // namespace pathtrace
