#!/usr/bin/env bash
# Live capture benchmark: pathtrace collect (+ correlate writing SQLite) against
# tcpdump -w /dev/null, on the same veth, at increasing packet rates.
#
#   netns ptlb<pid>-tx                         netns ptlb<pid>-rx
#   bench_live_send ─▶ ptlb<pid>t ══veth══ ptlb<pid>r ─▶ (a) pathtrace collect ─pipe/TCP─▶ correlate
#   (CPU 0)            198.18.0.1/24        198.18.0.2/24   (b) tcpdump -w /dev/null    (CPU 1)
#                                           tc ingress: drop (after the capture taps)
#
# For every rate, (a) and then (b) capture one sender run each; one table shows, side by side,
# packets sent, captured and dropped by the kernel, and CPU time per captured packet of the
# capturing process (perf stat task-clock = user + sys). The correlator's CPU is shown apart.
#
# usage: bench/live/run.sh [BUILD_DIR]          (root; exits 77 otherwise)
#   PT_LIVE_RATES="idle 50000 100000 200000 400000 800000 max"   target packets/s ("max" = no
#                        pacing; "idle" = no traffic: each tool's fixed CPU cost for the same time)
#   PT_LIVE_SECONDS=3    seconds of traffic per run
#   PT_LIVE_REPEAT=1     runs per rate, the two tools alternating; with more than one, a second
#                        table gives each tool's median CPU per packet per rate
#   PT_LIVE_TOGETHER=0   1: both tools capture the same sender run at once, on the same core (a
#                        paired comparison: a busy moment of the VM hits both; each also pays for
#                        sharing the core with the other). No perf record in this mode.
#   PT_LIVE_SIZE=60      frame length (bytes, without FCS)
#   PT_LIVE_IPIP=0       1: IPIP frames (outer 198.18.0.1 → 198.18.0.20, inner UDP), as the incident
#   PT_LIVE_FLOWS=1      flows (UDP source ports, round robin), 1-4096: a busy port's many flows
#   PT_LIVE_TRANSPORT=pipe  collector → correlator over a pipe (`collect --stdout | correlate
#                        --stdin`, as `pathtrace run` streams its local points) or loopback TCP
#                        (`collect --to`, as a collector sends to `pathtrace correlate --listen`)
#   PT_LIVE_CPU_SEND=0 PT_LIVE_CPU_CAPTURE=1    cores (capture = collector, tcpdump)
#   PT_LIVE_CPU_CORRELATOR=$PT_LIVE_CPU_CAPTURE  the correlator's core: by default it shares the
#                        collector's, which charges the collector for being preempted by it
#   PT_LIVE_CORRELATE_ARGS="--memory 64M"   more options for `pathtrace correlate` (words)
#   PT_LIVE_KEEP=DIR     keep the databases and logs there
#   PT_LIVE_PERF=DIR     also `perf record -g` each capturing process while the sender runs
#                        (DIR/pt-RATE.data, DIR/td-RATE.data; perf report -i FILE --no-children)
#
# Only the two namespaces it creates are touched; everything is removed on exit, error or
# Ctrl-C, and leftovers of an earlier killed run (namespaces ptlb<dead pid>-*, their processes,
# temp dirs $TMPDIR/ptlb<dead pid>.*) are removed first.
set -euo pipefail

if [[ $EUID -ne 0 ]]; then
  echo "run.sh: skipped: needs root (network namespaces, veth, AF_PACKET capture)" >&2
  exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
die() { echo "run.sh: $*" >&2; exit 2; }
[[ -d $build ]] || die "build dir $build not found (cmake -S . -B build -G Ninja && cmake --build build -j2)"
build=$(cd "$build" && pwd)
send=$build/bench/live/bench_live_send
pathtrace=$build/pathtrace
[[ -x $pathtrace ]] || pathtrace=$build/correlator/cli/pathtrace
[[ -x $send && -x $pathtrace ]] ||
  die "build it first: cmake --build $build -j2 --target pathtrace bench_live_send"
for tool in ip tc tcpdump sqlite3 taskset; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
use_perf=1
command -v perf >/dev/null || use_perf=0
[[ $use_perf == 1 || -x /usr/bin/time ]] || die "need perf (perf stat) or GNU time to measure CPU"

