#!/usr/bin/env bash
# neutron_variants.sh — the two other Neutron port layouts, for `pathtrace discover` tests.
#
#   neutron_variants.sh up   ovsfw|linuxbridge [PREFIX]   build (removes leftovers of PREFIX first)
#   neutron_variants.sh down ovsfw|linuxbridge [PREFIX]   remove everything of PREFIX
#   neutron_variants.sh env  ovsfw|linuxbridge [PREFIX]   shell variables (names, expected points)
#   neutron_variants.sh traffic ovsfw|linuxbridge [PREFIX] IPIP_COUNT (200) IPIP packets to the VM
#
# ovsfw: openvswitch agent with the native OVS firewall: the tap is a port of br-int itself
#   (external_ids:iface-id = port UUID), br-int and br-ethx joined by OVS *patch* ports
#   (no kernel device: discover must say so), the NIC eth1 on br-ethx; br-int's table 82 allows
#   TCP 22 and drops the rest (as the native firewall's ingress table would without a rule).
#     ${P}-vm eth0 ─veth─ tap… ═ br-int ═patch═ br-ethx ═ eth1 ─veth─ eth0 ${P}-dir
# linuxbridge: linuxbridge agent: brq<11 chars of the network UUID> with the tap and the
#   uplink eth1 (a veth standing in for the NIC).
#     ${P}-vm eth0 ─veth─ tap… ─ brq… ─ eth1 ─veth─ eth0 ${P}-dir
#
# Namespaces ${P}-hv, ${P}-vm, ${P}-dir; state (OVS db, sockets, pid files, logs) in
# /tmp/pathtrace-lab.${P}. Traffic only on `traffic`, inside the namespaces (198.18.1.0/24);
# nothing is created in the root namespace.
# Exit codes: 0 ok, 1 failure, 2 usage, 77 the machine cannot run it (not root, no OVS).
set -euo pipefail

readonly PORT_UUID="c0ffee12-3456-4789-abcd-ef0123456789"   # fake Neutron port id
readonly NET_UUID="5e7a0b1c-2d3e-4f50-8a9b-0c1d2e3f4a5b"    # fake Neutron network id
readonly DEV="${PORT_UUID:0:11}"
readonly TAP="tap${DEV}" BRQ="brq${NET_UUID:0:11}"
readonly DIR_IP=198.18.1.1 VM_IP=198.18.1.20 VIP=198.18.1.100
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

CMD=${1:-}
KIND=${2:-}
P=${3:-${PTLAB_PREFIX:-ptvar}}
[[ $KIND == ovsfw || $KIND == linuxbridge ]] || { echo "usage: $0 up|down|env|traffic ovsfw|linuxbridge [PREFIX]" >&2; exit 2; }
[[ $P =~ ^[a-z][a-z0-9]{0,7}$ ]] || { echo "neutron_variants: PREFIX must match [a-z][a-z0-9]{0,7}: '$P'" >&2; exit 2; }
NS_HV="${P}-hv" NS_VM="${P}-vm" NS_DIR="${P}-dir"
STATE="/tmp/pathtrace-lab.${P}"
. "$HERE/state_dir.sh"

