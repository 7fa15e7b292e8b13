#!/usr/bin/env bash
# explain_test.sh PATHTRACE EXPLAIN_TOOL [hybrid|ovsfw] — explain on the labs (docs/neutron.md).
# EXPLAIN_TOOL (tests/unit/neutron/neutron_explain_tool) makes the calls `run --explain` makes:
# discover the port, snapshot the counters, run `neutron_lab.sh traffic` (200 IPIP), snapshot
# again, explain the 200 lost packets, store the result.
#   broken: names the per-port ingress chain and the fallback DROP, +200, suggests `-p 4`;
#           the counter delta of 200 is stored in the database
#   fixed:  nothing is blamed
#   both:   iptables-save (without counters), ovs-vsctl show and ip link are unchanged
# ovsfw (neutron_variants.sh ovsfw): the 200 IPIP die in br-int's table 82 (native OVS
#   firewall's ingress rules): that OpenFlow drop is named with +200 and the ingress rule
#   suggested (OpenFlow counters lag the datapath: snapshot() waits for them to settle).
# Exit 0 pass, 1 fail, 77 skip.
# shellcheck disable=SC2317  # cleanup and the helpers run through trap and check()
set -euo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)
PT=${1:?pathtrace binary}
TOOL=${2:?neutron_explain_tool binary}
CASE=${3:-hybrid}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "SKIP: lab tests need root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

