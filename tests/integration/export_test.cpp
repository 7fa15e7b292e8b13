// `pathtrace ingest --keep-bytes N` then `pathtrace export` on the committed incident captures,
// read back with tshark (what a user opens the file with) and with pathtrace's own Reader
// (the bytes are those of the original captures); and ingest's progress lines.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "collector/pcapfile/pcapfile.hpp"
#include "harness.hpp"

namespace fs = std::filesystem;

namespace {

using namespace pathtrace::test;

const char* kIpipLabel = "IPIP 198.18.0.1 → 198.18.0.20";

// kept.db: run 1 the IPIP flow with --keep-bytes 128, run 2 the same without kept bytes,
// run 3 every packet of the captures with --keep-bytes 64.
class Export : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("pathtrace-export-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    ingest({"--keep-bytes", "128", "--filter", "ipip"});
    ingest({"--filter", "ipip"});
    ingest({"--keep-bytes", "64"});
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  static void ingest(std::vector<std::string> args) {
    std::vector<std::string> all = {"ingest", "--db", db(), "--inventory",
                                    source("pcaps/incident-broken/inventory.toml")};
    all.insert(all.end(), args.begin(), args.end());
    const Result r = run_pathtrace(all, *dir_);
    // The broken incident lost packets: exit 1. Anything else fails every test of the suite
    // (SetUp), never skips it silently.
    if (r.code != 1) *setup_error_ += "ingest exited " + std::to_string(r.code) + ": " + r.err;
  }
  void SetUp() override {
    if (!setup_error_->empty()) FAIL() << *setup_error_;
  }
  static inline std::string* setup_error_ = new std::string;
  static std::string db() { return (*dir_ / "kept.db").string(); }
  static std::string file(const std::string& name) { return (*dir_ / name).string(); }

  Result run(const std::vector<std::string>& args) { return run_pathtrace(args, *dir_); }

  // tshark's fields of every packet of `pcapng`, one vector per packet (skips the test when
  // tshark is not installed: .ci/install installs it).
  std::vector<std::vector<std::string>> tshark(const std::string& pcapng, const std::vector<std::string>& fields) {
    std::string cmd = "tshark -n -r " + quote(pcapng) + " -T fields -E separator=/t";
    for (const auto& f : fields) cmd += " -e " + f;
    const Result r = sh(cmd, *dir_);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> row;
      std::size_t at = 0;
      for (std::size_t tab; (tab = line.find('\t', at)) != std::string::npos; at = tab + 1)
        row.push_back(line.substr(at, tab - at));
      row.push_back(line.substr(at));
      rows.push_back(std::move(row));
    }
    return rows;
  }
  // The value of a one-row, one-column `pathtrace query --csv` result.
  static std::string one_value(const Result& r) {
    const auto a = r.out.find("\r\n") + 2;
    return r.out.substr(a, r.out.find("\r\n", a) - a);
  }
  static bool have(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
  }

  static fs::path* dir_;
};
fs::path* Export::dir_ = nullptr;

#define NEED_TSHARK() \
  if (!have("tshark")) GTEST_SKIP() << "tshark is not installed (apt-get install tshark; .ci/install does)"

