"""The label encoder: lists of label strings <-> multi-hot rows, around Keras' StringLookup.

The lookup has no out-of-vocabulary slot (`num_oov_indices=0`), so column c of the model's
output is exactly `vocabulary_[c]`: no phantom "[UNK]" label. StringLookup refuses an unknown
string in that mode, so unknown labels are filtered out before the lookup and reported.
"""

import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError, _preview

UNKNOWN_ACTIONS = ("warn", "ignore", "error")
#: "multilabel": any number of labels per row (multi-hot); "multiclass": exactly one (one-hot).
KINDS = ("multilabel", "multiclass")


def _natural_key(label):
    # "S2" before "S10": a multiclass vocabulary reads in the order people number classes.
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", label)]


class LabelEncoder:
    """Encodes label lists to multi-hot float32 rows with a fixed vocabulary order.

    Args:
        vocabulary: a fixed label order; None to learn it in `fit` (most frequent first,
            ties by name, so the order is the same on every run; for kind "multiclass",
            natural name order: S1, S2, ..., S10).
        kind: "multilabel" (multi-hot rows, the default) or "multiclass" (one label per
            row, one-hot rows; a row whose label is unknown or missing encodes as zeros).

    Fitted attributes: `vocabulary_` (list of str), `counts_` (int array, training
    examples per label, in vocabulary order), `n_samples_` (training rows).
    """

    def __init__(self, vocabulary=None, kind="multilabel"):
        if kind not in KINDS:
            raise KmlcInputError(f"Expected kind to be one of {list(KINDS)}, Received: {kind!r}.")
        self.vocabulary = vocabulary
        self.kind = kind

    # -------------------------------------------------------------- fitting

    def fit(self, label_lists):
        return self._fit_counts(Counter(label for row in label_lists for label in row), len(label_lists))

    @classmethod
    def from_counts(cls, counts, n_samples, vocabulary=None, kind="multilabel"):
        """An encoder fitted from label counts (label -> training rows with it) and the
        number of training rows, the same as `fit` on those rows: for data read in chunks
        (`kmlc.streaming`). Labels with a count of 0 are left out, as `fit` never sees them."""
        counts = Counter({str(label): int(n) for label, n in dict(counts).items() if int(n) > 0})
        return cls(vocabulary=vocabulary, kind=kind)._fit_counts(counts, int(n_samples))

    def _fit_counts(self, counts, n_samples):
        if self.vocabulary is not None:
            vocabulary = [str(v) for v in self.vocabulary]
            if len(set(vocabulary)) != len(vocabulary):
                dupes = [v for v, n in Counter(vocabulary).items() if n > 1]
                raise KmlcInputError(
                    f"Expected a label vocabulary without repeats, Received: {_preview(dupes)} "
                    "more than once."
                )
        elif getattr(self, "kind", "multilabel") == "multiclass":
            vocabulary = sorted(counts, key=lambda label: (_natural_key(label), label))
        else:
            vocabulary = sorted(counts, key=lambda label: (-counts[label], label))
        if not vocabulary:
            raise KmlcInputError(
                "Expected at least one label in the training data, Received: rows with no "
                "label at all. Check --label-column and --label-sep."
            )
        self.vocabulary_ = vocabulary
        self.counts_ = np.array([counts.get(label, 0) for label in vocabulary], dtype=np.int64)
        self.n_samples_ = n_samples
        self._lookup = None
        everywhere = [v for v, n in zip(vocabulary, self.counts_) if n == self.n_samples_]
        if everywhere and self.n_samples_ > 1:
            warnings.warn(
                f"Label(s) {_preview(everywhere)} appear in every training row: a classifier "
                "learns nothing from them and will always predict them.",
                KmlcDataWarning,
                stacklevel=3,
            )
        return self

    @property
    def num_labels(self):
        return len(self.vocabulary_)

    @property
    def lookup(self):
        """The StringLookup layer (built on first use; it holds a TensorFlow hash table)."""
        if getattr(self, "_lookup", None) is None:
            import keras

            multiclass = getattr(self, "kind", "multilabel") == "multiclass"
            self._lookup = keras.layers.StringLookup(
                vocabulary=self.vocabulary_,
                num_oov_indices=0,
                output_mode="one_hot" if multiclass else "multi_hot",
                name="label_lookup",
            )
        return self._lookup

    # -------------------------------------------------------------- transforms

    def unknown_labels(self, label_lists):
        """Counter of labels in `label_lists` that are not in the vocabulary."""
        known = set(self.vocabulary_)
        return Counter(label for row in label_lists for label in row if label not in known)

    def transform(self, label_lists, unknown="warn"):
        """Multi-hot float32 array [N, num_labels].

        Args:
            unknown: what to do with labels outside the vocabulary: "warn" (drop them and
                warn with their counts), "ignore" (drop silently) or "error".
        """
        import tensorflow as tf

        if unknown not in UNKNOWN_ACTIONS:
            raise KmlcInputError(
                f"Expected unknown to be one of {UNKNOWN_ACTIONS}, Received: {unknown!r}."
            )
        unseen = self.unknown_labels(label_lists)
        if unseen:
            message = (
                f"{len(unseen)} label(s) are not in the model's vocabulary "
                f"{_preview(sorted(unseen))}; the model cannot predict them."
            )
            if unknown == "error":
                raise KmlcInputError(
                    f"Expected labels from the model's vocabulary, Received: {message}"
                )
            if unknown == "warn":
                warnings.warn(message, KmlcDataWarning, stacklevel=2)
            known = set(self.vocabulary_)
            label_lists = [[label for label in row if label in known] for row in label_lists]
        if len(label_lists) == 0:
            return np.zeros((0, self.num_labels), dtype=np.float32)
        if getattr(self, "kind", "multilabel") == "multiclass":
            return self._one_hot(label_lists)
        ragged = tf.ragged.constant([list(row) for row in label_lists], dtype=tf.string)
        return np.asarray(self.lookup(ragged), dtype=np.float32).reshape(-1, self.num_labels)

    def _one_hot(self, label_lists):
        import tensorflow as tf

        several = [i for i, row in enumerate(label_lists) if len(row) > 1]
        if several:
            raise KmlcInputError(
                f"Expected at most one label per row for a multiclass encoder, Received: "
                f"{len(several)} row(s) with several, at position(s) {_preview(several)}."
            )
        out = np.zeros((len(label_lists), self.num_labels), dtype=np.float32)
        rows = [i for i, row in enumerate(label_lists) if row]  # no label: a row of zeros
        if rows:
            values = tf.constant([label_lists[i][0] for i in rows], dtype=tf.string)
            out[rows] = np.asarray(self.lookup(values), dtype=np.float32).reshape(len(rows), -1)
        return out

    def inverse_transform(self, indicator):
        """Label lists from a {0,1} or boolean matrix [N, num_labels], in vocabulary order."""
        indicator = np.asarray(indicator)
        if indicator.ndim != 2 or indicator.shape[1] != self.num_labels:
            raise KmlcInputError(
                f"Expected a matrix with {self.num_labels} columns, Received: shape "
                f"{indicator.shape}."
            )
        vocabulary = np.asarray(self.vocabulary_, dtype=object)
        return [vocabulary[row > 0].tolist() for row in indicator]

    # -------------------------------------------------------------- persistence

    def save(self, path):
        """Writes `labels.txt` (one label per line, in column order)."""
        bad = [v for v in self.vocabulary_ if "\n" in v or "\r" in v or v != v.strip()]
        if bad:
            raise KmlcInputError(
                f"Expected labels without line breaks or outer spaces, Received: {_preview(bad)}."
            )
        Path(path).write_text("\n".join(self.vocabulary_) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path, counts=None, n_samples=None, kind="multilabel"):
        path = Path(path)
        try:
            vocabulary = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise KmlcModelError(
                f"Expected a readable UTF-8 label file, Received: '{path}' ({e})."
            ) from None
        vocabulary = [v for v in vocabulary if v]
        if not vocabulary or len(set(vocabulary)) != len(vocabulary):
            raise KmlcModelError(
                f"Expected one distinct label per line in '{path}', Received: "
                f"{len(vocabulary)} line(s), {len(set(vocabulary))} distinct. The model "
                "directory is damaged: train or copy it again."
            )
        encoder = cls(vocabulary=vocabulary, kind=kind)
        encoder.vocabulary_ = vocabulary
        encoder.counts_ = (
            np.zeros(len(vocabulary), dtype=np.int64) if counts is None else np.asarray(counts)
        )
        encoder.n_samples_ = n_samples
        encoder._lookup = None
        return encoder


def sigmoid(logits):
    logits = np.asarray(logits, dtype=np.float64)
    # exp of a negative number only: no overflow for large |logit|.
    e = np.exp(-np.abs(logits))
    return np.where(logits >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.float32)
