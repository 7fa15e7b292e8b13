#!/usr/bin/env bash
# Lab test: `pathtrace collect` stopped right after a burst hands over every packet of the ring
# block the kernel has not retired yet, and stops at once when nothing is pending.
#
#   collect_drain_test.sh PATHTRACE
#
#   netns <P>-tx: send_ipip.py ─▶ <P>t ══veth══ <P>r ─▶ pathtrace collect --stdout > stream
#
# 1000 IPIP packets leave as fast as Python sends them (a few tens of ms), and the collector gets
# SIGINT 20 ms later: the frames sit in a ring block that the kernel hands over only at its
# 250 ms block timeout (a collector that stops without waiting for it fails here). The collector
# must read until it has every frame the kernel counted (1000 packets, 1000 records, and the
# stream, read back by `pathtrace correlate --stdin`, holds all 1000). Then, with nothing in
# flight, a stop must not wait for a block timeout (generous bound: 1 s; it is ~1 ms).
#
# Exit: 0 pass, 1 fail, 77 skip (not root).
set -uo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)

PT=${1:?pathtrace binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P="pd$(($$ % 100000))"
WORK=$(mktemp -d "/tmp/pathtrace-drain-$P.XXXXXX")
PIDS=()

source "$HERE/lib.sh"  # skip, expect, reject
fail() { echo "FAIL: $*"; for f in "$WORK"/*.err; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ip netns delete "$P-tx" 2>/dev/null
  ip netns delete "$P-rx" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, veth, AF_PACKET capture)"
[ -x "$PT" ] || fail "no pathtrace binary at $PT"
ip netns delete "$P-tx" 2>/dev/null
ip netns delete "$P-rx" 2>/dev/null
ip netns add "$P-tx" && ip netns add "$P-rx" || skip "cannot create network namespaces"
ip -n "$P-tx" link add "${P}t" address 02:00:00:1d:00:01 type veth peer name "${P}r" \
  address 02:00:00:1d:00:02 netns "$P-rx" || fail "cannot create the veth pair"
for ns in "$P-tx" "$P-rx"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$P-tx" addr add 198.18.0.1/24 dev "${P}t"
ip -n "$P-tx" neigh replace 198.18.0.20 lladdr 02:00:00:1d:00:02 dev "${P}t" nud permanent
ip -n "$P-tx" link set "${P}t" up
ip -n "$P-rx" link set "${P}r" up

# collect NAME: starts a collector on the rx end; its pid in $COLL, its stream in $WORK/NAME.
collect() {
  "$PT" collect --iface "${P}r" --netns "$P-rx" --point A --filter ipip --stdout --no-stdin-watch \
    >"$WORK/$1" 2>"$WORK/$1.err" </dev/null &
  COLL=$!
  PIDS+=("$COLL")
  for _ in $(seq 50); do [ -s "$WORK/$1" ] && return; sleep 0.05; done  # HELLO = capturing
  fail "the collector did not start"
}
# stop: SIGINT to the collector, waits for it; how long that took in $MS (milliseconds).
stop() {
  local t0 rc=0
  t0=$(date +%s%N)
  kill -INT "$COLL"
  wait "$COLL" || rc=$?
  MS=$((($(date +%s%N) - t0) / 1000000))
  [ $rc -eq 0 ] || fail "pathtrace collect exited with $rc"
}

collect burst
ip netns exec "$P-tx" python3 "$HERE/send_ipip.py" --count 1000 --rate 1000000 \
  --outer-src 198.18.0.1 --outer-dst 198.18.0.20 --vip 198.18.0.100 >/dev/null 2>&1 ||
  fail "sender failed"
sleep 0.02
stop
grep -q "1000 packets, 1000 records sent, 0 dropped by the kernel" "$WORK/burst.err" ||
  fail "the collector stopped 20 ms after the burst without every packet of the unretired block"
"$PT" correlate --points A --stdin --db "$WORK/burst.db" -q <"$WORK/burst" >"$WORK/corr.out" 2>"$WORK/corr.err"
[ "$(sqlite3 "$WORK/burst.db" 'SELECT packets, records_lost FROM points')" = "1000|0" ] ||
  fail "the stream should hold 1000 records: $(sqlite3 "$WORK/burst.db" 'SELECT packets, records_lost FROM points')"
echo "burst: 1000 of 1000 packets handed over; stop took $MS ms"

collect quiet
sleep 0.6  # longer than the block timeout: nothing pending
stop
[ "$MS" -lt 1000 ] || fail "with nothing pending the stop took $MS ms (it must not wait for block timeouts)"
echo "idle: stop took $MS ms"
echo PASS
