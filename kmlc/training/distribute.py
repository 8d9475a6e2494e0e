"""Data-parallel training: `TextClassifier(distribute="data-parallel")`, `kmlc train --distribute`.

One network, replicated on every device; each training batch is split between the devices and
their gradients are combined, so a step computes what one device computes on the whole batch
(up to the order of floating-point sums).

- **JAX**: `keras.distribution.DataParallel` over `keras.distribution.list_devices()` (every
  accelerator, else every CPU device; on several hosts, every device of every host once
  `jax.distributed.initialize()` has run), set for the duration of `fit`. A step is one SPMD
  program over global arrays sharded along their leading axis, so it computes the same
  function whatever the sharding: the sparse TF-IDF input's flat entries (`ngram_ids`,
  `ngram_weights`, `ngram_rows`, [T]) are sharded along T and the documents (`ngram_counts`,
  the labels, [batch]) along the batch; XLA adds the collectives (the first layer's segment
  sum over rows gathers the entries of each document). Every leading axis must divide by the
  number of devices: T is a multiple of 16 (the preprocessor's buckets; padded further for a
  device count that does not divide 16), the batch size is checked, and the last, partial
  batch of an epoch is dropped.
- **TensorFlow**: `tf.distribute.MirroredStrategy()` (every GPU, else every logical CPU),
  whose scope holds the network's variables. Each replica runs the step on its own share of
  every input (`tf.distribute` splits each component of a batch into equal parts along axis
  0), so a share must be a batch by itself: a flat sparse batch is regrouped first
  (`split_sparse_batch`: replica r's documents and their entries, rows renumbered from 0, each
  group padded to the same bucket size). Batch-leading inputs (dense TF-IDF, BERT) need nothing.

Validation (every epoch) runs on one device, on a copy of the weights, so its metrics are
exactly those of a one-device run; after training `model_` is a one-device network, and
prediction, evaluation, `save` and `export` are those of a model trained without
distribution.
"""

import contextlib
import warnings

import keras
import numpy as np

from kmlc.errors import KmlcInputError, KmlcModelError
from kmlc.preprocessing import drops_remainder, steps_per_epoch
from kmlc.preprocessing.tfidf import bucket_size
from kmlc.training import DISTRIBUTE

BACKENDS = ("jax", "tensorflow")


def is_distributed(value):
    return value not in (None, "none")


def check_distribute(distribute):
    """Refuses a `distribute` setting that cannot run; touches no device (cheap)."""
    if not is_distributed(distribute):
        return
    if distribute != "data-parallel":
        raise KmlcInputError(f"Expected distribute to be one of {[None, *DISTRIBUTE]}, Received: {distribute!r}.")
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise KmlcInputError(
            f"Expected the jax or tensorflow backend with distribute='data-parallel', Received: "
            f"{backend!r} (kmlc does not distribute torch training). Use --backend jax or "
            "--backend tensorflow, or train without --distribute."
        )


def plan_data_parallel(distribute, sparse_input, batch_size):
    """The `DataParallelPlan` of a fit about to start, or None without distribution. Counts
    the devices and refuses a batch size they do not divide, before any work."""
    check_distribute(distribute)
    if not is_distributed(distribute):
        return None
    return DataParallelPlan.create(batch_size, sparse_input=sparse_input)


