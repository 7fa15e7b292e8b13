// The evidence commands end to end on the committed incident captures: `runs`, `timeline`,
// `query` (read-only, the worked examples of docs/evidence.md), `report --json` (its pinned
// structure, docs/report-json.md) and `report --html` (rendered in headless Chromium).

#include <gtest/gtest.h>

#include "harness.hpp"
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using namespace pathtrace::test;

// The incident databases are built once for the whole suite: run 1 is the broken security
// group (IPIP vanishes between C and B), run 2 the SSH flow of the same captures; fixed.db
// holds the fixed state as run 1.
class Evidence : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("pathtrace-evidence-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    const fs::path d = *dir_;
    ingest(broken_db(), "pcaps/incident-broken/inventory.toml", "ipip", 1);
    ingest(broken_db(), "pcaps/incident-broken/inventory.toml", "tcp port 22", 0);
    ingest(fixed_db(), "pcaps/incident-fixed/inventory.toml", "ipip", 0);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  // Ingests a set; `code` is the exit code it must give (1: a flow lost packets). Anything else
  // fails every test of the suite (SetUp), never skips it silently.
  static void ingest(const std::string& db, const std::string& inventory, const std::string& filter, int code) {
    const Result r = sh(quote(PATHTRACE_BIN) + " ingest --db " + quote(db) + " --inventory " +
                            quote(source(inventory)) + " --filter " + quote(filter),
                        *dir_);
    if (r.code != code)
      *setup_error_ += "ingest " + inventory + " --filter " + filter + " exited " + std::to_string(r.code) + ": " + r.err;
  }
  void SetUp() override {
    if (!setup_error_->empty()) FAIL() << *setup_error_;
  }
  static inline std::string* setup_error_ = new std::string;
  static std::string broken_db() { return (*dir_ / "broken.db").string(); }
  static std::string fixed_db() { return (*dir_ / "fixed.db").string(); }

  Result run(const std::vector<std::string>& args) {
    std::string cmd = quote(PATHTRACE_BIN);
    for (const auto& a : args) cmd.append(" ").append(quote(a));
    return sh(cmd, *dir_);
  }

  // Lines of `text` that contain `needle`.
  static std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
      if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
  }

  static fs::path* dir_;
};
fs::path* Evidence::dir_ = nullptr;

// --- runs ---------------------------------------------------------------------------------

TEST_F(Evidence, RunsListsBothIncidentRunsNewestFirst) {
  const Result r = run({"runs", "--db", broken_db()});
  ASSERT_EQ(r.code, 0) << r.err;
  // Run 2's `tcp port 22` also keeps the 55 SSH frames F (br-ethx) saw behind an 802.1Q tag.
  const std::regex expected(
      "run 2  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  complete  7 points  385 sightings  "
      "filter tcp port 22\n"
      "    delivered: 36 of 36 reached A \\(vm eth0\\)\n"
      "run 1  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  complete  7 points  1000 sightings  "
      "filter ipip\n"
      "    disappears between C \\(qbr qbrbdd1f2c3-bd\\) and B \\(tap tapbdd1f2c3-bd\\): 200 of "
      "200 lost \\(100%\\)\n");
  EXPECT_TRUE(std::regex_match(r.out, expected)) << r.out;

  const Result f = run({"runs", "--db", fixed_db()});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find("complete  7 points  1400 sightings  filter ipip\n"
                       "    delivered: 200 of 200 reached A (vm eth0)\n"),
            std::string::npos)
      << f.out;
}

// --- timeline -----------------------------------------------------------------------------

