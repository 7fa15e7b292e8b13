// Inputs people have (issue 16) and what they know (issue 13), end to end on the incident
// captures and the verdict corpus: a point given as rotated files, a gzipped one, one cut in
// the middle of a record; globs, lists, standard input, zstd; a multi-interface pcapng picked
// from or split; windows stated or assumed and clocks given — each with the report a person
// reads, and every malformed argument refused naming it.

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

const char* kVerdict =
    "verdict: IPIP 198.18.0.1 → 198.18.0.20: disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): "
    "200 of 200 lost (100%)\n";

class Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pathtrace-inputs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  Result run(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--db", (dir_ / "t.db").string(), "--quiet"});
    return run_pathtrace(args, dir_);
  }
  std::string file(const std::string& n) const { return (dir_ / n).string(); }
  static std::string broken(const std::string& f) { return source("pcaps/incident-broken/" + f); }
  static std::string corpus(const std::string& set) { return source("tests/corpus/sets/" + set + "/inventory.toml"); }
  // The report without its "run N · …" header and "stored as run N in FILE" lines.
  static std::string body(const std::string& report) {
    std::string out;
    std::size_t i = 0;
    while (i < report.size()) {
      const auto nl = report.find('\n', i);
      const std::string line = report.substr(i, nl - i + 1);
      if (line.rfind("run ", 0) != 0 && line.rfind("stored as run", 0) != 0) out += line;
      i = nl == std::string::npos ? report.size() : nl + 1;
    }
    return out;
  }
  // The incident's inventory with `file` lines replaced as given ("E.pcap" → `files = [...]`).
  std::string inventory(const std::vector<std::pair<std::string, std::string>>& replace) {
    std::string inv = slurp(broken("inventory.toml"));
    for (const auto& [from, to] : replace) {
      const auto at = inv.find("file = \"" + from + "\"");
      EXPECT_NE(at, std::string::npos) << from;
      inv.replace(at, from.size() + 10, to);
    }
    for (char p = 'A'; p <= 'G'; ++p) {  // the others: the originals, by absolute path
      const std::string rel = "file = \"" + std::string(1, p) + ".pcap\"";
      if (const auto at = inv.find(rel); at != std::string::npos)
        inv.replace(at, rel.size(), "file = \"" + broken(std::string(1, p) + ".pcap") + "\"");
    }
    std::ofstream(file("inventory.toml")) << inv;
    return file("inventory.toml");
  }
  // Writes the records of `in` from index `from` to `to` (exclusive) as a new pcap.
  static void copy_records(const std::string& in, const std::string& out, std::size_t from, std::size_t to) {
    pathtrace::pcapfile::Reader r(in);
    pathtrace::pcapfile::Writer w(out, r.linktype(), r.snaplen(), true);
    pathtrace::pcapfile::Packet p;
    for (std::size_t i = 0; r.next(p) && i < to; ++i)
      if (i >= from) w.write(p.ts_ns, p.data, p.wire_len);
    w.close();
  }
  fs::path dir_;
};

