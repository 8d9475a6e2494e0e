"""Backend-neutral layers shared by the kmlc networks (keras.ops only)."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="kmlc")
class HostGlorotUniform(keras.initializers.Initializer):
    """Glorot-uniform values drawn on the host with NumPy from `seed`: U(-limit, limit),
    limit = sqrt(6 / (fan_in + fan_out)), as `keras.initializers.GlorotUniform`.

    Why not Keras' own: under JAX it draws with `jax.random`, whose first call for each shape
    is an XLA compile (about 0.25 s each on 2 CPU cores, half a second per TF-IDF network
    before its first step). NumPy draws 5M values in milliseconds, and the same seed gives
    the same weights on every backend.
    """

    def __init__(self, seed=0):
        self.seed = int(seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) < 1:
            raise ValueError(f"Expected a kernel shape of rank >= 1, Received: {shape}.")
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in = shape[-2] * receptive if len(shape) > 1 else shape[0]
        fan_out = shape[-1] * receptive
        limit = np.sqrt(6.0 / max(1.0, fan_in + fan_out))
        values = np.random.default_rng(self.seed).random(shape, dtype=np.float32)
        values = (values * np.float32(2.0 * limit) - np.float32(limit)).astype(np.float32, copy=False)
        return ops.cast(values, dtype or keras.config.floatx())

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package="kmlc")
class WeightedEmbeddingBag(keras.layers.Layer):
    """A Dense layer applied to a batch of sparse vectors given by their non-zeros.

    The batch's non-zeros come flat, in one list for the whole batch: entry t says that
    document `rows[t]` has value `weights[t]` at column `ids[t]`. For document b the output
    is `activation(sum_{t: rows[t] = b} weights[t] * kernel[ids[t]] + bias)`, which is
    exactly `activation(x_b @ kernel + bias)`: the Dense layer on the sparse vector, at a
    cost that follows the batch's non-zeros, not `input_dim`, and not the longest document
    either (a [batch, longest] padded layout pays for the longest text on every row).
    Padding entries carry weight 0 (any valid id and row), so they add nothing, and their
    kernel rows get a zero gradient.

    The kernel has the Dense layer's shape `(input_dim, units)`, so the same initialiser and
    seed give the same initial weights as `keras.layers.Dense(units)` on `input_dim` inputs,
    and weights can be copied between the two.

    Call it as `layer(ids, weights, rows, counts)`: `ids` int [T], `weights` float [T],
    `rows` int [T] (each entry's document, 0 <= rows < batch) and `counts` int [batch] (the
    number of non-zeros of each document; only its length, the batch size, is used here:
    a static shape under JAX, where the segment sum needs the number of documents).

    Args:
        input_dim: the width of the sparse vector (the vocabulary size).
        units: output width.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
            bias_regularizer: as in `keras.layers.Dense`.
    """

    def __init__(
        self,
        input_dim,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, ids_shape=None, weights_shape=None, rows_shape=None, counts_shape=None):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.input_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )
        else:
            self.bias = None

    def call(self, ids, weights, rows, counts):
        gathered = ops.take(self.kernel, ops.cast(ids, "int32"), axis=0)  # [T, units]
        gathered = gathered * ops.cast(weights, gathered.dtype)[:, None]
        outputs = ops.segment_sum(gathered, ops.cast(rows, "int32"), num_segments=ops.shape(counts)[0])
        if self.bias is not None:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        return self.activation(outputs)

    def compute_output_shape(self, ids_shape, weights_shape=None, rows_shape=None, counts_shape=None):
        return (None if counts_shape is None else counts_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "input_dim": self.input_dim,
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            }
        )
        return config
