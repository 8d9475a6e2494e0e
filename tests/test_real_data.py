"""Training on real data from ../shared/data (marked slow: about a minute each)."""

import pytest

import kmlc
from kmlc.data import read_labeled_texts

pytestmark = pytest.mark.slow


def test_semeval2014_restaurants_test_micro_f1(shared_dataset):
    folder = shared_dataset("semeval2014_restaurants_aspect_categories")
    train = read_labeled_texts(folder / "train.csv")
    test = read_labeled_texts(folder / "test.csv")
    clf = kmlc.TextClassifier(seed=0, verbose=0).fit(train.texts, train.labels)
    metrics = clf.evaluate(test.texts, test.labels)
    # TF-IDF + one-vs-rest linear SVM scores 0.82 at its default threshold.
    assert metrics["micro_f1"] >= 0.78, metrics
    assert metrics["n_labels_predicted"] == 5
