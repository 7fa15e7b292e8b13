// A run reads back as it was printed: for `ingest`, `correlate` (collectors on two hosts whose
// clocks disagree, over loopback TCP) the report rebuilt from the database (`report --json`)
// is the report the command printed (`--json`), points with their host, interface and
// namespace included. (`run` is checked the same way by the live lab test, lab_live_evidence.)
// A run of many plain delivered flows (stored packed, in result_blocks) reads back the same in
// every view: `report --json`, the text and HTML reports, and the `verdicts` and `hop_loss` views
// through `pathtrace query`.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "collector/packet/accounting.hpp"
#include "collector/pcapfile/pcapfile.hpp"
#include "collector/wire/record_stream.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace pathtrace;
using namespace pathtrace::test;
using nlohmann::json;

class Roundtrip : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pathtrace-roundtrip-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string db() const { return (dir_ / "t.db").string(); }
  json correlate_incident(const std::string& db, const std::string& extra = "");
  fs::path dir_;
};

// The collector stream a point's capture file would have made: HELLO (with its host,
// interface and namespace), STATS, CHAINs and RECORDS, BYE. Every timestamp (packets and the
// capture window, which opens 1 s before the first packet and closes 1 s after the last) is
// moved by `clock_ahead_ns`, as a host whose clock is that far ahead would have stamped them.
std::vector<uint8_t> stream_of(const std::string& file, const std::string& label, const std::string& host,
                               const std::string& iface, const std::string& netns, int64_t clock_ahead_ns) {
  pcapfile::Reader reader(file);
  wire::Encoder enc;
  wire::RecordStream records(enc, 512, 0);
  wire::Stats stats;
  packet::Parsed parsed;
  std::vector<uint8_t> body;
  pcapfile::Packet pkt;
  int64_t first = 0, last = 0;
  while (reader.next(pkt)) {
    const int64_t ts = pkt.ts_ns + clock_ahead_ns;
    if (!first) first = ts;
    last = ts;
    stats.last_packet_ns = ts;
    if (packet::account(stats, pkt.data, pkt.wire_len, packet::LinkType(pkt.linktype), packet::Options{}, parsed,
                        [](const packet::Parsed&) { return true; }))
      records.add(parsed, ts, pkt.wire_len, pkt.data);
  }
  records.flush();
  stats.records_sent = records.sent();
  body = enc.take();
  wire::Hello h;
  h.point = label;
  h.host = host;
  h.iface = iface;
  h.netns = netns;
  h.linktype = 1;
  h.snaplen = 262144;
  h.realtime_ns = first - 1'000'000'000;
  h.software = "roundtrip test";
  stats.capture_start_ns = first - 1'000'000'000;
  stats.sent_at_ns = last + 1'000'000'000;
  enc.hello(h);
  std::vector<uint8_t> out = enc.take();
  out.insert(out.end(), body.begin(), body.end());
  wire::Bye bye;
  bye.stats = stats;
  bye.reason = "stdin closed";
  enc.bye(bye);
  const auto tail = enc.take();
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

void send_to(uint16_t port, const std::vector<uint8_t>& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    off += std::size_t(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buf[256];
  while (::read(fd, buf, sizeof buf) > 0) {  // until the correlator closes (after BYE)
  }
  ::close(fd);
}

// The JSON report the command printed and the one `report --json` rebuilds, compared whole.
void expect_same_report(const json& printed, const json& rebuilt) {
  ASSERT_TRUE(printed.is_object());
  ASSERT_TRUE(rebuilt.is_object());
  for (const auto& [key, value] : printed.items())
    EXPECT_EQ(value, rebuilt[key]) << "key `" << key << "` differs once stored";
  EXPECT_EQ(printed.size(), rebuilt.size());
}

// An Ethernet + IPv4 + UDP frame whose payload (8 bytes) carries `seq`.
std::vector<uint8_t> udp_frame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint16_t ip_id,
                               uint32_t seq) {
  std::vector<uint8_t> f(14 + 20 + 8 + 8, 0);
  f[12] = 0x08;  // IPv4
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  const uint16_t total = 20 + 8 + 8;
  ip[2] = uint8_t(total >> 8);
  ip[3] = uint8_t(total);
  ip[4] = uint8_t(ip_id >> 8);
  ip[5] = uint8_t(ip_id);
  ip[8] = 64;
  ip[9] = 17;  // UDP
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = uint8_t(src >> (24 - 8 * i));
    ip[16 + i] = uint8_t(dst >> (24 - 8 * i));
  }
  uint8_t* udp = ip + 20;
  udp[0] = uint8_t(sport >> 8);
  udp[1] = uint8_t(sport);
  udp[2] = uint8_t(dport >> 8);
  udp[3] = uint8_t(dport);
  udp[5] = 16;
  for (int i = 0; i < 4; ++i) udp[8 + i] = uint8_t(seq >> (24 - 8 * i));
  return f;
}

