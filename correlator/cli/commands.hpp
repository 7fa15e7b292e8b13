#pragma once
// The subcommands: each has an option table (spec.hpp) and a function that takes the parsed
// options, calls the libraries, prints, and returns the exit code (docs/cli.md). Errors are
// thrown as pathtrace::Error and mapped to exit codes once, in main().

#include <span>
#include <string>

#include "correlator/cli/spec.hpp"

namespace pathtrace::cli {

struct Command {
  const CommandSpec* spec;
  // `command_line` is the whole command as typed, recorded with the run.
  int (*run)(const Args& args, const std::string& command_line);
};

// Every command, in the order `pathtrace help` lists them.
std::span<const Command> commands();

extern const CommandSpec kRunSpec;        // cmd_run.cpp
extern const CommandSpec kCorrelateSpec;  // cmd_correlate.cpp
extern const CommandSpec kCollectSpec;    // cmd_collect.cpp
extern const CommandSpec kIngestSpec;     // cmd_ingest.cpp
extern const CommandSpec kReportSpec;     // cmd_report.cpp
extern const CommandSpec kRunsSpec;       // cmd_report.cpp
extern const CommandSpec kTimelineSpec;   // cmd_timeline.cpp
extern const CommandSpec kQuerySpec;      // cmd_query.cpp
extern const CommandSpec kExportSpec;     // cmd_export.cpp
extern const CommandSpec kDiscoverSpec;   // cmd_discover.cpp

int run_run(const Args& args, const std::string& command_line);
int run_correlate(const Args& args, const std::string& command_line);
int run_collect(const Args& args, const std::string& command_line);
int run_ingest(const Args& args, const std::string& command_line);
int run_report(const Args& args, const std::string& command_line);
int run_runs(const Args& args, const std::string& command_line);
int run_timeline(const Args& args, const std::string& command_line);
int run_query(const Args& args, const std::string& command_line);
int run_export(const Args& args, const std::string& command_line);
int run_discover(const Args& args, const std::string& command_line);

}  // namespace pathtrace::cli
