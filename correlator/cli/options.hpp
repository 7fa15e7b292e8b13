#pragma once
// Command-line parsing shared by every subcommand: one place that turns cxxopts' exceptions
// into the usage error (exit 2) the user sees.

#include <cxxopts.hpp>
#include <string>

#include "collector/common/error.hpp"

namespace pathtrace::cli {

// Parses argv with `opts`. An unknown option or a bad value throws Error(kUsage) with
// cxxopts' message and "(see --help)".
inline cxxopts::ParseResult parse_options(cxxopts::Options& opts, int argc, char** argv) {
  try {
    return opts.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    throw Error(ExitCode::kUsage, std::string(e.what()) + " (see --help)");
  }
}

}  // namespace pathtrace::cli
