"""The linear baseline (kmlc.baselines): its figures equal scikit-learn's computed directly, on
one label set and on label groups; `kmlc train` prints it, writes it to metrics.json and to the
reports, `--no-baseline` skips it; a stream notes why it has none."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

import kmlc
from kmlc.baselines import BaselineNotFitted, LinearBaseline
from kmlc.cli import main
from kmlc.datasets import load_support_tickets, load_survey

FAST = dict(hidden_units=(16,), epochs=1, batch_size=64, verbose=0)


@pytest.fixture(scope="module")
def tickets():
    frame = load_support_tickets(n_rows=600, seed=1)
    texts, labels = frame["text"].tolist(), [list(cell) for cell in frame["labels"]]
    return (texts[:400], labels[:400]), (texts[400:500], labels[400:500]), (texts[500:], labels[500:])


def scikit_learn_direct(classifier, train, val):
    """The ten lines a user writes: scikit-learn's own pipeline, its decision values on the
    validation texts and the label matrices (columns in kmlc's label order)."""
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x = vectorizer.fit_transform(train[0])
    binarizer = MultiLabelBinarizer().fit(train[1])
    model = OneVsRestClassifier(classifier).fit(x, binarizer.transform(train[1]))
    return model.decision_function(vectorizer.transform(val[0])), binarizer


def best_global_threshold(y, decision):
    """The micro-F1 of the best single threshold on the decision values, by brute force over
    every distinct value (scikit-learn's f1_score)."""
    best = max(f1_score(y, (decision >= t).astype(int), average="micro", zero_division=0)
               for t in np.unique(decision))
    return best


@pytest.mark.parametrize("classifier", ["linear_svc", "logistic_regression"])
def test_baseline_figures_equal_scikit_learns(tickets, classifier):
    train, val, _ = tickets
    clf = kmlc.TextClassifier(baseline=True, baseline_classifier=classifier, seed=3, **FAST)
    clf.fit(*train, validation_data=val)
    estimator = (LinearSVC(random_state=3) if classifier == "linear_svc"
                 else LogisticRegression(random_state=3, max_iter=1000))
    decision, binarizer = scikit_learn_direct(estimator, train, val)
    # kmlc's columns are its label encoder's; scikit-learn's are sorted: reorder to kmlc's.
    order = [list(binarizer.classes_).index(label) for label in clf.labels_]
    decision = decision[:, order]
    np.testing.assert_allclose(clf.baseline_.linear.decision_function(val[0]), decision, rtol=1e-6, atol=1e-8)

    y_val = clf.label_encoder_.transform(val[1])
    figures = clf.baseline_metrics_["validation"]
    # Tuned for micro-F1 on these rows: the best any single threshold reaches.
    assert figures["micro_f1"] == pytest.approx(best_global_threshold(y_val, decision), abs=1e-12)
    # The tuned threshold (on the sigmoid of the decision value) applied by scikit-learn's f1_score.
    t = clf.baseline_metrics_["threshold"]
    y_pred = (1 / (1 + np.exp(-decision)) >= t).astype(int)
    assert figures["micro_f1"] == pytest.approx(f1_score(y_val, y_pred, average="micro"), abs=1e-12)
    assert figures["macro_f1"] == pytest.approx(f1_score(y_val, y_pred, average="macro", zero_division=0), abs=1e-12)
    # scikit-learn's own rule, decision value > 0, as its `predict` applies it.
    rule = (decision > 0).astype(int)
    assert figures["default_rule"]["micro_f1"] == pytest.approx(f1_score(y_val, rule, average="micro"), abs=1e-12)
    assert figures["default_rule"]["macro_f1"] == pytest.approx(
        f1_score(y_val, rule, average="macro", zero_division=0), abs=1e-12)
    assert clf.baseline_metrics_["classifier"] == classifier
    assert clf.baseline_metrics_["train_seconds"] >= 0
    # The model's own figures are unchanged by the baseline beside it.
    plain = kmlc.TextClassifier(seed=3, **FAST).fit(*train, validation_data=val)
    assert plain.metrics_["validation"]["micro_f1"] == clf.metrics_["validation"]["micro_f1"]
    assert plain.baseline_ is None and "baseline" not in plain.metrics_ and plain.baseline_metrics_ is None


def test_baseline_evaluates_new_texts_and_is_deterministic(tickets):
    train, val, test = tickets
    first = kmlc.TextClassifier(baseline=True, seed=0, **FAST).fit(*train, validation_data=val)
    again = kmlc.TextClassifier(baseline=True, seed=0, **FAST).fit(*train, validation_data=val)
    a, b = first.baseline_.evaluate(*test), again.baseline_.evaluate(*test)
    assert a["micro_f1"] == b["micro_f1"] and a["macro_f1"] == b["macro_f1"]
    assert a["n_examples"] == len(test[0]) and a["n_labels"] == len(first.labels_)
    assert set(a["groups"]) >= {"head", "medium", "tail"}


def test_baseline_on_label_groups_uses_one_vs_rest_per_class():
    survey = load_survey(n_rows=300, seed=2)
    columns = survey[["global_score", "emotions", "causes"]]
    grouped = {name: columns[name].tolist() for name in columns}
    train = {k: v[:220] for k, v in grouped.items()}
    val = {k: v[220:] for k, v in grouped.items()}
    texts = survey["text"].tolist()
    clf = kmlc.TextClassifier(label_groups=["global_score:multiclass", "emotions", "causes"], baseline=True,
                              seed=1, **FAST)
    clf.fit(texts[:220], train, validation_data=(texts[220:], val))
    figures = clf.baseline_metrics_["validation"]
    assert set(figures["group_metrics"]) == {"global_score", "emotions", "causes"}

    # The multiclass group: scikit-learn's one-vs-rest multiclass prediction (argmax of the
    # per-class decision values), its accuracy computed directly.
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x = vectorizer.fit_transform(texts[:220])
    direct = OneVsRestClassifier(LinearSVC(random_state=1)).fit(x, train["global_score"])
    predicted = direct.predict(vectorizer.transform(texts[220:]))
    accuracy = float(np.mean(predicted == np.asarray(val["global_score"])))
    assert figures["group_metrics"]["global_score"]["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert set(clf.baseline_metrics_["threshold"]) == {"emotions", "causes"}


def test_a_stream_notes_why_it_has_no_baseline(tmp_path, tickets):
    train, val, _ = tickets
    path = tmp_path / "train.csv"
    pd.DataFrame({"text": train[0], "labels": ["|".join(row) for row in train[1]]}).to_csv(path, index=False)
    clf = kmlc.TextClassifier(baseline=True, **FAST).fit_stream(str(path), validation_data=val)
    assert clf.baseline_ is None
    assert "stream" in clf.baseline_metrics_["skipped"]


def test_data_without_a_repeated_word_is_refused_in_words():
    with pytest.raises(BaselineNotFitted, match="no terms remain"):
        LinearBaseline().fit(["alpha beta", "gamma delta"], np.array([[1], [0]]))
    clf = kmlc.TextClassifier(baseline=True, **FAST).fit(
        ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"], [["a"], ["b"], ["a"], ["b"]],
        validation_data=(["iota kappa", "lambda mu"], [["a"], ["b"]]))
    assert clf.baseline_ is None and "no terms remain" in clf.baseline_metrics_["skipped"]


def test_kmlc_train_prints_writes_and_reports_the_comparison(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--out", str(out), "--epochs", "1", "--hidden-units", "16", "--verbose", "0"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    baseline = metrics["baseline"]
    for split in ("validation", "test"):
        mine, theirs = metrics[split]["micro_f1"], baseline[split]["micro_f1"]
        assert f"micro-F1 {mine:.4f} (linear baseline {theirs:.4f}, {100 * (mine - theirs):+.1f})" in printed
    assert f"(linear baseline: {baseline['train_seconds']:.1f} s)" in printed
    assert "train_seconds" in metrics and metrics["train_seconds"] > 0
    for split in ("validation", "test"):
        page = (out / "reports" / split / "report.md").read_text()
        assert "| metric | model | linear baseline | difference |" in page
        mine, theirs = metrics[split]["micro_f1"], baseline[split]["micro_f1"]
        assert f"| Micro F1 | {mine:.4f} | {theirs:.4f} | {mine - theirs:+.4f} |" in page
        assert "baseline macro F1" in page
        written = json.loads((out / "reports" / split / "metrics.json").read_text())
        assert written["baseline"]["micro_f1"] == baseline[split]["micro_f1"]
    # --no-baseline: nothing fitted, nothing printed, nothing written; the YAML says so.
    out2 = tmp_path / "m2"
    assert main(["train", "--out", str(out2), "--epochs", "1", "--hidden-units", "16", "--verbose", "0",
                 "--no-baseline", "--no-report"]) == 0
    assert "linear baseline" not in capsys.readouterr().out
    assert "baseline" not in json.loads((out2 / "metrics.json").read_text())
    assert "baseline: false" in (out2 / "config.yaml").read_text()
