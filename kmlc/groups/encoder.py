"""Grouped labels <-> the {0, 1} matrix over the network's output columns: one
`LabelEncoder` per group, side by side (`GroupedLabelEncoder`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcModelError
from kmlc.groups.columns import normalize_group_labels
from kmlc.labels import LabelEncoder

# The folder of a model directory that holds labels/<group>.txt; here, beside the encoder
# that writes and reads those files.
LABELS_DIR = "labels"


class GroupedLabelEncoder:
    """One `LabelEncoder` per group (multiclass: one-hot), side by side in one matrix.

    `vocabulary_` holds the qualified names "group:label" of every output column, `counts_`
    their training counts, `slices_` {group: (start, stop)}, `encoders_` {group: encoder}.
    """

    def __init__(self, schema):
        self.schema = schema

    def fit(self, labels):
        columns = self._columns(labels)
        self.encoders_, self.slices_ = {}, {}
        start = 0
        for group in self.schema:
            encoder = LabelEncoder(kind=group.kind).fit(columns[group.name])
            self.encoders_[group.name] = encoder
            self.slices_[group.name] = (start, start + encoder.num_labels)
            start += encoder.num_labels
        self._finish(len(next(iter(columns.values()))))
        return self

    @classmethod
    def from_counts(cls, schema, counts, n_samples):
        """An encoder fitted from the counts of qualified "group:label" names over
        `n_samples` training rows, as `fit` on those rows (for data read in chunks)."""
        self = cls(schema)
        per_group = {g: {} for g in schema.names}
        for name, n in dict(counts).items():
            group, label = str(name).split(":", 1)
            per_group[group][label] = n
        self.encoders_, self.slices_ = {}, {}
        start = 0
        for group in schema:
            encoder = LabelEncoder.from_counts(per_group[group.name], n_samples, kind=group.kind)
            self.encoders_[group.name] = encoder
            self.slices_[group.name] = (start, start + encoder.num_labels)
            start += encoder.num_labels
        self._finish(n_samples)
        return self

    def _finish(self, n_samples):
        self.vocabulary_ = [f"{g}:{label}" for g, e in self.encoders_.items() for label in e.vocabulary_]
        self.counts_ = np.concatenate([np.asarray(e.counts_, dtype=np.int64) for e in self.encoders_.values()])
        self.n_samples_ = n_samples

    def _columns(self, labels):
        if isinstance(labels, dict) and set(labels) == set(self.schema.names) and all(
            isinstance(v, list) and all(isinstance(r, list) for r in v) for v in labels.values()
        ):
            return labels
        n = len(labels) if not isinstance(labels, dict) else len(next(iter(labels.values())))
        return normalize_group_labels(labels, self.schema, n)

    @property
    def num_labels(self):
        return len(self.vocabulary_)

    def transform(self, labels, unknown="warn"):
        columns = self._columns(labels)
        parts = [self.encoders_[g].transform(columns[g], unknown=unknown) for g in self.schema.names]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def unknown_labels(self, labels):
        columns = self._columns(labels)
        out = Counter()
        for g in self.schema.names:
            out.update({f"{g}:{k}": v for k, v in self.encoders_[g].unknown_labels(columns[g]).items()})
        return out

    def inverse_transform(self, indicator):
        """A {0,1} matrix [N, num_labels] -> one dict per row (multiclass: the label or None)."""
        indicator = np.asarray(indicator)
        rows = [{} for _ in range(indicator.shape[0])]
        for group in self.schema:
            a, b = self.slices_[group.name]
            lists = self.encoders_[group.name].inverse_transform(indicator[:, a:b])
            for row, labels in zip(rows, lists):
                row[group.name] = (labels[0] if labels else None) if group.kind == "multiclass" else labels
        return rows

    def save(self, path):
        """labels.txt: the qualified column names (for reading; the per-group files rule)."""
        Path(path).write_text("\n".join(self.vocabulary_) + "\n", encoding="utf-8")

    def save_groups(self, directory):
        folder = Path(directory) / LABELS_DIR
        folder.mkdir(exist_ok=True)
        for g, encoder in self.encoders_.items():
            encoder.save(folder / f"{g}.txt")

    @classmethod
    def load(cls, directory, schema, counts=None, n_samples=None):
        self = cls(schema)
        self.encoders_, self.slices_ = {}, {}
        start = 0
        for group in schema:
            path = Path(directory) / LABELS_DIR / f"{group.name}.txt"
            if not path.is_file():
                raise KmlcModelError(
                    f"Expected the label file of group '{group.name}', Received: no '{path}'. "
                    "Copy the whole model directory."
                )
            encoder = LabelEncoder.load(path, kind=group.kind)
            stop = start + encoder.num_labels
            if counts is not None and len(counts) >= stop:
                encoder.counts_ = np.asarray(counts[start:stop], dtype=np.int64)
            encoder.n_samples_ = n_samples
            self.encoders_[group.name] = encoder
            self.slices_[group.name] = (start, stop)
            start = stop
        self._finish(n_samples)
        return self
