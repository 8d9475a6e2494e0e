"""The `kmlc` command line, run in-process through kmlc.cli.main (the backend of the test run)."""

import json

import pandas as pd
import pytest

from kmlc.cli import main

pytestmark = pytest.mark.backend

FAST = ["--epochs", "3", "--max-tokens", "500", "--hidden-units", "16", "--batch-size", "32", "--verbose", "0"]


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory):
    from kmlc.datasets import write_support_tickets

    path = tmp_path_factory.mktemp("data") / "tickets.csv"
    write_support_tickets(path, n_rows=400, seed=1)
    return path


@pytest.fixture(scope="module")
def trained(demo_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "model"
    assert main(["train", "--data", str(demo_csv), "--out", str(out), "--seed", "3", *FAST]) == 0
    return out


def test_train_writes_the_model_directory(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert {"validation", "test"} <= set(metrics)
    assert abs(metrics["test"]["n_examples"] - 80) <= 5  # 20% of 400, as stratification allows
    labels = (trained / "labels.txt").read_text().split()
    assert len(labels) >= 12
    import yaml

    config = yaml.safe_load((trained / "config.yaml").read_text())
    assert config["epochs"] == 3 and config["seed"] == 3 and config["hidden_units"] == [16]
    assert config["data"].endswith("tickets.csv") and config["backend"] in ("jax", "tensorflow", "torch")
    for split in ("validation", "test"):
        page = (trained / "reports" / split / "report.html").read_text()
        assert "training_curves.png" in page and f"{metrics[split]['micro_f1']:.4f}" in page


def test_config_file_is_read_back_and_flags_override_it(trained, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["train", "--config", str(trained / "config.yaml"), "--out", str(out), "--epochs", "1"]) == 0
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["epochs"] == 1 and config["hidden_units"] == [16] and config["seed"] == 3


def test_evaluate_writes_the_metric_keys(trained, demo_csv, tmp_path):
    out = tmp_path / "m.json"
    assert main(["evaluate", "--model", str(trained), "--data", str(demo_csv), "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert main(["evaluate", "--model", str(trained), "--data", str(demo_csv), "--report", str(tmp_path / "rep")]) == 0
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text()) == metrics
    for key in ["micro_f1", "macro_f1", "micro_precision", "micro_recall", "hamming_loss",
                "subset_accuracy", "n_labels_predicted", "n_examples"]:
        assert key in metrics
    assert metrics["n_examples"] == 400


def test_predict_prints_one_json_object_per_line(trained, tmp_path, capsys):
    capsys.readouterr()
    inputs = tmp_path / "in.txt"
    inputs.write_text("I was charged twice for my subscription\nMy parcel never arrived\n")
    assert main(["predict", "--model", str(trained), "Where is my refund?", "--input", str(inputs)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["text"] for r in rows] == ["Where is my refund?", "I was charged twice for my subscription", "My parcel never arrived"]
    labels = (trained / "labels.txt").read_text().split()
    for r in rows:
        assert list(r["scores"]) == labels
        assert set(r["labels"]) <= set(labels)


def test_info_and_split(demo_csv, tmp_path, capsys):
    assert main(["info", "--data", str(demo_csv), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 400 and summary["labels"] >= 12
    assert main(["split", "--data", str(demo_csv), "--out", str(tmp_path / "splits"), "--seed", "1"]) == 0
    sizes = {n: len(pd.read_csv(tmp_path / "splits" / f"{n}.csv")) for n in ("train", "validation", "test")}
    assert sum(sizes.values()) == 400
    assert all(abs(sizes[n] - 400 * f) <= 5 for n, f in [("train", 0.6), ("validation", 0.2), ("test", 0.2)])


@pytest.mark.parametrize(
    "content,args,message",
    [
        ("body,labels\nhi,a\n", [], "Expected column(s) ['text']"),
        ("", [], "empty file"),
        ("text,labels\n", [], "header only"),
        ("text,labels\nhi,\"['a'\"\n", [], "cannot be parsed"),
        ("text,labels\n,a\nok,b\n", [], "Expected a non-empty text"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, capsys, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code = main(["train", "--data", str(path), "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and err.startswith("kmlc train: error: Expected")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bad_setting_and_unknown_config_key(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "o"), "--loss", "nope"]) == 2
    assert "Expected loss to be one of" in capsys.readouterr().err
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 2\nepoch: 3\n")
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "unknown ['epoch']" in capsys.readouterr().err


def test_missing_model_directory(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "none"), "hello"]) == 2
    assert "Expected a model directory" in capsys.readouterr().err


def test_tune_changes_the_saved_thresholds(trained, demo_csv, tmp_path, capsys):
    out = tmp_path / "tuned"
    assert main(["tune", "--model", str(trained), "--data", str(demo_csv), "--threshold", "per-label", "--out", str(out)]) == 0
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert thresholds["strategy"] == "per-label"
    assert len(set(thresholds["thresholds"])) > 1
    import yaml

    assert yaml.safe_load((out / "config.yaml").read_text())["threshold"] == "per-label"
    assert "tuning" in json.loads((out / "metrics.json").read_text())


def test_cli_reference_in_docs_is_current():
    from pathlib import Path

    from kmlc.cli import render_cli_reference

    written = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == render_cli_reference() + "\n", "docs/cli.md is stale: run python scripts/make_cli_docs.py"


def test_sigterm_during_training_keeps_the_previous_model(trained, demo_csv, tmp_path):
    """A training process killed mid-way (SIGTERM) exits 143 (128 + 15, as a shell reports it), leaves the model directory it
    was replacing as it was, and no temporary directory behind."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "killed"
    shutil.copytree(trained, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmlc.cli", "train", "--data", str(demo_csv), "--out", str(out),
         "--epochs", "200", "--patience", "200", "--verbose", "2", "--max-tokens", "500"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    # Wait until training has started (an epoch line), then kill.
    deadline = time.time() + 180
    for line in proc.stdout:
        if line.startswith("Epoch 2/") or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "interrupted" in err and f"'{out}' keeps its previous model" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    # No temporary directory is left; only the resumable backup (`kmlc train --resume`).
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".killed")] in ([], [".killed.resume"])


def test_train_bert_from_a_local_preset(tiny_bert_preset, demo_csv, tmp_path):
    out = tmp_path / "bert"
    code = main(["train", "--model", "bert", "--preset", str(tiny_bert_preset), "--data", str(demo_csv),
                 "--out", str(out), "--epochs", "1", "--sequence-length", "16", "--batch-size", "32",
                 "--verbose", "0"])
    assert code == 0
    import yaml

    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["model"] == "bert" and config["sequence_length"] == 16 and config["learning_rate"] == 5e-5
    assert (out / "preprocessor" / "vocab.txt").is_file()