rates=${PT_LIVE_RATES:-idle 50000 100000 200000 400000 800000 max}
seconds=${PT_LIVE_SECONDS:-3}
size=${PT_LIVE_SIZE:-60}
ipip=${PT_LIVE_IPIP:-0}
transport=${PT_LIVE_TRANSPORT:-pipe}
repeat=${PT_LIVE_REPEAT:-1}
together=${PT_LIVE_TOGETHER:-0}
[[ $together == 0 || $together == 1 ]] || die "PT_LIVE_TOGETHER=$together: 0 or 1"
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "PT_LIVE_REPEAT=$repeat: a count of runs per rate"
[[ $transport == pipe || $transport == tcp ]] || die "PT_LIVE_TRANSPORT=$transport: pipe or tcp"
cpu_send=${PT_LIVE_CPU_SEND:-0}
cpu_cap=${PT_LIVE_CPU_CAPTURE:-1}
cpu_corr=${PT_LIVE_CPU_CORRELATOR:-$cpu_cap}
if (($(nproc) < 2)); then
  echo "run.sh: warning: one core only: sender and capture share it" >&2
  cpu_send=0 cpu_cap=0
fi

prefix=ptlb$$
tx_ns=$prefix-tx rx_ns=$prefix-rx
tx_if=${prefix}t rx_if=${prefix}r
tx_mac=02:00:00:1b:00:01 rx_mac=02:00:00:1b:00:02
# After the sender stops, wait this long before stopping a capture: longer than tcpdump's ring
# block timeout (1000 ms), or tcpdump loses the frames of the block the kernel has not retired
# (and counts them nowhere). pathtrace drains that block itself (it reads until it has every frame
# the kernel counted at the stop).
drain=1.5
port=7300  # on the rx namespace's own loopback: cannot collide with anything outside it

work=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
pids=()

