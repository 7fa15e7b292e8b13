#!/usr/bin/env bash
# CI job "release": the build users make — g++ Release (-O3), -Werror, default options (tests,
# benchmarks) in build-release/ — and every test but the lab's (the main job runs those).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
ci_configure build-release -DCMAKE_BUILD_TYPE=Release
ci_build build-release
ctest --test-dir build-release --output-on-failure -j"$CI_NPROC" --timeout 600 -LE lab
