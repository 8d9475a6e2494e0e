"""Nothing lost, nothing half-written: resuming an interrupted run, the NaN guard, identical
runs from one seed, and model directories that refuse to load when damaged."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import kmlc
from conftest import make_tiny_corpus
from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError

pytestmark = pytest.mark.backend

# Dropout on, patience short: a resumed run must restore the dropout seeds, the shuffled
# order and the early-stopping counters to end exactly where an uninterrupted one does.
RESUMABLE = dict(max_tokens=200, hidden_units=(16,), dropout=0.3, epochs=30, patience=2, batch_size=8,
                 learning_rate=0.01, verbose=0)


class StopAfterEpoch(keras.callbacks.Callback):
    """Raises at the end of epoch `k` (1-based), after the backup of that epoch was written."""

    def __init__(self, k, error=RuntimeError):
        super().__init__()
        self.k, self.error = k, error

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.k:
            raise self.error(f"stopped after epoch {self.k}")


@pytest.fixture(scope="module")
def corpus():
    return make_tiny_corpus()


@pytest.fixture(scope="module")
def uninterrupted(corpus):
    texts, labels = corpus
    return kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels)


@pytest.mark.parametrize("k", [1, 3])
def test_an_interrupted_fit_resumes_to_the_same_result(corpus, uninterrupted, tmp_path, k):
    texts, labels = corpus
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match=f"after epoch {k}"):
        kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, backup_dir=backup, callbacks=[StopAfterEpoch(k)])
    state = json.loads((backup / "kmlc_state.json").read_text())
    assert state["epoch"] == k and len(state["history"]) == k
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"], "a temporary directory was left"

    resumed = kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, backup_dir=backup)
    assert resumed.resumed_from_epoch_ == k
    assert not backup.exists(), "a finished run must remove its backup"
    assert resumed.history_["loss"][:k] == uninterrupted.history_["loss"][:k]
    if keras.backend.backend() == "tensorflow":
        # Keras' TensorFlow trainer iterates a distributed copy of the dataset, whose shuffle
        # seed generator restarts in a new fit: the epochs after the resume see other orders.
        pytest.xfail("resumed shuffle order differs under the TensorFlow backend (docs/reliability.md)")
    # Early stopping ended the uninterrupted run before `epochs`: the resumed one stops at the
    # same epoch, with the same history, best epoch and probabilities.
    assert len(uninterrupted.history_["loss"]) < RESUMABLE["epochs"]
    assert resumed.history_ == uninterrupted.history_
    assert resumed.best_epoch_ == uninterrupted.best_epoch_
    np.testing.assert_allclose(resumed.predict_proba(texts), uninterrupted.predict_proba(texts), atol=1e-6)
    assert resumed.metrics_["validation"]["micro_f1"] == uninterrupted.metrics_["validation"]["micro_f1"]


def test_a_run_interrupted_after_its_stopping_epoch_resumes_without_training(corpus, uninterrupted, tmp_path):
    """Early stopping had decided to stop at the last backed-up epoch, and only the end of
    the run was interrupted: the resumed run trains no further epoch."""
    texts, labels = corpus
    n = len(uninterrupted.history_["loss"])
    assert n < RESUMABLE["epochs"]  # early stopping ended it
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match=f"after epoch {n}"):
        kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, backup_dir=backup, callbacks=[StopAfterEpoch(n)])
    resumed = kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, backup_dir=backup)
    assert resumed.resumed_from_epoch_ == n and len(resumed.history_["loss"]) == n
    assert resumed.best_epoch_ == uninterrupted.best_epoch_
    if keras.backend.backend() != "tensorflow":  # see the test above
        assert resumed.history_ == uninterrupted.history_
        np.testing.assert_allclose(resumed.predict_proba(texts), uninterrupted.predict_proba(texts), atol=1e-6)


def test_a_backup_only_resumes_its_own_run(corpus, tmp_path):
    texts, labels = corpus
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, backup_dir=backup, callbacks=[StopAfterEpoch(1)])
    with pytest.raises(KmlcInputError, match="Expected the same data and settings as the interrupted run"):
        kmlc.TextClassifier(seed=6, **RESUMABLE).fit(texts, labels, backup_dir=backup)
    with pytest.raises(KmlcInputError, match="Expected the same data and settings"):
        kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts[::-1], labels[::-1], backup_dir=backup)
    (backup / "kmlc_state.json").write_text("{trunc")
    with pytest.raises(KmlcInputError, match="Expected a readable training backup"):
        kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, backup_dir=backup)


# ----------------------------------------------------------------------------- NaN


def test_an_absurd_learning_rate_names_the_cause(corpus):
    texts, labels = corpus
    with pytest.raises(KmlcInputError, match=r"Expected a finite training loss, Received: NaN or inf at epoch 1.*learning rate \(1e\+30\)") as excinfo:
        kmlc.TextClassifier(seed=1, **{**RESUMABLE, "learning_rate": 1e30}).fit(texts, labels)
    assert "\n" not in str(excinfo.value)


class PoisonWeights(keras.callbacks.Callback):
    """Makes the weights NaN at the start of epoch 3: the loss diverges in that epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            weights = self.model.get_weights()
            weights[0][:] = np.nan
            self.model.set_weights(weights)


