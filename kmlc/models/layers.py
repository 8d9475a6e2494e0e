"""Backend-neutral layers shared by the kmlc networks (keras.ops only)."""

import keras
from keras import ops


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
