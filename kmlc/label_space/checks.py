"""The label checks both layouts share: one label list per text, the training labels a model
directory can store (and what they will do to the model and its metrics, said before training),
and the metric columns of labels never seen in training.
"""

import warnings

import numpy as np

from kmlc.data import check_label_cardinality
from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview


def check_label_lists(labels, n, name="labels"):
    """One list of label strings per text (stripped, empty and repeated labels dropped)."""
    if labels is None or isinstance(labels, str):
        raise KmlcInputError(
            f"Expected {name} to be a list of label lists (e.g. [['a', 'b'], []]), "
            f"Received: {labels!r:.60}."
        )
    labels = list(labels)
    if len(labels) != n:
        raise KmlcInputError(
            f"Expected one label list per text ({n}), Received: {len(labels)} label lists."
        )
    out, bad = [], []
    for i, row in enumerate(labels):
        if isinstance(row, str) or not hasattr(row, "__iter__"):
            bad.append(i)
            out.append([])
            continue
        row = [str(label).strip() for label in row]
        out.append(list(dict.fromkeys(label for label in row if label)))
    if bad:
        raise KmlcInputError(
            f"Expected each row of {name} to be a list of strings, Received: a "
            f"{type(labels[bad[0]]).__name__} at position(s) {_preview(bad)}. A row with one "
            "label is ['label'], a row with none is []."
        )
    return out


def check_training_labels(train_labels, validation_unseen):
    """Refuses labels a model directory cannot store and says, before training, what the
    labels will do to the model and its metrics."""

    broken = sorted({label for row in train_labels for label in row if "\n" in label or "\r" in label})
    if broken:
        raise KmlcInputError(
            f"Expected labels without line breaks, Received: {len(broken)} label(s) such as "
            f"{_preview(broken, 3)}. Is the label column a free-text column?"
        )
    check_label_cardinality(train_labels, "the training labels")
    if validation_unseen:
        warnings.warn(
            f"{len(validation_unseen)} label(s) occur in the validation data but never in the "
            f"training data {_preview(sorted(validation_unseen))}: the model cannot predict them; "
            "they count as missed positives (validation metrics: `unseen_labels`).",
            KmlcDataWarning,
            stacklevel=4,
        )


def append_unseen_columns(label_lists, unseen_names, y_true, y_pred, scores, counts):
    """Appends one column per label never seen in training: its true positives from
    `label_lists`, never predicted, score -1 (below every probability, for the ranking
    metrics), training count 0. Returns (y_true as int8, y_pred, scores, counts)."""
    if unseen_names:
        column = {name: j for j, name in enumerate(unseen_names)}
        extra = np.zeros((len(label_lists), len(unseen_names)), dtype=np.float32)
        for i, row in enumerate(label_lists):
            for label in row:
                if label in column:
                    extra[i, column[label]] = 1.0
        y_true = np.concatenate([y_true, extra], axis=1)
        y_pred = np.concatenate([y_pred, np.zeros_like(extra, dtype=np.int8)], axis=1)
        scores = np.concatenate([scores, np.full(extra.shape, -1.0, np.float32)], axis=1)
        counts = np.concatenate([counts, np.zeros(len(unseen_names), dtype=np.asarray(counts).dtype)])
    return np.asarray(y_true).astype(np.int8), y_pred, scores, counts