class DataParallelPlan:
    """What `fit` needs to train one network on several devices (see the module docstring).

    Use: `with plan.scope():` build and compile the network; `plan.training_dataset(...)`;
    `plan.validate_with(...)`; then `kmlc.training.loop.train_network(..., distribution=plan)`
    runs `fit` inside `plan.training()` with `plan.callbacks()` first, and replaces the network
    with `plan.one_device_copy(...)`.
    """

    def __init__(self, backend, devices, batch_size, distribution=None, strategy=None):
        self.backend = backend
        self.batch_size = int(batch_size)
        self.devices = [str(d) for d in devices]
        self.replicas = len(self.devices)
        self.distribution = distribution  # JAX: keras.distribution.DataParallel
        self.strategy = strategy  # TensorFlow: tf.distribute.MirroredStrategy
        self.rows_skipped_per_epoch = 0
        self.hosts, self.host_index = 1, 0  # JAX processes (jax.distributed)
        self._validation = None
        self._copy = None

    @classmethod
    def create(cls, batch_size, sparse_input):
        backend = keras.backend.backend()
        if backend == "jax":
            import jax

            devices = keras.distribution.list_devices()
            if jax.process_count() > 1 and sparse_input:
                # Each host would collate its own flat entries (own T, rows from 0): the global
                # array assembled from them is not one batch.
                raise KmlcInputError(
                    f"Expected tfidf_input='dense' (or model='bert') for data-parallel training on "
                    f"several hosts, Received: tfidf_input='sparse' on {jax.process_count()} hosts "
                    "(its flat entries cannot be split between hosts)."
                )
            # auto_shard_dataset=False: Keras' own sharding between hosts needs a batch size it can
            # read from the pipeline (kmlc's cached pipeline hides it); `training_dataset` gives
            # each host its share of every batch instead. One host: no difference.
            distribution = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)
            plan = cls(backend, devices, batch_size, distribution=distribution)
            plan.hosts, plan.host_index = jax.process_count(), jax.process_index()
        else:
            strategy = _mirrored_strategy()
            plan = cls(backend, strategy.extended.worker_devices, batch_size, strategy=strategy)
        if batch_size % plan.replicas:
            larger = -(-batch_size // plan.replicas) * plan.replicas
            smaller = f" (or {larger - plan.replicas})" if larger > plan.replicas else ""
            raise KmlcInputError(
                f"Expected batch_size to be a multiple of the {plan.replicas} devices with "
                f"distribute='data-parallel', Received: {batch_size}. Use {larger}{smaller}."
            )
        if plan.replicas == 1:
            warnings.warn(
                f"distribute='data-parallel' found one device ({plan.devices[0]}): training runs on it alone.",
                UserWarning,
                stacklevel=4,
            )
        return plan

    def info(self):
        """What training.json records."""
        return {
            "distribute": "data-parallel",
            "strategy": "DataParallel" if self.backend == "jax" else "MirroredStrategy",
            "devices": self.devices,
            "rows_skipped_per_epoch": int(self.rows_skipped_per_epoch),
        }

    # ------------------------------------------------------------------ scopes

    @contextlib.contextmanager
    def _global_distribution(self, distribution):
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(distribution)
        try:
            yield
        finally:
            keras.distribution.set_distribution(previous)

    def scope(self):
        """Where the network is built and compiled: its variables go on every device."""
        if self.backend == "tensorflow":
            return self.strategy.scope()
        return self._global_distribution(self.distribution)

    def training(self):
        """Where `model.fit` runs. JAX reads the global distribution at every step; Keras'
        TensorFlow trainer uses the strategy the network was built in, and its callbacks (the
        one-device validation) must run outside that scope."""
        if self.backend == "tensorflow":
            return contextlib.nullcontext()
        return self._global_distribution(self.distribution)

    def _one_device(self):
        if self.backend == "tensorflow":
            return contextlib.nullcontext()
        return self._global_distribution(None)

    # ------------------------------------------------------------------ data

    def steps_per_epoch(self, n_rows):
        if self.replicas == 1:
            return steps_per_epoch(n_rows, self.batch_size, drops_remainder(n_rows, self.batch_size))
        return n_rows // self.batch_size

    def check_training_rows(self, n_rows):
        batch_size = self.batch_size
        if self.replicas > 1 and n_rows < batch_size:
            raise KmlcInputError(
                f"Expected at least batch_size ({batch_size}) training texts for data-parallel "
                f"training on {self.replicas} devices (every batch is whole), Received: {n_rows}. "
                "Use a smaller batch size."
            )

    def training_dataset(self, ds, n_rows):
        """The training batches of `make_dataset` (`batch_size`, shuffled), made divisible: the
        last, partial batch is dropped (a different set of rows each epoch, as the order is
        reshuffled), and on TensorFlow a sparse batch is regrouped per replica."""
        if self.replicas == 1:
            return ds
        self.rows_skipped_per_epoch = n_rows % self.batch_size
        if self.rows_skipped_per_epoch:
            ds = ds.take(n_rows // self.batch_size)
        features = ds.element_spec[0]
        replicas = self.replicas
        if isinstance(features, dict) and "ngram_rows" in features:
            if self.backend == "tensorflow":
                _check_split_by_component(ds)
                ds = ds.map(lambda x, y: (split_sparse_batch(x, replicas), y))
            elif 16 % replicas:
                # The preprocessor's buckets are multiples of 16: pad T for other device counts.
                ds = ds.map(lambda x, y: (pad_sparse_entries(x, replicas), y))
        if self.hosts > 1:
            # Every host reads the same batches (same data and seed) and feeds its own rows;
            # Keras assembles the global batch from the hosts' shares (batch-leading inputs).
            import tensorflow as tf

            share = self.batch_size // self.hosts
            start = self.host_index * share
            ds = ds.map(lambda x, y: tf.nest.map_structure(lambda t: t[start : start + share], (x, y)))
        return ds

    # ------------------------------------------------------------------ validation and the copy

    def validate_with(self, val_ds, compile_copy):
        """Validation data for every epoch, run on one device by a network that
        `compile_copy(network)` compiles (the loss and metrics of the trained one)."""
        self._validation = (val_ds, compile_copy)

    def callbacks(self):
        callbacks = [_OneDeviceValidation(self)]
        if self.backend == "jax" and self.replicas > 1 and all(d.startswith("cpu") for d in self.devices):
            callbacks.append(_BlockEachStep())
        return callbacks

    def one_device_copy(self, model):
        """A one-device network with `model`'s current weights (the same object every time)."""
        with self._one_device():
            if self._copy is None:
                self._copy = model.__class__.from_config(model.get_config())
                if self._validation is not None:
                    self._validation[1](self._copy)
            self._copy.set_weights(self._host_weights(model))
        return self._copy

    def _host_weights(self, model):
        if self.backend != "jax":
            return model.get_weights()
        values = []
        for variable in model.weights:
            value = variable.value
            if not getattr(value, "is_fully_addressable", True):
                # Several hosts: this host's devices each hold the whole (replicated) value.
                value = value.addressable_data(0)
            values.append(np.asarray(value))
        return values

    def evaluate(self, model):
        val_ds = self._validation[0]
        network = self.one_device_copy(model)
        with self._one_device():
            return network.evaluate(val_ds, verbose=0, return_dict=True)


_STRATEGY = []


def _mirrored_strategy():
    """One MirroredStrategy per process: a second one reuses the first one's collective
    instance keys, and its all-reduces abort with "Shape mismatch in the collective instance"
    (measured here: a second data-parallel `fit` in one process)."""
    if not _STRATEGY:
        import tensorflow as tf

        _STRATEGY.append(tf.distribute.MirroredStrategy())
    return _STRATEGY[0]


def split_sparse_batch(features, replicas):
    """A flat sparse TF-IDF batch (see `kmlc.preprocessing.TfidfPreprocessor`) -> the same
    documents as `replicas` self-contained flat batches, concatenated, for `tf.distribute`,
    which hands replica r the r-th equal part of every input along axis 0.

    Part r holds documents [r*b, (r+1)*b) (b = batch / replicas; `ngram_counts` is unchanged)
    and their entries, in order, with rows renumbered from 0; each part is padded to the same
    width (the bucket size of the largest part) with id 0, weight 0 and its last row, as the
    preprocessor pads. Relies on the preprocessor's layout: real entries first, in document
    order, then the padding."""
    import tensorflow as tf

    counts = tf.cast(features["ngram_counts"], tf.int32)
    per_replica = tf.shape(counts)[0] // replicas
    sizes = tf.reduce_sum(tf.reshape(counts, [replicas, per_replica]), axis=1)
    total = tf.reduce_sum(sizes)
    width = bucket_size(tf.reduce_max(sizes))

    def pack(values, fill):
        parts = tf.RaggedTensor.from_row_lengths(values[:total], sizes)
        return tf.reshape(parts.to_tensor(default_value=fill, shape=[replicas, width]), [-1])

    rows = tf.cast(features["ngram_rows"], tf.int32)
    return {
        **features,
        "ngram_ids": pack(features["ngram_ids"], tf.zeros([], features["ngram_ids"].dtype)),
        "ngram_weights": pack(features["ngram_weights"], tf.zeros([], features["ngram_weights"].dtype)),
        "ngram_rows": pack(rows % per_replica, per_replica - 1),
    }


def pad_sparse_entries(features, multiple):
    """A flat sparse batch with its entries padded to a multiple of `multiple` (id 0, weight 0,
    the last row: the preprocessor's own padding, which adds nothing)."""
    import tensorflow as tf

    entries = tf.shape(features["ngram_ids"])[0]
    pad = (multiple - entries % multiple) % multiple
    last_row = tf.maximum(tf.shape(features["ngram_counts"])[0] - 1, 0)
    return {
        **features,
        "ngram_ids": tf.concat([features["ngram_ids"], tf.zeros([pad], features["ngram_ids"].dtype)], 0),
        "ngram_weights": tf.concat([features["ngram_weights"], tf.zeros([pad], features["ngram_weights"].dtype)], 0),
        "ngram_rows": tf.concat([features["ngram_rows"], tf.fill([pad], tf.cast(last_row, features["ngram_rows"].dtype))], 0),
    }


def _check_split_by_component(ds):
    """`tf.distribute` splits every component into equal parts (what `split_sparse_batch`
    needs; kmlc's pipeline, measured: -1) when it cannot read the batch size from the pipeline;
    with a batch size it rebatches by rows instead, which flat entries are not. Fail loudly
    rather than train on wrong batches."""
    from tensorflow.python.data.experimental.ops.distribute import compute_batch_size

    if int(compute_batch_size(ds)) != -1:
        raise KmlcModelError(
            "Expected tf.distribute to split the sparse batches by component, Received: a pipeline "
            "whose batch size it can read (it would split the flat entries by rows). Train with "
            "tfidf_input='dense' or without distribute."
        )


class _OneDeviceValidation(keras.callbacks.Callback):
    """Runs the validation data on a one-device copy of the weights at the end of every epoch
    and adds its `val_*` logs, as `fit(validation_data=...)` would (first among the callbacks:
    early stopping, the NaN guard and the backup read them)."""

    def __init__(self, plan):
        super().__init__()
        self.plan = plan

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.plan._validation is not None:
            logs.update({f"val_{name}": value for name, value in self.plan.evaluate(self.model).items()})


class _BlockEachStep(keras.callbacks.Callback):
    """Waits for each step to finish before the next is dispatched. On CPU devices, JAX's
    collectives abort with a rendezvous timeout when steps are queued back to back
    (measured: ../shared/FIELD-NOTES.md, "Several devices")."""

    def on_train_batch_end(self, batch, logs=None):
        import jax

        # The trainer's current state (the updated variables), else the step's logs.
        jax.block_until_ready(getattr(self.model, "_jax_state", None) or logs)
