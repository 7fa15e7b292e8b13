#!/usr/bin/env bash
# Evidence benchmark: a database with >= 10,000,000 observations (bench_offline_gen, 1.5 M
# packets per point x 7 points, then pathtrace ingest), then the time of
#   pathtrace timeline --packet <digest>   (digest-range index: one block)
#   pathtrace report                        (text) and report --json, report --html
# Each read runs 3 times; the table shows the fastest (warm page cache) and the slowest.
#
# usage: bench/evidence/run.sh [BUILD_DIR] [PACKETS_PER_POINT]
#   BUILD_DIR default: build · PACKETS default 1500000
#   PT_BENCH_OUT=DIR  keep the captures and database there and reuse them on the next run
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
packets=${2:-1500000}
gen=$build/bench/offline/bench_offline_gen
pt=$build/pathtrace
[[ -x $gen && -x $pt ]] || { echo "run.sh: build pathtrace and bench_offline_gen in $build first" >&2; exit 2; }
if [[ -n ${PT_BENCH_OUT:-} ]]; then out=$PT_BENCH_OUT; mkdir -p "$out"
else out=$(mktemp -d "${TMPDIR:-/tmp}/pathtrace-evidence.XXXXXX"); trap 'rm -rf "$out"' EXIT; fi
db=$out/evidence.db
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
if [[ ! -s $db ]]; then
  if [[ ! -s $out/G.pcap ]]; then
    echo "== generating $packets packets per point into $out"
    "$gen" --packets "$packets" --out "$out" >/dev/null
  fi
  echo "== ingesting"
  t=$(date +%s%N)
  "$pt" ingest --db "$db" -v A="$out/A.pcap" B="$out/B.pcap" C="$out/C.pcap" D="$out/D.pcap" \
    E="$out/E.pcap" F="$out/F.pcap" G="$out/G.pcap" >/dev/null
  echo "   ingest took $(ms "$t") ms"
fi
obs=$("$pt" query --db "$db" --csv 'SELECT sightings FROM runs ORDER BY id DESC LIMIT 1' | tail -n1 | tr -d '\r')
trav=$("$pt" query --db "$db" --csv 'SELECT sum(count) FROM traversal_blocks WHERE run_id = (SELECT max(id) FROM runs)' | tail -n1 | tr -d '\r')
echo "database: $db ($(du -h "$db" | cut -f1)), $obs observations, $trav traversals"
[[ $obs -ge 10000000 ]] || echo "warning: fewer than 10,000,000 observations ($obs)"
# A digest from the middle of the run (through the index: one block).
digest=$("$pt" query --db "$db" --csv "SELECT printf('%016x', digest_min) FROM traversal_blocks WHERE run_id = (SELECT max(id) FROM runs) ORDER BY key LIMIT 1 OFFSET (SELECT count(*) / 2 FROM traversal_blocks WHERE run_id = (SELECT max(id) FROM runs))" | tail -n1 | tr -d '\r')
time3() {  # label, command...
  local label=$1; shift; local best=999999 worst=0 t m
  for _ in 1 2 3; do t=$(date +%s%N); "$@" >/dev/null; m=$(ms "$t"); ((m < best)) && best=$m; ((m > worst)) && worst=$m; done
  printf '%-44s %6d ms %6d ms\n' "$label" "$best" "$worst"
}
printf '%-44s %9s %9s\n' "command ($obs observations)" fastest slowest
time3 "timeline --packet $digest" "$pt" timeline --db "$db" --packet "$digest"
time3 "report" "$pt" report --db "$db"
time3 "report --json" "$pt" report --db "$db" --json
time3 "report --html" "$pt" report --db "$db" --html "$out/report.html"
time3 "timeline --lost --limit 100 (full scan)" "$pt" timeline --db "$db" --lost
