#!/usr/bin/env bash
# Bytes per packet over ssh, agent vs agentless, on the multi-host lab (docs/remote.md).
# Captures N of the incident's IPIP packets at G (eth1@hv1) both ways at once, counting the
# bytes that come out of each ssh session's stdout (what crosses the link):
#   agent:     ssh hv1 pathtrace collect --iface eth1 --filter ipip --count N --stdout | wc -c
#   agentless: ssh hv1 tcpdump -i eth1 -U -s SNAP -c N -w - '<ipip prefilter>'  | wc -c
#   bench/remote/bytes.sh PATHTRACE [N=2000] [SNAPLEN=256]     (root; ~15 s)
set -uo pipefail
PT=$(readlink -f "${1:?pathtrace binary}")
N=${2:-2000}
SNAP=${3:-256}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/lab" && pwd)  # the lab scripts
P="pb$(( $$ % 100000 ))"
W=$(mktemp -d)
trap 'bash "$HERE/multihost_lab.sh" down "$P" >/dev/null 2>&1; rm -rf "$W"' EXIT
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
bash "$HERE/multihost_lab.sh" up "$P" </dev/null >"$W/lab.log" 2>&1 || { cat "$W/lab.log"; exit 1; }
K="/tmp/pathtrace-mh.$P/id"
SSH="ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i $K -T root@198.18.255.3"
BPF='(ip proto 4) or (vlan and ip proto 4)'
# The agent stops when its stdin closes: keep it open (sleep) until --count ends it.
(sleep 12 | timeout 30 ip netns exec "$P-ops" $SSH "'$PT' collect --iface eth1 --point G --filter ipip --snaplen $SNAP --count $N --stdout" 2>"$W/agent.err" | wc -c >"$W/agent") </dev/null >/dev/null 2>&1 &
(timeout 30 ip netns exec "$P-ops" $SSH "tcpdump -i eth1 -U --immediate-mode -s $SNAP -c $N -w - '$BPF'" </dev/null 2>"$W/agentless.err" | wc -c >"$W/agentless") </dev/null >/dev/null 2>&1 &
sleep 1.5
IPIP_COUNT=$N IPIP_RATE=1000 timeout 30 bash "$HERE/neutron_lab.sh" traffic "$P" </dev/null >"$W/traffic.log" 2>&1
wait
ag=$(cat "$W/agent"); al=$(cat "$W/agentless")
awk -v a="$ag" -v l="$al" -v s="$SNAP" -v n="$N" 'BEGIN {
  printf "agent:     %d bytes for %d packets = %.1f bytes/packet (HELLO, CHAIN, RECORDS, STATS, BYE included)\n", a, n, a / n
  printf "agentless: %d bytes for %d packets = %.1f bytes/packet (pcap headers + frames, snaplen %d)\n", l, n, l / n, s
  printf "agent / agentless = %.3f\n", a / l }'
