#pragma once
// What several commands share: option groups of the tables, small value parsers, and how a
// report is printed (text, --json, --html) with the exit code one rule gives every command
// that judges a run (docs/cli.md#exit-codes).

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "collector/common/error.hpp"
#include "correlator/cli/spec.hpp"
#include "correlator/model/model.hpp"
#include "correlator/pipeline/stated.hpp"
#include "correlator/server/server.hpp"
#include "correlator/store/store.hpp"

namespace pathtrace::cli {

constexpr const char* kDefaultDb = "pathtrace.db";

// Options of every command that stores a run and prints its report: --db, --json, --html,
// --all, --fail-on-loss.
std::vector<OptionSpec> report_options();
// Options of the live commands (run, correlate): --filter, --duration, --count, --idle, -q.
std::vector<OptionSpec> live_options();
// The sightings' memory budget (ingest, run, correlate): --memory.
std::vector<OptionSpec> memory_options();
// --memory in bytes (0: no limit), and where a run past it keeps its sightings: the
// directory of --db, as an absolute path. Throws Error(kUsage) naming the argument.
struct SpillSetting {
  std::size_t memory = 0;
  std::string dir;
};
SpillSetting spill_setting(const Args& a);
// What one collector may send the correlator (run, correlate): --max-records, --max-bytes,
// --max-chains, --max-gaps (docs/security.md).
std::vector<OptionSpec> limit_options();
// Those options' values (defaults: server::SessionLimits's).
server::SessionLimits session_limits(const Args& a);
// The digest's knobs (collect, ingest): --payload-bytes, --vxlan-port, --geneve-port.
std::vector<OptionSpec> digest_options();
// What the user knows of capture windows and clocks (ingest, correlate): --window, --clock,
// and with `assume` --assume-capturing.
std::vector<OptionSpec> window_options(bool assume);
// Those options, parsed (with the [hosts.NAME] clocks of `inventory`, when not "": --clock
// wins), and checked against `points` (for --clock, when their hosts are known: `hosts_known`).
// Throws Error(kUsage) naming the argument.
pipeline::Stated stated_from(const Args& a, const std::vector<Point>& points, const std::string& inventory,
                             bool hosts_known);

// `a` followed by every group in `more`.
std::vector<OptionSpec> join(std::vector<OptionSpec> a, std::initializer_list<std::vector<OptionSpec>> more);

// "10s", "500ms", "2m", "1h", "1.5" (seconds) → milliseconds. Throws Error(kUsage) naming
// `what` ("--duration '1x': expected a duration like 10s, 500ms, 2m").
long long parse_duration_ms(const std::string& text, const std::string& what);

// "512M", "2G", "64MiB", "800K", "0" → bytes (K, M, G, T are powers of 1024; a bare number is
// bytes). Throws Error(kUsage) naming `what` ("--memory '1x': expected a size like 512M, 2G").
uint64_t parse_size(const std::string& text, const std::string& what);

// The shared secret in a token file: its first line without surrounding whitespace (a CRLF
// file works). Throws Error(kUsage) "--token-file F: cannot be read" / ": empty" (a blank
// first line never means "no token").
std::string read_token_file(const std::string& path);

// The run --run names (an id, or a name given with `runs --name`), 0 when --run is not given
// (the newest). Throws Error(kUsage) "FILE has no run N" / "FILE has no run named NAME".
int64_t run_arg(const Args& args, Store& store);

// A run's record before it is stored: started now, the command line, --filter.
Report run_meta(const std::string& filter, const std::string& command_line);

// Prints `report` as report_options() ask: --html FILE (and a line saying so), --json, or the
// text tables (with the "stored as run N in DB" hint when db_path is not empty). Refuses
// --json with --html (Error(kUsage)). Returns the exit code every judging command shares:
// 1 when a flow lost packets, else 0.
int print_report(std::ostream& out, const Report& report, const Args& args, const std::string& db_path);

// The same for an analysed run (ingest, run, correlate, a committed run's analysis): its report
// holds the first results (Run::list_results), so --json writes every one from run.results as
// it goes, and --all lists every one first.
int print_run(std::ostream& out, Run& run, const Args& args, const std::string& db_path);

// Runs a live run (`run`, `correlate`) and prints its report as print_run() does. When its
// database writes fail (pipeline::StoreFailed) it prints the report of what the run committed
// and rethrows the error (exit 4).
int print_live_run(std::ostream& out, const Args& args, Store& store, const std::function<Run()>& live);

// Refuses (Error(kUsage)) options of `names` given together: "--json and --html exclude each other".
void exclusive(const Args& args, std::initializer_list<const char*> names);

// The command line as typed, for the run's record ("pathtrace ingest --filter ipip ...").
std::string join_args(int argc, char** argv);

}  // namespace pathtrace::cli
