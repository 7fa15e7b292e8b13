#!/usr/bin/env bash
# Live lab tests of address translation: `pathtrace run` capturing for real at the five points
# A..E of the Neutron L3 lab (neutron_l3_lab.sh, docs/lab.md), while traffic crosses the
# router's floating-IP DNAT and SNAT (docs/verdicts.md rule 9).
#
#   l3_live_test.sh CASE PATHTRACE
#     delivered  the external host pings the floating IP 198.18.1.10 and talks TCP to its
#                port 22 (UDP markers before and after): every flow delivered both ways, exit 0;
#                requests "translated between D and C: 198.18.1.10 → 198.19.0.5", replies
#                "translated between C and D: 198.19.0.5 → 198.18.1.10"; the same in JSON
#     drop       the same traffic, echo requests dropped at the tap's egress (tc, after the
#                DNAT): the ping disappears between C (qr) and B (tap), never between D and C,
#                its translation still named; TCP and the markers delivered; exit 1
#     snat       the VM talks TCP to the external host's port 22 (UDP markers before and after):
#                SNAT to the floating IP with --random-fully, ports rewritten; delivered,
#                "translated between C and D: 198.19.0.5:P → 198.18.1.10:Q", replies back
#     snat_ping  the VM pings the external host: delivered, translated between C and D, the
#                echo identifier rewritten by --random-fully named in the translation (it is
#                in the flow key like a port, so requests and replies pair across the router).
#
# Exit: 0 pass, 1 fail, 77 skip (not root, no namespaces) — ctest SKIP_RETURN_CODE.
set -uo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)

CASE=${1:?case}
PT=${2:?pathtrace binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/neutron_l3_lab.sh"
TC_BPF="$HERE/../corpus/tools/tc_bpf.py"
P="l3$(( $$ % 100000 ))"
WORK=$(mktemp -d "/tmp/pathtrace-l3live-$P.XXXXXX")
DB="$WORK/run.db"

source "$HERE/lib.sh"  # skip, expect, reject
fail() {
  echo "FAIL ($CASE): $*"
  [ -f "$WORK/out" ] && { echo "--- stdout"; cat "$WORK/out"; }
  [ -f "$WORK/err" ] && { echo "--- stderr"; tail -40 "$WORK/err"; }
  exit 1
}
cleanup() {
  bash "$LAB" down "$P" >/dev/null 2>&1
  rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, iptables, tc)"
[ -x "$PT" ] || fail "no pathtrace binary at $PT"
case $CASE in delivered|drop|snat|snat_ping) ;; *) fail "unknown case" ;; esac

t0=$(date +%s.%N)
bash "$LAB" up "$P" >"$WORK/lab.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "$(tail -1 "$WORK/lab.log")"
[ $rc -eq 0 ] || { cat "$WORK/lab.log"; fail "lab did not come up"; }
bash "$LAB" inventory "$P" >"$WORK/inv.toml" || fail "no inventory"
eval "$(bash "$LAB" env "$P")"
echo "lab up in $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s"
# The kernel sends its unsolicited IGMPv3 reports (to 224.0.0.22, from 0.0.0.0) during the
# first seconds after an interface comes up: let them pass before capturing, so that the flows
# counted below are the test's own (pathtrace does not judge them: link-local, rule 4).
sleep 3

# run TRAFFIC: pathtrace run on the five points, every flow's block (--all); sets $code.
run() {
  local t1
  t1=$(date +%s.%N)
  "$PT" run --db "$DB" --inventory "$WORK/inv.toml" --points A..E --quiet --all \
    --traffic "$1" >"$WORK/out" 2>"$WORK/err" </dev/null
  code=$?
  echo "pathtrace run took $(python3 -c "print(f'{$(date +%s.%N) - $t1:.1f}')") s, exit $code"
}
# block REGEX: the report's block of the one flow whose title line matches ^REGEX$ (title,
# point table, verdict, translation), into $WORK/block; fails unless exactly one flow matches.
block() {
  local n
  n=$(grep -cE "^$1\$" "$WORK/out")
  [ "$n" -eq 1 ] || fail "expected one flow /^$1\$/ in the report, found $n"
  RE="^$1\$" awk '$0 ~ ENVIRON["RE"] {on = 1; print; next} on && /^  / {print; next} {on = 0}' "$WORK/out" >"$WORK/block"
}
in_block() { grep -qE -- "$1" "$WORK/block" || { cat "$WORK/block"; fail "expected in that flow's block: /$1/"; }; }
# nat_count CHAIN: packets counted by the (one) NAT rule of that chain in the qrouter: what the
# kernel really translated (the nat table sees the first packet of each connection).
nat_count() {
  ip netns exec "$PTL3_NS_QROUTER" iptables -w -t nat -nvxL "$1" | awk '/NAT/ {print $1; exit}'
}

fip=198.18.1.10 fixed=198.19.0.5 ext=198.18.1.1
fip_re=${fip//./\\.} fixed_re=${fixed//./\\.} ext_re=${ext//./\\.}   # for regular expressions
case $CASE in
  delivered|drop)
    if [ "$CASE" = drop ]; then
      # Echo requests die at the tap's egress, after the router's DNAT: between C and B.
      bpf=$(python3 "$TC_BPF" --ipv4-proto 1 --icmp-type 8) || fail "tc_bpf.py"
      ip netns exec "$PTL3_NS_HV" tc qdisc add dev "$PTL3_TAP" clsact || fail "tc qdisc"
      ip netns exec "$PTL3_NS_HV" tc filter add dev "$PTL3_TAP" egress bpf da bytecode "$bpf" || fail "tc filter"
    fi
    dnat0=$(nat_count neutron-l3-agent-PREROUTING)
    run "bash $LAB traffic in $P"
    dnat=$(( $(nat_count neutron-l3-agent-PREROUTING) - dnat0 ))
    # The kernel DNATed 4 connections: the ping, the TCP connection, two marker sockets.
    [ "$dnat" -eq 4 ] || fail "the qrouter's DNAT rule counted $dnat new connections, expected 4"
    reject "lost between D and C"
    reject "between D (qg"
    # The ping's requests: to the floating IP at E and D, to the fixed IP from C on.
    block "ICMP $ext_re → $fip_re id [0-9]+"
    in_block "^  D +qg +qg-7a3f0c1e-2b(@[^ ]+)? +100 +100 "
    in_block "^  C +qr +qr-5c6d7e8f-9a(@[^ ]+)? +100 +100 "
    in_block "^  translated between D and C: $fip_re → $fixed_re \(100 packets paired\)$"
    # TCP to the floating IP's port 22 and the markers: delivered, translated, in both cases.
    block "TCP $ext_re:[0-9]+ → $fip_re:22"
    in_block "^  → delivered: ([0-9]+) of \1 reached A \(vm eth0\)$"
    in_block "^  translated between D and C: $fip_re → $fixed_re \([0-9]+ packets paired\)$"
    block "TCP $fixed_re:22 → $ext_re:[0-9]+"
    in_block "^  → delivered: ([0-9]+) of \1 reached E \(nic eth1\)$"
    in_block "^  translated between C and D: $fixed_re → $fip_re \([0-9]+ packets paired\)$"
    [ "$(grep -cE "^UDP $ext_re:[0-9]+ → $fip_re:9$" "$WORK/out")" -eq 2 ] || fail "expected two marker flows"
    [ "$(grep -cxF "  → delivered: 10 of 10 reached A (vm eth0)" "$WORK/out")" -eq 2 ] || fail "markers not delivered"
    [ "$(grep -cxF "  translated between D and C: $fip → $fixed (10 packets paired)" "$WORK/out")" -eq 2 ] \
      || fail "markers' translation not named"
    if [ "$CASE" = delivered ]; then
      [ $code -eq 0 ] || fail "exit code $code, expected 0 (delivered)"
      expect "verdict: delivered: every judged packet of 6 flows reached the far end"
      reject "lost between"
      block "ICMP $ext_re → $fip_re id [0-9]+"
      in_block "^  → delivered: 100 of 100 reached A \(vm eth0\)$"
      in_block "^  A +vm +eth0(@[^ ]+)? +100 +100 "
      # The replies: from the fixed IP at A..C, from the floating IP at D and E (un-DNAT).
      block "ICMP $fixed_re → $ext_re id [0-9]+"
      in_block "^  → delivered: 100 of 100 reached E \(nic eth1\)$"
      in_block "^  translated between C and D: $fixed_re → $fip_re \(100 packets paired\)$"
      in_block "^  E +nic +eth1(@[^ ]+)? +100 +100 "
    else
      [ $code -eq 1 ] || fail "exit code $code, expected 1 (the ping lost its requests)"
      grep -qE "^verdict: ICMP $ext_re → $fip_re id [0-9]+: disappears between C \(qr qr-5c6d7e8f-9a\) and B \(tap tapd00dfeed-12\): 100 of 100 lost \(100%\)$" "$WORK/out" \
        || fail "expected the verdict: the ping disappears between C and B"
      block "ICMP $ext_re → $fip_re id [0-9]+"
      in_block "^  B +tap +tapd00dfeed-12(@[^ ]+)? +0 +0 +✗ 100 lost between C and B \(100%\)$"
      in_block "^  → disappears between C \(qr qr-5c6d7e8f-9a\) and B \(tap tapd00dfeed-12\): 100 of 100 lost \(100%\)$"
      ! grep -qE "^ICMP $fixed_re → $ext_re id [0-9]+$" "$WORK/out" || fail "no echo reply can exist"
    fi
    "$PT" report --db "$DB" --json >"$WORK/json" 2>>"$WORK/err" || [ $? -eq 1 ] || fail "report --json failed"
    python3 -c '
import json, sys
case, fip, fixed, ext = sys.argv[2:6]
r = json.load(open(sys.argv[1]))
def only(prefix):  # the one result of that ICMP flow (its label ends with its echo identifier)
    (x,) = [x for x in r["results"] if x["flow_label"].startswith(prefix + " id ")]
    return x
req = only("ICMP %s → %s" % (ext, fip))
assert req["translations"] == [{"from": "D", "to": "C", "before": fip, "after": fixed, "packets": 100,
                                "text": "translated between D and C: %s → %s" % (fip, fixed)}], req["translations"]
hops = {(h["from"], h["to"]): h for h in req["hops"]}
assert hops[("D", "C")]["lost"] == 0, hops[("D", "C")]
def link_local(x):  # an IGMP report the kernel sent while we captured: stops at the router by design
    return x["verdict"] == "not_judged" and x["summary"].startswith("not judged: a link-local destination")
for x in r["results"]:
    if x["flow_label"] != req["flow_label"] and not link_local(x):
        assert x["verdict"] == "delivered", x["flow_label"]
        assert len(x["translations"]) == 1 and x["translations"][0]["packets"] == x["delivered"], x["translations"]
if case == "delivered":
    assert r["verdict"]["loss"] is False, r["verdict"]
    assert req["verdict"] == "delivered" and req["delivered"] == 100, req["verdict"]
    rep = only("ICMP %s → %s" % (fixed, ext))
    assert rep["verdict"] == "delivered" and rep["delivered"] == 100, rep["verdict"]
    assert [(t["from"], t["to"], t["before"], t["after"], t["packets"]) for t in rep["translations"]] == \
        [("C", "D", fixed, fip, 100)], rep["translations"]
else:
    assert r["verdict"]["loss"] is True, r["verdict"]
    assert req["verdict"] == "disappears" and req["headline_hop"] == {"from": "C", "to": "B"}, req["headline_hop"]
    assert (hops[("C", "B")]["in"], hops[("C", "B")]["out"], hops[("C", "B")]["lost"]) == (100, 0, 100), hops[("C", "B")]