def test_a_diverged_epoch_stops_training_and_keeps_the_best_good_weights(corpus, tmp_path):
    texts, labels = corpus
    settings = {**RESUMABLE, "dropout": 0.0, "patience": 30, "loss": "bce"}
    reference = kmlc.TextClassifier(seed=1, **{**settings, "epochs": 2}).fit(texts, labels)
    with pytest.warns(KmlcDataWarning, match=r"became NaN or inf at epoch 3, batch 1.*best finite epoch \(\d\).*learning rate \(0.01\)"):
        clf = kmlc.TextClassifier(seed=1, **settings).fit(texts, labels, backup_dir=tmp_path / "b", callbacks=[PoisonWeights()])
    assert len(clf.history_["loss"]) == 2 and all(np.isfinite(clf.history_["loss"]))
    proba = clf.predict_proba(texts)
    assert np.all(np.isfinite(proba))
    # The kept weights are those of the best of the two good epochs: what a 2-epoch run keeps.
    np.testing.assert_allclose(proba, reference.predict_proba(texts), atol=1e-6)
    assert clf.best_epoch_ == reference.best_epoch_
    assert not (tmp_path / "b").exists()
    clf.save(tmp_path / "m")  # history and metrics are finite: a valid model directory
    assert json.loads((tmp_path / "m" / "training.json").read_text())["history"]["loss"] == clf.history_["loss"]


# ----------------------------------------------------------------------------- reproducibility


@pytest.mark.slow  # three command-line trainings
def test_same_seed_same_metrics_through_the_cli(tmp_path):
    """The whole run (seeded split, initialisation, dropout, shuffling) twice: identical
    metrics and probabilities; another seed gives others (the comparison can fail)."""
    from kmlc.cli import main
    from kmlc.datasets import write_support_tickets

    data = tmp_path / "tickets.csv"
    write_support_tickets(data, n_rows=160, seed=4)
    args = ["train", "--data", str(data), "--epochs", "2", "--max-tokens", "400", "--hidden-units", "16",
            "--batch-size", "16", "--verbose", "0"]
    runs = {}
    for name, seed in [("a", "1"), ("b", "1"), ("c", "2")]:
        assert main([*args, "--seed", seed, "--out", str(tmp_path / name)]) == 0
        runs[name] = _without_seconds(json.loads((tmp_path / name / "metrics.json").read_text()))
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]
    texts = ["I was charged twice", "my parcel is late", "the app crashes on login"]
    np.testing.assert_array_equal(kmlc.load(tmp_path / "a").predict_proba(texts), kmlc.load(tmp_path / "b").predict_proba(texts))


# ----------------------------------------------------------------------------- safe loading


@pytest.fixture(scope="module")
def saved_model(corpus, tmp_path_factory):
    texts, labels = corpus
    clf = kmlc.TextClassifier(seed=3, **{**RESUMABLE, "epochs": 2}).fit(texts, labels)
    directory = tmp_path_factory.mktemp("saved") / "model"
    clf.save(directory)
    return directory


def _model_files(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_saved_files_are_listed_with_checksums(saved_model):
    info = json.loads((saved_model / "kmlc.json").read_text())
    assert sorted(info["files"]) == [f for f in _model_files(saved_model) if f != "kmlc.json"]
    assert {"model.keras", "labels.txt", "preprocessor/config.json"} <= set(info["files"])


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "append"])
def test_every_damaged_file_gives_a_clear_model_error(saved_model, tmp_path, damage):
    files = _model_files(saved_model)
    assert len(files) >= 8
    for name in files:
        directory = tmp_path / name.replace("/", "_")
        shutil.copytree(saved_model, directory)
        path = directory / name
        data = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "garbage":
            path.write_bytes(np.random.default_rng(0).bytes(max(len(data), 16)))
        elif damage == "append":
            path.write_bytes(data + b"\n#")
        else:
            path.unlink()
        with pytest.raises(KmlcModelError) as excinfo:
            kmlc.load(directory)
        message = str(excinfo.value)
        assert message.startswith("Expected ") and "Received" in message and "\n" not in message, (name, message)
        assert name in message or name.split("/")[-1] in message or "kmlc.json" in message or "preprocessor" in message, (name, message)
        assert excinfo.value.__cause__ is None or isinstance(excinfo.value.__cause__, KmlcModelError)


