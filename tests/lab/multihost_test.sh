#!/usr/bin/env bash
# Multi-host lab tests: `pathtrace run` driving every point over ssh (multihost_lab.sh: the
# incident's hypervisor hv1 and VM vm1 as namespaces with their own sshd; pathtrace runs in
# the ops namespace and reaches them on 198.18.255.0/24).
#
#   multihost_test.sh CASE PATHTRACE
#     agent      A on vm1, B..G on hv1, `pathtrace collect --stdout` over ssh: between C and B
#     agentless  the same with `tcpdump -w -` over ssh digested locally: the same verdict
#     host_down  vm1's sshd is down: exit 6 naming host and point; with --keep-going the run
#                judges B..G (between C and B), names A as not captured, blames no hop on it
#     auth       the key is not authorized: exit 6 naming host and point, within seconds
#     link_cut   vm1's management link goes down mid-run: the run ends, point A is marked
#                incomplete, and the remote collector is gone (sshd ended the session)
#     run_killed pathtrace run killed with SIGKILL mid-run (agent, then agentless): every remote
#                capture and every ssh client exits by itself
#     injection  hostile interface names and filters (; $() `` quotes) run nothing remotely
# After every case: no `pathtrace collect` or tcpdump left in any lab namespace.
# Exit: 0 pass, 1 fail, 77 skip (not root, no sshd, no namespaces, no OVS).
set -uo pipefail
export LC_ALL=C.UTF-8  # the checks below read pathtrace's UTF-8 text (LC_ALL=C prints ASCII)

CASE=${1:?case}
PT=${2:?pathtrace binary}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MH="$HERE/multihost_lab.sh"
LAB="$HERE/neutron_lab.sh"
P="pm$(( $$ % 100000 ))"
WORK=$(mktemp -d "/tmp/pathtrace-mh-$P.XXXXXX")
OPS="$P-ops"
KEYDIR="/tmp/pathtrace-mh.$P"

source "$HERE/lib.sh"  # skip, expect, reject
fail() {
  echo "FAIL ($CASE): $*"
  [ -f "$WORK/out" ] && { echo "--- stdout"; cat "$WORK/out"; }
  [ -f "$WORK/err" ] && { echo "--- stderr"; tail -40 "$WORK/err"; }
  exit 1
}
cleanup() {
  bash "$MH" down "$P" >/dev/null 2>&1
  rm -rf "$WORK" "/tmp/pwned-$P" "/tmp/pwned2-$P" "/tmp/pwned3-$P"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, sshd, OVS, iptables)"
command -v ovsdb-server >/dev/null || skip "Open vSwitch is not installed"
[ -x /usr/sbin/sshd ] || skip "openssh-server is not installed"
command -v ssh >/dev/null || skip "openssh-client is not installed"
PT=$(readlink -f "$PT")
[ -x "$PT" ] || fail "no pathtrace binary at $PT"

bash "$MH" up "$P" >"$WORK/lab.log" 2>&1
rc=$?
[ $rc -eq 77 ] && skip "$(tail -1 "$WORK/lab.log")"
[ $rc -eq 0 ] || { cat "$WORK/lab.log"; fail "multi-host lab did not come up"; }
PT="$PT" bash "$MH" inventory "$P" agent >"$WORK/agent.toml"
PT="$PT" bash "$MH" inventory "$P" agentless >"$WORK/agentless.toml"
PT="$PT" bash "$MH" inventory "$P" agent "$KEYDIR/id_wrong" >"$WORK/wrongkey.toml"
DB="$WORK/run.db"
traffic="bash $LAB traffic $P"

# run INVENTORY ARGS...: pathtrace run in the ops namespace; sets $code and $secs.
run() {
  local inv=$1
  shift
  local t0=$SECONDS
  ip netns exec "$OPS" "$PT" run --db "$DB" --inventory "$inv" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  code=$?
  secs=$(( SECONDS - t0 ))
}
expect_err() { grep -qF -- "$1" "$WORK/err" || fail "expected on stderr: $1"; }

# Remote captures left behind in the lab's namespaces (they share our PID namespace).
remote_captures() {
  for ns in "$P-hv" "$P-vm" "$P-dir"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      args=$(tr "\0" " " 2>/dev/null <"/proc/$pid/cmdline")
      case "$args" in *" collect "*|tcpdump*|*" tcpdump "*) echo "$ns $pid $args" ;; esac
    done
  done
}
no_orphans() {  # remote collectors get up to 10 s (sshd's ClientAlive: ~4 s) to exit
  for _ in $(seq 100); do [ -z "$(remote_captures)" ] && return 0; sleep 0.1; done
  remote_captures
  fail "remote capture processes left behind"
}
BETWEEN="disappears between C (qbr qbrbdd1f2c3-bd) and B (tap tapbdd1f2c3-bd): 200 of 200 lost"

