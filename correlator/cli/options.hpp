#pragma once
// Command-line parsing shared by every subcommand: one place that turns cxxopts' exceptions
// into the usage error (exit 2) the user sees, and the small value parsers the commands share.

#include <cxxopts.hpp>
#include <ostream>
#include <string>

#include "collector/common/error.hpp"
#include "correlator/model/model.hpp"

namespace pathtrace::cli {

constexpr const char* kDefaultDb = "pathtrace.db";

// Parses argv with `opts`. An unknown option or a bad value throws Error(kUsage) with
// cxxopts' message and "(see --help)".
cxxopts::ParseResult parse_options(cxxopts::Options& opts, int argc, char** argv);

// "10s", "500ms", "2m", "1h", "1.5" (seconds) → milliseconds. Throws Error(kUsage) naming
// `what` ("--duration '1x': expected a duration like 10s, 500ms, 2m").
long long parse_duration_ms(const std::string& text, const std::string& what);

// The shared secret in a token file: its first line without surrounding whitespace (a CRLF
// file works). Throws Error(kUsage) "--token-file F: cannot be read" / ": empty" (a blank
// first line never means "no token").
std::string read_token_file(const std::string& path);

// The options `run` and `correlate` share: --db, --filter, --duration, --count, --idle,
// --json, --all, -q, -h.
void add_live_options(cxxopts::Options& opts);

// A run's record before it is stored: started now, the command line, --filter.
Report run_meta(const cxxopts::ParseResult& res, const std::string& command);

// Prints a report as --json / --all ask (text by default, with the "stored as run N in DB"
// hint when db_path is not empty).
void print_report(std::ostream& out, const Report& report, const cxxopts::ParseResult& res,
                  const std::string& db_path);

// Parses argv with `opts` (adding -h/--help); with --help prints the help, sets *help_shown
// and the caller returns 0 after printing its examples.
cxxopts::ParseResult parse_or_help(cxxopts::Options& opts, int argc, char** argv, bool* help_shown);

// The filter aliases and what they match, for --help.
std::string aliases_help();

// The command line as typed, for the run's record ("pathtrace ingest --filter ipip ...").
std::string join_args(int argc, char** argv);

}  // namespace pathtrace::cli
