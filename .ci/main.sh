#!/usr/bin/env bash
# CI job "main": g++ RelWithDebInfo with -Werror in build/, then every registered test — lab
# tests need root and skip elsewhere; they are RUN_SERIAL, so ctest runs them alone.
# The verdict corpus is among them (label corpus): a wrong verdict fails the job.
#   .ci/main.sh build|test
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/lib.sh
case ${1:?build or test} in
  build)
    ci_configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    ci_build build ;;
  test)
    ctest --test-dir build --output-on-failure -j"$CI_NPROC" --timeout 600 ;;
esac
