#pragma once
// `pathtrace collect`: command-line wiring of the collect agent (collector/capture/agent.hpp).

namespace pathtrace::server {

// Parses `collect` options (argv[0] is "collect") and runs the agent until it is stopped.
// Returns the exit code; throws pathtrace::Error (kUsage for bad options, kCapture when
// the capture cannot start, kRemote when the correlator is unreachable) for main to map.
int cmd_collect(int argc, char** argv);

}  // namespace pathtrace::server
