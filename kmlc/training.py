"""What training needs beyond the network: streaming F1 metrics and callbacks."""

import math

import keras
import numpy as np
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


def early_stopping(patience, monitor="val_micro_f1"):
    """Stops when validation micro-F1 stops improving and restores the best epoch's weights
    (a `ResumableEarlyStopping`: its state survives an interrupted run)."""
    return ResumableEarlyStopping(
        monitor=monitor, mode="max", patience=patience, restore_best_weights=True, verbose=0
    )


# ----------------------------------------------------------------------------- reliability


def epoch_is_finite(logs):
    """An epoch whose training or validation loss is NaN/inf has diverged: its weights are
    never a 'best' epoch, never backed up."""
    logs = logs or {}
    return all(math.isfinite(float(logs[k])) for k in ("loss", "val_loss") if logs.get(k) is not None)


class NanGuard(keras.callbacks.TerminateOnNaN):
    """TerminateOnNaN that remembers where the loss diverged (epoch, batch), so the caller
    can say so and keep the last good weights, instead of printing a bare batch number."""

    def __init__(self):
        super().__init__()
        self.nan_epoch = None
        self.nan_batch = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and self.nan_epoch is None:
            self.nan_epoch, self.nan_batch = self._epoch, batch
            self.model.stop_training = True


class InterruptAtBatchBoundary(keras.callbacks.Callback):
    """Raises an interrupt held by `kmlc.interrupts.deferred_interrupts` at the next batch or
    epoch boundary, where unwinding leaves no native work half-done."""

    def _check(self, *args, **kwargs):
        from kmlc.interrupts import raise_pending

        raise_pending()

    on_train_batch_end = on_test_batch_end = on_epoch_begin = on_epoch_end = _check
    on_test_begin = on_train_begin = _check


def snapshot_weights(model):
    """A copy of `model.get_weights()` that later training steps leave alone. Under JAX a
    device copy: `get_weights` converts 5M parameters to NumPy in about 120 ms, where the copy
    takes a few (and holding the arrays themselves fails, as the train step donates them)."""
    if keras.backend.backend() == "jax":
        return [ops.copy(variable.value) for variable in model.weights]
    return model.get_weights()


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping (best weights restored) whose counters can be saved and restored, so a
    resumed run stops at the same epoch as an uninterrupted one; a diverged epoch is skipped.
    The best epoch's weights are kept with `snapshot_weights`."""

    def __init__(self, restore_best_weights=False, **kwargs):
        super().__init__(restore_best_weights=False, **kwargs)
        self.keep_best_weights = restore_best_weights

    def on_epoch_end(self, epoch, logs=None):
        if not epoch_is_finite(logs):
            return
        super().on_epoch_end(epoch, logs)
        # EarlyStopping moves best_epoch to this epoch on an improvement (and on the first);
        # without the monitored value it does nothing, and neither does this.
        if self.keep_best_weights and self.best_epoch == epoch and (logs or {}).get(self.monitor) is not None:
            self.best_weights = snapshot_weights(self.model)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        if self.keep_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def get_state(self):
        best = None if self.best is None else float(self.best)
        return {"wait": int(self.wait), "best": best, "best_epoch": int(self.best_epoch),
                "stopped_epoch": int(self.stopped_epoch)}

    def set_state(self, state, best_weights):
        self.wait = state["wait"]
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = best_weights


