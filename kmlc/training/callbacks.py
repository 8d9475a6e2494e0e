"""The training loop's callbacks: early stopping that survives a resume, the NaN guard,
interrupts held to a batch boundary, and the resumable backup."""

import json
import math
import os
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kmlc.errors import KmlcInputError
from kmlc.interrupts import raise_pending
from kmlc.io import atomic_directory
from kmlc.outputs import BACKUP_DIRECTORY, check_output, remove_output


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
        # (monitored value, weights) of the network before the first epoch, when those weights
        # were fitted and are a candidate of their own: "epoch -1".
        self.start = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.start is not None:
            self.best, self.best_weights = self.start
            self.best_epoch = -1

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
        # Before training: a directory that is not a backup is refused, never deleted.
        check_output(backup_dir, BACKUP_DIRECTORY, flag="backup_dir")
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=True)
        self.early_stopping = early_stopping
        self.fingerprint = fingerprint
        self.epoch_logs = []
        self.resumed_from_epoch = 0
        self._saved_best_epoch = None

    def on_train_end(self, logs=None):
        # Keras removes the whole directory; this removes it only while it holds the backup alone.
        remove_output(self.backup_dir, BACKUP_DIRECTORY)

    @classmethod
    def read_state(cls, backup_dir):
        """The saved state of a backup directory, None when there is no backup."""
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
