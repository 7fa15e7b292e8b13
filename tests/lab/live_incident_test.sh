#!/usr/bin/env bash
# Live lab tests: `pathtrace run` / `pathtrace correlate` against the Neutron lab
# (neutron_lab.sh), capturing for real at the seven points A..G.
#
#   live_incident_test.sh CASE PATHTRACE
#     broken    the incident: IPIP disappears between C (qbr) and B (tap), 200 of 200 lost, exit 1
#     fixed     security group fixed: IPIP delivered to A, exit 0
#     tcp22     TCP port 22 is delivered with the broken and with the fixed security group
#     late      point A starts capturing 1.5 s after the others while TCP flows: not blamed
#     overload  point A's capture is stalled with a 1 MiB ring during a burst: it reports its
#               own drops, and the hop next to it is inconclusive, not blamed
#     killed    a collector killed with SIGKILL mid-run: the run ends, says so, nothing hangs
#     explain   `run --explain` on the broken lab names the per-port chain and the fallback DROP
#               with +200 packets and the rule that lets IPIP in; on the fixed lab, nothing
#     evidence  `run --keep-bytes 128` on the broken lab, then every evidence command on that
#               run: runs, timeline --lost and --packet, query on hop_loss, report --json and
#               --html, and export --lost, which tshark reads: the 200 lost IPIP packets at each
#               of C..G (1000), one interface per point, comments naming point and verdict
#     correlator_killed  `pathtrace run` itself killed with SIGKILL mid-run: the collectors
#               exit by themselves, the database is consistent, and `pathtrace report`
#               analyses what was committed and says the run was interrupted
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no namespaces, no OVS) — ctest SKIP_RETURN_CODE.
set -uo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)

