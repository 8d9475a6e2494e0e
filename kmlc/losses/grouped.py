"""Several label groups in one output (:mod:`kmlc.groups`): one loss over sliced logits.

``GroupedLoss`` sums, per example, the weighted losses of the label groups that
share the model's output: a softmax cross-entropy for each multi-class group and
the group's kmlc loss for each multi-label group.
"""

from __future__ import annotations

import keras
from keras import ops

from kmlc.errors import KmlcInputError
from kmlc.losses.classes import KmlcLoss

__all__ = ["GroupedLoss"]

_GROUP_KINDS = ("multilabel", "multiclass")


def check_group_layout(groups):
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
class GroupedLoss(KmlcLoss):
    """The weighted sum of per-group losses over sliced logits.

    For each example, ``loss = sum_g w_g * l_g`` where, on the group's logit columns
    ``z = logits[start_g:stop_g]`` and targets ``y``:

    * multiclass: ``l_g = sum(y) * logsumexp(z) - sum(y * z)``, the categorical
      cross-entropy ``-sum_c y_c log softmax(z)_c`` from logits (0 for a row with no
      target, e.g. a validation label never seen in training);
    * multilabel: the per-example value of the group's kmlc loss (``get_loss``; the mean
      over the group's labels).

    Keras' ``reduction`` is then applied over the batch.  The config (from
    :class:`KmlcLoss`) holds the groups and each group's loss serialised.

    Args:
        groups: dicts {name, kind, start, stop, weight} in column order.
        group_losses: {name: a kmlc Loss (or its serialised form)} for every multi-label group.
    """

    def __init__(self, groups, group_losses=None, reduction="sum_over_batch_size", name="grouped_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.groups = check_group_layout(groups)
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