TEST_F(Evidence, TimelineLostListsEveryVanishedPacketWithItsLastPoint) {
  const Result r = run({"timeline", "--db", broken_db(), "--run", "1", "--lost", "--limit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("run 1 · 200 lost packets\n", 0), 0u) << r.out;
  // One row per lost packet: entered at G, last seen at C, never at B, seen by G F E D C.
  const auto rows = lines_with(r.out, "  GFEDC");
  ASSERT_EQ(rows.size(), 200u) << r.out;
  for (const auto& l : rows) {
    EXPECT_NE(l.find("IPIP 198.18.0.1 → 198.18.0.20  reverse  G  "), std::string::npos) << l;
    EXPECT_NE(l.find("C qbr qbrbdd1f2c3-bd@hv1  B tap tapbdd1f2c3-bd@hv1"), std::string::npos) << l;
  }
  EXPECT_NE(r.out.find("\nlast seen at C qbr qbrbdd1f2c3-bd@hv1: 200\n"), std::string::npos) << r.out;
  // The lost are read from their own rows (lost_blocks); a run stored before schema 7 has
  // none and is scanned whole: the same list.
  const fs::path old_db = *dir_ / "before-schema-7.db";
  fs::copy_file(broken_db(), old_db, fs::copy_options::overwrite_existing);
  ASSERT_EQ(sh("sqlite3 " + old_db.string() + " 'DELETE FROM lost_blocks; UPDATE runs SET lost_indexed = 0'", *dir_).code, 0);
  const Result scanned = run({"timeline", "--db", old_db.string(), "--run", "1", "--lost", "--limit", "0"});
  ASSERT_EQ(scanned.code, 0) << scanned.err;
  EXPECT_EQ(scanned.out, r.out);

  // --point filters on the last point; nothing was last seen at D.
  const Result d = run({"timeline", "--db", broken_db(), "--run", "1", "--lost", "--point", "D"});
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(d.out, "run 1 · 0 lost packets last seen at D\n");
  // The fixed security group loses nothing.
  const Result f = run({"timeline", "--db", fixed_db(), "--lost"});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(f.out, "run 1 · 0 lost packets\n");
}

TEST_F(Evidence, TimelinePacketFollowsOneDigestWithPerHopDelays) {
  // Take the first lost packet's digest from --lost, as a user would.
  const Result lost = run({"timeline", "--db", broken_db(), "--run", "1", "--lost", "--limit", "1"});
  ASSERT_EQ(lost.code, 0) << lost.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(lost.out, m, std::regex("Z  ([0-9a-f]{16})  "))) << lost.out;
  const std::string digest = m[1];

  const Result r = run({"timeline", "--db", broken_db(), "--run", "1", "--packet", digest});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("run 1 · packet " + digest + " · traversal "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IPIP 198.18.0.1 → 198.18.0.20 · lost: last seen at C qbr "
                       "qbrbdd1f2c3-bd@hv1, never at B tap tapbdd1f2c3-bd@hv1\n"),
            std::string::npos)
      << r.out;
  // Five sightings, G to C in time order, each after the first with the delay from the
  // previous point on hv1; F carries the VLAN tag (4 bytes more).
  const auto rows = lines_with(r.out, "  " + digest);
  ASSERT_EQ(rows.size(), 5u) << r.out;
  const char* order[] = {"  G  ", "  F  ", "  E  ", "  D  ", "  C  "};
  const char* delay[] = {"  -  ", "  G→F +", "  F→E +", "  E→D +", "  D→C +"};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_NE(rows[i].find(order[i]), std::string::npos) << rows[i];
    EXPECT_NE(rows[i].find(delay[i]), std::string::npos) << rows[i];
    EXPECT_NE(rows[i].find("@hv1"), std::string::npos) << rows[i];
  }
  EXPECT_NE(rows[1].find("eth/vlan/ipv4[ipip]/ipv4/tcp   82"), std::string::npos) << rows[1];
  EXPECT_NE(rows[0].find("eth/ipv4[ipip]/ipv4/tcp        78"), std::string::npos) << rows[0];
  // 0x prefix and upper case work too.
  std::string upper = digest;
  for (auto& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(run({"timeline", "--db", broken_db(), "--run", "1", "--packet", "0x" + upper}).out, r.out);
}

