#!/usr/bin/env bash
# Offline benchmark: generate a 7-point capture set A..G, then time, side by side on the same files,
#   pathtrace ingest (parse + digest + SQLite + verdict, all 7 files, end to end)
#   tcpdump -r FILE -w /dev/null         (each file, summed)
#   the pcapfile Reader alone (bench_offline_read)
#   cat FILE > /dev/null                  (each file, summed)
#   tshark -n -r G -T fields -e ip.id     (first 100k packets of G, scaled; single runs only)
# Every command runs twice (--runs) and the table keeps the faster run (warm page cache), with
# its CPU time (user + sys) and peak RSS (largest process) from GNU time. "×tcpdump" is tcpdump's
# wall time divided by the row's (per packet): above 1 is faster than tcpdump; "(CPU)" the same for
# CPU time, which other load on the machine disturbs less than wall time. Then the loss pathtrace
# reported is compared, hop by hop, with the loss the generator made, and the flow counts.
#
# usage: bench/offline/run.sh [--shape tunnel|field|fewflows] [--packets N] [--runs N] [--no-tshark]
#                             [--sizes N,N,...] [--long] [--format pcap|pcapng] [BUILD_DIR] [PACKETS]
#   BUILD_DIR     default: build            PACKETS / --packets N: packets per point, default 1000000
#   --shape S     tunnel (default: the original set, few flows), field (one busy VM port, ~112k
#                 flows per 500k packets: DNS, short and long TCP, UDP, IPIP, VXLAN), fewflows (64)
#   --sizes LIST  one set per size (packets per point), each measured as above, then one summary
#                 of time and peak RSS per size (does memory grow with the capture?)
#   --long        the long set: --sizes 10000000 (7 × 10 M packets; ~33 GB of files for field)
#   --format F    pcap (default), or pcapng: each file rewritten by `editcap -F pcapng` (dumpcap's
#                 format, nanosecond interface), and every command reads those
#   PT_BENCH_OUT=DIR  write the set there and keep the last one (default: a temp dir, removed after)
# Before generating, the free space where the set goes is checked against an estimate of what the
# files and the database need; too little stops the run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

die() { echo "run.sh: $*" >&2; exit 2; }

shape=tunnel
runs=2
tshark_on=1
sizes=""
format=pcap
positional=()
while (($#)); do
  case $1 in
    --shape) shape=${2:?--shape needs a value}; shift 2 ;;
    --packets) sizes=${2:?--packets needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --sizes) sizes=${2:?--sizes needs a value}; shift 2 ;;
    --long) sizes=10000000; shift ;;
    --no-tshark) tshark_on=0; shift ;;
    --format) format=${2:?--format needs a value}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
case $shape in tunnel | field | fewflows) ;; *) die "unknown shape $shape (tunnel, field, fewflows)" ;; esac
case $format in pcap) ;; pcapng) command -v editcap >/dev/null || die "--format pcapng needs editcap (Debian: wireshark-common)" ;;
  *) die "unknown format $format (pcap, pcapng)" ;; esac
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
build=${positional[0]:-$root/build}
if [[ -z $sizes ]]; then sizes=${positional[1]:-1000000}; fi
IFS=, read -r -a size_list <<<"$sizes"
for n in "${size_list[@]}"; do [[ $n =~ ^[1-9][0-9]*$ ]] || die "bad packet count '$n'"; done
sizes_mode=0
((${#size_list[@]} > 1 || size_list[0] >= 10000000)) && sizes_mode=1
((sizes_mode)) && tshark_on=0

[[ -d $build ]] || die "build dir $build not found (cmake -S . -B build && cmake --build build)"
build=$(cd "$build" && pwd)
gen=$build/bench/offline/bench_offline_gen
reader=$build/bench/offline/bench_offline_read
[[ -x $gen && -x $reader ]] || die "$gen not built (cmake --build $build --target bench_offline_gen bench_offline_read)"
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
[[ -x $timer ]] || timer=""  # no GNU time: CPU and peak RSS are shown as "-"

# Bytes per packet per point (file bytes, measured at 500k) and database bytes per sighting
# (measured 51 for field): what a set of N packets per point needs on disk.
case $shape in tunnel) bpp=370 ;; field) bpp=475 ;; fewflows) bpp=1010 ;; esac
db_per_sighting=60
need_bytes() { echo $((7 * $1 * (bpp + db_per_sighting) * 11 / 10)); }
gb() { awk -v b="$1" 'BEGIN {printf "%.1f GB", b / 1e9}'; }

