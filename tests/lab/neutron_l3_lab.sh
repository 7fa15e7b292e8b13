#!/usr/bin/env bash
# neutron_l3_lab.sh — a Neutron L3 (floating IP) path, rebuilt in network namespaces: the one
# implementation used by the live L3 tests (l3_live_test.sh) and the corpus NAT sets
# (tests/corpus/make_corpus.sh nat-delivered nat-drop-after-dnat). See docs/lab.md.
#
#   neutron_l3_lab.sh up        [PREFIX]   build the lab (removes leftovers of PREFIX first)
#   neutron_l3_lab.sh down      [PREFIX]   remove everything of PREFIX; safe to call from a trap
#   neutron_l3_lab.sh inventory [PREFIX]   the five points A..E as inventory.toml (VM side first;
#                                          host "local"; PTLAB_INV_HOSTS=names gives vm1/hv1,
#                                          PTLAB_INV_FILES=1 adds file = "LABEL.pcap")
#   neutron_l3_lab.sh env       [PREFIX]   shell variables: namespaces, devices, addresses
#   neutron_l3_lab.sh status    [PREFIX]   what exists; the qrouter's nat table with counters
#   neutron_l3_lab.sh traffic in|out [PREFIX]
#        in:  from the external host to the floating IP: UDP marker, TCP 22 chat, ping, marker
#        out: from the VM to the external host (SNAT to the floating IP): the same, reversed
#        (PING_COUNT 100 at 10 ms, 0 for none; TCP_SECONDS 1.5; 10 marker datagrams to UDP port 9)
#
#  ${P}-ext          ${P}-hv                           ${P}-qrouter                  ${P}-hv              ${P}-vm
#  eth0 ─veth─ eth1 ═ br-ex ═ qgp ─veth─ qg-7a3f0c1e-2b  [DNAT/SNAT]  qr-5c6d7e8f-9a ─veth─ qrp ═ br-int ═ tapd00dfeed-12 ─veth─ eth0
#  198.18.1.1  (E)                      (D) 198.18.1.2            (C) 198.19.0.1                     (B)                 (A) 198.19.0.5
#                                           + floating IP 198.18.1.10/32 ─DNAT→ 198.19.0.5, SNAT back
#
# PREFIX defaults to $PTLAB_PREFIX or "ptl3" and must match [a-z][a-z0-9]{0,7}. Everything the
# lab creates carries it: namespaces ${P}-ext, ${P}-hv, ${P}-qrouter, ${P}-vm and one state dir
# made by `mktemp -d /tmp/pathtrace-l3lab.${P}.XXXXXX` (listener logs). A state-dir name of
# this prefix that is a symlink or not owned by root is never followed, never removed, and
# makes `up` refuse. Nothing is created in the root namespace; addresses are from
# 198.18.0.0/15; neighbours are static (no ARP); IPv6 is off.
#
# Exit codes: 0 ok, 1 failure, 2 usage, 77 the machine cannot run the lab (not root, no netns,
# a tool missing) — ctest treats 77 as SKIP.
set -euo pipefail

readonly PORT_QG="7a3f0c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b"   # fake Neutron router gateway port
readonly PORT_QR="5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"   # fake Neutron router interface port
readonly PORT_VM="d00dfeed-1234-4567-89ab-cdef01234567"   # fake Neutron VM port
readonly QG="qg-${PORT_QG:0:11}" QR="qr-${PORT_QR:0:11}" TAP="tap${PORT_VM:0:11}"
readonly EXT_IP=198.18.1.1 GW_IP=198.18.1.2 FIP=198.18.1.10 EXT_PLEN=24
readonly QR_IP=198.19.0.1 VM_IP=198.19.0.5 INT_PLEN=24
readonly EXT_MAC=02:70:74:01:00:01 QG_MAC=fa:16:3e:00:01:02 QR_MAC=fa:16:3e:00:00:01 VM_MAC=fa:16:3e:00:00:05

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CMD=${1:-}
shift || true
MODE=""
if [[ $CMD == traffic ]]; then MODE=${1:-}; shift || true; fi
P=${1:-${PTLAB_PREFIX:-ptl3}}
[[ $P =~ ^[a-z][a-z0-9]{0,7}$ ]] || { echo "neutron_l3_lab: PREFIX must match [a-z][a-z0-9]{0,7}: '$P'" >&2; exit 2; }
NS_EXT="${P}-ext" NS_HV="${P}-hv" NS_R="${P}-qrouter" NS_VM="${P}-vm"
ALL_NS=("$NS_VM" "$NS_HV" "$NS_R" "$NS_EXT")
STATE_GLOB="/tmp/pathtrace-l3lab.${P}."   # + 6 characters from mktemp