CASE=${1:?case}
PT=${2:?pathtrace binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/neutron_lab.sh"
P="pl$(( $$ % 100000 ))"
WORK=$(mktemp -d "/tmp/pathtrace-live-$P.XXXXXX")
PIDS=()

source "$HERE/lib.sh"  # skip, expect, reject
fail() { echo "FAIL ($CASE): $*"; [ -f "$WORK/out" ] && { echo "--- stdout"; cat "$WORK/out"; }; [ -f "$WORK/err" ] && { echo "--- stderr"; tail -40 "$WORK/err"; }; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  bash "$LAB" down "$P" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, OVS, iptables)"
command -v ovsdb-server >/dev/null || skip "Open vSwitch is not installed"
[ -x "$PT" ] || fail "no pathtrace binary at $PT"

bash "$LAB" up "$P" >"$WORK/lab.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "$(tail -1 "$WORK/lab.log")"
[ $rc -eq 0 ] || { cat "$WORK/lab.log"; fail "lab did not come up"; }
bash "$LAB" inventory "$P" >"$WORK/inv.toml"
DB="$WORK/run.db"

# run ARGS...: pathtrace run on the lab's seven points; sets $code.
run() {
  "$PT" run --db "$DB" --inventory "$WORK/inv.toml" --points A..G --quiet "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  code=$?
}
traffic="bash $LAB traffic $P"

# No orphaned capture may outlive a run.
no_orphans() {  # collectors get 3 s to notice (stdin closed, correlator gone) and exit
  for _ in $(seq 30); do pgrep -f "$PT collect .*--netns $P-" >/dev/null || return 0; sleep 0.1; done
  if pgrep -f "$PT collect .*--netns $P-" >/dev/null; then
    pgrep -af "$PT collect .*--netns $P-"
    fail "collector processes left behind"
  fi
}

# start_collector LABEL IFACE NETNS [extra args]: a collector streaming to $ADDR in the background.
start_collector() {
  local label=$1 ifc=$2 ns=$3
  shift 3
  "$PT" collect --iface "$ifc" --netns "$ns" --point "$label" --to "$ADDR" --no-stdin-watch "$@" \
    </dev/null >/dev/null 2>>"$WORK/err" &
  PIDS+=($!)
  eval "COLLECTOR_$label=$!"
}

start_correlator() {
  local port=$(( 20000 + $$ % 20000 ))
  ADDR="127.0.0.1:$port"
  "$PT" correlate --db "$DB" --points A,B,C,D,E,F,G --listen "$ADDR" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null &
  CORR=$!
  PIDS+=($CORR)
  for _ in $(seq 50); do grep -q "listening on" "$WORK/err" 2>/dev/null && return; sleep 0.1; done
  fail "correlator did not start"
}

hv_collectors() {  # B..G, everything but A
  local args=("$@")
  start_collector B "tapbdd1f2c3-bd" "$P-hv" "${args[@]}"
  start_collector C "qbrbdd1f2c3-bd" "$P-hv" "${args[@]}"
  start_collector D "qvbbdd1f2c3-bd" "$P-hv" "${args[@]}"
  start_collector E "qvobdd1f2c3-bd" "$P-hv" "${args[@]}"
  start_collector F "phy-br-ethx" "$P-hv" "${args[@]}"
  start_collector G "eth1" "$P-hv" "${args[@]}"
}

wait_connected() {  # wait_connected N: N collectors said HELLO
  for _ in $(seq 100); do
    [ "$(grep -c ' connected$' "$WORK/err")" -ge "$1" ] && return
    sleep 0.1
  done
  fail "only $(grep -c ' connected$' "$WORK/err") of $1 collectors connected"
}

stop_collectors_and_wait() {
  for p in "${PIDS[@]}"; do [ "$p" != "$CORR" ] && kill -CONT "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 150); do kill -0 "$CORR" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$CORR" 2>/dev/null && fail "correlator did not finish after every collector said BYE"
  wait "$CORR"
  code=$?
}

case $CASE in
  broken)
    run --filter ipip --traffic "$traffic"
    [ $code -eq 1 ] || fail "exit code $code, expected 1 (a flow lost packets)"
    expect "verdict: IPIP 198.18.0.1 → 198.18.0.20: disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): 200 of 200 lost (100%)"
    expect "✗ 200 lost between C and B (100%)"
    no_orphans
    ;;
  fixed)
    bash "$LAB" fix "$P" >/dev/null
    run --filter ipip --traffic "$traffic"
    [ $code -eq 0 ] || fail "exit code $code, expected 0 (delivered)"
    expect "delivered: 200 of 200 reached A (vm eth0)"
    reject "lost between"
    no_orphans
    ;;
  tcp22)
    for state in break fix; do
      bash "$LAB" "$state" "$P" >/dev/null
      run --filter "tcp port 22" --traffic "$traffic"
      [ $code -eq 0 ] || fail "security group '$state': exit code $code, expected 0"
      expect "verdict: delivered"
      expect "TCP 198.18.0.1:"
      reject "lost between"
    done
    ;;
  late)
    # TCP flows the whole time; A joins 1.5 s after B..G. Packets before A started must
    # be out of its window, not lost between B and A.
    start_correlator --filter "tcp port 22"
    hv_collectors --filter "tcp port 22"
    ip netns exec "$P-dir" python3 "$HERE/tcp_chatter.py" talk --to 198.18.0.20 --port 22 \
      --interval 0.05 --duration 4 </dev/null >/dev/null 2>&1 &
    talk=$!
    PIDS+=($talk)
    wait_connected 6
    sleep 1.5
    start_collector A eth0 "$P-vm" --filter "tcp port 22"
    wait_connected 7
    wait "$talk"
    sleep 0.5
    stop_collectors_and_wait
    [ $code -eq 0 ] || fail "exit code $code, expected 0: the late point must not be blamed"
    expect "verdict: delivered"
    expect "warning: point A was not capturing when"
    reject "lost between"
    ;;
  overload)
    # A's capture has a 1 MiB ring and is stopped (SIGSTOP) during a 20000-packet burst:
    # the kernel drops what A's ring cannot hold. Those are A's own losses.
    bash "$LAB" fix "$P" >/dev/null
    start_correlator --filter ipip
    hv_collectors --filter ipip
    start_collector A eth0 "$P-vm" --filter ipip --buffer-mb 1
    wait_connected 7
    sleep 0.3
    kill -STOP "$COLLECTOR_A"
    ip netns exec "$P-dir" python3 "$HERE/send_ipip.py" --count 20000 --rate 20000 \
      --outer-src 198.18.0.1 --outer-dst 198.18.0.20 --vip 198.18.0.100 >/dev/null 2>&1 \
      || fail "sender failed"
    sleep 0.3
    kill -CONT "$COLLECTOR_A"
    sleep 1
    stop_collectors_and_wait
    expect "warning: point A lost"
    expect "of its own capture"
    reject "disappears between"
    # A's own losses must not be blamed on B→A. Upstream, OVS's userspace datapath reads eth1
    # with a socket: when it gets too little CPU for the 20000/s burst (a loaded machine), the
    # socket overflows and OVS really drops some between G and F (F..B then all see the same
    # packets, and no point reports kernel drops but A). pathtrace then rightly says
    # "partial loss between G and F": a true verdict, not this test's subject, so it is logged.
    reject "partial loss between B ("
    if grep -q "verdict: IPIP 198.18.0.1 → 198.18.0.20: partial loss" "$WORK/out"; then
      grep -q "verdict: IPIP 198.18.0.1 → 198.18.0.20: partial loss between G (eth1) and F (phy-br-ethx)" "$WORK/out" \
        || fail "a partial loss other than OVS's between G and F"
      echo "note (overload): OVS dropped some of the burst between G and F (load $(cut -d' ' -f1 /proc/loadavg)): $(grep -o '✗ [0-9]* lost between G and F ([0-9.]*%)' "$WORK/out")"
    fi
    grep -qE "inconclusive|\? [0-9]+ lost between B and A" "$WORK/out" || fail "the hop B→A should be inconclusive"
    ;;
  evidence)
    # One live run of the incident, then every evidence command on it, as an operator would.
    command -v tshark >/dev/null || skip "tshark is not installed"
    # Not --quiet: the live progress too (plain lines, stderr is a file; every 0.3 s here).
    PATHTRACE_PROGRESS_MS=300 "$PT" run --db "$DB" --inventory "$WORK/inv.toml" --points A..G \
      --filter ipip --keep-bytes 128 --traffic "$traffic" >"$WORK/out" 2>"$WORK/err" </dev/null
    code=$?
    [ $code -eq 1 ] || fail "exit code $code, expected 1 (a flow lost packets)"
    grep -q "^run: capturing for [0-9.]* s$" "$WORK/err" || fail "no progress header on stderr"
    grep -qE "^  C qbr qbrbdd1f2c3-bd(@[^:]+)?: [1-9][0-9]* packets, [0-9.]+( k| M)?/s" "$WORK/err" \
      || fail "no progress line for point C with its packets and rate"
    grep -qE "^  B tap tapbdd1f2c3-bd(@[^:]+)?: 0 packets, " "$WORK/err" || fail "no progress line for point B"
    ev() {  # ev NAME ARGS...: pathtrace ARGS with the run's database; stdout in $WORK/NAME
      local name=$1 rc=0
      shift
      "$PT" "$@" >"$WORK/$name" 2>"$WORK/$name.err" || rc=$?
      # `report` of this run exits 1: a flow lost packets. Anything else must exit 0.
      [[ $rc -eq 0 || ($rc -eq 1 && $1 == report) ]] || { cat "$WORK/$name.err"; fail "pathtrace $* failed ($rc)"; }
    }
    has() { grep -qE -- "$2" "$WORK/$1" || { head -20 "$WORK/$1"; fail "$1: expected /$2/"; }; }

    ev runs runs --db "$DB"
    has runs "complete .*7 points .*filter ipip"
    has runs "disappears between C \(qbr qbrbdd1f2c3-bd\) and B \(tap tapbdd1f2c3-bd\)"

    ev lost timeline --db "$DB" --lost --limit 0
    has lost "^run 1 · 200 lost packets$"
    has lost "last seen at C qbr qbrbdd1f2c3-bd(@[^:]+)?: 200$"
    digest=$(grep -oE "Z  [0-9a-f]{16}  " "$WORK/lost" | head -1 | awk '{print $2}')
    [ -n "$digest" ] || fail "no digest in timeline --lost"
    ev packet timeline --db "$DB" --packet "$digest"
    has packet "^run 1 · packet $digest · traversal "
    has packet "lost: last seen at C qbr qbrbdd1f2c3-bd(@[^,]+)?, never at B tap tapbdd1f2c3-bd"
    [ "$(grep -c "  $digest" "$WORK/packet")" -eq 5 ] || { cat "$WORK/packet"; fail "the packet should have 5 sightings, G..C"; }

    ev hops query --db "$DB" --csv "SELECT from_label, to_label, packets_in, packets_out, lost FROM hop_loss WHERE run_id = 1 AND lost > 0"
    [ "$(tr -d '\r' <"$WORK/hops")" = "$(printf 'from_label,to_label,packets_in,packets_out,lost\nC,B,200,0,200')" ] \
      || { cat "$WORK/hops"; fail "hop_loss should show C→B 200 in, 0 out"; }

    ev json report --db "$DB" --json
    python3 - "$WORK/json" <<'PY' || fail "report --json: unexpected structure"
