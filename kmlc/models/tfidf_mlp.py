"""The TF-IDF multi-layer perceptron."""

import keras
import numpy as np

from kmlc.models.layers import HostGlorotUniform, WeightedEmbeddingBag

INPUT_MODES = ("sparse", "dense")
WIDE_PATHS = ("none", "joint", "svm")
# What networks saved when `wide` was a boolean hold.
_WIDE_ALIASES = {True: "joint", False: "none"}
# The input names of the sparse network: the keys of the TF-IDF preprocessor's output.
SPARSE_INPUTS = ("ngram_ids", "ngram_weights", "ngram_rows", "ngram_counts")


@keras.saving.register_keras_serializable(package="kmlc")
class TfidfMLP(keras.Model):
    """TF-IDF vector -> hidden ReLU layers with dropout -> one logit per label; with `wide`,
    plus a linear map of the TF-IDF vector to the logits (a wide-and-deep network).

    Args:
        input_dim: width of the TF-IDF vector (the vectorizer's vocabulary size).
        input_mode: "sparse" (default): the input is a dict of the batch's TF-IDF non-zeros,
            flat: {"ngram_ids": int [T], "ngram_weights": float [T], "ngram_rows": int [T],
            "ngram_counts": int [batch]} (entry t: document `ngram_rows[t]` has weight
            `ngram_weights[t]` at column `ngram_ids[t]`; padding has weight 0), and the first
            layer is a `WeightedEmbeddingBag`, which is the Dense layer on the sparse
            vectors at a cost proportional to T instead of batch x `input_dim`.
            "dense": the input is the [batch, input_dim] TF-IDF vector and the first layer a
            Dense layer. Both modes have the same weights (shapes, initial values, names).
        num_labels: number of output logits.
        hidden_units: sizes of the hidden layers.
        dropout: dropout rate after each hidden layer.
        seed: seed of the kernel initialisers and dropout masks.
        input_scale: the TF-IDF values are multiplied by this before the first layer. With
            Adam (whose steps do not depend on the gradient's scale) it multiplies the first
            layer's effective learning rate and initial output by the same factor. The rows
            of rare n-grams are updated only in the batches that hold them, a few times an
            epoch, so a factor of about 5 lets them learn in several times fewer epochs at a
            large batch (docs/benchmarks.md); 1 is the plain TF-IDF vector.
        wide: a linear (wide) path from the (scaled) TF-IDF vector to the logits, added to
            the deep path's: "none"; "joint": trained with the deep path, its kernel starting
            at zero, with no bias of its own (the network starts as the deep path alone);
            "svm": a kernel and bias set from a linear classifier fitted beforehand
            (`set_wide_path`) and kept fixed, and the deep path's logits layer starting at
            zero, so that the network starts as that classifier and the deep path learns what
            it misses. It holds what a linear classifier on TF-IDF learns (each n-gram's
            direct vote for each label), which the hidden layer's bottleneck and dropout lose
            on rare labels. It reads the input like the first hidden layer (a weighted
            embedding-bag when sparse).
    """

    def __init__(
        self,
        input_dim,
        num_labels,
        hidden_units=(512, 256),
        dropout=0.5,
        seed=0,
        input_mode="sparse",
        input_scale=1.0,
        wide="none",
        **kwargs,
    ):
        wide = _WIDE_ALIASES.get(wide, wide) if isinstance(wide, bool) else wide
        if wide not in WIDE_PATHS:
            raise ValueError(f"Expected wide to be one of {WIDE_PATHS}, Received: {wide!r}.")
        if input_mode not in INPUT_MODES:
            raise ValueError(f"Expected input_mode to be one of {INPUT_MODES}, Received: {input_mode!r}.")
        if input_mode == "sparse" and not hidden_units:
            raise ValueError("Expected at least one hidden layer with input_mode='sparse', Received: none.")
        # === Layers ===
        hidden_layers = []
        for i, units in enumerate(hidden_units):
            settings = dict(
                activation="relu",
                kernel_initializer=HostGlorotUniform(seed=seed + i),
                name=f"hidden_{i}",
            )
            if i == 0 and input_mode == "sparse":
                hidden_layers.append(WeightedEmbeddingBag(input_dim, units, **settings))
            else:
                hidden_layers.append(keras.layers.Dense(units, **settings))
        dropout_layers = [
            keras.layers.Dropout(dropout, seed=seed + 100 + i, name=f"dropout_{i}")
            for i in range(len(hidden_units))
        ]
        # A layer only when it changes something: networks at scale 1 keep their layer list.
        scaling = keras.layers.Rescaling(float(input_scale), name="input_scale") if float(input_scale) != 1.0 else None
        logits_layer = keras.layers.Dense(
            num_labels,
            # On a fitted wide path the deep path starts silent: the network starts as it.
            kernel_initializer="zeros" if wide == "svm" else HostGlorotUniform(seed=seed + 1000),
            name="logits",
        )
        wide_layer = None
        if wide != "none":
            wide_settings = dict(use_bias=wide == "svm", kernel_initializer="zeros", name="wide")
            wide_layer = (WeightedEmbeddingBag(input_dim, num_labels, **wide_settings) if input_mode == "sparse"
                          else keras.layers.Dense(num_labels, **wide_settings))

        # === Functional model ===
        if input_mode == "sparse":
            # Rank-1 inputs: Keras' leading (batch) axis is the flat entry axis T here, and
            # the batch of documents is the length of ngram_counts.
            dtypes = {"ngram_ids": "int32", "ngram_weights": "float32", "ngram_rows": "int32", "ngram_counts": "int32"}
            inputs = {name: keras.Input(shape=(), dtype=dtypes[name], name=name) for name in SPARSE_INPUTS}
            weights = inputs["ngram_weights"] if scaling is None else scaling(inputs["ngram_weights"])
            sparse = (inputs["ngram_ids"], weights, inputs["ngram_rows"], inputs["ngram_counts"])
            x = dropout_layers[0](hidden_layers[0](*sparse))
            wide_logits = wide_layer(*sparse) if wide_layer is not None else None
            rest = list(zip(hidden_layers[1:], dropout_layers[1:]))
        else:
            inputs = keras.Input(shape=(input_dim,), name="tfidf")
            x = inputs if scaling is None else scaling(inputs)
            wide_logits = wide_layer(x) if wide_layer is not None else None
            rest = list(zip(hidden_layers, dropout_layers))
        for dense, drop in rest:
            x = drop(dense(x))
        logits = logits_layer(x)
        if wide_logits is not None:
            logits = keras.layers.Add(name="wide_and_deep")([logits, wide_logits])
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.input_dim = int(input_dim)
        self.num_labels = int(num_labels)
        self.hidden_units = [int(u) for u in hidden_units]
        self.dropout = float(dropout)
        self.seed = int(seed)
        self.input_mode = input_mode
        self.input_scale = float(input_scale)
        self.wide = wide

    def set_wide_path(self, kernel, bias):
        """Sets the "svm" wide path to `kernel` [input_dim, num_labels] and `bias`
        [num_labels], given on the unscaled TF-IDF vector (the input scale is divided out),
        and freezes it."""
        if self.wide != "svm":
            raise ValueError(f"Expected a network with wide='svm', Received: wide={self.wide!r}.")
        layer = self.get_layer("wide")
        layer.set_weights([np.asarray(kernel, np.float32) / np.float32(self.input_scale),
                           np.asarray(bias, np.float32)])
        layer.trainable = False

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dim": self.input_dim,
            "num_labels": self.num_labels,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "seed": self.seed,
            "input_mode": self.input_mode,
            "input_scale": self.input_scale,
            "wide": self.wide,
        }

    @classmethod
    def from_config(cls, config):
        # Files written before the sparse input existed hold dense networks.
        return cls(**{"input_mode": "dense", **config})
