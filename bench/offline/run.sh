#!/usr/bin/env bash
# Offline benchmark: generate a 7-point capture set A..G, then time, side by side,
#   pathtrace ingest (parse + digest + SQLite + verdict, all 7 files, end to end)
#   the pcapfile Reader alone (bench_offline_read)
#   tcpdump -r FILE -w /dev/null        (each file, summed)
#   tshark -n -r FILE -T fields -e ip.id (first 100k packets of G, scaled to packets/s)
#   cat FILE > /dev/null                 (each file)
# Every command runs twice; the table shows the faster run (warm page cache).
# Then compares the loss the generator made with the loss pathtrace reported.
#
# usage: bench/offline/run.sh [BUILD_DIR] [PACKETS]
#   BUILD_DIR  default: build        PACKETS  packets at G, default 1000000
#   PT_BENCH_OUT=DIR  write the set there and keep it (default: a temp dir, removed after)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
packets=${2:-1000000}
tshark_packets=100000

die() { echo "run.sh: $*" >&2; exit 2; }
[[ -d $build ]] || die "build dir $build not found (cmake -S . -B build && cmake --build build)"
build=$(cd "$build" && pwd)
gen=$build/bench/offline/bench_offline_gen
reader=$build/bench/offline/bench_offline_read
[[ -x $gen ]] || die "$gen not built (cmake --build $build --target bench_offline_gen bench_offline_read)"
pathtrace=$build/correlator/cli/pathtrace
[[ -x $pathtrace ]] || pathtrace=$build/pathtrace
[[ -x $pathtrace ]] || pathtrace=$(find "$build" -name pathtrace -type f -perm -u+x 2>/dev/null | head -n1)

if [[ -n ${PT_BENCH_OUT:-} ]]; then
  out=$PT_BENCH_OUT
  mkdir -p "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/pathtrace-bench.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi

timer=/usr/bin/time
[[ -x $timer ]] || timer=""  # no GNU time: peak RSS is shown as "-"

echo "== generating $packets packets per point into $out"
gen_start=$(date +%s%N)
"$gen" --packets "$packets" --out "$out" | tee "$out/gen.txt"
gen_ms=$((($(date +%s%N) - gen_start) / 1000000))
echo "   (generated in $((gen_ms / 1000)).$(printf %03d $((gen_ms % 1000))) s)"

files=("$out"/A.pcap "$out"/B.pcap "$out"/C.pcap "$out"/D.pcap "$out"/E.pcap "$out"/F.pcap "$out"/G.pcap)
total_packets=$(awk '$1 ~ /^[A-G]$/ && $5 == "packets" {s += $4} END {print s}' "$out/gen.txt")
total_bytes=$(cat "${files[@]}" | wc -c)
g_packets=$(awk '$1 == "G" && $5 == "packets" {print $4}' "$out/gen.txt")

# measure NAME PACKETS BYTES -- CMD...: runs CMD twice, keeps the faster run's wall time and
# that run's peak RSS (largest process, via GNU time), appends a row to $out/rows.
measure() {
  local name=$1 npk=$2 nbytes=$3
  shift 4
  local best_ns="" best_rss="-"
  for _ in 1 2; do
    local t0 t1 rss="-"
    t0=$(date +%s%N)
    if [[ -n $timer ]]; then
      "$timer" -f %M -o "$out/time.txt" "$@" >"$out/last.out" 2>"$out/last.err" || { cat "$out/last.err" >&2; return 1; }
      rss=$(tail -n1 "$out/time.txt")
    else
      "$@" >"$out/last.out" 2>"$out/last.err" || { cat "$out/last.err" >&2; return 1; }
    fi
    t1=$(date +%s%N)
    if [[ -z $best_ns || $((t1 - t0)) -lt $best_ns ]]; then
      best_ns=$((t1 - t0))
      best_rss=$rss
      cp "$out/last.out" "$out/best-$name.out"
    fi
  done
  echo "$name $npk $nbytes $best_ns $best_rss" >>"$out/rows"
}

: >"$out/rows"
echo "== measuring (each twice, best kept)"

