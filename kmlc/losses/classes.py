"""The ``keras.losses.Loss`` classes of kmlc: thin wrappers of :mod:`kmlc.losses.functions`.

Each class checks its arguments once, stores them, and leaves the rest to
:class:`KmlcLoss`: ``call`` passes the stored arguments to the class's
per-sample function and ``get_config`` reads them back by the constructor's
signature, so the saved config (``keras.saving.serialize_keras_object``) has
exactly the constructor's arguments and ``cls(**config)`` rebuilds the loss.
"""

from __future__ import annotations

import functools
import inspect

import keras

from kmlc.losses.functions import (
    binary_crossentropy,
    class_balanced_loss,
    distribution_balanced_loss,
    focal_loss,
)
from kmlc.losses.weights import (
    CB_BASES,
    CB_MODES,
    DEFAULT_MU,
    REWEIGHT_CHOICES,
    WEIGHT_NORM_CHOICES,
    _bool,
    _choice,
    _float_list,
    _num_samples,
    _real,
)

__all__ = ["KmlcLoss", "BinaryCrossentropy", "FocalLoss", "ClassBalancedLoss", "DistributionBalancedLoss"]

# Constructor arguments that keras.losses.Loss keeps (and configures) itself.
_KERAS_ARGUMENTS = ("self", "reduction", "name", "dtype")


@functools.cache
def _argument_names(loss_class):
    """The constructor arguments of ``loss_class`` beyond Keras' own, in signature order."""
    parameters = inspect.signature(loss_class.__init__).parameters
    return tuple(name for name in parameters if name not in _KERAS_ARGUMENTS)


def _config_value(value):
    """``value`` as a config entry: lists and dicts copied (the config must not alias the
    loss's state), Keras objects (a loss inside a loss) serialised."""
    if isinstance(value, list):
        return [_config_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _config_value(v) for k, v in value.items()}
    if isinstance(value, keras.losses.Loss):
        return keras.saving.serialize_keras_object(value)
    return value


class KmlcLoss(keras.losses.Loss):
    """Base of the kmlc losses: ``call`` and ``get_config`` from the constructor's arguments.

    A subclass's ``__init__`` stores every argument other than ``reduction``,
    ``name`` and ``dtype`` (which Keras keeps) as an attribute of the same name,
    holding the checked value.  Then:

    * ``get_config()`` is Keras' config (``name``, ``reduction``), ``dtype`` and
      those attributes in signature order;
    * ``call(y_true, y_pred)`` is ``loss_function(y_true, y_pred, **those
      attributes)`` (a subclass without a per-sample function overrides ``call``).
    """

    #: Per-sample loss ``(y_true, y_pred, **arguments) -> [batch]``.
    loss_function = None

    def constructor_arguments(self):
        """``{argument: stored value}`` for the constructor's arguments beyond Keras' own."""
        return {name: getattr(self, name) for name in _argument_names(type(self))}

    def call(self, y_true, y_pred):
        return self.loss_function(y_true, y_pred, **self.constructor_arguments())

    def get_config(self):
        config = super().get_config()
        config["dtype"] = self._dtype_policy.name  # Keras' Loss config leaves dtype out
        config.update((name, _config_value(v)) for name, v in self.constructor_arguments().items())
        return config


@keras.saving.register_keras_serializable(package="kmlc")
class BinaryCrossentropy(KmlcLoss):
    """Binary cross-entropy on logits with optional per-class positive weights.

    Element loss ``l_ic = pw_c * y_ic * sp(-z_ic) + (1 - y_ic) * sp(z_ic)``
    (``pw = 1`` when ``pos_weight`` is None); per-sample loss ``mean_c l_ic``,
    then Keras' ``reduction`` over the batch.  Use
    :func:`pos_weight_from_counts` for the weighted ("wbce") variant.

    Args:
        pos_weight: None or a list of ``C`` positive floats.
        reduction, name, dtype: as for ``keras.losses.Loss``.
    """

    loss_function = staticmethod(binary_crossentropy)

    def __init__(self, pos_weight=None, reduction="sum_over_batch_size", name="kmlc_bce", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.pos_weight = None if pos_weight is None else _float_list(pos_weight, "pos_weight", positive=True)


@keras.saving.register_keras_serializable(package="kmlc")
class FocalLoss(KmlcLoss):
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

    loss_function = staticmethod(focal_loss)

    def __init__(self, gamma=2.0, alpha=0.25, reduction="sum_over_batch_size", name="kmlc_focal", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = _real(gamma, "gamma", low=0.0)
        self.alpha = None if alpha is None else _real(alpha, "alpha", low=0.0, high=1.0)


@keras.saving.register_keras_serializable(package="kmlc")
class ClassBalancedLoss(KmlcLoss):
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

    loss_function = staticmethod(class_balanced_loss)

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


@keras.saving.register_keras_serializable(package="kmlc")
class DistributionBalancedLoss(KmlcLoss):
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

    loss_function = staticmethod(distribution_balanced_loss)

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
