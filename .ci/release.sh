#!/usr/bin/env bash
# CI job "release": the build users make — g++ Release (-O3), -Werror, default options (tests,
# benchmarks) in build-release/ — and every test but the lab's (the main job runs those).
#   .ci/release.sh build|test
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
case ${1:?build or test} in
  build)
    ci_configure build-release -DCMAKE_BUILD_TYPE=Release
    ci_build build-release ;;
  test)
    ctest --test-dir build-release --output-on-failure -j"$CI_NPROC" --timeout 600 -LE lab ;;
esac
