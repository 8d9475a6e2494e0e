"""Decision-threshold policies for multi-label classifiers (pure NumPy).

A :class:`ThresholdPolicy` turns a score matrix ``[N, C]`` (sigmoid
probabilities) into a boolean prediction matrix ``[N, C]``;
:func:`tune_thresholds` fits one on validation data.

Conventions
-----------
* **Decision rule.** Everywhere in this module a label is predicted when
  ``score >= threshold`` (not ``>``).  :meth:`ThresholdPolicy.apply` and the
  tuning code use the same rule.
* **Candidate thresholds.** Tuning is exact: every distinct score value ``v``
  is a candidate ("predict everything scoring ``>= v``"), plus "predict
  nothing".  The threshold that is *returned* for a candidate ``v`` is the
  midpoint between ``v`` and the next lower distinct score, so that tiny
  numeric noise (float32 vs float64 re-computation, ~1e-6) does not flip
  decisions on the tuning data.  Below the lowest score the "next lower"
  value is ``0.0`` if the lowest score is positive, else ``lowest - 1``.  For
  "predict nothing" the threshold is the midpoint between the highest score
  and ``1.0`` (or ``highest + 1`` if the highest score is ``>= 1``), i.e. it
  may exceed 1.0 when probabilities saturate.
* **Ties between candidates.** Among candidates whose objective equals the
  best one (exactly for micro-F1, which is a correctly-rounded ratio of
  integers; within ``1e-12`` for macro-F1, which is a float sum), the one
  whose returned threshold is closest to ``0.5`` wins; if two are equally
  close, the higher threshold wins.  The rule is deterministic.
* **Zero division.** F1, precision and recall of an empty denominator are 0
  (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kmlc.errors import KmlcDataWarning, KmlcInputError

__all__ = [
    "STRATEGIES",
    "THRESHOLD_CHOICES",
    "METRICS",
    "ThresholdPolicy",
    "tune_thresholds",
]

#: Threshold strategies understood by :func:`tune_thresholds`.
STRATEGIES = ("fixed", "global", "per-label", "top-k")
#: Choices for a command-line ``--threshold`` option (same as STRATEGIES).
THRESHOLD_CHOICES = STRATEGIES
#: Metrics that the "global" strategy can maximise.
METRICS = ("micro_f1", "macro_f1")

_DEFAULT_THRESHOLD = 0.5
_MACRO_TOL = 1e-12
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


# --------------------------------------------------------------------------
# exact threshold search
# --------------------------------------------------------------------------
def _lower_neighbour(v_min: np.ndarray) -> np.ndarray:
    return np.where(v_min > 0, 0.0, v_min - 1.0)


def _upper_neighbour(v_max: np.ndarray) -> np.ndarray:
    return np.where(v_max < 1.0, 1.0, v_max + 1.0)


def _midpoints(s_sorted: np.ndarray) -> np.ndarray:
    """Thresholds for the candidates of columns sorted in descending order.

    Returns ``[M + 1, K]``: row 0 is "predict nothing", row ``i + 1`` is
    "predict every score >= s_sorted[i]" (meaningful only where ``i`` is the
    last element of its tie group; there the next row holds the next lower
    distinct value).
    """
    lower = np.empty_like(s_sorted)
    lower[:-1] = s_sorted[1:]
    lower[-1] = _lower_neighbour(s_sorted[-1])
    mid = s_sorted + (lower - s_sorted) / 2.0
    # Guard against rounding onto either neighbour (adjacent floats).
    mid = np.where((mid > lower) & (mid <= s_sorted), mid, s_sorted)
    top = s_sorted[0]
    upper = _upper_neighbour(top)
    none_thr = top + (upper - top) / 2.0
    none_thr = np.where(none_thr > top, none_thr, upper)
    return np.vstack([none_thr[None, :], mid])


def _last_of_tie_group(s_sorted: np.ndarray) -> np.ndarray:
    last = np.ones(s_sorted.shape, dtype=bool)
    last[:-1] = s_sorted[:-1] != s_sorted[1:]
    return last


def _select(valid: np.ndarray, thr: np.ndarray, keys: list[tuple[np.ndarray, float]]):
    """Per-column lexicographic argmax over candidate rows.

    ``keys`` are ``(values, tol)`` pairs maximised in turn (a candidate
    survives if ``value >= best - tol``); remaining ties go to the threshold
    closest to 0.5, then to the highest threshold (rows are in decreasing
    threshold order, and argmin returns the first).
    """
    mask = valid.copy()
    for values, tol in keys:
        v = np.where(mask, values, -np.inf)
        best = v.max(axis=0, keepdims=True)
        mask &= v >= best - tol
    dist = np.where(mask, np.abs(thr - _DEFAULT_THRESHOLD), np.inf)
    return np.argmin(dist, axis=0)


def _sorted_columns(y: np.ndarray, s: np.ndarray):
    """Sorts every column by decreasing score; returns candidate statistics.

    Returns ``(thr, valid, tp, pp)`` each ``[M + 1, K]`` (row 0 = predict
    nothing), with ``tp``/``pp`` the true positives / predicted positives of
    each candidate.
    """
    order = np.argsort(-s, axis=0, kind="stable")
    s_sorted = np.take_along_axis(s, order, axis=0)
    y_sorted = np.take_along_axis(y, order, axis=0)
    m, k = s.shape
    tp = np.zeros((m + 1, k), dtype=np.int64)
    np.cumsum(y_sorted, axis=0, out=tp[1:])
    pp = np.broadcast_to(np.arange(m + 1, dtype=np.int64)[:, None], (m + 1, k))
    valid = np.vstack([np.ones((1, k), dtype=bool), _last_of_tie_group(s_sorted)])
    thr = _midpoints(s_sorted)
    return thr, valid, tp, pp


def _f1(tp, pp, npos) -> np.ndarray:
    denom = pp + npos
    return np.divide(2.0 * tp, denom, out=np.zeros(np.broadcast(tp, denom).shape), where=denom > 0)


def _ratio(num, den) -> np.ndarray:
    num, den = np.broadcast_arrays(num, den)
    return np.divide(num, den, out=np.zeros(num.shape, dtype=np.float64), where=den > 0)


def _best_by_f1(y: np.ndarray, s: np.ndarray):
    """Exact F1-optimal threshold of every column of ``(y, s)`` -> (thr, f1)."""
    thr, valid, tp, pp = _sorted_columns(y, s)
    npos = y.sum(axis=0)[None, :]
    f1 = _f1(tp, pp, npos)
    idx = _select(valid, thr, [(f1, 0.0)])
    cols = np.arange(s.shape[1])
    return thr[idx, cols], f1[idx, cols]


def _best_by_recall_at_precision(y: np.ndarray, s: np.ndarray, min_precision: float):
    """Per column: max recall s.t. precision >= min_precision (tie-break F1).

    Columns where no candidate reaches the precision get the candidate with
    the highest precision (then recall).  Returns (thr, feasible[K]).
    """
    thr, valid, tp, pp = _sorted_columns(y, s)
    npos = y.sum(axis=0)[None, :]
    precision = _ratio(tp, pp)
    recall = _ratio(tp, npos)
    f1 = _f1(tp, pp, npos)
    feasible = valid & (pp > 0) & (precision >= min_precision - 1e-12)
    any_feasible = feasible.any(axis=0)
    idx = _select(feasible, thr, [(recall, 0.0), (f1, 0.0)])
    if not any_feasible.all():
        fallback = _select(valid & (pp > 0), thr, [(precision, 0.0), (recall, 0.0)])
        idx = np.where(any_feasible, idx, fallback)
    cols = np.arange(s.shape[1])
    return thr[idx, cols], any_feasible


def _global_macro_f1(y: np.ndarray, s: np.ndarray) -> float:
    """Exact macro-F1-optimal global threshold.

    All ``N * C`` scores are sorted in decreasing order; lowering the
    threshold past one score changes only that score's label, so macro-F1 at
    every candidate is a cumulative sum of per-element F1 increments.
    """
    n, c = s.shape
    flat_s = s.ravel()
    order = np.argsort(-flat_s, kind="stable")
    s_o = flat_s[order]
    y_o = y.ravel()[order].astype(np.int64)
    lab_o = (order % c).astype(np.int64)
    # per-label running counts in the global order (grouped cumsum)
    by_lab = np.argsort(lab_o, kind="stable")
    y_g = y_o[by_lab]
    lab_g = lab_o[by_lab]
    starts = np.searchsorted(lab_g, np.arange(c))
    pos = np.arange(n * c)
    cs = np.cumsum(y_g)
    cs_before_group = np.concatenate([[0], cs])[starts][lab_g]
    tp_g = cs - cs_before_group
    cnt_g = pos - starts[lab_g] + 1
    tp_o = np.empty_like(tp_g)
    cnt_o = np.empty_like(cnt_g)
    tp_o[by_lab] = tp_g
    cnt_o[by_lab] = cnt_g
    npos = y.sum(axis=0).astype(np.int64)[lab_o]
    f1_new = _f1(tp_o, cnt_o, npos)
    f1_old = _f1(tp_o - y_o, cnt_o - 1, npos)
    macro = np.concatenate([[0.0], np.cumsum(f1_new - f1_old) / c])[:, None]
    valid = np.vstack([[[True]], _last_of_tie_group(s_o)[:, None]])
    thr = _midpoints(s_o[:, None])
    idx = _select(valid, thr, [(macro, _MACRO_TOL)])
    return float(thr[idx[0], 0])


def _global_threshold(y, s, metric, min_precision) -> float:
    if min_precision is not None:
        thr, feasible = _best_by_recall_at_precision(
            y.reshape(-1, 1), s.reshape(-1, 1), min_precision
        )
        if not feasible[0]:
            warnings.warn(
                f"No global threshold reaches micro-precision >= {min_precision}; "
                "using the threshold with the highest precision instead.",
                KmlcDataWarning,
                stacklevel=3,
            )
        return float(thr[0])
    if metric == "macro_f1":
        return _global_macro_f1(y, s)
    thr, _ = _best_by_f1(y.reshape(-1, 1), s.reshape(-1, 1))
    return float(thr[0])


def tune_thresholds(
    y_true,
    scores,
    strategy: str = "global",
    metric: str = "micro_f1",
    *,
    min_precision: float | None = None,
    top_k: int | None = None,
    at_least_one: bool = False,
    shrinkage: float = 10.0,
    default: float = 0.5,
) -> ThresholdPolicy:
    """Fits a :class:`ThresholdPolicy` on validation labels and scores.

    Args:
        y_true: {0, 1} array ``[N, C]`` (may be None for "fixed" and "top-k").
        scores: float array ``[N, C]`` (probabilities), finite.
        strategy: "fixed" (every threshold = ``default``), "global" (one
            threshold for all labels maximising ``metric``), "per-label"
            (see below) or "top-k" (``top_k`` labels per row).
        metric: "micro_f1" or "macro_f1" (for the global threshold).  Both
            are searched exactly over every distinct score value.
        min_precision: if set, the global threshold maximises micro-recall
            subject to micro-precision >= ``min_precision`` (ties: higher
            micro-F1, then closer to 0.5), and ``metric`` is not used as the
            objective.  If no threshold reaches the precision, the one with the
            highest precision is used and a KmlcDataWarning is issued.  With
            "per-label", each label's own threshold maximises its recall
            subject to its precision >= ``min_precision`` (labels that can't
            reach it take their highest-precision threshold).
        top_k: number of labels per row for "top-k" (required there).
        at_least_one: stored in the policy; applied on top of any strategy.
        shrinkage: pseudo-count ``s >= 0`` for "per-label".  Label ``c`` with
            ``n_c`` validation positives and its own optimal threshold
            ``t_c*`` gets ``t_c = (n_c * t_c* + s * t_global) / (n_c + s)``,
            where ``t_global`` is the "global" threshold for the same
            ``metric``/``min_precision``; labels with ``n_c == 0`` get
            ``t_global``.
        default: threshold for "fixed" and the (unused) thresholds of "top-k".

    Returns:
        ThresholdPolicy whose ``apply`` uses the ``score >= threshold`` rule.
    """
    strategy = _check_strategy(strategy)
    metric = _check_metric(metric)
    min_precision = _check_min_precision(min_precision)
    top_k = _check_top_k(top_k, required=strategy == "top-k")
    try:
        shrinkage_f = float(shrinkage)
    except (TypeError, ValueError):
        shrinkage_f = float("nan")
    if not (math.isfinite(shrinkage_f) and shrinkage_f >= 0):
        raise KmlcInputError(
            f"Expected `shrinkage` to be a finite float >= 0, Received: shrinkage={shrinkage!r}"
        )
    try:
        default_f = float(default)
    except (TypeError, ValueError):
        default_f = float("nan")
    if not math.isfinite(default_f):
        raise KmlcInputError(f"Expected `default` to be a finite float, Received: default={default!r}")

    s = _check_scores(scores)
    if not np.all(np.isfinite(s)):
        raise KmlcInputError(
            "Expected finite `scores` (probabilities) to tune thresholds on, "
            f"Received: {int((~np.isfinite(s)).sum())} infinite value(s)"
        )
    n, c = s.shape
    common = dict(
        strategy=strategy,
        top_k=top_k,
        at_least_one=at_least_one,
        metric=metric,
        min_precision=min_precision,
    )
    if strategy in ("fixed", "top-k") and y_true is None:
        return ThresholdPolicy(thresholds=np.full(c, default_f), **common)
    y = check_binary_matrix(y_true, "y_true")
    if y.shape != s.shape:
        raise KmlcInputError(
            f"Expected `y_true` and `scores` to have the same shape, "
            f"Received: y_true.shape={y.shape}, scores.shape={s.shape}"
        )
    if strategy in ("fixed", "top-k"):
        return ThresholdPolicy(thresholds=np.full(c, default_f), **common)
    if n == 0:
        raise KmlcInputError(
            f"Expected at least one example to tune thresholds on, Received: shape={s.shape}"
        )
    s = s.astype(np.float64)
    y = y.astype(np.int64)
    t_global = _global_threshold(y, s, metric, min_precision)
    if strategy == "global":
        return ThresholdPolicy(thresholds=np.full(c, t_global), **common)

    # per-label
    if min_precision is not None:
        t_opt, _ = _best_by_recall_at_precision(y, s, min_precision)
    else:
        t_opt, _ = _best_by_f1(y, s)
    n_pos = y.sum(axis=0).astype(np.float64)
    denom = n_pos + shrinkage_f
    thresholds = np.where(
        n_pos > 0,
        np.divide(
            n_pos * t_opt + shrinkage_f * t_global,
            denom,
            out=np.full(c, t_global),
            where=denom > 0,
        ),
        t_global,
    )
    return ThresholdPolicy(thresholds=thresholds, **common)
