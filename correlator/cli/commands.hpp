#pragma once
// One function per subcommand: parses its options (argv[0] is the command word), calls the
// libraries, prints, and returns the exit code (docs/cli.md). Errors are thrown as
// pathtrace::Error and mapped to exit codes once, in main().

#include <string>

namespace pathtrace::cli {

int cmd_run(int argc, char** argv, const std::string& command);        // cmd_run.cpp
int cmd_correlate(int argc, char** argv, const std::string& command);  // cmd_correlate.cpp
int cmd_collect(int argc, char** argv);                                // cmd_collect.cpp
int cmd_ingest(int argc, char** argv, const std::string& command);     // cmd_ingest.cpp
int cmd_report(int argc, char** argv);                                 // cmd_report.cpp
int cmd_runs(int argc, char** argv);                                   // cmd_report.cpp
int cmd_timeline(int argc, char** argv);                               // cmd_timeline.cpp
int cmd_query(int argc, char** argv);                                  // cmd_query.cpp
int cmd_export(int argc, char** argv);                                 // cmd_export.cpp
int cmd_discover(int argc, char** argv);                               // cmd_discover.cpp

}  // namespace pathtrace::cli
