// pt-collect: `pathtrace collect` as its own binary, for tests and until the main CLI
// dispatches to cmd_collect().
#include <cstdio>

#include "collector/common/error.hpp"
#include "correlator/server/collect_cmd.hpp"

int main(int argc, char** argv) {
  try {
    return pathtrace::server::cmd_collect(argc, argv);
  } catch (const pathtrace::Error& e) {
    std::fprintf(stderr, "pathtrace collect: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pathtrace collect: internal error: %s\n", e.what());
    return static_cast<int>(pathtrace::ExitCode::kInternal);
  }
}
