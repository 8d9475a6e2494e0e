"""Training-set label statistics turned into loss constants (NumPy, float64; no Keras).

The per-class weights and biases of the losses in :mod:`kmlc.losses.functions`
(positive weights of "wbce", the effective-number weights of Cui et al. 2019,
the negative-tolerant-regularisation bias and the ``mu`` of the rebalanced
weighting), and the checks of the plain Python / NumPy arguments that the
functions, the Loss classes and the presets share.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from kmlc.errors import KmlcInputError

#: ``mu`` used by the rebalanced weighting when ``mu="auto"`` cannot be
#: resolved (no training label matrix given).  0.9 is the map offset of Wu et
#: al. (2020) and close to what :func:`auto_mu` gives on Reuters-21578.
DEFAULT_MU = 0.9

#: ``N / n_c - 1`` is clipped into this range before the log of the NTR bias,
#: so that ``n_c = 0`` (ratio = inf) and ``n_c >= N`` (ratio <= 0) give a
#: finite bias (``-kappa * log(1e6)`` and ``-kappa * log(1e-6)``).
NTR_RATIO_CLIP = (1e-6, 1e6)

# Accepted values of the string arguments (None, where accepted, turns that step off).
REWEIGHT_CHOICES = (None, "rebalance", "inverse", "sqrt_inverse", "cb")
WEIGHT_NORM_CHOICES = (None, "by_instance", "by_batch")
CB_MODES = ("by_class", "average_n", "average_w", "min_n")
CB_BASES = ("bce", "focal")


# --------------------------------------------------------------------------
# Argument checks (plain Python / NumPy values, checked when a loss is built
# so that a bad value raises KmlcInputError before any training).
# --------------------------------------------------------------------------


def _real(value, what, *, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite Python float inside the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise KmlcInputError(f"Expected {what} to be a number, Received: {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad = bad or value < low or (low_open and value == low)
    if high is not None:
        bad = bad or value > high or (high_open and value == high)
    if bad:
        lo = "-inf" if low is None else repr(float(low))
        hi = "inf" if high is None else repr(float(high))
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        rng = f"{left}{lo}, {hi}{right}"
        raise KmlcInputError(f"Expected {what} to be a finite number in {rng}, Received: {value!r}")
    return value


def _choice(value, what, choices):
    if value not in choices:
        raise KmlcInputError(f"Expected {what} to be one of {list(choices)}, Received: {value!r}")
    return value


def _float_list(values, what, *, positive=False):
    """A 1-D sequence of finite, non-negative (or positive) numbers as a list of floats."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise KmlcInputError(
            f"Expected {what} to be a 1-D list of numbers, Received: {values!r}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise KmlcInputError(
            f"Expected {what} to be a non-empty 1-D list of numbers, Received: shape {arr.shape}"
        )
    bad = ~np.isfinite(arr) | (arr <= 0 if positive else arr < 0)
    if bad.any():
        sign = "positive" if positive else "non-negative"
        raise KmlcInputError(
            f"Expected {what} to hold finite {sign} numbers, "
            f"Received: {arr[bad][:5].tolist()} at index {np.flatnonzero(bad)[:5].tolist()}"
        )
    return [float(v) for v in arr]


def _num_samples(value):
    return _real(value, "num_samples", low=0.0, low_open=True)


def _bool(value, what):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise KmlcInputError(f"Expected {what} to be True or False, Received: {value!r}")




# --------------------------------------------------------------------------
# Class-frequency helpers (NumPy, float64: these are constants of the loss).
# --------------------------------------------------------------------------


def pos_weight_from_counts(class_counts, num_samples, clip=(1.0, 100.0)):
    """Per-class positive weights ``w_c = N / (C * n_c)``, clipped to ``clip``.

    ``N`` is ``num_samples``, ``C`` the number of classes and ``n_c`` the
    number of training samples with label ``c``.  A class with ``n_c = 0`` gets
    the upper clip value.  Returns a list of ``C`` Python floats (the
    ``pos_weight`` of :class:`BinaryCrossentropy`; this is the ``"wbce"`` preset).
    """
    counts = np.asarray(_float_list(class_counts, "class_counts"))
    n_total = _num_samples(num_samples)
    try:
        lo, hi = clip
    except (TypeError, ValueError):
        raise KmlcInputError(f"Expected clip to be a pair (min, max), Received: {clip!r}") from None
    lo = _real(lo, "clip min", low=0.0, low_open=True)
    hi = _real(hi, "clip max", low=lo)
    with np.errstate(divide="ignore"):
        w = n_total / (counts.size * counts)  # n_c = 0 -> inf -> upper clip
    return [float(v) for v in np.clip(w, lo, hi)]


