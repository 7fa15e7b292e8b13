// The pathtrace binary end to end: the incident captures in pcaps/, and every kind of bad
// input the core issue lists, each with its message and documented exit code.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collector/pcapfile/pcapfile.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;

namespace {

using namespace pathtrace::test;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pathtrace-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::vector<std::string>& args) { return run_pathtrace(args, dir_); }

  std::string db() const { return (dir_ / "t.db").string(); }
  static std::string pcaps(const std::string& rel) {
    return std::string(PATHTRACE_SOURCE_DIR) + "/pcaps/" + rel;
  }

  // One row of a query against the run's database, as text columns.
  std::vector<std::vector<std::string>> sql(const std::string& q) {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db().c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, q.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(h);
    std::vector<std::vector<std::string>> rows;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return rows;
  }

  // A tiny valid pcap with one TCP/IPv4 frame.
  std::string tiny_pcap(const std::string& name, uint32_t linktype = 1) {
    const std::string path = (dir_ / name).string();
    pathtrace::pcapfile::Writer w(path, linktype);
    std::vector<uint8_t> f = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,                    // eth
        0x45, 0, 0, 40, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 20,  // ipv4
        0x9c, 0x40, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};  // tcp
    w.write(1'000'000'000, f);
    return path;
  }

  fs::path dir_;
};

const char* kInventoryBroken = "incident-broken/inventory.toml";
const char* kInventoryFixed = "incident-fixed/inventory.toml";

// --- the incident -------------------------------------------------------------------------

TEST_F(Cli, BrokenSecurityGroupDisappearsBetweenCAndB) {
  const auto r = run({"ingest", "--db", db(), "--inventory", pcaps(kInventoryBroken), "--filter", "ipip"});
  ASSERT_EQ(r.code, 1) << "a flow lost packets: exit 1\n" << r.err;
  EXPECT_NE(r.out.find("verdict: IPIP 198.18.0.1 → 198.18.0.20: disappears between C (qbr "
                       "qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(100%)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stored as run 1 in " + db()), std::string::npos) << r.out;

  // The database says the same: every judged IPIP packet entered at G and was lost at C → B.
  const auto hops = sql(
      "SELECT from_label, to_label, packets_in, packets_out, lost FROM hop_loss WHERE lost > 0 AND run_id = 1");
  ASSERT_EQ(hops.size(), 1u);
  EXPECT_EQ(hops[0][0], "C");
  EXPECT_EQ(hops[0][1], "B");
  EXPECT_EQ(hops[0][2], hops[0][4]) << "100% lost";
  EXPECT_GE(std::stoi(hops[0][4]), 100);
  // Nothing of the tunnel was seen at A or B.
  const auto seen = sql(
      "SELECT point, COUNT(*) FROM observations WHERE run_id = 1 GROUP BY point ORDER BY point");
  ASSERT_EQ(seen.size(), 5u) << "IPIP sightings only at C..G";
  EXPECT_EQ(seen.front()[0], "C");
}

