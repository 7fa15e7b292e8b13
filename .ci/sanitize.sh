#!/usr/bin/env bash
# CI job "sanitize": clang 14 at -O1 with AddressSanitizer + UndefinedBehaviorSanitizer
# (-DPATHTRACE_SANITIZE=ON), asserts on, -Werror — which is also CI's clang build — in
# build-sanitize/, then every test but the lab's (the verdict corpus's messy captures included). Sanitizer reports go
# to files (log_path), so that one in a child process (a pathtrace run by an integration test,
# whose exit code a test may take for "a flow lost packets") is never missed: any report fails
# the job and is printed.
#   .ci/sanitize.sh build|test
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh

case ${1:?build or test} in
  build)
    # Debug without -O0/-g: -O1 keeps the tests fast, -g1 gives the reports file:line. No
    # benchmarks: nothing runs them here. A unity build (each target's sources compiled as one
    # file): it builds in about half the time (Asio, JSON and toml++ headers parsed once per
    # target), which keeps CI under its 30 minutes; names in one library's anonymous
    # namespaces must then be distinct, which this job checks too.
    ci_configure build-sanitize -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DPATHTRACE_SANITIZE=ON -DPATHTRACE_BENCH=OFF \
      -DCMAKE_UNITY_BUILD=ON
    ci_build build-sanitize
    exit 0 ;;
  test) ;;
  *) exit 2 ;;
esac

logs=$(realpath build-sanitize)/sanitizer-logs
rm -rf "$logs" && mkdir -p "$logs"
# exitcode 86: never taken for pathtrace's own exit codes (1 = a flow lost packets).
export ASAN_OPTIONS="log_path=$logs/asan:exitcode=86:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="exitcode=86"
rc=0
ctest --test-dir build-sanitize --output-on-failure -j"$CI_NPROC" --timeout 900 -LE lab || rc=$?
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  echo "sanitize: $(echo "$reports" | wc -l) sanitizer report(s):"
  for f in $reports; do echo "----- $f"; cat "$f"; done
  rc=1
fi
exit $rc
