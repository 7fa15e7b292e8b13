// The command line as people who debug packet loss use it: help per command, JSON for every
// listing, one exit-code rule, refused conflicting outputs, the export format by file name,
// ASCII on a terminal whose locale is not UTF-8, and the man page and completions generated
// from the same option tables as --help.

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collector/pcapfile/pcapfile.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace pathtrace::test;
using nlohmann::json;

class Habits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("pathtrace-habits-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    const Result r = run_pathtrace({"ingest", "--db", db(), "--keep-bytes", "96", "--inventory",
                                    source("pcaps/incident-broken/inventory.toml"), "--filter", "ipip"},
                                   *dir_);
    if (r.code != 1) *setup_error_ = "ingest exited " + std::to_string(r.code) + ": " + r.err;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (!setup_error_->empty()) FAIL() << *setup_error_;
  }
  static std::string db() { return (*dir_ / "h.db").string(); }
  static std::string file(const std::string& n) { return (*dir_ / n).string(); }
  Result run(const std::vector<std::string>& args) { return run_pathtrace(args, *dir_); }
  static inline fs::path* dir_ = nullptr;
  static inline std::string* setup_error_ = new std::string;
};

TEST_F(Habits, HelpCommandIsTheCommandsOwnHelp) {
  const Result a = run({"help", "ingest"});
  const Result b = run({"ingest", "--help"});
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out.find("usage: pathtrace ingest"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("--keep-bytes N"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("--inventory FILE"), std::string::npos) << a.out;
  // Each default once, and no placeholder noise.
  EXPECT_EQ(a.out.find("(default: 200)"), a.out.rfind("(default: 200)")) << a.out;
  EXPECT_EQ(a.out.find(" arg "), std::string::npos) << a.out;
  EXPECT_EQ(a.out.find("default: \"\""), std::string::npos) << a.out;
  const Result none = run({"help", "nosuch"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no command 'nosuch'"), std::string::npos) << none.err;
}

TEST_F(Habits, RunsAndTimelineSpeakJson) {
  const Result runs = run({"runs", "--db", db(), "--json"});
  ASSERT_EQ(runs.code, 0) << runs.err;
  const json r = json::parse(runs.out);
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["run"], 1);
  EXPECT_EQ(r[0]["status"], "complete");
  EXPECT_EQ(r[0]["points"], 7);
  const Result lost = run({"timeline", "--db", db(), "--lost", "--json", "--limit", "3"});
  ASSERT_EQ(lost.code, 0) << lost.err;
  const json t = json::parse(lost.out);
  EXPECT_EQ(t["total"], 200);
  EXPECT_EQ(t["shown"], 3);
  ASSERT_EQ(t["rows"].size(), 3u);
  EXPECT_EQ(t["rows"][0]["last_seen_at"], "C qbr qbrbdd1f2c3-bd@hv1");
  EXPECT_EQ(t["rows"][0]["lost_before"], "B tap tapbdd1f2c3-bd@hv1");
  EXPECT_EQ(t["rows"][0]["len"], 78);
  const Result flow = run({"timeline", "--db", db(), "--flow", "1", "--json", "--limit", "0"});
  ASSERT_EQ(flow.code, 0) << flow.err;
  EXPECT_EQ(json::parse(flow.out)["rows"].size(), 1000u);
}

TEST_F(Habits, OneExitCodeRuleForEveryJudgingCommand) {
  // The broken incident lost packets: ingest (SetUp) and report exit 1; the fixed one 0.
  EXPECT_EQ(run({"report", "--db", db()}).code, 1);
  const Result fixed = run({"ingest", "--db", file("fixed.db"), "--inventory",
                            source("pcaps/incident-fixed/inventory.toml"), "--filter", "ipip"});
  EXPECT_EQ(fixed.code, 0) << fixed.err;
  EXPECT_EQ(run({"report", "--db", file("fixed.db")}).code, 0);
}

TEST_F(Habits, ConflictingOutputsAreRefused) {
  const Result r = run({"report", "--db", db(), "--json", "--html", file("x.html")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--json and --html exclude each other"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(file("x.html")));
  const Result t = run({"timeline", "--db", db(), "--lost", "--flow", "1"});
  EXPECT_EQ(t.code, 2);
  const Result twice = run({"report", "--db", db(), "--run", "1", "--run", "2"});
  EXPECT_EQ(twice.code, 2);
  EXPECT_NE(twice.err.find("--run given more than once"), std::string::npos) << twice.err;
}

TEST_F(Habits, ExportFormatFollowsTheFileName) {
  const Result pcap = run({"export", "--db", db(), "--lost", "-w", file("lost.pcap")});
  ASSERT_EQ(pcap.code, 0) << pcap.err;
  pathtrace::pcapfile::Reader reader(file("lost.pcap"));
  EXPECT_EQ(reader.format(), pathtrace::pcapfile::Format::kPcap);
  pathtrace::pcapfile::Packet p;
  std::size_t n = 0;
  while (reader.next(p)) ++n;
  EXPECT_EQ(n, 1000u);  // 200 lost packets × the 5 points that saw them
  const Result ng = run({"export", "--db", db(), "--lost", "-w", file("lost.pcapng")});
  ASSERT_EQ(ng.code, 0) << ng.err;
  EXPECT_EQ(pathtrace::pcapfile::Reader(file("lost.pcapng")).format(), pathtrace::pcapfile::Format::kPcapng);
  const Result other = run({"export", "--db", db(), "--lost", "-w", file("lost.txt")});
  EXPECT_EQ(other.code, 2);
  EXPECT_NE(other.err.find(".pcapng"), std::string::npos) << other.err;
  EXPECT_FALSE(fs::exists(file("lost.txt")));
}

TEST_F(Habits, AsciiWhenTheLocaleIsNotUtf8) {
  const std::string cmd = quote(PATHTRACE_BIN) + " report --db " + quote(db());
  const Result c = sh("LC_ALL=C " + cmd, *dir_);
  EXPECT_EQ(c.code, 1);
  for (const char* sym : {"→", "✗", "·", "—"}) EXPECT_EQ(c.out.find(sym), std::string::npos) << sym << "\n" << c.out;
  EXPECT_NE(c.out.find("IPIP 198.18.0.1 -> 198.18.0.20"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("x 200 lost between C and B"), std::string::npos) << c.out;
  const Result u = sh("LC_ALL=C.UTF-8 " + cmd, *dir_);
  EXPECT_NE(u.out.find("IPIP 198.18.0.1 → 198.18.0.20"), std::string::npos) << u.out;
  // Data keeps its UTF-8 whatever the locale.
  const Result j = sh("LC_ALL=C " + cmd + " --json", *dir_);
  EXPECT_NE(j.out.find("→"), std::string::npos);
}

TEST_F(Habits, ManPageAndCompletionsComeFromTheOptionTables) {
  const Result man = run({"--generate", "man"});
  ASSERT_EQ(man.code, 0) << man.err;
  EXPECT_EQ(man.out.rfind(".TH PATHTRACE 1", 0), 0u) << man.out.substr(0, 80);
  for (const char* c : {"run", "collect", "correlate", "ingest", "report", "runs", "discover", "timeline", "query", "export"})
    EXPECT_NE(man.out.find(std::string(".SS \"pathtrace ") + c + "\""), std::string::npos) << c;
  EXPECT_NE(man.out.find("\\-\\-keep\\-bytes"), std::string::npos);
  // The bash completion, loaded by bash, completes commands and a command's options.
  const Result bash = run({"--generate", "bash"});
  ASSERT_EQ(bash.code, 0);
  {
    std::ofstream f(file("pathtrace.bash"));
    f << bash.out;
  }
  const std::string probe =
      "source " + quote(file("pathtrace.bash")) +
      "; COMP_WORDS=(pathtrace in); COMP_CWORD=1; _pathtrace; echo \"${COMPREPLY[*]}\";"
      " COMP_WORDS=(pathtrace ingest --keep); COMP_CWORD=2; _pathtrace; echo \"${COMPREPLY[*]}\"";
  const Result b = sh("bash -c " + quote(probe), *dir_);
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(b.out, "ingest\n--keep-bytes\n");
  const Result zsh = run({"--generate", "zsh"});
  EXPECT_EQ(zsh.out.rfind("#compdef pathtrace", 0), 0u);
}

}  // namespace
