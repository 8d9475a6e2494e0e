"""How a classifier's labels map to its outputs: one multi-label set, or several label groups.

`label_space(label_groups, group_weights)` gives the `LabelSpace` of a classifier's settings:

* `FlatLabels`: one multi-label set (the plain model): label lists in, one sigmoid per label,
  one threshold policy, label lists out;
* `GroupedLabels`: a `kmlc.groups.LabelSchema` of multiclass and multi-label groups: labels
  as columns (or one dict per row) in, softmax inside a multiclass group and sigmoids
  elsewhere, a loss and thresholds per group, one dict per row out.

The training pipeline, the estimator and the command line ask the label space everything
that depends on the label layout (checking labels, encoding them, the loss and the training
metrics, tuning thresholds, probabilities, predictions, metrics, the files of a model
directory); nothing else tests which layout a classifier has.
"""

# The modules of the package, one concern each: checks (label lists in, the training labels'
# refusals and warnings, the metric columns of labels never seen in training), base (the
# `LabelSpace` interface and the multi-label loss both layouts build), flat (`FlatLabels`: one
# label set), grouped (`GroupedLabels`: label groups); `label_space` below picks one. Every
# name is importable from kmlc.label_space, as before the split.
from kmlc.groups import LabelSchema
from kmlc.label_space.base import LabelSpace
from kmlc.label_space.base import _multilabel_loss as _multilabel_loss
from kmlc.label_space.checks import (
    append_unseen_columns,
    check_label_lists,
    check_training_labels,
)
from kmlc.label_space.flat import FlatLabels
from kmlc.label_space.grouped import GroupedLabels

__all__ = [
    "FlatLabels",
    "GroupedLabels",
    "LabelSpace",
    "append_unseen_columns",
    "check_label_lists",
    "check_training_labels",
    "label_space",
]


def label_space(label_groups=None, group_weights=None):
    """The label space of a classifier's `label_groups` / `group_weights` settings."""
    if label_groups is None:
        return FlatLabels()

    return GroupedLabels(LabelSchema.parse(label_groups, group_weights))
