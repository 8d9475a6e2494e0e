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
The functions here return per-sample losses; the ``keras.losses.Loss`` classes
of :mod:`kmlc.losses.classes` (named below) wrap them with Keras' reduction.

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

The implementation follows the formulas of the papers; no code was taken from
the authors' repositories.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kmlc.errors import KmlcInputError
from kmlc.losses.weights import (
    CB_BASES,
    CB_MODES,
    DEFAULT_MU,
    REWEIGHT_CHOICES,
    WEIGHT_NORM_CHOICES,
    _choice,
    _effective_number_inverse,
    ntr_bias,
)

__all__ = ["binary_crossentropy", "focal_loss", "class_balanced_loss", "distribution_balanced_loss"]

# Computed in float32 (softplus and exp lose too much in half precision).
_HALF_DTYPES = ("float16", "bfloat16")


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
