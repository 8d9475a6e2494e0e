"""The training loop: `model.fit` with early stopping, the NaN guard, interrupts held to a
batch boundary, an optional resumable backup and an optional data-parallel plan."""

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np

from kmlc.errors import KmlcDataWarning, KmlcInputError
from kmlc.interrupts import deferred_interrupts
from kmlc.training.callbacks import (
    InterruptAtBatchBoundary,
    NanGuard,
    TrainingBackup,
    early_stopping,
    epoch_is_finite,
    snapshot_weights,
)


@dataclass
class LoopResult:
    model: object  # the trained network (a one-device copy after data-parallel training)
    history: dict  # {log key: [one value per finite epoch]}
    best_epoch: int  # 1-based, by validation micro-F1; 0: the starting weights (`keep_start`)
    resumed_from_epoch: int  # 0: trained from the start
    distribution: dict  # how it was distributed (None: one device)


def train_network(model, train_ds, val_ds, *, epochs, patience, verbose, backup_dir=None, callbacks=None,
                  fingerprint=None, distribution=None, divergence_hint="", keep_start=False):
    """Fits the compiled `model`. With `backup_dir`, resumes the backup there (when it
    belongs to the same `fingerprint`) and backs up every epoch. With a
    `kmlc.training.distribute.DataParallelPlan`, `fit` runs on its devices and validation on
    one. `divergence_hint` ends the message of a NaN loss. With `keep_start`, the starting
    weights (fitted before training) are a candidate too: validated first, and kept when no
    epoch beats them (one device only)."""
    stopper, guard, backup = early_stopping(patience), NanGuard(), None
    if keep_start and distribution is None:
        start = model.evaluate(val_ds, return_dict=True, verbose=0)
        stopper.start = (float(start[stopper.monitor.removeprefix("val_")]), snapshot_weights(model))
    if backup_dir is not None:
        state = TrainingBackup.read_state(backup_dir)
        if state is not None:
            if state.get("fingerprint") != fingerprint:
                raise KmlcInputError(
                    f"Expected the same data and settings as the interrupted run backed up in "
                    f"'{backup_dir}', Received: different ones. Use the original data and "
                    "settings, or delete that directory to train from the start."
                )
            # tf.data draws an epoch's shuffled order when the epoch's iterator is made:
            # draw the completed epochs' orders again, so the next epoch gets its own.
            # (Exact under JAX and torch; Keras' TensorFlow trainer iterates a distributed
            # copy of the dataset whose shuffle restarts: docs/reliability.md.)
            for _ in range(int(state["epoch"])):
                iter(train_ds)
            if (state.get("early_stopping") or {}).get("stopped_epoch", 0) > 0:
                # Early stopping had ended the run at its last saved epoch: only the end was
                # interrupted. No epoch is left to train; fit restores the best weights.
                epochs = int(state["epoch"])
        backup = TrainingBackup(backup_dir, early_stopping=stopper, fingerprint=fingerprint)
    # Data-parallel: the validation callback first, as it writes the val_* logs the others read.
    first = distribution.callbacks() if distribution is not None else []
    training = distribution.training() if distribution is not None else contextlib.nullcontext()
    with training, deferred_interrupts():
        history = model.fit(
            train_ds,
            validation_data=val_ds if distribution is None else None,
            epochs=epochs,
            # The guard first: a diverged epoch must not reach early stopping or the backup.
            # An interrupt is raised first thing at a boundary, before any callback writes.
            callbacks=[InterruptAtBatchBoundary()] + first + [guard, stopper] + ([backup] if backup else [])
            + list(callbacks or []),
            shuffle=False,  # the tf.data pipeline shuffles, with the seed
            verbose=verbose,
        )
    info = None
    if distribution is not None:
        model = distribution.one_device_copy(model)
        info = distribution.info()
    if backup is not None:
        rows = backup.epoch_logs
    else:
        keys = list(history.history)
        rows = [dict(zip(keys, values)) for values in zip(*history.history.values())]
        rows = [row for row in rows if epoch_is_finite(row)]
    if guard.nan_epoch is not None:
        where = f"epoch {guard.nan_epoch + 1}, batch {guard.nan_batch + 1}"
        if not rows or stopper.best_weights is None:
            raise KmlcInputError(
                f"Expected a finite training loss, Received: NaN or inf at {where}, before any "
                f"epoch finished with finite losses. {divergence_hint}"
            )
        warnings.warn(
            f"The training loss became NaN or inf at {where}; training stopped and the weights "
            f"of the best finite epoch ({stopper.best_epoch + 1}) were kept. {divergence_hint}",
            KmlcDataWarning,
            stacklevel=4,
        )
    history = {k: [float(row[k]) for row in rows] for k in (rows[0] if rows else {})}
    best_epoch = int(np.argmax(history["val_micro_f1"])) + 1
    if stopper.start is not None and stopper.best_epoch < 0:
        best_epoch = 0  # no epoch beat the starting weights, which were restored
    return LoopResult(
        model=model,
        history=history,
        best_epoch=best_epoch,
        resumed_from_epoch=backup.resumed_from_epoch if backup is not None else 0,
        distribution=info,
    )
