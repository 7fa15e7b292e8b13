#!/usr/bin/env bash
# make_corpus.sh — record the verdict corpus in network namespaces (root).
#
#   tests/corpus/make_corpus.sh            every set
#   tests/corpus/make_corpus.sh NAME...    only those sets (see `make_corpus.sh --list`)
#
# Every set is recorded here and now: real packets, sent in namespaces, captured with tcpdump
# (dumpcap for the one capture-loss case) at several points at once. Never synthesised by
# pathtrace. A few "messy variants" are made by post-processing a real recording with a small
# named tool from tests/corpus/tools/ (timestamps shifted, link type rewritten, the inventory
# given in the wrong order or naming one file twice): the packets stay the recorded ones.
#
# Each set lands in tests/corpus/sets/NAME/: the capture files (A.pcap …), inventory.toml
# (points in path order, VM side first), expected.toml (the verdict as data: what is TRUE
# about the recorded traffic, from what was dropped where and from tcpdump's own counts) and
# capture.txt (what was sent, how each point was captured, tcpdump's counters).
#
# Hygiene: every namespace is named ${P}-… with P = $PTC_PREFIX or "ptc" + 4 random hex digits;
# the Neutron lab (tests/lab/neutron_lab.sh, used as is) and the Neutron L3 lab of the NAT sets
# (tests/lab/neutron_l3_lab.sh, its state in its own mktemp -d dir) get the same prefix; OVS
# daemons run inside a lab namespace with their state under a mktemp -d work dir. Leftovers of the same
# prefix are removed first, and a trap removes everything on success, failure and Ctrl-C.
# Nothing is created or changed in the root namespace; addresses are from 198.18.0.0/15 and
# 2001:db8::/32; neighbours are static; IPv6 is off except in the IPv6 case.
# Loss is emulated with tc clsact classic-BPF filters (tools/tc_bpf.py): no netem here.
#
# Exit: 0 ok, 1 failure, 2 usage, 77 this machine cannot run it (not root, tools missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB="$ROOT/tests/lab"
TOOLS="$HERE/tools"
SETS="$HERE/sets"

ALL_CASES=(
  incident-broken incident-fixed
  unfiltered-later-tcp unfiltered-host-filter
  skew-vm-ahead-500ms-fixed skew-vm-behind-500ms-fixed skew-vm-behind-500ms-broken
  skew-vm-ahead-30s-fixed skew-vm-ahead-30s-broken
  nat-delivered nat-drop-after-dnat
  linktype-raw-nic linktype-sll-mid
  vlan-blind-filter vlan-blind-entry
  same-file-two-points single-point snaplen-64-nic
  short-burst-fixed short-burst-broken lvs-partial-loss
  both-directions-ping ipv6-udp-loss vxlan-two-hosts vxlan-port-8472
  gso-aggregates icmp-flood-id0 any-iface-duplicates ovs-mtu-large-loss
  wrong-order mtu-large-loss late-start-vm early-stop-mid
  random-loss-10pct capture-drop idle-iface wrong-interface
)