largest=0
for n in "${size_list[@]}"; do ((n > largest)) && largest=$n; done
need=$(need_bytes "$largest")
avail=$(($(df -Pk "$out" | awk 'NR == 2 {print $4}') * 1024))
mem_avail=$(($(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) * 1024))
if ((need > 10000000000)); then
  echo "run.sh: WARNING: the largest set ($shape, 7 × $largest packets) needs about $(gb "$need") of disk" \
    "in $out (files + database); $(gb "$avail") free there. It is removed before the next size and at the end" \
    "(unless PT_BENCH_OUT is set)." >&2
fi
((need < avail)) || die "not enough disk in $out: need about $(gb "$need"), $(gb "$avail") free (set PT_BENCH_OUT to a bigger disk)"

files=("$out"/A.$format "$out"/B.$format "$out"/C.$format "$out"/D.$format "$out"/E.$format "$out"/F.$format
  "$out"/G.$format)
points=(A:vm="$out"/A.$format B:tap="$out"/B.$format C:qbr="$out"/C.$format D:qvb="$out"/D.$format
  E:qvo="$out"/E.$format F:ethx="$out"/F.$format G:nic="$out"/G.$format)
zflag=()
[[ $(id -u) == 0 ]] && zflag=(-Z root)  # as root tcpdump would switch user first

reset_db() { rm -f "$out/bench.db" "$out/bench.db-wal" "$out/bench.db-shm" "$out/bench.db-journal"; }

# measure NAME PACKETS -- CMD...: runs CMD $runs times (after $before_each, untimed, if set;
# exit codes up to $ok_exit, default 0, are success: ingest exits 1 on the set's designed loss),
# keeps the fastest run's wall time (ns),
# CPU seconds (user + sys of CMD and its children) and peak RSS (KB, largest process); appends
# "NAME PACKETS WALL_NS CPU_S RSS_KB" to $out/rows, keeps that run's stdout and stderr.
measure() {
  local name=$1 npk=$2 best_ns="" best_cpu="-" best_rss="-"
  shift 3
  for ((k = 0; k < runs; k++)); do
    local t0 t1 cpu="-" rss="-"
    [[ -n ${before_each:-} ]] && "$before_each"
    t0=$(date +%s%N)
    if [[ -n $timer ]]; then
      local rc=0
      "$timer" -f '%U %S %M' -o "$out/time.txt" "$@" >"$out/last.out" 2>"$out/last.err" || rc=$?
      ((rc <= ${ok_exit:-0})) || { cat "$out/last.err" >&2; return 1; }
      t1=$(date +%s%N)
      read -r cpu rss < <(awk 'END {printf "%.2f %d\n", $1 + $2, $3}' "$out/time.txt")
    else
      local rc=0
      "$@" >"$out/last.out" 2>"$out/last.err" || rc=$?
      ((rc <= ${ok_exit:-0})) || { cat "$out/last.err" >&2; return 1; }
      t1=$(date +%s%N)
    fi
    if [[ -z $best_ns ]] || ((t1 - t0 < best_ns)); then
      best_ns=$((t1 - t0)) best_cpu=$cpu best_rss=$rss
      cp "$out/last.out" "$out/best-$name.out"
      cp "$out/last.err" "$out/best-$name.err"
    fi
  done
  echo "$name $npk $best_ns $best_cpu $best_rss" >>"$out/rows"
}

