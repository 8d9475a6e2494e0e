"""The named loss presets of :func:`get_loss` (``"bce"``, ``"db"``, ...): a registry.

Each entry of ``_PRESETS`` says which Loss class a name builds, the kinds of
its parameters (to convert strings from a command line), their defaults, the
training statistics it needs and how it is built from them; adding a preset is
adding one entry.
"""

from __future__ import annotations

import numbers
from typing import Callable, NamedTuple

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.losses.classes import (
    BinaryCrossentropy,
    ClassBalancedLoss,
    DistributionBalancedLoss,
    FocalLoss,
)
from kmlc.losses.weights import (
    CB_BASES,
    CB_MODES,
    REWEIGHT_CHOICES,
    WEIGHT_NORM_CHOICES,
    auto_mu,
    pos_weight_from_counts,
)

__all__ = ["LOSS_NAMES", "get_loss", "get_loss_defaults", "loss_arguments"]

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


class _Preset(NamedTuple):
    """One named preset of :func:`get_loss`."""

    loss: type  # the Loss class built
    kinds: dict  # parameter -> kind, to convert its value (see _coerce)
    defaults: dict  # parameter -> default value
    needs: tuple  # the training statistics `build` needs: "class_counts", "num_samples"
    build: Callable  # (loss, args, class_counts, num_samples, y_train) -> a Loss


# Builders: `args` are the preset's checked parameters (a new dict, theirs to change).
def _build_plain(loss, args, class_counts, num_samples, y_train):
    return loss(**args)


def _build_weighted_bce(loss, args, class_counts, num_samples, y_train):
    clip = (args.pop("clip_min"), args.pop("clip_max"))
    return loss(pos_weight=pos_weight_from_counts(class_counts, num_samples, clip=clip), **args)


def _build_class_balanced(loss, args, class_counts, num_samples, y_train):
    return loss(class_counts=class_counts, **args)


def _build_distribution_balanced(loss, args, class_counts, num_samples, y_train):
    if args["mu"] == "auto" and y_train is not None:
        args["mu"] = auto_mu(y_train, class_counts=class_counts)
    return loss(class_counts=class_counts, num_samples=num_samples, **args)


_COUNTS = ("class_counts",)
_COUNTS_AND_SIZE = ("class_counts", "num_samples")


def _distribution_balanced(**changed_defaults):
    """A preset of :class:`DistributionBalancedLoss` (the "db" family) with some defaults changed."""
    return _Preset(
        DistributionBalancedLoss,
        _DB_KINDS,
        {**_DB_DEFAULTS, **changed_defaults},
        _COUNTS_AND_SIZE,
        _build_distribution_balanced,
    )


# The focal-type presets use alpha = 0.5 as in Huang et al.'s comparison (equal
# weight to positives and negatives), so "focal" == "ntr-focal" without NTR and
# "cb" == "cb-ntr" without NTR.
_PRESETS = {
    "bce": _Preset(BinaryCrossentropy, {}, {}, (), _build_plain),
    "wbce": _Preset(
        BinaryCrossentropy,
        {"clip_min": _FLOAT, "clip_max": _FLOAT},
        {"clip_min": 1.0, "clip_max": 100.0},
        _COUNTS_AND_SIZE,
        _build_weighted_bce,
    ),
    "focal": _Preset(
        FocalLoss, {"gamma": _FLOAT, "alpha": _OPT_FLOAT}, {"gamma": 2.0, "alpha": 0.5}, (), _build_plain
    ),
    "cb": _Preset(
        ClassBalancedLoss,
        {
            "beta": _FLOAT,
            "gamma": _FLOAT,
            "base": ("choice", CB_BASES),
            "mode": ("choice", CB_MODES),
            "alpha": _OPT_FLOAT,
        },
        {"beta": 0.9, "gamma": 2.0, "base": "focal", "mode": "by_class", "alpha": 0.5},
        _COUNTS,
        _build_class_balanced,
    ),
    "db": _distribution_balanced(),
    "ntr-focal": _distribution_balanced(reweight=None),
    "cb-ntr": _distribution_balanced(reweight="cb"),
    "db-no-focal": _distribution_balanced(focal=False),
}

#: Names understood by :func:`get_loss`.
LOSS_NAMES = tuple(_PRESETS)

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
    return dict(_PRESETS[_resolve_name(name)].defaults)


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
    preset = _PRESETS[key]
    kinds = {**preset.kinds, **_COMMON_KINDS}
    unknown = sorted(set(params) - set(kinds))
    if unknown:
        raise KmlcInputError(
            f"Expected parameters of loss {key!r} to be among {sorted(kinds)}, Received: {unknown}"
        )
    args = {**preset.defaults, "name": key.replace("-", "_")}
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
    preset = _PRESETS[key]
    args = loss_arguments(key, params)

    if y_train is not None:
        y = np.asarray(y_train, dtype=np.float64)
        if y.ndim != 2:
            raise KmlcInputError(f"Expected y_train of shape [num_samples, C], Received: shape {y.shape}")
        if class_counts is None:
            class_counts = y.sum(axis=0)
        if num_samples is None:
            num_samples = y.shape[0]

    if (class_counts is None and "class_counts" in preset.needs) or (
        num_samples is None and "num_samples" in preset.needs
    ):
        raise KmlcInputError(
            f"Expected class_counts and num_samples (or y_train) for loss {key!r}, "
            f"Received: class_counts={'None' if class_counts is None else 'given'}, "
            f"num_samples={num_samples!r}"
        )
    return preset.build(preset.loss, args, class_counts, num_samples, y_train)
