"""`tune_thresholds`: fits a `ThresholdPolicy` on validation labels and scores."""

from __future__ import annotations

import math

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.thresholds.checks import (
    _check_metric,
    _check_min_precision,
    _check_scores,
    _check_strategy,
    _check_top_k,
    check_binary_matrix,
)
from kmlc.thresholds.policy import ThresholdPolicy
from kmlc.thresholds.search import (
    _best_by_f1,
    _best_by_recall_at_precision,
    _global_threshold,
)


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
