// Files and the database, hardened (docs/security.md, "Files and the database"): output files
// owner-only and never through a link or over a file without --force; a database that rests
// out of WAL mode and is readable without write access; `query` limited in time, memory and
// string length, with table-valued PRAGMAs; `runs --name/--delete`.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

namespace {

using namespace pathtrace::test;

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pathtrace-hardening-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }
  std::string db() const { return (dir_ / "t.db").string(); }
  Result run(const std::vector<std::string>& args) { return run_pathtrace(args, dir_); }
  // The broken incident, ingested with kept bytes (exit 1: a flow lost packets).
  void ingest(const std::string& database) {
    const Result r = run({"ingest", "--db", database, "--keep-bytes", "64", "--filter", "ipip", "--inventory",
                          source("pcaps/incident-broken/inventory.toml")});
    ASSERT_EQ(r.code, 1) << r.err;
  }
  // One value from the database, through the C API.
  static std::string scalar(const std::string& database, const std::string& sql) {
    sqlite3* h = nullptr;
    std::string out = "?";
    if (sqlite3_open_v2(database.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const auto* t = sqlite3_column_text(st, 0);
        out = t ? reinterpret_cast<const char*>(t) : "";
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return out;
  }
  static unsigned mode_of(const fs::path& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0xffff;
  }
  fs::path dir_;
};

TEST_F(Hardening, DatabaseHtmlAndExportAreCreatedOwnerOnly) {
  ::umask(022);  // the usual one: files would be 0644
  ingest(db());
  EXPECT_EQ(mode_of(db()), 0600u);
  ASSERT_EQ(run({"report", "--db", db(), "--html", (dir_ / "r.html").string()}).code, 1);
  EXPECT_EQ(mode_of(dir_ / "r.html"), 0600u);
  const Result e = run({"export", "--db", db(), "--lost", "-w", (dir_ / "lost.pcapng").string()});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(mode_of(dir_ / "lost.pcapng"), 0600u);
  // Nothing is left beside them (no temporary files).
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir_)) names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"lost.pcapng", "r.html", "stderr", "stdout", "t.db"}));
}

