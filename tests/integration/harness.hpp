#pragma once
// What the integration tests share: run the real `pathtrace` binary through the shell with
// stdout and stderr captured, read files, quote words.

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pathtrace::test {

namespace fs = std::filesystem;

// How a command ended and what it printed.
struct Result {
  int code = -1;  // exit code, -1 when killed by a signal
  std::string out;
  std::string err;
};

// The whole file (empty when it cannot be read).
inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `s` as one single-quoted shell word.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A path in the source tree.
inline std::string source(const std::string& rel) { return std::string(PATHTRACE_SOURCE_DIR) + "/" + rel; }

// Runs a shell command line, stdin from /dev/null; stdout and stderr go through files in `dir`.
// Text output is checked in a UTF-8 locale whatever the caller's (LC_ALL=C prints ASCII).
inline Result sh(const std::string& cmdline, const fs::path& dir) {
  const fs::path out = dir / "stdout", err = dir / "stderr";
  const std::string cmd = "export LC_ALL=C.UTF-8; " + cmdline + " >" + quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
  const int st = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Runs `pathtrace ARGS...` (every argument quoted).
inline Result run_pathtrace(const std::vector<std::string>& args, const fs::path& dir) {
  std::string cmd = quote(PATHTRACE_BIN);
  for (const auto& a : args) cmd.append(" ").append(quote(a));
  return sh(cmd, dir);
}

}  // namespace pathtrace::test