: >"$out/summary"
for packets in "${size_list[@]}"; do
  rm -f "${files[@]}" "$out/rows" "$out"/best-*
  reset_db
  echo "== generating $shape, $packets packets per point, into $out"
  gen_start=$(date +%s%N)
  "$gen" --shape "$shape" --packets "$packets" --out "$out" | tee "$out/gen.txt"
  if [[ $format == pcapng ]]; then
    for f in A B C D E F G; do
      editcap -F pcapng "$out/$f.pcap" "$out/$f.pcapng" && rm -f "$out/$f.pcap"
    done
  fi
  gen_ms=$((($(date +%s%N) - gen_start) / 1000000))
  echo "   (generated in $((gen_ms / 1000)).$(printf %03d $((gen_ms % 1000))) s)"

  total_packets=$(awk '$1 ~ /^[A-G]$/ && $5 == "packets" {s += $4} END {print s}' "$out/gen.txt")
  total_bytes=$(cat "${files[@]}" | wc -c)
  g_packets=$(awk '$1 == "G" && $5 == "packets" {print $4}' "$out/gen.txt")
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  : >"$out/rows"
  echo "== measuring ($runs runs per command, the fastest kept); load average before: $load_before"

  if [[ -n $pathtrace ]]; then
    echo "   pathtrace ingest ($pathtrace)"
    before_each=reset_db ok_exit=1  # 1: a flow lost packets, which every shape makes on purpose
    measure ingest "$total_packets" -- "$pathtrace" ingest -v --db "$out/bench.db" "${points[@]}" ||
      echo "   pathtrace ingest FAILED (output above)"
    before_each="" ok_exit=0
  else
    echo "   pathtrace ingest: binary not built yet (looked in $build) — row skipped"
  fi
  if command -v tcpdump >/dev/null; then
    echo "   tcpdump -r FILE -w /dev/null (x7)"
    # shellcheck disable=SC2016  # $1 and $@ are the inner shell's
    measure tcpdump "$total_packets" -- bash -c \
      'z=$1; shift; for f in "$@"; do tcpdump $z -r "$f" -w /dev/null 2>/dev/null; done' _ "${zflag[*]}" "${files[@]}"
  else
    echo "   tcpdump not installed — row skipped"
  fi
  echo "   pcapfile Reader alone"
  measure reader "$total_packets" -- "$reader" "${files[@]}"
  echo "   cat FILE > /dev/null (x7)"
  measure cat "$total_packets" -- bash -c 'cat "$@" >/dev/null' _ "${files[@]}"
  if ((tshark_on)) && command -v tshark >/dev/null; then
    tshark_packets=100000
    ((g_packets < tshark_packets)) && tshark_packets=$g_packets
    echo "   tshark -n -r G.$format -T fields -e ip.id -c $tshark_packets"
    measure tshark "$tshark_packets" -- tshark -n -r "$out/G.$format" -T fields -e ip.id -c "$tshark_packets"
  fi
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)

  sightings=$(sed -nE 's/.* ([0-9]+) sightings · ([0-9]+) flows?$/\1/p' "$out/best-ingest.out" 2>/dev/null | head -n1)
  flows=$(sed -nE 's/.* ([0-9]+) sightings · ([0-9]+) flows?$/\2/p' "$out/best-ingest.out" 2>/dev/null | head -n1)
  exp_flows=$(awk '$1 == "expected_flows" {print $2}' "$out/gen.txt")

  echo
  echo "== $shape: 7 × $packets packets = $total_packets packets, $((total_bytes / 1000000)) MB;" \
    "$(nproc) cores, $(uname -r); load average $load_before before, $load_after after"
  ((total_bytes > mem_avail)) &&
    echo "   (the set is larger than the free memory: the page cache cannot hold it, times include disk reads)"
  awk -v total="$total_packets" '
    BEGIN {
      label["ingest"] = "pathtrace ingest (7 files, end to end)"
      label["tcpdump"] = "tcpdump -r F -w /dev/null (7 files, sum)"
      label["reader"] = "pcapfile Reader alone (7 files)"
      label["cat"] = "cat F > /dev/null (7 files)"
      label["tshark"] = "tshark -n -T fields -e ip.id (G, first N)"
      printf "%-42s %10s %8s %7s %9s %11s %9s %9s\n", "what", "packets", "wall s", "CPU s", "peak RSS", "packets/s",
        "×tcpdump", "(CPU)"
    }
    { name[NR] = $1; npk[NR] = $2; wall[NR] = $3 / 1e9; cpu[NR] = $4; rss[NR] = $5
      if ($1 == "tcpdump") { tcpdump_pps = $2 / ($3 / 1e9); if ($4 != "-" && $4 > 0) tcpdump_cpp = $4 / $2 } }
    END {
      for (i = 1; i <= NR; i++) {
        pps = npk[i] / wall[i]
        r = (rss[i] == "-") ? "-" : sprintf("%.0f MB", rss[i] / 1024)
        x = tcpdump_pps ? sprintf("%.2f×", pps / tcpdump_pps) : "-"
        xc = (tcpdump_cpp && cpu[i] != "-" && cpu[i] > 0) ? sprintf("%.2f×", tcpdump_cpp * npk[i] / cpu[i]) : "-"
        printf "%-42s %10d %8.3f %7s %9s %10.2fM %9s %9s\n", label[name[i]], npk[i], wall[i], cpu[i], r, pps / 1e6, x, xc
      }
    }' "$out/rows"
  if [[ -f $out/best-ingest.err ]]; then
    phases=$(grep -E '^ingest: read\+parse' "$out/best-ingest.err" || true)
    [[ -n $phases ]] && echo "pathtrace -v: ${phases#ingest: }"
  fi
  echo "flows: pathtrace ${flows:-?}, generator ${exp_flows:-?}$([[ -n $flows && $flows == "$exp_flows" ]] && echo " (match)")"

  # Loss per hop: what the generator made ("expected_loss FROM TO LOST OF") against the sum of
  # pathtrace's "✗ N lost between FROM and TO" lines (and "? N lost …" ones, marked inconclusive).
  loss_ok=yes
  echo "loss per hop (travel order):"
  if [[ -f $out/best-ingest.out ]]; then
    sed -nE 's/.*([✗?]) ([0-9]+) lost between ([^ ]+) and ([^ ]+) .*/\3 \4 \2 \1/p' "$out/best-ingest.out" >"$out/reported"
  else
    : >"$out/reported"
  fi
  while read -r from to lost of; do
    got=$(awk -v f="$from" -v t="$to" '$1 == f && $2 == t {s += $3} END {print s + 0}' "$out/reported")
    unsure=$(awk -v f="$from" -v t="$to" '$1 == f && $2 == t && $4 == "?" {s += $3} END {print s + 0}' "$out/reported")
    verdict=match
    [[ $got == "$lost" ]] || { verdict=MISMATCH; loss_ok=no; }
    ((unsure == 0)) || { verdict="$verdict, but $unsure of them marked inconclusive"; loss_ok=no; }
    printf '  %s→%s  generator %8d of %-9d pathtrace %8d  %s\n' "$from" "$to" "$lost" "$of" "$got" "$verdict"
  done < <(awk '$1 == "expected_loss" {print $2, $3, $4, $5}' "$out/gen.txt")
  while read -r from to; do
    grep -qE "^expected_loss $from $to " "$out/gen.txt" && continue
    got=$(awk -v f="$from" -v t="$to" '$1 == f && $2 == t {s += $3} END {print s + 0}' "$out/reported")
    printf '  %s→%s  generator %8d              pathtrace %8d  MISMATCH (loss the generator did not make)\n' \
      "$from" "$to" 0 "$got"
    loss_ok=no
  done < <(awk '{print $1, $2}' "$out/reported" | sort -u)
  echo "loss: $([[ $loss_ok == yes ]] && echo "every hop matches" || echo "DOES NOT MATCH the generator")"

  awk -v n="$packets" -v s="${sightings:-0}" -v f="${flows:-0}" '
    $1 == "ingest" {w = $3 / 1e9; c = $4; r = $5} $1 == "tcpdump" {t = $3 / 1e9}
    END {print n, s, f, t + 0, w + 0, c, r}' "$out/rows" >>"$out/summary"
  echo
done

if ((${#size_list[@]} > 1)); then
  echo "== $shape: time and peak RSS per size (pathtrace ingest, best of $runs; tcpdump summed over the 7 files)"
  awk '
    BEGIN { printf "%14s %11s %8s %10s %12s %9s %8s %10s %10s\n", "packets/point", "sightings", "flows",
            "tcpdump s", "pathtrace s", "×tcpdump", "CPU s", "peak RSS", "RSS ÷ 1st" }
    { if (NR == 1) first = $7
      x = ($5 > 0) ? sprintf("%.2f×", $4 / $5) : "-"
      rss = ($7 == "-") ? "-" : sprintf("%.0f MB", $7 / 1024)
      rel = ($7 == "-" || first == "-") ? "-" : sprintf("%.2f", $7 / first)
      printf "%14d %11d %8d %10.3f %12.3f %9s %8s %10s %10s\n", $1, $2, $3, $4, $5, x, $6, rss, rel }' "$out/summary"
fi
