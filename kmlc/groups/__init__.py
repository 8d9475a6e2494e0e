"""Several label groups in one model: a label schema, a combined loss, grouped prediction.

A **label schema** is a list of groups, each with a name (the label column), a kind and a
weight:

* ``multiclass``: exactly one label per row (a score S1..S5); softmax over the group,
  categorical cross-entropy from logits, prediction by argmax;
* ``multilabel``: zero or more labels per row; sigmoid per label, any kmlc loss
  (``kmlc.losses.get_loss``), prediction by tuned thresholds (``kmlc.thresholds``).

The network is the ordinary one (TF-IDF MLP or BERT) with one Dense head whose outputs are
the groups' columns side by side: group g owns the logit columns ``[start_g, stop_g)``. The
combined per-example loss is ``sum_g w_g * loss_g`` (see :class:`GroupedLoss`);
``group_weights="auto"`` sets ``w_g = 1 / loss_g`` at the initial weights, measured on a
seeded batch of the training data.

``TextClassifier(label_groups=[...])`` trains through the one training pipeline; what
differs for label groups is in ``kmlc.label_space.GroupedLabels``, which uses the pieces
here. A saved model gets ``groups.json`` and one ``labels/<group>.txt`` per group (see
saved_models/README.md). :func:`output_groups` tells an exporter what it needs.
"""

# The modules of the package, one concern each: schema (the groups), columns (grouped
# labels in), encoder (labels <-> the output matrix), outputs (probabilities, decisions,
# what an exporter needs), measures (initial losses, multiclass metrics), files (the model
# directory). Every name is importable from kmlc.groups, as before the split.
from kmlc.groups.columns import (
    check_multiclass_rows,
    invalid_multiclass_rows,
    normalize_group_labels,
    read_grouped_texts,
    rows_from_columns,
    subset_columns,
)
from kmlc.groups.encoder import LABELS_DIR, GroupedLabelEncoder
from kmlc.groups.files import GROUPS_FILE, load_group_state, save_group_files
from kmlc.groups.measures import (
    AUTO_WEIGHT_BATCH,
    initial_group_losses,
    multiclass_metrics,
)
from kmlc.groups.outputs import (
    GroupedThresholds,
    GroupOutput,
    flat_probabilities,
    output_groups,
)
from kmlc.groups.schema import (
    AUTO,
    KINDS,
    NAME_PATTERN,
    RESERVED_NAMES,
    LabelGroup,
    LabelSchema,
    parse_group_spec,
    parse_group_weights,
    split_label_columns,
)

__all__ = [
    "KINDS",
    "LabelGroup",
    "LabelSchema",
    "GroupedLabelEncoder",
    "GroupedThresholds",
    "GroupOutput",
    "parse_group_spec",
    "parse_group_weights",
    "split_label_columns",
    "normalize_group_labels",
    "read_grouped_texts",
    "output_groups",
    "AUTO",
]
