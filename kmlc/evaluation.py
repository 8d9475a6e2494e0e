"""Multi-label evaluation metrics (pure NumPy, agree with scikit-learn).

Every figure is computed from per-label / per-row counts (tp, fp, fn) and
matches scikit-learn to ~1e-12 with ``zero_division=0``:

* precision = tp / (tp + fp), recall = tp / (tp + fn),
  F1 = 2 tp / (2 tp + fp + fn); any 0/0 is 0 (so a label, or a row for the
  "samples" average, that is never true and never predicted scores 0 in
  precision, recall, F1 and Jaccard, and still counts in the averages).
* micro: the same formulas on counts summed over all labels.
* macro: unweighted mean of the per-label values over *all* ``C`` labels.
* weighted: mean weighted by label support; if no label has any support the
  unweighted mean is used (as scikit-learn does; all values are then 0).
* samples: the formulas per row, then the mean over rows.
* hamming_loss = share of wrong cells, subset_accuracy = share of exactly
  right rows, jaccard = tp / (tp + fp + fn) (micro / macro / samples).
* precision_at_k = mean over rows of (#true labels among the k highest
  scores) / k.  The top-k are taken with a stable argsort of ``-scores``, so
  tied scores are broken towards the lower label index.  The denominator is
  always ``k`` (also if ``k > C``), as in the extreme-classification
  literature.
* ndcg_at_k = ``sklearn.metrics.ndcg_score(y_true, scores, k=k)``: binary
  gains, discount ``1 / log2(rank + 1)``, tied scores handled by averaging the
  gains over each tie group (scikit-learn's default ``ignore_ties=False``),
  ideal DCG from the true labels, and rows without any true label count as
  0 (they are *not* skipped).

Label-frequency groups follow the DB-loss paper's cut-offs: head = labels
with ``train_count >= 35``, medium = ``8 <= train_count < 35``,
tail = ``train_count < 8`` (configurable).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.thresholds import check_binary_matrix

__all__ = [
    "evaluate",
    "per_label_table",
    "frequency_groups",
    "group_cutoffs_from_quantiles",
    "label_counts",
    "precision_at_k",
    "ndcg_at_k",
    "GROUPS",
]

#: Names of the label-frequency groups, in order.
GROUPS = ("head", "medium", "tail")
DEFAULT_GROUP_CUTOFFS = (35, 8)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _as_binary(y: Any, name: str) -> np.ndarray:
    arr = check_binary_matrix(y, name)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise KmlcInputError(
            f"Expected `{name}` to have at least one example and one label, "
            f"Received: shape={arr.shape}"
        )
    return arr


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    yt = _as_binary(y_true, "y_true")
    yp = _as_binary(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise KmlcInputError(
            "Expected `y_true` and `y_pred` to have the same shape, "
            f"Received: y_true.shape={yt.shape}, y_pred.shape={yp.shape}"
        )
    return yt, yp


def _check_scores(scores: Any, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(scores)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == bool
    ):
        raise KmlcInputError(f"Expected `scores` to be numeric, Received: dtype={arr.dtype}")
    if arr.shape != shape:
        raise KmlcInputError(
            f"Expected `scores` to have shape {shape} like `y_true`, Received: shape={arr.shape}"
        )
    arr = arr.astype(np.float64)
    if np.isnan(arr).any():
        raise KmlcInputError(
            f"Expected `scores` to contain no NaN, Received: {int(np.isnan(arr).sum())} NaN value(s)"
        )
    return arr


def _check_label_names(label_names: Any, n_labels: int) -> list[str] | None:
    if label_names is None:
        return None
    names = [str(x) for x in label_names]
    if len(names) != n_labels:
        raise KmlcInputError(
            f"Expected {n_labels} label names (one per column), Received: {len(names)}"
        )
    return names


def _check_train_counts(train_counts: Any, n_labels: int | None) -> np.ndarray | None:
    if train_counts is None:
        return None
    arr = np.asarray(train_counts)
    if arr.ndim != 1 or arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise KmlcInputError(
            "Expected `train_counts` to be a 1-D array of non-negative counts, "
            f"Received: shape={arr.shape}, dtype={arr.dtype}"
        )
    if n_labels is not None and arr.shape[0] != n_labels:
        raise KmlcInputError(
            f"Expected {n_labels} train counts (one per label), Received: {arr.shape[0]}"
        )
    if not np.all(np.isfinite(arr)) or (arr < 0).any():
        raise KmlcInputError(
            "Expected `train_counts` to be finite and >= 0, "
            f"Received: min={np.nanmin(arr) if arr.size else None!r}"
        )
    return arr


def _check_cutoffs(cutoffs: Any) -> tuple[float, float]:
    try:
        head_min, medium_min = (float(c) for c in cutoffs)
    except (TypeError, ValueError):
        raise KmlcInputError(
            "Expected `cutoffs` to be a pair (head_min, medium_min) of numbers, "
            f"Received: {cutoffs!r}"
        ) from None
    if not (0 <= medium_min <= head_min) or not np.isfinite(head_min):
        raise KmlcInputError(
            "Expected cutoffs with 0 <= medium_min <= head_min, "
            f"Received: head_min={head_min}, medium_min={medium_min}"
        )
    return head_min, medium_min


def _check_ks(ks: Any) -> tuple[int, ...]:
    try:
        out = tuple(ks)
    except TypeError:
        out = (ks,)
    for k in out:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise KmlcInputError(f"Expected every k in `ks` to be an integer >= 1, Received: {k!r}")
    return tuple(int(k) for k in out)


# --------------------------------------------------------------------------
# counting helpers
# --------------------------------------------------------------------------
def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with 0 where den == 0 (scikit-learn's zero_division=0)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    num, den = np.broadcast_arrays(num, den)
    return np.divide(num, den, out=np.zeros(num.shape), where=den != 0)


def label_counts(y_true: Any, y_pred: Any, axis: int = 0) -> dict[str, np.ndarray]:
    """tp, fp, fn, support and predicted counts per label (axis=0) or row (axis=1)."""
    yt, yp = _check_pair(y_true, y_pred)
    return _counts(yt, yp, axis)


def _counts(yt: np.ndarray, yp: np.ndarray, axis: int) -> dict[str, np.ndarray]:
    tp = np.count_nonzero(yt & yp, axis=axis).astype(np.int64)
    support = np.count_nonzero(yt, axis=axis).astype(np.int64)
    predicted = np.count_nonzero(yp, axis=axis).astype(np.int64)
    return {
        "tp": tp,
        "fp": predicted - tp,
        "fn": support - tp,
        "support": support,
        "predicted": predicted,
    }


def _prf(tp, support, predicted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    precision = _div(tp, predicted)
    recall = _div(tp, support)
    f1 = _div(2 * np.asarray(tp), np.asarray(support) + np.asarray(predicted))
    return precision, recall, f1


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else 0.0


# --------------------------------------------------------------------------
# ranking metrics
# --------------------------------------------------------------------------
def precision_at_k(y_true: Any, scores: Any, k: int) -> float:
    """Mean over rows of (#true labels among the top-k scores) / k."""
    yt = _as_binary(y_true, "y_true")
    s = _check_scores(scores, yt.shape)
    (k,) = _check_ks((k,))
    return _RankingStats(yt, s).precision_at_k(k)


def ndcg_at_k(y_true: Any, scores: Any, k: int) -> float:
    """``sklearn.metrics.ndcg_score(y_true, scores, k=k)`` for binary labels."""
    yt = _as_binary(y_true, "y_true")
    s = _check_scores(scores, yt.shape)
    (k,) = _check_ks((k,))
    return _RankingStats(yt, s).ndcg_at_k(k)


class _RankingStats:
    """Sorts every row once; P@k and nDCG@k for several k reuse the sort."""

    def __init__(self, yt: np.ndarray, s: np.ndarray):
        n, c = yt.shape
        self.n_labels = c
        order = np.argsort(-s, axis=1, kind="stable")  # ties -> lower label index
        s_sorted = np.take_along_axis(s, order, axis=1)
        self.y_sorted = np.take_along_axis(yt, order, axis=1)
        self.n_true = yt.sum(axis=1)
        # tie groups along each sorted row: [start, end] (inclusive) per cell
        pos = np.broadcast_to(np.arange(c), (n, c))
        new_group = np.ones((n, c), dtype=bool)
        new_group[:, 1:] = s_sorted[:, 1:] != s_sorted[:, :-1]
        self.start = np.maximum.accumulate(np.where(new_group, pos, 0), axis=1)
        group_end = np.ones((n, c), dtype=bool)
        group_end[:, :-1] = new_group[:, 1:]
        self.end = np.minimum.accumulate(
            np.where(group_end, pos, c - 1)[:, ::-1], axis=1
        )[:, ::-1]

    def precision_at_k(self, k: int) -> float:
        hits = np.count_nonzero(self.y_sorted[:, :k], axis=1)
        return float(np.mean(hits / k))

    def ndcg_at_k(self, k: int) -> float:
        c = self.n_labels
        discount = 1.0 / np.log2(np.arange(c) + 2.0)
        discount[k:] = 0.0
        cum = np.concatenate([[0.0], np.cumsum(discount)])  # cum[j]: first j ranks
        # sklearn's tie-averaged DCG: every cell of a tie group gets the mean
        # discount of the group's ranks
        lo = np.minimum(self.start, k)  # ranks >= k have discount 0
        mask = self.y_sorted & (self.start < k)
        group_discount = (cum[self.end[mask] + 1] - cum[lo[mask]]) / (
            self.end[mask] - self.start[mask] + 1
        )
        dcg = np.zeros(self.y_sorted.shape[0])
        np.add.at(dcg, np.nonzero(mask)[0], group_discount)
        ideal = cum[np.minimum(self.n_true, c)]
        return float(np.mean(_div(dcg, ideal)))


# --------------------------------------------------------------------------
# label-frequency groups
# --------------------------------------------------------------------------
def frequency_groups(train_counts: Any, f1: Any = None, cutoffs: Sequence[float] = DEFAULT_GROUP_CUTOFFS) -> np.ndarray:
    """Frequency group of every label: "head", "medium" or "tail".

    ``cutoffs = (head_min, medium_min)``: head if ``count >= head_min``,
    medium if ``medium_min <= count < head_min``, tail otherwise.  If ``f1``
    (per-label F1, same length) is given, labels whose F1 is exactly 0 are
    reported as "zero" instead of their frequency group.

    Returns:
        numpy array of str (dtype ``<U6``), one entry per label.
    """
    counts = _check_train_counts(train_counts, None)
    head_min, medium_min = _check_cutoffs(cutoffs)
    groups = np.where(
        counts >= head_min, "head", np.where(counts >= medium_min, "medium", "tail")
    ).astype("<U6")
    if f1 is not None:
        f1 = np.asarray(f1, dtype=np.float64)
        if f1.shape != counts.shape:
            raise KmlcInputError(
                f"Expected `f1` with one value per label ({counts.shape[0]}), "
                f"Received: shape={f1.shape}"
            )
        groups[f1 == 0] = "zero"
    return groups


def group_cutoffs_from_quantiles(train_counts: Any, q: Sequence[float] = (0.66, 0.33)) -> tuple[int, int]:
    """(head_min, medium_min) from quantiles of the training label counts.

    ``head_min = ceil(quantile(counts, q[0]))`` and
    ``medium_min = ceil(quantile(counts, q[1]))``, so roughly the top
    ``1 - q[0]`` of labels are head and the bottom ``q[1]`` are tail.
    """
    counts = _check_train_counts(train_counts, None)
    if counts.size == 0:
        raise KmlcInputError("Expected at least one train count, Received: an empty array")
    try:
        q_head, q_medium = (float(x) for x in q)
    except (TypeError, ValueError):
        raise KmlcInputError(f"Expected `q` to be a pair of quantiles, Received: {q!r}") from None
    if not (0.0 <= q_medium <= q_head <= 1.0):
        raise KmlcInputError(
            f"Expected 0 <= q[1] <= q[0] <= 1, Received: q={tuple(q)!r}"
        )
    head_min = int(np.ceil(np.quantile(counts, q_head)))
    medium_min = int(np.ceil(np.quantile(counts, q_medium)))
    return head_min, min(medium_min, head_min)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def evaluate(
    y_true: Any,
    y_pred: Any,
    scores: Any = None,
    *,
    label_names: Sequence[str] | None = None,
    train_counts: Any = None,
    group_cutoffs: Sequence[float] = DEFAULT_GROUP_CUTOFFS,
    ks: Sequence[int] = (1, 3, 5),
) -> dict:
    """All multi-label metrics as a JSON-serialisable dict of plain Python values.

    Args:
        y_true, y_pred: {0, 1} (or bool) arrays ``[N, C]``.
        scores: optional float array ``[N, C]``; adds ``precision_at_{k}``
            and ``ndcg_at_{k}`` for every ``k`` in ``ks``.
        label_names: optional ``C`` names (used for the list of zero-F1 labels).
        train_counts: optional ``C`` training-set label counts; adds ``groups``.
        group_cutoffs: ``(head_min, medium_min)`` for :func:`frequency_groups`.
        ks: cut-offs for the ranking metrics.

    Returns:
        dict with n_examples, n_labels, {micro,macro,weighted,samples}_
        {precision,recall,f1}, hamming_loss, subset_accuracy,
        jaccard_{micro,macro,samples}, n_labels_predicted (labels with
        F1 > 0), share_labels_predicted, precision_at_k / ndcg_at_k (with
        scores) and ``groups`` (with train_counts): ``{"head"|"medium"|"tail":
        {n_labels, support, micro_precision, micro_recall, micro_f1, macro_f1,
        n_zero_f1}, "zero": {n_labels, share[, labels]}}``.  The F1 of an
        empty group is reported as 0.0 (its ``n_labels`` is 0).
    """
    yt, yp = _check_pair(y_true, y_pred)
    n, c = yt.shape
    names = _check_label_names(label_names, c)
    counts = _check_train_counts(train_counts, c)
    ks = _check_ks(ks)
    s = None if scores is None else _check_scores(scores, yt.shape)
    if counts is not None:
        _check_cutoffs(group_cutoffs)

    lab = _counts(yt, yp, axis=0)
    p_l, r_l, f_l = _prf(lab["tp"], lab["support"], lab["predicted"])
    tp, sup, prd = (int(lab[key].sum()) for key in ("tp", "support", "predicted"))
    p_mi, r_mi, f_mi = (float(x) for x in _prf(np.array(tp), np.array(sup), np.array(prd)))
    weights = lab["support"].astype(np.float64)
    if weights.sum() > 0:
        weighted = [float(np.average(x, weights=weights)) for x in (p_l, r_l, f_l)]
    else:
        weighted = [_mean(x) for x in (p_l, r_l, f_l)]

    row = _counts(yt, yp, axis=1)
    p_s, r_s, f_s = _prf(row["tp"], row["support"], row["predicted"])
    union_l = lab["support"] + lab["predicted"] - lab["tp"]
    union_s = row["support"] + row["predicted"] - row["tp"]

    n_pred = int(np.count_nonzero(f_l > 0))
    out: dict[str, Any] = {
        "n_examples": int(n),
        "n_labels": int(c),
        "micro_precision": p_mi,
        "micro_recall": r_mi,
        "micro_f1": f_mi,
        "macro_precision": _mean(p_l),
        "macro_recall": _mean(r_l),
        "macro_f1": _mean(f_l),
        "weighted_precision": weighted[0],
        "weighted_recall": weighted[1],
        "weighted_f1": weighted[2],
        "samples_precision": _mean(p_s),
        "samples_recall": _mean(r_s),
        "samples_f1": _mean(f_s),
        "hamming_loss": float(np.count_nonzero(yt != yp) / (n * c)),
        "subset_accuracy": float(np.count_nonzero((yt == yp).all(axis=1)) / n),
        "jaccard_micro": float(_div(np.array(tp), np.array(int(union_l.sum())))),
        "jaccard_macro": _mean(_div(lab["tp"], union_l)),
        "jaccard_samples": _mean(_div(row["tp"], union_s)),
        "n_labels_predicted": n_pred,
        "share_labels_predicted": float(n_pred / c),
    }
    if s is not None:
        ranking = _RankingStats(yt, s)
        for k in ks:
            out[f"precision_at_{k}"] = ranking.precision_at_k(k)
        for k in ks:
            out[f"ndcg_at_{k}"] = ranking.ndcg_at_k(k)
    if counts is not None:
        out["groups"] = _group_summary(lab, f_l, counts, group_cutoffs, names)
    return out


def _group_summary(lab, f_l, counts, cutoffs, names) -> dict:
    groups = frequency_groups(counts, cutoffs=cutoffs)
    summary: dict[str, Any] = {}
    for g in GROUPS:
        m = groups == g
        tp = int(lab["tp"][m].sum())
        sup = int(lab["support"][m].sum())
        prd = int(lab["predicted"][m].sum())
        p, r, f = (float(x) for x in _prf(np.array(tp), np.array(sup), np.array(prd)))
        summary[g] = {
            "n_labels": int(m.sum()),
            "support": sup,
            "micro_precision": p,
            "micro_recall": r,
            "micro_f1": f,
            "macro_f1": _mean(f_l[m]),
            "n_zero_f1": int(np.count_nonzero(f_l[m] == 0)),
        }
    zero = f_l == 0
    summary["zero"] = {
        "n_labels": int(zero.sum()),
        "share": float(zero.mean()),
    }
    if names is not None:
        summary["zero"]["labels"] = [names[i] for i in np.flatnonzero(zero)]
    return summary


def per_label_table(
    y_true: Any,
    y_pred: Any,
    *,
    label_names: Sequence[str] | None = None,
    train_counts: Any = None,
    thresholds: Any = None,
    group_cutoffs: Sequence[float] = DEFAULT_GROUP_CUTOFFS,
):
    """One row per label as a pandas DataFrame.

    Columns: label, support, predicted, tp, fp, fn, precision, recall, f1,
    train_count, group, threshold.  Without ``train_counts`` the train_count
    and group columns hold ``None``; without ``thresholds`` the threshold
    column is NaN.  ``thresholds`` may be a scalar, an array ``[C]`` or any
    object with a ``thresholds`` attribute (e.g. a ``ThresholdPolicy``).
    ``label_names`` default to the column indices as strings.
    """
    import pandas as pd

    yt, yp = _check_pair(y_true, y_pred)
    c = yt.shape[1]
    names = _check_label_names(label_names, c)
    if names is None:
        names = [str(i) for i in range(c)]
    counts = _check_train_counts(train_counts, c)
    if thresholds is None:
        thr = np.full(c, np.nan)
    else:
        thr = np.asarray(getattr(thresholds, "thresholds", thresholds), dtype=np.float64)
        if thr.ndim == 0:
            thr = np.full(c, float(thr))
        if thr.shape != (c,):
            raise KmlcInputError(
                f"Expected {c} thresholds (one per label), Received: shape={thr.shape}"
            )
    lab = _counts(yt, yp, axis=0)
    p, r, f = _prf(lab["tp"], lab["support"], lab["predicted"])
    if counts is None:
        train_col: Any = [None] * c
        group_col: Any = [None] * c
    else:
        train_col = counts.astype(np.int64) if np.all(counts == np.round(counts)) else counts
        group_col = frequency_groups(counts, cutoffs=group_cutoffs)
    return pd.DataFrame(
        {
            "label": names,
            "support": lab["support"],
            "predicted": lab["predicted"],
            "tp": lab["tp"],
            "fp": lab["fp"],
            "fn": lab["fn"],
            "precision": p,
            "recall": r,
            "f1": f,
            "train_count": train_col,
            "group": group_col,
            "threshold": thr,
        }
    )