def _effective_number_inverse(counts, beta):
    """``1 / E_n`` with ``E_n = (1 - beta^n) / (1 - beta)``, ``n`` clamped to >= 1."""
    n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    if beta == 0.0:
        return np.ones_like(n)  # E_n = 1 for every n >= 1
    # 1 - beta^n = -expm1(n log beta): no cancellation when beta is close to 1.
    return (1.0 - beta) / -np.expm1(n * math.log(beta))


def class_balanced_weights(class_counts, beta=0.9999):
    """Class-balanced weights of Cui et al. (2019), normalised to sum to ``C``.

    ``E_n = (1 - beta^n) / (1 - beta)`` (the effective number of samples),
    ``w_c = (1 / E_{n_c}) * C / sum_k (1 / E_{n_k})``.  ``beta`` in ``[0, 1)``;
    ``n_c < 1`` is treated as 1 (``E = 1``, the largest raw weight).  Returns a
    list of ``C`` floats.
    """
    counts = _float_list(class_counts, "class_counts")
    beta = _real(beta, "beta", low=0.0, high=1.0, high_open=True)
    inv = _effective_number_inverse(counts, beta)
    return [float(v) for v in inv * (len(counts) / inv.sum())]


def ntr_bias(class_counts, num_samples, kappa=0.05):
    """Negative-tolerant-regularisation class bias ``b_c = -kappa * log(N / n_c - 1)``.

    ``N / n_c - 1`` is clipped into :data:`NTR_RATIO_CLIP` first, so the bias is
    finite for ``n_c = 0`` and ``n_c >= N``.  Returns a list of ``C`` floats.
    """
    counts = np.asarray(_float_list(class_counts, "class_counts"))
    n_total = _num_samples(num_samples)
    kappa = _real(kappa, "kappa")
    with np.errstate(divide="ignore"):
        ratio = n_total / counts - 1.0  # n_c = 0 -> inf
    ratio = np.clip(ratio, *NTR_RATIO_CLIP)
    return [float(v) for v in -kappa * np.log(ratio)]


def _repeat_ratio_np(y, counts):
    """``r[i, c] = (1/n_c) / sum_j y[i, j] / n_j`` (NumPy), ``nan`` where the row has no positive."""
    inv_n = 1.0 / np.maximum(counts, 1.0)
    p_inst = y @ inv_n
    with np.errstate(divide="ignore", invalid="ignore"):
        return inv_n[None, :] / p_inst[:, None]


def auto_mu(y_train, class_counts=None):
    """``mu`` for the rebalanced weighting, estimated from the training labels.

    For every positive entry ``(i, c)`` of the training label matrix
    ``r_ic = (1 / n_c) / sum_j y_ij / n_j`` (the ratio of the class-level to the
    instance-level sampling probability, see :class:`DistributionBalancedLoss`);
    ``mu = (mean(r) + median(r)) / 2`` over those entries.  ``class_counts``
    defaults to the column sums of ``y_train``.  Rows with no positive label do
    not contribute.  Returns a Python float (about 0.9 on Reuters-21578).
    """
    y = np.asarray(y_train, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] == 0:
        raise KmlcInputError(
            f"Expected y_train to be a non-empty multi-hot matrix [num_samples, C], Received: shape {y.shape}"
        )
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        raise KmlcInputError(
            "Expected y_train to hold finite non-negative values, Received: negative or non-finite entries"
        )
    counts = y.sum(axis=0) if class_counts is None else np.asarray(_float_list(class_counts, "class_counts"))
    if counts.size != y.shape[1]:
        raise KmlcInputError(
            f"Expected class_counts of length {y.shape[1]} (the columns of y_train), Received: {counts.size}"
        )
    r = _repeat_ratio_np(y, counts)[y > 0]
    if r.size == 0:
        raise KmlcInputError(
            "Expected y_train with at least one positive label, Received: an all-zero matrix"
        )
    return float((r.mean() + np.median(r)) / 2.0)


def auto_mu_from_rows(ids, lengths, counts):
    """`kmlc.losses.auto_mu` of the training label matrix from its rows' label ids (columns
    of `counts`), without the dense [rows, labels] matrix: the mean and median of
    r_ic = (1 / n_c) / sum_j 1 / n_j over the row's labels j, over every positive (i, c)."""
    inv_n = 1.0 / np.maximum(np.asarray(counts, np.float64), 1.0)
    entries = inv_n[np.asarray(ids)]
    lengths = np.asarray(lengths)
    if entries.size == 0:
        raise KmlcInputError("Expected training rows with at least one label, Received: none.")
    filled = lengths[lengths > 0]
    starts = np.concatenate([[0], np.cumsum(filled)[:-1]])
    r = entries / np.repeat(np.add.reduceat(entries, starts), filled)
    return float((r.mean() + np.median(r)) / 2.0)
