#!/usr/bin/env bash
# check_incident_pcaps.sh DIR broken|fixed [SENT]
#
# What a person checks by eye in the seven captures of capture_incident.sh, asserted:
#   IPIP (ip proto 4, tagged or not) count == SENT at G F E D C; at B and A 0 when
#   broken, SENT when fixed; TCP port 22 present at all seven, the same count everywhere.
# SENT defaults to the number send_ipip.py logged in DIR/capture.{log,txt}.
# Prints a table; exit 0 if all holds, 1 otherwise.
set -euo pipefail
DIR=${1:-}; STATE=${2:-}; SENT=${3:-}
[[ -d $DIR && ( $STATE == broken || $STATE == fixed ) ]] || { echo "usage: $0 DIR broken|fixed [SENT]" >&2; exit 2; }
if [[ -z $SENT ]]; then
  SENT=$(sed -n 's/^send_ipip: sent \([0-9]*\) IPIP.*/\1/p' "$DIR"/capture.log "$DIR"/capture.txt 2>/dev/null | head -1 || true)
fi
[[ $SENT =~ ^[0-9]+$ ]] || { echo "check: cannot tell how many IPIP packets were sent" >&2; exit 2; }

count() { tcpdump -nn -r "$1" "$2" 2>/dev/null | wc -l; }
IPIP_F='ip proto 4 or (vlan and ip proto 4)'
TCP_F='tcp port 22 or (vlan and tcp port 22)'
fail=0 tcp_ref=""
printf '%-5s %7s %6s %6s %6s  %s\n' point frames ipip tcp22 vlan expect
for l in G F E D C B A; do
  f="$DIR/$l.pcap"
  [[ -r $f ]] || { echo "check: $f missing"; fail=1; continue; }
  all=$(count "$f" '')
  ipip=$(count "$f" "$IPIP_F")
  tcp=$(count "$f" "$TCP_F")
  vlan=$(count "$f" 'vlan')
  want=$SENT
  [[ $STATE == broken && ( $l == B || $l == A ) ]] && want=0
  verdict=ok
  if [[ $ipip -ne $want ]]; then verdict="FAIL: ipip $ipip != $want"; fail=1; fi
  if [[ $tcp -eq 0 ]]; then verdict="FAIL: no TCP 22"; fail=1; fi
  if [[ -z $tcp_ref ]]; then tcp_ref=$tcp
  elif [[ $tcp -ne $tcp_ref ]]; then verdict="FAIL: TCP 22 $tcp != $tcp_ref at G"; fail=1; fi
  printf '%-5s %7s %6s %6s %6s  ipip=%s %s\n' "$l" "$all" "$ipip" "$tcp" "$vlan" "$want" "$verdict"
done
if [[ $fail -eq 0 ]]; then echo "check: $STATE captures in $DIR look right ($SENT IPIP sent)"; else echo "check: $STATE captures in $DIR are WRONG"; fi
exit $fail