def test_damage_is_caught_without_checksums_too(saved_model, tmp_path):
    """A directory whose kmlc.json lost its checksums (or an older one) still never crashes."""
    for name in ["model.keras", "preprocessor/idf_weights.npz", "preprocessor/vocabulary.json", "training.json"]:
        directory = tmp_path / name.replace("/", "_")
        shutil.copytree(saved_model, directory)
        info = json.loads((directory / "kmlc.json").read_text())
        info.pop("files")
        (directory / "kmlc.json").write_text(json.dumps(info))
        path = directory / name
        path.write_bytes(path.read_bytes()[:20])
        with pytest.raises(KmlcModelError, match="Expected"):
            kmlc.load(directory)


def test_loading_never_runs_code_from_the_directory(saved_model, tmp_path):
    """A model.keras holding a Lambda layer (Python bytecode) is refused by safe_mode, even
    with checksums forged to match; the Lambda never runs."""
    from kmlc.persistence import _write_checksums

    directory = tmp_path / "forged"
    shutil.copytree(saved_model, directory)
    marker = tmp_path / "pwned"
    inputs = keras.Input((8,))
    marker_name = str(marker)  # a closure value Keras can serialise
    hook = keras.layers.Lambda(lambda x: (open(marker_name, "w").close(), x)[1], output_shape=lambda s: s)
    evil = keras.Model(inputs, keras.layers.Dense(3)(hook(inputs)))
    marker.unlink(missing_ok=True)
    evil.save(directory / "model.keras")
    marker.unlink(missing_ok=True)
    _write_checksums(directory)
    with pytest.raises(KmlcModelError, match="cannot be loaded"):
        kmlc.load(directory)
    assert not marker.exists()
    for name in ["config.yaml", "thresholds.json", "training.json", "kmlc.json"]:
        assert b"pickle" not in (saved_model / name).read_bytes()


# ----------------------------------------------------------------------------- the command line


def _uninterrupted_cli_run(data, out, extra):
    from kmlc.cli import main

    assert main(["train", "--data", str(data), "--out", str(out), *extra]) == 0
    return _without_seconds(json.loads((out / "metrics.json").read_text()))


def _without_seconds(metrics):
    """A run's metrics.json without its wall-clock figures (the model's, the SVM wide path's and
    the linear baseline's fit seconds): what the same seed must reproduce exactly."""
    metrics.pop("train_seconds")
    metrics.get("baseline", {}).pop("train_seconds", None)
    metrics.get("wide_svm", {}).pop("seconds", None)
    return metrics


@pytest.mark.slow  # a subprocess and three trainings: minutes on a loaded 2-core machine
def test_kill_then_resume_through_the_cli(tmp_path):
    """SIGINT in the middle of `kmlc train`: exit 130, no model and no temporary directory,
    a message pointing to --resume; `kmlc train --resume` then ends with the metrics of an
    uninterrupted run and removes its backup."""
    from kmlc.cli import main, resume_dir
    from kmlc.datasets import write_support_tickets

    data = tmp_path / "tickets.csv"
    write_support_tickets(data, n_rows=300, seed=2)
    extra = ["--epochs", "25", "--patience", "25", "--max-tokens", "400", "--hidden-units", "16",
             "--batch-size", "8", "--seed", "7"]
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmlc.cli", "train", "--data", str(data), "--out", str(out), *extra, "--verbose", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.time() + 300
    for line in proc.stdout:
        if line.startswith("Epoch 4/") or time.time() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert f"no model was written to '{out}'" in err and f"kmlc train --resume {out}" in err, err[-1000:]
    assert not out.exists()
    work = resume_dir(out)
    state = json.loads((work / "backup" / "kmlc_state.json").read_text())
    assert 3 <= state["epoch"] < 25
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.resume", "tickets.csv"]
    # A new run over an interrupted one is refused: the backup is not thrown away silently.
    assert main(["train", "--data", str(data), "--out", str(out), *extra]) == 2

    assert main(["train", "--resume", str(out), "--verbose", "0"]) == 0
    assert not work.exists() and (out / "kmlc.json").is_file()
    resumed = _without_seconds(json.loads((out / "metrics.json").read_text()))
    assert resumed == _uninterrupted_cli_run(data, tmp_path / "reference", [*extra, "--verbose", "0"])


def test_resume_without_an_interrupted_run_and_with_settings(tmp_path, capsys):
    from kmlc.cli import main

    assert main(["train", "--resume", str(tmp_path / "none")]) == 2
    assert "Expected an interrupted `kmlc train --out" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "none"), "--epochs", "3"]) == 2
    assert "Received: ['--epochs']" in capsys.readouterr().err
    assert main(["train"]) == 2
    assert "Expected --out DIR (or --resume DIR)" in capsys.readouterr().err