import json, sys
r = json.load(open(sys.argv[1]))
top = r["results"][0]
assert r["verdict"]["loss"] is True, r["verdict"]
assert top["verdict"] == "disappears", top["verdict"]
hop = [h for h in top["hops"] if h["lost"]][0]
assert (hop["from"], hop["to"], hop["in"], hop["out"]) == ("C", "B", 200, 0), hop
PY

    ev html report --db "$DB" --html "$WORK/report.html"
    grep -qE '<g class="hop lost" data-from="C" data-to="B" data-lost="200">' "$WORK/report.html" \
      || fail "report --html should draw C→B lost in red with 200"

    ev export export --db "$DB" --lost -w "$WORK/lost.pcapng"
    has export.err "wrote 1000 packets from 5 points"
    tshark -r "$WORK/lost.pcapng" -T fields -E separator='|' \
      -e frame.interface_name -e ip.proto -e frame.comment >"$WORK/tshark" 2>"$WORK/tshark.err" \
      || { cat "$WORK/tshark.err"; fail "tshark cannot read the export"; }
    n=$(wc -l <"$WORK/tshark")
    [ "$n" -eq 1000 ] || fail "tshark read $n packets, expected 200 lost × C..G = 1000"
    for pt in C:qbrbdd1f2c3-bd D:qvbbdd1f2c3-bd E:qvobdd1f2c3-bd F:phy-br-ethx G:eth1; do
      label=${pt%%:*} ifc=${pt#*:}
      got=$(grep -cE "^$label $ifc\|4,[0-9]+\|point $label[ (].*: IPIP 198\.18\.0\.1 → 198\.18\.0\.20: lost between C and B$" "$WORK/tshark")
      [ "$got" -eq 200 ] || { head -3 "$WORK/tshark"; fail "point $label: $got of 200 packets with its interface, IPIP and comment"; }
    done
    ! grep -qE "^(A|B) " "$WORK/tshark" || fail "A and B never saw the lost packets"
    ;;
  killed)
    # A collector dies mid-run (SIGKILL): the run notices, stops, reports, and says why.
    (
      sleep 3
      pkill -KILL -f "$PT collect --iface qvbbdd1f2c3-bd .*--netns $P-hv" || true
    ) &
    PIDS+=($!)
    IPIP_COUNT=1000 IPIP_RATE=200 run --filter ipip --traffic "$traffic"
    [ $code -le 1 ] || fail "exit code $code: a killed collector must still give a report"
    expect "verdict:"
    grep -qF "the collector of point D exited (code 137)" "$WORK/err" "$WORK/out" \
      || fail "the run must say that point D's collector died"
    grep -qE "point D: .*(without BYE|exited with code 137)" "$WORK/out" \
      || fail "the report must warn about point D"
    no_orphans
    ;;
  explain)
    ovsdb="unix:/tmp/pathtrace-lab.$P/db.sock"
    run --filter ipip --explain --ovs-db "$ovsdb" --traffic "$traffic"
    [ $code -eq 1 ] || fail "exit code $code, expected 1"
    expect "neutron-openvswi-ibdd1f2c3-b → neutron-openvswi-sg-fallback: DROP  +200 packets"
    expect "per-port chain neutron-openvswi-ibdd1f2c3-b (ingress) sent 200 of them there"
    expect "-A neutron-openvswi-ibdd1f2c3-b -p 4 -j RETURN"
    [ "$(sqlite3 "$DB" 'SELECT packets FROM attributions WHERE run_id = 1')" = 200 ] \
      || fail "the attribution is not stored with 200 packets"
    bash "$LAB" fix "$P" >/dev/null
    run --filter ipip --explain --ovs-db "$ovsdb" --traffic "$traffic"
    [ $code -eq 0 ] || fail "fixed: exit code $code, expected 0"
    reject "dropped by:"
    [ "$(sqlite3 "$DB" 'SELECT COUNT(*) FROM attributions WHERE run_id = 2')" = 0 ] \
      || fail "fixed: something was blamed"
    ;;
  correlator_killed)
    "$PT" run --db "$DB" --inventory "$WORK/inv.toml" --points A..G --quiet --filter ipip \
      --traffic "IPIP_COUNT=3000 IPIP_RATE=500 $traffic" >"$WORK/out" 2>"$WORK/err" </dev/null &
    runner=$!
    PIDS+=($runner)
    sleep 4
    kill -KILL "$runner"
    wait "$runner" 2>/dev/null
    no_orphans
    [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "database not consistent"
    "$PT" runs --db "$DB" >"$WORK/out" 2>"$WORK/err" || fail "pathtrace runs failed"
    expect "interrupted"
    code=0; "$PT" report --db "$DB" >"$WORK/out" 2>"$WORK/err" || code=$?
    [ $code -eq 1 ] || fail "pathtrace report of the interrupted run exited $code (want 1: a flow lost packets)"
    expect "warning: run 1 was interrupted: analysed from the"
    expect "disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd)"
    ;;
  *) fail "unknown case" ;;
esac
echo "--- report"; cat "$WORK/out"
echo "PASS ($CASE)"