log() { echo "neutron_variants[$P/$KIND]: $*" >&2; }
die() { log "error: $*"; exit 1; }
hv() { ip netns exec "$NS_HV" "$@"; }
ofctl() { hv ovs-ofctl "$1" "unix:$STATE/$2.mgmt" "${@:3}"; }
vsctl() { hv env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" ovs-vsctl --db="unix:$STATE/db.sock" --timeout=10 "$@"; }

preflight() {
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: the lab needs root" >&2; exit 77; }
  local t tools=(ip)
  [[ $KIND == ovsfw ]] && tools+=(ovsdb-server ovs-vswitchd ovs-vsctl ovsdb-tool)
  for t in "${tools[@]}"; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
  done
  if [[ $KIND == ovsfw ]]; then
    [[ -r $OVS_SCHEMA ]] || { echo "SKIP: OVS schema $OVS_SCHEMA missing" >&2; exit 77; }
    [[ -c /dev/net/tun ]] || { echo "SKIP: /dev/net/tun missing" >&2; exit 77; }
  fi
}

down() {
  local f pid
  for f in "$STATE/ovs-vswitchd.pid" "$STATE/ovsdb-server.pid"; do
    [[ -r $f ]] || continue
    pid=$(<"$f")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  local ns
  for ns in "$NS_VM" "$NS_HV" "$NS_DIR"; do
    [[ -e /run/netns/$ns ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  [[ $STATE == /tmp/pathtrace-lab.* ]] && state_dir_remove "$STATE"
}

up() {
  preflight
  down
  # shellcheck disable=SC2154  # rc is set inside the trap string
  trap 'rc=$?; trap - EXIT INT TERM; log "up failed (rc=$rc)"; down; exit $rc' EXIT
  trap 'exit 130' INT TERM
  state_dir_create "$STATE" || exit 1
  local ns
  for ns in "$NS_HV" "$NS_VM" "$NS_DIR"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$NS_HV" link add "$TAP" type veth peer name eth0 netns "$NS_VM"
  ip -n "$NS_HV" link add eth1 type veth peer name eth0 netns "$NS_DIR"
  ip -n "$NS_HV" link set "$TAP" up
  ip -n "$NS_HV" link set eth1 up
  if [[ $KIND == linuxbridge ]]; then
    ip -n "$NS_HV" link add "$BRQ" type bridge stp_state 0 forward_delay 0
    ip -n "$NS_HV" link set "$TAP" master "$BRQ"
    ip -n "$NS_HV" link set eth1 master "$BRQ"
    ip -n "$NS_HV" link set "$BRQ" up
  else
    ovsdb-tool create "$STATE/conf.db" "$OVS_SCHEMA"
    hv env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" OVS_SYSCONFDIR="$STATE" \
      ovsdb-server "$STATE/conf.db" --remote="punix:$STATE/db.sock" --unixctl="$STATE/ovsdb-server.ctl" \
        --pidfile="$STATE/ovsdb-server.pid" --log-file="$STATE/ovsdb-server.log" --detach --no-chdir \
      || { echo "SKIP: ovsdb-server cannot start here" >&2; exit 77; }
    vsctl --no-wait init
    hv env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" OVS_SYSCONFDIR="$STATE" \
      ovs-vswitchd "unix:$STATE/db.sock" --unixctl="$STATE/ovs-vswitchd.ctl" \
        --pidfile="$STATE/ovs-vswitchd.pid" --log-file="$STATE/ovs-vswitchd.log" --detach --no-chdir \
      || { echo "SKIP: ovs-vswitchd cannot start here" >&2; exit 77; }
    vsctl -- add-br br-int -- set bridge br-int datapath_type=netdev fail_mode=secure \
          -- add-br br-ethx -- set bridge br-ethx datapath_type=netdev fail_mode=secure \
          -- add-port br-int "$TAP" \
             -- set interface "$TAP" external_ids:iface-id="$PORT_UUID" external_ids:iface-status=active \
          -- add-port br-int int-br-ethx -- set interface int-br-ethx type=patch options:peer=phy-br-ethx \
          -- add-port br-ethx phy-br-ethx -- set interface phy-br-ethx type=patch options:peer=int-br-ethx \
          -- add-port br-ethx eth1
    # A native-OVS-firewall-like pipeline in br-int (Neutron's table numbers): frames from the
    # uplink go through table 82 (ingress rules): TCP 22 allowed, the rest dropped there.
    ofctl add-flow br-ethx "priority=0,actions=NORMAL"
    ofctl add-flow br-int "table=0,priority=10,in_port=int-br-ethx,actions=resubmit(,82)"
    ofctl add-flow br-int "table=0,priority=0,actions=NORMAL"
    ofctl add-flow br-int "table=82,priority=70,tcp,tp_dst=22,actions=NORMAL"
    ofctl add-flow br-int "table=82,priority=0,actions=drop"
  fi
  # Addresses for `traffic` (director -> VM, static neighbours: no ARP on the path).
  local mac_vm=02:70:74:00:01:20 mac_dir=02:70:74:00:01:01
  ip -n "$NS_VM" link set eth0 address "$mac_vm"
  ip -n "$NS_DIR" link set eth0 address "$mac_dir"
  ip -n "$NS_VM" addr add "$VM_IP/24" dev eth0
  ip -n "$NS_DIR" addr add "$DIR_IP/24" dev eth0
  ip -n "$NS_VM" link set eth0 up
  ip -n "$NS_DIR" link set eth0 up
  ip -n "$NS_DIR" neigh replace "$VM_IP" lladdr "$mac_vm" dev eth0 nud permanent
  ip -n "$NS_VM" neigh replace "$DIR_IP" lladdr "$mac_dir" dev eth0 nud permanent
  trap - EXIT INT TERM
  log "up"
}

env_vars() {
  cat <<EOF
PTVAR_PREFIX=$P
PTVAR_KIND=$KIND
PTVAR_STATE=$STATE
PTVAR_NS_HV=$NS_HV
PTVAR_NS_VM=$NS_VM
PTVAR_PORT_UUID=$PORT_UUID
PTVAR_TAP=$TAP
PTVAR_BRQ=$BRQ
PTVAR_DIR_IP=$DIR_IP
PTVAR_VM_IP=$VM_IP
EOF
  # The points discover must find, VM side first: "LABEL ROLE NETNS IFACE".
  if [[ $KIND == linuxbridge ]]; then
    echo "PTVAR_POINTS='A vm $NS_VM eth0;B tap $NS_HV $TAP;C brq $NS_HV $BRQ;D nic $NS_HV eth1'"
  else
    echo "PTVAR_POINTS='A vm $NS_VM eth0;B tap $NS_HV $TAP;C nic $NS_HV eth1'"
  fi
}

# N IPIP packets (IPIP_COUNT, default 200) director -> VM, as neutron_lab.sh traffic sends them.
traffic() {
  [[ -e /run/netns/$NS_DIR ]] || die "variant is not up"
  ip netns exec "$NS_DIR" python3 "$HERE/send_ipip.py" --count "${IPIP_COUNT:-200}" --rate "${IPIP_RATE:-200}" \
    --outer-src "$DIR_IP" --outer-dst "$VM_IP" --vip "$VIP"
}

case $CMD in
  up) up ;;
  traffic) traffic ;;
  down) down; log "down" ;;
  env) env_vars ;;
  *) echo "usage: $0 up|down|env|traffic ovsfw|linuxbridge [PREFIX]" >&2; exit 2 ;;
esac