def test_reports_and_json_are_written_atomically(tmp_path, monkeypatch):
    """A failure while writing leaves the previous file or directory, never half of one."""
    from kmlc import io
    from kmlc.outputs import REPORT_DIRECTORY

    io.write_json(tmp_path / "m.json", {"a": 1})
    real_dump = json.dumps
    monkeypatch.setattr(io.json, "dumps", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        io.write_json(tmp_path / "m.json", {"a": 2})
    monkeypatch.setattr(io.json, "dumps", real_dump)
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    with pytest.raises(KeyboardInterrupt):
        with io.atomic_directory(tmp_path / "report", REPORT_DIRECTORY) as tmp:
            (tmp / "report.html").write_text("half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


STUCK_TRAIN = """
import signal, sys, threading, time
from pathlib import Path
import kmlc.cli as cli
from kmlc.io import atomic_directory
from kmlc.outputs import MODEL_DIRECTORY

def stuck_train(args):
    # Writes a model directory, then waits where Python cannot run its signal handler, as
    # in a native wait that never returns: the main thread blocks the signals (the kernel
    # delivers them to another thread) and sleeps.
    with atomic_directory(Path(args.out), MODEL_DIRECTORY) as tmp:
        (tmp / "kmlc.json").write_text("{}")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        # "writing" comes from another thread a second later, once the main thread waits in
        # C: a signal sent while it still ran bytecode (between a print and the sleep) would
        # be handled there, and unwind the process normally.
        threading.Timer(1.0, lambda: print("writing", flush=True)).start()
        time.sleep(600)

cli.COMMANDS["train"] = stuck_train
sys.exit(cli.main(["train", "--out", sys.argv[1]]))
"""


@pytest.mark.parametrize("second_signal", [False, True])
def test_a_stuck_process_still_stops_after_sigterm(tmp_path, second_signal):
    """When the interrupt cannot unwind the process (its main thread never returns to the
    interpreter), the watchdog removes the half-written directory and exits 143 after the
    grace period, or at once on a second SIGTERM."""
    out = tmp_path / "model"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KMLC_INTERRUPT_GRACE_S": "60" if second_signal else "2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_TRAIN, str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout.readline().strip() == "writing"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".model.tmp-")]
    proc.send_signal(signal.SIGTERM)
    if second_signal:
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
    try:
        # 30 s: within the first case's 2 s grace, and far below the second's 60 s, so the
        # second case passes only if the second signal ended the process.
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err[-2000:]
    assert "stopped by the interrupt watchdog" in err and f"no model was written to '{out}'" in err
    assert list(tmp_path.iterdir()) == []  # neither the model nor its temporary directory


def test_interrupts_are_held_while_deferred_and_raised_on_leaving():
    """`defer` holds a signal only inside `deferred_interrupts()`; leaving raises it once."""
    from kmlc import interrupts

    assert interrupts.defer(signal.SIGTERM) is False  # outside: the handler must raise itself
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        with interrupts.deferred_interrupts():
            assert interrupts.defer(signal.SIGTERM) is True
            assert interrupts.defer(signal.SIGINT) is True  # the first one is kept
    interrupts.raise_pending()  # nothing is left held


class SignalAtBatch(keras.callbacks.Callback):
    """Stands in for a SIGTERM arriving during batch `k`: holds it as the handler would."""

    def __init__(self, k):
        super().__init__()
        self.k, self.batches = k, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.batches += 1
        if self.batches == self.k:
            from kmlc.interrupts import defer

            assert defer(signal.SIGTERM)


def test_an_interrupt_during_training_stops_at_the_next_batch_boundary(corpus):
    """Held during batch 2, the interrupt ends training as a KeyboardInterrupt right after
    that batch, before batch 3 starts: never in the middle of native work."""
    texts, labels = corpus
    arrival = SignalAtBatch(2)
    with pytest.raises(KeyboardInterrupt):
        kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, callbacks=[arrival])
    assert arrival.batches == 2


class WeightsAtEpochEnd(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_early_stopping_keeps_the_best_epochs_weights(corpus):
    """Training runs `patience` epochs past the best one, then the best epoch's weights come
    back exactly (the snapshot is a copy: later steps must not change it)."""
    texts, labels = corpus
    seen = WeightsAtEpochEnd()
    clf = kmlc.TextClassifier(seed=5, **RESUMABLE).fit(texts, labels, callbacks=[seen])
    assert len(seen.weights) > clf.best_epoch_  # it went on past the best epoch
    best, last = seen.weights[clf.best_epoch_ - 1], seen.weights[-1]
    assert any(not np.array_equal(a, b) for a, b in zip(best, last))
    for restored, expected in zip(clf.model_.get_weights(), best):
        np.testing.assert_array_equal(restored, expected)
