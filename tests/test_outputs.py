"""Nothing kmlc did not write is ever replaced or deleted; one writer at a time; copies of a
text never straddle splits; every bad path or setting is one line before any work."""

import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from kmlc.cli import main
from kmlc.errors import KmlcDataWarning, KmlcInputError
from kmlc.outputs import MODEL_DIRECTORY, check_output, lock_path, output_lock
from kmlc.splits import iterative_split, text_groups

FAST = ["--epochs", "2", "--max-tokens", "300", "--hidden-units", "8", "--batch-size", "32", "--verbose", "0"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    from kmlc.datasets import write_support_tickets

    path = tmp_path_factory.mktemp("data") / "small.csv"
    write_support_tickets(path, n_rows=240, seed=4)
    return path


@pytest.fixture(scope="module")
def model_dir(small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "model"
    assert main(["train", "--data", str(small_csv), "--out", str(out), "--no-report", *FAST]) == 0
    return out


@pytest.fixture
def user_dir(tmp_path):
    """A directory of the user's, with a file kmlc must never touch."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "thesis.txt").write_text("three years of work")
    return d


def one_error_line(capsys, command):
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(f"kmlc {command}: error: Expected"), err
    assert len(err.splitlines()) == 1, err
    return err, captured.out


# ----------------------------------------------------------------------------- nothing foreign replaced


def test_a_user_directory_survives_every_command(small_csv, model_dir, user_dir, capsys):
    cases = [
        ("train", ["train", "--data", str(small_csv), "--out", str(user_dir), *FAST]),
        ("tune", ["tune", "--model", str(model_dir), "--data", str(small_csv), "--out", str(user_dir)]),
        ("split", ["split", "--data", str(small_csv), "--out", str(user_dir)]),
        ("evaluate", ["evaluate", "--model", str(model_dir), "--data", str(small_csv), "--report", str(user_dir)]),
        ("evaluate", ["evaluate", "--model", str(model_dir), "--data", str(small_csv), "--json", str(user_dir / "thesis.txt")]),
    ]
    for command, argv in cases:
        assert main(argv) == 2, command
        err, out = one_error_line(capsys, command)
        assert f"'{user_dir}" in err and "--overwrite" in err and "nothing was changed" in err
        assert out == ""  # refused before any work: no training or metric line
        assert sorted(p.name for p in user_dir.iterdir()) == ["thesis.txt"]
        assert (user_dir / "thesis.txt").read_text() == "three years of work"
    # An export adds a version directory beside the user's files and touches nothing else.
    assert main(["export", "--model", str(model_dir), "--out", str(user_dir)]) == 0
    assert sorted(p.name for p in user_dir.iterdir()) == ["1", "thesis.txt"]
    assert (user_dir / "thesis.txt").read_text() == "three years of work"
    assert [p.name for p in user_dir.parent.iterdir() if p.name.startswith(".")] == []  # no lock, no temporary


def test_a_user_file_survives_and_overwrite_replaces_on_purpose(small_csv, tmp_path, capsys):
    target = tmp_path / "afile.txt"
    target.write_text("precious")
    assert main(["train", "--data", str(small_csv), "--out", str(target), *FAST]) == 2
    err, _ = one_error_line(capsys, "train")
    assert "Received: a file (kmlc writes a directory there)" in err
    assert target.read_text() == "precious" and sorted(p.name for p in tmp_path.iterdir()) == ["afile.txt"]
    # --overwrite: replaced once the new model is complete; no backup or lock left behind.
    assert main(["train", "--data", str(small_csv), "--out", str(target), "--overwrite", *FAST]) == 0
    assert (target / "kmlc.json").is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["afile.txt"]


def test_a_kmlc_directory_with_a_user_file_inside_is_the_users(small_csv, model_dir, tmp_path, capsys):
    import shutil

    out = tmp_path / "m"
    shutil.copytree(model_dir, out)
    (out / "notes.md").write_text("why I chose these settings")
    assert main(["tune", "--model", str(out), "--data", str(small_csv)]) == 2  # in place
    err, _ = one_error_line(capsys, "tune")
    assert "a kmlc model directory that also holds files kmlc did not write ['notes.md']" in err
    assert (out / "notes.md").is_file()
    (out / "notes.md").unlink()
    assert main(["tune", "--model", str(out), "--data", str(small_csv), "--threshold", "per-label"]) == 0
    assert json.loads((out / "thresholds.json").read_text())["strategy"] == "per-label"


def test_split_and_report_replace_their_own_output(small_csv, model_dir, tmp_path, capsys):
    for _ in range(2):  # the second run replaces the first's files: kmlc's own
        assert main(["split", "--data", str(small_csv), "--out", str(tmp_path / "s")]) == 0
        assert main(["evaluate", "--model", str(model_dir), "--data", str(small_csv), "--report", str(tmp_path / "r"),
                     "--json", str(tmp_path / "m.json")]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["split.json", "test.csv", "train.csv", "validation.csv"]
    assert (tmp_path / "r" / "report.html").is_file() and "micro_f1" in json.loads((tmp_path / "m.json").read_text())


def test_the_python_api_follows_the_same_rule(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "x.txt").write_text("x")
    with pytest.raises(KmlcInputError, match=r"'.*d', Received: a directory that kmlc did not write .*overwrite=True"):
        check_output(d, MODEL_DIRECTORY)
    check_output(tmp_path / "new", MODEL_DIRECTORY)
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", MODEL_DIRECTORY)  # an empty directory is free


# ----------------------------------------------------------------------------- paths that cannot be written


def _unwritable(tmp_path):
    """A directory in which nothing can be created, also for root (who ignores permissions)."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    return "/proc"  # procfs: no new entries, whoever asks


def test_unwritable_outputs_fail_before_any_work(small_csv, model_dir, tmp_path, capsys, monkeypatch):
    ro = _unwritable(tmp_path)
    for command, argv in [
        ("train", ["train", "--data", str(small_csv), "--out", f"{ro}/m", *FAST]),
        ("tune", ["tune", "--model", str(model_dir), "--data", str(small_csv), "--out", f"{ro}/m"]),
        ("split", ["split", "--data", str(small_csv), "--out", f"{ro}/s"]),
        ("export", ["export", "--model", str(model_dir), "--out", f"{ro}/e"]),
        ("evaluate", ["evaluate", "--model", str(model_dir), "--data", str(small_csv), "--json", f"{ro}/m.json"]),
        ("evaluate", ["evaluate", "--model", str(model_dir), "--data", str(small_csv), "--json", str(tmp_path)]),
        ("train", ["train", "--data", str(small_csv), "--out", str(small_csv / "m"), *FAST]),
    ]:
        assert main(argv) == 2, argv
        err, out = one_error_line(capsys, command)
        assert "writable location" in err or "which is a directory" in err or "which is a file" in err, err
        assert out == ""
    monkeypatch.chdir(tmp_path)
    for target in (".", str(tmp_path.parent)):
        assert main(["train", "--data", str(small_csv), "--out", target, *FAST]) == 2
        err, _ = one_error_line(capsys, "train")
        assert "the current directory or one of its parents" in err


# ----------------------------------------------------------------------------- one writer at a time

HOLD_LOCK = """
import sys, time
from kmlc.outputs import output_lock
with output_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_fails_at_once_naming_the_holder(small_csv, tmp_path, capsys):
    out = tmp_path / "m"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        assert main(["train", "--data", str(small_csv), "--out", str(out), *FAST]) == 2
        err, out_text = one_error_line(capsys, "train")
        assert f"a lock held by pid {holder.pid}" in err and out_text == ""
        assert time.monotonic() - started < 10  # at once, not after training
    finally:
        holder.kill()
        holder.wait()
    # The holder died without removing its lock file: the next writer takes it over, warned.
    assert lock_path(out).exists()
    with pytest.warns(KmlcDataWarning, match=rf"took over the lock .* left by pid {holder.pid}"):
        with output_lock(out):
            assert json.loads(lock_path(out).read_text())["pid"] == os.getpid()
    assert not lock_path(out).exists()


def test_two_kmlc_train_processes_on_one_out(small_csv, tmp_path):
    out = tmp_path / "m"
    argv = [sys.executable, "-m", "kmlc.cli", "train", "--data", str(small_csv), "--out", str(out), *FAST]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    while not lock_path(out).exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err[-2000:]
    assert second.returncode == 2 and f"a lock held by pid {first.pid}" in second.stderr
    assert (out / "kmlc.json").is_file() and not lock_path(out).exists()


def test_the_lock_is_reentrant_in_one_thread_and_refuses_another(tmp_path):
    import threading

    errors = []
    with output_lock(tmp_path / "x"):
        with output_lock(tmp_path / "x"):  # save() inside `kmlc train`'s claim
            pass
        thread = threading.Thread(target=lambda: _try_lock(tmp_path / "x", errors))
        thread.start()
        thread.join()
    assert len(errors) == 1 and "another thread of this process" in errors[0]


def _try_lock(path, errors):
    try:
        with output_lock(path):
            pass
    except KmlcInputError as e:
        errors.append(str(e))


# ----------------------------------------------------------------------------- duplicates stay together


def test_group_split_keeps_copies_together_and_is_the_plain_split_without_copies():
    rng = np.random.default_rng(0)
    y = (rng.random((90, 6)) < 0.3).astype(np.float32)
    plain = iterative_split(y, (0.6, 0.2, 0.2), seed=1)
    same = iterative_split(y, (0.6, 0.2, 0.2), seed=1, groups=np.arange(90))
    for a, b in zip(plain, same):
        np.testing.assert_array_equal(a, b)
    groups = np.repeat(np.arange(30), 3)  # every text three times
    parts = iterative_split(np.repeat(y[:30], 3, axis=0), (0.6, 0.2, 0.2), seed=1, groups=groups)
    assert sorted(np.concatenate(parts).tolist()) == list(range(90))
    owners = [set(groups[p]) for p in parts]
    assert not (owners[0] & owners[1] or owners[0] & owners[2] or owners[1] & owners[2])
    assert [len(p) for p in parts] == [3 * len(o) for o in owners]
    np.testing.assert_array_equal(text_groups(["a", "b", "a", "c", "b"]), [0, 1, 0, 2, 1])


@pytest.fixture(scope="module")
def tripled_csv(small_csv, tmp_path_factory):
    frame = pd.read_csv(small_csv, keep_default_na=False)
    path = tmp_path_factory.mktemp("dup") / "tripled.csv"
    pd.concat([frame] * 3, ignore_index=True).to_csv(path, index=False)
    return path


def test_kmlc_split_never_puts_a_text_in_two_splits(tripled_csv, tmp_path, capsys):
    with pytest.warns(KmlcDataWarning, match=r"occur more than once .*kept all rows"):
        assert main(["split", "--data", str(tripled_csv), "--out", str(tmp_path / "s")]) == 0
    texts = {n: set(pd.read_csv(tmp_path / "s" / f"{n}.csv").text) for n in ("train", "validation", "test")}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["validation"]
    assert not texts["validation"] & texts["test"]


def test_train_splits_whole_texts_and_reports_the_overlap(tripled_csv, small_csv, tmp_path, capsys):
    out = tmp_path / "m"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KmlcDataWarning)
        assert main(["train", "--data", str(tripled_csv), "--out", str(out), *FAST]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["validation"]["texts_in_training"] == 0 and metrics["test"]["texts_in_training"] == 0
    assert "0 of the" in (out / "reports" / "test" / "report.md").read_text()
    # Files given by the user that overlap: counted, warned, stated in the report.
    capsys.readouterr()
    with pytest.warns(KmlcDataWarning, match=r"of the \d+ test texts .* also occur word for word in the training data"):
        assert main(["train", "--data", str(small_csv), "--test", str(small_csv), "--out", str(tmp_path / "o"), *FAST]) == 0
    test_metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())["test"]
    train_rows = int(json.loads((tmp_path / "o" / "training.json").read_text())["n_train"])
    assert test_metrics["texts_in_training"] >= train_rows - 5  # every training text (a few repeat)
    page = (tmp_path / "o" / "reports" / "test" / "report.md").read_text()
    assert f"{test_metrics['texts_in_training']} of the {test_metrics['n_examples']} texts also occur" in page


def test_fit_holds_out_whole_texts(tripled_csv):
    import kmlc
    from kmlc.data import read_labeled_texts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KmlcDataWarning)
        data = read_labeled_texts(tripled_csv)
    clf = kmlc.TextClassifier(epochs=1, max_tokens=300, hidden_units=(8,), verbose=0).fit(data.texts, data.labels)
    assert clf.metrics_["validation"]["texts_in_training"] == 0
    assert clf.metrics_["validation"]["n_examples"] % 3 == 0  # whole triples


# ----------------------------------------------------------------------------- one line, not a traceback


def test_predict_on_non_utf8_text_and_a_closed_pipe(model_dir, tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait\nfine\n".encode("latin-1"))
    assert main(["predict", "--model", str(model_dir), "--input", str(bad)]) == 2
    err, _ = one_error_line(capsys, "predict")
    assert "Expected a UTF-8 encoded file" in err and "line 1" in err and "iconv" in err
    many = tmp_path / "many.txt"
    many.write_text("\n".join(f"my parcel {i} never arrived" for i in range(4000)))
    proc = subprocess.Popen([sys.executable, "-m", "kmlc.cli", "predict", "--model", str(model_dir), "--input", str(many)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and json.loads(first)["text"] == "my parcel 0 never arrived"
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize("argv,message", [
    (["--label-sep", ""], "Expected a non-empty label separator"),
    (["--learning-rate", "inf"], "Expected learning_rate to be a finite number > 0, Received: inf."),
    (["--label-column", "text"], "Expected label column(s) other than the text column(s) ['text'], Received: ['text']"),
])
def test_bad_settings_are_one_line_before_work(small_csv, tmp_path, capsys, argv, message):
    assert main(["train", "--data", str(small_csv), "--out", str(tmp_path / "m"), *FAST, *argv]) == 2
    err, out = one_error_line(capsys, "train")
    assert message in err and out == ""


@pytest.mark.parametrize("text,message", [
    ("hidden_units: {a: 1}", "Expected hidden_units to be a list of integers >= 1 (e.g. [128]), Received: {'a': 1}."),
    ("text_columns: 3", "Expected text_columns (--text-column) to be a column name or a list of column names"),
    ("split: 0.5", "Expected split (--split) to be a list of numbers > 0 (e.g. [0.6, 0.2, 0.2]), Received: 0.5."),
    ("learning_rate: fast", "Expected a number for 'learning_rate'"),
    ("seed: -1", "Expected seed to be an integer in [0, 4294967296), Received: -1."),
    ("loss_params: 3", "Expected loss_params to be a mapping"),
])
def test_config_values_of_the_wrong_shape_are_one_line(small_csv, tmp_path, capsys, text, message):
    config = tmp_path / "c.yaml"
    config.write_text(text + "\n")
    assert main(["train", "--data", str(small_csv), "--config", str(config), "--out", str(tmp_path / "m")]) == 2
    err, out = one_error_line(capsys, "train")
    assert message in err and out == ""


def test_yaml_numbers_without_a_dot_and_a_single_layer_are_read_as_meant(tmp_path):
    from kmlc.config import read_config

    config = tmp_path / "c.yaml"
    config.write_text("learning_rate: 1e-3\nhidden_units: 64\nloss_params: {gamma: 2e0, mu: auto}\n")
    assert yaml.safe_load(config.read_text())["learning_rate"] == "1e-3"  # YAML 1.1: a string
    read = read_config(config)
    assert read["learning_rate"] == 0.001 and read["hidden_units"] == [64]
    assert read["loss_params"] == {"gamma": 2.0, "mu": "auto"}


def test_label_sep_is_recorded_as_used_and_resume_keeps_no_report(small_csv, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m"
    calls = []

    # Interrupt the first run after its run state is saved, then resume it.
    def interrupted_fit(self, *args, **kwargs):
        calls.append(1)
        raise KeyboardInterrupt("signal 15")

    import kmlc.estimator

    monkeypatch.setattr(kmlc.estimator.TextClassifier, "fit", interrupted_fit)
    assert main(["train", "--data", str(small_csv), "--out", str(out), "--no-report", *FAST]) == 130
    monkeypatch.undo()
    saved = yaml.safe_load((tmp_path / ".m.resume" / "run.yaml").read_text())
    assert saved["report"] is False and saved["label_sep"] == "|"
    assert main(["train", "--resume", str(out)]) == 0
    assert not (out / "reports").exists() and calls == [1]
    assert yaml.safe_load((out / "config.yaml").read_text())["report"] is False
    assert not (tmp_path / ".m.resume").exists()