TEST_F(Export, LostPacketsAsEveryPointSawThemReadBackByTshark) {
  NEED_TSHARK();
  const std::string out = file("lost.pcapng");
  const Result r = run({"export", "--db", db(), "--run", "1", "--lost", "-w", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "wrote 1000 packets from 5 points to " + out +
                       " (200 lost packets); 0 sightings had no kept bytes\n");
  const auto rows = tshark(out, {"frame.interface_name", "frame.interface_description",
                                 "frame.comment", "ip.proto", "frame.time_epoch", "frame.len"});
  // 200 lost IPIP packets x the 5 points that saw them, G (the NIC) to C (the bridge).
  ASSERT_EQ(rows.size(), 1000u);
  std::map<std::string, int> per_interface;
  const std::map<std::string, std::string> point = {
      {"G eth1", "point G (nic eth1)"}, {"F phy-br-ethx", "point F (br-ethx phy-br-ethx)"},
      {"E qvobdd1f2c3-bd", "point E (qvo qvobdd1f2c3-bd)"},
      {"D qvbbdd1f2c3-bd", "point D (qvb qvbbdd1f2c3-bd)"},
      {"C qbrbdd1f2c3-bd", "point C (qbr qbrbdd1f2c3-bd)"}};
  std::string previous_time;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 6u);
    ++per_interface[row[0]];
    ASSERT_TRUE(point.count(row[0])) << row[0];
    const std::string label = row[0].substr(0, 1);
    EXPECT_EQ(row[1].rfind("point " + label + " (", 0), 0u) << row[1];
    EXPECT_NE(row[1].find("@hv1 netns ptlab-hv"), std::string::npos) << row[1];
    EXPECT_EQ(row[2], point.at(row[0]) + ": " + kIpipLabel + ": lost between C and B");
    EXPECT_EQ(row[3], "4,6");  // IPIP carrying TCP, decoded by tshark
    // Time order across points (fixed-width epoch seconds with 9 decimals here).
    EXPECT_LE(previous_time, row[4]);
    previous_time = row[4];
    EXPECT_EQ(row[5], label == "F" ? "82" : "78");  // F sees the VLAN tag
  }
  for (const auto& [name, n] : per_interface) EXPECT_EQ(n, 200) << name;
  EXPECT_EQ(per_interface.size(), 5u);

  // Every point has its interface block, the ones that saw none of these packets too.
  if (have("capinfos")) {
    const Result c = sh("capinfos " + quote(out), *dir_);
    EXPECT_NE(c.out.find("Number of interfaces in file: 7"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("Name = B tapbdd1f2c3-bd"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("Description = point A (vm) eth0@vm1 netns ptlab-vm"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("Time precision = nanoseconds (9)"), std::string::npos) << c.out;
  }
}

TEST_F(Export, TheBytesAreThoseOfTheOriginalCaptures) {
  const std::string out = file("bytes.pcapng");
  ASSERT_EQ(run({"export", "--db", db(), "--run", "1", "--lost", "-w", out}).code, 0);
  // Interface i is point i (A..G, all Ethernet): each packet is a frame of that point's file.
  // Frames as std::string: g++ 12 -O3 warns falsely (-Wstringop-overread) on std::set<std::vector>.
  const auto bytes = [](std::span<const uint8_t> d) { return std::string(d.begin(), d.end()); };
  std::map<uint32_t, std::set<std::string>> original;
  for (uint32_t i = 0; i < 7; ++i) {
    pathtrace::pcapfile::Reader in(source("pcaps/incident-broken/") + char('A' + i) + ".pcap");
    pathtrace::pcapfile::Packet p;
    while (in.next(p)) original[i].insert(bytes(p.data.first(std::min<std::size_t>(p.data.size(), 128))));
  }
  pathtrace::pcapfile::Reader exported(out);
  pathtrace::pcapfile::Packet p;
  std::size_t n = 0;
  while (exported.next(p)) {
    ++n;
    ASSERT_GE(p.interface, 2u);  // C..G
    EXPECT_TRUE(original[p.interface].count(bytes(p.data)))
        << "packet " << n << " is not a frame of point " << char('A' + p.interface);
  }
  EXPECT_EQ(n, 1000u);
}

TEST_F(Export, WholeRunAndOneFlowAsTimelineSeesThem) {
  NEED_TSHARK();
  // Every kept sighting of run 3 (all packets, first 64 bytes), in time order.
  const std::string all = file("all.pcapng");
  const Result r = run({"export", "--db", db(), "--run", "3", "-w", all});
  ASSERT_EQ(r.code, 0) << r.err;
  const Result sightings = run({"query", "--db", db(), "--csv", "SELECT sightings FROM runs WHERE id = 3"});
  ASSERT_EQ(sightings.code, 0) << sightings.err;
  const std::string n = one_value(sightings);
  EXPECT_EQ(r.err, "wrote " + n + " packets from 7 points to " + all +
                       " (200 lost packets); 0 sightings had no kept bytes\n");
  const auto rows = tshark(all, {"frame.comment", "frame.cap_len"});
  EXPECT_EQ(std::to_string(rows.size()), n);
  std::size_t delivered = 0;
  for (const auto& row : rows) {
    delivered += row[0].ends_with(": delivered");
    EXPECT_LE(std::stoul(row[1]), 64u);
  }
  EXPECT_GT(delivered, 0u);

  // --flow takes an inner flow as timeline --flow does: the IPIP packets carrying it.
  const Result id = run({"query", "--db", db(), "--csv",
                         "SELECT id FROM flows WHERE run_id = 3 AND label = 'TCP 198.19.0.12:40011 → 198.18.0.100:80'"});
  ASSERT_EQ(id.code, 0) << id.err;
  const std::string flow = one_value(id);
  const Result tl = run({"timeline", "--db", db(), "--run", "3", "--flow", flow, "--limit", "0"});
  ASSERT_EQ(tl.code, 0) << tl.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(tl.out, m, std::regex(" · (\\d+) sightings of (\\d+) packets"))) << tl.out;
  const std::string one = file("flow.pcapng");
  const Result f = run({"export", "--db", db(), "--run", "3", "--flow", flow, "-w", one});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(f.err.rfind("wrote " + m[1].str() + " packets from 5 points to " + one, 0), 0u) << f.err;
  const auto frows = tshark(one, {"frame.comment", "tcp.srcport", "ip.proto"});
  ASSERT_EQ(std::to_string(frows.size()), m[1].str());
  for (const auto& row : frows) {
    EXPECT_NE(row[0].find(std::string(": ") + kIpipLabel + ": "), std::string::npos) << row[0];
    EXPECT_EQ(row[1], "40011");
    EXPECT_EQ(row[2], "4,6");
  }
}

TEST_F(Export, ErrorsNameWhatIsWrong) {
  // A run captured without --keep-bytes.
  Result r = run({"export", "--db", db(), "--run", "2", "-w", file("x.pcapng")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace export: run 2 has no kept frames: it was captured without --keep-bytes. "
                   "Capture with the packets' first bytes, e.g. `pathtrace ingest --keep-bytes 128 …` "
                   "or `pathtrace run --keep-bytes 128 …`, then export that run\n");
  EXPECT_FALSE(fs::exists(file("x.pcapng")));
  r = run({"export", "--db", db(), "--run", "9", "-w", file("x.pcapng")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace export: " + db() + " has no run 9\n");
  r = run({"export", "--db", db(), "--run", "1", "--flow", "999", "-w", file("x.pcapng")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("pathtrace export: run 1 has no flow 999 (flows 1..", 0), 0u) << r.err;
  r = run({"export", "--db", db(), "--run", "1", "-w", file("no/such/dir/x.pcapng")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace export: " + file("no/such/dir/x.pcapng") + ": cannot create: No such file or directory\n");
  r = run({"export", "--db", db(), "--run", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace export: -w FILE.pcapng is required (see --help)\n");
  r = run({"export", "--db", db(), "--lost", "--flow", "1", "-w", file("x.pcapng")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace export: --lost and --flow exclude each other\n");
  r = run({"export", "--db", file("missing.db"), "-w", file("x.pcapng")});
  EXPECT_EQ(r.code, 4);
  EXPECT_FALSE(fs::exists(file("x.pcapng")));
  r = run({"ingest", "--db", file("k.db"), "--keep-bytes", "70000", "A=" + source("pcaps/incident-broken/A.pcap")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pathtrace ingest: --keep-bytes '70000': expected a whole number from 0 to 65535\n");
}

// --- ingest progress (stderr is a file here, not a terminal) -------------------------------

TEST_F(Export, IngestProgressIsQuietForAFastIngestAndWithQuiet) {
  const std::vector<std::string> args = {"ingest", "--db", file("p.db"), "--inventory",
                                         source("pcaps/incident-broken/inventory.toml")};
  // Plain lines come every 5 s, the first after 5 s: a fast ingest prints none.
  Result r = run(args);
  ASSERT_EQ(r.code, 1) << "the broken incident lost packets\n" << r.err;
  EXPECT_EQ(r.err, "");
  // --quiet prints none however long it takes (a period of 0 ms would print at once).
  std::vector<std::string> quiet = args;
  quiet.push_back("--quiet");
  std::string cmd = "PATHTRACE_PROGRESS_MS=0 " + quote(PATHTRACE_BIN);
  for (const auto& a : quiet) cmd.append(" ").append(quote(a));
  r = sh(cmd, *dir_);
  ASSERT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST_F(Export, IngestProgressPlainLinesEndWithEveryPointsCounts) {
  // PATHTRACE_PROGRESS_MS (for tests, docs/cli.md) shortens the period: 0 prints at once, and
  // the final counts once reading is done.
  std::string cmd = "PATHTRACE_PROGRESS_MS=0 " + quote(PATHTRACE_BIN) + " ingest --db " +
                    quote(file("p0.db")) + " --inventory " +
                    quote(source("pcaps/incident-broken/inventory.toml"));
  const Result r = sh(cmd, *dir_);
  ASSERT_EQ(r.code, 1) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.err);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_GE(lines.size(), 7u) << r.err;
  const std::regex line("ingest: [A-G] [a-z-]+ [a-z0-9-]+: (waiting|\\d+ packets \\(\\d+%\\), [0-9.]+ ?[kM]?/s(, done)?)");
  for (const auto& l : lines) EXPECT_TRUE(std::regex_match(l, line)) << l;
  // The last seven: every point done, with the frames of its file.
  const char* want[] = {"A vm eth0: 55 packets (100%), ", "B tap tapbdd1f2c3-bd: 55 packets (100%), ",
                        "C qbr qbrbdd1f2c3-bd: 255 packets (100%), ", "D qvb qvbbdd1f2c3-bd: 255 packets (100%), ",
                        "E qvo qvobdd1f2c3-bd: 255 packets (100%), ", "F br-ethx phy-br-ethx: 255 packets (100%), ",
                        "G nic eth1: 255 packets (100%), "};
  for (std::size_t i = 0; i < 7; ++i) {
    const std::string& l = lines[lines.size() - 7 + i];
    EXPECT_EQ(l.rfind(std::string("ingest: ") + want[i], 0), 0u) << l;
    EXPECT_TRUE(l.ends_with(", done")) << l;
  }
}

}  // namespace