# Kills what we started (by pid), removes our namespaces (their veth goes with them).
remove_ns() {
  local ns=$1 pid
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  ip netns delete "$ns" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  remove_ns "$tx_ns"
  remove_ns "$rx_ns"
  if [[ -n ${PT_LIVE_KEEP:-} ]]; then
    mkdir -p "$PT_LIVE_KEEP" && cp -r "$work"/. "$PT_LIVE_KEEP"/
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leftovers of an interrupted run: ptlb<pid>-tx/-rx whose run.sh is gone.
for ns in $(ip netns list | awk '{print $1}' | grep -E '^ptlb[0-9]+-(tx|rx)$' || true); do
  owner=${ns#ptlb}
  owner=${owner%-*}
  kill -0 "$owner" 2>/dev/null || { echo "run.sh: removing leftover namespace $ns"; remove_ns "$ns"; }
done
for dir in "${TMPDIR:-/tmp}"/ptlb[0-9]*.*; do
  [[ -d $dir && $dir != "$work" ]] || continue
  owner=${dir##*/ptlb}
  owner=${owner%%.*}
  kill -0 "$owner" 2>/dev/null || rm -rf "$dir"
done

# --- the lab: two namespaces, one veth, IPv6 off, static neighbours ---------------------------
ip netns add "$tx_ns"
ip netns add "$rx_ns"
ip -n "$tx_ns" link add "$tx_if" address $tx_mac type veth peer name "$rx_if" address $rx_mac netns "$rx_ns"
for ns in "$tx_ns" "$rx_ns"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.ip_forward=0
  ip -n "$ns" link set lo up
done
ip -n "$tx_ns" addr add 198.18.0.1/24 dev "$tx_if"
ip -n "$rx_ns" addr add 198.18.0.2/24 dev "$rx_if"
ip -n "$tx_ns" neigh replace 198.18.0.2 lladdr $rx_mac dev "$tx_if" nud permanent
ip -n "$rx_ns" neigh replace 198.18.0.1 lladdr $tx_mac dev "$rx_if" nud permanent
ip -n "$tx_ns" link set "$tx_if" up
ip -n "$rx_ns" link set "$rx_if" up
# Drop every frame at tc ingress, which runs after the AF_PACKET taps: the captures see it, the
# IP stack never does (no routing lookup, no ICMP), so the sender's core goes further.
ip netns exec "$rx_ns" tc qdisc add dev "$rx_if" clsact
ip netns exec "$rx_ns" tc filter add dev "$rx_if" ingress bpf da bytecode '1,6 0 0 2,'  # TC_ACT_SHOT

send_args=(--iface "$tx_if" --dst-mac "$rx_mac" --src 198.18.0.1 --dst 198.18.0.200 --size "$size"
  --flows "${PT_LIVE_FLOWS:-1}")
# shellcheck disable=SC2054  # one argument: OUTER_SRC,OUTER_DST
[[ $ipip == 1 ]] && send_args+=(--ipip 198.18.0.1,198.18.0.20)

rx_packets() { ip netns exec "$rx_ns" cat "/sys/class/net/$rx_if/statistics/rx_packets"; }

# cpu_wrap FILE: the command prefix that records the CPU time of what follows into FILE
# (used unquoted on purpose: it is several words; paths here have no spaces).
cpu_wrap() {
  if [[ $use_perf == 1 ]]; then
    echo "perf stat -x, -e task-clock,context-switches -o $1 --"
  else
    echo "/usr/bin/time -f %U,%S -o $1"
  fi
}
# cpu_ms FILE: CPU milliseconds (user + sys) recorded by cpu_wrap.
cpu_ms() {
  if [[ $use_perf == 1 ]]; then
    awk -F, '$3 == "task-clock" {printf "%.1f", $1}' "$1"
  else
    awk -F, 'END {printf "%.1f", ($1 + $2) * 1000}' "$1"
  fi
}

# cs_of FILE: context switches recorded by perf stat ("-" without perf).
cs_of() {
  if [[ $use_perf == 1 ]]; then
    awk -F, '$3 == "context-switches" {print $1}' "$1"
  else
    echo -
  fi
}

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
wait_for() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run.sh: timed out waiting for '$2' in $1:" >&2
  cat "$1" >&2
  return 1
}

# child_of PID: the process a wrapper (perf/time) started.
child_of() {
  local c i
  for ((i = 0; i < 100; i++)); do
    c=$(pgrep -P "$1" | head -n1 || true)
    [[ -n $c ]] && { echo "$c"; return; }
    sleep 0.02
  done
  die "no child of $1"
}

# profile_start NAME PID: perf record -g of PID into $PT_LIVE_PERF/NAME.data (when asked).
profile_pid=""
profile_start() {
  [[ -n ${PT_LIVE_PERF:-} && $use_perf == 1 ]] || return 0
  mkdir -p "$PT_LIVE_PERF"
  perf record -q -g -p "$2" -o "$PT_LIVE_PERF/$1.data" >/dev/null 2>&1 &
  profile_pid=$!
  pids+=("$profile_pid")
  sleep 0.2
}
profile_stop() {
  [[ -n $profile_pid ]] || return 0
  kill -INT "$profile_pid" 2>/dev/null || true
  wait "$profile_pid" 2>/dev/null || true
  profile_pid=""
}

# run_sender RATE OUT: sends for $seconds at RATE ("max" = unpaced), the sender's line to OUT.
run_sender() {
  local r=$1
  if [[ $r == idle ]]; then  # no traffic: the tool's fixed cost (wake-ups, STATS, start, stop)
    sleep "$seconds"
    echo "sent 0 packets (idle)" >"$2"
    return
  fi
  [[ $r == max ]] && r=0
  ip netns exec "$tx_ns" taskset -c "$cpu_send" "$send" "${send_args[@]}" --rate "$r" \
    --duration "$seconds" >"$2"
}
sent_of() { awk '/^sent /{print $2}' "$1"; }

# (a), in two halves. start_pathtrace RATE RUN: starts the correlator and the collector, returns
# once the collector is capturing (sets pt_d, pt_corr, pt_coll, pt_coll_child).
# shellcheck disable=SC2046  # $(cpu_wrap …) is several words on purpose
start_pathtrace() {
  local d=$work/pt-$1-$2
  pt_d=$d
  mkdir -p "$d"
  local corr coll
  if [[ $transport == pipe ]]; then
    # The collector's stdout is the stream (as over ssh).
    mkfifo "$d/stream"
    ip netns exec "$rx_ns" taskset -c "$cpu_corr" $(cpu_wrap "$d/corr.cpu") \
      "$pathtrace" correlate --points A --stdin --db "$d/run.db" ${PT_LIVE_CORRELATE_ARGS:-} \
      >"$d/corr.out" 2>"$d/corr.err" <"$d/stream" &
    corr=$!
    pids+=("$corr")
    ip netns exec "$rx_ns" taskset -c "$cpu_cap" $(cpu_wrap "$d/coll.cpu") \
      "$pathtrace" collect --iface "$rx_if" --netns "$rx_ns" --point A --stdout --no-stdin-watch \
      >"$d/stream" 2>"$d/coll.err" </dev/null &
    coll=$!
  else
    ip netns exec "$rx_ns" taskset -c "$cpu_corr" $(cpu_wrap "$d/corr.cpu") \
      "$pathtrace" correlate --points A --listen 127.0.0.1:$port --db "$d/run.db" ${PT_LIVE_CORRELATE_ARGS:-} \
      >"$d/corr.out" 2>"$d/corr.err" </dev/null &
    corr=$!
    pids+=("$corr")
    wait_for "$d/corr.err" "listening on" 10
    ip netns exec "$rx_ns" taskset -c "$cpu_cap" $(cpu_wrap "$d/coll.cpu") \
      "$pathtrace" collect --iface "$rx_if" --netns "$rx_ns" --point A --to 127.0.0.1:$port \
      >/dev/null 2>"$d/coll.err" </dev/null &
    coll=$!
  fi
  pids+=("$coll")
  pt_corr=$corr pt_coll=$coll
  pt_coll_child=$(child_of "$coll")
  # Connected = capturing (the handle is open before the collector says HELLO).
  wait_for "$d/corr.err" "connected" 10
}

# finish_pathtrace VETH_RX: after the collector got SIGINT, waits for it and the correlator; prints
# "sent veth_rx captured dropped db_packets db_drop records_lost cpu_ms corr_ms context_switches"
# (CPU and context switches: the collector's, whole life; sent: from $pt_d/send.out).
finish_pathtrace() {
  local d=$pt_d corr=$pt_corr
  wait "$pt_coll" || echo "run.sh: pathtrace collect exited with $? (see $d/coll.err)" >&2
  local t
  for ((t = 0; t < 1200; t++)); do kill -0 "$corr" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$corr" 2>/dev/null; then
    echo "run.sh: correlator still running after 60 s; stopping it" >&2
    kill -INT "$(child_of "$corr")" 2>/dev/null || true
  fi
  wait "$corr" || true  # exit 1 = "loss" verdict; the counts below are what matter
  local line captured dropped db
  line=$(grep -E 'packets, .* records sent, .* dropped by the kernel' "$d/coll.err" | tail -n1)
  captured=$(sed -E 's/.*: ([0-9]+) packets, .*/\1/' <<<"$line")
  dropped=$(sed -E 's/.*sent, ([0-9]+) dropped.*/\1/' <<<"$line")
  [[ -n $line ]] || { captured=-1 dropped=-1; cat "$d/coll.err" >&2; }
  db=$(sqlite3 -separator ' ' "$d/run.db" 'select packets, pcap_drop, records_lost from points' 2>/dev/null ||
    echo "- - -")
  echo "$(sent_of "$d/send.out") $1 $captured $dropped $db $(cpu_ms "$d/coll.cpu") $(cpu_ms "$d/corr.cpu") $(cs_of "$d/coll.cpu")"
}

# (b), in two halves. start_tcpdump RATE RUN: returns once tcpdump is listening (sets td_d, td_pid,
# td_child).
start_tcpdump() {
  local d=$work/td-$1-$2
  td_d=$d
  mkdir -p "$d"
  # shellcheck disable=SC2046
  ip netns exec "$rx_ns" taskset -c "$cpu_cap" $(cpu_wrap "$d/td.cpu") \
    tcpdump -i "$rx_if" -n -s 256 -B 32768 -w /dev/null >/dev/null 2>"$d/td.err" </dev/null &
  td_pid=$!
  pids+=("$td_pid")
  td_child=$(child_of "$td_pid")
  wait_for "$d/td.err" "listening on" 10
}

# finish_tcpdump VETH_RX: after tcpdump got SIGINT, waits for it; prints
# "sent veth_rx captured dropped cpu_ms context_switches" (sent: from $td_d/send.out).
finish_tcpdump() {
  local d=$td_d
  wait "$td_pid" || true
  local captured dropped
  captured=$(awk '/packets captured/ {print $1}' "$d/td.err")
  dropped=$(awk '/packets dropped by kernel/ {print $1}' "$d/td.err")
  echo "$(sent_of "$d/send.out") $1 ${captured:--1} ${dropped:--1} $(cpu_ms "$d/td.cpu") $(cs_of "$d/td.cpu")"
}

# One sender run with one tool capturing: measure pathtrace|tcpdump RATE RUN prints that tool's line.
measure() {
  local tool=$1 rate=$2 rx0 rx1 d child
  if [[ $tool == pathtrace ]]; then
    start_pathtrace "$rate" "$3"; d=$pt_d child=$pt_coll_child
  else
    start_tcpdump "$rate" "$3"; d=$td_d child=$td_child
  fi
  sleep 0.3
  profile_start "$([[ $tool == pathtrace ]] && echo pt || echo td)-$rate-$3" "$child"
  rx0=$(rx_packets)
  run_sender "$rate" "$d/send.out"
  profile_stop
  sleep "$drain"
  rx1=$(rx_packets)
  kill -INT "$child"
  if [[ $tool == pathtrace ]]; then finish_pathtrace $((rx1 - rx0)); else finish_tcpdump $((rx1 - rx0)); fi
}

# One sender run with both tools capturing at once (PT_LIVE_TOGETHER=1): writes both lines.
measure_together() {
  local rate=$1 rx0 rx1
  start_pathtrace "$rate" "$2"
  start_tcpdump "$rate" "$2"
  sleep 0.3
  rx0=$(rx_packets)
  run_sender "$rate" "$pt_d/send.out"
  cp "$pt_d/send.out" "$td_d/send.out"
  sleep "$drain"
  rx1=$(rx_packets)
  kill -INT "$pt_coll_child" "$td_child"
  finish_pathtrace $((rx1 - rx0)) >"$work/pt.line"
  finish_tcpdump $((rx1 - rx0)) >"$work/td.line"
}

echo "== bench/live: $seconds s per run, ${size}-byte $([[ $ipip == 1 ]] && echo IPIP || echo UDP) frames of ${PT_LIVE_FLOWS:-1} flow(s)," \
  "sender on CPU $cpu_send, captures on CPU $cpu_cap, correlator on CPU $cpu_corr over a $([[ $transport == tcp ]] && echo "TCP connection" || echo pipe) ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "   pathtrace $("$pathtrace" --version 2>/dev/null | head -n1 || echo '?'), $(tcpdump --version 2>&1 | head -n1)"
: >"$work/rows"
for rate in $rates; do
  for ((i = 1; i <= repeat; i++)); do  # alternating, so a busy moment hits both tools alike
    if [[ $together == 1 ]]; then
      echo "-- rate $rate, run $i of $repeat: pathtrace collect + correlate and tcpdump, at once"
      measure_together "$rate" "$i"
      echo "   $(cat "$work/pt.line")"
      echo "   $(cat "$work/td.line")"
    else
      echo "-- rate $rate, run $i of $repeat: pathtrace collect + correlate"
      measure pathtrace "$rate" "$i" >"$work/pt.line"
      echo "   $(cat "$work/pt.line")"
      echo "-- rate $rate, run $i of $repeat: tcpdump"
      measure tcpdump "$rate" "$i" >"$work/td.line"
      echo "   $(cat "$work/td.line")"
    fi
    echo "$rate $(cat "$work/pt.line") $(cat "$work/td.line")" >>"$work/rows"
  done
done

# --- the table ----------------------------------------------------------------------------------
# rows: rate | pt: sent veth captured dropped db_packets db_drop records_lost cpu corr cs | td: sent veth captured dropped cpu cs
echo
awk -v secs="$seconds" '
  function ns(cpu_ms, n) { return n > 0 ? sprintf("%.0f", cpu_ms * 1e6 / n) : "-" }
  function rate_label(r) { return r == "max" ? "max" : sprintf("%dk", r / 1000) }
  function sent_cell(n) { return sprintf("%d (%.0fk/s)", n, n / secs / 1000) }
  function ok(sent, cap, drop) { return cap == sent && drop == 0 }
  BEGIN {
    print "| rate pps | pathtrace: sent | captured | dropped | collector CPU ns/pkt | correlator CPU ns/pkt | tcpdump: sent | captured | dropped | CPU ns/pkt |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  }
  $1 == "idle" {
    printf "| idle (no traffic, %s s) | 0 | %d | %d | %s ms CPU | %s ms CPU | 0 | %d | %d | %s ms CPU |\n", secs, $4, $5, $9, $10, $14, $15, $16
    next
  }
  {
    pt_sent = $2; pt_cap = $4; pt_drop = $5; db_pk = $6; db_drop = $7; lost = $8; pt_cpu = $9; corr = $10
    td_sent = $12; td_cap = $14; td_drop = $15; td_cpu = $16
    note = (db_pk == pt_cap && db_drop == pt_drop && lost == 0) ? "" : sprintf(" (db: %s, drop %s, lost %s)", db_pk, db_drop, lost)
    printf "| %s | %s | %d%s | %d | %s | %s | %s | %d | %d | %s |\n", rate_label($1), sent_cell(pt_sent), pt_cap, note, pt_drop,
      ns(pt_cpu, pt_cap), ns(corr, db_pk), sent_cell(td_sent), td_cap, td_drop, ns(td_cpu, td_cap)
    if (ok(pt_sent, pt_cap, pt_drop) && lost == 0 && db_pk == pt_cap && pt_sent / secs > best_pt) { best_pt = pt_sent / secs; best_pt_at = rate_label($1) }
    if (ok(td_sent, td_cap, td_drop) && td_sent / secs > best_td) { best_td = td_sent / secs; best_td_at = rate_label($1) }
    if (!(ok(pt_sent, pt_cap, pt_drop) && lost == 0 && db_pk == pt_cap) && first_pt_loss == "") first_pt_loss = rate_label($1)
    if (!ok(td_sent, td_cap, td_drop) && first_td_loss == "") first_td_loss = rate_label($1)
  }
  # CPU ns/pkt of every run of a rate, for the medians below.
  $1 != "idle" && pt_cap > 0 && td_cap > 0 { n[$1]++; pt_all[$1, n[$1]] = pt_cpu * 1e6 / pt_cap; td_all[$1, n[$1]] = td_cpu * 1e6 / td_cap; if (!($1 in seen)) { seen[$1] = 1; order[++rates] = $1 } }
  function median(a, r, k,   i, j, t, v) {
    for (i = 1; i <= k; i++) v[i] = a[r, i]
    for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  END {
    if (rates && n[order[1]] > 1) {
      print ""
      print "| rate pps | runs | collector CPU ns/pkt, median | tcpdump CPU ns/pkt, median | collector / tcpdump |"
      print "|---|---:|---:|---:|---:|"
      for (i = 1; i <= rates; i++) {
        r = order[i]; a = median(pt_all, r, n[r]); b = median(td_all, r, n[r])
        printf "| %s | %d | %.0f | %.0f | %.2f |\n", rate_label(r), n[r], a, b, a / b
      }
    }
    print ""
    printf "highest zero-drop rate: pathtrace %.0f pps (target %s), tcpdump %.0f pps (target %s)\n", best_pt, best_pt_at, best_td, best_td_at
    if (first_pt_loss == "" && first_td_loss == "")
      print "(neither tool lost a packet at any rate: the two rates above are what the sender reached in their runs, a tie)"
    print "(a \"max\" row compares the tools at whatever the sender reached: its ceiling on 2-core VMs here was 0.5-1.5 M packets/s)"
    printf "first target rate with a loss: pathtrace %s, tcpdump %s\n", first_pt_loss == "" ? "none" : first_pt_loss,
      first_td_loss == "" ? "none" : first_td_loss
    print "(zero-drop: every packet sent was captured, 0 kernel drops; for pathtrace also every record in the database)"
  }' "$work/rows" | tee "$work/table.md"
