"""BERT inputs: WordPiece token ids with [CLS]/[SEP] and padding, made in tf.data."""

import hashlib
import json
from pathlib import Path

import numpy as np

from kmlc import presets
from kmlc.errors import KmlcInputError, KmlcModelError
from kmlc.preprocessing.pipeline import text_array

_FORMAT = "kmlc-bert-preprocessor"
_VERSION = 1
# The tokenizer settings saved beside the vocabulary (keras-hub's WordPieceTokenizer
# arguments; `split_on_cjk` is missing from its own get_config, so it is listed here).
_TOKENIZER_KEYS = (
    "lowercase",
    "strip_accents",
    "split",
    "split_on_cjk",
    "suffix_indicator",
    "oov_token",
    "special_tokens_in_strings",
)


LONG_DOCS = ("truncate", "windows")


class BertPreprocessor:
    """Raw strings -> `{"token_ids", "segment_ids", "padding_mask"}`, int32 [batch, length].

    A keras-hub `BertTokenizer` (WordPiece) and a `StartEndPacker` turn each text into
    `[CLS] tokens... [SEP] [PAD]...`, truncated to `sequence_length` (the [SEP] is kept).

    With `long_docs="windows"` a text is instead cut into overlapping windows of
    `sequence_length - 2` tokens, each packed as above: the arrays become
    [batch, windows, length] and a `window_mask` int32 [batch, windows] marks the real
    windows (the first is always real, even for an empty text). The number of windows is
    the batch's largest, at most `max_windows`; tokens past the last window are dropped.
    `kmlc.models.bert.BertMultiLabel(windows=True)` max-pools the windows' logits.
    It runs inside `tf.data` (see `kmlc.preprocessing.make_dataset`) under every Keras
    backend: keras-hub's preprocessing layers take their TensorFlow path when traced by
    tf.data. Called eagerly on a list of strings, it returns NumPy arrays.

    Args:
        preset: a local BERT preset directory (see `kmlc.presets`); None uses the
            installed all-MiniLM-L6-v2 (`kmlc.presets.default_bert_preset()`).
        sequence_length: length of every output row, [CLS] and [SEP] included.
        lowercase: None keeps the preset's setting; True or False overrides it.
        tokenizer: a ready `keras_hub.models.BertTokenizer` to use instead of the
            preset's (then `preset` is ignored and recorded as None).
        long_docs: "truncate" (one window per text) or "windows".
        max_windows: "windows" only: the most windows per text.
        window_overlap: "windows" only: tokens shared by consecutive windows; None is a
            quarter of a window.
    """

    def __init__(
        self,
        preset=None,
        sequence_length=128,
        lowercase=None,
        *,
        tokenizer=None,
        long_docs="truncate",
        max_windows=8,
        window_overlap=None,
    ):
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, (int, np.integer)):
            raise KmlcInputError(
                f"Expected sequence_length to be an integer >= 3, Received: {sequence_length!r}"
            )
        if sequence_length < 3:
            raise KmlcInputError(
                f"Expected sequence_length to be an integer >= 3 ([CLS], a token, [SEP]), "
                f"Received: {sequence_length}"
            )
        if lowercase is not None and not isinstance(lowercase, (bool, np.bool_)):
            raise KmlcInputError(f"Expected lowercase to be True, False or None, Received: {lowercase!r}")
        self.sequence_length = int(sequence_length)
        self.long_docs, self.max_windows, self.window_overlap = check_window_settings(
            long_docs, max_windows, window_overlap, self.sequence_length
        )
        if tokenizer is None:
            preset = presets.default_bert_preset() if preset is None else preset
            preset = presets.check_bert_preset(preset)
            longest = presets.bert_preset_max_sequence_length(preset)
            if longest is not None and self.sequence_length > longest:
                raise KmlcInputError(
                    f"Expected sequence_length <= {longest} (the position embeddings of the "
                    f"preset '{preset}'), Received: {self.sequence_length}"
                )
            tokenizer = presets.load_bert_tokenizer(preset, lowercase=lowercase)
        else:
            preset = None
            if lowercase is not None:
                tokenizer.lowercase = bool(lowercase)
        self.preset = preset
        self.tokenizer = tokenizer
        self.packer = self._build_packer()
        self._eager_fn = None

    @property
    def lowercase(self):
        return bool(self.tokenizer.lowercase)

    def _build_packer(self):
        import keras_hub

        tokenizer = self.tokenizer
        for token in ("cls_token_id", "sep_token_id", "pad_token_id"):
            if getattr(tokenizer, token, None) is None:
                raise KmlcInputError(
                    f"Expected a BERT tokenizer whose vocabulary has [CLS], [SEP] and [PAD], "
                    f"Received: a tokenizer without {token[:-3]}"
                )
        return keras_hub.layers.StartEndPacker(
            sequence_length=self.sequence_length,
            start_value=tokenizer.cls_token_id,
            end_value=tokenizer.sep_token_id,
            pad_value=tokenizer.pad_token_id,
            return_padding_mask=True,
        )

    @property
    def vocabulary_size(self):
        return int(self.tokenizer.vocabulary_size())

    def lookup_layers(self):
        """The Keras layers holding the vocabulary that `__call__` uses (for exports to
        track): the WordPiece tokenizer; the packer holds only constants."""
        return [self.tokenizer]

    def adapt(self, texts=None, batch_size=None):
        """Nothing to learn: the vocabulary comes with the preset. Returns self."""
        return self

    def _encode(self, texts):
        import tensorflow as tf

        tokens = self.tokenizer(texts)
        if self.long_docs == "windows":
            return self._encode_windows(tokens)
        token_ids, padding_mask = self.packer(tokens)
        token_ids = tf.cast(token_ids, tf.int32)
        return {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(token_ids),
            "padding_mask": tf.cast(padding_mask, tf.int32),
        }

    @property
    def window_stride(self):
        return self.sequence_length - 2 - self.window_overlap

    def _encode_windows(self, tokens):
        import tensorflow as tf

        content = self.sequence_length - 2  # [CLS] and [SEP] take two places
        stride = self.window_stride
        tokens = tf.cast(tokens, tf.int32)
        lengths = tf.cast(tokens.row_lengths(), tf.int32)
        # Windows start every `stride` tokens while a window still has new tokens to read.
        needed = 1 + tf.maximum(0, (lengths - content + stride - 1) // stride)
        num_windows = tf.minimum(tf.reduce_max(tf.concat([needed, [1]], 0)), self.max_windows)
        starts = tf.range(num_windows) * stride  # [W]
        positions = starts[:, None] + tf.range(content)[None, :]  # [W, content]
        padded = tokens.to_tensor(default_value=-1)
        short_by = tf.maximum(0, tf.reduce_max(positions) + 1 - tf.shape(padded)[1])
        padded = tf.pad(padded, [[0, 0], [0, short_by]], constant_values=-1)
        windows = tf.gather(padded, positions, axis=1)  # [B, W, content], -1 past the end
        batch = tf.shape(windows)[0]
        flat = tf.reshape(windows, [-1, content])
        flat = tf.RaggedTensor.from_tensor(flat, lengths=tf.reduce_sum(tf.cast(flat >= 0, tf.int32), 1))
        token_ids, padding_mask = self.packer(flat)
        shape = [batch, num_windows, self.sequence_length]
        token_ids = tf.reshape(tf.cast(token_ids, tf.int32), shape)
        window_mask = tf.range(num_windows)[None, :] < needed[:, None]  # needed >= 1: one real window
        return {
            "token_ids": token_ids,
            "segment_ids": tf.zeros_like(token_ids),
            "padding_mask": tf.reshape(tf.cast(padding_mask, tf.int32), shape),
            "window_mask": tf.cast(window_mask, tf.int32),
        }

    def __call__(self, texts):
        import tensorflow as tf

        if not tf.executing_eagerly():  # inside tf.data or a tf.function
            return self._encode(texts)
        # Eager: trace once so keras-hub always takes its TensorFlow path (the same ids as
        # in tf.data), then hand back NumPy arrays that any backend accepts.
        if self._eager_fn is None:
            self._eager_fn = tf.function(
                self._encode, input_signature=[tf.TensorSpec([None], tf.string)]
            )
        if isinstance(texts, str):
            raise KmlcInputError(
                f"Expected a batch of texts (a list of strings), Received: one string {texts[:40]!r}"
            )

        texts = tf.constant(text_array(texts))
        return {key: value.numpy() for key, value in self._eager_fn(texts).items()}

    def get_config(self):
        return {
            "preset": self.preset,
            "sequence_length": self.sequence_length,
            "lowercase": self.lowercase,
            "long_docs": self.long_docs,
            "max_windows": self.max_windows,
            "window_overlap": self.window_overlap,
        }

    @classmethod
    def from_config(cls, config):
        """Rebuilds from the preset directory (use `load` to rebuild from a saved copy)."""
        return cls(**config)

    # The vocabulary is written one token a line (as vocab.txt files are) with "\n" line
    # ends and read back without newline translation; its size and SHA-256 in config.json
    # catch a truncated or altered file. The preset directory is not needed to load.
    def save(self, directory):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        vocabulary = [str(token) for token in self.tokenizer.get_vocabulary()]
        text = "".join(token + "\n" for token in vocabulary)
        with open(directory / "vocab.txt", "w", encoding="utf-8", newline="") as f:
            f.write(text)
        config = {
            "format": _FORMAT,
            "version": _VERSION,
            **self.get_config(),
            "tokenizer": {key: getattr(self.tokenizer, key) for key in _TOKENIZER_KEYS},
            "vocabulary_size": len(vocabulary),
            "vocabulary_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        }
        (directory / "config.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, directory):
        directory = Path(directory)
        try:
            config = json.loads((directory / "config.json").read_text())
            if not isinstance(config, dict) or config.get("format") != _FORMAT:
                raise ValueError(f"config.json is not a {_FORMAT} config")
            if config.get("version") != _VERSION:
                raise ValueError(f"config.json has version {config.get('version')!r}, not {_VERSION}")
            with open(directory / "vocab.txt", encoding="utf-8", newline="") as f:
                text = f.read()
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != config["vocabulary_sha256"]:
                raise ValueError("vocab.txt does not match the SHA-256 recorded in config.json")
            vocabulary = text.split("\n")[:-1]
            if len(vocabulary) != config["vocabulary_size"]:
                raise ValueError(
                    f"{len(vocabulary)} vocabulary entries, {config['vocabulary_size']} expected"
                )
            settings = {key: config["tokenizer"][key] for key in _TOKENIZER_KEYS}

            import keras_hub

            tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary, **settings)
            preprocessor = cls(
                sequence_length=config["sequence_length"],
                tokenizer=tokenizer,
                long_docs=config.get("long_docs", "truncate"),
                max_windows=config.get("max_windows", 8),
                window_overlap=config.get("window_overlap"),
            )
            preprocessor.preset = config.get("preset")
        except Exception as e:  # noqa: BLE001 - any damage becomes one clear message
            raise KmlcModelError(
                f"Expected a BERT preprocessor in '{directory}' (config.json, vocab.txt), "
                f"Received: files that cannot be read ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}). Train or copy the model again."
            ) from None
        return preprocessor


def check_window_settings(long_docs, max_windows, window_overlap, sequence_length):
    """Validated (long_docs, max_windows, window_overlap); the overlap's default resolved."""
    if long_docs not in LONG_DOCS:
        raise KmlcInputError(f"Expected long_docs to be one of {list(LONG_DOCS)}, Received: {long_docs!r}")
    if isinstance(max_windows, bool) or not isinstance(max_windows, (int, np.integer)) or max_windows < 1:
        raise KmlcInputError(f"Expected max_windows to be a positive integer, Received: {max_windows!r}")
    content = sequence_length - 2
    if window_overlap is None:
        window_overlap = content // 4
    if (
        isinstance(window_overlap, bool)
        or not isinstance(window_overlap, (int, np.integer))
        or not 0 <= window_overlap < content
    ):
        raise KmlcInputError(
            f"Expected window_overlap to be an integer in [0, sequence_length - 2) = [0, {content}), "
            f"Received: {window_overlap!r}"
        )
    return long_docs, int(max_windows), int(window_overlap)
