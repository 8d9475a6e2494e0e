"""What training needs beyond the network: streaming F1 metrics and callbacks."""

import math

import keras
from keras import ops


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
    """Streaming micro- or macro-F1 at the best single global threshold.

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
        average: "micro" or "macro" (the mean over labels of per-label F1 at one shared
            threshold; 0 for a label with no positive and no prediction).
        num_bins: threshold resolution (240 over [-12, 12]: logit steps of 0.1, i.e.
            probability steps of about 0.025 around 0.5 and much finer towards 0 and 1).
        logit_range: the half-width of the binned logit interval.
    """

    def __init__(self, num_labels, average="micro", num_bins=240, logit_range=12.0, name=None, dtype=None):
        if average not in ("micro", "macro"):
            raise ValueError(f"Expected average 'micro' or 'macro', Received: {average!r}.")
        super().__init__(name=name or f"{average}_f1", dtype=dtype or "float32")
        self.num_labels = int(num_labels)
        self.average = average
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
        positives = ops.reshape(self.positives, (self.num_labels, self.num_bins))
        negatives = ops.reshape(self.negatives, (self.num_labels, self.num_bins))
        # Threshold at bin edge k predicts the bins k..end: reverse cumulative sums.
        tp = ops.flip(ops.cumsum(ops.flip(positives, axis=1), axis=1), axis=1)
        fp = ops.flip(ops.cumsum(ops.flip(negatives, axis=1), axis=1), axis=1)
        fn = ops.sum(positives, axis=1, keepdims=True) - tp
        if self.average == "micro":
            tp, fp, fn = ops.sum(tp, axis=0), ops.sum(fp, axis=0), ops.sum(fn, axis=0)
            denominator = 2.0 * tp + fp + fn
            f1 = ops.where(denominator > 0, 2.0 * tp / ops.maximum(denominator, 1e-12), 0.0)
            return ops.max(f1)
        denominator = 2.0 * tp + fp + fn
        f1 = ops.where(denominator > 0, 2.0 * tp / ops.maximum(denominator, 1e-12), 0.0)
        return ops.max(ops.mean(f1, axis=0))

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


def f1_metrics(num_labels, tuned=True):
    """micro_f1 and macro_f1 for training logs and early stopping: at the best global
    threshold when thresholds are tuned after training, else at a fixed 0.5."""
    if tuned:
        return [TunedF1Score(num_labels, "micro"), TunedF1Score(num_labels, "macro")]
    return [F1Score(num_labels, "micro"), F1Score(num_labels, "macro")]


def early_stopping(patience, monitor="val_micro_f1"):
    """Stops when validation micro-F1 stops improving and restores the best epoch's weights."""
    return keras.callbacks.EarlyStopping(
        monitor=monitor, mode="max", patience=patience, restore_best_weights=True, verbose=0
    )
