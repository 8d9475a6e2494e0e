"""A big label space (issue 9): thousands of long-tailed labels train, tune per-label
thresholds and evaluate, with the metrics equal to scikit-learn's on the predictions."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.preprocessing import MultiLabelBinarizer

import kmlc
from kmlc.datasets.synthetic import make_long_tail


@pytest.fixture(scope="module")
def corpus():
    frame = make_long_tail(n_rows=5000, n_labels=2000, seed=0, zipf_exponent=0.8)
    texts, labels = frame.text.tolist(), frame.labels.tolist()
    return (texts[:3200], labels[:3200]), (texts[3200:4000], labels[3200:4000]), (texts[4000:], labels[4000:])


def test_generated_corpus_is_long_tailed_and_seeded():
    a = make_long_tail(n_rows=2000, n_labels=500, seed=3)
    assert a.equals(make_long_tail(n_rows=2000, n_labels=500, seed=3))
    assert not a.equals(make_long_tail(n_rows=2000, n_labels=500, seed=4))
    counts = np.sort(np.bincount([int(l[1:]) for row in a.labels for l in row], minlength=500))[::-1]
    assert counts[0] > 20 * np.median(counts) and (counts <= 2).sum() > 100  # a head and a long tail
    assert {len(row) for row in a.labels} == {0, 1, 2, 3}


@pytest.mark.backend
def test_thousands_of_labels_train_tune_and_evaluate(corpus):
    (texts, labels), val, (test_texts, test_labels) = corpus
    clf = kmlc.TextClassifier(
        max_tokens=20000, ngrams=1, hidden_units=(256,), dropout=0.0, epochs=6, patience=6, batch_size=64,
        learning_rate=0.01, threshold="per-label", verbose=0, seed=0,
    ).fit(texts, labels, validation_data=val)
    n = len(clf.labels_)
    assert n == len({l for row in labels for l in row}) >= 1000
    assert np.asarray(clf.thresholds_.thresholds).shape == (n,)

    proba = clf.predict_proba(test_texts)
    assert proba.shape == (len(test_texts), n) and np.isfinite(proba).all()
    predicted = clf.predict(test_texts)
    metrics = clf.evaluate(test_texts, test_labels)

    # The same numbers from scikit-learn over the model's labels plus the test labels it never
    # saw (those count as missed positives).
    classes = sorted(set(clf.labels_) | {l for row in test_labels for l in row})
    binarizer = MultiLabelBinarizer(classes=classes)
    y_true, y_pred = binarizer.fit_transform(test_labels), binarizer.transform(predicted)
    assert metrics["micro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="micro", zero_division=0), abs=1e-9)
    assert metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0), abs=1e-9)
    assert metrics["micro_precision"] == pytest.approx(precision_score(y_true, y_pred, average="micro", zero_division=0), abs=1e-9)
    assert metrics["micro_recall"] == pytest.approx(recall_score(y_true, y_pred, average="micro", zero_division=0), abs=1e-9)
    # Learnt, not just run: the 50 most frequent labels' cue words are found (0.57 here; the
    # rare labels have a handful of examples, too few for 6 short epochs).
    counts = np.asarray(binarizer.transform(labels).sum(0)).ravel()
    head = np.argsort(-counts, kind="stable")[:50]
    head_f1 = f1_score(y_true[:, head], y_pred[:, head], average="micro", zero_division=0)
    assert head_f1 > 0.4, (head_f1, metrics["micro_f1"])
