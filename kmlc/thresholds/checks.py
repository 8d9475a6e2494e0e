"""Validating the inputs of the threshold code: strategy, metric, top-k, min-precision,
score matrices and {0, 1} label matrices; each returns the checked value or raises a clear
`KmlcInputError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kmlc.errors import KmlcInputError

#: Threshold strategies understood by :func:`tune_thresholds`.
STRATEGIES = ("fixed", "global", "per-label", "top-k")
#: Choices for a command-line ``--threshold`` option (same as STRATEGIES).
THRESHOLD_CHOICES = STRATEGIES
#: Metrics that the "global" strategy can maximise.
METRICS = ("micro_f1", "macro_f1")


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------
def _check_strategy(strategy: Any) -> str:
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise KmlcInputError(
            f"Expected `strategy` to be one of {STRATEGIES}, Received: strategy={strategy!r}"
        )
    return strategy


def _check_metric(metric: Any) -> str:
    if not isinstance(metric, str) or metric not in METRICS:
        raise KmlcInputError(
            f"Expected `metric` to be one of {METRICS}, Received: metric={metric!r}"
        )
    return metric


def _check_top_k(top_k: Any, required: bool) -> int | None:
    if top_k is None:
        if required:
            raise KmlcInputError(
                "Expected `top_k` to be an integer >= 1 for strategy='top-k', "
                "Received: top_k=None"
            )
        return None
    if isinstance(top_k, (bool, np.bool_)) or not isinstance(top_k, (int, np.integer)):
        if isinstance(top_k, (float, np.floating)) and float(top_k).is_integer():
            top_k = int(top_k)
        else:
            raise KmlcInputError(
                f"Expected `top_k` to be an integer >= 1, Received: top_k={top_k!r}"
            )
    top_k = int(top_k)
    if top_k < 1:
        raise KmlcInputError(f"Expected `top_k` to be an integer >= 1, Received: top_k={top_k}")
    return top_k


def _check_min_precision(min_precision: Any) -> float | None:
    if min_precision is None:
        return None
    try:
        value = float(min_precision)
    except (TypeError, ValueError):
        value = float("nan")
    if not (0.0 <= value <= 1.0) or isinstance(min_precision, (bool, np.bool_)):
        raise KmlcInputError(
            "Expected `min_precision` to be None or a float in [0, 1], "
            f"Received: min_precision={min_precision!r}"
        )
    return value


def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    arr = np.asarray(scores)
    if arr.ndim != 2:
        raise KmlcInputError(
            f"Expected `{name}` to be a 2-D array [n_examples, n_labels], "
            f"Received: shape={arr.shape}"
        )
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == bool
    ):
        raise KmlcInputError(
            f"Expected `{name}` to be a numeric array, Received: dtype={arr.dtype}"
        )
    if arr.shape[1] == 0:
        raise KmlcInputError(
            f"Expected `{name}` to have at least one label column, Received: shape={arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        raise KmlcInputError(
            f"Expected `{name}` to contain no NaN, Received: {int(np.isnan(arr).sum())} NaN value(s)"
        )
    return arr


def check_binary_matrix(y: Any, name: str = "y_true") -> np.ndarray:
    """A 2-D {0, 1} array as bool, or a clear error."""
    arr = np.asarray(y)
    if arr.ndim != 2:
        raise KmlcInputError(
            f"Expected `{name}` to be a 2-D {{0, 1}} array [n_examples, n_labels], "
            f"Received: shape={arr.shape}"
        )
    if arr.dtype == bool:
        return arr
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise KmlcInputError(
            f"Expected `{name}` to be a {{0, 1}} numeric array, Received: dtype={arr.dtype}"
        )
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        raise KmlcInputError(
            f"Expected `{name}` to contain only 0 and 1, "
            f"Received: value {arr[bad].flat[0]!r} ({int(bad.sum())} invalid entries)"
        )
    return arr.astype(bool)
