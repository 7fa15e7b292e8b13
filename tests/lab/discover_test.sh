#!/usr/bin/env bash
# discover_test.sh CASE PATHTRACE — `pathtrace discover` on the labs (docs/neutron.md).
#   hybrid       neutron_lab.sh: --port UUID prints exactly the lab's A..G (same as
#                `neutron_lab.sh inventory`), --tap gives the same; errors; read-only
#   ovsfw        neutron_variants.sh ovsfw: tap on br-int, patch ports to br-ethx
#   linuxbridge  neutron_variants.sh linuxbridge: brq + tap
# Exit 0 pass, 1 fail, 77 skip (not root, no OVS, ...).
# shellcheck disable=SC2317  # cleanup and the helpers run through trap and check()
set -euo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)
CASE=${1:?case}
PT=${2:?pathtrace binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ $(id -u) -eq 0 ]] || { echo "SKIP: lab tests need root"; exit 77; }
[[ -x $PT ]] || { echo "FAIL: $PT is not executable"; exit 1; }

P="ptd$(printf '%05d' $((RANDOM % 100000)))"
TMP=$(mktemp -d "/tmp/pathtrace-discover.$P.XXXXXX")
fail=0
cleanup() {
  if [[ $CASE == hybrid ]]; then "$HERE/neutron_lab.sh" down "$P" >/dev/null 2>&1 || true
  else "$HERE/neutron_variants.sh" down "$CASE" "$P" >/dev/null 2>&1 || true; fi
  [[ $TMP == /tmp/pathtrace-discover.* ]] && rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}
# The [[point]] tables only (comments and blank lines dropped): what a person compares.
points_of() { grep -v -e '^#' -e '^$' "$1"; }

# What must not change: rules (no counters), OVS configuration, links.
state_of() {
  local ns=$1 db=$2
  ip netns exec "$ns" iptables-save | { grep -v '^#' || true; }
  [[ -z $db ]] || ip netns exec "$ns" ovs-vsctl --db="$db" show
  ip -n "$ns" -o link
}

# A fresh lab's links are still settling (a bridge gets its carrier): wait until the state
# stays the same for a second, so that "before" is not a moving target.
settle() {
  local prev="" cur
  for _ in $(seq 20); do
    cur=$(state_of "$@")
    [[ $cur == "$prev" ]] && return 0
    prev=$cur; sleep 1
  done
}

RUN_ENV=()  # extra environment for run_rc (VAR=value ...)
run_rc() {  # run_rc EXPECTED_RC OUTFILE ARGS... — stdout+stderr to OUTFILE
  local want=$1 out=$2 rc=0; shift 2
  env "${RUN_ENV[@]}" "$PT" "$@" >"$out" 2>&1 || rc=$?
  if [[ $rc -ne $want ]]; then echo "  pathtrace $* → exit $rc (want $want):"; sed 's/^/    /' "$out"; return 1; fi
}

