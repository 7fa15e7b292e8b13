#!/usr/bin/env bash
# Lab test: a capture taken with dumpcap (Wireshark's capture tool, pcapng) gives its point the
# capture window dumpcap states in its statistics block, at the right time.
#
#   dumpcap_window_test.sh PATHTRACE
#
#   netns <P>-a: ping ─▶ <P>a (tcpdump -w a.pcap) ══veth══ <P>b (dumpcap -w b.pcapng) ◀─ netns <P>-b
#
# dumpcap writes packet times in nanoseconds (if_tsresol 9) but, as Debian 12's Wireshark 4.0
# does, the window of its statistics block (isb_starttime, isb_endtime) in microseconds: read as
# nanoseconds that window is in January 1970, holds none of the packets, and every packet would
# fall outside the point's own capture. pathtrace must read it as the window that holds the
# packets (it prints which units dumpcap used), report point B's window around its packets and
# today's date, warn of nothing, and find the pings delivered (exit 0).
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no dumpcap).
set -uo pipefail
export LC_ALL=C.UTF-8

PT=${1:?pathtrace binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P="pw$(($$ % 100000))"
WORK=$(mktemp -d "/tmp/pathtrace-dumpcap-$P.XXXXXX")
PIDS=()

source "$HERE/lib.sh"  # skip, expect, reject
fail() { echo "FAIL: $*"; for f in "$WORK"/*.err "$WORK"/out; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  ip netns delete "$P-a" 2>/dev/null
  ip netns delete "$P-b" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, veth, AF_PACKET capture)"
command -v dumpcap >/dev/null || skip "dumpcap is not installed (Debian: wireshark-common, which tshark brings)"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"
[ -x "$PT" ] || fail "no pathtrace binary at $PT"
ip netns add "$P-a" && ip netns add "$P-b" || skip "cannot create network namespaces"
ip -n "$P-a" link add "${P}a" type veth peer name "${P}b" netns "$P-b" || fail "cannot create the veth pair"
for ns in "$P-a" "$P-b"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$P-a" addr add 198.18.0.1/24 dev "${P}a"
ip -n "$P-b" addr add 198.18.0.2/24 dev "${P}b"
ip -n "$P-a" link set "${P}a" up
ip -n "$P-b" link set "${P}b" up

started_ns=$(date +%s%N)
ip netns exec "$P-a" tcpdump -i "${P}a" -U --immediate-mode -w "$WORK/a.pcap" icmp 2>"$WORK/tcpdump.err" &
PIDS+=($!)
ip netns exec "$P-b" dumpcap -q -i "${P}b" -f icmp -w "$WORK/b.pcapng" 2>"$WORK/dumpcap.err" &
PIDS+=($!)
for _ in $(seq 100); do
  grep -q "listening on" "$WORK/tcpdump.err" && grep -q "Capturing on" "$WORK/dumpcap.err" && break
  sleep 0.05
done
grep -q "Capturing on" "$WORK/dumpcap.err" || fail "dumpcap did not start"
ip netns exec "$P-a" ping -q -c 20 -i 0.05 -W 1 198.18.0.2 >"$WORK/ping.out" 2>&1 || fail "ping failed"
sleep 1.2  # longer than a ring block timeout: every frame is written before the stop
for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${PIDS[@]}"; do wait "$p"; done
PIDS=()
stopped_ns=$(date +%s%N)

# What dumpcap wrote: the statistics block's start time against the first packet's, in ticks.
units=$(python3 - "$WORK/b.pcapng" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
at, first, start = 0, None, None
while at + 12 <= len(b):
    t, n = struct.unpack_from('<II', b, at)
    if t == 6 and first is None:
        hi, lo = struct.unpack_from('<II', b, at + 12); first = hi << 32 | lo
    if t == 5:
        o = at + 20
        while o + 4 <= at + n - 4:
            c, l = struct.unpack_from('<HH', b, o)
            if c == 0: break
            if c == 2: hi, lo = struct.unpack_from('<II', b, o + 4); start = hi << 32 | lo
            o += 4 + (l + 3) // 4 * 4
    at += n
print('none' if first is None or start is None else 'microseconds' if first > 100 * start else 'its interface units')
PY
)
echo "dumpcap wrote its capture window in $units"
[ "$units" != none ] || fail "dumpcap wrote no packet or no statistics block with a start time"

"$PT" ingest --json --db "$WORK/run.db" --point "A=$WORK/a.pcap" --point "B=$WORK/b.pcapng" >"$WORK/out" 2>"$WORK/ingest.err"
rc=$?
[ $rc -eq 0 ] || fail "ingest exited $rc (the pings were delivered: 0 expected)"
python3 - "$WORK/out" "$started_ns" "$stopped_ns" <<'PY' || fail "point B's window is not dumpcap's"
import json, sys
r = json.load(open(sys.argv[1])); started, stopped = int(sys.argv[2]), int(sys.argv[3])
b = next(p for p in r["points"] if p["label"] == "B")
print(f"point B: window {b['start_ns']} .. {b['end_ns']}, frames {b['first_frame_ns']} .. {b['last_frame_ns']}")
assert b["window_known"], "no window"
assert b["packets"] >= 40, f"{b['packets']} frames (20 pings and their replies expected)"
assert started - 10**9 <= b["start_ns"] <= b["first_frame_ns"], "the window does not start before the first frame, around the test's start"
assert b["last_frame_ns"] <= b["end_ns"] <= stopped + 10**9, "the window does not end after the last frame, around the test's end"
assert not any("statistics block" in w for w in r.get("warnings", [])), r.get("warnings")
PY
echo PASS
