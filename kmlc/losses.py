"""Multi-label losses for long-tailed label distributions (Keras 3, any backend).

Every loss here takes **logits** (the model ends in a linear head) and a
multi-hot target ``y_true`` of shape ``[batch, C]``.  All arithmetic is done
with ``keras.ops`` in logit space, so the same code runs on JAX, TensorFlow and
PyTorch, inside ``jax.jit`` / ``tf.function``, and never evaluates
``log(sigmoid(x))``: with ``sp(x) = softplus(x) = log(1 + e^x)``,

* ``-log sigmoid(z)     = sp(-z)``
* ``-log(1 - sigmoid(z)) = sp(z)``
* ``sigmoid(-z)^g = exp(-g * sp(z))`` and ``sigmoid(z)^g = exp(-g * sp(-z))``
  (focal modulating factors, exact and finite for every finite ``z``).

These stay finite, with finite gradients, for logits as large as ``+-1e4``.

Conventions shared by every loss
--------------------------------
* **Per-sample loss** = mean over the ``C`` classes of the element-wise loss
  (sum over classes divided by ``C``).  The ``keras.losses.Loss`` classes then
  apply Keras' ``reduction`` over the batch (default ``"sum_over_batch_size"``,
  i.e. the mean over samples) and Keras' ``sample_weight`` handling.  The
  functional forms (``binary_crossentropy``, ``focal_loss``, ...) return the
  per-sample losses, shape ``[batch]``.
* **Dtypes.** ``y_true`` and the logits are cast to the loss dtype (the Loss
  class's ``dtype``; for the functional forms the logits' float dtype).  For
  ``float16``/``bfloat16`` the arithmetic is done in ``float32`` (softplus and
  ``exp`` lose too much in half precision) and the result is cast back.
* **Targets** are expected to be multi-hot (0/1).  Soft targets are accepted;
  the loss is then the ``y``-weighted mix of the positive and the negative
  term of each element.
* **Class counts** (``class_counts``, ``num_samples``) are the training-set
  label frequencies ``n_c`` and size ``N``, given as plain Python numbers (they
  are stored in ``get_config`` as lists of floats).  Where a formula needs
  ``1 / n_c`` or an effective number, counts below 1 (a label never seen in
  training) are treated as 1.

Losses
------
``BinaryCrossentropy(pos_weight=None)``
    ``l = pw_c * y * sp(-z) + (1 - y) * sp(z)``.
``FocalLoss(gamma=2, alpha=0.25)`` (Lin et al., 2017, sigmoid form)
    ``l = alpha_t * (1 - p_t)^gamma * BCE(z, y)`` with ``p_t = sigmoid(z)`` for
    positives and ``1 - sigmoid(z)`` for negatives, ``alpha_t = alpha`` for
    positives and ``1 - alpha`` for negatives (``alpha=None``: ``alpha_t = 1``).
``ClassBalancedLoss(class_counts, beta=0.9999, ...)`` (Cui et al., 2019)
    ``w * base_loss`` with effective-number weights, see the class docstring.
``DistributionBalancedLoss(class_counts, num_samples, ...)``
    The general "ResampleLoss" of Wu et al. (ECCV 2020) as used by Huang et
    al. (EMNLP 2021) for long-tailed multi-label text classification:
    re-weighting (rebalanced / inverse / sqrt-inverse / class-balanced) +
    negative-tolerant regularisation + focal term, see the class docstring.

:func:`get_loss` builds the named presets listed in :data:`LOSS_NAMES`.

The implementation follows the formulas of the papers; no code was taken from
the authors' repositories.
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

from kmlc.errors import KmlcInputError

__all__ = [
    "LOSS_NAMES",
    "DEFAULT_MU",
    "BinaryCrossentropy",
    "FocalLoss",
    "ClassBalancedLoss",
    "DistributionBalancedLoss",
    "binary_crossentropy",
    "focal_loss",
    "class_balanced_loss",
    "distribution_balanced_loss",
    "pos_weight_from_counts",
    "class_balanced_weights",
    "ntr_bias",
    "auto_mu",
    "get_loss",
    "get_loss_defaults",
    "GroupedLoss",
]

#: Names understood by :func:`get_loss`.
LOSS_NAMES = ("bce", "wbce", "focal", "cb", "db", "ntr-focal", "cb-ntr", "db-no-focal")

#: ``mu`` used by the rebalanced weighting when ``mu="auto"`` cannot be
#: resolved (no training label matrix given).  0.9 is the map offset of Wu et
#: al. (2020) and close to what :func:`auto_mu` gives on Reuters-21578.
DEFAULT_MU = 0.9

#: ``N / n_c - 1`` is clipped into this range before the log of the NTR bias,
#: so that ``n_c = 0`` (ratio = inf) and ``n_c >= N`` (ratio <= 0) give a
#: finite bias (``-kappa * log(1e6)`` and ``-kappa * log(1e-6)``).
NTR_RATIO_CLIP = (1e-6, 1e6)

REWEIGHT_CHOICES = (None, "rebalance", "inverse", "sqrt_inverse", "cb")
WEIGHT_NORM_CHOICES = (None, "by_instance", "by_batch")
CB_MODES = ("by_class", "average_n", "average_w", "min_n")
CB_BASES = ("bce", "focal")

_HALF_DTYPES = ("float16", "bfloat16")


# --------------------------------------------------------------------------
# Validation helpers (constructor arguments are plain Python / NumPy values).
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


# --------------------------------------------------------------------------
# Core (keras.ops).
# --------------------------------------------------------------------------


def _prepare(y_true, y_pred):
    """Cast both inputs to the logits' float dtype; return them in the compute dtype."""
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = keras.backend.standardize_dtype(y_pred.dtype)
    if not keras.backend.is_float_dtype(dtype):
        dtype = keras.backend.floatx()
    # Half precision: cast to the loss dtype first (the values the caller
    # asked for), then compute in float32 for stable softplus/exp.
    compute = "float32" if dtype in _HALF_DTYPES else dtype
    y_pred = ops.cast(ops.cast(y_pred, dtype), compute)
    y_true = ops.cast(ops.cast(y_true, dtype), compute)
    if len(y_pred.shape) < 1:
        raise KmlcInputError(f"Expected logits of shape [batch, C], Received: shape {tuple(y_pred.shape)}")
    return y_true, y_pred, dtype, compute