// The bar of issue 16: E as two rotated files, F gzipped, D cut inside its last record: the
// same report as the original captures, and one warning naming D's file and the byte.
TEST_F(Inputs, RotatedGzippedAndCutFilesGiveTheOriginalVerdict) {
  const Result original = run({"ingest", "--inventory", broken("inventory.toml"), "--filter", "ipip"});
  ASSERT_EQ(original.code, 1) << original.err;
  ASSERT_NE(original.out.find(kVerdict), std::string::npos) << original.out;

  copy_records(broken("E.pcap"), file("E-0.pcap"), 0, 128);  // tcpdump -C: the first file ...
  copy_records(broken("E.pcap"), file("E-1.pcap"), 128, 1000);  // ... and the next
  ASSERT_EQ(sh("(gzip -c " + quote(broken("F.pcap")) + " > " + quote(file("F.pcap.gz")) + ")", dir_).code, 0);
  const std::string d = slurp(broken("D.pcap"));
  const std::size_t cut = d.size() - 40;  // inside record 255, the TCP chat after the burst
  std::ofstream(file("D.pcap"), std::ios::binary) << d.substr(0, cut);

  const std::string inv = inventory({{"D.pcap", "file = \"" + file("D.pcap") + "\""},
                                     {"E.pcap", "files = [\"E-1.pcap\", \"E-0.pcap\"]"},
                                     {"F.pcap", "file = \"F.pcap.gz\""}});
  const Result r = run({"ingest", "--inventory", inv, "--filter", "ipip"});
  ASSERT_EQ(r.code, 1) << r.err;
  const std::string warning = "warning: point D: " + file("D.pcap") + ": cut short at byte " + std::to_string(cut) +
                              " (inside packet record 255): read the 254 records before it\n";
  EXPECT_NE(r.out.find(warning), std::string::npos) << r.out;
  std::string expected = body(original.out);
  // The cut file's line, first of the warnings (before the verdict when there is no other).
  const std::size_t warnings = expected.find("warning: ");
  expected.insert(warnings != std::string::npos ? warnings : expected.find("verdict: "), warning);
  EXPECT_EQ(body(r.out), expected);
  EXPECT_EQ(r.err, "");

  // The same files named on the command line: a list, and a glob pathtrace expands.
  for (const std::string& e : {file("E-0.pcap") + "," + file("E-1.pcap"), file("E-*.pcap")}) {
    SCOPED_TRACE(e);
    std::vector<std::string> args = {"ingest", "--filter", "ipip"};
    for (const std::string& p : {"A:vm:eth0@vm1=" + broken("A.pcap"), "B:tap:tapbdd1f2c3-bd@hv1=" + broken("B.pcap"),
                                "C:qbr:qbrbdd1f2c3-bd@hv1=" + broken("C.pcap"), "D:qvb:qvbbdd1f2c3-bd@hv1=" + file("D.pcap"),
                                "E:qvo:qvobdd1f2c3-bd@hv1=" + e, "F:br-ethx:phy-br-ethx@hv1=" + file("F.pcap.gz"),
                                "G:nic:eth1@hv1=" + broken("G.pcap")})
      args.push_back(p);
    const Result c = run(args);
    EXPECT_EQ(c.code, 1) << c.err;
    EXPECT_EQ(body(c.out), expected);
  }
}

TEST_F(Inputs, StandardInputCompressedOrNot) {
  const bool zstd = sh("command -v zstd", dir_).code == 0;
  const std::string g = file(zstd ? "G.zst" : "G.gz");
  ASSERT_EQ(sh("(" + std::string(zstd ? "zstd -q" : "gzip") + " -c " + quote(broken("G.pcap")) + " > " + quote(g) + ")", dir_).code, 0);
  for (const std::string& in : {broken("G.pcap"), g}) {
    SCOPED_TRACE(in);
    const Result r = sh("(" + quote(PATHTRACE_BIN) + " ingest --quiet --db " + quote(file("s.db")) + " --filter ipip B=" +
                            quote(broken("B.pcap")) + " C=" + quote(broken("C.pcap")) + " G=- < " + quote(in) + ")",
                        dir_);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.out.find("disappears between C and B: 200 of 200 lost (100%)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  G            standard input   200     200\n"), std::string::npos) << r.out;
  }
  const Result two = run({"ingest", "A=-", "B=-"});
  EXPECT_EQ(two.code, 2);
  EXPECT_EQ(two.err, "pathtrace ingest: points A and B both read standard input ('-'): one point at most\n");
}

TEST_F(Inputs, GarbageInTheMiddleIsAnErrorNamingFileAndByte) {
  std::string c = slurp(broken("C.pcap"));
  c[24 + 8 + 3] = '\x7f';  // the first record's captured length (little-endian): 0x7f0000.. > 256 KiB
  std::ofstream(file("C.pcap"), std::ios::binary) << c;
  const Result r = run({"ingest", "C=" + file("C.pcap"), "D=" + broken("D.pcap")});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err.rfind("pathtrace ingest: point C: " + file("C.pcap") + ": corrupt record at byte 24: captured length ", 0),
            0u) << r.err;
  ASSERT_EQ(sh("(gzip -c " + quote(file("C.pcap")) + " > " + quote(file("C.pcap.gz")) + ")", dir_).code, 0);
  const Result z = run({"ingest", "C=" + file("C.pcap.gz"), "D=" + broken("D.pcap")});
  EXPECT_EQ(z.code, 3);
  EXPECT_NE(z.err.find("point C: " + file("C.pcap.gz") + ": corrupt record at byte 24"), std::string::npos) << z.err;
}

