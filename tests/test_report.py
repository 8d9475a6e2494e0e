"""The evaluation report: every file written, valid PNGs, figures that match evaluate()."""

import json

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from kmlc.errors import KmlcInputError
from kmlc.evaluation import evaluate
from kmlc.report import write_report


def _problem(n=200, c=12, seed=0):
    rng = np.random.default_rng(seed)
    p = 0.5 / np.arange(1, c + 1)
    y = (rng.random((n, c)) < p).astype(int)
    scores = np.clip(0.6 * y + 0.5 * rng.random((n, c)), 0, 1)
    counts = (y.sum(axis=0) * 3).astype(int)
    return y, (scores >= 0.5).astype(int), scores, [f"label_{i}" for i in range(c)], counts


def test_every_file_is_written_and_matches_evaluate(tmp_path):
    y, pred, scores, names, counts = _problem()
    history = {"loss": [0.5, 0.3, 0.2], "val_loss": [0.6, 0.4, 0.45], "micro_f1": [0.2, 0.5, 0.6],
               "val_micro_f1": [0.2, 0.45, 0.4]}
    out = write_report(tmp_path / "r", y_true=y, y_pred=pred, scores=scores, label_names=names,
                       train_counts=counts, thresholds=np.full(12, 0.5), history=history, title="test report")
    pngs = ["label_frequency.png", "threshold_curves.png", "f1_by_group.png", "f1_vs_frequency.png",
            "cooccurrence.png", "training_curves.png"]
    for name in pngs + ["report.html", "report.md", "metrics.json", "per_label.csv"]:
        assert (out / name).stat().st_size > 0, name
    for name in pngs:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width = matplotlib.image.imread(out / name).shape[:2]
        assert height > 300 and width > 500
    expected = evaluate(y, pred, scores, label_names=names, train_counts=counts)
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(expected))
    table = pd.read_csv(out / "per_label.csv")
    assert table["label"].tolist() == names and len(table) == 12
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(pngs)
    assert f"{expected['micro_f1']:.4f}" in page and "test report" in page
    assert "![cooccurrence.png](cooccurrence.png)" in (out / "report.md").read_text()


@pytest.mark.parametrize("c", [1, 1000])
def test_one_label_and_a_thousand_labels(tmp_path, c):
    rng = np.random.default_rng(1)
    y = (rng.random((60, c)) < 0.05).astype(int)
    y[0, 0] = 1
    scores = rng.random((60, c))
    out = write_report(tmp_path / "r", y_true=y, y_pred=(scores > 0.9).astype(int), scores=scores,
                       label_names=[f"l{i}" for i in range(c)])
    assert (out / "report.html").stat().st_size > 0
    assert "training_curves.png" not in {p.name for p in out.iterdir()}


def test_no_rows_is_refused_and_a_failure_leaves_nothing(tmp_path, monkeypatch):
    with pytest.raises(KmlcInputError, match="Expected at least one labelled example"):
        write_report(tmp_path / "r", y_true=np.zeros((0, 3)), y_pred=np.zeros((0, 3)), scores=np.zeros((0, 3)),
                     label_names=["a", "b", "c"])
    import kmlc.report

    monkeypatch.setattr(kmlc.report, "plot_cooccurrence", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    y, pred, scores, names, counts = _problem()
    with pytest.raises(RuntimeError, match="boom"):
        write_report(tmp_path / "r", y_true=y, y_pred=pred, scores=scores, label_names=names)
    assert list(tmp_path.iterdir()) == []
