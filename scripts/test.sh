#!/usr/bin/env bash
# The test suite: everything under JAX, then the backend-dependent tests under TensorFlow and
# PyTorch. Extra arguments go to pytest (e.g. -m "not slow" to skip the real-data tests).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for backend in jax tensorflow torch; do
  if [ "$backend" = jax ]; then selection=(); else selection=(-m "backend and not slow"); fi
  echo "=== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider "${selection[@]}" "$@" || status=1
done
exit $status