def _seed_state_variables(model):
    """The states of the model's random seed generators (dropout masks): variables that
    `save_weights` leaves out, but that a resumed run needs to draw the same masks."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


class TrainingBackup(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, with the backup written atomically and holding everything a
    resumed run needs to end exactly where an uninterrupted one would: the weights and the
    optimiser state (Keras), the completed epochs' logs, the early-stopping counters and
    best weights, and a fingerprint of the data and settings it belongs to.

    The backup directory is replaced as a whole after each epoch, so an interruption at any
    moment leaves the previous epoch's complete backup. It is removed when training ends.
    """

    STATE = "kmlc_state.json"
    BEST = "best_weights.npz"

    def __init__(self, backup_dir, early_stopping=None, fingerprint=None):
        from kmlc.outputs import BACKUP_DIRECTORY, check_output

        # Before training: a directory that is not a backup is refused, never deleted.
        check_output(backup_dir, BACKUP_DIRECTORY, flag="backup_dir")
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=True)
        self.early_stopping = early_stopping
        self.fingerprint = fingerprint
        self.epoch_logs = []
        self.resumed_from_epoch = 0
        self._saved_best_epoch = None

    def on_train_end(self, logs=None):
        from kmlc.outputs import BACKUP_DIRECTORY, remove_output

        # Keras removes the whole directory; this removes it only while it holds the backup alone.
        remove_output(self.backup_dir, BACKUP_DIRECTORY)

    @classmethod
    def read_state(cls, backup_dir):
        """The saved state of a backup directory, None when there is no backup."""
        import json
        from pathlib import Path

        from kmlc.errors import KmlcInputError

        path = Path(backup_dir) / cls.STATE
        if not path.is_file():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            int(state["epoch"]), list(state["history"])
        except (ValueError, KeyError, TypeError) as e:
            raise KmlcInputError(
                f"Expected a readable training backup in '{backup_dir}', Received: a damaged "
                f"'{cls.STATE}' ({type(e).__name__}). Delete the directory to train from the start."
            ) from None
        return state

    def on_train_begin(self, logs=None):
        import numpy as np

        state = self.read_state(self.backup_dir)
        super().on_train_begin(logs)  # restores weights, optimiser state and the epoch
        if state is None:
            return
        self.resumed_from_epoch = int(state["epoch"])
        self._current_epoch = self.resumed_from_epoch
        # By position: a seed generator's name carries a process-wide counter.
        seeds = state.get("seed_states") or []
        variables = _seed_state_variables(self.model)
        if len(seeds) == len(variables):
            for variable, value in zip(variables, seeds):
                variable.assign(np.asarray(value, dtype=variable.dtype))
        self.epoch_logs = [dict(row) for row in state["history"]]
        es = state.get("early_stopping")
        if self.early_stopping is not None and es is not None:
            best_weights = None
            path = f"{self.backup_dir}/{self.BEST}"
            if es.get("has_best_weights"):
                with np.load(path, allow_pickle=False) as store:
                    best_weights = [store[f"w{i}"] for i in range(len(store.files))]
            self.early_stopping.set_state(es, best_weights)
            self._saved_best_epoch = es["best_epoch"] if best_weights is not None else None

    def on_epoch_end(self, epoch, logs=None):
        if not epoch_is_finite(logs):
            return  # a diverged epoch is not a state to resume from
        self.epoch_logs.append({k: float(v) for k, v in (logs or {}).items()})
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        import json
        import os
        from pathlib import Path

        import numpy as np

        from kmlc.io import atomic_directory
        from kmlc.outputs import BACKUP_DIRECTORY

        es = self.early_stopping
        es_state = None
        if es is not None:
            es_state = {**es.get_state(), "has_best_weights": es.best_weights is not None}
        old = Path(self.backup_dir)
        with atomic_directory(self.backup_dir, BACKUP_DIRECTORY) as tmp:
            self.model.save_weights(str(tmp / "latest.weights.h5"))
            (tmp / "training_metadata.json").write_text(json.dumps({"epoch": self._current_epoch, "batch": 0}))
            if es_state and es_state["has_best_weights"]:
                if self._saved_best_epoch == es_state["best_epoch"] and (old / self.BEST).is_file():
                    os.link(old / self.BEST, tmp / self.BEST)  # unchanged: no second copy on disk
                else:
                    np.savez(tmp / self.BEST, **{f"w{i}": w for i, w in enumerate(es.best_weights)})
                self._saved_best_epoch = es_state["best_epoch"]
            seeds = [keras.ops.convert_to_numpy(v).tolist() for v in _seed_state_variables(self.model)]
            state = {"format": 1, "fingerprint": self.fingerprint, "epoch": self._current_epoch,
                     "history": self.epoch_logs, "early_stopping": es_state, "seed_states": seeds}
            (tmp / self.STATE).write_text(json.dumps(state))
