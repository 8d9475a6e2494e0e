#!/usr/bin/env bash
# The test suite: everything under JAX, then the backend-dependent tests under TensorFlow and
# PyTorch, then the example notebooks top to bottom on a small sample (nbmake). Extra arguments
# go to the test runs (e.g. -m "not slow" to skip the real-data tests).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for backend in jax tensorflow torch; do
  if [ "$backend" = jax ]; then selection=(); else selection=(-m "backend and not slow"); fi
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider "${selection[@]}" "$@" || status=1
done
echo "=== notebooks (KERAS_BACKEND=jax, KMLC_NOTEBOOK_SMOKE=1)"
KERAS_BACKEND=jax KMLC_NOTEBOOK_SMOKE=1 python -m pytest -q -p no:cacheprovider --nbmake examples || status=1
exit $status