TEST_F(Evidence, TimelineFlowAndPointOnTheFixedRun) {
  // In the fixed state every IPIP packet reaches the VM: 200 sightings at A, on host vm1,
  // where no earlier point on the same host saw them (no delay).
  const Result r = run({"timeline", "--db", fixed_db(), "--flow", "1", "--point", "A", "--limit", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("run 1 · flow 1 IPIP 198.18.0.1 → 198.18.0.20 · 200 sightings of 200 "
                        "packets at A\n", 0),
            0u)
      << r.out;
  const auto rows = lines_with(r.out, "  eth0@vm1  ");
  ASSERT_EQ(rows.size(), 200u);
  for (const auto& l : rows) EXPECT_NE(l.find("  vm  "), std::string::npos) << l;
  // The whole flow, limited: the earliest 7 sightings, in time order.
  const Result lim = run({"timeline", "--db", fixed_db(), "--flow", "1", "--limit", "7"});
  ASSERT_EQ(lim.code, 0) << lim.err;
  EXPECT_NE(lim.out.find("1400 sightings of 200 packets · showing the first 7 (--limit 0 for all)"),
            std::string::npos)
      << lim.out;
  const auto seven = lines_with(lim.out, "Z  ");
  ASSERT_EQ(seven.size(), 7u) << lim.out;
  for (std::size_t i = 1; i < seven.size(); ++i) EXPECT_LE(seven[i - 1].substr(0, 30), seven[i].substr(0, 30));
}

TEST_F(Evidence, TimelineErrorsNameWhatIsWrong) {
  Result r = run({"timeline", "--db", broken_db(), "--run", "9"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has no run 9"), std::string::npos) << r.err;
  r = run({"timeline", "--db", broken_db(), "--run", "1", "--packet", "0123456789abcdef"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("run 1 has no packet 0123456789abcdef"), std::string::npos) << r.err;
  r = run({"timeline", "--db", broken_db(), "--packet", "xyz"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--packet xyz: not a digest"), std::string::npos) << r.err;
  r = run({"timeline", "--db", broken_db(), "--run", "1", "--point", "Q"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("run 1 has no point Q (points: A,B,C,D,E,F,G)"), std::string::npos) << r.err;
  r = run({"timeline", "--db", broken_db(), "--run", "1", "--flow", "999"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("run 1 has no flow 999"), std::string::npos) << r.err;
  r = run({"timeline", "--db", broken_db(), "--lost", "--flow", "1"});
  EXPECT_EQ(r.code, 2);
  r = run({"timeline", "--db", (*dir_ / "missing.db").string()});
  EXPECT_EQ(r.code, 4) << r.err;
  r = run({"timeline", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("examples:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--lost"), std::string::npos) << r.out;
}

// --- query --------------------------------------------------------------------------------

TEST_F(Evidence, QueryRefusesEveryKindOfWrite) {
  const std::string before = slurp(broken_db());
  const std::vector<std::pair<std::string, std::string>> writes = {
      {"INSERT INTO runs (started, command, window_start_ns, window_end_ns, sightings) VALUES ('x', 'y', 0, 0, 0)",
       "INSERT into runs"},
      {"UPDATE points SET label = 'Z'", "UPDATE of points"},
      {"DELETE FROM hops", "DELETE from hops"},
      {"DROP TABLE points", "would write"},
      {"DROP VIEW timeline", "would write"},
      {"ATTACH DATABASE '" + (*dir_ / "other.db").string() + "' AS other", "ATTACH"},
      {"PRAGMA user_version = 99", "PRAGMA user_version = 99"},
      {"PRAGMA query_only = 0", "PRAGMA query_only = 0"},
      {"PRAGMA journal_mode = DELETE", "PRAGMA journal_mode = DELETE"},
      {"CREATE TEMP TABLE scratch (x)", "would write"},
      {"CREATE TABLE t (x)", "would write"},
      {"BEGIN", "BEGIN TRANSACTION"},
      {"SELECT 1; DELETE FROM runs", "`DELETE FROM runs` would write"},
  };
  for (const auto& [sql, says] : writes) {
    const Result r = run({"query", "--db", broken_db(), sql});
    EXPECT_EQ(r.code, 2) << sql;
    EXPECT_EQ(r.out, "") << sql << ": nothing runs when one statement would write";
    EXPECT_NE(r.err.find("pathtrace query: refused: "), std::string::npos) << sql << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << sql << ": " << r.err;
    EXPECT_NE(r.err.find("only reads"), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(broken_db()), before) << "the database file did not change";
  EXPECT_FALSE(fs::exists(*dir_ / "other.db"));
  // Reading PRAGMAs are fine.
  const Result v = run({"query", "--db", broken_db(), "PRAGMA user_version"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(v.out, "user_version\n────────────\n           7\n(1 row)\n");  // schema 7: 0007_read_what_is_printed.sql
}

TEST_F(Evidence, QueryBadSqlGivesSqlitesMessage) {
  Result r = run({"query", "--db", broken_db(), "SELEC 1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: SQL error: near \"SELEC\": syntax error\n");
  r = run({"query", "--db", broken_db(), "SELECT nope FROM points"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: SQL error: no such column: nope\n");
  r = run({"query", "--db", broken_db()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no SQL given"), std::string::npos) << r.err;
  r = run({"query", "--db", (*dir_ / "missing.db").string(), "SELECT 1"});
  EXPECT_EQ(r.code, 4) << r.err;
  r = run({"query", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("examples:"), std::string::npos);
}

TEST_F(Evidence, QueryPrintsTableCsvAndJson) {
  const std::string q =
      "SELECT label, role, packets, NULL AS note, 0.5 AS half FROM points WHERE run_id = 1 AND ord >= 5 ORDER BY ord";
  Result r = run({"query", "--db", broken_db(), q});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "label  role     packets  note  half\n"
            "─────  ───────  ───────  ────  ────\n"
            "F      br-ethx      255  NULL   0.5\n"
            "G      nic          255  NULL   0.5\n"
            "(2 rows)\n");
  r = run({"query", "--db", broken_db(), "--csv", q});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "label,role,packets,note,half\r\nF,br-ethx,255,,0.5\r\nG,nic,255,,0.5\r\n");
  r = run({"query", "--db", broken_db(), "--json", q});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["label"], "F");
  EXPECT_EQ(j[1]["packets"], 255);
  EXPECT_TRUE(j[0]["note"].is_null());
  EXPECT_DOUBLE_EQ(j[0]["half"].get<double>(), 0.5);
  // Commas and quotes survive CSV.
  r = run({"query", "--db", broken_db(), "--csv", "SELECT 'a,b' AS x, 'say \"hi\"' AS y"});
  EXPECT_EQ(r.out, "x,y\r\n\"a,b\",\"say \"\"hi\"\"\"\r\n");
}

// Every ```sql block of docs/evidence.md followed by a ```text block is run through
// `pathtrace query` on the incident database and must print exactly that text.
TEST_F(Evidence, DocumentedExampleQueriesPrintTheDocumentedOutput) {
  const std::string doc = slurp(source("docs/evidence.md"));
  const std::regex pair("```sql\n([\\s\\S]*?)```\n```text\n([\\s\\S]*?)```");
  int examples = 0;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), pair); it != std::sregex_iterator(); ++it) {
    const std::string sql = (*it)[1], expected = (*it)[2];
    const Result r = run({"query", "--db", broken_db(), sql});
    EXPECT_EQ(r.code, 0) << sql << "\n" << r.err;
    EXPECT_EQ(r.out, expected) << sql;
    ++examples;
  }
  EXPECT_GE(examples, 5) << "docs/evidence.md has five worked example queries";
}

}  // namespace

namespace {

// --- report --json ------------------------------------------------------------------------

// The JSON type name nlohmann gives a value, folding the integer kinds together.
std::string kind(const nlohmann::ordered_json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number_float()) return "number";
  return v.type_name();
}

// "key:type" for every key of an object, in order.
std::vector<std::string> shape(const nlohmann::ordered_json& o) {
  std::vector<std::string> out;
  for (auto it = o.begin(); it != o.end(); ++it) out.push_back(it.key() + ":" + kind(it.value()));
  return out;
}

TEST_F(Evidence, ReportJsonStructureIsPinned) {
  const Result r = run({"report", "--db", broken_db(), "--run", "1", "--json"});
  ASSERT_EQ(r.code, 1) << "run 1 lost packets\n" << r.err;
  const auto j = nlohmann::ordered_json::parse(r.out);
  using V = std::vector<std::string>;
  EXPECT_EQ(shape(j), (V{"format:string", "version:integer", "run:integer", "started:string",
                         "command:string", "filter:string", "window:object", "sightings:integer",
                         "points:array", "flows:array", "results:array", "warnings:array",
                         "verdict:object", "clocks:array"}));
  EXPECT_EQ(j["format"], "pathtrace-report");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(shape(j["window"]), (V{"start_ns:integer", "end_ns:integer"}));
  ASSERT_EQ(j["points"].size(), 7u);
  EXPECT_EQ(shape(j["points"][0]),
            (V{"label:string", "ord:integer", "role:string", "host:string", "netns:string",
               "iface:string", "source:string", "packets:integer", "bytes:integer",
               "digested:integer", "filtered:integer", "discarded:object", "pcap_drop:integer",
               "if_drop:integer", "records_lost:integer", "over_mtu:integer",
               "capture_loss:integer", "start_ns:integer", "end_ns:integer", "window_known:boolean",
               "first_frame_ns:integer", "last_frame_ns:integer", "snaplen:integer",
               "clock_offset_ns:integer", "clock_unknown:boolean", "health:object"}));
  EXPECT_EQ(shape(j["points"][0]["health"]), (V{"usable:boolean", "problem:string", "detail:string"}));
  for (const auto& [k, v] : j["points"][0]["discarded"].items()) EXPECT_TRUE(v.is_number_integer()) << k;
  EXPECT_TRUE(j["points"][0]["discarded"].contains("truncated"));
  ASSERT_GE(j["flows"].size(), 21u) << "the tunnel and its 20 inner TCP flows";
  EXPECT_EQ(shape(j["flows"][0]), (V{"id:integer", "parent:integer", "label:string", "ip_version:integer",
                                     "proto:integer", "src:string", "dst:string", "sport:integer",
                                     "dport:integer"}));
  ASSERT_EQ(j["results"].size(), 1u);
  const auto& res = j["results"][0];
  EXPECT_EQ(shape(res), (V{"flow:integer", "flow_label:string", "direction:string", "path:array",
                           "traversals:integer", "judged:integer", "delivered:integer", "lost:integer",
                           "out_of_window:integer", "no_entry:integer", "duplicates:integer",
                           "seen_at:object", "holes_at:object", "hops:array", "verdict:string",
                           "headline_hop:object", "summary:string", "findings:array",
                           "inner_flows:array", "seen_any:object", "assumed:integer", "assumptions:array",
                           "translations:array", "aggregated:integer"}));
  EXPECT_EQ(res["path"], nlohmann::ordered_json::parse(R"(["G","F","E","D","C","B","A"])"));
  EXPECT_EQ(res["verdict"], "disappears");
  EXPECT_EQ(res["headline_hop"], nlohmann::ordered_json::parse(R"({"from":"C","to":"B"})"));
  EXPECT_EQ(res["seen_at"]["C"], 200);
  EXPECT_EQ(res["seen_at"]["B"], 0);
  ASSERT_EQ(res["hops"].size(), 6u);
  EXPECT_EQ(shape(res["hops"][4]), (V{"from:string", "to:string", "in:integer", "out:integer",
                                      "lost:integer", "loss_pct:number", "inconclusive:boolean",
                                      "why:string", "assumed:integer", "delay_samples:integer",
                                      "delay_min_ns:integer", "delay_mean_ns:integer"}));
  EXPECT_EQ(res["hops"][4]["lost"], 200);
  EXPECT_EQ(res["inner_flows"].size(), 20u);
  EXPECT_EQ(shape(j["verdict"]), (V{"loss:boolean", "headline:string"}));
  EXPECT_EQ(j["verdict"]["loss"], true);
  // A delivered flow has no headline hop: null.
  const Result f = run({"report", "--db", fixed_db(), "--json"});
  ASSERT_EQ(f.code, 0) << f.err;
  const auto fj = nlohmann::ordered_json::parse(f.out);
  EXPECT_TRUE(fj["results"][0]["headline_hop"].is_null());
  EXPECT_EQ(fj["verdict"]["loss"], false);
}

// --- report --html ------------------------------------------------------------------------

bool have_chromium() { return std::system("command -v chromium >/dev/null 2>&1") == 0; }

TEST_F(Evidence, ReportHtmlRendersThePathWithTheLossyHopInRed) {
  const std::string html = (*dir_ / "incident.html").string();
  const Result r = run({"report", "--db", broken_db(), "--run", "1", "--html", html});
  ASSERT_EQ(r.code, 1) << "run 1 lost packets\n" << r.err;
  EXPECT_EQ(r.out, "wrote " + html + " (run 1)\n");
  const std::string page = slurp(html);
  // Self-contained: nothing to fetch.
  for (const char* ext : {"src=", "href=", "@import", "url(http", "<script", "<link"})
    EXPECT_EQ(page.find(ext), std::string::npos) << ext;

  if (!have_chromium()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium): the HTML was written but not rendered";
  const fs::path art = PATHTRACE_ARTEFACTS;
  fs::create_directories(art);
  const fs::path png = art / "incident.png";
  fs::remove(png);
  const std::string profile = (*dir_ / "chromium-profile").string();
  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --user-data-dir=" + quote(profile) + " ";
  const Result shot = sh(chromium + "--screenshot=" + quote(png.string()) + " --window-size=1400,900 " +
                             quote("file://" + html), *dir_);
  ASSERT_EQ(shot.code, 0) << shot.err;
  ASSERT_TRUE(fs::exists(png)) << shot.err;
  EXPECT_GT(fs::file_size(png), 20000u) << "a blank page is a few kB";
  const Result dom = sh(chromium + "--dump-dom " + quote("file://" + html), *dir_);
  ASSERT_EQ(dom.code, 0) << dom.err;
  const std::string& d = dom.out;
  ASSERT_NE(d.find("<svg class=\"path\" id=\"path-0\""), std::string::npos) << "the drawing is there";
  // The points as boxes, in travel order, with their counts.
  std::size_t at = 0;
  for (const char* p : {"G", "F", "E", "D", "C", "B", "A"}) {
    const std::string count = std::string(p) == "B" || std::string(p) == "A" ? "0" : "200";
    const std::string box = "data-label=\"" + std::string(p) + "\" data-count=\"" + count + "\"";
    const std::size_t pos = d.find(box, at);
    ASSERT_NE(pos, std::string::npos) << box;
    at = pos;
  }
  // C → B in red with its loss; no other hop lost anything.
  const std::regex red("<g class=\"hop lost\" data-from=\"C\" data-to=\"B\" data-lost=\"200\">"
                       "<line [^>]*stroke=\"#c62828\"[^>]*>[\\s\\S]*?>200 lost</text>[\\s\\S]*?>100%</text></g>");
  EXPECT_TRUE(std::regex_search(d, red)) << d.substr(0, 4000);
  EXPECT_EQ(lines_with(d, "class=\"hop lost\"").size(), 1u);
  // The bars, the per-point statistics, the flows table and the verdict.
  EXPECT_NE(d.find("<tr class=\"hoprow bad\" data-from=\"C\" data-to=\"B\">"), std::string::npos);
  EXPECT_NE(d.find("<table class=\"grid\" id=\"points\">"), std::string::npos);
  EXPECT_NE(d.find("qbrbdd1f2c3-bd@hv1"), std::string::npos);
  EXPECT_NE(d.find("<table class=\"grid\" id=\"flows\">"), std::string::npos);
  EXPECT_NE(d.find("IPIP 198.18.0.1 → 198.18.0.20: disappears between C (qbr qbrbdd1f2c3-bd) and "
                   "B (tap tapbdd1f2c3-bd): 200 of 200 lost (100%)"),
            std::string::npos);
  std::cout << "screenshot: " << png.string() << "\n";

  // The fixed state: everything delivered, nothing red.
  const std::string fixed = (*dir_ / "fixed.html").string();
  ASSERT_EQ(run({"report", "--db", fixed_db(), "--html", fixed}).code, 0);
  const Result fd = sh(chromium + "--dump-dom " + quote("file://" + fixed), *dir_);
  EXPECT_EQ(fd.out.find("class=\"hop lost\""), std::string::npos);
  EXPECT_NE(fd.out.find("data-label=\"A\" data-count=\"200\""), std::string::npos);
  sh(chromium + "--screenshot=" + quote((art / "fixed.png").string()) + " --window-size=1400,900 " +
         quote("file://" + fixed), *dir_);
}

TEST_F(Evidence, ReportHtmlUnwritableFileIsAUsageError) {
  const Result r = run({"report", "--db", broken_db(), "--html", "/nonexistent/dir/x.html"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace report: /nonexistent/dir/x.html: cannot create: No such file or directory\n");
}

}  // namespace
