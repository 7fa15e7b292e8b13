#!/usr/bin/env bash
# capture_incident.sh OUTDIR broken|fixed [PREFIX]
#
# With the lab of neutron_lab.sh up (same PREFIX), set the security group to the given
# state, then capture at the seven points A..G at once while the director sends IPIP
# (LVS-TUN) and keeps a TCP connection to the VM's port 22 busy. Writes OUTDIR/A.pcap ..
# OUTDIR/G.pcap, OUTDIR/inventory.toml and OUTDIR/capture.log.
#
#   A vm   eth0 (VM ns)     B tap…   C qbr… (promiscuous)   D qvb…   E qvo…
#   F phy-br-ethx (br-ethx side of the interconnect veth)   G eth1 (the NIC)
#
# Env: IPIP_COUNT (200), IPIP_RATE (100/s), TCP_LEAD (0.7 s of TCP before the IPIP),
#      TCP_TAIL (0.5 s after). Exit 77 if the lab is not up.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-}
STATE_WANTED=${2:-}
P=${3:-${PTLAB_PREFIX:-ptlab}}
[[ -n $OUT && ( $STATE_WANTED == broken || $STATE_WANTED == fixed ) ]] \
  || { echo "usage: $0 OUTDIR broken|fixed [PREFIX]" >&2; exit 2; }
IPIP_COUNT=${IPIP_COUNT:-200}
IPIP_RATE=${IPIP_RATE:-100}
TCP_LEAD=${TCP_LEAD:-0.7}
TCP_TAIL=${TCP_TAIL:-0.5}

[[ $(id -u) -eq 0 ]] || { echo "SKIP: capturing needs root" >&2; exit 77; }
eval "$("$HERE/neutron_lab.sh" env "$P")"
"$HERE/neutron_lab.sh" status "$P" >/dev/null 2>&1 \
  || { echo "SKIP: lab '$P' is not up (run: $HERE/neutron_lab.sh up $P)" >&2; exit 77; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/capture.log"
: >"$LOG"
log() { echo "capture[$P]: $*" | tee -a "$LOG" >&2; }

# label  netns           iface          role     host
POINTS=(
  "A $PTLAB_NS_VM eth0 vm vm1"
  "B $PTLAB_NS_HV $PTLAB_TAP tap hv1"
  "C $PTLAB_NS_HV $PTLAB_QBR qbr hv1"
  "D $PTLAB_NS_HV $PTLAB_QVB qvb hv1"
  "E $PTLAB_NS_HV $PTLAB_QVO qvo hv1"
  "F $PTLAB_NS_HV phy-br-ethx br-ethx hv1"
  "G $PTLAB_NS_HV eth1 nic hv1"
)

declare -A TD_PID=()
TALK_PID=""
cleanup() {
  local l
  for l in "${!TD_PID[@]}"; do kill -INT "${TD_PID[$l]}" 2>/dev/null || true; done
  [[ -n $TALK_PID ]] && kill -TERM "$TALK_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'rc=$?; trap - EXIT INT TERM; cleanup; exit $rc' EXIT
trap 'exit 130' INT TERM

if [[ $STATE_WANTED == fixed ]]; then
  "$HERE/neutron_lab.sh" fix "$P" 2>>"$LOG"
else
  "$HERE/neutron_lab.sh" break "$P" 2>>"$LOG"
fi

# Start the seven captures; -Z root so tcpdump may write anywhere root can; -U so
# every packet is written at once; --immediate-mode because without it libpcap uses
# TPACKET_V3 blocks retired only every ~1 s, and packets in the current block are
# lost when tcpdump is stopped (seen here: the last 0.8 s missing at some points).
# No filter: the lab carries only its own frames.
for pt in "${POINTS[@]}"; do
  read -r label ns ifc role host <<<"$pt"
  rm -f "$OUT/$label.pcap"
  ip netns exec "$ns" tcpdump -i "$ifc" -U --immediate-mode -s 262144 -Z root -w "$OUT/$label.pcap" \
    </dev/null >"$OUT/$label.tcpdump.log" 2>&1 &
  TD_PID[$label]=$!
done
for pt in "${POINTS[@]}"; do
  read -r label ns ifc role host <<<"$pt"
  for _ in $(seq 100); do
    grep -q 'listening on' "$OUT/$label.tcpdump.log" && break
    kill -0 "${TD_PID[$label]}" 2>/dev/null || break
    sleep 0.05
  done
  grep -q 'listening on' "$OUT/$label.tcpdump.log" \
    || { cat "$OUT/$label.tcpdump.log" >&2; log "point $label: tcpdump on $ns/$ifc did not start"; exit 1; }
done
log "capturing at A..G (security group: $STATE_WANTED)"
sleep 0.2

# TCP 22 for the whole window; IPIP inside it.
ip netns exec "$PTLAB_NS_DIR" python3 "$HERE/tcp_chatter.py" talk --to "$PTLAB_VM_IP" --port 22 \
  --interval 0.2 --duration 3600 </dev/null >>"$LOG" 2>&1 &
TALK_PID=$!
sleep "$TCP_LEAD"
ip netns exec "$PTLAB_NS_DIR" python3 "$HERE/send_ipip.py" --count "$IPIP_COUNT" --rate "$IPIP_RATE" \
  --outer-src "$PTLAB_DIR_IP" --outer-dst "$PTLAB_VM_IP" --vip "$PTLAB_VIP" >>"$LOG" 2>&1
sleep "$TCP_TAIL"
kill -TERM "$TALK_PID"
wait "$TALK_PID" || { log "TCP conversation failed"; exit 1; }
TALK_PID=""
sleep 0.3   # let the FIN/ACK cross every point

for l in A B C D E F G; do kill -INT "${TD_PID[$l]}" 2>/dev/null || true; done
for l in A B C D E F G; do
  wait "${TD_PID[$l]}" || true
  unset "TD_PID[$l]"
  sed -n 's/^\([0-9]* packets\)/'"$l"': \1/p' "$OUT/$l.tcpdump.log" >>"$LOG"
done

# The inventory (format of correlator ingest): path order, VM side first.
{
  echo "# Neutron hybrid-firewall path of port ${PTLAB_PORT_UUID}, VM side first."
  echo "# Captured by tests/lab/capture_incident.sh (security group: $STATE_WANTED)."
  for pt in "${POINTS[@]}"; do
    read -r label ns ifc role host <<<"$pt"
    echo
    echo "[[point]]"
    echo "label = \"$label\""
    echo "role = \"$role\""
    echo "host = \"$host\""
    echo "iface = \"$ifc\""
    echo "netns = \"$ns\""
    echo "file = \"$label.pcap\""
  done
} >"$OUT/inventory.toml"
log "done: $OUT/{A..G}.pcap"
