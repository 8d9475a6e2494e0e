"""Validation of :func:`kmlc.report.write_report`'s inputs.

Shapes and values of the label and score matrices, label names, training counts,
group cut-offs, a precomputed metrics dict, thresholds and the training history are all
checked here, so that a bad input raises :class:`kmlc.errors.KmlcInputError` before
anything is written.  The matrix checks are :mod:`kmlc.evaluation`'s own, so a report
refuses exactly what :func:`kmlc.evaluation.evaluate` refuses, with the same messages.
"""

from __future__ import annotations

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.evaluation import (
    _check_cutoffs,
    _check_label_names,
    _check_pair,
    _check_scores,
    _check_train_counts,
)

_HISTORY_KEYS = ("loss", "val_loss", "micro_f1", "val_micro_f1", "macro_f1", "val_macro_f1")


def _check_inputs(directory, y_true, y_pred, scores, label_names, train_counts, thresholds,
                  history, group_cutoffs, metrics):
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        shape = np.shape(y)
        if len(shape) == 2 and shape[0] == 0:
            raise KmlcInputError(
                f"Expected at least one labelled example (row) to write a report on, "
                f"Received: `{name}` with shape={shape}"
            )
    yt, yp = _check_pair(y_true, y_pred)
    n, c = yt.shape
    s = None if scores is None else _check_scores(scores, yt.shape)
    names = _check_label_names(label_names, c)
    if names is None:
        names = [str(i) for i in range(c)]
    counts = _check_train_counts(train_counts, c)
    cutoffs = _check_cutoffs(group_cutoffs)
    if metrics is not None:
        if not isinstance(metrics, dict):
            raise KmlcInputError(
                f"Expected `metrics` to be the dict returned by evaluate(), Received: {type(metrics).__name__}"
            )
        if metrics.get("n_labels", c) != c or metrics.get("n_examples", n) != n:
            raise KmlcInputError(
                "Expected `metrics` computed on the same data as `y_true`, Received: "
                f"n_examples={metrics.get('n_examples')}, n_labels={metrics.get('n_labels')} "
                f"for y_true.shape={yt.shape}"
            )
    policy, thr = _check_thresholds(thresholds, c, metrics)
    hist = _check_history(history)
    return yt, yp, s, names, counts, thr, policy, hist, cutoffs


def _check_thresholds(thresholds, c, metrics):
    """(policy or None, float array [C] with NaN where there is no threshold, or None)."""
    if thresholds is None:
        return None, None
    policy = thresholds if hasattr(thresholds, "thresholds") else None
    try:
        thr = np.array(getattr(thresholds, "thresholds", thresholds), dtype=np.float64)
    except (TypeError, ValueError):
        raise KmlcInputError(
            "Expected `thresholds` to be a ThresholdPolicy, an array of floats or a float, "
            f"Received: {type(thresholds).__name__}"
        ) from None
    if thr.ndim == 0:
        thr = np.full(c, float(thr))
    if thr.ndim != 1:
        raise KmlcInputError(f"Expected 1-D thresholds, Received: shape={thr.shape}")
    unseen = (metrics or {}).get("unseen_labels") or ()
    if thr.shape[0] < c and thr.shape[0] + len(unseen) == c:
        thr = np.concatenate([thr, np.full(c - thr.shape[0], np.nan)])
    if thr.shape[0] != c:
        raise KmlcInputError(
            f"Expected {c} thresholds (one per label), Received: {thr.shape[0]}"
        )
    if getattr(policy, "strategy", None) == "top-k":
        thr = np.full(c, np.nan)  # a top-k policy does not use its thresholds
    return policy, thr


def _check_history(history):
    if history is None:
        return None
    history = getattr(history, "history", history)
    if not isinstance(history, dict):
        raise KmlcInputError(
            "Expected `history` to be a Keras History or its `.history` dict, "
            f"Received: {type(history).__name__}"
        )
    out = {}
    for key in _HISTORY_KEYS:
        if key not in history:
            continue
        try:
            values = np.asarray(history[key], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise KmlcInputError(
                f"Expected history['{key}'] to be a list of numbers, Received: {history[key]!r:.80}"
            ) from None
        if values.size:
            out[key] = values
    if not out:
        raise KmlcInputError(
            f"Expected `history` to hold at least one of {list(_HISTORY_KEYS)}, "
            f"Received keys: {sorted(map(str, history))}"
        )
    return out
