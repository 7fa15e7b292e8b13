#pragma once
// PT_INVARIANT: how pt_analysis stops on a broken invariant of its caller (a bug, not bad
// input): loudly, in every build, naming the condition and where it was checked.
// Library-internal.

#include <cstdio>
#include <cstdlib>

namespace pathtrace {

// Prints "pathtrace: analysis invariant failed: <what> (<file>:<line>)" and aborts.
[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) noexcept {
  std::fprintf(stderr, "pathtrace: analysis invariant failed: %s (%s:%d)\n", what, file, line);
  std::abort();
}

}  // namespace pathtrace

// Checks `cond` in every build; see invariant_failed.
#define PT_INVARIANT(cond) \
  do {                     \
    if (!(cond)) ::pathtrace::invariant_failed(#cond, __FILE__, __LINE__); \
  } while (0)