if [[ -n $pathtrace ]]; then
  echo "   pathtrace ingest ($pathtrace)"
  ingest() {
    rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm"
    "$pathtrace" ingest --db "$out/bench.db" A:vm="$out/A.pcap" B:tap="$out/B.pcap" C:qbr="$out/C.pcap" \
      D:qvb="$out/D.pcap" E:qvo="$out/E.pcap" F:ethx="$out/F.pcap" G:nic="$out/G.pcap"
  }
  export -f ingest
  export out pathtrace
  measure ingest "$total_packets" "$total_bytes" -- bash -c ingest ||
    echo "   pathtrace ingest FAILED (output above)"
else
  echo "   pathtrace ingest: binary not built yet (looked in $build) — row skipped"
fi

echo "   pcapfile Reader alone"
measure reader "$total_packets" "$total_bytes" -- "$reader" "${files[@]}"

if command -v tcpdump >/dev/null; then
  echo "   tcpdump -r FILE -w /dev/null (x7)"
  zflag=()
  [[ $(id -u) == 0 ]] && zflag=(-Z root)  # as root tcpdump would switch user first
  export zflag_str="${zflag[*]}"
  measure tcpdump "$total_packets" "$total_bytes" -- bash -c \
    'for f in "$@"; do tcpdump $zflag_str -r "$f" -w /dev/null 2>/dev/null; done' _ "${files[@]}"
else
  echo "   tcpdump not installed — row skipped"
fi

if command -v tshark >/dev/null; then
  echo "   tshark -n -r G.pcap -T fields -e ip.id -c $tshark_packets"
  tshark_bytes=$(awk -v n="$tshark_packets" -v gp="$g_packets" -v gb="$(wc -c <"$out/G.pcap")" \
    'BEGIN {printf "%d", gb * (n < gp ? n / gp : 1)}')
  measure tshark "$((tshark_packets < g_packets ? tshark_packets : g_packets))" "$tshark_bytes" -- \
    tshark -n -r "$out/G.pcap" -T fields -e ip.id -c "$tshark_packets"
else
  echo "   tshark not installed — row skipped"
fi

echo "   cat FILE > /dev/null (x7)"
measure cat "$total_packets" "$total_bytes" -- bash -c 'cat "$@" >/dev/null' _ "${files[@]}"

echo
echo "== $total_packets packets in 7 files ($((total_bytes / 1000000)) MB), $(nproc) cores, $(uname -r)"
awk -v total="$total_packets" '
  BEGIN {
    label["ingest"] = "pathtrace ingest (7 files, end to end)"
    label["reader"] = "pcapfile Reader alone (7 files)"
    label["tcpdump"] = "tcpdump -r F -w /dev/null (7 files, sum)"
    label["tshark"] = "tshark -n -T fields -e ip.id (G, first N)"
    label["cat"] = "cat F > /dev/null (7 files)"
    printf "%-44s %10s %9s %12s %9s %10s %12s\n", "what", "packets", "wall s", "packets/s", "MB/s", "peak RSS", "7-file est."
  }
  {
    s = $4 / 1e9; pps = $2 / s; mbs = $3 / s / 1e6
    rss = ($5 == "-") ? "-" : sprintf("%.0f MB", $5 / 1024)
    est = sprintf("%.2f s", total / pps)
    printf "%-44s %10d %9.3f %12.0f %9.0f %10s %12s\n", label[$1], $2, s, pps, mbs, rss, est
  }' "$out/rows"

echo
expected=$(awk '$1 == "expected_loss" {print $4 " of " $5 " IPIP packets between " $2 " and " $3}' "$out/gen.txt")
echo "expected loss:  $expected"
if [[ -f $out/best-ingest.out ]]; then
  reported=$(grep -E 'lost between' "$out/best-ingest.out" || true)
  if [[ -n $reported ]]; then
    echo "reported loss:"
    echo "$reported" | sed 's/^/  /'
    exp_n=$(awk '$1 == "expected_loss" {print $4}' "$out/gen.txt")
    got_n=$(echo "$reported" | sed -nE 's/.* ([0-9]+) lost between C and B.*/\1/p' | awk '{s += $1} END {print s + 0}')
    if [[ $got_n == "$exp_n" ]]; then
      echo "  → match: $got_n lost between C and B"
    else
      echo "  → MISMATCH: expected $exp_n lost between C and B, pathtrace reported $got_n"
    fi
  else
    echo "reported loss:  none found in the ingest output; first lines were:"
    head -n 20 "$out/best-ingest.out" | sed 's/^/  /'
  fi
else
  echo "reported loss:  (pathtrace ingest did not run)"
fi
