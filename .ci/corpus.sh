#!/usr/bin/env bash
# The verdict corpus (tests/corpus) against PATHTRACE, one line per set, for as long as ctest
# does not run it (tests/CMakeLists.txt without add_subdirectory(corpus)). Exit 1 when a set
# fails; the caller decides whether that gates.
#   .ci/corpus.sh build/pathtrace
set -uo pipefail
cd "$(dirname "$0")/.."
pt=$(realpath "$1")
pass=0 failed=()
for set in tests/corpus/sets/*/; do
  name=$(basename "$set")
  [ -f "$set/expected.toml" ] || continue
  if out=$(python3 tests/corpus/run_corpus.py "$set" "$pt" 2>&1); then
    pass=$((pass + 1))
  else
    failed+=("$name")
    echo "$out" | head -n 12
  fi
done
echo "corpus: $pass of $((pass + ${#failed[@]})) sets pass (not registered in ctest: a report, not a gate)${failed:+; failing: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