def _check_classes(y_pred, expected, what):
    c = y_pred.shape[-1]
    if c is not None and int(c) != expected:
        raise KmlcInputError(
            f"Expected logits with {expected} classes (the length of {what}), "
            f"Received: logits of shape {tuple(y_pred.shape)}"
        )


def _const(values, dtype):
    return ops.convert_to_tensor(np.asarray(values, dtype=np.float64), dtype=dtype)


def _elementwise(y, z, pos_w=1.0, neg_w=1.0, gamma=0.0, neg_scale=1.0, bias=None):
    """Element-wise loss in logit space (shared by every loss of this module).

    With ``z' = z + bias`` and ``lam = neg_scale``::

        l = y       * pos_w * sigmoid(-z')^gamma    * sp(-z')
          + (1 - y) * neg_w * sigmoid(lam z')^gamma * sp(lam z') / lam

    ``sigmoid(-z')^gamma = exp(-gamma * sp(z'))`` is ``(1 - p_t)^gamma`` of a
    positive, ``sigmoid(lam z')^gamma = exp(-gamma * sp(-lam z'))`` that of a
    negative.  ``pos_w``/``neg_w`` are scalars or tensors broadcastable to ``z``.
    """
    if bias is not None:
        z = z + bias
    z_neg = z * neg_scale if neg_scale != 1.0 else z
    pos = ops.softplus(-z)
    neg = ops.softplus(z_neg)
    if gamma != 0.0:  # gamma = 0 would still be exact, but skip the extra ops
        pos = pos * ops.exp(-gamma * ops.softplus(z))
        neg = neg * ops.exp(-gamma * ops.softplus(-z_neg))
    if neg_scale != 1.0:
        neg = neg * (1.0 / neg_scale)
    return y * (pos_w * pos) + (1.0 - y) * (neg_w * neg)


def _finish(elem, dtype):
    return ops.cast(ops.mean(elem, axis=-1), dtype)


def _cb_weight_matrix(y, counts, beta, mode, compute):
    """Class-balanced weights, shape ``[1, C]`` (``by_class``) or ``[batch, C]``.

    ``s = C / sum_k 1/E_{n_k}`` normalises every mode like ``by_class``:

    * ``by_class``:  ``w_c = s / E_{n_c}`` for every row.
    * ``average_n``: ``s / E(mean of n_j over the row's positive labels)``
      (``y``-weighted mean), the same for every class of the row.
    * ``average_w``: mean of the ``by_class`` weights over the row's positives.
    * ``min_n``:     ``s / E(min of n_j over the row's positive labels)``.

    Rows without a positive label fall back to the ``by_class`` weights.
    """
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    inv_e = _effective_number_inverse(counts, beta)
    scale = counts.size / inv_e.sum()
    w_class = _const(inv_e * scale, compute)[None, :]
    if mode == "by_class":
        return w_class
    n = _const(counts, compute)[None, :]
    n_pos = ops.sum(y, axis=-1, keepdims=True)
    has_pos = n_pos > 0
    safe_n_pos = ops.where(has_pos, n_pos, ops.ones_like(n_pos))

    def weight_of_n(n_eff):
        if beta == 0.0:
            return ops.ones_like(n_eff) * scale
        # s / E_n = s (1 - beta) / (1 - beta^n), 1 - beta^n = -expm1(n log beta)
        return (scale * (1.0 - beta)) / -ops.expm1(n_eff * math.log(beta))

    if mode == "average_n":
        row_w = weight_of_n(ops.maximum(ops.sum(y * n, axis=-1, keepdims=True) / safe_n_pos, 1.0))
    elif mode == "average_w":
        row_w = ops.sum(y * w_class, axis=-1, keepdims=True) / safe_n_pos
    else:  # min_n
        big = float(counts.max())  # any value >= every n; only used on rows without positives
        row_w = weight_of_n(ops.min(ops.where(y > 0, n, big), axis=-1, keepdims=True))
    return ops.where(has_pos, row_w, w_class)


# --------------------------------------------------------------------------
# Functional forms: per-sample losses, shape [batch].
# --------------------------------------------------------------------------


