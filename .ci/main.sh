#!/usr/bin/env bash
# CI job "main": g++ RelWithDebInfo with -Werror in build/, then every registered test
# (lab tests need root and skip elsewhere; they are RUN_SERIAL, so ctest runs them alone).
# The verdict corpus runs through ctest once tests/CMakeLists.txt registers it (label corpus);
# until then .ci/corpus.sh runs it here as a report that does not gate.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
ci_configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ci_build build
ctest --test-dir build --output-on-failure -j"$CI_NPROC" --timeout 600
if ! ctest --test-dir build -N -L corpus | grep -q '^Total Tests: [1-9]'; then
  bash .ci/corpus.sh build/pathtrace || true
fi
