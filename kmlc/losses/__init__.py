"""Multi-label losses for long-tailed label distributions (Keras 3, any backend).

Binary cross-entropy, focal, class-balanced (Cui et al., 2019) and
distribution-balanced losses (Wu et al., 2020; Huang et al., EMNLP 2021), on
logits.  :func:`get_loss` builds the named presets listed in :data:`LOSS_NAMES`.

Modules:

* ``weights``: the class weights, NTR bias and ``mu`` from training label counts (NumPy);
* ``functions``: the per-sample losses in ``keras.ops`` (the formulas are documented there);
* ``classes``: the ``keras.losses.Loss`` classes around them (serialisable);
* ``presets``: the named presets of :func:`get_loss`;
* ``grouped``: one loss over several label groups of one output (:mod:`kmlc.groups`).

Importing this package imports Keras (the Loss classes are registered for
deserialisation on import).
"""

from kmlc.losses.classes import (
    BinaryCrossentropy,
    ClassBalancedLoss,
    DistributionBalancedLoss,
    FocalLoss,
)
from kmlc.losses.functions import (
    binary_crossentropy,
    class_balanced_loss,
    distribution_balanced_loss,
    focal_loss,
)
from kmlc.losses.grouped import GroupedLoss, check_group_layout
from kmlc.losses.presets import LOSS_NAMES, get_loss, get_loss_defaults, loss_arguments
from kmlc.losses.weights import (
    CB_BASES,
    CB_MODES,
    DEFAULT_MU,
    NTR_RATIO_CLIP,
    REWEIGHT_CHOICES,
    WEIGHT_NORM_CHOICES,
    auto_mu,
    auto_mu_from_rows,
    class_balanced_weights,
    ntr_bias,
    pos_weight_from_counts,
)

__all__ = [
    "LOSS_NAMES",
    "DEFAULT_MU",
    "NTR_RATIO_CLIP",
    "REWEIGHT_CHOICES",
    "WEIGHT_NORM_CHOICES",
    "CB_MODES",
    "CB_BASES",
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
    "auto_mu_from_rows",
    "get_loss",
    "get_loss_defaults",
    "loss_arguments",
    "GroupedLoss",
]
