"""A pretrained BERT encoder with a multi-label head, and its fine-tuning optimizer."""

import numbers

import keras
from keras import ops

from kmlc.errors import KmlcInputError

POOLINGS = ("cls", "mean")

#: Variable names (regular expressions searched in `variable.name`) kept out of weight decay.
#: Keras 3 matches `variable.name`, the last part of the path only ("bias", "gamma",
#: "beta"), so the names of Hugging Face ("LayerNorm") and keras-hub layers
#: ("embeddings_layer_norm", "self_attention_layer_norm", "feedforward_layer_norm") never
#: reach the match: their LayerNormalization variables are caught by "gamma" and "beta".
#: The other names stay for optimizers given variables with full-path names.
NO_WEIGHT_DECAY = ["bias", "LayerNorm", "layer_norm", "_norm", "^gamma$", "^beta$"]


@keras.saving.register_keras_serializable(package="kmlc")
class MaskedMeanPooling(keras.layers.Layer):
    """Mean of `sequence_output` [batch, length, dim] over the positions where `padding_mask` is 1."""

    def call(self, sequence_output, padding_mask):
        mask = ops.cast(padding_mask, sequence_output.dtype)[:, :, None]
        total = ops.sum(sequence_output * mask, axis=1)
        count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1.0, sequence_output.dtype))
        return total / count

    def compute_output_shape(self, sequence_output_shape, padding_mask_shape):
        return (sequence_output_shape[0], sequence_output_shape[-1])


@keras.saving.register_keras_serializable(package="kmlc")
class WindowsToRows(keras.layers.Layer):
    """[batch, windows, length] -> [batch * windows, length]: every window becomes one row."""

    def call(self, x):
        return ops.reshape(x, (-1, ops.shape(x)[-1]))

    def compute_output_shape(self, input_shape):
        rows = None if input_shape[0] is None or input_shape[1] is None else input_shape[0] * input_shape[1]
        return (rows, input_shape[-1])


@keras.saving.register_keras_serializable(package="kmlc")
class WindowMaxPooling(keras.layers.Layer):
    """Window logits [batch * windows, labels] -> document logits [batch, labels]: the
    largest logit of each label over the document's real windows (`window_mask` 1).

    A label is predicted for a document when any of its windows shows it, as LibMultiLabel
    pools long documents; the gradient flows to the window that gave the maximum.
    """

    def call(self, window_logits, window_mask):
        shape = ops.shape(window_mask)
        logits = ops.reshape(window_logits, (shape[0], shape[1], -1))
        real = ops.cast(window_mask, "bool")[:, :, None]
        # A finite floor (not -inf) keeps float16 and the gradient of where() clean.
        floor = ops.cast(-3e4, logits.dtype)
        return ops.max(ops.where(real, logits, floor), axis=1)

    def compute_output_shape(self, window_logits_shape, window_mask_shape):
        return (window_mask_shape[0], window_logits_shape[-1])


