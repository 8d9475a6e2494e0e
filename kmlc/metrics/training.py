"""Streaming F1 metrics from logits, for training logs and early stopping (micro and macro,
at a fixed or at the best threshold; over one label set or several label groups)."""

import math

import keras
import numpy as np
from keras import ops

from kmlc.losses import check_group_layout


@keras.saving.register_keras_serializable(package="kmlc")
class F1Score(keras.metrics.Metric):
    """Streaming micro- or macro-F1 over multi-hot labels, computed from logits.

    A label is predicted when its probability is >= its threshold; the comparison is done
    on logits (logit >= log(t / (1 - t))), so no sigmoid is needed. Counts of true
    positives, false positives and false negatives accumulate per label over the epoch.

    Args:
        num_labels: number of labels (columns).
        average: "micro" (pool the counts) or "macro" (mean of per-label F1; a label with
            no positive and no prediction scores 0, as scikit-learn's zero_division=0).
        threshold: one probability threshold, or one per label.
    """

    def __init__(self, num_labels, average="micro", threshold=0.5, name=None, dtype=None):
        if average not in ("micro", "macro"):
            raise ValueError(f"Expected average 'micro' or 'macro', Received: {average!r}.")
        super().__init__(name=name or f"{average}_f1", dtype=dtype or "float32")
        self.num_labels = int(num_labels)
        self.average = average
        self.threshold = threshold if isinstance(threshold, (int, float)) else [float(t) for t in threshold]
        thresholds = [float(threshold)] * self.num_labels if isinstance(threshold, (int, float)) else self.threshold
        eps = 1e-7
        self._logit_cut = [math.log(max(t, eps)) - math.log(max(1.0 - t, eps)) for t in thresholds]
        shape = (self.num_labels,)
        self.true_positives = self.add_variable(shape=shape, initializer="zeros", name="tp")
        self.false_positives = self.add_variable(shape=shape, initializer="zeros", name="fp")
        self.false_negatives = self.add_variable(shape=shape, initializer="zeros", name="fn")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        logits = ops.cast(y_pred, self.dtype)
        predicted = ops.cast(logits >= ops.convert_to_tensor(self._logit_cut, self.dtype), self.dtype)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1))
        else:
            weight = ops.ones_like(y_true[:, :1])
        self.true_positives.assign_add(ops.sum(weight * y_true * predicted, axis=0))
        self.false_positives.assign_add(ops.sum(weight * (1.0 - y_true) * predicted, axis=0))
        self.false_negatives.assign_add(ops.sum(weight * y_true * (1.0 - predicted), axis=0))

    def result(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = ops.sum(tp), ops.sum(fp), ops.sum(fn)
            denominator = 2.0 * tp + fp + fn
            return ops.where(denominator > 0, 2.0 * tp / ops.maximum(denominator, 1e-12), 0.0)
        denominator = 2.0 * tp + fp + fn
        per_label = ops.where(denominator > 0, 2.0 * tp / ops.maximum(denominator, 1e-12), 0.0)
        return ops.mean(per_label)

    def reset_state(self):
        for variable in (self.true_positives, self.false_positives, self.false_negatives):
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {
            "num_labels": self.num_labels,
            "average": self.average,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="kmlc")
class TunedF1Score(keras.metrics.Metric):
    """Streaming micro- and/or macro-F1 at the best single global threshold.

    The thresholds kmlc saves are tuned on validation data after training, so early stopping
    should judge an epoch by the F1 it reaches once tuned, not at a fixed 0.5 (a model whose
    scores are still below 0.5 would look like F1 = 0). Probabilities are counted into
    `num_bins` bins per label, separately for positives and negatives; the F1 of every bin
    edge as threshold then comes from reverse cumulative sums, and the best is reported.
    Bins are equal in logit space over [-logit_range, logit_range] (the ends open), so scores
    far from 0.5, as early in training, are still told apart. Memory is num_labels x
    num_bins, whatever the number of examples.

    Args:
        num_labels: number of labels (columns).
        average: "micro", "macro" (the mean over labels of per-label F1 at one shared
            threshold; 0 for a label with no positive and no prediction), or a tuple of
            both: one histogram then serves both, and `result()` is a dict
            {"micro_f1": ..., "macro_f1": ...} (Keras logs each key; the histogram is
            updated once a step, not twice).
        num_bins: threshold resolution (240 over [-12, 12]: logit steps of 0.1, i.e.
            probability steps of about 0.025 around 0.5 and much finer towards 0 and 1).
        logit_range: the half-width of the binned logit interval.
    """

    def __init__(self, num_labels, average="micro", num_bins=240, logit_range=12.0, name=None, dtype=None):
        averages = (average,) if isinstance(average, str) else tuple(average)
        if not averages or any(a not in ("micro", "macro") for a in averages) or len(set(averages)) < len(averages):
            raise ValueError(
                f"Expected average 'micro', 'macro' or a tuple of both, Received: {average!r}."
            )
        default_name = f"{averages[0]}_f1" if isinstance(average, str) else "tuned_f1"
        super().__init__(name=name or default_name, dtype=dtype or "float32")
        self.num_labels = int(num_labels)
        self.average = average if isinstance(average, str) else list(averages)
        self._averages = averages
        self.num_bins = int(num_bins)
        self.logit_range = float(logit_range)
        shape = (self.num_labels * self.num_bins,)
        self.positives = self.add_variable(shape=shape, initializer="zeros", name="positives")
        self.negatives = self.add_variable(shape=shape, initializer="zeros", name="negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        position = (ops.cast(y_pred, self.dtype) + self.logit_range) / (2.0 * self.logit_range)
        bins = ops.clip(ops.cast(ops.floor(position * self.num_bins), "int32"), 0, self.num_bins - 1)
        segment = bins + ops.arange(self.num_labels, dtype="int32")[None, :] * self.num_bins
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1)) * ops.ones_like(y_true)
        else:
            weight = ops.ones_like(y_true)
        segment = ops.reshape(segment, (-1,))
        size = self.num_labels * self.num_bins
        self.positives.assign_add(ops.segment_sum(ops.reshape(weight * y_true, (-1,)), segment, num_segments=size))
        self.negatives.assign_add(
            ops.segment_sum(ops.reshape(weight * (1.0 - y_true), (-1,)), segment, num_segments=size)
        )

    def result(self):
        # Outside a compiled step (the epoch-end logs) NumPy does the same arithmetic: eager
        # JAX compiles each of these ops on first use, 0.9 s at the end of a first epoch.
        concrete = _concrete_values(self.positives, self.negatives)
        xp = np if concrete is not None else ops
        positives, negatives = concrete if concrete is not None else (self.positives, self.negatives)
        positives = xp.reshape(positives, (self.num_labels, self.num_bins))
        negatives = xp.reshape(negatives, (self.num_labels, self.num_bins))
        # Threshold at bin edge k predicts the bins k..end: reverse cumulative sums.
        tp = xp.flip(xp.cumsum(xp.flip(positives, axis=1), axis=1), axis=1)
        fp = xp.flip(xp.cumsum(xp.flip(negatives, axis=1), axis=1), axis=1)
        fn = xp.sum(positives, axis=1, keepdims=True) - tp
        results = {}
        for average in self._averages:
            if average == "micro":
                tp_k, fp_k, fn_k = xp.sum(tp, axis=0), xp.sum(fp, axis=0), xp.sum(fn, axis=0)
            else:
                tp_k, fp_k, fn_k = tp, fp, fn
            denominator = 2.0 * tp_k + fp_k + fn_k
            f1 = xp.where(denominator > 0, 2.0 * tp_k / xp.maximum(denominator, 1e-12), 0.0)
            best = xp.max(f1) if average == "micro" else xp.max(xp.mean(f1, axis=0))
            results[f"{average}_f1"] = ops.convert_to_tensor(np.float32(best)) if concrete is not None else best
        return results[f"{self.average}_f1"] if isinstance(self.average, str) else results

    def reset_state(self):
        for variable in (self.positives, self.negatives):
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {
            "num_labels": self.num_labels,
            "average": self.average,
            "num_bins": self.num_bins,
            "logit_range": self.logit_range,
            "name": self.name,
            "dtype": self.dtype,
        }