// Three points A (vm), B, C (nic) that saw: 300 (`flows`) UDP flows of 3 packets each from outside (C
// first) and, for every third, 2 replies from the VM (A first), all delivered; one flow that
// loses 5 of its 20 packets between B and A; and a marker every point saw 1 s before and after.
void write_plain_set(const fs::path& dir, uint32_t flows = 300) {
  constexpr int64_t kT0 = 1'700'000'000'000'000'000;
  constexpr int64_t kDelay[3] = {20'000, 10'000, 0};  // A, B, C: after C
  std::vector<std::unique_ptr<pcapfile::Writer>> w;
  for (const char* name : {"A", "B", "C"}) w.push_back(std::make_unique<pcapfile::Writer>((dir / (std::string(name) + ".pcap")).string(), 1));
  const uint32_t vm = 0xC6120014, outside = 0x64400000;  // 198.18.0.20, 100.64.0.0/16
  uint16_t id = 1;
  auto at_all = [&](const std::vector<uint8_t>& f, int64_t t, bool from_vm, bool reaches_a = true) {
    for (int p = 2; p >= 0; --p) {
      const int64_t when = from_vm ? t + kDelay[2 - p] : t + kDelay[p];
      if (p == 0 && !reaches_a) continue;
      w[std::size_t(p)]->write(when, std::span<const uint8_t>(f.data(), f.size()));
    }
  };
  // Written in time order per file: the marker, then the flows 1 ms apart, then the marker.
  at_all(udp_frame(outside + 1, vm, 7, 7, id++, 0), kT0, false);
  int64_t t = kT0 + 1'000'000'000;
  for (uint32_t i = 0; i < flows; ++i, t += 1'000'000) {
    const uint32_t client = outside + 2 + i;
    const auto sport = uint16_t(20000 + i);
    for (uint32_t k = 0; k < 3; ++k)
      at_all(udp_frame(client, vm, sport, 53, id++, k), t + int64_t(k) * 100'000, false);
    if (i % 3 == 0)
      for (uint32_t k = 0; k < 2; ++k)
        at_all(udp_frame(vm, client, 53, sport, id++, k), t + 400'000 + int64_t(k) * 100'000, true);
  }
  for (uint32_t k = 0; k < 20; ++k, t += 1'000'000)
    at_all(udp_frame(outside + 1000, vm, 5000, 5001, id++, k), t, false, k % 4 != 0);
  at_all(udp_frame(outside + 1, vm, 7, 7, id++, 1), t + 1'000'000'000, false);
  for (auto& x : w) x->close();
}

TEST_F(Roundtrip, PlainResultsReadBackAsPrintedInEveryView) {
  write_plain_set(dir_);
  const std::vector<std::string> points = {"A:vm=" + (dir_ / "A.pcap").string(), "B:qbr=" + (dir_ / "B.pcap").string(),
                                           "C:nic=" + (dir_ / "C.pcap").string()};
  auto ingest = [&](const std::string& db_path, std::vector<std::string> args) {
    args.insert(args.begin(), {"ingest", "--db", db_path, "-q"});
    args.insert(args.end(), points.begin(), points.end());
    return run_pathtrace(args, dir_);
  };
  const auto printed = ingest(db(), {"--json"});
  ASSERT_EQ(printed.code, 1) << "a flow lost packets: exit 1\n" << printed.err;
  const json p = json::parse(printed.out);
  const json& results = p["results"];
  // The lossy flow leads; the 300 + 100 others (and the marker) were delivered.
  ASSERT_EQ(results.size(), 402u);
  EXPECT_EQ(results[0]["flow_label"], "UDP 100.64.3.232:5000 → 198.18.0.20:5001");
  EXPECT_EQ(results[0]["verdict"], "partial_loss");
  EXPECT_EQ(results[0]["lost"], 5);
  for (std::size_t i = 1; i < results.size(); ++i) EXPECT_EQ(results[i]["verdict"], "delivered") << i;
  // Most results are stored packed, the lossy one as a full row: both kinds are read back.
  const auto stored = run_pathtrace({"query", "--db", db(), "--json",
                                     "SELECT (SELECT count(*) FROM flow_results WHERE run_id = 1) AS full, "
                                     "(SELECT sum(count) FROM result_blocks WHERE run_id = 1) AS packed"},
                                    dir_);
  ASSERT_EQ(stored.code, 0) << stored.err;
  EXPECT_EQ(json::parse(stored.out), json::parse(R"([{"full": 1, "packed": 401}])"));

  const auto back = run_pathtrace({"report", "--db", db(), "--json"}, dir_);
  ASSERT_EQ(back.code, 1) << back.err;
  expect_same_report(p, json::parse(back.out));

  // The verdicts view: one row per result, in the report's order, with its numbers.
  const auto verdicts = run_pathtrace({"query", "--db", db(), "--json", "SELECT * FROM verdicts WHERE run = 1"}, dir_);
  ASSERT_EQ(verdicts.code, 0) << verdicts.err;
  const json v = json::parse(verdicts.out);
  ASSERT_EQ(v.size(), results.size());
  std::size_t n_hops = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& r = results[i];
    EXPECT_EQ(v[i]["flow"], r["flow"]) << i;
    EXPECT_EQ(v[i]["flow_label"], r["flow_label"]) << i;
    EXPECT_EQ(v[i]["dir"], r["direction"]) << i;
    EXPECT_EQ(v[i]["verdict"], r["verdict"]) << i;
    EXPECT_EQ(v[i]["summary"], r["summary"]) << i;
    EXPECT_EQ(v[i]["judged"], r["judged"]) << i;
    EXPECT_EQ(v[i]["delivered"], r["delivered"]) << i;
    EXPECT_EQ(v[i]["lost"], r["lost"]) << i;
    n_hops += r["hops"].size();
  }
  EXPECT_EQ(v[1]["summary"], "delivered: 3 of 3 reached A (vm)") << v[1].dump();

  // The hop_loss view: one row per result and hop, in the report's order.
  const auto hops = run_pathtrace({"query", "--db", db(), "--json", "SELECT * FROM hop_loss WHERE run_id = 1"}, dir_);
  ASSERT_EQ(hops.code, 0) << hops.err;
  const json h = json::parse(hops.out);
  ASSERT_EQ(h.size(), n_hops);
  std::size_t row = 0;
  for (const json& r : results) {
    for (std::size_t k = 0; k < r["hops"].size(); ++k, ++row) {
      const json& want = r["hops"][k];
      const json& got = h[row];
      EXPECT_EQ(got["flow"], r["flow"]) << row;
      EXPECT_EQ(got["flow_label"], r["flow_label"]) << row;
      EXPECT_EQ(got["dir"], r["direction"]) << row;
      EXPECT_EQ(got["hop"], k) << row;
      EXPECT_EQ(got["from_label"], want["from"]) << row;
      EXPECT_EQ(got["to_label"], want["to"]) << row;
      EXPECT_EQ(got["packets_in"], want["in"]) << row;
      EXPECT_EQ(got["packets_out"], want["out"]) << row;
      EXPECT_EQ(got["lost"], want["lost"]) << row;
      EXPECT_DOUBLE_EQ(got["loss_pct"].get<double>(), std::round(want["loss_pct"].get<double>() * 100) / 100) << row;
      EXPECT_EQ(got["inconclusive"], want["inconclusive"].get<bool>() ? 1 : 0) << row;
      EXPECT_EQ(got["why"], want["why"]) << row;
    }
  }

  // The text report (every flow) and the HTML page say the same as at ingest.
  const fs::path html_printed = dir_ / "printed.html", html_back = dir_ / "back.html";
  const auto text = ingest((dir_ / "again.db").string(), {"--all", "--html", html_printed.string()});
  ASSERT_EQ(text.code, 1) << text.err;
  const auto text_back = run_pathtrace({"report", "--db", (dir_ / "again.db").string(), "--all"}, dir_);
  ASSERT_EQ(text_back.code, 1) << text_back.err;
  EXPECT_EQ(text.out.substr(0, text.out.rfind("stored as run")), text_back.out);
  ASSERT_EQ(run_pathtrace({"report", "--db", (dir_ / "again.db").string(), "--html", html_back.string()}, dir_).code, 1);
  EXPECT_EQ(slurp(html_printed), slurp(html_back));

  // The default text report reads only the first blocks and counts the rest: the same text.
  const std::string third = (dir_ / "third.db").string();
  const auto listed = ingest(third, {});
  ASSERT_EQ(listed.code, 1) << listed.err;
  EXPECT_NE(listed.out.find("… and 391 more flows (--all shows every flow)"), std::string::npos) << listed.out;
  const auto blocks = run_pathtrace({"query", "--db", third, "--csv", "SELECT count(*) FROM result_blocks"}, dir_);
  ASSERT_EQ(blocks.code, 0) << blocks.err;
  ASSERT_GE(std::stoi(blocks.out.substr(blocks.out.find('\n') + 1)), 2) << "the first block is read, the others only counted";
  const auto listed_back = run_pathtrace({"report", "--db", third}, dir_);
  ASSERT_EQ(listed_back.code, 1) << listed_back.err;
  EXPECT_EQ(listed.out.substr(0, listed.out.rfind("stored as run")), listed_back.out);
  // A run stored before schema 7 has no counts: its blocks are decoded to count.
  ASSERT_EQ(sh("sqlite3 " + third + " 'UPDATE runs SET results = NULL, delivered = NULL'", dir_).code, 0);
  const auto old_back = run_pathtrace({"report", "--db", third}, dir_);
  EXPECT_EQ(old_back.out, listed_back.out);
  // Without A nothing is lost: the verdict counts the delivered flows, read and unread.
  const std::string fourth = (dir_ / "fourth.db").string();
  const auto whole = run_pathtrace({"ingest", "--db", fourth, "-q", points[1], points[2]}, dir_);
  ASSERT_EQ(whole.code, 0) << whole.err;
  EXPECT_NE(whole.out.find("verdict: delivered: every judged packet of 402 flows reached the far end"), std::string::npos)
      << whole.out;
  const auto whole_back = run_pathtrace({"report", "--db", fourth}, dir_);
  EXPECT_EQ(whole.out.substr(0, whole.out.rfind("stored as run")), whole_back.out);
  ASSERT_EQ(sh("sqlite3 " + fourth + " 'UPDATE runs SET results = NULL, delivered = NULL'", dir_).code, 0);
  EXPECT_EQ(run_pathtrace({"report", "--db", fourth}, dir_).out, whole_back.out);
}

TEST_F(Roundtrip, TheHtmlPageListsTheFirstThousandFlowsAndCountsTheRest) {
  write_plain_set(dir_, 1200);  // 1200 + 400 replies + the marker delivered, one flow lossy
  std::vector<std::string> args = {"ingest", "--db", db(), "-q"};
  args.insert(args.end(), {"A:vm=" + (dir_ / "A.pcap").string(), "B:qbr=" + (dir_ / "B.pcap").string(),
                           "C:nic=" + (dir_ / "C.pcap").string()});
  const fs::path printed = dir_ / "printed.html", back = dir_ / "back.html";
  args.insert(args.end(), {"--html", printed.string()});
  const auto r = run_pathtrace(args, dir_);
  ASSERT_EQ(r.code, 1) << r.err;
  const std::string page = slurp(printed);
  EXPECT_NE(page.find("1602 flows"), std::string::npos);
  EXPECT_NE(page.find("… and 601 more flows, none of them lost or inconclusive"), std::string::npos);
  // Read back, the page is the same, though only the first blocks of results are read.
  ASSERT_EQ(run_pathtrace({"report", "--db", db(), "--html", back.string()}, dir_).code, 1);
  EXPECT_EQ(slurp(back), page);
}

TEST_F(Roundtrip, IngestReadsBackAsPrinted) {
  const auto r = run_pathtrace({"ingest", "--db", db(), "--json", "--inventory",
                                source("pcaps/incident-broken/inventory.toml"), "--filter", "ipip"},
                               dir_);
  ASSERT_EQ(r.code, 1) << "a flow lost packets: exit 1\n" << r.err;
  const auto back = run_pathtrace({"report", "--db", db(), "--json"}, dir_);
  ASSERT_EQ(back.code, 1) << back.err;
  expect_same_report(json::parse(r.out), json::parse(back.out));
}

// `correlate` over the incident's seven points sent as collector streams (A on host vm1, whose
// clock is 0.5 s ahead; B..G on hv1), with `extra` options, into `db`: its JSON report.
json Roundtrip::correlate_incident(const std::string& db, const std::string& extra) {
  fs::remove(dir_ / "out");  // an earlier call's: its port and report are not this one's
  fs::remove(dir_ / "err");
  // The incident's seven points: A on host vm1, whose clock is 0.5 s ahead; B..G on hv1.
  const std::string set = source("pcaps/incident-broken/");
  struct P {
    const char* label;
    const char* host;
    const char* iface;
    const char* netns;
  };
  const std::vector<P> points = {{"A", "vm1", "eth0", "ptlab-vm"},         {"B", "hv1", "tapbdd1f2c3-bd", "ptlab-hv"},
                                 {"C", "hv1", "qbrbdd1f2c3-bd", "ptlab-hv"}, {"D", "hv1", "qvbbdd1f2c3-bd", "ptlab-hv"},
                                 {"E", "hv1", "qvobdd1f2c3-bd", "ptlab-hv"}, {"F", "hv1", "phy-br-ethx", "ptlab-hv"},
                                 {"G", "hv1", "eth1", "ptlab-hv"}};
  const std::string cmd = quote(PATHTRACE_BIN) + " correlate --db " + quote(db) +
                          " --listen 127.0.0.1:0 --points A,B,C,D,E,F,G --filter ipip --json --duration 60s " + extra +
                          " >" + quote((dir_ / "out").string()) + " 2>" + quote((dir_ / "err").string()) +
                          " </dev/null & echo $!";
  const Result started = sh(cmd, dir_);
  EXPECT_EQ(started.code, 0);
  uint16_t port = 0;
  for (int i = 0; i < 200 && !port; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string err = slurp(dir_ / "err");
    const auto at = err.find("listening on 127.0.0.1:");
    if (at != std::string::npos) port = uint16_t(std::stoi(err.substr(at + 23)));
  }
  if (port == 0) {
    ADD_FAILURE() << slurp(dir_ / "err");
    return json();
  }
  for (const P& p : points) {
    const int64_t ahead = std::string(p.host) == "vm1" ? 500'000'000 : 0;
    send_to(port, stream_of(set + p.label + ".pcap", p.label, p.host, p.iface, p.netns, ahead));
  }
  std::string out;
  for (int i = 0; i < 400; ++i) {  // correlate ends once every collector said BYE
    out = slurp(dir_ / "out");
    if (!out.empty() && out.back() == '\n' && json::accept(out)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!json::accept(out)) {
    ADD_FAILURE() << out << slurp(dir_ / "err");
    return json();
  }
  return json::parse(out);
}

TEST_F(Roundtrip, CorrelateAppliesClocksAndReadsBackAsPrinted) {
  const json printed = correlate_incident(db());
  ASSERT_TRUE(printed.is_object());
  // The verdict is the incident's, on clocks put right.
  const json& headline = printed["results"][0];
  EXPECT_EQ(headline["flow_label"], "IPIP 198.18.0.1 → 198.18.0.20");
  EXPECT_EQ(headline["verdict"], "disappears");
  EXPECT_EQ(headline["headline_hop"]["from"], "C");
  EXPECT_EQ(headline["headline_hop"]["to"], "B");
  bool clock_said = false;
  for (const auto& w : printed["warnings"])
    clock_said = clock_said || w.get<std::string>().find("500.000 ms") != std::string::npos;
  EXPECT_TRUE(clock_said) << printed["warnings"].dump();
  // Points carry what the collectors said of themselves.
  EXPECT_EQ(printed["points"][0]["host"], "vm1");
  EXPECT_EQ(printed["points"][1]["iface"], "tapbdd1f2c3-bd");
  EXPECT_EQ(printed["points"][1]["netns"], "ptlab-hv");
  const auto back = run_pathtrace({"report", "--db", db(), "--json"}, dir_);
  ASSERT_EQ(back.code, 1) << back.err;
  expect_same_report(printed, json::parse(back.out));
}

// Past its memory budget a live run keeps the sightings it staged in temporary files and lets
// them go (--memory 1K: after its first quarter second): it prints and stores what the same
// run in memory does.
TEST_F(Roundtrip, CorrelatePastItsMemoryBudgetSaysWhatItWouldInMemory) {
  json in_memory = correlate_incident(db());
  json spilled = correlate_incident((dir_ / "spilled.db").string(), "--memory 1K");
  ASSERT_TRUE(in_memory.is_object());
  ASSERT_TRUE(spilled.is_object());
  EXPECT_EQ(spilled["results"][0]["verdict"], "disappears");
  for (json* j : {&in_memory, &spilled})
    for (const char* key : {"run_id", "started", "command"}) j->erase(key);
  expect_same_report(in_memory, spilled);
  EXPECT_EQ(spilled["sightings"], in_memory["sightings"]);
}

// The database locked by another process in the middle of a live run (the sqlite3 shell's
// `BEGIN IMMEDIATE`): the correlator retries for the busy timeout, then stops capturing at
// once, prints the report of what it had committed, and exits 4 with the database's error;
// the run is marked failed with that reason (`runs` shows it) once the lock is gone.
TEST_F(Roundtrip, ALockedDatabaseStopsTheRunReportsWhatItCommittedAndMarksItFailed) {
  const std::string set = source("pcaps/incident-broken/");
  const std::string cmd = quote(PATHTRACE_BIN) + " correlate --db " + quote(db()) +
                          " --listen 127.0.0.1:0 --points A,B --filter ipip --duration 60s" +
                          " >" + quote((dir_ / "out").string()) + " 2>" + quote((dir_ / "err").string()) +
                          " </dev/null; echo $? >" + quote((dir_ / "rc").string());
  ASSERT_EQ(sh("(" + cmd + ") &", dir_).code, 0);
  uint16_t port = 0;
  for (int i = 0; i < 200 && !port; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string err = slurp(dir_ / "err");
    const auto at = err.find("listening on 127.0.0.1:");
    if (at != std::string::npos) port = uint16_t(std::stoi(err.substr(at + 23)));
  }
  ASSERT_NE(port, 0) << slurp(dir_ / "err");
  auto runs = [&] { return run_pathtrace({"runs", "--db", db()}, dir_).out; };
  // Point A's stream is staged (committed) ...
  send_to(port, stream_of(set + "A.pcap", "A", "vm1", "eth0", "", 0));
  std::string listed;
  for (int i = 0; i < 100; ++i) {
    listed = runs();
    if (listed.find(" 0 sightings") == std::string::npos && listed.find(" sightings") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(listed.find("capturing (pid "), std::string::npos) << listed;
  // ... then another process locks the file for 14 s, and point B's stream arrives.
  const fs::path ready = dir_ / "locked";
  ASSERT_EQ(sh("python3 -c 'import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
               "c.execute(\"BEGIN IMMEDIATE\"); open(sys.argv[2], \"w\").close(); time.sleep(14)' " +
                   quote(db()) + " " + quote(ready.string()) + " &",
               dir_).code,
            0);
  for (int i = 0; i < 100 && !fs::exists(ready); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(ready)) << "the locker did not start (python3's sqlite3)";
  send_to(port, stream_of(set + "B.pcap", "B", "hv1", "tapbdd1f2c3-bd", "", 0));
  for (int i = 0; i < 600 && !fs::exists(dir_ / "rc"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(dir_ / "rc")) << "correlate did not stop: " << slurp(dir_ / "err");
  EXPECT_EQ(slurp(dir_ / "rc"), "4\n") << slurp(dir_ / "err");
  const std::string err = slurp(dir_ / "err");
  EXPECT_NE(err.find("pathtrace correlate: database " + db() +
                     ": begin transaction: database is locked (by another process, for more than 10 s); "
                     "capture stopped: run 1 marked failed; its report covers what it committed "
                     "(pathtrace report --run 1)\n"),
            std::string::npos)
      << err;
  const std::string out = slurp(dir_ / "out");
  EXPECT_NE(out.find("run 1 stopped: the database could not be written: analysed from the "), std::string::npos) << out;
  EXPECT_EQ(out.find(" 0 sightings committed"), std::string::npos) << out;
  listed = runs();
  EXPECT_EQ(listed.find("run 1  "), 0u) << listed;
  EXPECT_NE(listed.find("  failed  2 points  "), std::string::npos) << listed;
  EXPECT_NE(listed.find("\n    database " + db() + ": begin transaction: database is locked"), std::string::npos) << listed;
  // `report` analyses what it committed, saying why it stopped.
  const auto rep = run_pathtrace({"report", "--db", db(), "--run", "1"}, dir_);
  EXPECT_NE(rep.out.find("run 1 failed (database " + db() + ": begin transaction: database is locked"), std::string::npos)
      << rep.out << rep.err;
}

// A full disk in the middle of a live run: the first batch that does not fit stops the run at
// once; the run is marked failed all the same (the WAL, checkpointed and truncated, makes room
// for that one row). The database lives on a 4 MiB tmpfs in a mount namespace of its own.
TEST_F(Roundtrip, AFullDiskStopsTheRunAndMarksItFailed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a small tmpfs (unshare -m, mount)";
  const fs::path mnt = dir_ / "mnt";
  fs::create_directories(mnt);
  const std::string script =
      "set -u; D=" + quote(mnt.string()) + "; O=" + quote(dir_.string()) + "; PT=" + quote(PATHTRACE_BIN) + "\n"
      "mount -t tmpfs -o size=4m pathtrace-test \"$D\" || exit 77\n"
      "\"$PT\" correlate --db \"$D/t.db\" --listen 127.0.0.1:0 --points A,B --filter ipip --duration 60s"
      " >\"$O/out\" 2>\"$O/err\" </dev/null &\n"
      "pid=$!\n"
      "for i in $(seq 200); do \"$PT\" runs --db \"$D/t.db\" 2>/dev/null | grep -q capturing && break; sleep 0.05; done\n"
      "dd if=/dev/zero of=\"$D/fill\" bs=64k 2>/dev/null\n"
      "touch \"$O/full\"\n"
      "wait $pid; echo $? >\"$O/rc\"\n"
      "\"$PT\" runs --db \"$D/t.db\" >\"$O/runs.part\" 2>&1; mv \"$O/runs.part\" \"$O/runs\"\n";  // whole when it appears
  { std::ofstream(dir_ / "full.sh") << script; }
  ASSERT_EQ(sh("unshare -m bash " + quote((dir_ / "full.sh").string()) + " >" + quote((dir_ / "script.log").string()) +
                   " 2>&1 &",
               dir_)
                .code,
            0);
  for (int i = 0; i < 200 && !fs::exists(dir_ / "full"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(dir_ / "full")) << slurp(dir_ / "script.log") << slurp(dir_ / "err");
  const std::string err0 = slurp(dir_ / "err");
  const auto at = err0.find("listening on 127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << err0;
  send_to(uint16_t(std::stoi(err0.substr(at + 23))), stream_of(source("pcaps/incident-broken/A.pcap"), "A", "vm1", "eth0", "", 0));
  for (int i = 0; i < 300 && !fs::exists(dir_ / "runs"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(dir_ / "runs")) << "correlate did not stop: " << slurp(dir_ / "err");
  EXPECT_EQ(slurp(dir_ / "rc"), "4\n");
  const std::string err = slurp(dir_ / "err");
  EXPECT_NE(err.find(": database or disk is full; capture stopped: run 1 marked failed; its report covers what it "
                     "committed (pathtrace report --run 1)\n"),
            std::string::npos)
      << err;
  EXPECT_NE(slurp(dir_ / "out").find("run 1 stopped: the database could not be written: analysed from the 0 sightings"),
            std::string::npos)
      << slurp(dir_ / "out");
  const std::string listed = slurp(dir_ / "runs");
  EXPECT_NE(listed.find("  failed  2 points  0 sightings"), std::string::npos) << listed;
  EXPECT_NE(listed.find("database or disk is full"), std::string::npos) << listed;
}

}  // namespace