TEST_F(Hardening, OutputFilesNeverGoThroughALinkNorOverAFile) {
  ingest(db());
  // A file someone else cares about, and a link to it where the report is asked for.
  const fs::path victim = dir_ / "victim", link = dir_ / "report.html";
  { std::ofstream(victim) << "precious\n"; }
  fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(victim, link);
  Result r = run({"report", "--db", db(), "--html", link.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace report: " + link.string() + ": exists (--force replaces it)\n");
  EXPECT_EQ(slurp(victim), "precious\n");
  // --force replaces the link itself: the page is a new file, the link's target untouched.
  r = run({"report", "--db", db(), "--html", link.string(), "--force"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_NE(slurp(link).find("<html"), std::string::npos);
  EXPECT_EQ(slurp(victim), "precious\n");
  // export -w: the same rule, said before anything is read.
  const fs::path out = dir_ / "lost.pcapng";
  fs::create_symlink(victim, out);
  r = run({"export", "--db", db(), "--lost", "-w", out.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace export: " + out.string() + ": exists (--force replaces it)\n");
  EXPECT_EQ(slurp(victim), "precious\n");
  r = run({"export", "--db", db(), "--lost", "-w", out.string(), "--force"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::is_symlink(out));
  EXPECT_EQ(slurp(victim), "precious\n");
  // The database is never opened through a link (nor its journal or WAL).
  fs::create_symlink(victim, dir_ / "linked.db");
  r = run({"ingest", "--db", (dir_ / "linked.db").string(), "--filter", "ipip", "--inventory",
           source("pcaps/incident-broken/inventory.toml")});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find((dir_ / "linked.db").string() + " is a symbolic link: refused"), std::string::npos) << r.err;
  fs::create_symlink(victim, dir_ / "t.db-journal");
  r = run({"runs", "--db", db(), "--name", "x", "--run", "1"});
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.err.find("t.db-journal is a symbolic link: refused"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(victim), "precious\n");
}

TEST_F(Hardening, TheDatabaseRestsOutOfWalModeAndReadsWithoutWriteAccess) {
  ingest(db());
  EXPECT_EQ(scalar(db(), "PRAGMA journal_mode"), "delete");
  EXPECT_FALSE(fs::exists(db() + "-wal"));
  // A file left in WAL mode (a live run that is still going, an older pathtrace) in a folder
  // the reader cannot write: read as it is, immutable, with a note when the WAL holds anything.
  {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
  }
  EXPECT_EQ(scalar(db(), "PRAGMA journal_mode"), "wal");
  fs::permissions(db(), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the reader as user nobody (runuser)";
  // The binary may sit where nobody cannot reach it: a copy beside the database.
  const std::string bin = (fs::temp_directory_path() / ("pathtrace-hardening-bin-" + std::to_string(::getpid()))).string();
  fs::copy_file(PATHTRACE_BIN, bin, fs::copy_options::overwrite_existing);
  fs::permissions(bin, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec |
                           fs::perms::group_read | fs::perms::group_exec);
  const std::string as_nobody = "runuser -u nobody -- " + quote(bin) + " ";
  Result r = sh(as_nobody + "runs --db " + quote(db()), fs::temp_directory_path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("run 1  "), std::string::npos) << r.out;
  r = sh(as_nobody + "query --db " + quote(db()) + " 'SELECT count(*) AS n FROM runs'", fs::temp_directory_path());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "n\n─\n1\n(1 row)\n");
  r = sh(as_nobody + "report --db " + quote(db()) + " --run 1", fs::temp_directory_path());
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("verdict: IPIP"), std::string::npos) << r.out;
  fs::remove(bin);
}

TEST_F(Hardening, QueryStopsAtItsLimits) {
  ingest(db());
  const std::string forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  const auto t0 = std::chrono::steady_clock::now();
  Result r = run({"query", "--db", db(), "--timeout", "1s", forever});
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: query stopped after 1 s (--timeout 1 s; 0 for none)\n");
  EXPECT_LT(took, 5.0);
  r = run({"query", "--db", db(), "SELECT length(zeroblob(2000000000))"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: SQL error: string or blob too big (pathtrace query allows 100 MiB)\n");
  r = run({"query", "--db", db(), "--max-memory", "32",
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 30000) "
           "SELECT length(group_concat(hex(randomblob(1000)))) FROM c"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: query stopped: it needs more than 32 MiB of memory (the limit of pathtrace query)\n");
  r = run({"query", "--db", db(), "--timeout", "soon", "SELECT 1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: --timeout 'soon': expected a duration like 10s, 500ms, 2m\n");
}

TEST_F(Hardening, QueryReadsTableValuedPragmasAndStillRefusesWrites) {
  ingest(db());
  Result r = run({"query", "--db", db(), "--csv", "SELECT name FROM pragma_table_info('runs') WHERE name IN ('id', 'name')"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "name\r\nid\r\nname\r\n");
  r = run({"query", "--db", db(), "--csv", "SELECT count(*) FROM pragma_index_list('points')"});
  EXPECT_EQ(r.code, 0) << r.err;
  // A PRAGMA that would change something, called as a function, is refused as one.
  const std::string version = scalar(db(), "PRAGMA user_version");
  r = run({"query", "--db", db(), "SELECT * FROM pragma_user_version(99)"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(scalar(db(), "PRAGMA user_version"), version);
  r = run({"query", "--db", db(), "UPDATE sqlite_master SET sql = ''"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace query: SQL error: table sqlite_master may not be modified\n");
}

TEST_F(Hardening, RunsAreNamedAndDeletedWithEverythingOfThem) {
  ingest(db());
  ingest(db());
  Result r = run({"runs", "--db", db(), "--name", "mtu-bug", "--run", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "run 1 is named mtu-bug\n");
  // --run NAME wherever --run N works.
  r = run({"report", "--db", db(), "--run", "mtu-bug", "--json"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("\"run\": 1,"), std::string::npos);
  EXPECT_EQ(run({"timeline", "--db", db(), "--run", "mtu-bug", "--lost", "--limit", "1"}).code, 0);
  EXPECT_EQ(run({"export", "--db", db(), "--run", "mtu-bug", "--lost", "-w", (dir_ / "x.pcapng").string()}).code, 0);
  r = run({"runs", "--db", db()});
  EXPECT_EQ(r.out.find("run 2  "), 0u) << r.out;
  EXPECT_NE(r.out.find("run 1 mtu-bug  "), std::string::npos) << r.out;
  // Names are never ids, and never taken twice.
  r = run({"runs", "--db", db(), "--name", "7up", "--run", "2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace runs: run name '7up': letters, digits, '.', '_' and '-', starting with a letter, at most 64 characters\n");
  r = run({"runs", "--db", db(), "--name", "mtu-bug", "--run", "2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace runs: run name 'mtu-bug' is taken by run 1 in " + db() + "\n");
  r = run({"report", "--db", db(), "--run", "nosuch"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace report: " + db() + " has no run named 'nosuch'\n");
  // Delete run 1 by its name: no row of it is left in any table that has a run_id.
  const auto size_before = fs::file_size(db());
  r = run({"runs", "--db", db(), "--delete", "mtu-bug", "--vacuum"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted run 1 from " + db() + "\nvacuumed " + db() + "\n");
  const std::string tables = scalar(db(), "SELECT group_concat(m.name) FROM sqlite_schema m WHERE m.type = 'table' AND "
                                          "EXISTS (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'run_id')");
  ASSERT_NE(tables.find("kept_frames"), std::string::npos) << tables;
  for (std::size_t at = 0; at <= tables.size();) {
    const std::size_t comma = std::min(tables.find(',', at), tables.size());
    const std::string t = tables.substr(at, comma - at);
    EXPECT_EQ(scalar(db(), "SELECT count(*) FROM " + t + " WHERE run_id = 1"), "0") << t;
    EXPECT_NE(scalar(db(), "SELECT count(*) FROM " + t + " WHERE run_id = 2"), "?") << t;
    at = comma + 1;
  }
  EXPECT_EQ(scalar(db(), "SELECT group_concat(id) FROM runs"), "2");
  EXPECT_EQ(scalar(db(), "SELECT count(*) FROM kept_frames WHERE run_id = 2"), "1000");
  EXPECT_LT(fs::file_size(db()), size_before);
  r = run({"runs", "--db", db(), "--delete", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace runs: " + db() + " has no run 1\n");
}

// An inventory is a file pathtrace reads. toml++ 3.3 meets some non-ASCII characters with
// undefined behaviour (found by tests/fuzz/fuzz_inventory; its corpus keeps those inputs), so
// it is handed ASCII that says the same: non-ASCII text in strings (basic, literal,
// multi-line, after a line-ending backslash) and comments reads as written, and one where TOML
// allows none is an input error naming the place.
TEST_F(Hardening, AnInventoryReadsNonAsciiTextAsWrittenAndRefusesItOutsideStrings) {
  const fs::path inv = dir_ / "inv.toml";
  std::string text = slurp(source("pcaps/incident-broken/inventory.toml"));
  const std::string dir = source("pcaps/incident-broken/");
  for (std::size_t at = 0; (at = text.find("file = \"", at)) != std::string::npos; at += 8) text.insert(at + 8, dir);
  auto replace = [&](const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("role = \"vm\"", "role = 'vm ¡é\\x' # ¡commentaire ¬");
  replace("host = \"vm1\"", "host = \"\"\"\\\n   ¡vm1\"\"\"");
  replace("role = \"tap\"", "role = \"tap 、ﯿ\"");
  replace("iface = \"eth1\"\nnetns = \"ptlab-hv\"", "iface = \"eth1\"\nnetns = '''ns\n«x»'''");
  { std::ofstream(inv, std::ios::binary) << text; }
  Result r = run({"ingest", "--db", db(), "--inventory", inv.string(), "--filter", "ipip", "--json"});
  ASSERT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("\"role\": \"vm ¡é\\\\x\""), std::string::npos) << r.out.substr(0, 3000);
  EXPECT_NE(r.out.find("\"host\": \"¡vm1\""), std::string::npos);
  EXPECT_NE(r.out.find("\"role\": \"tap 、ﯿ\""), std::string::npos);
  EXPECT_NE(r.out.find("\"netns\": \"ns\\n«x»\""), std::string::npos);
  // Where TOML allows no such character: an input error, before the TOML library sees it.
  { std::ofstream(inv, std::ios::binary) << "# ¡hola!\n[[point]]\nlabel = \"A\"\n¡\n"; }
  r = run({"ingest", "--db", db(), "--inventory", inv.string()});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "pathtrace ingest: inventory " + inv.string() + ":4:1: a non-ASCII character outside a string or comment\n");
  { std::ofstream(inv, std::ios::binary) << "[[point]]\nlabel = \"A\xff\"\n"; }
  r = run({"ingest", "--db", db(), "--inventory", inv.string()});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "pathtrace ingest: inventory " + inv.string() + ":2:11: not UTF-8\n");
}

// toml++ 3.3 asserts that a table header has a name before it checks (a debug build aborted on
// "[{", found by fuzz_inventory): such a header is an input error naming the place, and a
// line of a multi-line array that starts with '[' is still a value, not a header.
TEST_F(Hardening, ATableHeaderWithoutANameIsAnInputError) {
  const fs::path inv = dir_ / "inv.toml";
  for (const std::string& text : {std::string("[{"), std::string("[[point]]\nlabel = \"A\"\n[\n"),
                                  std::string("x = 1\n  [[ #\n")}) {
    { std::ofstream(inv, std::ios::binary) << text; }
    const auto r = run({"ingest", "--db", db(), "--inventory", inv.string()});
    EXPECT_EQ(r.code, 3) << text;
    EXPECT_NE(r.err.find(": a table header without a name\n"), std::string::npos) << text << r.err;
  }
  { std::ofstream(inv, std::ios::binary) << "[{"; }
  auto r = run({"ingest", "--db", db(), "--inventory", inv.string()});
  EXPECT_EQ(r.err, "pathtrace ingest: inventory " + inv.string() + ":1:1: a table header without a name\n");
  // Nested arrays over several lines, an inline table in an array: values, read as TOML says.
  std::string text = slurp(source("pcaps/incident-broken/inventory.toml"));
  text = "x = [\n  [1, 2],\n  [{ a = [3] }],\n]\n" + text;
  const std::string dir = source("pcaps/incident-broken/");
  for (std::size_t at = 0; (at = text.find("file = \"", at)) != std::string::npos; at += 8) text.insert(at + 8, dir);
  { std::ofstream(inv, std::ios::binary) << text; }
  r = run({"ingest", "--db", db(), "--inventory", inv.string()});
  EXPECT_EQ(r.code, 1) << r.err;  // the incident: a flow lost packets
  EXPECT_NE(r.out.find("disappears between C"), std::string::npos) << r.out;
}

// A run past --memory keeps its sightings in temporary files next to the database. Without
// room for them there, the ingest fails with exit 4, naming the directory and why, and stores
// nothing: the run before it is all the database holds, and no file is left behind. The
// database lives on a 2 MiB tmpfs in a mount namespace of its own, filled up before the ingest.
TEST_F(Hardening, ASpillWithoutRoomFailsNamingTheDirectoryAndStoresNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a small tmpfs (unshare -m, mount)";
  const fs::path mnt = dir_ / "mnt";
  fs::create_directories(mnt);
  const std::string script =
      "set -u; D=" + quote(mnt.string()) + "; O=" + quote(dir_.string()) + "; PT=" + quote(PATHTRACE_BIN) +
      "; INV=" + quote(source("pcaps/incident-broken/inventory.toml")) + "\n"
      "mount -t tmpfs -o size=2m pathtrace-test \"$D\" || exit 77\n"
      "\"$PT\" ingest -q --db \"$D/t.db\" --filter ipip --inventory \"$INV\" >/dev/null 2>\"$O/first\"\n"
      "dd if=/dev/zero of=\"$D/fill\" bs=4k 2>/dev/null\n"
      "\"$PT\" ingest -q --memory 1K --db \"$D/t.db\" --filter ipip --inventory \"$INV\" >\"$O/out\" 2>\"$O/err\"\n"
      "echo $? >\"$O/rc\"\n"
      "rm -f \"$D/fill\"\n"
      "\"$PT\" runs --db \"$D/t.db\" >\"$O/runs\" 2>&1\n"
      "ls -A \"$D\" >\"$O/ls\"\n";
  { std::ofstream(dir_ / "spill.sh") << script; }
  const Result r = sh("unshare -m bash " + quote((dir_ / "spill.sh").string()), dir_);
  ASSERT_EQ(r.code, 0) << r.out << r.err << slurp(dir_ / "first");
  EXPECT_EQ(slurp(dir_ / "rc"), "4\n") << slurp(dir_ / "err");
  const std::string err = slurp(dir_ / "err");
  EXPECT_NE(err.find("temporary file in " + mnt.string() + ": "), std::string::npos) << err;
  EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
  EXPECT_EQ(slurp(dir_ / "out"), "");
  const std::string runs = slurp(dir_ / "runs");
  EXPECT_EQ(runs.rfind("run 1 ", 0), 0u) << runs;
  EXPECT_EQ(runs.find("run 2 "), std::string::npos) << "a second run was stored:\n" << runs;
  EXPECT_EQ(slurp(dir_ / "ls"), "t.db\n");
}

}  // namespace
