#!/usr/bin/env bash
# neutron_lab.sh — the INCIDENT.md hypervisor path, rebuilt in network namespaces.
#
#   neutron_lab.sh up     [PREFIX]   build the lab (removes leftovers of PREFIX first)
#   neutron_lab.sh down   [PREFIX]   remove namespaces, OVS daemons, temp dir
#   neutron_lab.sh status [PREFIX]   show what exists; exit 0 if the lab is up
#   neutron_lab.sh fix    [PREFIX]   add the security-group rule for IP protocol 4
#   neutron_lab.sh break  [PREFIX]   remove it again (the state of the incident)
#   neutron_lab.sh env    [PREFIX]   print shell variables describing the lab
#   neutron_lab.sh inventory [PREFIX] print a live inventory.toml (points A..G, no files,
#                                    host "local"; PTLAB_INV_HOSTS=names for vm1/hv1)
#   neutron_lab.sh traffic [PREFIX]  the incident's traffic without capturing: TCP 22 chat
#                                    around IPIP_COUNT (200) IPIP packets at IPIP_RATE (100/s)
#
# PREFIX defaults to $PTLAB_PREFIX or "ptlab". Everything the lab creates carries it:
# namespaces ${P}-dir, ${P}-hv, ${P}-vm and the state dir /tmp/pathtrace-lab.${P}
# (OVS database, sockets, pid files, logs). Nothing is created in the root namespace.
#
#  ${P}-dir            ${P}-hv                                                     ${P}-vm
#  eth0 ─veth─ eth1 ═ br-ethx ═ phy-br-ethx ─veth─ int-br-ethx ═ br-int ═ qvo…─veth─qvb… ─ qbr… ─ tap… ─veth─ eth0
#  .0.1      (G, tag=100)     (F, trunk: 100 in/1 out) (trunk)     (E, tag=1)  (D)     (C)   (B)          (A) .0.20
#
# Exit codes: 0 ok, 1 failure, 2 usage, 77 the machine cannot run the lab (not root,
# no netns, no OVS) — ctest treats 77 as SKIP.
set -euo pipefail

readonly PORT_UUID="bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d"   # fake Neutron port id
readonly DEV="${PORT_UUID:0:11}"                              # bdd1f2c3-bd  (device suffix)
readonly CH="${PORT_UUID:0:10}"                               # bdd1f2c3-b   (chain suffix)
readonly TAP="tap${DEV}" QBR="qbr${DEV}" QVB="qvb${DEV}" QVO="qvo${DEV}"
readonly VLAN=100 LOCAL_VLAN=1                             # provider vid, br-int local vid
readonly DIR_IP=198.18.0.1 VM_IP=198.18.0.20 VIP=198.18.0.100 PLEN=24
readonly DIR_MAC=02:70:74:00:00:01 VM_MAC=02:70:74:00:00:20
readonly OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CMD=${1:-}
P=${2:-${PTLAB_PREFIX:-ptlab}}
[[ $P =~ ^[a-z][a-z0-9]{0,7}$ ]] || { echo "neutron_lab: PREFIX must match [a-z][a-z0-9]{0,7}: '$P'" >&2; exit 2; }
NS_DIR="${P}-dir" NS_HV="${P}-hv" NS_VM="${P}-vm"
STATE="/tmp/pathtrace-lab.${P}"
. "$HERE/state_dir.sh"

