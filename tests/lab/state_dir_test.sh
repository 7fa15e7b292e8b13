#!/bin/bash
# The lab scripts' state directories (state_dir.sh): a name planted before them — a symbolic
# link, another user's directory, a directory others can write — is refused, never used or
# removed through; a fresh one is created 0700. Needs no root (the other-user case skips without).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/state_dir.sh"
W=$(mktemp -d)
trap 'rm -rf -- "$W"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

state_dir_create "$W/fresh"
check "a fresh state directory is created 0700" '[[ $(stat -c %a "$W/fresh") == 700 ]]'
check "an existing one of ours is taken again" 'state_dir_create "$W/fresh"'

mkdir "$W/victim"; echo precious >"$W/victim/keep"
ln -s "$W/victim" "$W/planted"
check "a planted symbolic link is refused" '! state_dir_create "$W/planted" 2>"$W/err"'
check "... naming it" 'grep -q "refusing state directory $W/planted: a symbolic link" "$W/err"'
check "... and never removed through" '! state_dir_remove "$W/planted" 2>/dev/null && [[ -f $W/victim/keep ]]'

mkdir -m 777 "$W/open"
check "a directory others can write is refused" '! state_dir_create "$W/open" 2>/dev/null'

if [[ $(id -u) == 0 ]]; then
  mkdir "$W/theirs"; chown nobody "$W/theirs"
  check "another user's directory is refused" '! state_dir_create "$W/theirs" 2>/dev/null'
  check "... and not removed" '! state_dir_remove "$W/theirs" 2>/dev/null && [[ -d $W/theirs ]]'
else
  echo "skip: another user's directory (needs root to chown)"
fi

state_dir_remove "$W/fresh"
check "ours is removed" '[[ ! -e $W/fresh ]]'
exit $fail
