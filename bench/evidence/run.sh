#!/usr/bin/env bash
# Evidence benchmark: a database with >= 10,000,000 observations (bench_offline_gen, 1.5 M
# packets per point x 7 points, then pathtrace ingest), then the time of
#   pathtrace timeline --packet <digest>   (digest-range index: one block)
#   pathtrace report                        (text: the lost and the first others, the rest counted)
#   pathtrace report --json, --html         (every flow and result)
#   pathtrace timeline --lost               (the lost traversals' own rows, lost_blocks)
#   pathtrace export --lost                 (with --keep-bytes N: the lost packets' frames)
# Each read runs 3 times; the table shows the fastest (warm page cache) and the slowest, and
# the largest peak RSS of the three (GNU time).
#
# usage: bench/evidence/run.sh [--shape tunnel|field|fewflows] [--keep-bytes N] [BUILD_DIR] [PACKETS_PER_POINT]
#   BUILD_DIR default: build · PACKETS default 1500000 · --shape default tunnel (few flows);
#   field: ~112,000 flows per 500 k packets per point, as a busy hypervisor port
#   PT_BENCH_OUT=DIR  keep the captures and database there and reuse them on the next run
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shape=tunnel
keep=0
positional=()
while (($#)); do
  case $1 in
    --shape) shape=${2:?--shape needs a value}; shift 2 ;;
    --keep-bytes) keep=${2:?--keep-bytes needs a value}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
case $shape in tunnel | field | fewflows) ;; *) echo "run.sh: unknown shape $shape" >&2; exit 2 ;; esac
[[ $keep =~ ^[0-9]+$ ]] || { echo "run.sh: --keep-bytes wants a number" >&2; exit 2; }
build=$(cd "${positional[0]:-$root/build}" && pwd)
packets=${positional[1]:-1500000}
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
    "$gen" --shape "$shape" --packets "$packets" --out "$out" >/dev/null
  fi
  echo "== ingesting"
  t=$(date +%s%N)
  keep_args=()
  ((keep > 0)) && keep_args=(--keep-bytes "$keep")
  "$pt" ingest --db "$db" -v "${keep_args[@]}" A="$out/A.pcap" B="$out/B.pcap" C="$out/C.pcap" D="$out/D.pcap" \
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
  local label=$1; shift; local best=999999 worst=0 rss=0 t m r
  for _ in 1 2 3; do
    t=$(date +%s%N)
    /usr/bin/time -f %M -o "$out/.rss" "$@" >/dev/null 2>&1 || true  # exit 1: the run lost packets
    r=$(tail -n1 "$out/.rss")
    m=$(ms "$t")
    ((m < best)) && best=$m; ((m > worst)) && worst=$m; ((r > rss)) && rss=$r
  done
  printf '%-44s %6d ms %6d ms %7d MB\n' "$label" "$best" "$worst" "$((rss / 1024))"
}
flows=$("$pt" query --db "$db" --csv 'SELECT count(*) FROM flows WHERE run_id = (SELECT max(id) FROM runs)' | tail -n1 | tr -d '\r')
lost=$("$pt" query --db "$db" --csv 'SELECT coalesce(sum(count), 0) FROM lost_blocks WHERE run_id = (SELECT max(id) FROM runs)' | tail -n1 | tr -d '\r')
echo "$flows flows, $lost lost traversals"
printf '%-44s %9s %9s %10s\n' "command ($obs observations)" fastest slowest "peak RSS"
time3 "timeline --packet $digest" "$pt" timeline --db "$db" --packet "$digest"
time3 "report" "$pt" report --db "$db"
time3 "report --json" "$pt" report --db "$db" --json
time3 "report --html" "$pt" report --db "$db" --html "$out/report.html" --force
time3 "timeline --lost" "$pt" timeline --db "$db" --lost
if [[ $("$pt" query --db "$db" --csv 'SELECT EXISTS (SELECT 1 FROM kept_frames)' | tail -n1 | tr -d '\r') == 1 ]]; then
  time3 "export --lost" "$pt" export --db "$db" --lost -w "$out/lost.pcapng" --force
else
  echo "(export --lost: the run has no kept frames; --keep-bytes N keeps them)"
fi
