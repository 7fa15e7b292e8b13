#!/usr/bin/env bash
# The incident of ../shared/INCIDENT.md in one command.
#   live    when this machine can (root, network namespaces, Open vSwitch): builds the Neutron
#           lab (tests/lab/neutron_lab.sh), runs `pathtrace run --points A..G --filter ipip`
#           while the director sends IPIP, and tears the lab down again;
#   offline otherwise: `pathtrace ingest` of the captures committed in pcaps/incident-broken.
# Either way the run is stored in pathtrace.db. Exit 0 when the verdict was printed.
set -uo pipefail
cd "$(dirname "$0")"
PT=${PATHTRACE:-build/pathtrace}
[ -x "$PT" ] || { echo "demo: no $PT — build first: cmake -S . -B build -G Ninja && cmake --build build" >&2; exit 2; }
LAB=tests/lab/neutron_lab.sh
P=ptdemo

# Exit 0 when the incident was found (pathtrace exits 1 when a flow lost packets), else its code.
offline() {
  echo "demo: offline — $1; replaying pcaps/incident-broken (captured in the same lab)"
  "$PT" ingest --inventory pcaps/incident-broken/inventory.toml --filter ipip
  local code=$?
  [ $code -le 1 ] || return $code
  return 0
}

if [ "$(id -u)" -ne 0 ]; then offline "not root, so no lab"; exit $?; fi
if ! command -v ovsdb-server >/dev/null; then offline "Open vSwitch is not installed"; exit $?; fi
trap 'bash "$LAB" down "$P" >/dev/null 2>&1' EXIT
lablog=$(mktemp -d /tmp/pathtrace-demo.XXXXXX)/lab.log  # 0700: no name planted in advance
if ! bash "$LAB" up "$P" >"$lablog" 2>&1; then
  offline "the lab could not be built here (see $lablog)"
  exit $?
fi
inv=$(mktemp /tmp/pathtrace-demo.XXXXXX.toml)
bash "$LAB" inventory "$P" >"$inv"
echo "demo: live — Neutron lab in network namespaces ($P-dir → $P-hv → $P-vm), security group without a rule for IP protocol 4"
echo "demo: pathtrace run --points A..G --filter ipip --traffic 'neutron_lab.sh traffic'"
"$PT" run --inventory "$inv" --points A..G --filter ipip --traffic "bash $LAB traffic $P"
code=$?
rm -f "$inv"
[ $code -le 1 ] || exit $code   # 1 = a flow lost packets: the incident, found
exit 0
