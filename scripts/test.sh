#!/usr/bin/env bash
# The test suite: everything under JAX and, side by side with it (the machine has two cores and
# much of a test's time is Python, not arithmetic), the backend-dependent tests under TensorFlow
# then PyTorch; then the example notebooks top to bottom on a small sample (nbmake). Extra
# arguments go to the test runs (e.g. -m "not slow" to skip the real-data tests).
# KMLC_TEST_SERIAL=1 runs the three one after the other.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run_backend() {  # backend, then pytest arguments; each run has its own temporary directory
  local backend=$1
  shift
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider --basetemp="$work/$backend" "$@"
}

others() {
  local rc=0
  run_backend tensorflow -m "backend and not slow" "$@" || rc=1
  run_backend torch -m "backend and not slow" "$@" || rc=1
  return $rc
}

if [ "${KMLC_TEST_SERIAL:-0}" = 1 ]; then
  run_backend jax "$@" || status=1
  others "$@" || status=1
else
  others "$@" > "$work/others.log" 2>&1 &
  others_pid=$!
  run_backend jax "$@" || status=1
  wait $others_pid || status=1
  cat "$work/others.log"
fi
echo "=== notebooks (KERAS_BACKEND=jax, KMLC_NOTEBOOK_SMOKE=1)"
KERAS_BACKEND=jax KMLC_NOTEBOOK_SMOKE=1 python -m pytest -q -p no:cacheprovider --nbmake examples || status=1
exit $status
