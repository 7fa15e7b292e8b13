# Sourced by the lab scripts (run as root): their state directories, which must be found again
# by name (`up` and `down` are separate calls, and other scripts reach a lab's OVS socket in
# /tmp/pathtrace-lab.PREFIX), made so that nobody else can plant anything there first:
#   state_dir_create DIR   mkdir -m 700 (mkdir never follows a link planted at DIR), or take an
#                          existing DIR only when it is a real directory owned by this user and
#                          writable by no one else; refuse anything else (a symbolic link, another
#                          user's directory): returns 1 with a message naming DIR.
#   state_dir_remove DIR   rm -rf DIR only when it is such a directory (never through a link).
# Scratch files that need no known name use `mktemp -d` (mode 0700) instead.

# True when DIR is a directory (not a link) owned by this user, not group/other-writable.
state_dir_ours() {
  local d=$1
  [[ -d $1 && ! -L $1 ]] || return 1
  [[ $(stat -c %u -- "$d") == "$(id -u)" ]] || return 1
  (( (8#$(stat -c %a -- "$d") & 8#022) == 0 ))
}

state_dir_create() {
  local d=$1
  if [[ -L $d || -e $d ]]; then
    if state_dir_ours "$d"; then return 0; fi
    echo "refusing state directory $d: $( [[ -L $d ]] && echo "a symbolic link" || echo "not a directory of $(id -un) that only it can write") (remove it first)" >&2
    return 1
  fi
  mkdir -m 700 -- "$d" || { echo "refusing state directory $d: cannot create it" >&2; return 1; }
}

state_dir_remove() {
  local d=$1
  [[ -L $d || -e $d ]] || return 0
  if state_dir_ours "$d"; then rm -rf -- "$d"; return; fi
  echo "not removing $d: it is not a state directory of $(id -un) (a link, or another user's)" >&2
  return 1
}