TEST_F(Cli, FixedSecurityGroupDeliversToA) {
  const auto r = run({"ingest", "--db", db(), "--inventory", pcaps(kInventoryFixed), "--filter", "ipip"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("verdict: delivered"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("lost between"), std::string::npos) << r.out;
  const auto a = sql("SELECT COUNT(*) FROM observations WHERE run_id = 1 AND point = 'A'");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_GE(std::stoi(a[0][0]), 100) << "IPIP reached the VM";
}

TEST_F(Cli, SshTcpFlowDeliveredInBothStates) {
  for (const char* inv : {kInventoryBroken, kInventoryFixed}) {
    const auto r = run({"ingest", "--db", db(), "--inventory", pcaps(inv), "--filter", "tcp port 22", "--json"});
    ASSERT_EQ(r.code, 0) << inv << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_FALSE(j["results"].empty()) << inv;
    for (const auto& res : j["results"]) {
      if (res["judged"].get<int>() == 0) continue;
      EXPECT_EQ(res["verdict"], "delivered") << inv << " " << res["flow_label"];
      EXPECT_EQ(res["lost"], 0) << inv;
    }
    EXPECT_EQ(j["verdict"]["loss"], false) << inv;
  }
}

TEST_F(Cli, ReportReadsTheStoredRunBack) {
  ASSERT_EQ(run({"ingest", "--db", db(), "--inventory", pcaps(kInventoryBroken), "--filter", "ipip"}).code, 1);
  ASSERT_EQ(run({"ingest", "--db", db(), "--inventory", pcaps(kInventoryFixed), "--filter", "ipip"}).code, 0);
  const auto r1 = run({"report", "--db", db(), "--run", "1"});
  ASSERT_EQ(r1.code, 1) << "run 1 lost packets: exit 1\n" << r1.err;
  EXPECT_NE(r1.out.find("disappears between C"), std::string::npos) << r1.out;
  const auto latest = run({"report", "--db", db()});
  EXPECT_NE(latest.out.find("verdict: delivered"), std::string::npos) << latest.out;
  const auto js = run({"report", "--db", db(), "--run", "1", "--json", "--fail-on-loss"});
  EXPECT_EQ(js.code, 1) << "loss found";
  const auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["format"], "pathtrace-report");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["results"][0]["verdict"], "disappears");
  EXPECT_EQ(j["results"][0]["headline_hop"]["from"], "C");
  EXPECT_EQ(j["results"][0]["headline_hop"]["to"], "B");
  const auto runs = run({"runs", "--db", db()});
  EXPECT_NE(runs.out.find("run 2"), std::string::npos) << runs.out;
  EXPECT_NE(runs.out.find("run 1"), std::string::npos) << runs.out;
  const auto none = run({"report", "--db", db(), "--run", "9"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no run 9"), std::string::npos) << none.err;
}

TEST_F(Cli, ARawFilterAlsoMatchesVlanTaggedFrames) {
  // F (br-ethx) saw the incident's packets behind an 802.1Q tag: `ip proto 4` alone, as
  // libpcap reads it, would match none of them there and make F look blind.
  const auto r = run({"ingest", "--db", db(), "--json", "--inventory", pcaps(kInventoryBroken), "--filter", "ip proto 4"});
  ASSERT_EQ(r.code, 1) << "the incident loses packets: exit 1\n" << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& p : j["points"]) EXPECT_EQ(p["health"]["usable"], true) << p.dump();
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["seen_at"]["F"], 200);
  EXPECT_EQ(j["results"][0]["verdict"], "disappears");
  EXPECT_EQ(j["results"][0]["headline_hop"]["from"], "C");
  EXPECT_EQ(j["filter"], "ip proto 4");
  EXPECT_EQ(j["warnings"].size(), 0u) << j["warnings"].dump();
}

TEST_F(Cli, InlinePointsAndOrderMatchTheInventory) {
  std::vector<std::string> args = {"ingest", "--db", db(), "--filter", "ipip", "--order", "A..G"};
  // Given NIC side first; --order A..G makes A the first point of the path anyway.
  for (char c = 'G'; c >= 'A'; --c)
    args.push_back(std::string(1, c) + "=" + pcaps("incident-broken/") + c + ".pcap");
  const auto r = run(args);
  ASSERT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("disappears between C"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("and B"), std::string::npos) << r.out;
}

// --- bad input: one clear message naming the culprit, a documented exit code --------------

TEST_F(Cli, MissingFile) {
  const auto r = run({"ingest", "--db", db(), "A=" + (dir_ / "nope.pcap").string(), "B=" + tiny_pcap("b.pcap")});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("point A"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nope.pcap"), std::string::npos) << r.err;
}

TEST_F(Cli, EmptyFile) {
  const std::string empty = (dir_ / "empty.pcap").string();
  std::ofstream(empty).close();
  const auto r = run({"ingest", "--db", db(), "A=" + tiny_pcap("a.pcap"), "B=" + empty});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("point B"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
}

TEST_F(Cli, NotAPcap) {
  const std::string txt = (dir_ / "notes.txt").string();
  std::ofstream(txt) << "this is not a capture\n";
  const auto r = run({"ingest", "--db", db(), "A=" + txt, "B=" + tiny_pcap("b.pcap")});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("notes.txt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not a pcap"), std::string::npos) << r.err;
}

// A capture cut anywhere after its header (killed, disk full, `head -c`) is read up to the cut
// with one warning naming the point, the file and the byte; cut inside its header, there is
// nothing to read: exit 3, nothing stored.
TEST_F(Cli, FileCutAnywhereIsReadUpToTheCutAndSaysWhere) {
  const std::string whole = slurp(pcaps("incident-broken/C.pcap"));
  ASSERT_GT(whole.size(), 200u);
  const std::string path = (dir_ / "cut.pcap").string();
  int warned = 0, clean = 0;
  for (std::size_t cut : {std::size_t(1), std::size_t(10), std::size_t(23), std::size_t(24),
                          std::size_t(30), std::size_t(39), whole.size() / 3, whole.size() / 2,
                          whole.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    std::ofstream(path, std::ios::binary) << whole.substr(0, cut);
    const auto r = run({"ingest", "--db", db(), "--filter", "ipip", "C=" + path, "D=" + pcaps("incident-broken/D.pcap")});
    if (cut < 24) {
      EXPECT_EQ(r.code, 3);
      EXPECT_EQ(r.err.rfind("pathtrace ingest: point C: " + path + ": header cut short", 0), 0u) << r.err;
      continue;
    }
    EXPECT_TRUE(r.code == 0 || r.code == 1) << r.err;
    const std::string warning = "warning: point C: " + path + ": cut short at byte " + std::to_string(cut) + " (inside packet record ";
    const auto at = r.out.find(warning);
    if (at == std::string::npos) {  // the cut fell exactly on a record boundary: a whole file
      EXPECT_EQ(r.out.find("cut short"), std::string::npos) << r.out;
      ++clean;
      continue;
    }
    EXPECT_EQ(r.out.find("cut short", at + warning.size()), std::string::npos) << "one warning: " << r.out;
    ++warned;
  }
  EXPECT_EQ(warned, 5);
  EXPECT_EQ(clean, 1);  // byte 24: the header alone
  const auto runs = sql("SELECT COUNT(*) FROM runs");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0][0], "6");  // nothing stored for the three cut inside the header
}

