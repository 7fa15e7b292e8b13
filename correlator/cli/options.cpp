#include "correlator/cli/options.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "collector/common/clock.hpp"
#include "correlator/inventory/inventory.hpp"
#include "correlator/evidence/trips.hpp"
#include "correlator/pipeline/finish.hpp"
#include "correlator/report/html.hpp"
#include "correlator/report/render.hpp"

namespace pathtrace::cli {

std::vector<OptionSpec> report_options() {
  return {
      {"db", 0, "FILE", "SQLite database to store the run in", kDefaultDb},
      {"json", 0, "", "print the report as JSON (docs/report-json.md) instead of text", ""},
      {"html", 0, "FILE.html", "also write the report as one self-contained HTML page (0600; refused if it exists)", ""},
      {"force", 0, "", "replace the --html file if it exists", ""},
      {"all", 0, "", "a table for every flow, not only the ones that lost packets", ""},
      {"fail-on-loss", 0, "", "accepted for old scripts: a flow that lost packets always exits 1", ""},
  };
}

std::vector<OptionSpec> live_options() {
  return {
      {"filter", 0, "EXPR", "alias (ipip, tcp, ...; see below) or pcap-filter expression", ""},
      {"duration", 0, "DURATION", "stop after this long (10s, 500ms, 2m)", ""},
      {"count", 0, "N", "stop when a point has kept this many packets", ""},
      {"idle", 0, "DURATION", "stop after this long without a new packet", ""},
      {"quiet", 'q', "", "only the report: no progress, no connection log (errors are still shown)", ""},
  };
}

std::vector<OptionSpec> memory_options() {
  return {{"memory", 0, "SIZE",
           "memory for the run's sightings (512M, 2G; 0: no limit): past it they go to temporary files next "
           "to the database, about 60 bytes per packet and point, and are analysed one digest range at a time",
           "512M"}};
}

SpillSetting spill_setting(const Args& a) {
  SpillSetting s;
  s.memory = std::size_t(parse_size(a.str("memory"), "--memory"));
  if (s.memory && s.memory < 1024)
    throw Error(ExitCode::kUsage, "--memory '" + a.str("memory") + "': at least 1K (or 0: no limit)");
  // Absolute, so that messages name it whatever the working directory was.
  std::error_code ec;
  const std::filesystem::path db = std::filesystem::absolute(a.str("db"), ec);
  std::string parent = (ec ? std::filesystem::path(a.str("db")) : db).parent_path().string();
  s.dir = parent.empty() ? std::string(1, '.') : std::move(parent);
  return s;
}

std::vector<OptionSpec> limit_options() {
  // The defaults as text: the tables are constant data, and the numbers must be the server's.
  static const server::SessionLimits d;
  static const std::string records = std::to_string(d.records), bytes = std::to_string(d.bytes),
                           chains = std::to_string(d.chains), gaps = std::to_string(d.gaps);
  return {
      {"max-records", 0, "N", "records one collector may send (by sequence number); beyond, its session ends", records},
      {"max-bytes", 0, "N", "bytes one collector may send; beyond, its session ends", bytes},
      {"max-chains", 0, "N", "flows (CHAIN frames) one collector may announce; beyond, its session ends", chains},
      {"max-gaps", 0, "N", "times one collector's sequence numbers may skip; beyond, its session ends", gaps},
  };
}

server::SessionLimits session_limits(const Args& a) {
  server::SessionLimits l;
  l.records = a.uint("max-records", 1, UINT64_MAX);
  l.bytes = a.uint("max-bytes", 1, UINT64_MAX);
  l.chains = a.uint("max-chains", 1, UINT64_MAX);
  l.gaps = a.uint("max-gaps", 0, UINT64_MAX);
  return l;
}

std::vector<OptionSpec> digest_options() {
  return {
      {"payload-bytes", 0, "N", "L4 payload bytes hashed into the digest, 0-32", "8"},
      {"vxlan-port", 0, "PORT", "UDP port of VXLAN", "4789"},
      {"geneve-port", 0, "PORT", "UDP port of Geneve", "6081"},
  };
}

std::vector<OptionSpec> window_options(bool assume) {
  std::vector<OptionSpec> o = {
      {"window", 0, "[POINT=]START..END",
       "when POINT (every point without POINT=) was capturing, on its host's clock: RFC 3339 times, seconds "
       "since 1970, or +SECONDS after the run's first frame",
       "", true},
      {"clock", 0, "HOST=SECONDS",
       "HOST's clock runs SECONDS ahead (+) or behind (-): taken instead of an estimate", "", true},
  };
  if (assume)
    o.push_back({"assume-capturing", 0, "POINTS",
                 "these points (comma-separated; all without a value) count as capturing over the span of every "
                 "point's frames", "", false, false, true});
  return o;
}

pipeline::Stated stated_from(const Args& a, const std::vector<Point>& points, const std::string& inventory,
                             bool hosts_known) {
  pipeline::Stated st;
  for (const auto& w : a.list("window")) st.windows.push_back(inventory::parse_window_arg(w));
  if (a.spec().name == "ingest" && a.has("assume-capturing")) {
    st.assume = true;
    const std::string list = a.str("assume-capturing");
    for (std::size_t start = 0; !list.empty() && start <= list.size();) {
      const auto comma = std::min(list.find(',', start), list.size());
      const std::string label = list.substr(start, comma - start);
      if (label.empty()) throw Error(ExitCode::kUsage, "--assume-capturing '" + list + "': an empty point label");
      st.assume_points.push_back(label);
      start = comma + 1;
    }
  }
  std::map<std::string, int64_t> cli;
  for (const auto& c : a.list("clock")) {
    const auto [host, lead] = inventory::parse_clock_arg(c);
    if (!cli.emplace(host, lead).second) throw Error(ExitCode::kUsage, "--clock " + host + " given more than once");
  }
  if (!inventory.empty())
    for (const auto& [name, host] : inventory::load_hosts(inventory))
      if (host.clock_ns) st.clocks[name] = *host.clock_ns;
  if (hosts_known) pipeline::check_clocks(cli, points);
  for (const auto& [host, lead] : cli) st.clocks[host] = lead;
  pipeline::check_points(st, points);
  return st;
}

std::vector<OptionSpec> join(std::vector<OptionSpec> a, std::initializer_list<std::vector<OptionSpec>> more) {
  for (const auto& m : more) a.insert(a.end(), m.begin(), m.end());
  return a;
}

long long parse_duration_ms(const std::string& text, const std::string& what) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  const std::string unit(ptr, end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m" || unit == "min") scale = 60000;
  else if (unit == "h") scale = 3600000;
  if (ec != std::errc() || ptr == text.data() || scale == 0 || !(v >= 0) || !std::isfinite(v * scale))
    throw Error(ExitCode::kUsage, what + " '" + text + "': expected a duration like 10s, 500ms, 2m");
  return static_cast<long long>(v * scale);
}

uint64_t parse_size(const std::string& text, const std::string& what) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  std::string unit(ptr, end);
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && unit.back() == 'B') unit.pop_back();
  if (unit.size() > 1 && unit.back() == 'I') unit.pop_back();
  unsigned shift = 64;
  if (unit.empty()) shift = 0;
  else if (unit == "K") shift = 10;
  else if (unit == "M") shift = 20;
  else if (unit == "G") shift = 30;
  else if (unit == "T") shift = 40;
  if (ec != std::errc() || ptr == text.data() || shift == 64 || (shift && v > (~uint64_t{0} >> shift)))
    throw Error(ExitCode::kUsage, what + " '" + text + "': expected a size like 512M, 2G");
  return v << shift;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ExitCode::kUsage, "--token-file " + path + ": cannot be read");
  std::string line;
  std::getline(in, line);
  const auto b = line.find_first_not_of(" \t\r\n");
  const auto e = line.find_last_not_of(" \t\r\n");
  if (b == std::string::npos)
    throw Error(ExitCode::kUsage, "--token-file " + path + ": its first line is empty (no token)");
  return line.substr(b, e - b + 1);
}