log() { echo "neutron_l3_lab[$P]: $*" >&2; }
die() { log "error: $*"; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# The state dirs of this prefix that are ours: real directories owned by root. Anything else
# with such a name (a symlink, another user's directory) is reported on stderr and skipped;
# returns 1 if there was such a thing.
state_dirs() {
  local d bad=0
  for d in "$STATE_GLOB"??????; do
    [[ -e $d || -L $d ]] || continue
    if [[ -L $d ]]; then
      log "refusing $d: a symlink (not followed, not removed)"; bad=1
    elif [[ ! -d $d ]]; then
      log "refusing $d: not a directory"; bad=1
    elif [[ $(stat -c %u -- "$d") != 0 ]]; then
      log "refusing $d: owned by uid $(stat -c %u -- "$d"), not root (not removed)"; bad=1
    else
      printf '%s\n' "$d"
    fi
  done
  return $bad
}

# The state dir of a running lab (exactly one), or nothing.
state_dir() {
  local ds
  ds=$(state_dirs 2>/dev/null || true)
  [[ $(printf '%s' "$ds" | grep -c .) -eq 1 ]] && printf '%s\n' "$ds"
  return 0
}

preflight() {
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: the L3 lab needs root" >&2; exit 77; }
  local t
  for t in ip iptables tc python3 ping stat mktemp; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
  done
  local probe="${P}-probe"
  ip netns del "$probe" 2>/dev/null || true
  ip netns add "$probe" 2>/dev/null || { echo "SKIP: cannot create network namespaces" >&2; exit 77; }
  ip netns del "$probe"
}

# Remove everything of this prefix. Never fails, never stops half-way: INT/TERM are ignored
# while it runs, every step tolerates what is already gone, so it may run from a trap, twice,
# or after an `up` that died at any line.
lab_down() {
  trap '' INT TERM
  local ns pid sig d
  for sig in TERM KILL; do
    for ns in "${ALL_NS[@]}"; do
      [[ -e /run/netns/$ns ]] || continue
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -"$sig" "$pid" 2>/dev/null || true; done
    done
    [[ $sig == KILL ]] || sleep 0.2
  done
  for ns in "${ALL_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  while IFS= read -r d; do
    [[ -n $d && -d $d && ! -L $d && $d == "$STATE_GLOB"?????? ]] && rm -rf -- "$d"
  done < <(state_dirs || true)
  trap - INT TERM
  return 0
}

ns_init() {  # ns_init NS: lo up, IPv6 off (devices made later inherit the default)
  ip netns add "$1"
  ip -n "$1" link set lo up
  in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# The floating IP as the Neutron L3 agent renders it in the qrouter namespace (iptables
# manager chains of neutron/agent/l3/router_info.py: floating_forward_rules, the router's
# SNAT rules, the mangle marks of traffic entering on the gateway port).
l3_agent_rules() {
  local nat=(in_ns "$NS_R" iptables -w -t nat) mangle=(in_ns "$NS_R" iptables -w -t mangle) c
  for c in PREROUTING OUTPUT POSTROUTING float-snat snat; do "${nat[@]}" -N "neutron-l3-agent-$c"; done
  "${nat[@]}" -N neutron-postrouting-bottom
  "${nat[@]}" -A PREROUTING -j neutron-l3-agent-PREROUTING
  "${nat[@]}" -A OUTPUT -j neutron-l3-agent-OUTPUT
  "${nat[@]}" -A POSTROUTING -j neutron-l3-agent-POSTROUTING
  "${nat[@]}" -A POSTROUTING -j neutron-postrouting-bottom
  "${nat[@]}" -A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." \
    -j neutron-l3-agent-snat
  "${nat[@]}" -A neutron-l3-agent-POSTROUTING ! -i "$QG" ! -o "$QG" -m conntrack ! --ctstate DNAT -j ACCEPT
  "${nat[@]}" -A neutron-l3-agent-snat -j neutron-l3-agent-float-snat
  "${nat[@]}" -A neutron-l3-agent-snat -o "$QG" -j SNAT --to-source "$GW_IP" --random-fully
  "${nat[@]}" -A neutron-l3-agent-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT \
    -j SNAT --to-source "$GW_IP" --random-fully
  # The floating IP: DNAT in, SNAT out (--random-fully, as the agent adds when iptables has it).
  "${nat[@]}" -A neutron-l3-agent-PREROUTING -d "$FIP/32" -j DNAT --to-destination "$VM_IP"
  "${nat[@]}" -A neutron-l3-agent-OUTPUT -d "$FIP/32" -j DNAT --to-destination "$VM_IP"
  "${nat[@]}" -A neutron-l3-agent-float-snat -s "$VM_IP/32" -j SNAT --to-source "$FIP" --random-fully
  # mangle: traffic entering on the gateway port is marked 0x2 (not SNATed to the gateway IP).
  "${mangle[@]}" -N neutron-l3-agent-PREROUTING
  "${mangle[@]}" -N neutron-l3-agent-mark
  "${mangle[@]}" -A PREROUTING -j neutron-l3-agent-PREROUTING
  "${mangle[@]}" -A neutron-l3-agent-PREROUTING -j neutron-l3-agent-mark
  "${mangle[@]}" -A neutron-l3-agent-mark -i "$QG" -j MARK --set-xmark 0x2/0xffff
}

# echo_22 NS IP: from NS, one line to IP's TCP 22 echo listener comes back (2 s at most).
echo_22() {
  in_ns "$1" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/22" && echo up >&3 && read -r l <&3 && [[ $l == up ]]' "$2"
}

lab_up() {
  preflight
  lab_down
  state_dirs >/dev/null || die "refusing to start: a state dir name of prefix $P is taken by something not ours (see above)"
  trap 'rc=$?; trap - EXIT INT TERM; log "up failed (rc=$rc)"; [[ ${PTLAB_KEEP:-0} == 1 ]] || lab_down; exit $rc' EXIT
  trap 'exit 130' INT TERM
  local state
  state=$(mktemp -d "${STATE_GLOB}XXXXXX")   # 0700, root's, new: nothing planted inside

  local ns
  for ns in "${ALL_NS[@]}"; do ns_init "$ns"; done
  # Links, each created inside a namespace with its peer's namespace given at creation.
  ip -n "$NS_EXT" link add eth0 type veth peer name eth1 netns "$NS_HV"
  ip -n "$NS_R" link add "$QG" type veth peer name qgp netns "$NS_HV"
  ip -n "$NS_R" link add "$QR" type veth peer name qrp netns "$NS_HV"
  ip -n "$NS_HV" link add "$TAP" type veth peer name eth0 netns "$NS_VM"
  ip -n "$NS_HV" link add br-ex type bridge stp_state 0 forward_delay 0
  ip -n "$NS_HV" link add br-int type bridge stp_state 0 forward_delay 0
  ip -n "$NS_HV" link set eth1 master br-ex
  ip -n "$NS_HV" link set qgp master br-ex
  ip -n "$NS_HV" link set qrp master br-int
  ip -n "$NS_HV" link set "$TAP" master br-int
  # The bridges only switch: no netfilter on bridged frames in the hypervisor.
  in_ns "$NS_HV" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
  ip -n "$NS_EXT" link set eth0 address "$EXT_MAC"
  ip -n "$NS_R" link set "$QG" address "$QG_MAC"
  ip -n "$NS_R" link set "$QR" address "$QR_MAC"
  ip -n "$NS_VM" link set eth0 address "$VM_MAC"
  ip -n "$NS_EXT" addr add "$EXT_IP/$EXT_PLEN" dev eth0
  ip -n "$NS_R" addr add "$GW_IP/$EXT_PLEN" dev "$QG"
  ip -n "$NS_R" addr add "$FIP/32" dev "$QG"          # the agent adds floating IPs as /32 on qg
  ip -n "$NS_R" addr add "$QR_IP/$INT_PLEN" dev "$QR"
  ip -n "$NS_VM" addr add "$VM_IP/$INT_PLEN" dev eth0
  local d
  for d in eth1 qgp qrp "$TAP" br-ex br-int; do ip -n "$NS_HV" link set "$d" up; done
  ip -n "$NS_EXT" link set eth0 up
  ip -n "$NS_R" link set "$QG" up
  ip -n "$NS_R" link set "$QR" up
  ip -n "$NS_VM" link set eth0 up
  ip -n "$NS_VM" route add default via "$QR_IP"
  in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  # Static neighbours: no ARP on the path, exact counts.
  ip -n "$NS_EXT" neigh replace "$FIP" lladdr "$QG_MAC" dev eth0 nud permanent
  ip -n "$NS_EXT" neigh replace "$GW_IP" lladdr "$QG_MAC" dev eth0 nud permanent
  ip -n "$NS_R" neigh replace "$EXT_IP" lladdr "$EXT_MAC" dev "$QG" nud permanent
  ip -n "$NS_R" neigh replace "$VM_IP" lladdr "$VM_MAC" dev "$QR" nud permanent
  ip -n "$NS_VM" neigh replace "$QR_IP" lladdr "$QR_MAC" dev eth0 nud permanent
  # Complete checksums in software (no ethtool here), so TCP checksums are right in captures.
  in_ns "$NS_EXT" python3 "$HERE/txcsum_off.py" eth0
  in_ns "$NS_VM" python3 "$HERE/txcsum_off.py" eth0
  in_ns "$NS_R" python3 "$HERE/txcsum_off.py" "$QG" "$QR"
  in_ns "$NS_HV" python3 "$HERE/txcsum_off.py" eth1 qgp qrp "$TAP"
  # UDP markers end at port 9 of both ends without an ICMP port-unreachable answer.
  in_ns "$NS_VM" iptables -w -A INPUT -p udp -j DROP
  in_ns "$NS_EXT" iptables -w -A INPUT -p udp -j DROP
  l3_agent_rules

  # TCP 22 echo listeners (not sshd) in the VM and on the external host.
  local who ip
  for who in vm ext; do
    if [[ $who == vm ]]; then ns=$NS_VM ip=$VM_IP; else ns=$NS_EXT ip=$EXT_IP; fi
    in_ns "$ns" python3 "$HERE/tcp_chatter.py" serve --bind "$ip" --port 22 </dev/null >"$state/$who-listener.log" 2>&1 &
    for _ in $(seq 100); do
      echo_22 "$ns" "$ip" 2>/dev/null && break
      sleep 0.1
    done
  done
  # The path works both ways through the NAT, or `up` fails.
  echo_22 "$NS_EXT" "$FIP" || die "TCP 22 external host -> floating IP $FIP does not reach the VM (see $state/*.log)"
  echo_22 "$NS_VM" "$EXT_IP" || die "TCP 22 VM -> external host $EXT_IP does not work through the router"
  echo "prefix=$P" >"$state/lab"
  trap - EXIT INT TERM
  log "up: $NS_EXT ($EXT_IP) -> $NS_HV br-ex -> $NS_R ($QG $FIP DNAT -> $VM_IP, $QR) -> $NS_HV br-int -> $NS_VM ($VM_IP); state in $state"
}

lab_status() {
  local ok=0 ns
  for ns in "${ALL_NS[@]}"; do
    if [[ -e /run/netns/$ns ]]; then echo "netns $ns: present"; else echo "netns $ns: missing"; ok=1; fi
  done
  echo "state: $(state_dir)"
  if [[ $ok -eq 0 ]]; then
    in_ns "$NS_R" iptables -w -t nat -nvxL neutron-l3-agent-PREROUTING
    in_ns "$NS_R" iptables -w -t nat -nvxL neutron-l3-agent-float-snat
  fi
  return $ok
}

lab_env() {
  cat <<EOF
PTL3_PREFIX=$P
PTL3_STATE=$(state_dir)
PTL3_NS_EXT=$NS_EXT
PTL3_NS_HV=$NS_HV
PTL3_NS_QROUTER=$NS_R
PTL3_NS_VM=$NS_VM
PTL3_QG=$QG
PTL3_QR=$QR
PTL3_TAP=$TAP
PTL3_EXT_IP=$EXT_IP
PTL3_GW_IP=$GW_IP
PTL3_FIP=$FIP
PTL3_QR_IP=$QR_IP
PTL3_VM_IP=$VM_IP
EOF
}

lab_inventory() {
  local vm1=local hv1=local
  [[ ${PTLAB_INV_HOSTS:-local} == names ]] && { vm1=vm1; hv1=hv1; }
  local pts=("A vm $vm1 eth0 $NS_VM" "B tap $hv1 $TAP $NS_HV" "C qr $hv1 $QR $NS_R"
             "D qg $hv1 $QG $NS_R" "E nic $hv1 eth1 $NS_HV")
  local pt label role host ifc ns
  echo "# floating IP $FIP → fixed IP $VM_IP through a Neutron-style qrouter namespace; VM side first (L3 lab '$P')"
  for pt in "${pts[@]}"; do
    read -r label role host ifc ns <<<"$pt"
    printf '\n[[point]]\nlabel = "%s"\nrole = "%s"\nhost = "%s"\niface = "%s"\nnetns = "%s"\n' \
      "$label" "$role" "$host" "$ifc" "$ns"
    [[ ${PTLAB_INV_FILES:-0} == 1 ]] && printf 'file = "%s.pcap"\n' "$label"
  done
  return 0
}

# markers NS DST: 10 UDP datagrams to DST:9 at 20/s, each payload starting with its index.
markers() {
  in_ns "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9))
for i in range(10):
    s.send(b"%08d pathtrace L3 lab marker" % i)
    time.sleep(0.05)
' "$2"
}

lab_traffic() {
  local from to
  case $MODE in
    in) from=$NS_EXT to=$FIP ;;
    out) from=$NS_VM to=$EXT_IP ;;
    *) echo "usage: $0 traffic in|out [PREFIX]" >&2; exit 2 ;;
  esac
  [[ -e /run/netns/$from ]] || die "lab is not up"
  markers "$from" "$to"
  in_ns "$from" python3 "$HERE/tcp_chatter.py" talk --to "$to" --port 22 --interval 0.1 \
    --duration "${TCP_SECONDS:-1.5}" </dev/null &
  local talk=$!
  if [[ ${PING_COUNT:-100} -gt 0 ]]; then
    in_ns "$from" ping -q -n -c "${PING_COUNT:-100}" -i 0.01 -W 1 "$to" || true
  else
    sleep "${TCP_SECONDS:-1.5}"
  fi
  wait "$talk" || die "the TCP 22 conversation $from -> $to failed"
  markers "$from" "$to"
}

case $CMD in
  up) lab_up ;;
  down) lab_down; log "down" ;;
  status) lab_status ;;
  env) lab_env ;;
  inventory) lab_inventory ;;
  traffic) lab_traffic ;;
  *) echo "usage: $0 up|down|status|env|inventory|traffic in|out [PREFIX]" >&2; exit 2 ;;
esac