TEST_F(Cli, UnsupportedLinkType) {
  const auto r = run({"ingest", "--db", db(), "A=" + tiny_pcap("wifi.pcap", 105), "B=" + tiny_pcap("b.pcap")});
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("link type 105"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wifi.pcap"), std::string::npos) << r.err;
}

TEST_F(Cli, OnePointIsRefused) {
  const auto r = run({"ingest", "--db", db(), "C=" + pcaps("incident-broken/C.pcap")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("a path needs at least two points"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(db())) << "nothing stored";
}

using json = nlohmann::json;

// A capture of `n` copies of one TCP frame, 1 ms apart, whose last frame's TCP sequence number
// is `last_seq`: files of the same size that differ only at the end (> 1 MiB for n = 30,000).
std::string long_pcap(const fs::path& path, int n, uint8_t last_seq) {
  pathtrace::pcapfile::Writer w(path.string(), 1);
  std::vector<uint8_t> f = {
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,                                   // eth
      0x45, 0, 0, 40, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 198, 18, 0, 1, 198, 18, 0, 20,  // ipv4
      0x9c, 0x40, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0};  // tcp
  for (int i = 0; i < n; ++i) {
    if (i == n - 1) f[14 + 20 + 7] = last_seq;
    w.write(1'000'000'000 + int64_t(i) * 1'000'000, f);
  }
  w.close();
  return path.string();
}

TEST_F(Cli, ACopyOfAPointsFileIsTheSameCaptureAndAFileAlikeOnlyAtFirstIsNot) {
  // B and C: the same bytes up to the last frame; D: a byte-for-byte copy of C at another path.
  const std::string a = long_pcap(dir_ / "a.pcap", 30000, 1), b = long_pcap(dir_ / "b.pcap", 30000, 2),
                    c = long_pcap(dir_ / "c.pcap", 30000, 3);
  fs::copy_file(c, dir_ / "d.pcap");
  ASSERT_GT(fs::file_size(b), std::uintmax_t(1) << 20);
  ASSERT_EQ(fs::file_size(b), fs::file_size(c));
  const auto r = run({"ingest", "--db", db(), "--json", "-q", "A=" + a, "B=" + b, "C=" + c,
                      "D=" + (dir_ / "d.pcap").string()});
  ASSERT_TRUE(json::accept(r.out)) << r.out << r.err;
  const json points = json::parse(r.out)["points"];
  ASSERT_EQ(points.size(), 4u);
  for (int i : {0, 1}) EXPECT_NE(points[i]["health"]["problem"], "identical") << points[i].dump();
  for (int i : {2, 3}) {
    EXPECT_EQ(points[i]["health"]["problem"], "identical") << points[i].dump();
    EXPECT_FALSE(points[i]["health"]["usable"]) << points[i].dump();
  }
  EXPECT_NE(points[3]["health"]["detail"].get<std::string>().find("byte for byte point C's"), std::string::npos)
      << points[3].dump();
}

TEST_F(Cli, DuplicateLabel) {
  const auto a = tiny_pcap("a.pcap");
  const auto r = run({"ingest", "--db", db(), "A=" + a, "A=" + a});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("point A is given twice"), std::string::npos) << r.err;
}

TEST_F(Cli, UnknownPointInOrder) {
  const auto r = run({"ingest", "--db", db(), "--order", "A..Q", "A=" + tiny_pcap("a.pcap")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no point 'Q'"), std::string::npos) << r.err;
}

TEST_F(Cli, BadPointSpecAndBadFilter) {
  auto r = run({"ingest", "--db", db(), "just-a-file.pcap"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("LABEL"), std::string::npos) << r.err;
  r = run({"ingest", "--db", db(), "--filter", "ip proto nonsense(", "A=" + tiny_pcap("a.pcap"), "B=" + tiny_pcap("b.pcap")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--filter"), std::string::npos) << r.err;
}

// --memory takes a size; a nonsense one or one too small to hold anything is a usage error
// naming the argument, for every command that takes it, before anything is read or captured.
TEST_F(Cli, AMemoryBudgetIsASize) {
  for (const char* command : {"ingest", "correlate", "run"}) {
    for (const auto& [value, says] : {std::pair{"12Q", "--memory '12Q': expected a size like 512M, 2G"},
                                      std::pair{"100", "--memory '100': at least 1K (or 0: no limit)"},
                                      std::pair{"-1G", "--memory '-1G': expected a size like 512M, 2G"}}) {
      std::vector<std::string> args = {command, "--db", db(), "--memory", value};
      if (std::string(command) == "ingest") args.insert(args.end(), {"A=" + tiny_pcap("a.pcap"), "B=" + tiny_pcap("b.pcap")});
      if (std::string(command) == "correlate") args.insert(args.end(), {"--points", "A,B", "--stdin"});
      if (std::string(command) == "run") args.insert(args.end(), {"--point", "A=local:lo", "--point", "B=local:lo"});
      const auto r = run(args);
      EXPECT_EQ(r.code, 2) << command << " " << value << ": " << r.err;
      EXPECT_NE(r.err.find(says), std::string::npos) << command << " " << value << ": " << r.err;
    }
  }
  // Past the budget, -v says where the sightings went.
  const auto spilled = run({"ingest", "-v", "-q", "--db", db(), "--memory", "1K", "--filter", "ipip", "--inventory",
                            source("pcaps/incident-broken/inventory.toml")});
  EXPECT_EQ(spilled.code, 1) << spilled.err;
  EXPECT_NE(spilled.err.find("ingest: past --memory 1K: the sightings went to 2 digest ranges on disk in " +
                             fs::path(db()).parent_path().string() + "\n"),
            std::string::npos)
      << spilled.err;
  // A size with its unit spelled out, and 0 (no limit), are taken.
  for (const char* value : {"64MiB", "1g", "0"})
    EXPECT_EQ(run({"ingest", "--db", db(), "--memory", value, "A=" + tiny_pcap("a.pcap"), "B=" + tiny_pcap("b.pcap")}).code, 0)
        << value;
}

TEST_F(Cli, UnwritableDatabase) {
  const auto r = run({"ingest", "--db", (dir_ / "no-such-dir" / "x.db").string(), "A=" + tiny_pcap("a.pcap"),
                      "B=" + tiny_pcap("b.pcap")});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("x.db"), std::string::npos) << r.err;
}

TEST_F(Cli, DatabaseFromANewerPathtrace) {
  ASSERT_EQ(run({"ingest", "--db", db(), "A=" + tiny_pcap("a.pcap"), "B=" + tiny_pcap("b.pcap")}).code, 0);
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "PRAGMA user_version = 999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  const auto r = run({"ingest", "--db", db(), "A=" + tiny_pcap("a2.pcap"), "B=" + tiny_pcap("b2.pcap")});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("newer"), std::string::npos) << r.err;
  const auto rep = run({"report", "--db", db()});
  EXPECT_EQ(rep.code, 4);
}

TEST_F(Cli, HelpAndUsage) {
  auto r = run({"ingest", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("examples:"), std::string::npos);
  EXPECT_NE(r.out.find("ipip"), std::string::npos) << "aliases listed";
  r = run({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  r = run({"ingest", "--no-such-option"});
  EXPECT_EQ(r.code, 2);
  r = run({});
  EXPECT_EQ(r.code, 2);
}

}  // namespace
