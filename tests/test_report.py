"""The evaluation report: every file written, valid PNGs, figures that match evaluate(), edge cases."""

import base64
import json

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import kmlc.report
from kmlc.errors import KmlcInputError
from kmlc.evaluation import evaluate
from kmlc.report import threshold_sweep, write_report
from kmlc.thresholds import tune_thresholds

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = ["label_frequency.png", "threshold_curves.png", "f1_by_group.png", "f1_vs_frequency.png",
             "cooccurrence.png", "training_curves.png"]
HISTORY = {"loss": [0.5, 0.3, 0.2], "val_loss": [0.6, 0.4, 0.45], "micro_f1": [0.2, 0.5, 0.6],
           "val_micro_f1": [0.2, 0.45, 0.4], "macro_f1": [0.1, 0.3, 0.4], "val_macro_f1": [0.1, 0.2, 0.2]}


def _problem(n=200, c=12, seed=0):
    """A long-tailed problem: label j is true with probability ~0.5 / (j + 1); noisy scores."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, c)) < 0.5 / np.arange(1, c + 1)).astype(int)
    scores = np.clip(0.35 * y + 0.2 + 0.45 * rng.random((n, c)) ** 1.5, 0, 1)
    counts = (y.sum(axis=0) * 3).astype(int)
    names = [f"label_{i}" for i in range(c)]
    return y, scores, names, counts


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    y, scores, names, counts = _problem()
    names[3] = "<b>a & very long label name</b> that goes on and on, costing $5"
    policy = tune_thresholds(y, scores, "per-label")
    pred = policy.apply(scores).astype(int)
    out = write_report(tmp_path_factory.mktemp("rep") / "report", y_true=y, y_pred=pred, scores=scores,
                       label_names=names, train_counts=counts, thresholds=policy, history=HISTORY,
                       title="test report <1>")
    expected = evaluate(y, pred, scores, label_names=names, train_counts=counts)
    return out, expected, names, policy


def test_every_file_is_written_and_every_png_is_valid(report):
    out, _, _, _ = report
    names = {p.name for p in out.iterdir()}
    assert names == set(ALL_PLOTS) | {"report.html", "report.md", "metrics.json", "per_label.csv"}
    for name in names:
        assert (out / name).stat().st_size > 0, name
    for name in ALL_PLOTS:
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE, name
        height, width = matplotlib.image.imread(out / name).shape[:2]
        assert 300 < height < 3000 and 500 < width < 3000, (name, height, width)


def test_metrics_json_and_per_label_csv(report):
    out, expected, names, policy = report
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(expected))
    table = pd.read_csv(out / "per_label.csv", keep_default_na=False, na_values=[""])
    assert len(table) == 12 and table["label"].tolist() == names
    np.testing.assert_allclose(table["threshold"], policy.thresholds)
    assert set(table["group"]) <= {"head", "medium", "tail"}
    assert table["train_count"].notna().all()


def test_html_is_self_contained_with_every_plot_and_the_headline_figures(report):
    out, expected, _, _ = report
    page = (out / "report.html").read_text(encoding="utf-8")
    for name in ALL_PLOTS:
        assert base64.b64encode((out / name).read_bytes()).decode("ascii") in page, name
    assert page.count("data:image/png;base64,") == len(ALL_PLOTS)
    assert page.count("<figcaption>") == len(ALL_PLOTS)
    for key in ("micro_f1", "macro_f1", "micro_precision", "hamming_loss", "subset_accuracy",
                "precision_at_3", "ndcg_at_5"):
        assert f"{expected[key]:.4f}" in page, key
    assert "test report &lt;1&gt;" in page and "<b>a &amp; very long" in page.replace("&lt;b&gt;", "<b>")
    assert "<b>a & very" not in page  # label names are escaped
    assert "<script" not in page and "<link" not in page and "http" not in page


def test_markdown_has_the_tables_and_links_every_png(report):
    out, expected, _, _ = report
    md = (out / "report.md").read_text(encoding="utf-8")
    for name in ALL_PLOTS:
        assert f"]({name})" in md
    assert f"| Micro F1 | {expected['micro_f1']:.4f} |" in md
    assert md.count("\n| label_") == 11  # the per-label table (the 12th name starts with "<b>")


def test_threshold_sweep_matches_brute_force():
    y, scores, _, _ = _problem(50, 5, seed=3)
    t, p, r, f1 = threshold_sweep(y, scores)
    assert t.shape == (101,)
    for j in (0, 20, 50, 73, 100):
        pred = scores >= t[j]
        tp = (pred & (y == 1)).sum()
        assert r[j] == pytest.approx(tp / y.sum())
        assert f1[j] == pytest.approx(2 * tp / (pred.sum() + y.sum()))
        assert (np.isnan(p[j]) and pred.sum() == 0) or p[j] == pytest.approx(tp / pred.sum())


@pytest.mark.parametrize("c", [1, 1000])
def test_one_label_and_a_thousand_labels(tmp_path, c):
    rng = np.random.default_rng(1)
    y = (rng.random((60, c)) < 0.05).astype(int)
    y[0, 0] = 1
    scores = rng.random((60, c))
    pred = np.zeros_like(y) if c == 1 else (scores > 0.9).astype(int)  # C = 1: nothing predicted
    names = [f"a rather long descriptive label name number {i}" for i in range(c)]
    out = write_report(tmp_path / "r", y_true=y, y_pred=pred, scores=scores, label_names=names,
                       thresholds=tune_thresholds(y, scores, "global"))
    assert set(ALL_PLOTS[:5]) <= {p.name for p in out.iterdir()}
    assert "training_curves.png" not in {p.name for p in out.iterdir()}
    assert len(pd.read_csv(out / "per_label.csv")) == c
    for name in ALL_PLOTS[:5]:
        height, width = matplotlib.image.imread(out / name).shape[:2]
        assert height < 3000 and width < 3000
    page = (out / "report.html").read_text()
    assert "no training counts given" in page


def test_unseen_labels_history_object_and_top_k(tmp_path):
    # As TextClassifier.evaluate does it: a label never seen in training is an extra
    # column that is never predicted, with a train count of 0 and no threshold.
    y, scores, names, counts = _problem(80, 6)
    policy = tune_thresholds(y[:, :5], scores[:, :5], "top-k", top_k=2)
    pred = np.c_[policy.apply(scores[:, :5]), np.zeros(80)].astype(int)
    counts = np.r_[counts[:5], 0]
    metrics = evaluate(y, pred, scores, label_names=names, train_counts=counts)
    metrics["unseen_labels"] = {"label_5": int(y[:, 5].sum())}
    history = type("History", (), {"history": {"val_micro_f1": [0.1, 0.3, 0.2]}})()
    out = write_report(tmp_path / "r", y_true=y, y_pred=pred, scores=scores, label_names=names,
                       train_counts=counts, thresholds=policy, history=history, metrics=metrics)
    assert json.loads((out / "metrics.json").read_text())["unseen_labels"] == metrics["unseen_labels"]
    assert (out / "training_curves.png").read_bytes()[:8] == PNG_SIGNATURE
    page = (out / "report.html").read_text()
    assert "Labels never seen in training: 1" in page and "top-k policy (k = 2)" in page
    assert pd.read_csv(out / "per_label.csv")["threshold"].isna().all()  # top-k uses no thresholds


def test_thresholds_of_the_training_labels_are_padded_for_unseen_labels():
    policy = tune_thresholds(None, np.zeros((1, 2)), "fixed", default=0.3)
    _, thr = kmlc.report._check_thresholds(policy, 3, {"unseen_labels": {"new": 4}})
    np.testing.assert_array_equal(thr, [0.3, 0.3, np.nan])
    with pytest.raises(KmlcInputError, match="3 thresholds"):
        kmlc.report._check_thresholds(policy, 3, {"unseen_labels": {}})


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    y, scores, names, _ = _problem(20, 3)
    with pytest.raises(KmlcInputError, match="Expected at least one labelled example"):
        write_report(tmp_path / "r", y_true=np.zeros((0, 3)), y_pred=np.zeros((0, 3)), scores=np.zeros((0, 3)),
                     label_names=["a", "b", "c"])
    with pytest.raises(KmlcInputError, match="history"):
        write_report(tmp_path / "r", y_true=y, y_pred=y, scores=scores, label_names=names, history={"lr": [1.0]})
    with pytest.raises(KmlcInputError, match="3 thresholds"):
        write_report(tmp_path / "r", y_true=y, y_pred=y, scores=scores, label_names=names, thresholds=[0.5, 0.5])
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.h5").write_text("precious")
    with pytest.raises(KmlcInputError, match=r"kmlc did not write \(it holds \[.weights.h5.\]\); nothing was changed"):
        write_report(tmp_path / "model", y_true=y, y_pred=y, scores=scores, label_names=names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (tmp_path / "model" / "weights.h5").read_text() == "precious"


def test_a_failing_plot_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(kmlc.report.plots, "plot_cooccurrence", boom)
    y, scores, names, _ = _problem(30, 4)
    with pytest.raises(RuntimeError, match="boom"):
        write_report(tmp_path / "r", y_true=y, y_pred=y, scores=scores, label_names=names)
    assert not (tmp_path / "r").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary directory either
