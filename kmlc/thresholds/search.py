"""The exact threshold search: every column sorted by decreasing score, every distinct
score a candidate, F1 (or recall at a precision) computed for all candidates at once.

The conventions (``score >= threshold``, midpoint thresholds, the tie-break towards 0.5)
are those of the package docstring, :mod:`kmlc.thresholds`.
"""

from __future__ import annotations

import warnings

import numpy as np

from kmlc.errors import KmlcDataWarning

_DEFAULT_THRESHOLD = 0.5
_MACRO_TOL = 1e-12


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
