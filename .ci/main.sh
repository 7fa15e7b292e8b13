#!/usr/bin/env bash
# CI job "main": g++ RelWithDebInfo with -Werror in build/, then every registered test — lab
# tests need root and skip elsewhere; they are RUN_SERIAL, so ctest runs them alone.
# The verdict corpus runs through ctest once tests/CMakeLists.txt registers it (label corpus);
# until then .ci/corpus.sh runs it here as a report that does not gate.
#   .ci/main.sh build|test
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
case ${1:?build or test} in
  build)
    ci_configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ci_build build ;;
  test)
    ctest --test-dir build --output-on-failure -j"$CI_NPROC" --timeout 600
    if ! ci_has_label build corpus; then bash .ci/corpus.sh build/pathtrace || true; fi ;;
esac