P="pte$(printf '%05d' $((RANDOM % 100000)))"
TMP=$(mktemp -d "/tmp/pathtrace-explain.$P.XXXXXX")
fail=0
cleanup() {
  if [[ $CASE == ovsfw ]]; then "$HERE/neutron_variants.sh" down ovsfw "$P" >/dev/null 2>&1 || true
  else "$HERE/neutron_lab.sh" down "$P" >/dev/null 2>&1 || true; fi
  [[ $TMP == /tmp/pathtrace-explain.* ]] && rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
state_of() {
  ip netns exec "$PTLAB_NS_HV" iptables-save | { grep -v '^#' || true; }
  ip netns exec "$PTLAB_NS_HV" ovs-vsctl --db="$DB" show
  ip -n "$PTLAB_NS_HV" -o link
}
settle() {
  local prev="" cur
  for _ in $(seq 20); do
    cur=$(state_of); [[ $cur == "$prev" ]] && return 0
    prev=$cur; sleep 1
  done
}
to() { local out=$1; shift; "$@" >"$out" 2>&1; }  # to FILE COMMAND...: output into FILE
has() { grep -qF -- "$1" "$2" || { echo "  missing in $2: $1"; sed 's/^/    /' "$2"; return 1; }; }
hasnt() { ! grep -qF -- "$1" "$2" || { echo "  unexpected in $2: $1"; return 1; }; }

if [[ $CASE == ovsfw ]]; then
  rc=0; "$HERE/neutron_variants.sh" up ovsfw "$P" >"$TMP/up.log" 2>&1 || rc=$?
  if [[ $rc -eq 77 ]]; then grep SKIP "$TMP/up.log" || echo "SKIP: lab cannot run"; exit 77; fi
  [[ $rc -eq 0 ]] || { cat "$TMP/up.log"; echo "FAIL: variant up"; exit 1; }
  eval "$("$HERE/neutron_variants.sh" env ovsfw "$P")"
  # shellcheck disable=SC2153  # PTVAR_* come from the eval above
  PTLAB_NS_HV=$PTVAR_NS_HV
  DB="unix:$PTVAR_STATE/db.sock"
  settle; state_of >"$TMP/before"
  check "ovsfw: explain runs" to "$TMP/ovsfw.txt" env IPIP_COUNT=200 "$TOOL" --netns "$PTVAR_NS_HV" \
    --ovs-db "$DB" --port "$PTVAR_PORT_UUID" --lost 200 --proto 4 \
    -- "$HERE/neutron_variants.sh" traffic ovsfw "$P"
  check "  … names br-int's table 82 drop, +200" has "openflow br-int: table=82: drop  +200 packets" "$TMP/ovsfw.txt"
  check "  … says it is the native firewall's ingress table" has "native OVS firewall holds the ingress rules" "$TMP/ovsfw.txt"
  check "  … suggests the protocol-4 ingress rule" has "ingress, IPv4, protocol 4 (IPIP), 0.0.0.0/0" "$TMP/ovsfw.txt"
  check "  … blames nothing in iptables" hasnt "iptables filter:" "$TMP/ovsfw.txt"
  state_of >"$TMP/after"
  check "read-only (ovsfw): iptables-save, ovs-vsctl show, ip link unchanged" diff "$TMP/before" "$TMP/after"
  [[ $fail -eq 0 ]] && echo "PASS" || echo "FAILED"
  exit $fail
fi

rc=0; "$HERE/neutron_lab.sh" up "$P" >"$TMP/up.log" 2>&1 || rc=$?
if [[ $rc -eq 77 ]]; then grep SKIP "$TMP/up.log" || echo "SKIP: lab cannot run"; exit 77; fi
[[ $rc -eq 0 ]] || { cat "$TMP/up.log"; echo "FAIL: lab up"; exit 1; }
eval "$("$HERE/neutron_lab.sh" env "$P")"
DB="unix:$PTLAB_STATE/db.sock"

explain_around_traffic() {  # OUT LOST
  IPIP_COUNT=200 "$TOOL" --netns "$PTLAB_NS_HV" --ovs-db "$DB" --port "$PTLAB_PORT_UUID" \
    --lost "$2" --proto 4 --src "$PTLAB_DIR_IP" --dst "$PTLAB_VM_IP" --db "$TMP/t.db" \
    -- "$HERE/neutron_lab.sh" traffic "$P" >"$1" 2>"$1.err"
}

settle; state_of >"$TMP/before"
check "broken: explain runs" explain_around_traffic "$TMP/broken.txt" 200
check "  … names the per-port ingress chain and the fallback DROP, +200" has \
  "iptables filter: FORWARD → neutron-openvswi-FORWARD → neutron-openvswi-sg-chain → neutron-openvswi-i${PTLAB_PORT_UUID:0:10} → neutron-openvswi-sg-fallback: DROP  +200 packets" "$TMP/broken.txt"
check "  … the fallback rule itself" has 'rule: -A neutron-openvswi-sg-fallback -m comment --comment "default drop rule for unmatched traffic" -j DROP' "$TMP/broken.txt"
check "  … suggests the protocol-4 ingress rule" has "ingress, IPv4, protocol 4 (IPIP), 0.0.0.0/0" "$TMP/broken.txt"
check "  … as Neutron renders it" has "Neutron renders it as: -A neutron-openvswi-i${PTLAB_PORT_UUID:0:10} -p 4 -j RETURN" "$TMP/broken.txt"
RUN=$(sed -n 's/^stored as run \([0-9]*\)$/\1/p' "$TMP/broken.txt")
check "  … stored as a run of its own" test -n "$RUN"
q() { python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$TMP/t.db" "$1"; }
check "  … stored: sg-fallback's counter delta is 200" \
  test "$(q "select packets from counter_deltas where run_id=$RUN and chain='neutron-openvswi-sg-fallback'")" = 200
check "  … stored: the attribution's chain path" \
  test "$(q "select packets from attributions where run_id=$RUN and rank=1 and port_chain='neutron-openvswi-i${PTLAB_PORT_UUID:0:10}'")" = 200
check "  … stored: the discovered points A..F (no VM iface given: tap first)" \
  test "$(q "select group_concat(label||':'||role, ' ') from (select * from neutron_points where run_id=$RUN order by ord)")" = "A:tap B:qbr C:qvb D:qvo E:br-ethx F:nic"
state_of >"$TMP/after"
check "read-only (broken): iptables-save, ovs-vsctl show, ip link unchanged" diff "$TMP/before" "$TMP/after"

"$HERE/neutron_lab.sh" fix "$P" 2>/dev/null
settle; state_of >"$TMP/before2"
check "fixed: explain runs" explain_around_traffic "$TMP/fixed.txt" 200
check "  … nothing is blamed" has "explain: no filtering rule's counter grew by about 200 packets" "$TMP/fixed.txt"
check "  … no DROP named" hasnt "sg-fallback: DROP" "$TMP/fixed.txt"
check "  … read the OpenFlow tables of the port's bridges too" has "openflow br-int, openflow br-ethx" "$TMP/fixed.txt"
check "fixed, nothing lost: explain runs" explain_around_traffic "$TMP/fixed0.txt" 0
check "  … says nothing to attribute" has "explain: nothing lost" "$TMP/fixed0.txt"
# A host without iptables: said, not fatal (PATH with only ip and ovs-vsctl).
mkdir "$TMP/bin"; ln -s "$(command -v ip)" "$TMP/bin/ip"; ln -s "$(command -v ovs-vsctl)" "$TMP/bin/ovs-vsctl"
check "no iptables-save: explain still runs" to "$TMP/noipt.txt" env PATH="$TMP/bin" "$TOOL" \
  --netns "$PTLAB_NS_HV" --ovs-db "$DB" --port "$PTLAB_PORT_UUID" --lost 200 --proto 4 -- /bin/true
check "  … and says what it could not read" has "(not read: iptables: iptables-save not found in PATH)" "$TMP/noipt.txt"
state_of >"$TMP/after2"
check "read-only (fixed): iptables-save, ovs-vsctl show, ip link unchanged" diff "$TMP/before2" "$TMP/after2"

[[ $fail -eq 0 ]] && echo "PASS" || echo "FAILED"
exit $fail