int64_t run_arg(const Args& args, Store& store) {
  return args.has("run") ? store.find_run(args.str("run")) : 0;
}

Report run_meta(const std::string& filter, const std::string& command_line) {
  Report meta;
  meta.started = now_iso8601();
  meta.command = command_line;
  meta.filter = filter;
  return meta;
}

void exclusive(const Args& args, std::initializer_list<const char*> names) {
  const char* first = nullptr;
  for (const char* n : names) {
    if (!args.has(n)) continue;
    if (first) throw Error(ExitCode::kUsage, std::string("--") + first + " and --" + n + " exclude each other");
    first = n;
  }
}

int print_report(std::ostream& out, const Report& report, const Args& args, const std::string& db_path) {
  exclusive(args, {"json", "html"});
  // `report --html F` only writes the page; the commands that make a run print their report too.
  const bool page_only = args.spec().name == "report" && args.has("html");
  if (args.has("html")) {
    const std::string path = args.str("html");
    report::write_html_file(path, report, args.has("force") ? Existing::kReplace : Existing::kRefuse);
    (page_only ? out : std::cerr) << "wrote " << path << " (run " << report.run_id << ")\n";
  }
  if (args.has("json")) {
    report::write_json(out, report);
  } else if (!page_only) {
    report::RenderOptions ro;
    ro.all_flows = args.has("all");
    ro.db_path = db_path;
    report::print_text(out, report, ro);
  }
  return report::has_loss(report) ? int(ExitCode::kLoss) : 0;
}

int print_run(std::ostream& out, Run& run, const Args& args, const std::string& db_path) {
  exclusive(args, {"json", "html"});
  if (args.has("json")) {
    const Report& r = run.report;
    report::write_json(
        out, r, [&](const report::FlowVisit& visit) { for (const Flow& f : r.flows) visit(f); },
        [&](const report::ResultVisit& visit) { run.results.for_each(visit); });
    return report::has_loss(r) ? int(ExitCode::kLoss) : 0;
  }
  if (args.has("all")) run.list_results(SIZE_MAX);
  return print_report(out, run.report, args, db_path);
}

int print_live_run(std::ostream& out, const Args& args, Store& store, const std::function<Run()>& live) {
  try {
    Run run = live();
    return print_run(out, run, args, store.path());
  } catch (const pipeline::StoreFailed& failed) {
    try {
      const Report stored = store.load(failed.run());
      Run committed = evidence::analyse_committed(store, stored, "stopped: the database could not be written");
      print_run(out, committed, args, store.path());
    } catch (const Error& e) {
      std::cerr << "pathtrace " << args.spec().name << ": what run " << failed.run()
                << " committed cannot be read either: " << e.what() << "\n";
    }
    throw;
  }
}

std::string join_args(int argc, char** argv) {
  std::string s = "pathtrace";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

}  // namespace pathtrace::cli