@keras.saving.register_keras_serializable(package="kmlc")
class BertMultiLabel(keras.Model):
    """BERT encoder -> pooled text vector -> dropout -> one logit per label.

    Inputs are the dict that `kmlc.preprocessing.bert.BertPreprocessor` makes:
    `token_ids`, `segment_ids`, `padding_mask`, int [batch, length].

    Args:
        backbone: a `keras_hub.models.BertBackbone` (pretrained: `kmlc.presets.load_bert_backbone`).
        num_labels: number of output logits.
        pooling: "cls" uses the backbone's `pooled_output` (the tanh dense layer over the
            [CLS] position, as keras-hub's BertTextClassifier and BERT's paper do); "mean"
            averages `sequence_output` over the real tokens (as sentence-transformers
            models such as all-MiniLM-L6-v2 were trained).
        dropout: dropout rate on the pooled vector.
        freeze_backbone: True sets `backbone.trainable = False`, so only the head trains.
            (As in Keras 3 generally, this does not switch the backbone's own dropout
            off during `fit`.)
        seed: seed of the head's kernel initialiser and dropout mask.
        windows: True takes the windowed inputs of `BertPreprocessor(long_docs="windows")`
            ([batch, windows, length] arrays and a `window_mask` [batch, windows]): each
            window is encoded and scored on its own and the document's logits are the
            maximum over its real windows.
    """

    def __init__(
        self,
        backbone,
        num_labels,
        pooling="cls",
        dropout=0.1,
        freeze_backbone=False,
        seed=0,
        windows=False,
        **kwargs,
    ):
        if pooling not in POOLINGS:
            raise KmlcInputError(f"Expected pooling to be one of {list(POOLINGS)}, Received: {pooling!r}")
        if isinstance(num_labels, bool) or not isinstance(num_labels, numbers.Integral) or num_labels < 1:
            raise KmlcInputError(f"Expected num_labels to be a positive integer, Received: {num_labels!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise KmlcInputError(f"Expected dropout in [0, 1), Received: {dropout!r}")

        # === Layers ===
        # Kept in locals until the functional model exists: under the torch backend a
        # layer (a torch Module) cannot be set as an attribute before Module.__init__.
        mean_pooling = (
            MaskedMeanPooling(dtype=backbone.dtype_policy, name="mean_pooling")
            if pooling == "mean"
            else None
        )
        output_dropout = keras.layers.Dropout(
            dropout, seed=seed, dtype=backbone.dtype_policy, name="head_dropout"
        )
        output_dense = keras.layers.Dense(
            num_labels,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02, seed=seed),
            dtype=backbone.dtype_policy,
            name="logits",
        )

        if windows:
            windows_to_rows = WindowsToRows(name="windows_to_rows")
            window_max_pooling = WindowMaxPooling(dtype=backbone.dtype_policy, name="window_max_pooling")

        # === Functional model ===
        if windows:
            inputs = {
                name: keras.Input(shape=(None, None), dtype="int32", name=name)
                for name in ("token_ids", "segment_ids", "padding_mask")
            }
            inputs["window_mask"] = keras.Input(shape=(None,), dtype="int32", name="window_mask")
            encoder_inputs = {name: windows_to_rows(inputs[name]) for name in backbone.input}
        else:
            inputs = encoder_inputs = backbone.input
        outputs = backbone(encoder_inputs)
        if pooling == "cls":
            pooled = outputs["pooled_output"]
        else:
            pooled = mean_pooling(outputs["sequence_output"], encoder_inputs["padding_mask"])
        logits = output_dense(output_dropout(pooled))
        if windows:
            logits = window_max_pooling(logits, inputs["window_mask"])
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        # After the model's own `trainable` (from kwargs), which Keras sets on every sublayer.
        if freeze_backbone:
            backbone.trainable = False

        # === Config ===
        self.num_labels = int(num_labels)
        self.pooling = pooling
        self.dropout = float(dropout)
        self.freeze_backbone = bool(freeze_backbone)
        self.seed = int(seed)
        self.windows = bool(windows)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.layers.serialize(self.backbone),
            "num_labels": self.num_labels,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "freeze_backbone": self.freeze_backbone,
            "seed": self.seed,
            "windows": self.windows,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("backbone"), dict):
            config["backbone"] = keras.layers.deserialize(config["backbone"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="kmlc")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `peak_learning_rate`, then linear decay to 0 at `total_steps`.

    `lr(step) = peak * step / warmup_steps` for `step < warmup_steps`, then
    `peak * (total_steps - step) / (total_steps - warmup_steps)`, and 0 from `total_steps` on
    (the schedule of BERT's paper and transformers' `get_linear_schedule_with_warmup`).
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_steps=0):
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        warmup = float(max(self.warmup_steps, 1))
        decay = float(max(self.total_steps - self.warmup_steps, 1))
        rising = peak * step / warmup
        falling = peak * ops.maximum(float(self.total_steps) - step, 0.0) / decay
        return ops.where(step < float(self.warmup_steps), rising, falling)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
        }


def bert_optimizer(learning_rate, total_steps, warmup_fraction=0.1, weight_decay=0.01, clipnorm=1.0):
    """AdamW for fine-tuning BERT: warm-up/linear-decay schedule, decoupled weight decay
    (not on biases and LayerNorm variables), gradient clipping by global norm.

    Args:
        learning_rate: the peak learning rate (2e-5 to 5e-5 is usual for BERT).
        total_steps: number of optimizer steps of the whole training (epochs x batches).
        warmup_fraction: share of `total_steps` spent warming up, in [0, 1).
        weight_decay: AdamW's decoupled weight decay.
        clipnorm: the global gradient norm is clipped to this value (None: no clipping).
    """
    lr = _positive(learning_rate, "learning_rate")
    if isinstance(total_steps, bool) or not isinstance(total_steps, numbers.Integral) or total_steps < 1:
        raise KmlcInputError(f"Expected total_steps to be a positive integer, Received: {total_steps!r}")
    if isinstance(warmup_fraction, bool) or not isinstance(warmup_fraction, numbers.Real) or not 0.0 <= warmup_fraction < 1.0:
        raise KmlcInputError(f"Expected warmup_fraction in [0, 1), Received: {warmup_fraction!r}")
    if isinstance(weight_decay, bool) or not isinstance(weight_decay, numbers.Real) or not weight_decay >= 0:
        raise KmlcInputError(f"Expected weight_decay >= 0, Received: {weight_decay!r}")
    if clipnorm is not None:
        clipnorm = _positive(clipnorm, "clipnorm")
    warmup_steps = int(round(warmup_fraction * total_steps))
    optimizer = keras.optimizers.AdamW(
        learning_rate=WarmupLinearDecay(lr, total_steps, warmup_steps),
        weight_decay=float(weight_decay),
        global_clipnorm=clipnorm,
        epsilon=1e-6,
    )
    optimizer.exclude_from_weight_decay(var_names=NO_WEIGHT_DECAY)
    return optimizer


def _positive(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < float("inf"):
        raise KmlcInputError(f"Expected {what} to be a positive number, Received: {value!r}")
    return float(value)
