#include "correlator/cli/options.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>

#include "collector/common/clock.hpp"
#include "collector/packet/filter.hpp"
#include "correlator/report/render.hpp"

namespace pathtrace::cli {

cxxopts::ParseResult parse_options(cxxopts::Options& opts, int argc, char** argv) {
  try {
    return opts.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(ExitCode::kUsage, std::string(e.what()) + " (see --help)");
  }
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

void add_live_options(cxxopts::Options& opts) {
  opts.add_options()
      ("db", "SQLite database to store the run in", cxxopts::value<std::string>()->default_value(kDefaultDb))
      ("filter", "alias (ipip, tcp, ...) or pcap-filter expression", cxxopts::value<std::string>()->default_value(""))
      ("duration", "stop after this long (10s, 500ms, 2m)", cxxopts::value<std::string>())
      ("count", "stop when a point has kept this many packets", cxxopts::value<uint64_t>()->default_value("0"))
      ("idle", "stop after this long without a new packet", cxxopts::value<std::string>())
      ("json", "print the report as JSON")
      ("all", "print a table for every flow")
      ("q,quiet", "no live counts")
      ("h,help", "show this help");
}

Report run_meta(const cxxopts::ParseResult& res, const std::string& command) {
  Report meta;
  meta.started = now_iso8601();
  meta.command = command;
  meta.filter = res["filter"].as<std::string>();
  return meta;
}

void print_report(std::ostream& out, const Report& report, const cxxopts::ParseResult& res,
                  const std::string& db_path) {
  if (res.count("json")) {
    out << report::to_json(report).dump(2) << "\n";
    return;
  }
  report::RenderOptions ro;
  ro.all_flows = res.count("all") > 0;
  ro.db_path = db_path;
  report::print_text(out, report, ro);
}

// Parses argv with `opts`; --help prints and exits 0; bad options → Error(kUsage).
cxxopts::ParseResult parse_or_help(cxxopts::Options& opts, int argc, char** argv,
                                   bool* help_shown) {
  opts.add_options()("h,help", "show this help");
  auto res = parse_options(opts, argc, argv);
  if (res.count("help")) {
    std::cout << opts.help() << std::flush;
    *help_shown = true;
  }
  return res;
}

std::string aliases_help() {
  std::string s = "\nfilter aliases (exact on parsed layers; match VLAN-tagged and tunnelled copies):\n";
  for (const auto& a : packet::aliases())
    s += "  " + std::string(a.name) + std::string(a.name.size() < 8 ? 8 - a.name.size() : 1, ' ') +
         std::string(a.description) + "\n";
  return s + "anything else is a pcap-filter expression applied to the raw frame.\n";
}

std::string join_args(int argc, char** argv) {
  std::string s = "pathtrace";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

}  // namespace pathtrace::cli
