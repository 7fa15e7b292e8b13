#pragma once
// Live commands: `pathtrace run` (correlator in-process + one collector per point, the
// whole investigation in one command) and `pathtrace correlate` (a standalone correlator
// that collectors on other hosts stream to).

#include <string>

namespace pathtrace::cli {

// `pathtrace run ...`; argv[0] is "run". Returns the process exit code (docs/cli.md).
int cmd_run(int argc, char** argv, const std::string& command);
// `pathtrace correlate ...`; argv[0] is "correlate".
int cmd_correlate(int argc, char** argv, const std::string& command);

// The current UTC time as ISO-8601 ("2026-11-26T09:25:24Z"): when a run started.
std::string now_iso8601();

// "10s", "500ms", "2m", "1.5" (seconds) → milliseconds. Throws Error(kUsage) naming `what`.
long long parse_duration_ms(const std::string& text, const std::string& what);

}  // namespace pathtrace::cli
