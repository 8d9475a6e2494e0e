"""`ThresholdPolicy`: a fitted decision rule, applied to scores, saved as a plain dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.thresholds.checks import (
    _check_metric,
    _check_min_precision,
    _check_scores,
    _check_strategy,
    _check_top_k,
)

_POLICY_KEYS = (
    "strategy",
    "thresholds",
    "top_k",
    "at_least_one",
    "metric",
    "min_precision",
    "n_labels",
)


# --------------------------------------------------------------------------
# policy
# --------------------------------------------------------------------------
@dataclass(eq=False)
class ThresholdPolicy:
    """How to turn scores ``[N, C]`` into predictions ``[N, C]``.

    Attributes:
        thresholds: float array ``[C]``; label ``c`` is predicted when
            ``score[:, c] >= thresholds[c]`` (unused by "top-k").
        strategy: one of :data:`STRATEGIES` (records how it was fitted).
        top_k: for "top-k", exactly ``min(top_k, C)`` labels per row: the
            highest scores, ties broken by a stable sort on ``-score`` (lower
            label index first).  Ignored by the other strategies.
        at_least_one: after the strategy, every row with no predicted label
            gets its highest-scoring label (first one on ties).
        metric: the metric the thresholds were tuned for (informational).
        min_precision: the precision constraint used when tuning, if any
            (informational).
    """

    thresholds: np.ndarray
    strategy: str = "fixed"
    top_k: int | None = None
    at_least_one: bool = False
    metric: str = "micro_f1"
    min_precision: float | None = field(default=None)

    def __post_init__(self) -> None:
        self.strategy = _check_strategy(self.strategy)
        self.metric = _check_metric(self.metric)
        self.top_k = _check_top_k(self.top_k, required=self.strategy == "top-k")
        self.min_precision = _check_min_precision(self.min_precision)
        if not isinstance(self.at_least_one, (bool, np.bool_)):
            raise KmlcInputError(
                f"Expected `at_least_one` to be a bool, Received: at_least_one={self.at_least_one!r}"
            )
        self.at_least_one = bool(self.at_least_one)
        try:
            thr = np.array(self.thresholds, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise KmlcInputError(
                "Expected `thresholds` to be a 1-D array of floats, "
                f"Received: {self.thresholds!r}"
            ) from exc
        if thr.ndim == 0:
            thr = thr.reshape(1)
        if thr.ndim != 1 or thr.size == 0:
            raise KmlcInputError(
                "Expected `thresholds` to be a non-empty 1-D array of floats, "
                f"Received: shape={thr.shape}"
            )
        if not np.all(np.isfinite(thr)):
            raise KmlcInputError(
                "Expected `thresholds` to be finite, "
                f"Received: {int((~np.isfinite(thr)).sum())} non-finite value(s)"
            )
        self.thresholds = thr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ThresholdPolicy):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # mutable, like a plain dataclass with eq=True

    @property
    def n_labels(self) -> int:
        return int(self.thresholds.shape[0])

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Returns the boolean prediction matrix ``[N, C]`` for ``scores``."""
        scores = _check_scores(scores)
        if scores.shape[1] != self.n_labels:
            raise KmlcInputError(
                f"Expected `scores` with {self.n_labels} label columns, "
                f"Received: shape={scores.shape}"
            )
        n, c = scores.shape
        if self.strategy == "top-k":
            k = min(int(self.top_k), c)
            pred = np.zeros((n, c), dtype=bool)
            if n:
                order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
                np.put_along_axis(pred, order, True, axis=1)
        else:
            pred = scores >= self.thresholds[None, :]
        if self.at_least_one and n:
            empty = ~pred.any(axis=1)
            if empty.any():
                rows = np.flatnonzero(empty)
                pred[rows, np.argmax(scores[rows], axis=1)] = True
        return pred

    __call__ = apply

    def to_dict(self) -> dict:
        """JSON-serialisable description (plain lists, floats, ints, bools)."""
        return {
            "strategy": self.strategy,
            "thresholds": [float(t) for t in self.thresholds],
            "top_k": None if self.top_k is None else int(self.top_k),
            "at_least_one": bool(self.at_least_one),
            "metric": self.metric,
            "min_precision": None if self.min_precision is None else float(self.min_precision),
            "n_labels": self.n_labels,
        }

    @classmethod
    def from_dict(cls, d: dict, n_labels: int | None = None) -> "ThresholdPolicy":
        """Inverse of :meth:`to_dict`; validates keys, values and length.

        ``thresholds`` and ``strategy`` are required, the other keys optional.
        If ``n_labels`` is given (argument or key), the number of thresholds
        must match it.
        """
        if not isinstance(d, dict):
            raise KmlcInputError(
                f"Expected a dict describing a ThresholdPolicy, Received: {type(d).__name__}"
            )
        unknown = sorted(set(map(str, d)) - set(_POLICY_KEYS))
        if unknown:
            raise KmlcInputError(
                f"Expected ThresholdPolicy keys among {_POLICY_KEYS}, Received unknown key(s): {unknown}"
            )
        missing = [k for k in ("strategy", "thresholds") if k not in d]
        if missing:
            raise KmlcInputError(
                f"Expected keys 'strategy' and 'thresholds' in the ThresholdPolicy dict, "
                f"Received: missing {missing} (keys: {sorted(d)})"
            )
        thresholds = d["thresholds"]
        if (
            not isinstance(thresholds, (list, tuple, np.ndarray))
            or len(thresholds) == 0
            or not all(_is_number(t) for t in thresholds)
        ):
            shown = thresholds if not isinstance(thresholds, (list, tuple)) else list(thresholds)[:5]
            raise KmlcInputError(
                "Expected 'thresholds' to be a non-empty list of numbers, "
                f"Received: {shown!r}"
            )
        policy = cls(
            thresholds=np.asarray([float(t) for t in thresholds], dtype=np.float64),
            strategy=d["strategy"],
            top_k=d.get("top_k"),
            at_least_one=d.get("at_least_one", False),
            metric=d.get("metric", "micro_f1"),
            min_precision=d.get("min_precision"),
        )
        for name, expected in (("n_labels", d.get("n_labels")), ("n_labels argument", n_labels)):
            if expected is not None and int(expected) != policy.n_labels:
                raise KmlcInputError(
                    f"Expected {int(expected)} thresholds ({name}), "
                    f"Received: {policy.n_labels}"
                )
        return policy


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )
