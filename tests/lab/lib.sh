# Helpers the lab test scripts share (sourced after they set WORK and define fail()).
#   skip MSG      the test cannot run here (ctest's SKIP_RETURN_CODE 77): not root, no OVS, …
#   expect TEXT   the report ($WORK/out) holds TEXT, else fail
#   reject TEXT   the report ($WORK/out) does not hold TEXT, else fail
skip() { echo "SKIP: $*"; exit 77; }
expect() { grep -qF -- "$1" "$WORK/out" || fail "expected in the report: $1"; }
reject() { ! grep -qF -- "$1" "$WORK/out" || fail "not expected in the report: $1"; }
