# Sourced by .ci/run and the job scripts: announcing and timing jobs, configuring builds.
# Every job prints "ci: ===== JOB: start" and "ci: ===== JOB: ok|FAILED in M:SS (cpu U s; load
# L)", and ci_summary prints one line per job at the end.

CI_NPROC=$(nproc)
CI_SUMMARY=${CI_SUMMARY:-$(mktemp /tmp/pathtrace-ci-summary.XXXXXX)}
export CI_SUMMARY

ci_load() { cut -d' ' -f1-3 /proc/loadavg; }

ci_fmt() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# ci_job NAME COMMAND...: runs COMMAND, announced and timed; returns its status.
# The CPU seconds (user+sys of COMMAND and its children) say what the job costs on an idle
# machine, whatever the load was: its wall time there is about cpu / nproc for the builds.
ci_job() {
  local name=$1; shift
  local start end rc=0 load0 cpu0 cpu1 cpu what
  load0=$(ci_load)
  echo
  echo "ci: ===== $name: start $(date +%T) (load $load0) ====="
  start=$(date +%s)
  ci_cpu; cpu0=$CI_CPU
  "$@" || rc=$?
  ci_cpu; cpu1=$CI_CPU
  end=$(date +%s)
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.0f", b - a }')
  what=ok
  [ $rc -eq 0 ] || what="FAILED (exit $rc)"
  echo "ci: ===== $name: $what in $(ci_fmt $((end - start))) (cpu ${cpu} s; load $load0 → $(ci_load)) ====="
  printf '%-14s %-15s %6s wall %6s s cpu   load %s → %s\n' "$name" "$what" \
    "$(ci_fmt $((end - start)))" "$cpu" "$load0" "$(ci_load)" >>"$CI_SUMMARY"
  return $rc
}

# CI_CPU = user + system seconds of this shell's finished children (second line of bash's
# `times`, which must run in this shell, not in a $(...) subshell: hence the file).
ci_cpu() {
  local f
  f=$(mktemp)
  times >"$f"
  CI_CPU=$(sed -n 2p "$f" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); n += a[1] * 60 + a[2] } printf "%.2f", n }')
  rm -f "$f"
}

ci_summary() {
  echo
  echo "ci: ===== summary ($CI_NPROC cores) ====="
  cat "$CI_SUMMARY"
  rm -f "$CI_SUMMARY"
}

# ci_configure DIR CMAKE-ARGS...: a Ninja build tree with warnings as errors.
ci_configure() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DPATHTRACE_WERROR=ON "$@"
}

ci_build() { cmake --build "$1" -j"$CI_NPROC"; }

