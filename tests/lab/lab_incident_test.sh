#!/usr/bin/env bash
# lab_incident_test.sh capture
# lab_incident_test.sh verdict PATHTRACE_BIN
#
# ctest entry points (tests/lab/CMakeLists.txt). Each builds its own lab with a unique
# prefix, captures the incident fresh, broken then fixed, into a temp dir, and checks:
#   capture — per-point IPIP / TCP 22 counts in the pcaps (check_incident_pcaps.sh);
#   verdict — `pathtrace ingest --filter ipip` on those captures says the flow
#             disappears between C and B when broken, and is delivered when fixed.
# Exit 77 (ctest SKIP) with the reason when not root or the lab cannot run here.
set -euo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MODE=${1:-}
BIN=${2:-}
case $MODE in
  capture) ;;
  verdict) [[ -x $BIN ]] || { echo "usage: $0 verdict PATHTRACE_BIN (not executable: '$BIN')" >&2; exit 2; } ;;
  *) echo "usage: $0 capture | verdict PATHTRACE_BIN" >&2; exit 2 ;;
esac

[[ $(id -u) -eq 0 ]] || { echo "SKIP: lab tests need root (network namespaces, OVS, iptables)"; exit 77; }
for t in tcpdump tshark ip iptables ovs-vswitchd; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

P="ptt$(( (RANDOM << 15 | RANDOM) % 100000 ))"
WORK=$(mktemp -d "/tmp/pathtrace-labtest.${P}.XXXXXX")
cleanup() {
  "$HERE/neutron_lab.sh" down "$P" >/dev/null 2>&1 || true
  [[ ${PTLAB_KEEP_OUTPUT:-0} == 1 ]] && { echo "kept $WORK"; return; }
  rm -rf -- "$WORK"
}
trap 'rc=$?; trap - EXIT INT TERM; cleanup; exit $rc' EXIT
trap 'exit 130' INT TERM

set +e
"$HERE/neutron_lab.sh" up "$P" 2>"$WORK/up.log"
rc=$?
set -e
if [[ $rc -eq 77 ]]; then sed -n 's/^SKIP/SKIP/p' "$WORK/up.log"; exit 77; fi
if [[ $rc -ne 0 ]]; then cat "$WORK/up.log"; echo "FAIL: lab did not come up"; exit 1; fi

fail=0
for state in broken fixed; do
  "$HERE/capture_incident.sh" "$WORK/$state" "$state" "$P" 2>/dev/null
  echo "== $state"
  if [[ $MODE == capture ]]; then
    "$HERE/check_incident_pcaps.sh" "$WORK/$state" "$state" || fail=1
  else
    rc=0
    out=$("$BIN" ingest --inventory "$WORK/$state/inventory.toml" --filter ipip --db "$WORK/$state.db" 2>&1) || rc=$?
    want=0; [[ $state == broken ]] && want=1   # exit 1: a flow lost packets
    if [[ $rc -ne $want ]]; then echo "$out"; echo "FAIL: pathtrace ingest exited $rc (want $want)"; fail=1; continue; fi
    echo "$out"
    verdict=$(grep '^verdict:' <<<"$out" || true)
    if [[ $state == broken ]]; then
      grep -q 'between C .* and B ' <<<"$verdict" || { echo "FAIL: broken: verdict does not say 'between C … and B'"; fail=1; }
    else
      grep -qi 'delivered' <<<"$verdict" || { echo "FAIL: fixed: verdict does not say delivered"; fail=1; }
    fi
  fi
done
[[ $fail -eq 0 ]] && echo "PASS: lab incident ($MODE)"
exit $fail
