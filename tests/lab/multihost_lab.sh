#!/usr/bin/env bash
# The incident lab spread over hosts reached with ssh (docs/remote.md, docs/lab.md).
#
#   ns ${P}-ops  (where pathtrace runs: `ip netns exec ${P}-ops pathtrace run ...`)
#     br-mgmt 198.18.255.1/24 ──veth── ${P}-dir mgmt0 198.18.255.2  sshd  host "dir"
#                             ──veth── ${P}-hv  mgmt0 198.18.255.3  sshd  host "hv1"
#                             ──veth── ${P}-vm  mgmt0 198.18.255.4  sshd  host "vm1"
#   plus the Neutron path of neutron_lab.sh (dir ─ hv: G F E D C B ─ vm: A), unchanged.
#
# Each lab namespace runs its own OpenSSH server (Debian's /usr/sbin/sshd, own config, host
# key, pid file and log in /tmp/pathtrace-mh.${P}); the client key and a second, unauthorized
# key are generated per run. The root namespace's links, routes and the system sshd are never
# touched. The management network is separate from every capture point's interface.
#
#   multihost_lab.sh up [PREFIX]              neutron lab + ops namespace + three sshd
#   multihost_lab.sh inventory PREFIX MODE    inventory (agent|agentless) with [hosts.*]
#   multihost_lab.sh env [PREFIX]             shell variables
#   multihost_lab.sh down [PREFIX]
# Exit 77 (skip) when sshd/ssh or the base lab are not available.
set -uo pipefail

CMD=${1:?usage: $0 up|down|inventory|env [PREFIX]}
P=${2:-ptmh}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB="$HERE/neutron_lab.sh"
D="/tmp/pathtrace-mh.$P"
. "$(dirname "${BASH_SOURCE[0]}")/state_dir.sh"
OPS="$P-ops"
HOSTS=(dir hv vm)
declare -A ADDR=([dir]=198.18.255.2 [hv]=198.18.255.3 [vm]=198.18.255.4)

mh_down() {
  for n in "${HOSTS[@]}"; do
    [ -f "$D/sshd-$n.pid" ] && kill -TERM "$(cat "$D/sshd-$n.pid")" 2>/dev/null
  done
  if ip netns list 2>/dev/null | grep -qw "$OPS"; then
    for pid in $(ip netns pids "$OPS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$OPS" 2>/dev/null
  fi
  bash "$LAB" down "$P" >/dev/null 2>&1
  state_dir_remove "$D"
}

mh_up() {
  command -v ssh >/dev/null || { echo "SKIP: ssh (openssh-client) is not installed"; return 77; }
  [ -x /usr/sbin/sshd ] || { echo "SKIP: /usr/sbin/sshd (openssh-server) is not installed"; return 77; }
  command -v ssh-keygen >/dev/null || { echo "SKIP: ssh-keygen is not installed"; return 77; }
  mh_down
  bash "$LAB" up "$P" || return $?
  state_dir_create "$D" || return 1
  mkdir -p /run/sshd  # sshd's privilege separation directory (Debian's own service creates it too)
  ssh-keygen -q -t ed25519 -N '' -C "pathtrace-lab-$P" -f "$D/id" || return 1
  ssh-keygen -q -t ed25519 -N '' -C "pathtrace-lab-$P-unauthorized" -f "$D/id_wrong" || return 1
  cp "$D/id.pub" "$D/authorized_keys" && chmod 600 "$D/authorized_keys"
  ip netns add "$OPS" || return 1
  ip netns exec "$OPS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$OPS" link set lo up
  ip -n "$OPS" link add br-mgmt type bridge stp_state 0
  ip -n "$OPS" addr add 198.18.255.1/24 dev br-mgmt
  ip -n "$OPS" link set br-mgmt up
  for n in "${HOSTS[@]}"; do
    ip -n "$OPS" link add "m-$n" type veth peer name mgmt0 netns "$P-$n" || return 1
    ip netns exec "$P-$n" sysctl -qw net.ipv6.conf.mgmt0.disable_ipv6=1 2>/dev/null
    ip -n "$OPS" link set "m-$n" master br-mgmt up
    ip -n "$P-$n" addr add "${ADDR[$n]}/24" dev mgmt0
    ip -n "$P-$n" link set mgmt0 up
    ip -n "$P-$n" link set lo up
    ssh-keygen -q -t ed25519 -N '' -f "$D/host-$n" || return 1
    cat >"$D/sshd-$n.conf" <<EOF
ListenAddress ${ADDR[$n]}:22
HostKey $D/host-$n
PidFile $D/sshd-$n.pid
AuthorizedKeysFile $D/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
ClientAliveInterval 1
ClientAliveCountMax 3
MaxStartups 100
MaxSessions 100
LogLevel VERBOSE
EOF
    # -D: no fork (its pid is the one we keep); detached from this shell's session.
    ip netns exec "$P-$n" setsid /usr/sbin/sshd -D -f "$D/sshd-$n.conf" -E "$D/sshd-$n.log" \
      </dev/null >/dev/null 2>&1 &
    echo $! >"$D/sshd-$n.pid.launch"
  done
  for n in "${HOSTS[@]}"; do
    local ok=0
    for _ in $(seq 50); do
      if ip netns exec "$OPS" bash -c "exec 3<>/dev/tcp/${ADDR[$n]}/22" 2>/dev/null; then ok=1; break; fi
      sleep 0.1
    done
    [ $ok = 1 ] || { echo "sshd in $P-$n did not start:"; cat "$D/sshd-$n.log"; return 1; }
    cp "$D/sshd-$n.pid.launch" "$D/sshd-$n.pid" 2>/dev/null
  done
  echo "multihost lab $P up: pathtrace runs in netns $OPS; hosts dir ${ADDR[dir]}, hv1 ${ADDR[hv]}, vm1 ${ADDR[vm]}"
}

# inventory MODE [IDENTITY]: A on vm1, B..G on hv1, every point captured over ssh.
mh_inventory() {
  local mode=${1:-agent} identity=${2:-$D/id} pt=${PT:-pathtrace}
  for h in "hv1 hv" "vm1 vm" "dir dir"; do
    set -- $h
    cat <<EOF
[hosts.$1]
ssh = "root@${ADDR[$2]}"
identity = "$identity"
options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"]
pathtrace = "$pt"
mode = "$mode"

EOF
  done
  cat <<EOF
[[point]]
label = "A"
role = "vm"
host = "vm1"
iface = "eth0"

EOF
  for pt_ in "B tap tapbdd1f2c3-bd" "C qbr qbrbdd1f2c3-bd" "D qvb qvbbdd1f2c3-bd" \
             "E qvo qvobdd1f2c3-bd" "F br-ethx phy-br-ethx" "G nic eth1"; do
    set -- $pt_
    printf '[[point]]\nlabel = "%s"\nrole = "%s"\nhost = "hv1"\niface = "%s"\n\n' "$1" "$2" "$3"
  done
}

case "$CMD" in
  up) mh_up; rc=$?; if [ $rc -ne 0 ] && [ -z "${PTLAB_KEEP:-}" ]; then mh_down; fi; exit $rc ;;
  down) mh_down ;;
  inventory) mh_inventory "${3:-agent}" "${4:-}" ;;
  env) echo "OPS=$OPS D=$D ADDR_DIR=${ADDR[dir]} ADDR_HV=${ADDR[hv]} ADDR_VM=${ADDR[vm]}" ;;
  *) echo "usage: $0 up|down|inventory|env [PREFIX]" >&2; exit 2 ;;
esac