def _concrete_values(*variables):
    """The variables' values as NumPy arrays when they are concrete (eager code), or None
    inside a traced or compiled function."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        values = [variable.value for variable in variables]
        if any(isinstance(value, jax.core.Tracer) for value in values):
            return None
        return [np.asarray(value) for value in values]
    if backend == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return None
    return [ops.convert_to_numpy(variable) for variable in variables]


def f1_metrics(num_labels, tuned=True):
    """micro_f1 and macro_f1 for training logs and early stopping: at the best global
    threshold when thresholds are tuned after training, else at a fixed 0.5."""
    if tuned:
        # One histogram for both (logged as micro_f1 and macro_f1).
        return [TunedF1Score(num_labels, ("micro", "macro"))]
    return [F1Score(num_labels, "micro"), F1Score(num_labels, "macro")]


@keras.saving.register_keras_serializable(package="kmlc")
class GroupedF1Score(keras.metrics.Metric):
    """Streaming micro- or macro-F1 over every label of a grouped output, from logits.

    A multiclass group predicts its argmax; multi-label columns are binned by logit as in
    `TunedF1Score` and judged at the best shared threshold (`tuned=True`) or at
    probability 0.5. Early stopping watches this (`val_micro_f1`).
    """

    def __init__(self, groups, average="micro", tuned=True, num_bins=240, logit_range=12.0, name=None, dtype=None):
        if average not in ("micro", "macro"):
            raise ValueError(f"Expected average 'micro' or 'macro', Received: {average!r}.")
        super().__init__(name=name or f"{average}_f1", dtype=dtype or "float32")
        self.groups = check_group_layout(groups)
        self.average, self.tuned = average, bool(tuned)
        self.num_bins, self.logit_range = int(num_bins), float(logit_range)
        self._ml = [c for g in self.groups if g["kind"] == "multilabel" for c in range(g["start"], g["stop"])]
        self._mc = [g for g in self.groups if g["kind"] == "multiclass"]
        self._n_mc = sum(g["stop"] - g["start"] for g in self._mc)
        if self._ml:
            size = (len(self._ml) * self.num_bins,)
            self.positives = self.add_variable(shape=size, initializer="zeros", name="positives")
            self.negatives = self.add_variable(shape=size, initializer="zeros", name="negatives")
        if self._mc:
            for key in ("mc_tp", "mc_fp", "mc_fn"):
                setattr(self, key, self.add_variable(shape=(self._n_mc,), initializer="zeros", name=key))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, self.dtype)
        logits = ops.cast(y_pred, self.dtype)
        weight = (ops.ones_like(y_true[:, :1]) if sample_weight is None
                  else ops.reshape(ops.cast(sample_weight, self.dtype), (-1, 1)))
        if self._ml:
            index = ops.convert_to_tensor(np.asarray(self._ml, dtype="int32"))
            y = ops.take(y_true, index, axis=1)
            z = ops.take(logits, index, axis=1)
            position = (z + self.logit_range) / (2.0 * self.logit_range)
            bins = ops.clip(ops.cast(ops.floor(position * self.num_bins), "int32"), 0, self.num_bins - 1)
            segment = ops.reshape(bins + ops.arange(len(self._ml), dtype="int32")[None, :] * self.num_bins, (-1,))
            w = weight * ops.ones_like(y)
            size = len(self._ml) * self.num_bins
            self.positives.assign_add(ops.segment_sum(ops.reshape(w * y, (-1,)), segment, num_segments=size))
            self.negatives.assign_add(ops.segment_sum(ops.reshape(w * (1.0 - y), (-1,)), segment, num_segments=size))
        if self._mc:
            tps, fps, fns = [], [], []
            for g in self._mc:
                y = y_true[:, g["start"]:g["stop"]]
                pred = ops.one_hot(ops.argmax(logits[:, g["start"]:g["stop"]], axis=-1), g["stop"] - g["start"])
                pred = ops.cast(pred, self.dtype)
                tps.append(ops.sum(weight * y * pred, axis=0))
                fps.append(ops.sum(weight * (1.0 - y) * pred, axis=0))
                fns.append(ops.sum(weight * y * (1.0 - pred), axis=0))
            self.mc_tp.assign_add(ops.concatenate(tps, axis=0))
            self.mc_fp.assign_add(ops.concatenate(fps, axis=0))
            self.mc_fn.assign_add(ops.concatenate(fns, axis=0))

    def result(self):
        def f1(tp, fp, fn):
            d = 2.0 * tp + fp + fn
            return ops.where(d > 0, 2.0 * tp / ops.maximum(d, 1e-12), 0.0)

        if self._ml:
            shape = (len(self._ml), self.num_bins)
            pos, neg = ops.reshape(self.positives, shape), ops.reshape(self.negatives, shape)
            tp = ops.flip(ops.cumsum(ops.flip(pos, axis=1), axis=1), axis=1)
            fp = ops.flip(ops.cumsum(ops.flip(neg, axis=1), axis=1), axis=1)
            fn = ops.sum(pos, axis=1, keepdims=True) - tp
            if not self.tuned:  # bin edge num_bins / 2 is logit 0, probability 0.5
                k = self.num_bins // 2
                tp, fp, fn = tp[:, k:k + 1], fp[:, k:k + 1], fn[:, k:k + 1]
        n_labels = len(self._ml) + self._n_mc
        if self.average == "micro":
            if self._ml:
                tp, fp, fn = ops.sum(tp, axis=0), ops.sum(fp, axis=0), ops.sum(fn, axis=0)
            else:
                tp = fp = fn = ops.zeros((1,), self.dtype)
            if self._mc:
                tp, fp, fn = tp + ops.sum(self.mc_tp), fp + ops.sum(self.mc_fp), fn + ops.sum(self.mc_fn)
            return ops.max(f1(tp, fp, fn))
        total = ops.sum(f1(tp, fp, fn), axis=0) if self._ml else ops.zeros((1,), self.dtype)
        if self._mc:
            total = total + ops.sum(f1(self.mc_tp, self.mc_fp, self.mc_fn))
        return ops.max(total / n_labels)

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {"groups": [dict(g) for g in self.groups], "average": self.average, "tuned": self.tuned,
                "num_bins": self.num_bins, "logit_range": self.logit_range, "name": self.name, "dtype": self.dtype}