def binary_crossentropy(y_true, y_pred, pos_weight=None):
    """Per-sample binary cross-entropy on logits, optional per-class ``pos_weight``.

    ``l_ic = pw_c * y_ic * sp(-z_ic) + (1 - y_ic) * sp(z_ic)``;
    returns ``mean_c l_ic``, shape ``[batch]``.
    """
    y, z, dtype, compute = _prepare(y_true, y_pred)
    pos_w = 1.0
    if pos_weight is not None:
        _check_classes(z, len(pos_weight), "pos_weight")
        pos_w = _const(pos_weight, compute)
    return _finish(_elementwise(y, z, pos_w=pos_w), dtype)


def focal_loss(y_true, y_pred, gamma=2.0, alpha=0.25):
    """Per-sample sigmoid focal loss on logits (Lin et al., 2017).

    ``l = alpha_t * (1 - p_t)^gamma * BCE(z, y)`` with ``p = sigmoid(z)``,
    ``p_t = p`` (positives) / ``1 - p`` (negatives), ``alpha_t = alpha`` /
    ``1 - alpha`` (``alpha=None``: no alpha weighting).  ``(1 - p_t)^gamma`` is
    computed as ``exp(-gamma * sp(+-z))``.  Returns ``mean_c l``, shape ``[batch]``.
    """
    y, z, dtype, _ = _prepare(y_true, y_pred)
    pos_w, neg_w = (1.0, 1.0) if alpha is None else (float(alpha), 1.0 - float(alpha))
    return _finish(_elementwise(y, z, pos_w=pos_w, neg_w=neg_w, gamma=float(gamma)), dtype)


def class_balanced_loss(
    y_true, y_pred, class_counts, beta=0.9999, gamma=2.0, base="focal", mode="by_class", alpha=None
):
    """Per-sample class-balanced loss (Cui et al., 2019); see :class:`ClassBalancedLoss`."""
    _choice(base, "base", CB_BASES)
    _choice(mode, "mode", CB_MODES)
    y, z, dtype, compute = _prepare(y_true, y_pred)
    _check_classes(z, len(class_counts), "class_counts")
    w = _cb_weight_matrix(y, class_counts, float(beta), mode, compute)
    if base == "focal":
        a_pos, a_neg = (1.0, 1.0) if alpha is None else (float(alpha), 1.0 - float(alpha))
        elem = _elementwise(y, z, pos_w=w * a_pos, neg_w=w * a_neg, gamma=float(gamma))
    else:
        elem = _elementwise(y, z, pos_w=w, neg_w=w)
    return _finish(elem, dtype)


def _rebalance_weight_matrix(y, counts, alpha, beta, mu, compute):
    """``w = alpha + sigmoid(beta * (r - mu))``, ``r = P^C_c / P^I_i``.

    ``r = 1`` on rows without a positive label (``P^I = 0``).
    """
    inv_n = _const(1.0 / np.maximum(np.asarray(counts, dtype=np.float64), 1.0), compute)[None, :]
    p_inst = ops.sum(y * inv_n, axis=-1, keepdims=True)
    has_pos = p_inst > 0
    r = ops.where(has_pos, inv_n / ops.where(has_pos, p_inst, ops.ones_like(p_inst)), 1.0)
    return alpha + ops.sigmoid(beta * (r - mu))


def distribution_balanced_loss(
    y_true,
    y_pred,
    class_counts,
    num_samples,
    reweight="rebalance",
    weight_norm=None,
    alpha=0.1,
    beta=10.0,
    mu=DEFAULT_MU,
    ntr=True,
    kappa=0.05,
    neg_scale=2.0,
    focal=True,
    gamma=2.0,
    balance_param=0.5,
    cb_beta=0.9,
    cb_mode="by_class",
    loss_weight=1.0,
):
    """Per-sample distribution-balanced ("ResampleLoss") loss; see :class:`DistributionBalancedLoss`.

    ``mu`` must be a float here (``"auto"`` means :data:`DEFAULT_MU`).
    """
    _choice(reweight, "reweight", REWEIGHT_CHOICES)
    _choice(weight_norm, "weight_norm", WEIGHT_NORM_CHOICES)
    _choice(cb_mode, "cb_mode", CB_MODES)
    y, z, dtype, compute = _prepare(y_true, y_pred)
    _check_classes(z, len(class_counts), "class_counts")
    counts = np.asarray(class_counts, dtype=np.float64)
    n_classes = counts.size

    if reweight is None:
        w = None
    elif reweight == "rebalance":
        mu = DEFAULT_MU if mu == "auto" else float(mu)
        w = _rebalance_weight_matrix(y, counts, float(alpha), float(beta), mu, compute)
    elif reweight in ("inverse", "sqrt_inverse"):
        inv = 1.0 / np.maximum(counts, 1.0)
        if reweight == "sqrt_inverse":
            inv = np.sqrt(inv)
        w = _const(inv * (n_classes / inv.sum()), compute)[None, :]  # mean 1 over classes
    else:  # "cb"
        w = _cb_weight_matrix(y, counts, float(cb_beta), cb_mode, compute)

    if w is not None and weight_norm is not None:
        # Weights are > 0 for alpha >= 0 except where the sigmoid underflows;
        # the floor keeps an all-underflow row from dividing by zero.
        if weight_norm == "by_instance":
            w = w / ops.maximum(ops.max(w, axis=-1, keepdims=True), 1e-30)
        else:  # "by_batch"
            w = w / ops.maximum(ops.max(w), 1e-30)

    scale = float(loss_weight) * (float(balance_param) if focal else 1.0)
    w = scale if w is None else w * scale
    bias = _const(ntr_bias(counts, num_samples, kappa), compute)[None, :] if ntr else None
    elem = _elementwise(
        y,
        z,
        pos_w=w,
        neg_w=w,
        gamma=float(gamma) if focal else 0.0,
        neg_scale=float(neg_scale) if ntr else 1.0,
        bias=bias,
    )
    return _finish(elem, dtype)