log() { echo "neutron_lab[$P]: $*" >&2; }
die() { log "error: $*"; exit 1; }
hv() { ip netns exec "$NS_HV" "$@"; }
vm() { ip netns exec "$NS_VM" "$@"; }
dir() { ip netns exec "$NS_DIR" "$@"; }
ovs_env() { env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" OVS_SYSCONFDIR="$STATE" "$@"; }
vsctl() { hv env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" ovs-vsctl --db="unix:$STATE/db.sock" --timeout=10 "$@"; }
ofctl() { hv env OVS_RUNDIR="$STATE" ovs-ofctl "$@"; }

# Exit 77 with a reason when this machine cannot host the lab.
preflight() {
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: the lab needs root" >&2; exit 77; }
  local t
  for t in ip iptables ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ovsdb-tool python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
  done
  [[ -r $OVS_SCHEMA ]] || { echo "SKIP: OVS schema $OVS_SCHEMA missing" >&2; exit 77; }
  [[ -c /dev/net/tun ]] || { echo "SKIP: /dev/net/tun missing (OVS netdev bridges need it)" >&2; exit 77; }
  local probe="${P}-probe"
  ip netns del "$probe" 2>/dev/null || true
  ip netns add "$probe" 2>/dev/null || { echo "SKIP: cannot create network namespaces" >&2; exit 77; }
  ip netns del "$probe"
}

# Kill daemons by their pid files (never by name), all at once, and wait for them.
kill_pidfiles() {
  local f pid pids=()
  for f in "$@"; do
    [[ -r $f ]] || continue
    pid=$(<"$f")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# Kill every process still inside one of our namespaces (listeners, tcpdumps), by pid.
kill_ns_procs() {
  local ns pid
  for ns in "$NS_DIR" "$NS_HV" "$NS_VM"; do
    [[ -e /run/netns/$ns ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  done
  sleep 0.2
  for ns in "$NS_DIR" "$NS_HV" "$NS_VM"; do
    [[ -e /run/netns/$ns ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
}

lab_down() {
  kill_pidfiles "$STATE/ovs-vswitchd.pid" "$STATE/ovsdb-server.pid" "$STATE/vm-listener.pid"
  kill_ns_procs
  local ns
  for ns in "$NS_VM" "$NS_HV" "$NS_DIR"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  # Guard the rm: only ever our own state dir.
  [[ $STATE == /tmp/pathtrace-lab.* ]] && state_dir_remove "$STATE"
}

# Namespace basics: lo up, no IPv6, no martian chatter.
ns_init() {
  local ns=$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

iptables_sg() {
  # Neutron iptables hybrid firewall for one port (openvswitch agent, iptables_hybrid driver).
  hv iptables -w -N neutron-openvswi-FORWARD
  hv iptables -w -N neutron-openvswi-sg-chain
  hv iptables -w -N "neutron-openvswi-i${CH}"
  hv iptables -w -N "neutron-openvswi-o${CH}"
  hv iptables -w -N neutron-openvswi-sg-fallback
  hv iptables -w -A FORWARD -j neutron-openvswi-FORWARD
  hv iptables -w -A neutron-openvswi-FORWARD -m physdev --physdev-out "$TAP" --physdev-is-bridged \
     -m comment --comment "Direct traffic from the VM interface to the security group chain." -j neutron-openvswi-sg-chain
  hv iptables -w -A neutron-openvswi-FORWARD -m physdev --physdev-in "$TAP" --physdev-is-bridged \
     -m comment --comment "Direct traffic from the VM interface to the security group chain." -j neutron-openvswi-sg-chain
  hv iptables -w -A neutron-openvswi-sg-chain -m physdev --physdev-out "$TAP" --physdev-is-bridged \
     -m comment --comment "Jump to the VM specific chain." -j "neutron-openvswi-i${CH}"
  hv iptables -w -A neutron-openvswi-sg-chain -m physdev --physdev-in "$TAP" --physdev-is-bridged \
     -m comment --comment "Jump to the VM specific chain." -j "neutron-openvswi-o${CH}"
  hv iptables -w -A neutron-openvswi-sg-chain -j ACCEPT
  hv iptables -w -A "neutron-openvswi-i${CH}" -m state --state RELATED,ESTABLISHED \
     -m comment --comment "Direct packets associated with a known session to the RETURN chain." -j RETURN
  hv iptables -w -A "neutron-openvswi-i${CH}" -m state --state INVALID \
     -m comment --comment "Drop packets that appear related to an existing connection (e.g. TCP ACK/FIN) but do not have an entry in conntrack." -j DROP
  hv iptables -w -A "neutron-openvswi-i${CH}" -p tcp -m tcp --dport 22 -j RETURN
  hv iptables -w -A "neutron-openvswi-i${CH}" \
     -m comment --comment "Send unmatched traffic to the fallback chain." -j neutron-openvswi-sg-fallback
  hv iptables -w -A "neutron-openvswi-o${CH}" -j RETURN
  hv iptables -w -A neutron-openvswi-sg-fallback \
     -m comment --comment "default drop rule for unmatched traffic" -j DROP
}

lab_up() {
  preflight
  lab_down
  # PTLAB_KEEP=1 keeps a half-built lab for debugging.
  trap 'rc=$?; trap - EXIT INT TERM; log "up failed (rc=$rc)"; [[ ${PTLAB_KEEP:-0} == 1 ]] || lab_down; exit $rc' EXIT
  trap 'exit 130' INT TERM
  state_dir_create "$STATE" || exit 1

  ns_init "$NS_DIR"; ns_init "$NS_HV"; ns_init "$NS_VM"
  hv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

  # --- links, all created inside the namespaces (peer netns given at creation) ---
  ip -n "$NS_DIR" link add eth0 type veth peer name eth1 netns "$NS_HV"
  ip -n "$NS_HV" link add phy-br-ethx type veth peer name int-br-ethx
  ip -n "$NS_HV" link add "$QVB" type veth peer name "$QVO"
  ip -n "$NS_HV" link add "$TAP" type veth peer name eth0 netns "$NS_VM"
  ip -n "$NS_HV" link add "$QBR" type bridge stp_state 0 forward_delay 0
  ip -n "$NS_HV" link set "$QVB" master "$QBR"
  ip -n "$NS_HV" link set "$TAP" master "$QBR"
  local d
  for d in eth1 phy-br-ethx int-br-ethx "$QVB" "$QVO" "$TAP" "$QBR"; do
    hv sysctl -qw "net.ipv6.conf.${d}.disable_ipv6=1" 2>/dev/null || true
    ip -n "$NS_HV" link set "$d" up
  done

  ip -n "$NS_DIR" link set eth0 address "$DIR_MAC"
  ip -n "$NS_VM" link set eth0 address "$VM_MAC"
  ip -n "$NS_DIR" addr add "$DIR_IP/$PLEN" dev eth0
  ip -n "$NS_VM" addr add "$VM_IP/$PLEN" dev eth0
  ip -n "$NS_DIR" link set eth0 up
  ip -n "$NS_VM" link set eth0 up
  # Static neighbours: no ARP on the path, exact counts.
  ip -n "$NS_DIR" neigh replace "$VM_IP" lladdr "$VM_MAC" dev eth0 nud permanent
  ip -n "$NS_VM" neigh replace "$DIR_IP" lladdr "$DIR_MAC" dev eth0 nud permanent
  # (Not `arp off`: with IFF_NOARP the kernel puts the device's own MAC as destination.)
  # Complete checksums in software (no ethtool here): see txcsum_off.py.
  dir python3 "$HERE/txcsum_off.py" eth0
  vm python3 "$HERE/txcsum_off.py" eth0
  hv python3 "$HERE/txcsum_off.py" eth1 phy-br-ethx int-br-ethx "$QVO" "$QVB" "$TAP"
  # The VM kernel must not answer IPIP with ICMP "protocol unreachable" (A captures before INPUT).
  vm iptables -w -A INPUT -p 4 -j DROP

  # --- OVS, userspace datapath, private daemons in the hypervisor namespace ---
  ovsdb-tool create "$STATE/conf.db" "$OVS_SCHEMA"
  hv env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" OVS_SYSCONFDIR="$STATE" \
    ovsdb-server "$STATE/conf.db" --remote="punix:$STATE/db.sock" --unixctl="$STATE/ovsdb-server.ctl" \
      --pidfile="$STATE/ovsdb-server.pid" --log-file="$STATE/ovsdb-server.log" --detach --no-chdir 2>>"$STATE/daemon-start.log" \
    || { cat "$STATE/daemon-start.log" >&2; echo "SKIP: ovsdb-server cannot start here" >&2; exit 77; }
  vsctl --no-wait init
  vsctl --no-wait set Open_vSwitch . other_config:hw-offload=false
  hv env OVS_RUNDIR="$STATE" OVS_DBDIR="$STATE" OVS_LOGDIR="$STATE" OVS_SYSCONFDIR="$STATE" \
    ovs-vswitchd "unix:$STATE/db.sock" --unixctl="$STATE/ovs-vswitchd.ctl" \
      --pidfile="$STATE/ovs-vswitchd.pid" --log-file="$STATE/ovs-vswitchd.log" --detach --no-chdir 2>>"$STATE/daemon-start.log" \
    || { cat "$STATE/daemon-start.log" >&2; echo "SKIP: ovs-vswitchd cannot start here" >&2; exit 77; }

  vsctl -- add-br br-ethx -- set bridge br-ethx datapath_type=netdev fail_mode=standalone \
        -- add-br br-int  -- set bridge br-int  datapath_type=netdev fail_mode=standalone
  # VLANs as the Neutron openvswitch agent does them for a provider network:
  #  - br-int tags the VM's port with a LOCAL vlan (qvo… tag=1);
  #  - the interconnect veth is a trunk between the two bridges;
  #  - br-ethx rewrites local 1 -> provider 100 on the way out, br-int rewrites
  #    provider 100 -> local 1 on the way in (mod_vlan_vid flows, then NORMAL);
  #  - eth1 is an access port of VLAN 100 here, because the director (a namespace
  #    without VLAN sub-interfaces) speaks untagged: the wire at G is untagged.
  # So at F (phy-br-ethx) frames carry 802.1Q inline: vid 100 towards the VM,
  # vid 1 from the VM.
  vsctl -- add-port br-ethx eth1 -- set port eth1 tag=$VLAN \
        -- add-port br-ethx phy-br-ethx -- set interface phy-br-ethx ofport_request=2 \
        -- add-port br-int int-br-ethx -- set interface int-br-ethx ofport_request=1 \
        -- add-port br-int "$QVO" -- set port "$QVO" tag=$LOCAL_VLAN \
           -- set interface "$QVO" external_ids:iface-id="$PORT_UUID" \
              external_ids:attached-mac="$VM_MAC" external_ids:iface-status=active
  ofctl add-flow br-ethx "priority=4,in_port=phy-br-ethx,dl_vlan=$LOCAL_VLAN,actions=mod_vlan_vid:$VLAN,NORMAL"
  ofctl add-flow br-ethx "priority=2,in_port=phy-br-ethx,actions=drop"
  ofctl add-flow br-int "priority=3,in_port=int-br-ethx,dl_vlan=$VLAN,actions=mod_vlan_vid:$LOCAL_VLAN,NORMAL"
  ofctl add-flow br-int "priority=2,in_port=int-br-ethx,actions=drop"
  # The bridges' own internal ports stay down: nothing on the path but the lab's frames.
  local b
  for b in br-ethx br-int; do
    ip -n "$NS_HV" link set "$b" down 2>/dev/null || true
  done
  wait_ovs_ports

  # --- br_netfilter: bridged frames on qbr go through iptables FORWARD (per namespace) ---
  hv sysctl -qw net.bridge.bridge-nf-call-iptables=1
  hv sysctl -qw net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
  [[ $(hv cat /proc/sys/net/bridge/bridge-nf-call-iptables) == 1 ]] || die "bridge-nf-call-iptables did not stick in $NS_HV"
  iptables_sg
  lab_break

  # Tiny TCP listener in the VM on port 22 (not sshd: an echo), kept by pid file.
  ip netns exec "$NS_VM" sh -c 'exec "$0" "$1" serve --bind "$2" --port 22 </dev/null >"$3" 2>&1' \
     python3 "$HERE/tcp_chatter.py" "$VM_IP" "$STATE/vm-listener.log" &
  echo $! >"$STATE/vm-listener.pid"
  for _ in $(seq 50); do
    vm python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('$VM_IP',22)))" 2>/dev/null \
      && break
    sleep 0.1
  done
  dir python3 -c "import socket,sys; s=socket.socket(); s.settimeout(2); s.connect(('$VM_IP',22)); s.sendall(b'ping\n'); sys.exit(0 if s.recv(16) else 1)" \
    || die "TCP 22 director -> VM does not work through the lab path (see $STATE/*.log)"
  trap - EXIT INT TERM
  log "up: $NS_DIR ($DIR_IP) -> $NS_HV (eth1 … $TAP) -> $NS_VM ($VM_IP); state in $STATE; security group: broken"
}

wait_ovs_ports() {
  local p
  for p in eth1 phy-br-ethx int-br-ethx "$QVO"; do
    for _ in $(seq 50); do
      [[ $(vsctl get interface "$p" ofport 2>/dev/null) =~ ^[1-9][0-9]*$ ]] && break
      sleep 0.1
    done
    [[ $(vsctl get interface "$p" ofport) =~ ^[1-9][0-9]*$ ]] || die "OVS did not attach $p (see $STATE/ovs-vswitchd.log)"
  done
}

FIX_RULE=(-p 4 -j RETURN)
lab_fix() {
  if ! hv iptables -w -C "neutron-openvswi-i${CH}" "${FIX_RULE[@]}" 2>/dev/null; then
    # Before the fallback jump (the last rule), as Neutron renders a new ingress rule.
    local n
    n=$(hv iptables -w -S "neutron-openvswi-i${CH}" | grep -c '^-A ')
    hv iptables -w -I "neutron-openvswi-i${CH}" "$n" "${FIX_RULE[@]}"
  fi
  log "security group: fixed (-A neutron-openvswi-i${CH} -p 4 -j RETURN)"
}
lab_break() {
  while hv iptables -w -C "neutron-openvswi-i${CH}" "${FIX_RULE[@]}" 2>/dev/null; do
    hv iptables -w -D "neutron-openvswi-i${CH}" "${FIX_RULE[@]}"
  done
  log "security group: broken (no rule for protocol 4)"
}

lab_status() {
  local ok=0 ns
  for ns in "$NS_DIR" "$NS_HV" "$NS_VM"; do
    if [[ -e /run/netns/$ns ]]; then echo "netns $ns: present"; else echo "netns $ns: missing"; ok=1; fi
  done
  local f pid
  for f in ovsdb-server ovs-vswitchd vm-listener; do
    pid=$(cat "$STATE/$f.pid" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then echo "$f: running (pid $pid)"; else echo "$f: not running"; ok=1; fi
  done
  if [[ $ok -eq 0 ]]; then
    vsctl show
    hv iptables -w -nvxL "neutron-openvswi-i${CH}"
    if hv iptables -w -C "neutron-openvswi-i${CH}" "${FIX_RULE[@]}" 2>/dev/null; then
      echo "security group: fixed"; else echo "security group: broken"; fi
  fi
  return $ok
}

lab_env() {
  cat <<EOF
PTLAB_PREFIX=$P
PTLAB_STATE=$STATE
PTLAB_NS_DIR=$NS_DIR
PTLAB_NS_HV=$NS_HV
PTLAB_NS_VM=$NS_VM
PTLAB_PORT_UUID=$PORT_UUID
PTLAB_TAP=$TAP
PTLAB_QBR=$QBR
PTLAB_QVB=$QVB
PTLAB_QVO=$QVO
PTLAB_VLAN=$VLAN
PTLAB_LOCAL_VLAN=$LOCAL_VLAN
PTLAB_DIR_IP=$DIR_IP
PTLAB_VM_IP=$VM_IP
PTLAB_VIP=$VIP
PTLAB_DIR_MAC=$DIR_MAC
PTLAB_VM_MAC=$VM_MAC
EOF
}

lab_inventory() {
  # Live points are all on this machine: host "local" (PTLAB_INV_HOSTS=names gives vm1/hv1).
  local vm1=local hv1=local
  [[ ${PTLAB_INV_HOSTS:-local} == names ]] && { vm1=vm1; hv1=hv1; }
  local pts=("A vm $vm1 $NS_VM eth0" "B tap $hv1 $NS_HV $TAP" "C qbr $hv1 $NS_HV $QBR" "D qvb $hv1 $NS_HV $QVB"
             "E qvo $hv1 $NS_HV $QVO" "F br-ethx $hv1 $NS_HV phy-br-ethx" "G nic $hv1 $NS_HV eth1")
  local pt label role host ns ifc
  echo "# Neutron hybrid-firewall path of port ${PORT_UUID}, VM side first (live lab '$P')."
  for pt in "${pts[@]}"; do
    read -r label role host ns ifc <<<"$pt"
    printf '\n[[point]]\nlabel = "%s"\nrole = "%s"\nhost = "%s"\niface = "%s"\nnetns = "%s"\n' \
      "$label" "$role" "$host" "$ifc" "$ns"
  done
}

lab_traffic() {
  lab_status >/dev/null 2>&1 || die "lab is not up"
  ip netns exec "$NS_DIR" python3 "$HERE/tcp_chatter.py" talk --to "$VM_IP" --port 22 --interval 0.2 --duration 3600 </dev/null &
  local talk=$!
  sleep "${TCP_LEAD:-0.7}"
  dir python3 "$HERE/send_ipip.py" --count "${IPIP_COUNT:-200}" --rate "${IPIP_RATE:-100}" \
    --outer-src "$DIR_IP" --outer-dst "$VM_IP" --vip "$VIP"
  sleep "${TCP_TAIL:-0.5}"
  kill -TERM "$talk"
  wait "$talk"
}

case $CMD in
  up) lab_up ;;
  down) lab_down; log "down" ;;
  status) lab_status ;;
  fix) lab_fix ;;
  break) lab_break ;;
  env) lab_env ;;
  inventory) lab_inventory ;;
  traffic) lab_traffic ;;
  *) echo "usage: $0 up|down|status|fix|break|env|inventory|traffic [PREFIX]" >&2; exit 2 ;;
esac
