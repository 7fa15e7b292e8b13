#!/usr/bin/env bash
# Rebuild pcaps/incident-broken and pcaps/incident-fixed from scratch, as root:
#   pcaps/make_incident_pcaps.sh [PREFIX]
# lab up -> capture (security group broken) -> fix -> capture (fixed) -> lab down.
# The lab is removed on success, failure and Ctrl-C.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/../tests/lab"
P=${1:-ptlab}

trap 'rc=$?; trap - EXIT INT TERM; "$LAB/neutron_lab.sh" down "$P" || true; exit $rc' EXIT
trap 'exit 130' INT TERM

"$LAB/neutron_lab.sh" up "$P"
for state in broken fixed; do
  out="$HERE/incident-$state"
  rm -rf "$out.new"
  "$LAB/capture_incident.sh" "$out.new" "$state" "$P"
  # Keep only what is committed: the pcaps and the inventory.
  rm -f "$out.new"/*.tcpdump.log
  sed "s|$out.new/|pcaps/incident-$state/|g" "$out.new/capture.log" >"$out.new/capture.txt"
  rm -f "$out.new/capture.log"
  rm -rf "$out"
  mv "$out.new" "$out"
done
"$LAB/check_incident_pcaps.sh" "$HERE/incident-broken" broken
"$LAB/check_incident_pcaps.sh" "$HERE/incident-fixed" fixed