// `pathtrace export` writes one interface per point: read back one at a time, or split.
TEST_F(Inputs, MultiInterfacePcapngIsPickedOrSplitNeverMixed) {
  ASSERT_EQ(run({"ingest", "--keep-bytes", "128", "--inventory", broken("inventory.toml"), "--filter", "ipip"}).code, 1);
  const std::string all = file("all.pcapng");
  ASSERT_EQ(run_pathtrace({"export", "--db", file("t.db"), "-w", all}, dir_).code, 0);

  const Result mixed = run({"ingest", "X=" + all, "G=" + broken("G.pcap")});
  EXPECT_EQ(mixed.code, 2);
  EXPECT_EQ(mixed.err, "pathtrace ingest: point X: " + all +
                           ": holds 7 interfaces (#0 A eth0, #1 B tapbdd1f2c3-bd, #2 C qbrbdd1f2c3-bd, #3 D "
                           "qvbbdd1f2c3-bd, #4 E qvobdd1f2c3-bd, #5 F phy-br-ethx, #6 G eth1): pick one with " +
                           all + "#NAME or " + all + "#INDEX, or make one point per interface with --split-interfaces " +
                           all + "\n");

  const Result split = run({"ingest", "--filter", "ipip", "--split-interfaces", all});
  EXPECT_EQ(split.code, 1) << split.err;
  // A and B have no frame in the export (it holds the kept frames of C..G): B's window is assumed.
  EXPECT_NE(split.out.find("disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): 200 of 200 lost "
                           "(100%) — if B was capturing then"),
            std::string::npos) << split.out;
  EXPECT_NE(split.out.find("  C      qbr      qbrbdd1f2c3-bd@hv1   200     200"), std::string::npos) << split.out;

  const Result picked = run({"ingest", "--filter", "ipip", "B=" + all + "#B tapbdd1f2c3-bd", "C=" + all + "#2",
                             "G=" + all + "#6"});
  EXPECT_EQ(picked.code, 1) << picked.err;
  EXPECT_NE(picked.out.find("disappears between C and B: 200 of 200 lost (100%)"), std::string::npos) << picked.out;

  const Result bad = run({"ingest", "C=" + all + "#9", "G=" + all + "#6"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("point C: " + all + ": has no interface #9 (#0 A eth0,"), std::string::npos) << bad.err;
}

// short-burst-broken: B and A captured nothing (their filter kept nothing), so the C→B loss
// rests on "B was capturing". Saying so settles it; saying B started late leaves it unjudged.
TEST_F(Inputs, AStatedOrAssumedWindowSettlesTheWindowAssumption) {
  const std::string inv = corpus("short-burst-broken");
  const Result plain = run({"ingest", "--inventory", inv, "--filter", "ipip", "--json"});
  ASSERT_EQ(plain.code, 1) << plain.err;
  const json p = json::parse(plain.out);
  ASSERT_EQ(p["results"][0]["assumptions"].size(), 1u);
  EXPECT_EQ(p["results"][0]["assumptions"][0]["kind"], "window");

  const Result assumed = run({"ingest", "--inventory", inv, "--filter", "ipip"});
  const Result all = run({"ingest", "--inventory", inv, "--filter", "ipip", "--assume-capturing"});
  ASSERT_EQ(all.code, 1) << all.err;
  EXPECT_NE(assumed.out.find("— if B was capturing then"), std::string::npos) << assumed.out;
  EXPECT_EQ(all.out.find("if B was capturing"), std::string::npos) << all.out;
  EXPECT_EQ(all.out.find("assumes (window)"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): 40 of 40 lost (100%)\n"),
            std::string::npos) << all.out;
  EXPECT_NE(all.out.find("warning: capture window of A, B, C, D, E, F, G: assumed to span every point's frames, "
                         "2026-12-04T20:48:05.839Z to 2026-12-04T20:48:06.229Z (--assume-capturing)\n"),
            std::string::npos) << all.out;
  const Result json_all = run({"ingest", "--inventory", inv, "--filter", "ipip", "--assume-capturing=B", "--json"});
  const json j = json::parse(json_all.out);
  EXPECT_TRUE(j["results"][0]["assumptions"].empty()) << j["results"][0]["assumptions"];
  EXPECT_EQ(j["results"][0]["lost"], 40);
  EXPECT_EQ(j["points"][1]["window_known"], true);

  // A window stated for B in the inventory (the whole recording) does the same.
  std::string text = slurp(inv);
  const std::string b = "label = \"B\"\n";
  text.insert(text.find(b) + b.size(), "start = 2026-12-04T20:48:05Z\nstop = \"2026-12-04T21:48:07+01:00\"\n");
  for (char p = 'A'; p <= 'G'; ++p) {
    const std::string rel = "\"" + std::string(1, p) + ".pcap\"";
    text.replace(text.find(rel), rel.size(), "\"" + source("tests/corpus/sets/short-burst-broken/") + p + ".pcap\"");
  }
  std::ofstream(file("inv.toml")) << text;
  const Result stated = run({"ingest", "--inventory", file("inv.toml"), "--filter", "ipip"});
  EXPECT_EQ(stated.code, 1) << stated.err;
  EXPECT_NE(stated.out.find("warning: capture window of B: 2026-12-04T20:48:05.000Z to 2026-12-04T20:48:07.000Z, as "
                            "stated (inventory)\n"), std::string::npos) << stated.out;
  EXPECT_EQ(stated.out.find("if B was capturing"), std::string::npos) << stated.out;

  // B said to have started a second after the first frame: the burst passed before it.
  const Result late = run({"ingest", "--inventory", inv, "--filter", "ipip", "--window", "B=+1..+2"});
  EXPECT_EQ(late.code, 0) << late.err;
  EXPECT_NE(late.out.find("verdict: nothing judged"), std::string::npos) << late.out;
  EXPECT_NE(late.out.find("warning: point B was not capturing when 40 packets lost before it would have passed it"),
            std::string::npos) << late.out;
}

// unfiltered-later-tcp: A and B captured only the TCP chat after the IPIP burst.
TEST_F(Inputs, AssumeCapturingForSomePointsOnly) {
  const Result r = run({"ingest", "--inventory", corpus("unfiltered-later-tcp"), "--assume-capturing=A,B"});
  ASSERT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): 200 of 200 lost (100%)\n"),
            std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("assumes (window)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("warning: capture window of A, B: assumed to span every point's frames"), std::string::npos)
      << r.out;
}

// skew-vm-ahead-30s-broken: vm1's clock is 30 s ahead. Given, it is taken, and said so.
TEST_F(Inputs, AGivenClockReplacesTheEstimate) {
  const std::string inv = corpus("skew-vm-ahead-30s-broken");
  const Result est = run({"ingest", "--inventory", inv, "--json"});
  const Result given = run({"ingest", "--inventory", inv, "--clock", "vm1=+30", "--json"});
  ASSERT_EQ(given.code, 1) << given.err;
  const json e = json::parse(est.out), g = json::parse(given.out);
  EXPECT_EQ(e["clocks"][1]["method"], "both ways");
  EXPECT_EQ(g["clocks"][1]["host"], "vm1");
  EXPECT_EQ(g["clocks"][1]["method"], "given");
  EXPECT_EQ(g["clocks"][1]["offset_ns"], 30'000'000'000LL);
  EXPECT_EQ(g["verdict"], e["verdict"]);
  const Result text = run({"ingest", "--inventory", inv, "--clock", "vm1=+30"});
  EXPECT_NE(text.out.find("warning: clock of vm1 taken as 30.000 s ahead of hv1 (--clock)\n"), std::string::npos)
      << text.out;
  EXPECT_EQ(text.out.find("from 58 packets both ways"), std::string::npos) << text.out;

  // The same clock from the inventory's [hosts.vm1].
  std::string t = slurp(inv);
  for (char p = 'A'; p <= 'G'; ++p) {
    const std::string rel = "\"" + std::string(1, p) + ".pcap\"";
    t.replace(t.find(rel), rel.size(), "\"" + source("tests/corpus/sets/skew-vm-ahead-30s-broken/") + p + ".pcap\"");
  }
  std::ofstream(file("inv.toml")) << t << "\n[hosts.vm1]\nclock = 30\n";
  const Result inv_clock = run({"ingest", "--inventory", file("inv.toml")});
  EXPECT_NE(inv_clock.out.find("warning: clock of vm1 taken as 30.000 s ahead of hv1 (--clock)\n"), std::string::npos)
      << inv_clock.out;
}

TEST_F(Inputs, MalformedStatementsAreRefusedNamingTheArgument) {
  const std::string inv = corpus("short-burst-broken");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--window", "B=x..y"}, "--window 'B=x..y': start 'x' is not a time: give RFC 3339 (2026-12-04T20:47:27Z), "
                               "seconds since 1970, or +SECONDS after the run's first frame"},
      {{"--window", "B=+1"}, "--window 'B=+1': expected [POINT=]START..END"},
      {{"--window", "+2..+1"}, "--window '+2..+1': its end is not after its start"},
      {{"--window", "Q=+1..+2"}, "--window 'Q=+1..+2': no point 'Q' (points: A,B,C,D,E,F,G)"},
      {{"--window", "B=2026-02-30T00:00:00Z..+3"},
       "--window 'B=2026-02-30T00:00:00Z..+3': start '2026-02-30T00:00:00Z' is not a time: give RFC 3339 "
       "(2026-12-04T20:47:27Z), seconds since 1970, or +SECONDS after the run's first frame"},
      {{"--assume-capturing=A,Z"}, "--assume-capturing: no point 'Z' (points: A,B,C,D,E,F,G)"},
      {{"--clock", "vm1=3x"}, "--clock 'vm1=3x': expected HOST=±SECONDS, how far HOST's clock runs ahead (+) or "
                              "behind (-), e.g. vm1=+30 or hv2=-0.25"},
      {{"--clock", "vm9=+1"}, "--clock vm9: no point is on host vm9 (hosts: hv1, vm1)"},
      {{"--clock", "vm1=1", "--clock", "vm1=2"}, "--clock vm1 given more than once"},
  };
  for (const auto& [extra, message] : cases) {
    std::vector<std::string> args = {"ingest", "--inventory", inv};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = run(args);
    EXPECT_EQ(r.code, 2) << extra[0];
    EXPECT_EQ(r.err, "pathtrace ingest: " + message + "\n");
  }
  const Result one_host =
      run({"ingest", "--clock", "hv1=+1", "C:qbr:x@hv1=" + broken("C.pcap"), "D:qvb:y@hv1=" + broken("D.pcap")});
  EXPECT_EQ(one_host.code, 2);
  EXPECT_EQ(one_host.err, "pathtrace ingest: --clock hv1: every point is on host hv1: one clock, nothing to correct\n");
  const Result glob = run({"ingest", "C=" + file("nothing-*.pcap"), "D=" + broken("D.pcap")});
  EXPECT_EQ(glob.code, 3);
  EXPECT_EQ(glob.err, "pathtrace ingest: point C: '" + file("nothing-*.pcap") + "' matches no file\n");
  // One file twice for a point — named twice, or by a glob and a link to it — would count each
  // of its packets twice: refused, naming both names.
  const Result twice = run({"ingest", "C=" + broken("C.pcap") + "," + broken("C.pcap"), "D=" + broken("D.pcap")});
  EXPECT_EQ(twice.code, 2);
  EXPECT_EQ(twice.err, "pathtrace ingest: point C: " + broken("C.pcap") +
                           " is given twice (read twice, each of its packets would count twice)\n");
  fs::copy_file(broken("C.pcap"), file("C-1.pcap"));
  fs::create_symlink(file("C-1.pcap"), file("C-2.pcap"));
  const Result linked = run({"ingest", "C=" + file("C-*.pcap"), "D=" + broken("D.pcap")});
  EXPECT_EQ(linked.code, 2);
  EXPECT_EQ(linked.err, "pathtrace ingest: point C: " + file("C-1.pcap") + " and " + file("C-2.pcap") +
                            " are the same file (read twice, each of its packets would count twice)\n");
}

}  // namespace