case $CASE in
  hybrid)
    rc=0; "$HERE/neutron_lab.sh" up "$P" >"$TMP/up.log" 2>&1 || rc=$?
    if [[ $rc -eq 77 ]]; then grep SKIP "$TMP/up.log" || echo "SKIP: lab cannot run"; exit 77; fi
    [[ $rc -eq 0 ]] || { cat "$TMP/up.log"; echo "FAIL: lab up"; exit 1; }
    eval "$("$HERE/neutron_lab.sh" env "$P")"
    DB="unix:$PTLAB_STATE/db.sock"
    settle "$PTLAB_NS_HV" "$DB"
    state_of "$PTLAB_NS_HV" "$DB" >"$TMP/before"
    "$HERE/neutron_lab.sh" inventory "$P" >"$TMP/lab.toml"
    check "discover --port prints the lab's A..G" run_rc 0 "$TMP/port.toml" discover \
      --port "$PTLAB_PORT_UUID" --netns "$PTLAB_NS_HV" --ovs-db "$DB" --vm-iface eth0 --vm-netns "$PTLAB_NS_VM"
    check "  … exactly (labels, roles, hosts, ifaces, netns)" diff <(points_of "$TMP/lab.toml") <(points_of "$TMP/port.toml")
    check "  … names the veth interconnect" grep -q 'veth interconnect int-br-ethx / phy-br-ethx' "$TMP/port.toml"
    check "  … says br-int's internal port is not a capture point" grep -q 'br-int: the bridge.s own port (type internal)' "$TMP/port.toml"
    check "discover --tap gives the same points" run_rc 0 "$TMP/tap.toml" discover \
      --tap "$PTLAB_TAP" --netns "$PTLAB_NS_HV" --ovs-db "$DB" --vm-iface eth0 --vm-netns "$PTLAB_NS_VM"
    check "  … and finds the full UUID through iface-id" grep -q "port $PTLAB_PORT_UUID" "$TMP/tap.toml"
    check "  … same points" diff <(points_of "$TMP/lab.toml") <(points_of "$TMP/tap.toml")
    OVS_RUNDIR="$PTLAB_STATE" "$PT" discover --port "$PTLAB_PORT_UUID" --netns "$PTLAB_NS_HV" \
      --vm-iface eth0 --vm-netns "$PTLAB_NS_VM" >"$TMP/env.toml" 2>&1 || true
    check "  … OVS_RUNDIR: same points" diff <(points_of "$TMP/lab.toml") <(points_of "$TMP/env.toml")
    # Errors, with their exit codes (docs/neutron.md).
    check "a port that does not exist: exit 3" run_rc 3 "$TMP/e1" discover \
      --port 11111111-2222-4333-8444-555555555555 --netns "$PTLAB_NS_HV" --ovs-db "$DB"
    check "  … says not found" grep -q 'port 11111111-2222-4333-8444-555555555555: not found' "$TMP/e1"
    check "a tap name that is not Neutron's: exit 2" run_rc 2 "$TMP/e2" discover --tap eth1 --netns "$PTLAB_NS_HV" --ovs-db "$DB"
    check "  … says so" grep -q 'not a Neutron tap name' "$TMP/e2"
    check "a malformed UUID: exit 2" run_rc 2 "$TMP/e3" discover --port bdd1f2c3 --netns "$PTLAB_NS_HV"
    mkdir "$TMP/bin"; ln -s "$(command -v ip)" "$TMP/bin/ip"
    RUN_ENV=(PATH="$TMP/bin")
    check "no ovs-vsctl: exit 5" run_rc 5 "$TMP/e4" discover --port "$PTLAB_PORT_UUID" \
      --netns "$PTLAB_NS_HV" --ovs-db "$DB"
    RUN_ENV=()
    check "  … says ovs-vsctl not found" grep -q 'ovs-vsctl not found in PATH' "$TMP/e4"
    check "unreachable ovsdb: exit 5" run_rc 5 "$TMP/e5" discover --port "$PTLAB_PORT_UUID" \
      --netns "$PTLAB_NS_HV" --ovs-db "unix:$TMP/no.sock"
    check "no such netns: exit 5" run_rc 5 "$TMP/e6" discover --port "$PTLAB_PORT_UUID" --netns "${P}-nope"
    state_of "$PTLAB_NS_HV" "$DB" >"$TMP/after"
    check "read-only: iptables-save, ovs-vsctl show, ip link unchanged" diff "$TMP/before" "$TMP/after"
    ;;
  ovsfw|linuxbridge)
    rc=0; "$HERE/neutron_variants.sh" up "$CASE" "$P" >"$TMP/up.log" 2>&1 || rc=$?
    if [[ $rc -eq 77 ]]; then grep SKIP "$TMP/up.log" || echo "SKIP: lab cannot run"; exit 77; fi
    [[ $rc -eq 0 ]] || { cat "$TMP/up.log"; echo "FAIL: variant up"; exit 1; }
    eval "$("$HERE/neutron_variants.sh" env "$CASE" "$P")"
    DB=""; args=()
    if [[ $CASE == ovsfw ]]; then DB="unix:$PTVAR_STATE/db.sock"; args=(--ovs-db "$DB"); fi
    settle "$PTVAR_NS_HV" "$DB"
    state_of "$PTVAR_NS_HV" "$DB" >"$TMP/before"
    : >"$TMP/want"
    IFS=';' read -ra pts <<<"$PTVAR_POINTS"
    for pt in "${pts[@]}"; do
      read -r label role ns ifc <<<"$pt"
      printf '[[point]]\nlabel = "%s"\nrole = "%s"\nhost = "local"\niface = "%s"\nnetns = "%s"\n' \
        "$label" "$role" "$ifc" "$ns" >>"$TMP/want"
    done
    for how in port tap; do
      if [[ $how == port ]]; then sel=(--port "$PTVAR_PORT_UUID"); else sel=(--tap "$PTVAR_TAP"); fi
      check "$CASE: discover --$how" run_rc 0 "$TMP/$how.toml" discover "${sel[@]}" \
        --netns "$PTVAR_NS_HV" "${args[@]}" --vm-iface eth0 --vm-netns "$PTVAR_NS_VM"
      check "  … the layout's points" diff "$TMP/want" <(points_of "$TMP/$how.toml")
    done
    if [[ $CASE == ovsfw ]]; then
      check "  … native OVS firewall" grep -q 'native OVS firewall' "$TMP/port.toml"
      check "  … patch ports cannot be captured, and what to do" \
        grep -q 'OVS patch ports int-br-ethx / phy-br-ethx have no kernel device' "$TMP/port.toml"
    else
      check "  … linuxbridge agent" grep -q 'linuxbridge agent' "$TMP/port.toml"
      mkdir "$TMP/bin"; ln -s "$(command -v ip)" "$TMP/bin/ip"
      RUN_ENV=(PATH="$TMP/bin")
      check "  … no OVS needed (PATH with only ip)" run_rc 0 "$TMP/noovs.toml" discover \
        --port "$PTVAR_PORT_UUID" --netns "$PTVAR_NS_HV"
      RUN_ENV=()
    fi
    state_of "$PTVAR_NS_HV" "$DB" >"$TMP/after"
    check "read-only: iptables-save, ovs-vsctl show, ip link unchanged" diff "$TMP/before" "$TMP/after"
    ;;
  *) echo "usage: $0 hybrid|ovsfw|linuxbridge PATHTRACE" >&2; exit 2 ;;
esac
[[ $fail -eq 0 ]] && echo "PASS" || echo "FAILED"
exit $fail