case "$CASE" in
  agent|agentless)
    run "$WORK/$CASE.toml" --points A..G --filter ipip --keep-bytes 96 --traffic "$traffic"
    [ $code -eq 1 ] || fail "exit $code, expected 1 (a flow lost packets)"
    expect "verdict: IPIP 198.18.0.1 → 198.18.0.20: $BETWEEN"
    for l in C D E F G; do grep -qE "^  $l .*@hv1 +200( |$)" "$WORK/out" || fail "point $l@hv1 did not see 200"; done
    grep -qE "^  A .*eth0@vm1 +0( |$)" "$WORK/out" || fail "point A@vm1 should show 0"
    for l in A B C D E F G; do
      grep -q "pre-flight: point $l@" "$WORK/err" || fail "no pre-flight line for point $l"
    done
    if [ "$CASE" = agentless ]; then expect_err "tcpdump: listening on"; else expect_err "pathtrace collect: point C"; fi
    # --keep-bytes crossed ssh too (KEPT frames from the agent, bytes kept by the agentless pump),
    # and every frame still meets its sighting after the hosts' clocks were aligned.
    "$PT" export --db "$DB" --lost -w "$WORK/lost.pcapng" 2>"$WORK/export.err" >/dev/null \
      || { cat "$WORK/export.err"; fail "export failed"; }
    grep -qF "wrote 1000 packets from 5 points" "$WORK/export.err" \
      || { cat "$WORK/export.err"; fail "export should write 200 lost × C..G"; }
    grep -qF "; 0 sightings had no kept bytes" "$WORK/export.err" \
      || { cat "$WORK/export.err"; fail "every lost sighting should have its kept bytes"; }
    no_orphans
    ;;

  host_down)
    kill -TERM "$(cat "$KEYDIR/sshd-vm.pid")"
    sleep 0.3
    run "$WORK/agent.toml" --points A..G --filter ipip --traffic "$traffic"
    [ $code -eq 6 ] || fail "exit $code, expected 6 (remote host failed)"
    grep -q "point A@vm1: host vm1 (root@198.18.255.4): ssh: .*refused" "$WORK/err" || fail "the error must name host vm1 and point A"
    [ $secs -le 15 ] || fail "took $secs s to fail"
    run "$WORK/agent.toml" --points A..G --filter ipip --traffic "$traffic" --keep-going
    [ $code -eq 1 ] || fail "--keep-going: exit $code, expected 1"
    expect "verdict: IPIP 198.18.0.1 → 198.18.0.20: $BETWEEN"
    expect "point A (vm1) was not captured"
    ! grep -qE "lost between B and A" "$WORK/out" || fail "a hop next to the missing point was blamed"
    no_orphans
    ;;

  auth)
    run "$WORK/wrongkey.toml" --points A..G --filter ipip --duration 2s
    [ $code -eq 6 ] || fail "exit $code, expected 6"
    grep -q "point A@vm1: host vm1 (root@198.18.255.4): ssh: .*Permission denied" "$WORK/err" ||
      fail "the error must name host vm1, point A and the refusal"
    [ $secs -le 15 ] || fail "took $secs s: something waited for a prompt"
    no_orphans
    ;;

  link_cut)
    ip netns exec "$OPS" "$PT" run --db "$DB" --inventory "$WORK/agent.toml" --points A..G \
      --filter tcp --duration 30s >"$WORK/out" 2>"$WORK/err" </dev/null &
    pid=$!
    for _ in $(seq 100); do grep -q "capturing at 7 points" "$WORK/err" && break; sleep 0.1; done
    grep -q "capturing at 7 points" "$WORK/err" || fail "the run did not start"
    [ -n "$(remote_captures | grep "^$P-vm ")" ] || fail "no remote collector running on vm1"
    ip -n "$P-vm" link set mgmt0 down   # the link to vm1 drops; sshd gives up after ~4 s
    t0=$SECONDS
    # The remote collector must exit by itself (its session's stdin closes).
    gone=0
    for _ in $(seq 150); do [ -z "$(remote_captures | grep "^$P-vm ")" ] && { gone=1; break; }; sleep 0.1; done
    [ $gone = 1 ] || { remote_captures; fail "the collector on vm1 outlived its ssh session"; }
    echo "remote collector on vm1 gone $(( SECONDS - t0 )) s after the link dropped"
    for _ in $(seq 250); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    kill -0 $pid 2>/dev/null && { kill -KILL $pid; fail "the run did not end after the link to vm1 dropped"; }
    wait $pid
    code=$?
    [ $code -le 1 ] || fail "exit $code: the run must still report"
    grep -q "point A@vm1: its collector exited with code 255 (the ssh link was lost" "$WORK/out" ||
      fail "the report must mark point A incomplete"
    ip -n "$P-vm" link set mgmt0 up
    no_orphans
    ;;

  run_killed)
    # pathtrace itself dies (SIGKILL) mid-run, in both modes: its ssh sessions lose their
    # stdin, the remote collectors and tcpdumps stop, and the ssh clients exit.
    for inv in agent agentless; do
      # The background child truncates err only once it runs: without this the wait below can
      # read the previous mode's "capturing at 7 points" and go on before anything started.
      rm -f "$WORK/out" "$WORK/err"
      ip netns exec "$OPS" "$PT" run --db "$DB" --inventory "$WORK/$inv.toml" --points A..G \
        --filter tcp --duration 60s >"$WORK/out" 2>"$WORK/err" </dev/null &
      pid=$!
      for _ in $(seq 100); do grep -q "capturing at 7 points" "$WORK/err" && break; sleep 0.1; done
      grep -q "capturing at 7 points" "$WORK/err" || fail "$inv: the run did not start"
      [ "$(remote_captures | wc -l)" -ge 7 ] || { remote_captures; fail "$inv: not every remote capture is running"; }
      kill -KILL "$pid"
      wait "$pid" 2>/dev/null
      no_orphans
      for _ in $(seq 50); do pgrep -f "ssh .*pathtrace-mh.$P/id" >/dev/null || break; sleep 0.1; done
      ! pgrep -f "ssh .*pathtrace-mh.$P/id" >/dev/null || { pgrep -af "ssh .*pathtrace-mh.$P/id"; fail "$inv: ssh clients left behind"; }
    done
    ;;

  injection)
    for inv in agent agentless; do
      sed 's/^iface = "eth0"$/iface = "eth0;touch \/tmp\/pwned-'"$P"'"/' "$WORK/$inv.toml" >"$WORK/evil.toml"
      grep -q "pwned" "$WORK/evil.toml" || fail "could not make the hostile inventory"
      run "$WORK/evil.toml" --points A..G --filter ipip --duration 2s
      [ $code -eq 6 ] || fail "$inv hostile iface: exit $code, expected 6"
      grep -q "point A@vm1: interface eth0;touch /tmp/pwned-$P not found on host vm1" "$WORK/err" ||
        fail "$inv: the error must name the interface as given"
      for f in "\$(touch /tmp/pwned2-$P)" "\`touch /tmp/pwned3-$P\`" "ip proto 4' ; touch /tmp/pwned-$P ; echo '" \
               "\"; touch /tmp/pwned-$P; \""; do
        run "$WORK/$inv.toml" --points A,B --filter "$f" --duration 1s --start-timeout 5s
        [ $code -ge 2 ] || fail "$inv filter <$f>: exit $code, expected an error"
      done
      for f in "/tmp/pwned-$P" "/tmp/pwned2-$P" "/tmp/pwned3-$P"; do
        [ -e "$f" ] && fail "$inv: a hostile word ran a command on a remote host ($f exists)"
      done
    done
    no_orphans
    ;;

  explain)
    # run --explain with the hop's points on hv1: the counters are read over ssh.
    run "$WORK/agent.toml" --points A..G --filter ipip --explain \
      --ovs-db "unix:/tmp/pathtrace-lab.$P/db.sock" --traffic "$traffic"
    [ $code -eq 1 ] || fail "exit $code, expected 1"
    expect "neutron-openvswi-ibdd1f2c3-b → neutron-openvswi-sg-fallback: DROP  +200 packets"
    expect "-A neutron-openvswi-ibdd1f2c3-b -p 4 -j RETURN"
    no_orphans
    ;;

  discover)
    # discover over ssh on hv1: the same path as on the hypervisor itself, with host = "hv1".
    ip netns exec "$OPS" "$PT" discover --host hv1 --inventory "$WORK/agent.toml" \
      --port bdd1f2c3-bd6e-4f5a-9c1d-2e3f4a5b6c7d --ovs-db "unix:/tmp/pathtrace-lab.$P/db.sock" \
      >"$WORK/out" 2>"$WORK/err" </dev/null || fail "discover over ssh failed"
    expect "iptables hybrid firewall"
    for dev in tapbdd1f2c3-bd qbrbdd1f2c3-bd qvbbdd1f2c3-bd qvobdd1f2c3-bd phy-br-ethx eth1; do
      expect "iface = \"$dev\""
    done
    [ "$(grep -c '^host = "hv1"$' "$WORK/out")" -eq 6 ] || fail "every point must be on hv1"
    ;;

  *) fail "unknown case" ;;
esac
echo "PASS ($CASE)"
