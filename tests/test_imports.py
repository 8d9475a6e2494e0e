"""The package's import promises: importing kmlc or its command line does not import Keras,
so the backend can still be chosen afterwards (`kmlc.backend.select_backend`, `--backend`)."""

import os
import subprocess
import sys

import pytest


def _run(code):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("module", ["kmlc", "kmlc.cli", "kmlc.runs", "kmlc.estimator", "kmlc.settings"])
def test_importing_does_not_import_keras(module):
    assert _run(f"import sys, {module}; print('keras' in sys.modules)") == "False"


def test_the_backend_is_chosen_after_importing_kmlc():
    code = ("import kmlc, kmlc.cli; from kmlc.backend import select_backend; select_backend('torch'); "
            "import keras; print(keras.backend.backend())")
    assert _run(code) == "torch"
