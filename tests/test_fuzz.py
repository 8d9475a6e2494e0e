"""Property tests (hypothesis) for what the other test files check only on examples: label
cells, splits, the label encoder, the classifier's thresholding, and arbitrary Unicode
through `predict` and the SavedModel. (Threshold tuning and the metrics against
scikit-learn have their properties in test_thresholds.py and test_evaluation.py.)"""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmlc.data import parse_label_cell, read_labeled_texts
from kmlc.errors import KmlcInputError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Model-based properties: each example runs the network, so few examples.
MODEL = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Any Unicode scalar value (UTF-8 encodable: no lone surrogates), control characters and
# emoji included.
UNICODE = st.characters(codec="utf-8")
label_text = st.text(UNICODE, min_size=1, max_size=12)


def _expected(labels):
    """What parsing keeps: stripped, non-empty, first occurrence only, order kept."""
    out = []
    for label in labels:
        label = label.strip()
        if label and label not in out:
            out.append(label)
    return out


# ----------------------------------------------------------------------------- label cells


@FAST
@given(st.lists(label_text, max_size=6), st.sampled_from(["|", ";", ","]))
def test_separated_cells_round_trip(labels, sep):
    labels = [label for label in labels if sep not in label]
    cell = sep.join(labels)
    if cell.strip().startswith("["):
        return  # a cell opening with "[" is read as a list literal (its own property below)
    assert parse_label_cell(cell, sep) == _expected(labels)


@FAST
@given(st.lists(label_text, max_size=6))
def test_list_literal_cells_round_trip(labels):
    assert parse_label_cell(repr(labels), "|") == _expected(labels)
    assert parse_label_cell(json.dumps(labels), "|") == _expected(labels)
    assert parse_label_cell(json.dumps(labels, ensure_ascii=False), "list") == _expected(labels)
    assert parse_label_cell(np.array(labels, dtype=object), "|") == _expected(labels)


@FAST
@given(st.text(UNICODE, max_size=40), st.sampled_from(["|", ";", "auto"]))
def test_any_cell_is_parsed_or_refused_clearly(cell, sep):
    """Through the reader: a list of clean labels, or one KmlcInputError; never another
    exception (a crash) and never an empty or padded label."""
    frame = pd.DataFrame({"text": ["a text"], "labels": [cell]})
    try:
        data = read_labeled_texts(frame, label_sep=sep)
    except KmlcInputError as e:
        assert str(e).startswith("Expected label cells") and "row 1" in str(e)
        return
    (labels,) = data.labels
    assert all(isinstance(label, str) and label and label == label.strip() for label in labels)
    assert len(set(labels)) == len(labels)


# ----------------------------------------------------------------------------- splits


@st.composite
def label_matrices(draw):
    n = draw(st.integers(3, 60))
    c = draw(st.integers(1, 6))
    y = draw(arrays(np.int8, (n, c), elements=st.sampled_from([0, 0, 1])))
    fractions = draw(st.sampled_from([(0.8, 0.2), (0.6, 0.2, 0.2), (0.5, 0.25, 0.25), (0.34, 0.33, 0.33)]))
    return y, fractions


@FAST
@given(label_matrices(), st.integers(0, 2**31 - 1))
def test_every_row_is_in_exactly_one_split(case, seed):
    from kmlc.splits import iterative_split

    y, fractions = case
    parts = iterative_split(y, fractions, seed=seed)
    assert len(parts) == len(fractions)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(y)))
    assert all(np.all(np.diff(part) > 0) for part in parts)  # sorted, no repeats
    # Seeded: the same seed gives the same split.
    again = iterative_split(y, fractions, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))


# ----------------------------------------------------------------------------- label encoder


@FAST
@given(st.lists(st.lists(st.sampled_from(["a", "b|c", "d e", "\u00e9", "\U0001f600", "x"]), max_size=4), min_size=1, max_size=20))
def test_label_encoder_round_trip(rows):
    from kmlc.labels import LabelEncoder

    rows = [list(dict.fromkeys(row)) for row in rows]
    if not any(rows):
        return
    encoder = LabelEncoder().fit(rows)
    y = encoder.transform(rows)
    assert y.shape == (len(rows), len({label for row in rows for label in row}))
    order = {label: i for i, label in enumerate(encoder.vocabulary_)}
    assert encoder.inverse_transform(y) == [sorted(row, key=order.get) for row in rows]


# ----------------------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def tiny_model():
    import kmlc
    from conftest import make_tiny_corpus

    texts, labels = make_tiny_corpus()
    return kmlc.TextClassifier(seed=3, max_tokens=300, hidden_units=(8,), dropout=0.0, epochs=3, patience=3,
                               batch_size=16, learning_rate=0.01, threshold="per-label", verbose=0).fit(texts, labels)


@pytest.mark.backend
@MODEL
@given(st.lists(st.text(UNICODE, max_size=60), min_size=1, max_size=6))
def test_any_unicode_through_predict(tiny_model, texts):
    proba = tiny_model.predict_proba(texts)
    assert proba.shape == (len(texts), len(tiny_model.labels_)) and proba.dtype == np.float32
    assert np.all((proba >= 0) & (proba <= 1))
    # predict is exactly predict_proba and the saved thresholds (per label, >=).
    expected = [[label for label, p, t in zip(tiny_model.labels_, row, tiny_model.thresholds_.thresholds) if p >= t]
                for row in proba]
    assert tiny_model.predict(texts) == expected
    # A text's probabilities do not depend on the other texts of the batch.
    np.testing.assert_allclose(tiny_model.predict_proba(texts[:1]), proba[:1], atol=1e-6)


@pytest.fixture(scope="module")
def served(tiny_model, tmp_path_factory):
    pytest.importorskip("kmlc.export")
    import tensorflow as tf

    target = tiny_model.export(tmp_path_factory.mktemp("fuzz") / "served")
    return tf.saved_model.load(str(target)).signatures["serving_default"]


@pytest.mark.backend
@MODEL
@given(st.lists(st.text(UNICODE, max_size=60), min_size=1, max_size=6))
def test_any_unicode_through_the_savedmodel(tiny_model, served, texts):
    import tensorflow as tf

    out = served(text=tf.constant([t.encode("utf-8") for t in texts], dtype=tf.string))
    np.testing.assert_allclose(out["probabilities"].numpy(), tiny_model.predict_proba(texts), atol=1e-5)
    mask = out["label_mask"].numpy()
    labels = [[label.decode("utf-8") for label, keep in zip(row, keep_row) if keep]
              for row, keep_row in zip(out["labels"].numpy(), mask)]
    assert labels == tiny_model.predict(texts)