# --------------------------------------------------------------------------
# Loss classes.
# --------------------------------------------------------------------------


class _KmlcLoss(keras.losses.Loss):
    """Shared config handling: every constructor argument is in ``get_config``."""

    def get_config(self):
        config = super().get_config()
        config["dtype"] = self._dtype_policy.name
        return config


@keras.saving.register_keras_serializable(package="kmlc")
class BinaryCrossentropy(_KmlcLoss):
    """Binary cross-entropy on logits with optional per-class positive weights.

    Element loss ``l_ic = pw_c * y_ic * sp(-z_ic) + (1 - y_ic) * sp(z_ic)``
    (``pw = 1`` when ``pos_weight`` is None); per-sample loss ``mean_c l_ic``,
    then Keras' ``reduction`` over the batch.  Use
    :func:`pos_weight_from_counts` for the weighted ("wbce") variant.

    Args:
        pos_weight: None or a list of ``C`` positive floats.
        reduction, name, dtype: as for ``keras.losses.Loss``.
    """

    def __init__(self, pos_weight=None, reduction="sum_over_batch_size", name="kmlc_bce", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.pos_weight = None if pos_weight is None else _float_list(pos_weight, "pos_weight", positive=True)

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, pos_weight=self.pos_weight)

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight}


@keras.saving.register_keras_serializable(package="kmlc")
class FocalLoss(_KmlcLoss):
    """Sigmoid focal loss on logits (Lin et al., 2017).

    ``l = alpha_t * (1 - p_t)^gamma * BCE(z, y)``, ``p_t = sigmoid(z)`` for
    positives and ``1 - sigmoid(z)`` for negatives, ``alpha_t = alpha`` for
    positives and ``1 - alpha`` for negatives (``alpha=None`` disables it).
    Computed as ``alpha * exp(-gamma sp(z)) sp(-z)`` (positives) and
    ``(1 - alpha) * exp(-gamma sp(-z)) sp(z)`` (negatives).  Per-sample loss
    ``mean_c l``, then Keras' ``reduction``.

    Args:
        gamma: focusing parameter, ``>= 0`` (0 gives alpha-weighted BCE).
        alpha: positive-class weight in ``[0, 1]`` or None.
    """

    def __init__(self, gamma=2.0, alpha=0.25, reduction="sum_over_batch_size", name="kmlc_focal", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = _real(gamma, "gamma", low=0.0)
        self.alpha = None if alpha is None else _real(alpha, "alpha", low=0.0, high=1.0)

    def call(self, y_true, y_pred):
        return focal_loss(y_true, y_pred, gamma=self.gamma, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="kmlc")
class ClassBalancedLoss(_KmlcLoss):
    """Class-balanced loss (Cui et al., CVPR 2019) for multi-label targets.

    Effective number ``E_n = (1 - beta^n) / (1 - beta)``; class weight
    ``w_c = s / E_{n_c}`` with ``s = C / sum_k 1/E_{n_k}`` (weights sum to
    ``C``).  The weight of element ``(i, c)`` depends on ``mode`` (the
    class-balanced variants of Wu et al.'s ResampleLoss), all scaled by ``s``:

    * ``"by_class"``:  ``w_c`` (same for positives and negatives of class c).
    * ``"average_n"``: ``s / E(n_avg_i)``, ``n_avg_i`` = mean of ``n_j`` over the
      row's positive labels; one weight for the whole row.
    * ``"average_w"``: mean of ``w_j`` over the row's positive labels.
    * ``"min_n"``:     ``s / E(min_j n_j)`` over the row's positive labels.

    Rows without a positive label use the ``by_class`` weights; counts below 1
    count as 1.  Element loss ``W_ic * base_ic`` where ``base`` is the BCE or
    the focal loss of :class:`FocalLoss` (``gamma``, ``alpha``; ``alpha=None``
    means no alpha weighting); per-sample loss ``mean_c``, then Keras' reduction.

    Args:
        class_counts: training label counts ``n_c`` (list of ``C`` numbers).
        beta: in ``[0, 1)``; 0.9999 (Cui et al.) or 0.9 (Huang et al.'s "cb").
        gamma: focal focusing parameter (``base="focal"`` only).
        base: ``"bce"`` or ``"focal"``.
        mode: ``"by_class"``, ``"average_n"``, ``"average_w"`` or ``"min_n"``.
        alpha: focal alpha in ``[0, 1]`` or None (``base="focal"`` only).
    """

    def __init__(
        self,
        class_counts,
        beta=0.9999,
        gamma=2.0,
        base="focal",
        mode="by_class",
        alpha=None,
        reduction="sum_over_batch_size",
        name="kmlc_cb",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.class_counts = _float_list(class_counts, "class_counts")
        self.beta = _real(beta, "beta", low=0.0, high=1.0, high_open=True)
        self.gamma = _real(gamma, "gamma", low=0.0)
        self.base = _choice(base, "base", CB_BASES)
        self.mode = _choice(mode, "mode", CB_MODES)
        self.alpha = None if alpha is None else _real(alpha, "alpha", low=0.0, high=1.0)

    def call(self, y_true, y_pred):
        return class_balanced_loss(
            y_true,
            y_pred,
            self.class_counts,
            beta=self.beta,
            gamma=self.gamma,
            base=self.base,
            mode=self.mode,
            alpha=self.alpha,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "class_counts": list(self.class_counts),
            "beta": self.beta,
            "gamma": self.gamma,
            "base": self.base,
            "mode": self.mode,
            "alpha": self.alpha,
        }


@keras.saving.register_keras_serializable(package="kmlc")
class DistributionBalancedLoss(_KmlcLoss):
    """Distribution-balanced loss, general "ResampleLoss" form.

    Wu et al., ECCV 2020; Huang et al., EMNLP 2021 ("Balancing Methods for
    Multi-label Text Classification with Long-Tailed Class Distribution").
    ``n_c`` are the training label counts, ``N`` the training-set size.

    **1. Re-weighting** -> weight matrix ``W`` ``[batch, C]``, applied to the
    positive *and* the negative term of every element (``reweight``):

    * ``"rebalance"``: ``P^C_c = 1 / n_c``, ``P^I_i = sum_j y_ij / n_j``,
      ``r_ic = P^C_c / P^I_i``, ``W = alpha + sigmoid(beta * (r - mu))``.  A row
      with no positive label (``P^I = 0``) uses ``r = 1``, i.e.
      ``W = alpha + sigmoid(beta * (1 - mu))`` (as if the class were drawn at the
      instance rate: neither up- nor down-weighted by the ratio).
    * ``"inverse"``: ``W_c ∝ 1 / n_c``; ``"sqrt_inverse"``: ``W_c ∝ 1 / sqrt(n_c)``;
      both normalised to mean 1 over the classes.
    * ``"cb"``: class-balanced weights (``cb_beta``, ``cb_mode``), exactly as in
      :class:`ClassBalancedLoss`.
    * ``None``: ``W = 1``.

    ``n_c < 1`` counts as 1 in these formulas.  ``weight_norm``:
    ``"by_instance"`` divides each row of ``W`` by its maximum, ``"by_batch"``
    divides ``W`` by its maximum over the whole batch, ``None`` leaves it.

    **2. Negative-tolerant regularisation** (``ntr=True``): class bias
    ``b_c = -kappa * log(N / n_c - 1)`` (``N / n_c - 1`` clipped into
    :data:`NTR_RATIO_CLIP`), ``z' = z + b``; with ``lam = neg_scale``::

        positives: W * sp(-z')
        negatives: (W / lam) * sp(lam * z')

    The bias is added before the scaling and is not divided by ``lam``.
    ``ntr=False`` means ``b = 0`` and ``lam = 1``.

    **3. Focal term** (``focal=True``): each term is multiplied by
    ``balance_param * (1 - p_t)^gamma`` where ``p_t = exp(-bce_unweighted)`` on
    the regularised logits, i.e. ``sigmoid(z')`` for positives and
    ``sigmoid(-lam z')`` for negatives (so ``(1 - p_t)^gamma`` is
    ``exp(-gamma sp(z'))`` / ``exp(-gamma sp(-lam z'))``).  As in ResampleLoss,
    ``balance_param`` is one constant for positives and negatives (with the
    default 0.5 this equals ``alpha_t`` with ``alpha = 0.5``).

    The element loss is multiplied by ``loss_weight``; per-sample loss is the
    mean over classes, then Keras' ``reduction`` over the batch.

    Args:
        class_counts: training label counts ``n_c`` (list of ``C`` numbers).
        num_samples: training-set size ``N``.
        reweight: ``"rebalance"`` (default), ``"inverse"``, ``"sqrt_inverse"``,
            ``"cb"`` or None.
        weight_norm: None, ``"by_instance"`` or ``"by_batch"``.
        alpha, beta: rebalanced-weight map ``alpha + sigmoid(beta (r - mu))``.
        mu: float, or ``"auto"``.  ``"auto"`` needs the training label matrix
            (use :func:`get_loss` with ``y_train=`` or :func:`auto_mu`); the loss
            only sees class counts, so here ``"auto"`` resolves to
            :data:`DEFAULT_MU` (0.9).  The resolved float is stored.
        ntr: enable negative-tolerant regularisation.
        kappa: NTR bias scale; neg_scale: NTR ``lambda`` (> 0).
        focal: enable the focal term; gamma: its focusing parameter;
        balance_param: its constant factor.
        cb_beta, cb_mode: class-balanced parameters for ``reweight="cb"``.
        loss_weight: overall factor.
    """

    def __init__(
        self,
        class_counts,
        num_samples,
        reweight="rebalance",
        weight_norm=None,
        alpha=0.1,
        beta=10.0,
        mu="auto",
        ntr=True,
        kappa=0.05,
        neg_scale=2.0,
        focal=True,
        gamma=2.0,
        balance_param=0.5,
        cb_beta=0.9,
        cb_mode="by_class",
        loss_weight=1.0,
        reduction="sum_over_batch_size",
        name="kmlc_db",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.class_counts = _float_list(class_counts, "class_counts")
        self.num_samples = _num_samples(num_samples)
        self.reweight = _choice(reweight, "reweight", REWEIGHT_CHOICES)
        self.weight_norm = _choice(weight_norm, "weight_norm", WEIGHT_NORM_CHOICES)
        self.alpha = _real(alpha, "alpha", low=0.0)
        self.beta = _real(beta, "beta")
        self.mu = DEFAULT_MU if isinstance(mu, str) and mu == "auto" else _real(mu, "mu")
        self.ntr = _bool(ntr, "ntr")
        self.kappa = _real(kappa, "kappa")
        self.neg_scale = _real(neg_scale, "neg_scale", low=0.0, low_open=True)
        self.focal = _bool(focal, "focal")
        self.gamma = _real(gamma, "gamma", low=0.0)
        self.balance_param = _real(balance_param, "balance_param", low=0.0)
        self.cb_beta = _real(cb_beta, "cb_beta", low=0.0, high=1.0, high_open=True)
        self.cb_mode = _choice(cb_mode, "cb_mode", CB_MODES)
        self.loss_weight = _real(loss_weight, "loss_weight", low=0.0)

    def call(self, y_true, y_pred):
        return distribution_balanced_loss(
            y_true,
            y_pred,
            self.class_counts,
            self.num_samples,
            reweight=self.reweight,
            weight_norm=self.weight_norm,
            alpha=self.alpha,
            beta=self.beta,
            mu=self.mu,
            ntr=self.ntr,
            kappa=self.kappa,
            neg_scale=self.neg_scale,
            focal=self.focal,
            gamma=self.gamma,
            balance_param=self.balance_param,
            cb_beta=self.cb_beta,
            cb_mode=self.cb_mode,
            loss_weight=self.loss_weight,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "class_counts": list(self.class_counts),
            "num_samples": self.num_samples,
            "reweight": self.reweight,
            "weight_norm": self.weight_norm,
            "alpha": self.alpha,
            "beta": self.beta,
            "mu": self.mu,
            "ntr": self.ntr,
            "kappa": self.kappa,
            "neg_scale": self.neg_scale,
            "focal": self.focal,
            "gamma": self.gamma,
            "balance_param": self.balance_param,
            "cb_beta": self.cb_beta,
            "cb_mode": self.cb_mode,
            "loss_weight": self.loss_weight,
        }


def _bool(value, what):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise KmlcInputError(f"Expected {what} to be True or False, Received: {value!r}")


# --------------------------------------------------------------------------
# Presets.
# --------------------------------------------------------------------------

# Parameter kinds, used to coerce values that arrive as strings from the CLI.
_FLOAT, _OPT_FLOAT, _BOOL, _STR, _FLOAT_OR_AUTO = "float", "float or None", "bool", "str", "float or 'auto'"
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None)

_DTYPES = (None, "float32", "float16", "bfloat16", "float64")
_COMMON_KINDS = {"reduction": ("choice", _REDUCTIONS), "name": _STR, "dtype": ("choice", _DTYPES)}
_DB_KINDS = {
    "reweight": ("choice", REWEIGHT_CHOICES),
    "weight_norm": ("choice", WEIGHT_NORM_CHOICES),
    "alpha": _FLOAT,
    "beta": _FLOAT,
    "mu": _FLOAT_OR_AUTO,
    "ntr": _BOOL,
    "kappa": _FLOAT,
    "neg_scale": _FLOAT,
    "focal": _BOOL,
    "gamma": _FLOAT,
    "balance_param": _FLOAT,
    "cb_beta": _FLOAT,
    "cb_mode": ("choice", CB_MODES),
    "loss_weight": _FLOAT,
}
_DB_DEFAULTS = {
    "reweight": "rebalance",
    "weight_norm": None,
    "alpha": 0.1,
    "beta": 10.0,
    "mu": "auto",
    "ntr": True,
    "kappa": 0.05,
    "neg_scale": 2.0,
    "focal": True,
    "gamma": 2.0,
    "balance_param": 0.5,
    "cb_beta": 0.9,
    "cb_mode": "by_class",
    "loss_weight": 1.0,
}

# name -> (class, parameter kinds, defaults).  The focal-type presets use
# alpha = 0.5 as in Huang et al.'s comparison (equal weight to positives and
# negatives), so "focal" == "ntr-focal" without NTR and "cb" == "cb-ntr"
# without NTR.
_PRESETS = {
    "bce": (BinaryCrossentropy, {}, {}),
    "wbce": (
        BinaryCrossentropy,
        {"clip_min": _FLOAT, "clip_max": _FLOAT},
        {"clip_min": 1.0, "clip_max": 100.0},
    ),
    "focal": (FocalLoss, {"gamma": _FLOAT, "alpha": _OPT_FLOAT}, {"gamma": 2.0, "alpha": 0.5}),
    "cb": (
        ClassBalancedLoss,
        {
            "beta": _FLOAT,
            "gamma": _FLOAT,
            "base": ("choice", CB_BASES),
            "mode": ("choice", CB_MODES),
            "alpha": _OPT_FLOAT,
        },
        {"beta": 0.9, "gamma": 2.0, "base": "focal", "mode": "by_class", "alpha": 0.5},
    ),
    "db": (DistributionBalancedLoss, _DB_KINDS, dict(_DB_DEFAULTS)),
    "ntr-focal": (DistributionBalancedLoss, _DB_KINDS, {**_DB_DEFAULTS, "reweight": None}),
    "cb-ntr": (DistributionBalancedLoss, _DB_KINDS, {**_DB_DEFAULTS, "reweight": "cb"}),
    "db-no-focal": (DistributionBalancedLoss, _DB_KINDS, {**_DB_DEFAULTS, "focal": False}),
}
assert tuple(_PRESETS) == LOSS_NAMES

_NONE_STRINGS = ("none", "null", "")
_TRUE_STRINGS = ("true", "1", "yes", "y", "on")
_FALSE_STRINGS = ("false", "0", "no", "n", "off")


def _resolve_name(name):
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _PRESETS:
        raise KmlcInputError(f"Expected loss to be one of {list(LOSS_NAMES)}, Received: {name!r}")
    return key


def get_loss_defaults(name):
    """The default parameters of preset ``name`` (a new dict), before overrides.

    ``reduction`` (``"sum_over_batch_size"``), ``name`` (the preset name with
    ``-`` replaced by ``_``) and ``dtype`` (None: ``keras.backend.floatx()``)
    are accepted by every preset as well.
    """
    return dict(_PRESETS[_resolve_name(name)][2])


def _coerce(loss, key, value, kind):
    """Convert ``value`` (possibly a CLI string) to the type ``kind`` wants."""

    def fail(expected):
        return KmlcInputError(
            f"Expected parameter {key!r} of loss {loss!r} to be {expected}, Received: {value!r}"
        )

    text = value.strip().lower() if isinstance(value, str) else None
    if kind in (_FLOAT, _OPT_FLOAT, _FLOAT_OR_AUTO):
        if kind == _OPT_FLOAT and (value is None or text in _NONE_STRINGS):
            return None
        if kind == _FLOAT_OR_AUTO and text == "auto":
            return "auto"
        if isinstance(value, (bool, np.bool_)):
            raise fail(f"a {kind}")
        if isinstance(value, numbers.Real):
            return float(value)
        if text is not None:
            try:
                return float(text)
            except ValueError:
                pass
        raise fail(f"a {kind}")
    if kind == _BOOL:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        if text in _TRUE_STRINGS:
            return True
        if text in _FALSE_STRINGS:
            return False
        raise fail("a bool (true/false)")
    if kind == _STR:
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise fail("a non-empty string")
    _, choices = kind
    if value is None or text in _NONE_STRINGS:
        if None in choices:
            return None
    elif text in choices:
        return text
    raise fail(f"one of {list(choices)}")


def loss_arguments(name, params):
    """The preset's arguments with `params` (names checked, values converted) laid over its
    defaults: what `get_loss` builds the loss from, checked before any work."""
    key = _resolve_name(name)
    _, kinds, defaults = _PRESETS[key]
    kinds = {**kinds, **_COMMON_KINDS}
    unknown = sorted(set(params) - set(kinds))
    if unknown:
        raise KmlcInputError(
            f"Expected parameters of loss {key!r} to be among {sorted(kinds)}, Received: {unknown}"
        )
    args = {**defaults, "name": key.replace("-", "_")}
    args.update({k: _coerce(key, k, v, kinds[k]) for k, v in params.items()})
    return args


def get_loss(name, class_counts=None, num_samples=None, y_train=None, **params):
    """Build a named loss preset (see :data:`LOSS_NAMES`); returns a Loss instance.

    Presets (defaults in parentheses; every one is overridable via ``params``):

    * ``"bce"``: :class:`BinaryCrossentropy` without weights.
    * ``"wbce"``: :class:`BinaryCrossentropy` with
      ``pos_weight = pos_weight_from_counts(..., clip=(clip_min, clip_max))``
      (``clip_min=1.0, clip_max=100.0``).
    * ``"focal"``: :class:`FocalLoss` (``gamma=2.0, alpha=0.5``).
    * ``"cb"``: :class:`ClassBalancedLoss` (``beta=0.9, gamma=2.0,
      base="focal", mode="by_class", alpha=0.5``).
    * ``"db"``: :class:`DistributionBalancedLoss` (``reweight="rebalance",
      weight_norm=None, alpha=0.1, beta=10.0, mu="auto", ntr=True, kappa=0.05,
      neg_scale=2.0, focal=True, gamma=2.0, balance_param=0.5, cb_beta=0.9,
      cb_mode="by_class", loss_weight=1.0``).
    * ``"ntr-focal"``: as ``"db"`` with ``reweight=None`` (NTR + focal).
    * ``"cb-ntr"``: as ``"db"`` with ``reweight="cb"`` (class-balanced + NTR + focal).
    * ``"db-no-focal"``: as ``"db"`` with ``focal=False`` (rebalance + NTR).

    Every preset also takes ``reduction``, ``name`` and ``dtype``.  Values may be strings
    (from a command line): ``"0.1"``, ``"true"``, ``"none"``, ``"by_instance"``
    are converted per parameter.

    Args:
        name: preset name (case-insensitive).
        class_counts, num_samples: training label counts and size; needed by
            every preset except ``"bce"`` and ``"focal"``.  Default to the column
            sums and the row count of ``y_train``.
        y_train: optional training label matrix ``[N, C]``; with ``mu="auto"``
            it resolves ``mu`` via :func:`auto_mu` (otherwise ``mu`` falls back
            to :data:`DEFAULT_MU`).
        **params: overrides of the preset's defaults.

    Raises:
        ValueError (``KmlcInputError``): unknown name or parameter, a value of
        the wrong type, or missing class counts.
    """
    key = _resolve_name(name)
    cls = _PRESETS[key][0]
    args = loss_arguments(key, params)

    if y_train is not None:
        y = np.asarray(y_train, dtype=np.float64)
        if y.ndim != 2:
            raise KmlcInputError(f"Expected y_train of shape [num_samples, C], Received: shape {y.shape}")
        if class_counts is None:
            class_counts = y.sum(axis=0)
        if num_samples is None:
            num_samples = y.shape[0]

    if key in ("bce", "focal"):
        return cls(**args)
    if class_counts is None or (num_samples is None and key != "cb"):
        raise KmlcInputError(
            f"Expected class_counts and num_samples (or y_train) for loss {key!r}, "
            f"Received: class_counts={'None' if class_counts is None else 'given'}, "
            f"num_samples={num_samples!r}"
        )
    if key == "wbce":
        clip = (args.pop("clip_min"), args.pop("clip_max"))
        return cls(pos_weight=pos_weight_from_counts(class_counts, num_samples, clip=clip), **args)
    if key == "cb":
        return cls(class_counts=class_counts, **args)
    if args["mu"] == "auto" and y_train is not None:
        args["mu"] = auto_mu(y_train, class_counts=class_counts)
    return cls(class_counts=class_counts, num_samples=num_samples, **args)


# --------------------------------------------------------------------------
# Several label groups in one output (kmlc.groups).
# --------------------------------------------------------------------------

_GROUP_KINDS = ("multilabel", "multiclass")


def _loss_groups(groups):
    """Validated label-group layout: [{name, kind, start, stop, weight}] (see kmlc.groups)."""
    out = []
    for g in groups:
        g = dict(g)
        if g.get("kind") not in _GROUP_KINDS or not isinstance(g.get("name"), str):
            raise KmlcInputError(f"Expected groups with name, kind, start, stop, weight, Received: {g!r:.80}.")
        out.append({"name": g["name"], "kind": g["kind"], "start": int(g["start"]), "stop": int(g["stop"]),
                    "weight": float(g.get("weight", 1.0))})
    return out


@keras.saving.register_keras_serializable(package="kmlc")
class GroupedLoss(keras.losses.Loss):
    """The weighted sum of per-group losses over sliced logits.

    For each example, ``loss = sum_g w_g * l_g`` where, on the group's logit columns
    ``z = logits[start_g:stop_g]`` and targets ``y``:

    * multiclass: ``l_g = sum(y) * logsumexp(z) - sum(y * z)``, the categorical
      cross-entropy ``-sum_c y_c log softmax(z)_c`` from logits (0 for a row with no
      target, e.g. a validation label never seen in training);
    * multilabel: the per-example value of the group's kmlc loss (``get_loss``; the mean
      over the group's labels).

    Keras' ``reduction`` is then applied over the batch.

    Args:
        groups: dicts {name, kind, start, stop, weight} in column order.
        group_losses: {name: a kmlc Loss (or its serialised form)} for every multi-label group.
    """

    def __init__(self, groups, group_losses=None, reduction="sum_over_batch_size", name="grouped_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.groups = _loss_groups(groups)
        losses = {}
        for name_, loss in (group_losses or {}).items():
            losses[name_] = keras.saving.deserialize_keras_object(loss) if isinstance(loss, dict) else loss
        missing = [g["name"] for g in self.groups if g["kind"] == "multilabel" and g["name"] not in losses]
        if missing:
            raise KmlcInputError(f"Expected a loss for each multi-label group, Received: none for {missing}.")
        self.group_losses = losses

    def per_group(self, y_true, y_pred):
        """{name: per-example loss [batch]} before weighting."""
        y_pred = ops.convert_to_tensor(y_pred)
        compute = "float32" if keras.backend.standardize_dtype(y_pred.dtype) in ("float16", "bfloat16") else None
        out = {}
        for g in self.groups:
            z = y_pred[:, g["start"]:g["stop"]]
            y = y_true[:, g["start"]:g["stop"]]
            if g["kind"] == "multiclass":
                dtype = compute or keras.backend.standardize_dtype(z.dtype)
                if not keras.backend.is_float_dtype(dtype):
                    dtype = keras.backend.floatx()
                z, y = ops.cast(z, dtype), ops.cast(y, dtype)
                out[g["name"]] = ops.sum(y, axis=-1) * ops.logsumexp(z, axis=-1) - ops.sum(y * z, axis=-1)
            else:
                out[g["name"]] = ops.cast(self.group_losses[g["name"]].call(y, z), compute or "float32")
        return out

    def call(self, y_true, y_pred):
        parts = self.per_group(y_true, y_pred)
        total = None
        for g in self.groups:
            term = ops.cast(parts[g["name"]], "float32") * g["weight"]
            total = term if total is None else total + term
        return total

    def with_weights(self, weights):
        """A copy with new weights ({name: w})."""
        groups = [{**g, "weight": float(weights.get(g["name"], g["weight"]))} for g in self.groups]
        return GroupedLoss(groups, self.group_losses, reduction=self.reduction, name=self.name,
                           dtype=self._dtype_policy.name)

    def get_config(self):
        config = super().get_config()
        config["dtype"] = self._dtype_policy.name
        config["groups"] = [dict(g) for g in self.groups]
        config["group_losses"] = {
            name: keras.saving.serialize_keras_object(loss) for name, loss in self.group_losses.items()
        }
        return config