usage() { echo "usage: $0 [--list] [NAME...]" >&2; exit 2; }
if [[ ${1:-} == --list ]]; then printf '%s\n' "${ALL_CASES[@]}"; exit 0; fi
if [[ ${1:-} == -* ]]; then usage; fi
CASES=("$@")
[[ ${#CASES[@]} -gt 0 ]] || CASES=("${ALL_CASES[@]}")
for c in "${CASES[@]}"; do
  [[ " ${ALL_CASES[*]} " == *" $c "* ]] || { echo "make_corpus: unknown set '$c' (try --list)" >&2; exit 2; }
done

[[ $(id -u) -eq 0 ]] || { echo "SKIP: make_corpus.sh needs root (network namespaces)" >&2; exit 77; }
for t in ip tc tcpdump dumpcap iptables ip6tables ping python3 ovsdb-server ovs-vswitchd ovs-vsctl ovsdb-tool; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed" >&2; exit 77; }
done

P=${PTC_PREFIX:-ptc$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')}
[[ $P =~ ^[a-z][a-z0-9]{0,6}$ ]] || { echo "make_corpus: PTC_PREFIX must match [a-z][a-z0-9]{0,6}: '$P'" >&2; exit 2; }

log() { echo "make_corpus[$P]: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup ---------------------
WORK=""
NL_UP=0
declare -A CAP_PID=()

my_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep "^${P}-" || true; }

# Kill every process inside our namespaces (tcpdumps, OVS daemons, senders), by pid.
kill_ns_procs() {
  local ns pid sig
  for sig in TERM KILL; do
    for ns in $(my_netns); do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -"$sig" "$pid" 2>/dev/null || true; done
    done
    if [[ $sig == TERM ]]; then sleep 0.3; fi
  done
}

teardown_all() {
  local l pid ns
  for l in "${!CAP_PID[@]}"; do kill -INT "${CAP_PID[$l]}" 2>/dev/null || true; done
  "$LAB/neutron_lab.sh" down "$P" >/dev/null 2>&1 || true
  "$LAB/neutron_l3_lab.sh" down "$P" >/dev/null 2>&1 || true
  kill_ns_procs
  for ns in $(my_netns); do ip netns del "$ns" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  teardown_all
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ $rc -ne 0 && ${PTC_KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf -- "$WORK"; fi
  fi
  [[ $rc -eq 0 ]] || log "failed (rc=$rc)"
  exit "$rc"
}

log "removing leftovers of prefix $P"
teardown_all
WORK=$(mktemp -d /tmp/ptcorpus.XXXXXX)
trap on_exit EXIT
trap 'exit 130' INT TERM
mkdir -p "$SETS"

# ---------------------------------------------------------------- helpers ---------------------
CUR=""        # work directory of the set being recorded

set_begin() {  # set_begin NAME "one line: what was recorded"
  CUR="$WORK/sets/$1"
  rm -rf "$CUR"
  mkdir -p "$CUR"
  CAP_PID=()
  { echo "# $1 — recorded by tests/corpus/make_corpus.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# kernel $(uname -r), $(tcpdump --version 2>&1 | head -1)"
    echo "$2"; echo; } >"$CUR/capture.txt"
  : >"$CUR/inventory.toml"
}

note() { echo "$*" >>"$CUR/capture.txt"; }

set_end() {  # set_end NAME: move the finished set into tests/corpus/sets/NAME
  local name=$1 f
  for f in "$CUR"/*.tcpdump.log; do rm -f "$f"; done
  rm -rf "${SETS:?}/$name"
  mv "$CUR" "$SETS/$name"
  chmod -R a+rX "$SETS/$name"
  log "set $name: $(du -sk "$SETS/$name" | cut -f1) KiB"
  CUR=""
}

# wait_listening LABEL: until tcpdump/dumpcap says it is capturing
wait_listening() {
  local label=$1 i
  for i in $(seq 200); do
    grep -qE 'listening on|Capturing on' "$CUR/$label.tcpdump.log" 2>/dev/null && return 0
    kill -0 "${CAP_PID[$label]}" 2>/dev/null || break
    sleep 0.05
    : "$i"
  done
  cat "$CUR/$label.tcpdump.log" >&2 || true
  die "point $label: capture did not start"
}

# cap LABEL NETNS IFACE [FILTER...]   tcpdump at one point, into $CUR/LABEL.pcap
#   env SNAP: snapshot length (default 128: headers, tunnels and the digest's payload bytes fit)
cap() {
  local label=$1 ns=$2 ifc=$3
  shift 3
  local snap=${SNAP:-128}
  ip netns exec "$ns" tcpdump -i "$ifc" -U --immediate-mode -n -s "$snap" -Z root \
    -w "$CUR/$label.pcap" "$@" </dev/null >"$CUR/$label.tcpdump.log" 2>&1 &
  CAP_PID[$label]=$!
  wait_listening "$label"
  note "point $label: tcpdump -i $ifc (netns $ns) -U --immediate-mode -s $snap${*:+ '$*'} -w $label.pcap"
}

# cap_dumpcap LABEL NETNS IFACE BUFFER_MIB   dumpcap (pcapng, interface statistics at the end)
cap_dumpcap() {
  local label=$1 ns=$2 ifc=$3 buf=$4
  ip netns exec "$ns" dumpcap -i "$ifc" -B "$buf" -s 128 -w "$CUR/$label.pcapng" \
    </dev/null >"$CUR/$label.tcpdump.log" 2>&1 &
  CAP_PID[$label]=$!
  wait_listening "$label"
  note "point $label: dumpcap -i $ifc (netns $ns) -B $buf -s 128 -w $label.pcapng"
}

uncap() {  # uncap LABEL...: stop those captures (SIGINT) and log their counters
  local l
  for l in "$@"; do kill -INT "${CAP_PID[$l]}" 2>/dev/null || true; done
  for l in "$@"; do
    wait "${CAP_PID[$l]}" 2>/dev/null || true
    unset "CAP_PID[$l]"
    grep -E 'packets (captured|received by filter|dropped by kernel)|received/dropped' "$CUR/$l.tcpdump.log" \
      | sed "s/^/point $l: /" >>"$CUR/capture.txt" || true
  done
}

uncap_all() { local ls=("${!CAP_PID[@]}"); [[ ${#ls[@]} -eq 0 ]] || uncap "${ls[@]}"; }

# inv LABEL ROLE HOST IFACE NETNS [FILE]: one [[point]] of $CUR/inventory.toml (path order!)
inv() {
  local file=${6:-$1.pcap}
  if [[ -s $CUR/inventory.toml ]]; then echo >>"$CUR/inventory.toml"; fi
  printf '[[point]]\nlabel = "%s"\nrole = "%s"\nhost = "%s"\niface = "%s"\nnetns = "%s"\nfile = "%s"\n' \
    "$1" "$2" "$3" "$4" "$5" "$file" >>"$CUR/inventory.toml"
}
inv_header() { echo "# $*" >>"$CUR/inventory.toml"; }

npk() {  # npk FILE [FILTER...]: frames in FILE (matching the filter), as tcpdump counts them
  local f=$1
  shift
  tcpdump -n -r "$f" --count "$@" 2>/dev/null | awk '/packets?$/ {print $1}'
}

ns_new() {  # ns_new NAME...: ${P}-NAME with lo up and IPv6 off
  local n
  for n in "$@"; do
    ip netns add "${P}-$n"
    ip -n "${P}-$n" link set lo up
    ip netns exec "${P}-$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
}

ns_del() {  # ns_del NAME...: kill what runs inside, delete
  local n pid
  for n in "$@"; do
    [[ -e /run/netns/${P}-$n ]] || continue
    for pid in $(ip netns pids "${P}-$n" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  done
  sleep 0.2
  for n in "$@"; do
    [[ -e /run/netns/${P}-$n ]] || continue
    for pid in $(ip netns pids "${P}-$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "${P}-$n"
  done
}

tc_drop() {  # tc_drop NS DEV ingress|egress TC_BPF_ARGS...: drop matching frames there
  local ns=$1 dev=$2 dir=$3
  shift 3
  local code
  code=$(python3 "$TOOLS/tc_bpf.py" "$@")
  ip netns exec "$ns" tc qdisc add dev "$dev" clsact 2>/dev/null || true
  ip netns exec "$ns" tc filter add dev "$dev" "$dir" bpf da bytecode "$code"
  note "loss: tc filter add dev $dev $dir bpf da bytecode '$code'   (tc_bpf.py $*) in netns $ns"
}

tc_clear() { ip netns exec "$1" tc qdisc del dev "$2" clsact 2>/dev/null || true; }

# =============================================================== the Neutron lab ==============
# Points A..G as in docs/lab.md: label netns iface role host
nl_up() {
  if [[ $NL_UP == 1 ]]; then return 0; fi
  "$LAB/neutron_lab.sh" up "$P"
  eval "$("$LAB/neutron_lab.sh" env "$P")"
  NL_UP=1
  NL_PT=(
    "A $PTLAB_NS_VM eth0 vm vm1"
    "B $PTLAB_NS_HV $PTLAB_TAP tap hv1"
    "C $PTLAB_NS_HV $PTLAB_QBR qbr hv1"
    "D $PTLAB_NS_HV $PTLAB_QVB qvb hv1"
    "E $PTLAB_NS_HV $PTLAB_QVO qvo hv1"
    "F $PTLAB_NS_HV phy-br-ethx br-ethx hv1"
    "G $PTLAB_NS_HV eth1 nic hv1"
  )
  # An idle veth pair in the hypervisor, named like another port's qvo/qvb: the "wrong
  # interface" an operator may type (idle-iface). Nothing is ever sent through it.
  ip -n "$PTLAB_NS_HV" link add qvo0ddba11-ab type veth peer name qvb0ddba11-ab
  ip -n "$PTLAB_NS_HV" link set qvo0ddba11-ab up
  ip -n "$PTLAB_NS_HV" link set qvb0ddba11-ab up
}
nl_down() {
  [[ $NL_UP == 1 ]] || return 0
  "$LAB/neutron_lab.sh" down "$P"
  NL_UP=0
}

# Knobs of nl_record, reset by nl_reset:
#   NLF[label]  tcpdump filter at that point        NLS[label]  snaplen at that point
#   NLI[label]  interface captured instead          NL_ONLY     points to capture (path order)
#   NL_LATE     point started halfway through the IPIP burst
#   NL_EARLY    point stopped halfway through the IPIP burst
#   IPIP_N IPIP_R CLIENTS  the burst (count, rate/s, inner clients)
declare -A NLF=() NLS=() NLI=()
nl_reset() {
  NLF=(); NLS=(); NLI=()
  NL_ONLY="A B C D E F G"; NL_LATE=""; NL_EARLY=""
  IPIP_N=200; IPIP_R=100; CLIENTS=20
}

nl_ipip() {
  local half
  if [[ -n $NL_LATE || -n $NL_EARLY ]]; then
    ip netns exec "$PTLAB_NS_DIR" python3 "$LAB/send_ipip.py" --count "$IPIP_N" --rate "$IPIP_R" \
      --clients "$CLIENTS" --outer-src "$PTLAB_DIR_IP" --outer-dst "$PTLAB_VM_IP" --vip "$PTLAB_VIP" >>"$CUR/capture.txt" 2>&1 &
    local snd=$!
    half=$(python3 -c "print($IPIP_N / $IPIP_R / 2)")
    sleep "$half"
    if [[ -n $NL_LATE ]]; then
      nl_cap_point "$NL_LATE"
      note "point $NL_LATE started about ${half} s into the IPIP burst"
    fi
    if [[ -n $NL_EARLY ]]; then
      uncap "$NL_EARLY"
      note "point $NL_EARLY stopped about ${half} s into the IPIP burst"
    fi
    wait "$snd"
  else
    ip netns exec "$PTLAB_NS_DIR" python3 "$LAB/send_ipip.py" --count "$IPIP_N" --rate "$IPIP_R" \
      --clients "$CLIENTS" --outer-src "$PTLAB_DIR_IP" --outer-dst "$PTLAB_VM_IP" --vip "$PTLAB_VIP" >>"$CUR/capture.txt" 2>&1
  fi
}

nl_cap_point() {
  local want=$1 pt label ns ifc role host
  for pt in "${NL_PT[@]}"; do
    read -r label ns ifc role host <<<"$pt"
    [[ $label == "$want" ]] || continue
    local -a filt=()
    if [[ -n ${NLF[$label]:-} ]]; then read -ra filt <<<"${NLF[$label]}"; fi
    SNAP=${NLS[$label]:-128} cap "$label" "$ns" "${NLI[$label]:-$ifc}" "${filt[@]}"
  done
}

# nl_record broken|fixed around|after|ipip
#   around: TCP 22 chat, 0.7 s later the IPIP burst, 0.5 s more TCP, FIN (the incident's run)
#   after:  the IPIP burst, then 0.5 s later a TCP 22 chat of 1.5 s (case 1 of issue 13)
#   ipip:   the IPIP burst only
nl_record() {
  local state=$1 mode=$2 pt label ns ifc role host
  nl_up
  if [[ $state == fixed ]]; then "$LAB/neutron_lab.sh" fix "$P"; else "$LAB/neutron_lab.sh" break "$P"; fi
  note "security group: $state (fixed = ingress rule for IP protocol 4); traffic: $mode; IPIP $IPIP_N at $IPIP_R/s, $CLIENTS inner clients"
  for label in $NL_ONLY; do
    if [[ $label == "$NL_LATE" ]]; then continue; fi
    nl_cap_point "$label"
  done
  sleep 0.2
  local talk
  case $mode in
    around)
      ip netns exec "$PTLAB_NS_DIR" python3 "$LAB/tcp_chatter.py" talk --to "$PTLAB_VM_IP" --port 22 \
        --interval 0.2 --duration 3600 </dev/null >>"$CUR/capture.txt" 2>&1 &
      talk=$!
      sleep 0.7
      nl_ipip
      sleep 0.5
      kill -TERM "$talk"
      wait "$talk" || die "TCP conversation failed"
      sleep 0.3 ;;
    after)
      nl_ipip
      sleep 0.5
      ip netns exec "$PTLAB_NS_DIR" python3 "$LAB/tcp_chatter.py" talk --to "$PTLAB_VM_IP" --port 22 \
        --interval 0.2 --duration 1.5 </dev/null >>"$CUR/capture.txt" 2>&1 || die "TCP conversation failed"
      sleep 0.3 ;;
    ipip)
      nl_ipip
      sleep 0.2 ;;
  esac
  uncap_all
  inv_header "Neutron hybrid-firewall path of port $PTLAB_PORT_UUID, VM side first (tests/lab/neutron_lab.sh)."
  for pt in "${NL_PT[@]}"; do
    read -r label ns ifc role host <<<"$pt"
    [[ " $NL_ONLY " == *" $label "* ]] || continue
    inv "$label" "$role" "$host" "${NLI[$label]:-$ifc}" "$ns"
  done
}

ipip_at() { npk "$1" 'ip proto 4 or (vlan and ip proto 4)'; }

# Base recordings that the messy variants post-process: recorded once per script run.
declare -A BASE=()
nl_base() {  # nl_base broken|fixed: prints the directory of a plain incident recording
  local state=$1
  if [[ -z ${BASE[$state]:-} ]]; then
    local save=$CUR
    set_begin "base-$state" "base recording (security group $state), unfiltered"
    nl_reset
    nl_record "$state" around
    BASE[$state]=$CUR
    CUR=$save
  fi
}

copy_base() {  # copy_base broken|fixed: the base recording's files into $CUR
  local src=${BASE[$1]} l
  for l in A B C D E F G; do cp "$src/$l.pcap" "$CUR/"; done
  cp "$src/inventory.toml" "$CUR/"
  { echo "post-processed from one recording (security group $1) made in the same run:"; sed 's/^/  | /' "$src/capture.txt"; } >>"$CUR/capture.txt"
}

# ================================================================= the cases ==================
# Each case_NAME records $CUR and writes $CUR/expected.toml. Expected verdicts are what is
# true of the traffic (what was dropped where), counted with tcpdump, never pathtrace's output.

case_incident-broken() {
  nl_reset
  nl_record broken around
  local g; g=$(ipip_at "$CUR/G.pcap")
  [[ $g -eq 200 && $(ipip_at "$CUR/B.pcap") -eq 0 ]] || die "incident-broken: IPIP at G=$g, B should be 0"
  cat >"$CUR/expected.toml" <<'EOF'
why = "anchor: the incident as recorded, IPIP dropped by the security group between qbr (C) and tap (B)"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 200
delivered = 0
assumes = []
EOF
}

case_incident-fixed() {
  nl_reset
  nl_record fixed around
  [[ $(ipip_at "$CUR/A.pcap") -eq 200 ]] || die "incident-fixed: A should see 200 IPIP"
  cat >"$CUR/expected.toml" <<'EOF'
why = "anchor: the incident after the fix, every IPIP packet reaches the VM"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = 200
assumes = []
EOF
}

case_unfiltered-later-tcp() {
  nl_reset
  nl_record broken after
  cat >"$CUR/expected.toml" <<'EOF'
why = "unfiltered captures, IPIP burst dropped C→B, then TCP 22 passes every point: B and A's first packet comes after the whole burst"
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 200
delivered = 0
assumes = ["window"]

[[flow]]
label = "TCP 198.18.0.1:"
direction = "reverse"
verdict = "delivered"
lost = 0

[[flow]]
label = "TCP 198.18.0.20:22 → 198.18.0.1:"
direction = "forward"
verdict = "delivered"
lost = 0
EOF
}

case_unfiltered-host-filter() {
  nl_reset
  local l
  for l in A B C D E F G; do NLF[$l]="host 198.18.0.20"; done
  nl_record broken after
  cat >"$CUR/expected.toml" <<'EOF'
why = "captured with `host 198.18.0.20` at every point, ingested with --filter ipip: B and A hold only the later TCP"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 200
delivered = 0
assumes = ["window"]

[[point]]
label = "F"
usable = false
problem = "vlan_filter"
EOF
  local f; f=$(npk "$CUR/F.pcap" 'vlan and ip proto 4')
  [[ $f -eq 0 ]] || die "unfiltered-host-filter: F should have missed the tagged IPIP (live filter), has $f"
  note "F (phy-br-ethx): the live 'host 198.18.0.20' filter matched only frames received there (tag in metadata), none of those OVS sent (tag inline): no IPIP at F"
}

skew_case() {  # skew_case broken|fixed OFFSET_S OFFSET_MS
  local state=$1 off=$2 ms=$3
  nl_base "$state"
  copy_base "$state"
  python3 "$TOOLS/pcap_shift.py" "$CUR/A.pcap" "$CUR/A.pcap.new" "$off" >>"$CUR/capture.txt"
  mv "$CUR/A.pcap.new" "$CUR/A.pcap"
  note "A.pcap (host vm1) shifted by $off s with tools/pcap_shift.py: the VM's clock is off; B..G are on hv1"
  local why abs=${ms#-}
  if [[ $state == fixed ]]; then
    why="VM host clock off by $off s (A on vm1, B..G on hv1), nothing lost: no hop may be blamed"
    cat >"$CUR/expected.toml" <<EOF
why = "$why"
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = 200

[[flow]]
label = ""
verdict = "delivered"
must_not_blame = [["B", "A"], ["A", "B"]]

[[clock]]
host = "vm1"
offset_ms = $abs
tolerance_ms = 100
EOF
  else
    why="VM host clock off by $off s, IPIP dropped C→B on hv1: the same-host hop is blamed, TCP is delivered"
    cat >"$CUR/expected.toml" <<EOF
why = "$why"
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 200
delivered = 0

[[flow]]
label = "TCP "
verdict = "delivered"
must_not_blame = [["B", "A"], ["A", "B"]]

[[clock]]
host = "vm1"
offset_ms = $abs
tolerance_ms = 100
EOF
  fi
}
case_skew-vm-ahead-500ms-fixed() { skew_case fixed +0.5 500; }
case_skew-vm-behind-500ms-fixed() { skew_case fixed -0.5 -500; }
case_skew-vm-behind-500ms-broken() { skew_case broken -0.5 -500; }
case_skew-vm-ahead-30s-fixed() { skew_case fixed +30 30000; }
case_skew-vm-ahead-30s-broken() { skew_case broken +30 30000; }

case_linktype-raw-nic() {
  nl_base broken
  copy_base broken
  python3 "$TOOLS/pcap_linktype.py" "$CUR/G.pcap" "$CUR/G.pcap.new" 101 >>"$CUR/capture.txt"
  mv "$CUR/G.pcap.new" "$CUR/G.pcap"
  cat >"$CUR/expected.toml" <<'EOF'
why = "the NIC's file (G, the entry end) says LINKTYPE_RAW while its bytes are Ethernet: G is unusable, judge F..A"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
verdict = "disappears"
hop = ["C", "B"]
must_not_blame = [["G", "F"], ["F", "G"]]

[[point]]
label = "G"
usable = false
problem = "linktype"
EOF
}

case_linktype-sll-mid() {
  nl_base fixed
  copy_base fixed
  python3 "$TOOLS/pcap_linktype.py" "$CUR/E.pcap" "$CUR/E.pcap.new" 113 >>"$CUR/capture.txt"
  mv "$CUR/E.pcap.new" "$CUR/E.pcap"
  cat >"$CUR/expected.toml" <<'EOF'
why = "a middle point's file (E, qvo) says LINUX_SLL while its bytes are Ethernet; nothing was lost"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = 200
must_not_blame = [["F", "E"], ["E", "D"]]

[[point]]
label = "E"
usable = false
problem = "linktype"
EOF
}

case_vlan-blind-filter() {
  nl_reset
  local l
  for l in A B C D E F G; do NLF[$l]="ip proto 4"; done
  nl_record broken around
  [[ $(npk "$CUR/F.pcap") -eq 0 ]] || die "vlan-blind-filter: F should be empty (live 'ip proto 4' misses OVS-sent tagged frames)"
  cat >"$CUR/expected.toml" <<'EOF'
why = "every point captured with `ip proto 4`; at F (phy-br-ethx) OVS sends 802.1Q-tagged frames, so F's file is empty"
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 200
must_not_blame = [["G", "F"], ["F", "E"]]
assumes = ["window"]

[[point]]
label = "F"
usable = false
problem = "vlan_filter"
EOF
}

case_vlan-blind-entry() {
  nl_reset
  local l
  for l in A B C D E F; do NLF[$l]="ip proto 4"; done
  NL_ONLY="A B C D E F"
  nl_record broken around
  [[ $(npk "$CUR/F.pcap") -eq 0 ]] || die "vlan-blind-entry: F should be empty"
  cat >"$CUR/expected.toml" <<'EOF'
why = "points A..F only, all captured with `ip proto 4`: the entry end F (tagged) is empty, so judge E..A"
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
verdict = "disappears"
hop = ["C", "B"]
lost = 200
must_not_blame = [["F", "E"]]
assumes = ["window"]

[[point]]
label = "F"
usable = false
problem = "vlan_filter"
EOF
}

case_same-file-two-points() {
  nl_base broken
  copy_base broken
  rm -f "$CUR/B.pcap"
  sed -i 's/^file = "B.pcap"$/file = "C.pcap"/' "$CUR/inventory.toml"
  grep -c '^file = "C.pcap"$' "$CUR/inventory.toml" | grep -qx 2 || die "same-file-two-points: inventory edit failed"
  note "inventory: point B names C.pcap (the file of C) — the operator's copy-paste mistake; B's real file is not given"
  cat >"$CUR/expected.toml" <<'EOF'
why = "the inventory gives C's file for B too (B's own capture, which had no IPIP, is not given): never 'delivered', never blame B→A"
args = ["--filter", "ipip"]

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
verdict = ["disappears", "inconclusive"]
must_not_blame = [["B", "A"]]

[[point]]
label = ["B", "C"]
problem = "identical"
EOF
}

case_single-point() {
  nl_base broken
  cp "${BASE[broken]}/C.pcap" "$CUR/"
  inv_header "one point only: the qbr of the incident (broken)"
  inv C qbr hv1 "$PTLAB_QBR" "$PTLAB_NS_HV"
  note "only C.pcap of a recording of the broken incident"
  cat >"$CUR/expected.toml" <<'EOF'
why = "a single point cannot show where anything stops: refuse with a clear message (exit 2), never 'delivered C→C'"
args = ["--filter", "ipip"]
refuse = true
exit = 2
EOF
}

case_snaplen-64-nic() {
  nl_reset
  NLS[G]=64
  nl_record broken around
  cat >"$CUR/expected.toml" <<'EOF'
why = "G captured with -s 64: the 78-byte IPIP frames are cut inside the inner TCP header, no digest at G; G is unusable, not a drop"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
verdict = "disappears"
hop = ["C", "B"]
must_not_blame = [["G", "F"], ["F", "G"]]

[[point]]
label = "G"
usable = false
problem = "snaplen"
EOF
}

short_case() {
  local state=$1 l
  nl_reset
  IPIP_N=40
  for l in A B C D E F G; do NLF[$l]="ip proto 4 or (vlan and ip proto 4)"; done
  nl_record "$state" ipip
  local g; g=$(ipip_at "$CUR/G.pcap")
  [[ $g -eq 40 ]] || die "short burst: G saw $g IPIP, expected 40"
}
case_short-burst-fixed() {
  short_case fixed
  cat >"$CUR/expected.toml" <<'EOF'
why = "a 0.4 s test (40 IPIP packets), correct VLAN-aware filter at every point, nothing lost: all 40 are provably inside every window"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "delivered"
delivered = 40
lost = 0
EOF
}
case_short-burst-broken() {
  short_case broken
  cat >"$CUR/expected.toml" <<'EOF'
why = "a 0.4 s test (40 IPIP packets) dropped C→B; B and A captured nothing (filtered), so their windows are an assumption"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 40
delivered = 0
assumes = ["window"]
EOF
}

case_lvs-partial-loss() {
  nl_reset
  CLIENTS=200
  nl_up
  tc_drop "$PTLAB_NS_HV" "$PTLAB_QVB" ingress --ipv4-proto 4 --rand 0.1
  nl_record fixed around
  tc_clear "$PTLAB_NS_HV" "$PTLAB_QVB"
  local d c
  d=$(ipip_at "$CUR/D.pcap"); c=$(ipip_at "$CUR/C.pcap")
  [[ $d -eq 200 && $c -lt 200 && $c -gt 0 ]] || die "lvs-partial-loss: D=$d C=$c"
  note "IPIP at D: $d, at C: $c (random 10% dropped at qvb ingress, after D's capture)"
  cat >"$CUR/expected.toml" <<EOF
why = "LVS-TUN with 200 inner clients (every packet its own inner flow), 10% random loss at qvb ingress (D→C): partial loss, no inner-flow 'finding'"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "partial_loss"
hop = ["D", "C"]
lost = $((d - c))
delivered = $c
must_not_say = ["inner flow"]
EOF
}

case_late-start-vm() {
  nl_reset
  NL_LATE=A
  nl_record fixed around
  cat >"$CUR/expected.toml" <<'EOF'
why = "A (the VM) started capturing about 1 s into the 2 s IPIP burst; nothing was lost: B→A must not be blamed"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "delivered"
lost = 0
must_not_blame = [["B", "A"]]

[[point]]
label = "A"
problem = "late"
EOF
}

case_early-stop-mid() {
  nl_reset
  NL_EARLY=D
  nl_record broken around
  cat >"$CUR/expected.toml" <<'EOF'
why = "D (qvb) stopped capturing about 1 s into the IPIP burst; the real drop is C→B: neither E→D nor D→C may be blamed"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
must_not_blame = [["E", "D"], ["D", "C"]]

[[point]]
label = "D"
problem = "early"
EOF
}

case_idle-iface() {
  nl_reset
  NLI[E]=qvo0ddba11-ab
  nl_record fixed around
  [[ $(npk "$CUR/E.pcap") -eq 0 ]] || die "idle-iface: E should be empty"
  note "point E was captured on qvo0ddba11-ab, an idle veth (the wrong port), not on $PTLAB_QVO"
  cat >"$CUR/expected.toml" <<'EOF'
why = "E captured on an idle interface (a mistyped port): it saw nothing while both neighbours saw every packet; nothing was lost"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = 200
must_not_blame = [["F", "E"], ["E", "D"]]

[[point]]
label = "E"
usable = false
problem = "nothing_seen"
EOF
}

case_wrong-order() {
  nl_base broken
  copy_base broken
  # Rewrite the inventory with C listed before B (A, C, B, D, E, F, G).
  local src="$CUR/inventory.toml"
  python3 - "$src" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
head, *blocks = text.split("[[point]]")
blocks = ["[[point]]" + b.rstrip() + "\n" for b in blocks]
order = {b.split('label = "')[1][0]: b for b in blocks}
new = [order[l] for l in "ACBDEFG"]
open(path, "w").write(head.rstrip() + "\n# (points B and C given in the wrong order)\n\n" + "\n".join(new))
PY
  note "inventory: points given as A, C, B, D, E, F, G (B and C swapped); files unchanged"
  cat >"$CUR/expected.toml" <<'EOF'
why = "the inventory lists C before B; TCP 22 passing every point shows the real order (same host, timestamps): say so, never blame 'C→A'"

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
verdict = ["disappears", "inconclusive"]
must_not_blame = [["C", "A"], ["B", "C"], ["D", "B"]]
assumes = ["order"]
EOF
}

case_any-iface-duplicates() {
  nl_reset
  nl_up
  "$LAB/neutron_lab.sh" break "$P"
  note "security group: broken; TCP 22 chat around 200 IPIP; points: the VM's eth0, 'tcpdump -i any' in the hypervisor namespace, the director's eth0"
  cap A "$PTLAB_NS_VM" eth0
  cap B "$PTLAB_NS_HV" any
  cap C "$PTLAB_NS_DIR" eth0
  sleep 0.2
  ip netns exec "$PTLAB_NS_DIR" python3 "$LAB/tcp_chatter.py" talk --to "$PTLAB_VM_IP" --port 22 \
    --interval 0.2 --duration 3600 </dev/null >>"$CUR/capture.txt" 2>&1 &
  local talk=$!
  sleep 0.7
  ip netns exec "$PTLAB_NS_DIR" python3 "$LAB/send_ipip.py" --count 200 --rate 100 \
    --outer-src "$PTLAB_DIR_IP" --outer-dst "$PTLAB_VM_IP" --vip "$PTLAB_VIP" >>"$CUR/capture.txt" 2>&1
  sleep 0.5
  kill -TERM "$talk"
  wait "$talk" || die "TCP conversation failed"
  sleep 0.3
  uncap_all
  note "B (any): $(python3 "$TOOLS/pcap_dups.py" "$CUR/B.pcap") (frames unique duplicates over-1514)"
  inv_header "VM, the whole hypervisor (-i any), the director; VM side first"
  inv A vm vm1 eth0 "$PTLAB_NS_VM"
  inv B hv-any hv1 any "$PTLAB_NS_HV"
  inv C director dir1 eth0 "$PTLAB_NS_DIR"
  cat >"$CUR/expected.toml" <<'EOF'
why = "`tcpdump -i any` on the hypervisor sees every IPIP packet once per device it crosses (6 copies): duplicates, not packets; the loss is inside hv1, before the VM"
args = ["--filter", "ipip"]
exit = 0

[[flow]]
label = "IPIP 198.18.0.1 → 198.18.0.20"
direction = "reverse"
verdict = "disappears"
hop = ["B", "A"]
lost = 200
delivered = 0
EOF
}

# ============================================================ a bridge chain ==================
#   ${P}-a eth0 (198.18.N.1) ─veth─ p1 [br0 in ${P}-r] p2 ─veth─ eth0 ${P}-b (198.18.N.2)
# Points A (a eth0), B (r p1), C (r p2), D (b eth0). b drops UDP in INPUT (no ICMP errors).
chain_up() {
  local n=$1 kind=${2:-bridge}
  ns_new a r b
  ip -n "${P}-a" link add eth0 type veth peer name p1 netns "${P}-r"
  ip -n "${P}-b" link add eth0 type veth peer name p2 netns "${P}-r"
  if [[ $kind == bridge ]]; then
    ip -n "${P}-r" link add br0 type bridge stp_state 0 forward_delay 0
    ip -n "${P}-r" link set p1 master br0
    ip -n "${P}-r" link set p2 master br0
    ip -n "${P}-r" link set br0 up
  fi
  ip -n "${P}-r" link set p1 up
  ip -n "${P}-r" link set p2 up
  ip -n "${P}-a" link set eth0 address "02:70:74:$(printf %02x "$n"):00:01"
  ip -n "${P}-b" link set eth0 address "02:70:74:$(printf %02x "$n"):00:02"
  ip -n "${P}-a" addr add "198.18.$n.1/24" dev eth0
  ip -n "${P}-b" addr add "198.18.$n.2/24" dev eth0
  ip -n "${P}-a" link set eth0 up
  ip -n "${P}-b" link set eth0 up
  ip -n "${P}-a" neigh replace "198.18.$n.2" lladdr "02:70:74:$(printf %02x "$n"):00:02" dev eth0 nud permanent
  ip -n "${P}-b" neigh replace "198.18.$n.1" lladdr "02:70:74:$(printf %02x "$n"):00:01" dev eth0 nud permanent
  ip netns exec "${P}-b" iptables -w -A INPUT -p udp -j DROP
  sleep 2   # the IGMP reports of the new links go by before any capture starts
  CH_A="${P}-a" CH_R="${P}-r" CH_B="${P}-b"
}
chain_inv() {
  inv_header "$1"
  inv A host local eth0 "$CH_A"
  inv B bridge-port local p1 "$CH_R"
  inv C bridge-port local p2 "$CH_R"
  inv D host local eth0 "$CH_B"
}
chain_cap() {  # tcpdump (no filter) at A, B, C, D
  cap A "$CH_A" eth0
  cap B "$CH_R" p1
  cap C "$CH_R" p2
  cap D "$CH_B" eth0
}
chain_down() { ns_del a r b; }

# markers NS DST_IP: 10 UDP datagrams port 9 → 9 over 0.5 s. Sent before and after a case's
# traffic so that every point's file starts and ends well outside it: the capture windows
# (first/last packet of a file) then cover the whole test, and exact counts can be pinned.
markers() {
  ip netns exec "$1" python3 "$TOOLS/send.py" udp --dst "$2" --dport 9 --sport 9 --count 10 --rate 20 \
    --sizes 32 >/dev/null
}

# D captured on the wrong interface: b's eth1, where x pings b, instead of its eth0 on the path.
case_wrong-interface() {
  chain_up 12
  ns_new x
  ip -n "${P}-b" link add eth1 type veth peer name eth0 netns "${P}-x"
  ip -n "${P}-b" addr add 198.18.13.2/24 dev eth1
  ip -n "${P}-x" addr add 198.18.13.1/24 dev eth0
  ip -n "${P}-b" link set eth1 up
  ip -n "${P}-x" link set eth0 up
  sleep 1
  note "nothing is dropped; point D is captured on b's eth1 (x pings b there) instead of b's eth0 (the path)"
  cap A "$CH_A" eth0
  cap B "$CH_R" p1
  cap C "$CH_R" p2
  cap D "$CH_B" eth1
  markers "$CH_A" 198.18.12.2
  ip netns exec "${P}-x" ping -q -n -c 100 -i 0.01 -W 1 198.18.13.2 >>"$CUR/capture.txt" 2>&1 &
  local px=$!
  ip netns exec "$CH_A" ping -q -n -c 100 -i 0.01 -W 1 198.18.12.2 >>"$CUR/capture.txt" 2>&1 ||
    die "wrong-interface: a's ping lost packets"
  wait "$px" || die "wrong-interface: x's ping lost packets"
  markers "$CH_A" 198.18.12.2
  uncap_all
  chain_inv "a pings b, nothing lost; D is b's eth1, which is not on the path (the operator's mistake)"
  python3 - "$CUR/inventory.toml" "$CH_B" <<'PY'
import sys
path, ns = sys.argv[1], sys.argv[2]
text = open(path).read()
old = f'label = "D"\nrole = "host"\nhost = "local"\niface = "eth0"\nnetns = "{ns}"'
assert old in text, text
open(path, "w").write(text.replace(old, old.replace('iface = "eth0"', 'iface = "eth1"')))
PY
  local req_c rep_c d_path d_other
  req_c=$(npk "$CUR/C.pcap" 'icmp[0] = 8 and dst host 198.18.12.2')
  rep_c=$(npk "$CUR/C.pcap" 'icmp[0] = 0 and src host 198.18.12.2')
  d_path=$(npk "$CUR/D.pcap" 'host 198.18.12.1')
  d_other=$(npk "$CUR/D.pcap" 'icmp and host 198.18.13.1')
  [[ $req_c -eq 100 && $rep_c -eq 100 && $d_path -eq 0 && $d_other -eq 200 ]] ||
    die "wrong-interface: C requests=$req_c replies=$rep_c, D path=$d_path other=$d_other"
  ns_del x
  chain_down
  cat >"$CUR/expected.toml" <<'EOF'
why = "nothing was lost: D was captured on b's eth1 (x's pings), not on b's eth0 where a's pings arrive. a's pings: their replies came back through D unseen (C saw them), so D is not capturing that path: inconclusive, never C→D. The markers (no replies) and x's pings: C and D saw no flow in common, as they would if the hop between them dropped everything both ways: a hop may be named only under the 'path' assumption"
exit = 1                               # flows "lost" under the assumption (docs/cli.md#exit-codes)

[[flow]]
label = "ICMP 198.18.12.1 → 198.18.12.2"
verdict = "inconclusive"
must_not_blame = [["C", "D"]]
must_say = ["D saw none of the packets that came back the other way"]

[[flow]]
label = "UDP 198.18.12.1:9 → 198.18.12.2:9"
verdict = ["disappears", "inconclusive"]
assumes = ["path"]

[[flow]]
label = "ICMP 198.18.13."
verdict = ["disappears", "inconclusive"]
assumes = ["path"]

[[flow]]
label = "ICMP 198.18.12.2 → 198.18.12.1"
verdict = "delivered"
lost = 0
EOF
}

case_both-directions-ping() {
  chain_up 11
  tc_drop "$CH_R" p2 ingress --ipv4-proto 1 --icmp-type 8
  note "b's echo requests are dropped at p2 ingress (after C's capture); a's pass"
  chain_cap
  markers "$CH_A" 198.18.11.2
  ip netns exec "$CH_A" ping -q -n -c 100 -i 0.01 -W 1 198.18.11.2 >>"$CUR/capture.txt" 2>&1 &
  local pa=$!
  ip netns exec "$CH_B" ping -q -n -c 100 -i 0.01 -W 1 198.18.11.1 >>"$CUR/capture.txt" 2>&1 || true
  wait "$pa" || true
  markers "$CH_A" 198.18.11.2
  uncap_all
  chain_inv "a pings b and b pings a at once; b's echo requests dropped between C (p2) and B (p1)"
  local req_c req_b rep_a id_a id_b
  req_c=$(npk "$CUR/C.pcap" 'icmp[0] = 8 and src host 198.18.11.2')
  req_b=$(npk "$CUR/B.pcap" 'icmp[0] = 8 and src host 198.18.11.2')
  rep_a=$(npk "$CUR/A.pcap" 'icmp[0] = 0 and src host 198.18.11.2')
  [[ $req_c -eq 100 && $req_b -eq 0 && $rep_a -eq 100 ]] || die "both-directions-ping: req C=$req_c B=$req_b, replies at A=$rep_a"
  # Each ping is a flow of its own: its echo identifier is in the flow key, like a port.
  id_a=$(tcpdump -nr "$CUR/A.pcap" -c 1 'icmp[0] = 8 and src host 198.18.11.1' 2>/dev/null | sed -n 's/.*echo request, id \([0-9]*\),.*/\1/p')
  id_b=$(tcpdump -nr "$CUR/C.pcap" -c 1 'icmp[0] = 8 and src host 198.18.11.2' 2>/dev/null | sed -n 's/.*echo request, id \([0-9]*\),.*/\1/p')
  [[ -n $id_a && -n $id_b && $id_a != "$id_b" ]] || die "both-directions-ping: echo identifiers a=$id_a b=$id_b"
  chain_down
  cat >"$CUR/expected.toml" <<EOF
why = "ping both ways at once, b's echo requests dropped C→B: b's ping (id $id_b) loses all $req_c requests there; a's ping (id $id_a) is intact both ways, its $rep_a replies from b included"
exit = 1                               # a flow lost packets (docs/cli.md#exit-codes)

[[flow]]
label = "ICMP 198.18.11.2 → 198.18.11.1 id $id_b"
verdict = "disappears"
hop = ["C", "B"]
lost = $req_c
delivered = 0

[[flow]]
label = "ICMP 198.18.11.1 → 198.18.11.2 id $id_a"
direction = "forward"
verdict = "delivered"
lost = 0
delivered = 100
must_not_blame = [["B", "C"], ["C", "B"]]

[[flow]]
label = "ICMP 198.18.11.2 → 198.18.11.1 id $id_a"
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = $rep_a
must_not_blame = [["B", "C"], ["C", "B"]]
EOF
}

case_ipv6-udp-loss() {
  chain_up 12
  local ns
  for ns in "$CH_A" "$CH_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.accept_ra=0 \
      net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.router_solicitations=0
  done
  ip -n "$CH_A" addr add 2001:db8:12::1/64 dev eth0 nodad
  ip -n "$CH_B" addr add 2001:db8:12::2/64 dev eth0 nodad
  ip -n "$CH_A" -6 neigh replace 2001:db8:12::2 lladdr 02:70:74:0c:00:02 dev eth0 nud permanent
  ip -n "$CH_B" -6 neigh replace 2001:db8:12::1 lladdr 02:70:74:0c:00:01 dev eth0 nud permanent
  ip netns exec "$CH_B" ip6tables -w -A INPUT -p udp -j DROP
  sleep 3   # let the MLD reports of the new addresses pass before capturing
  tc_drop "$CH_R" p1 ingress --ipv6-nh 17 --rand 0.2
  chain_cap
  markers "$CH_A" 198.18.12.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" udp --dst 2001:db8:12::2 --dport 6000 --sport 5000 \
    --count 200 --rate 100 --sizes 200 >>"$CUR/capture.txt"
  markers "$CH_A" 198.18.12.2
  uncap_all
  chain_inv "IPv6 UDP a → b, 20% random loss at p1 ingress (between B and C)"
  local b c
  b=$(npk "$CUR/B.pcap" 'ip6 and udp port 6000'); c=$(npk "$CUR/C.pcap" 'ip6 and udp port 6000')
  [[ $b -eq 200 && $c -lt 200 ]] || die "ipv6-udp-loss: B=$b C=$c"
  chain_down
  cat >"$CUR/expected.toml" <<EOF
why = "IPv6 UDP (2001:db8:12::1 → ::2), 20% random loss between B (p1) and C (p2)"
exit = 0

[[flow]]
label = "UDP [2001:db8:12::1]:5000 → [2001:db8:12::2]:6000"
direction = "forward"
verdict = "partial_loss"
hop = ["B", "C"]
lost = $((b - c))
delivered = $c
EOF
}

case_mtu-large-loss() {
  chain_up 13
  ip -n "$CH_R" link set p2 mtu 1000
  note "p2 (bridge port towards b) has MTU 1000: the bridge drops frames longer than 1014 bytes"
  chain_cap
  markers "$CH_A" 198.18.13.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" udp --dst 198.18.13.2 --dport 6000 --sport 5000 \
    --count 250 --rate 200 --sizes 100,500,900,1200,1400 --df >>"$CUR/capture.txt"
  markers "$CH_A" 198.18.13.2
  uncap_all
  chain_inv "UDP of mixed sizes a → b; the bridge port p2 (C) has MTU 1000"
  local b c big
  b=$(npk "$CUR/B.pcap" 'udp port 6000'); c=$(npk "$CUR/C.pcap" 'udp port 6000')
  big=$(npk "$CUR/B.pcap" 'udp port 6000 and greater 1015')
  [[ $b -eq 250 && $((b - c)) -eq $big ]] || die "mtu-large-loss: B=$b C=$c large=$big"
  chain_down
  cat >"$CUR/expected.toml" <<EOF
why = "a bridge port with MTU 1000: only the $big frames over 1014 bytes are lost between B and C, the small ones pass"
exit = 0

[[flow]]
label = "UDP 198.18.13.1:5000 → 198.18.13.2:6000"
direction = "forward"
verdict = "partial_loss"
hop = ["B", "C"]
lost = $big
delivered = $c
must_say = ["bytes"]
EOF
}

case_random-loss-10pct() {
  chain_up 14
  tc_drop "$CH_R" p1 ingress --ipv4-proto 17 --udp-dport 6000 --rand 0.1
  chain_cap
  markers "$CH_A" 198.18.14.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" udp --dst 198.18.14.2 --dport 6000 --sport 5000 \
    --count 300 --rate 200 --sizes 120 >>"$CUR/capture.txt"
  markers "$CH_A" 198.18.14.2
  uncap_all
  chain_inv "UDP a → b, 10% random loss at p1 ingress (between B and C)"
  local b c
  b=$(npk "$CUR/B.pcap" 'udp port 6000'); c=$(npk "$CUR/C.pcap" 'udp port 6000')
  [[ $b -eq 300 && $c -lt 300 ]] || die "random-loss-10pct: B=$b C=$c"
  chain_down
  cat >"$CUR/expected.toml" <<EOF
why = "one UDP flow, 10% random loss (tc BPF ld rand) between B and C: partial loss at that hop"
exit = 0

[[flow]]
label = "UDP 198.18.14.1:5000 → 198.18.14.2:6000"
direction = "forward"
verdict = "partial_loss"
hop = ["B", "C"]
lost = $((b - c))
delivered = $c
assumes = []
EOF
}

case_icmp-flood-id0() {
  chain_up 15
  ip netns exec "$CH_B" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
  tc_drop "$CH_R" p1 ingress --ipv4-proto 1 --rand 0.1
  chain_cap
  markers "$CH_A" 198.18.15.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" icmpflood --src 198.18.15.1 --dst 198.18.15.2 \
    --count 500 --rate 1000 >>"$CUR/capture.txt"
  markers "$CH_A" 198.18.15.2
  uncap_all
  chain_inv "500 identical ICMP echo requests (IP ID 0) a → b, 10% random loss between B and C; b does not answer"
  local b c
  b=$(npk "$CUR/B.pcap" icmp); c=$(npk "$CUR/C.pcap" icmp)
  [[ $b -eq 500 && $c -lt 500 ]] || die "icmp-flood-id0: B=$b C=$c"
  note "B: $(python3 "$TOOLS/pcap_dups.py" "$CUR/B.pcap") (frames unique duplicates over-1514)"
  chain_down
  cat >"$CUR/expected.toml" <<EOF
why = "a flood of 500 byte-identical ICMP echo requests (IP ID 0, same id/seq), 10% random loss B→C: counted per packet, not per digest"
exit = 0

[[flow]]
label = "ICMP 198.18.15.1 → 198.18.15.2"
direction = "forward"
verdict = "partial_loss"
hop = ["B", "C"]
lost = $((b - c))
delivered = $c
EOF
}

case_gso-aggregates() {
  chain_up 16
  ip netns exec "$CH_R" python3 "$TOOLS/offload.py" p2 tso=off gso=off
  note "a's eth0 keeps TSO/GSO on (the sender hands 64 KB aggregates to the veth); p2 has tso/gso off, so frames are segmented to 1514 bytes there"
  ip netns exec "$CH_B" python3 "$TOOLS/send.py" tcpsink --bind 198.18.16.2 --port 5001 >>"$CUR/capture.txt" 2>&1 &
  local sink=$!
  sleep 0.3
  SNAP=128 cap A "$CH_A" eth0
  SNAP=128 cap B "$CH_R" p2
  SNAP=128 cap C "$CH_B" eth0
  markers "$CH_A" 198.18.16.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" tcpbulk --dst 198.18.16.2 --port 5001 --bytes 500000 >>"$CUR/capture.txt"
  wait "$sink" || true
  markers "$CH_A" 198.18.16.2
  uncap_all
  inv_header "TCP bulk a → b with offloads on at the sender: A sees aggregates over 1514 bytes, B and C see segments"
  inv A host local eth0 "$CH_A"
  inv B bridge-port local p2 "$CH_R"
  inv C host local eth0 "$CH_B"
  local ga gb
  ga=$(python3 "$TOOLS/pcap_dups.py" "$CUR/A.pcap"); gb=$(python3 "$TOOLS/pcap_dups.py" "$CUR/B.pcap")
  note "A: $ga; B: $gb (frames unique duplicates over-1514)"
  [[ $(echo "$ga" | awk '{print $4}') -gt 0 && $(echo "$gb" | awk '{print $4}') -eq 0 ]] || die "gso-aggregates: A should have aggregates, B none"
  chain_down
  cat >"$CUR/expected.toml" <<'EOF'
why = "TCP bulk with TSO at the sender: A (sender's eth0) sees 64 KB aggregates, B and C the 1514-byte segments; nothing was lost"
exit = 0

[[flow]]
label = "TCP 198.18.16.1:"
direction = "forward"
verdict = "delivered"
lost = 0
must_not_blame = [["A", "B"], ["B", "A"], ["B", "C"], ["C", "B"]]

[[flow]]
label = "TCP 198.18.16.2:5001 → 198.18.16.1:"
direction = "reverse"
verdict = "delivered"
lost = 0

[[flow]]
label = "TCP "
verdict = "delivered"
EOF
}

case_capture-drop() {
  chain_up 17
  note "C is captured with dumpcap -B 1 (1 MiB ring) and stopped (SIGSTOP) during a 20000-datagram burst to port 19; A, B, D capture only the flow to port 6000 and the markers (port 9)"
  cap A "$CH_A" eth0 udp port 6000 or udp port 9
  cap B "$CH_R" p1 udp port 6000 or udp port 9
  cap_dumpcap C "$CH_R" p2 1
  cap D "$CH_B" eth0 udp port 6000 or udp port 9
  markers "$CH_A" 198.18.17.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" udp --dst 198.18.17.2 --dport 6000 --sport 5000 \
    --count 300 --rate 100 --sizes 100 >>"$CUR/capture.txt" &
  local flow=$!
  sleep 1.0
  kill -STOP "${CAP_PID[C]}"
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" udp --dst 198.18.17.2 --dport 19 --sport 5019 \
    --count 20000 --rate 40000 --sizes 18 >>"$CUR/capture.txt"
  sleep 0.5
  kill -CONT "${CAP_PID[C]}"
  wait "$flow"
  markers "$CH_A" 198.18.17.2
  uncap_all
  inv_header "UDP a → b; C's own capture (dumpcap, pcapng with interface statistics) dropped packets"
  inv A host local eth0 "$CH_A"
  inv B bridge-port local p1 "$CH_R"
  inv C bridge-port local p2 "$CH_R" C.pcapng
  inv D host local eth0 "$CH_B"
  local b c d
  b=$(npk "$CUR/B.pcap" udp port 6000); c=$(npk "$CUR/C.pcapng" udp port 6000); d=$(npk "$CUR/D.pcap" udp port 6000)
  note "flow to port 6000: B $b, C $c, D $d"
  [[ $b -eq 300 && $d -eq 300 && $c -lt 300 ]] || die "capture-drop: B=$b C=$c D=$d (C should have missed some)"
  chain_down
  cat >"$CUR/expected.toml" <<EOF
why = "C's capture was stalled (tiny ring + SIGSTOP) and dropped $((b - c)) of the flow's packets itself (pcapng isb_osdrop); the network lost nothing"
exit = 0

[[flow]]
label = "UDP 198.18.17.1:5000 → 198.18.17.2:6000"
direction = "forward"
verdict = ["delivered", "inconclusive"]
lost = 0
must_not_blame = [["B", "C"], ["C", "D"]]
EOF
}

ovs_start() {  # ovs_start NS: private ovsdb-server + ovs-vswitchd inside NS, state under $WORK
  local ns=$1
  OVS_STATE="$WORK/ovs.$ns"
  mkdir -p "$OVS_STATE"
  local e=(env OVS_RUNDIR="$OVS_STATE" OVS_DBDIR="$OVS_STATE" OVS_LOGDIR="$OVS_STATE" OVS_SYSCONFDIR="$OVS_STATE")
  ovsdb-tool create "$OVS_STATE/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ip netns exec "$ns" "${e[@]}" ovsdb-server "$OVS_STATE/conf.db" --remote="punix:$OVS_STATE/db.sock" \
    --unixctl="$OVS_STATE/ovsdb-server.ctl" --pidfile="$OVS_STATE/ovsdb-server.pid" \
    --log-file="$OVS_STATE/ovsdb-server.log" --detach --no-chdir 2>>"$OVS_STATE/daemon-start.log"
  ovs_vsctl "$ns" --no-wait init
  ip netns exec "$ns" "${e[@]}" ovs-vswitchd "unix:$OVS_STATE/db.sock" --unixctl="$OVS_STATE/ovs-vswitchd.ctl" \
    --pidfile="$OVS_STATE/ovs-vswitchd.pid" --log-file="$OVS_STATE/ovs-vswitchd.log" --detach --no-chdir \
    2>>"$OVS_STATE/daemon-start.log"
}
ovs_vsctl() { local ns=$1; shift; ip netns exec "$ns" ovs-vsctl --db="unix:$OVS_STATE/db.sock" --timeout=10 "$@"; }
ovs_stop() {
  local f pid
  for f in "$OVS_STATE/ovs-vswitchd.pid" "$OVS_STATE/ovsdb-server.pid"; do
    [[ -r $f ]] || continue
    pid=$(<"$f")
    kill -TERM "$pid" 2>/dev/null || true
  done
}

case_ovs-mtu-large-loss() {
  chain_up 18 none
  ovs_start "$CH_R"
  ip -n "$CH_R" link set p2 mtu 1000
  ovs_vsctl "$CH_R" add-br br0 -- set bridge br0 datapath_type=netdev fail_mode=standalone \
    -- add-port br0 p1 -- add-port br0 p2
  local i
  for i in $(seq 50); do
    if [[ $(ovs_vsctl "$CH_R" get interface p2 ofport 2>/dev/null) =~ ^[1-9][0-9]*$ ]]; then break; fi
    sleep 0.1
  done
  ip -n "$CH_R" link set br0 down 2>/dev/null || true
  sleep 1
  note "OVS bridge br0 (userspace datapath, private daemons in $CH_R) between p1 and p2; p2 has MTU 1000"
  chain_cap
  markers "$CH_A" 198.18.18.2
  ip netns exec "$CH_A" python3 "$TOOLS/send.py" udp --dst 198.18.18.2 --dport 6000 --sport 5000 \
    --count 200 --rate 100 --sizes 100,600,1200,1400 --df >>"$CUR/capture.txt"
  markers "$CH_A" 198.18.18.2
  uncap_all
  note "ovs-vswitchd: $(grep -c 'Message too long' "$OVS_STATE/ovs-vswitchd.log" || true) 'error sending Ethernet packet on p2: Message too long'"
  local l
  for l in A B C D; do note "$l: $(python3 "$TOOLS/pcap_dups.py" "$CUR/$l.pcap") (frames unique duplicates over-1514)"; done
  chain_inv "UDP of mixed sizes a → b through an OVS userspace bridge whose port p2 has MTU 1000"
  local b c big dups
  b=$(npk "$CUR/B.pcap" 'udp port 6000'); c=$(npk "$CUR/C.pcap" 'udp port 6000')
  big=$(npk "$CUR/B.pcap" 'udp port 6000 and greater 1015')
  dups=$(python3 "$TOOLS/pcap_dups.py" "$CUR/B.pcap" | awk '{print $3}')
  ovs_stop
  chain_down
  [[ $b -ge 200 && $((b - dups - c)) -eq $big ]] || die "ovs-mtu-large-loss: B=$b C=$c large=$big dups=$dups"
  cat >"$CUR/expected.toml" <<EOF
why = "OVS userspace datapath refuses frames over p2's MTU (1000): only the $big large frames are lost between B and C"
exit = 0

[[flow]]
label = "UDP 198.18.18.1:5000 → 198.18.18.2:6000"
direction = "forward"
verdict = "partial_loss"
hop = ["B", "C"]
lost = $big
delivered = $c
must_say = ["bytes"]
EOF
}

# ================================================================ VXLAN =======================
#  ${P}-vm1 eth0 ─veth─ tap1 [brv: tap1, vx0] ${P}-hv1 u0 ═══ u0 ${P}-hv2 [brv: vx0, tap2] tap2 ─veth─ eth0 ${P}-vm2
vxlan_up() {
  local port=$1 h
  ns_new hv1 hv2 vm1 vm2
  ip -n "${P}-hv1" link add u0 type veth peer name u0 netns "${P}-hv2"
  ip -n "${P}-hv1" link set u0 address 02:70:74:14:00:01
  ip -n "${P}-hv2" link set u0 address 02:70:74:14:00:02
  ip -n "${P}-hv1" addr add 198.18.20.1/24 dev u0
  ip -n "${P}-hv2" addr add 198.18.20.2/24 dev u0
  ip -n "${P}-hv1" link set u0 up
  ip -n "${P}-hv2" link set u0 up
  ip -n "${P}-hv1" neigh replace 198.18.20.2 lladdr 02:70:74:14:00:02 dev u0 nud permanent
  ip -n "${P}-hv2" neigh replace 198.18.20.1 lladdr 02:70:74:14:00:01 dev u0 nud permanent
  for h in 1 2; do
    local me=198.18.20.$h other=198.18.20.$((3 - h))
    ip -n "${P}-hv$h" link add vx0 type vxlan id 100 local "$me" remote "$other" dstport "$port" dev u0 nolearning
    ip -n "${P}-hv$h" link add brv type bridge stp_state 0 forward_delay 0
    ip -n "${P}-hv$h" link add "tap$h" type veth peer name eth0 netns "${P}-vm$h"
    ip -n "${P}-hv$h" link set vx0 master brv
    ip -n "${P}-hv$h" link set "tap$h" master brv
    ip -n "${P}-hv$h" link set vx0 up
    ip -n "${P}-hv$h" link set "tap$h" up
    ip -n "${P}-hv$h" link set brv up
    ip -n "${P}-vm$h" link set eth0 address "02:70:74:15:00:0$h"
    ip -n "${P}-vm$h" link set eth0 mtu 1450
    ip -n "${P}-vm$h" addr add "198.19.20.$h/24" dev eth0
    ip -n "${P}-vm$h" link set eth0 up
    ip -n "${P}-vm$h" neigh replace "198.19.20.$((3 - h))" lladdr "02:70:74:15:00:0$((3 - h))" dev eth0 nud permanent
    ip netns exec "${P}-vm$h" iptables -w -A INPUT -p udp -j DROP
  done
  sleep 2   # the IGMP reports of the new links go by before any capture starts
}
vxlan_record() {
  local port=$1
  cap A "${P}-vm1" eth0
  cap B "${P}-hv1" tap1
  cap C "${P}-hv1" u0
  cap D "${P}-hv2" u0
  cap E "${P}-hv2" tap2
  cap F "${P}-vm2" eth0
  markers "${P}-vm1" 198.19.20.2
  ip netns exec "${P}-vm1" ping -q -n -c 100 -i 0.01 -W 1 198.19.20.2 >>"$CUR/capture.txt" 2>&1 || true
  markers "${P}-vm1" 198.19.20.2
  uncap_all
  inv_header "VXLAN (id 100, UDP port $port) between hv1 and hv2: vm1 → vm2, points inside (B, E) and outside (C, D) the tunnel"
  inv A vm vm1 eth0 "${P}-vm1"
  inv B tap hv1 tap1 "${P}-hv1"
  inv C underlay hv1 u0 "${P}-hv1"
  inv D underlay hv2 u0 "${P}-hv2"
  inv E tap hv2 tap2 "${P}-hv2"
  inv F vm vm2 eth0 "${P}-vm2"
}

case_vxlan-two-hosts() {
  vxlan_up 4789
  tc_drop "${P}-hv2" u0 ingress --ipv4-proto 17 --byte 73=1 --byte 84=8 --rand 0.2
  note "20% of the VXLAN frames carrying an ICMP echo request that arrive at hv2's u0 are dropped after D's capture: loss between D and E"
  vxlan_record 4789
  local d e
  d=$(npk "$CUR/D.pcap" 'udp port 4789 and src host 198.18.20.1 and udp[39] = 1 and udp[50] = 8'); e=$(npk "$CUR/E.pcap" 'icmp[0] = 8')
  [[ $d -eq 100 && $e -lt 100 ]] || die "vxlan-two-hosts: D=$d E=$e"
  ns_del vm1 vm2 hv1 hv2
  cat >"$CUR/expected.toml" <<EOF
why = "VXLAN between two hosts, 20% of the encapsulated requests dropped at hv2 after its underlay capture: loss between D (outside) and E (inside)"
exit = 0

[[flow]]
label = "ICMP 198.19.20.1 → 198.19.20.2"
direction = "forward"
verdict = "partial_loss"
hop = ["D", "E"]
lost = $((d - e))
delivered = $e

[[flow]]
label = "ICMP 198.19.20.2 → 198.19.20.1"
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = $e
EOF
}

case_vxlan-port-8472() {
  vxlan_up 8472
  note "VXLAN on UDP port 8472 (the Linux kernel's historical default, flannel's) instead of 4789"
  vxlan_record 8472
  local e; e=$(npk "$CUR/E.pcap" 'icmp[0] = 8')
  [[ $e -eq 100 ]] || die "vxlan-port-8472: E=$e"
  ns_del vm1 vm2 hv1 hv2
  cat >"$CUR/expected.toml" <<'EOF'
why = "VXLAN on port 8472: without --vxlan-port 8472 the underlay points C and D cannot be decoded; nothing was lost"
exit = 0

[[flow]]
label = "ICMP 198.19.20.1 → 198.19.20.2"
direction = "forward"
verdict = "delivered"
lost = 0
delivered = 100
must_not_blame = [["B", "C"], ["C", "D"], ["D", "E"]]

[[flow]]
label = "ICMP 198.19.20.2 → 198.19.20.1"
verdict = "delivered"
lost = 0
delivered = 100

[[point]]
label = "C"
usable = false
problem = "vxlan_port"

[[point]]
label = "D"
usable = false
problem = "vxlan_port"
EOF
}

# ================================================================== NAT =======================
# The Neutron L3 lab, used as is (tests/lab/neutron_l3_lab.sh, docs/lab.md "The L3 variant"),
# under the corpus prefix: ${P}-ext ─ ${P}-hv br-ex ─ ${P}-qrouter qg-… (floating IP
# 198.18.1.10, DNAT → 198.19.0.5, SNAT back) qr-… ─ ${P}-hv br-int ─ tap… ─ ${P}-vm 198.19.0.5.
# The points, their namespaces and interfaces come from the lab's own inventory.
L3LAB="$LAB/neutron_l3_lab.sh"
nat_up() {
  "$L3LAB" up "$P"
  eval "$("$L3LAB" env "$P")"
  note "lab: tests/lab/neutron_l3_lab.sh up $P (floating IP $PTL3_FIP → $PTL3_VM_IP in $PTL3_NS_QROUTER)"
  note "qrouter nat table: $(ip netns exec "$PTL3_NS_QROUTER" iptables -w -t nat -S | grep -E 'DNAT|SNAT' | tr '\n' ';')"
}
nat_down() { "$L3LAB" down "$P"; }
nat_record() {
  PTLAB_INV_HOSTS=names PTLAB_INV_FILES=1 "$L3LAB" inventory "$P" >"$CUR/inventory.toml"
  local label ns ifc
  while read -r label ns ifc; do
    cap "$label" "$ns" "$ifc"
  done < <(python3 -c 'import sys, tomllib
for p in tomllib.load(open(sys.argv[1], "rb"))["point"]: print(p["label"], p["netns"], p["iface"])' "$CUR/inventory.toml")
  [[ ${#CAP_PID[@]} -eq 5 ]] || die "the L3 lab's inventory should have five points"
  markers "$PTL3_NS_EXT" "$PTL3_FIP"
  ip netns exec "$PTL3_NS_EXT" ping -q -n -c 100 -i 0.01 -W 1 "$PTL3_FIP" >>"$CUR/capture.txt" 2>&1 || true
  markers "$PTL3_NS_EXT" "$PTL3_FIP"
  uncap_all
}

case_nat-delivered() {
  nat_up
  nat_record
  local a; a=$(npk "$CUR/A.pcap" 'icmp[0] = 8 and dst host 198.19.0.5')
  [[ $a -eq 100 ]] || die "nat-delivered: A saw $a requests"
  nat_down
  cat >"$CUR/expected.toml" <<'EOF'
why = "ping to a floating IP: DNAT 198.18.1.10 → 198.19.0.5 between D (qg) and C (qr), replies SNATed back; nothing lost"
exit = 0

[[flow]]
label = ["ICMP 198.18.1.1 → 198.18.1.10", "ICMP 198.18.1.1 → 198.19.0.5"]
direction = "reverse"
verdict = "delivered"
lost = 0
delivered = 100

[[flow]]
label = ["ICMP 198.19.0.5 → 198.18.1.1", "ICMP 198.18.1.10 → 198.18.1.1"]
direction = "forward"
verdict = "delivered"
lost = 0
delivered = 100

[[flow]]
label = "ICMP "
verdict = "delivered"

[[translation]]
between = ["D", "C"]
before = "198.18.1.10"
after = "198.19.0.5"
EOF
}

case_nat-drop-after-dnat() {
  nat_up
  tc_drop "$PTL3_NS_HV" "$PTL3_TAP" egress --ipv4-proto 1 --icmp-type 8
  note "echo requests are dropped at the tap's egress in the hypervisor (before B's capture): after the DNAT, between C (qr) and B (tap)"
  nat_record
  local c a
  c=$(npk "$CUR/C.pcap" 'icmp[0] = 8'); a=$(npk "$CUR/A.pcap" icmp)
  [[ $c -eq 100 && $a -eq 0 ]] || die "nat-drop-after-dnat: C=$c A=$a"
  nat_down
  cat >"$CUR/expected.toml" <<'EOF'
why = "floating-IP DNAT between D and C, then the requests are dropped between C (qr) and B (tap): blame C→B, not the translating hop"
exit = 1                               # a flow lost packets (docs/cli.md#exit-codes)

[[flow]]
label = ["ICMP 198.18.1.1 → 198.18.1.10", "ICMP 198.18.1.1 → 198.19.0.5"]
direction = "reverse"
verdict = "disappears"
hop = ["C", "B"]
lost = 100
delivered = 0
must_not_blame = [["D", "C"]]

[[translation]]
between = ["D", "C"]
before = "198.18.1.10"
after = "198.19.0.5"
EOF
}

# ================================================================== main ======================
# Chain, VXLAN and NAT cases first, then everything that needs the Neutron lab.
needs_neutron() {
  case $1 in
    both-directions-ping|ipv6-udp-loss|mtu-large-loss|random-loss-10pct|icmp-flood-id0|gso-aggregates|\
    capture-drop|ovs-mtu-large-loss|vxlan-two-hosts|vxlan-port-8472|nat-delivered|nat-drop-after-dnat) return 1 ;;
    *) return 0 ;;
  esac
}
ordered=()
for c in "${CASES[@]}"; do needs_neutron "$c" || ordered+=("$c"); done
for c in "${CASES[@]}"; do if needs_neutron "$c"; then ordered+=("$c"); fi; done

for c in "${ordered[@]}"; do
  log "recording $c"
  set_begin "$c" "case $c"
  "case_$c"
  [[ -s $CUR/expected.toml ]] || die "$c: no expected.toml"
  set_end "$c"
done
nl_down
log "done: ${#ordered[@]} sets in $SETS ($(du -sk "$SETS" | cut -f1) KiB in all)"