' "$WORK/json" "$CASE" "$fip" "$fixed" "$ext" || fail "report --json: translations[] / verdicts not as expected"
    ;;
  snat)
    snat0=$(nat_count neutron-l3-agent-float-snat)
    run "PING_COUNT=0 bash $LAB traffic out $P"
    snat=$(( $(nat_count neutron-l3-agent-float-snat) - snat0 ))
    # The kernel SNATed 3 connections: the TCP connection and two marker sockets.
    [ "$snat" -eq 3 ] || fail "the qrouter's float-snat rule counted $snat new connections, expected 3"
    [ $code -eq 0 ] || fail "exit code $code, expected 0 (delivered)"
    expect "verdict: delivered: every judged packet of 4 flows reached the far end"
    reject "lost between"
    # --random-fully rewrote the source port: the translation names address and port.
    block "TCP $fixed_re:[0-9]+ → $ext_re:22"
    in_block "^  → delivered: ([0-9]+) of \1 reached E \(nic eth1\)$"
    in_block "^  translated between C and D: $fixed_re:[0-9]+ → $fip_re:[0-9]+ \([0-9]+ packets paired\)$"
    out=$(grep -oE "^  translated between C and D: $fixed_re:[0-9]+ → $fip_re:[0-9]+" "$WORK/block" | grep -oE "[0-9.]+:[0-9]+" | tr '\n' ' ')
    read -r vm_end fip_end <<<"$out"
    [ "TCP $vm_end → $ext:22" = "$(head -1 "$WORK/block")" ] || fail "the translation's VM side $vm_end is not the flow's"
    # The replies come back to the floating IP's rewritten port and are translated back.
    block "TCP $ext_re:22 → ${fip_end//./\\.}"
    in_block "^  → delivered: ([0-9]+) of \1 reached A \(vm eth0\)$"
    in_block "^  translated between D and C: ${fip_end//./\\.} → ${vm_end//./\\.} \([0-9]+ packets paired\)$"
    [ "$(grep -cE "^UDP $fixed_re:[0-9]+ → $ext_re:9$" "$WORK/out")" -eq 2 ] || fail "expected two marker flows"
    [ "$(grep -cxF "  → delivered: 10 of 10 reached E (nic eth1)" "$WORK/out")" -eq 2 ] || fail "markers not delivered"
    [ "$(grep -cE "^  translated between C and D: $fixed_re:[0-9]+ → $fip_re:[0-9]+ \(10 packets paired\)$" "$WORK/out")" -eq 2 ] \
      || fail "markers' translation not named"
    "$PT" report --db "$DB" --json >"$WORK/json" 2>>"$WORK/err" || fail "report --json failed"
    python3 -c '
import json, sys
fip, fixed = sys.argv[2:4]
r = json.load(open(sys.argv[1]))
assert r["verdict"]["loss"] is False, r["verdict"]
n = 0
for x in r["results"]:
    if x["verdict"] == "not_judged" and x["summary"].startswith("not judged: a link-local destination"):
        continue  # an IGMP report the kernel sent while we captured: stops at the router by design
    assert x["verdict"] == "delivered", x["flow_label"]
    (t,) = x["translations"]
    assert t["packets"] == x["delivered"], t
    if x["path"][0] == "A":
        assert (t["from"], t["to"]) == ("C", "D") and t["before"].startswith(fixed + ":") and t["after"].startswith(fip + ":"), t
        n += 1
    else:
        assert (t["from"], t["to"]) == ("D", "C") and t["before"].startswith(fip + ":") and t["after"].startswith(fixed + ":"), t
assert n == 3, n
' "$WORK/json" "$fip" "$fixed" || fail "report --json: translations[] not as expected"
    ;;
  snat_ping)
    run "TCP_SECONDS=0.3 bash $LAB traffic out $P"
    # What is true: ping printed "100 received"; every request and reply crossed the router.
    block "ICMP $fixed_re → $ext_re id [0-9]+"
    in_block "^  → delivered: 100 of 100 reached E \(nic eth1\)$"
    in_block "^  translated between C and D: $fixed_re id [0-9]+ → $fip_re id [0-9]+ \(100 packets paired\)$"
    # The replies to the rewritten identifier, translated back to the VM's.
    out=$(grep -oE "^  translated between C and D: $fixed_re id [0-9]+ → $fip_re id [0-9]+" "$WORK/block" | grep -oE "id [0-9]+" | tr -d 'id ' | tr '\n' ' ')
    read -r vm_id fip_id <<<"$out"
    [ -n "$fip_id" ] && [ "$vm_id" != "$fip_id" ] || fail "the identifier was not rewritten ($vm_id → $fip_id)"
    block "ICMP $ext_re → $fip_re id $fip_id"
    in_block "^  → delivered: 100 of 100 reached A \(vm eth0\)$"
    in_block "^  translated between D and C: $fip_re id $fip_id → $fixed_re id $vm_id \(100 packets paired\)$"
    reject "lost between"
    [ $code -eq 0 ] || fail "exit code $code, expected 0 (delivered)"
    ;;
esac
echo "--- report"; cat "$WORK/out"
echo "PASS ($CASE)"
