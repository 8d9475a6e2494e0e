"""Several label groups in one model: a label schema, a combined loss, grouped prediction.

A **label schema** is a list of groups, each with a name (the label column), a kind and a
weight:

* ``multiclass``: exactly one label per row (a score S1..S5); softmax over the group,
  categorical cross-entropy from logits, prediction by argmax;
* ``multilabel``: zero or more labels per row; sigmoid per label, any kmlc loss
  (``kmlc.losses.get_loss``), prediction by tuned thresholds (``kmlc.thresholds``).

The network is the ordinary one (TF-IDF MLP or BERT) with one Dense head whose outputs are
the groups' columns side by side: group g owns the logit columns ``[start_g, stop_g)``. The
combined per-example loss is ``sum_g w_g * loss_g`` (see :class:`GroupedLoss`);
``group_weights="auto"`` sets ``w_g = 1 / loss_g`` at the initial weights, measured on a
seeded batch of the training data.

``TextClassifier(label_groups=[...])`` trains through the one training pipeline; what
differs for label groups is in ``kmlc.label_space.GroupedLabels``, which uses the pieces
here. A saved model gets ``groups.json`` and one ``labels/<group>.txt`` per group (see
saved_models/README.md). :func:`output_groups` tells an exporter what it needs.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kmlc.data import DEFAULT_LABEL_SEP
from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError, _preview
from kmlc.labels import KINDS, LabelEncoder, sigmoid

__all__ = [
    "KINDS",
    "LabelGroup",
    "LabelSchema",
    "GroupedLabelEncoder",
    "GroupedThresholds",
    "GroupOutput",
    "parse_group_spec",
    "parse_group_weights",
    "split_label_columns",
    "normalize_group_labels",
    "read_grouped_texts",
    "output_groups",
    "AUTO",
]

AUTO = "auto"
#: Group names become file names and export output names: letters, digits and underscores.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
RESERVED_NAMES = ("text", "scores", "confidence")
AUTO_WEIGHT_BATCH = 512  # rows of the seeded batch that measures the initial losses
GROUPS_FILE = "groups.json"
LABELS_DIR = "labels"


# ----------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class LabelGroup:
    """One label group: its name (the label column), kind and loss weight (None: 1 or auto)."""

    name: str
    kind: str = "multilabel"
    weight: float | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name) or self.name in RESERVED_NAMES:
            raise KmlcInputError(
                "Expected a label group name of letters, digits and underscores that starts with "
                f"a letter (not {list(RESERVED_NAMES)}), Received: {self.name!r}. Rename the column."
            )
        if self.kind not in KINDS:
            raise KmlcInputError(
                f"Expected the kind of group '{self.name}' to be one of {list(KINDS)}, Received: {self.kind!r}."
            )
        if self.weight is not None:
            object.__setattr__(self, "weight", _weight(self.weight, self.name))

    def spec(self):
        return f"{self.name}:{self.kind}"


def _weight(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise KmlcInputError(f"Expected a positive finite weight for group '{name}', Received: {value!r}.")
    return float(value)


def parse_group_spec(spec):
    """"name", "name:kind" or "name:kind:weight" (or a dict / LabelGroup) -> LabelGroup."""
    if isinstance(spec, LabelGroup):
        return spec
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"name", "kind", "weight"})
        if unknown or "name" not in spec:
            raise KmlcInputError(
                f"Expected a label group mapping with keys name, kind, weight, Received: {spec!r:.80}."
            )
        return LabelGroup(spec["name"], spec.get("kind", "multilabel"), spec.get("weight"))
    if not isinstance(spec, str):
        raise KmlcInputError(f"Expected a label group like 'emotions:multilabel', Received: {spec!r:.60}.")
    parts = [p.strip() for p in spec.split(":")]
    if len(parts) > 3 or not parts[0]:
        raise KmlcInputError(
            f"Expected a label group written NAME or NAME:KIND (KIND one of {list(KINDS)}), Received: {spec!r}."
        )
    weight = None
    if len(parts) == 3:
        try:
            weight = float(parts[2])
        except ValueError:
            raise KmlcInputError(f"Expected NAME:KIND:WEIGHT with a number, Received: {spec!r}.") from None
    kind = parts[1] if len(parts) > 1 and parts[1] else "multilabel"
    return LabelGroup(parts[0], kind, weight)


def parse_group_weights(value):
    """None, "auto", "0.7,4,4" or a list of numbers -> None, "auto" or a list of floats."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == AUTO:
            return AUTO
        try:
            value = [float(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise KmlcInputError(
                f"Expected group weights as comma-separated numbers (0.7,4,4) or 'auto', Received: {text!r}."
            ) from None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = [value]
    try:
        values = list(value)
    except TypeError:
        raise KmlcInputError(f"Expected group weights as a list of numbers or 'auto', Received: {value!r}.") from None
    return [_weight(v, f"#{i + 1}") for i, v in enumerate(values)]


class LabelSchema:
    """The label groups of a model, in the order of the network's output columns.

    Args:
        groups: LabelGroup objects, or "name:kind" strings, or dicts {name, kind, weight}.
        weights: None (each group's own weight, else 1), "auto" (inverse initial losses) or
            one positive number per group (overrides the groups' own weights).
    """

    def __init__(self, groups, weights=None):
        if isinstance(groups, (str, dict, LabelGroup)):
            groups = [groups]
        groups = [parse_group_spec(g) for g in (groups or [])]
        if not groups:
            raise KmlcInputError("Expected at least one label group, Received: none.")
        names = [g.name for g in groups]
        dupes = sorted(n for n, c in Counter(names).items() if c > 1)
        if dupes:
            raise KmlcInputError(f"Expected distinct label group names, Received: {dupes} more than once.")
        weights = parse_group_weights(weights)
        if isinstance(weights, list):
            if len(weights) != len(groups):
                raise KmlcInputError(
                    f"Expected one group weight per label group ({len(groups)}: {names}), "
                    f"Received: {len(weights)} weight(s) {weights}."
                )
            groups = [LabelGroup(g.name, g.kind, w) for g, w in zip(groups, weights)]
        self.groups = groups
        self.auto_weights = weights == AUTO

    @classmethod
    def parse(cls, label_groups, group_weights=None):
        if isinstance(label_groups, LabelSchema):
            if group_weights is None:
                return label_groups
            return cls(label_groups.groups, group_weights)
        return cls(label_groups, group_weights)

    @property
    def names(self):
        return [g.name for g in self.groups]

    def __iter__(self):
        return iter(self.groups)

    def __len__(self):
        return len(self.groups)

    def __getitem__(self, name):
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def __eq__(self, other):
        return isinstance(other, LabelSchema) and self.to_config() == other.to_config()

    def __repr__(self):
        return f"LabelSchema({[g.spec() for g in self.groups]}, weights={self.weights_setting()!r})"

    def weights_setting(self):
        """What `group_weights` holds: "auto", a list of floats, or None (all 1)."""
        if self.auto_weights:
            return AUTO
        if all(g.weight is None for g in self.groups):
            return None
        return [1.0 if g.weight is None else g.weight for g in self.groups]

    def fixed_weights(self):
        return [1.0 if g.weight is None else g.weight for g in self.groups]

    def to_config(self):
        return {"label_groups": [g.spec() for g in self.groups], "group_weights": self.weights_setting()}


def split_label_columns(values):
    """The values of repeated --label-column flags -> (label_column, label_groups).

    One plain name is the ordinary multi-label case (label_groups None); several names, or
    any NAME:KIND, make a schema (label_column None).
    """
    if values is None:
        return None, None
    if isinstance(values, str):
        values = [values]
    values = list(values)
    if len(values) == 1 and ":" not in str(values[0]):
        return values[0], None
    return None, [parse_group_spec(v).spec() for v in values]


# ----------------------------------------------------------------------------- labels in


def _is_missing(cell):
    return cell is None or (isinstance(cell, float) and math.isnan(cell)) or (isinstance(cell, str) and not cell.strip())


def _clean(values):
    out = []
    for value in values:
        if _is_missing(value):
            continue
        if isinstance(value, (list, tuple, dict, np.ndarray)):
            raise ValueError("nested")
        label = str(value).strip()
        if label and label not in out:
            out.append(label)
    return out


def _cell(cell, kind):
    """One label cell -> a list of labels (ValueError when it cannot be one)."""
    if isinstance(cell, np.ndarray):
        cell = cell.tolist()
    if _is_missing(cell):
        return []
    if isinstance(cell, (list, tuple)):
        return _clean(cell)
    if kind == "multiclass" and isinstance(cell, (str, numbers.Integral)) and not isinstance(cell, bool):
        return _clean([cell])
    raise ValueError(type(cell).__name__)


def normalize_group_labels(labels, schema, n, name="labels"):
    """Grouped labels in any accepted form -> {group: [label list per row]}.

    Accepted: a mapping or pandas DataFrame of columns (one per group; other columns are
    ignored), or a list of one dict per row ({"global_score": "S2", "emotions": [...]}).
    A multiclass cell is a string (or a list of one); a multi-label cell a list.
    """
    import pandas as pd

    if isinstance(labels, (dict, pd.DataFrame)):
        missing = [g for g in schema.names if g not in labels]
        if missing:
            have = list(map(str, labels.columns if isinstance(labels, pd.DataFrame) else labels))
            raise KmlcInputError(
                f"Expected a column of {name} for each label group {schema.names}, Received: no "
                f"{missing} among {have}."
            )
        columns = {g: list(labels[g]) for g in schema.names}
    elif isinstance(labels, (list, tuple)) and all(isinstance(row, dict) for row in labels):
        columns = {g: [row.get(g) for row in labels] for g in schema.names}
    else:
        raise KmlcInputError(
            f"Expected grouped {name} as a dict (or DataFrame) of columns {schema.names} or a list "
            f"of one dict per row, Received: {type(labels).__name__}."
        )
    out = {}
    for group in schema:
        column = columns[group.name]
        if len(column) != n:
            raise KmlcInputError(
                f"Expected one value per text ({n}) in group '{group.name}', Received: {len(column)}."
            )
        rows, bad = [], []
        for i, cell in enumerate(column):
            try:
                rows.append(_cell(cell, group.kind))
            except ValueError:
                bad.append(i)
                rows.append([])
        if bad:
            example = "'S2'" if group.kind == "multiclass" else "['a', 'b'] (or [] for none)"
            raise KmlcInputError(
                f"Expected each {group.kind} value of group '{group.name}' to look like {example}, "
                f"Received: {type(column[bad[0]]).__name__} at position(s) {_preview(bad)}."
            )
        out[group.name] = rows
    return out


def invalid_multiclass_rows(columns, schema):
    """{group: (rows with no label, rows with several)} for the multiclass groups with any."""
    bad = {}
    for group in schema:
        if group.kind != "multiclass":
            continue
        rows = columns[group.name]
        missing = [i for i, r in enumerate(rows) if not r]
        several = [i for i, r in enumerate(rows) if len(r) > 1]
        if missing or several:
            bad[group.name] = (missing, several)
    return bad


def check_multiclass_rows(columns, schema, drop=False, where="position", offset=0, source=None):
    """Refuses (or, with drop, removes and counts) rows of a multiclass group with no label
    or several. Returns (columns, kept row indices, notes)."""
    bad = invalid_multiclass_rows(columns, schema)
    n = len(next(iter(columns.values())))
    if not bad:
        return columns, list(range(n)), []
    parts = []
    for name, (missing, several) in bad.items():
        text = []
        if missing:
            text.append(f"{len(missing)} with no label ({where}s {_preview([i + offset for i in missing])})")
        if several:
            text.append(f"{len(several)} with several ({where}s {_preview([i + offset for i in several])})")
        parts.append(f"group '{name}': " + " and ".join(text))
    detail = "; ".join(parts) + (f" in '{source}'" if source else "")
    if not drop:
        raise KmlcInputError(
            f"Expected exactly one label per row in each multiclass group, Received: {detail}. "
            "Fix those rows, or drop them with --drop-invalid-rows (drop_invalid_rows=True)."
        )
    dropped = sorted({i for missing, several in bad.values() for i in missing + several})
    keep = [i for i in range(n) if i not in set(dropped)]
    note = f"dropped {len(dropped)} row(s) without exactly one multiclass label: {detail}"
    warnings.warn(note, KmlcDataWarning, stacklevel=3)
    return {g: [rows[i] for i in keep] for g, rows in columns.items()}, keep, [note]


def rows_from_columns(columns, schema):
    """{group: label lists} -> one dict per row, multiclass values as plain strings."""
    n = len(next(iter(columns.values())))
    kinds = {g.name: g.kind for g in schema}
    return [
        {g: (columns[g][i][0] if columns[g][i] else None) if kinds[g] == "multiclass" else list(columns[g][i])
         for g in schema.names}
        for i in range(n)
    ]


def subset_columns(columns, indices):
    return {g: [rows[i] for i in indices] for g, rows in columns.items()}


def read_grouped_texts(source, schema, text_columns=("text",), label_sep=DEFAULT_LABEL_SEP, *, drop_invalid_rows=False,
                       drop_duplicates=False, min_label_count=None):
    """Reads a table with one label column per group into `LabeledTexts` whose `labels` are
    one dict per row ({group: label list}); multiclass rows are checked (row numbers are
    1-based data rows, as a spreadsheet shows)."""
    from kmlc.data import (
        LabeledTexts, _labels_from_frame, _require_columns, _texts_from_frame, check_column_roles, check_label_sep,
        drop_rare_labels,
        read_frame,
    )

    text_columns = (text_columns,) if isinstance(text_columns, str) else tuple(text_columns)
    name = "<DataFrame>" if not isinstance(source, (str, Path)) else str(source)
    frame = read_frame(source)
    if len(frame) == 0:
        raise KmlcInputError(f"Expected at least one data row, Received: a header only in '{name}'.")
    check_label_sep(label_sep)
    check_column_roles(text_columns, schema.names)
    _require_columns(frame, list(text_columns) + schema.names, name)
    texts = _texts_from_frame(frame, text_columns, name)
    columns = {}
    for group in schema:
        # A multiclass cell goes through the same parser: "S1|S2" is two labels, an error.
        columns[group.name] = _labels_from_frame(frame, group.name, label_sep, name)
    columns, keep, notes = check_multiclass_rows(
        columns, schema, drop=drop_invalid_rows, where="data row", offset=1, source=name
    )
    texts = [texts[i] for i in keep]
    if drop_duplicates:
        first, keep = set(), []
        for i, text in enumerate(texts):
            if text not in first:
                first.add(text)
                keep.append(i)
        if len(keep) < len(texts):
            note = f"dropped {len(texts) - len(keep)} duplicate text(s) from '{name}' (kept the first of each)"
            warnings.warn(note, KmlcDataWarning, stacklevel=2)
            notes.append(note)
            texts, columns = [texts[i] for i in keep], subset_columns(columns, keep)
    if min_label_count:
        # Multi-label groups only: dropping a multiclass label would leave its rows invalid.
        for group in schema:
            if group.kind == "multilabel":
                part = drop_rare_labels(LabeledTexts(texts, columns[group.name], name), min_label_count)
                columns[group.name] = part.labels
                notes += [f"group '{group.name}': {n}" for n in part.notes]
    return LabeledTexts(texts=texts, labels=rows_from_columns(columns, schema), source=name, notes=notes)


# ----------------------------------------------------------------------------- encoder


@dataclass
class GroupOutput:
    """What one group is in the network's output: what an exporter needs.

    `start:stop` are the group's logit columns; `labels` its vocabulary in column order;
    `thresholds` (multi-label) one per label, None for a multiclass group (argmax).
    """

    name: str
    kind: str
    start: int
    stop: int
    labels: list
    weight: float = 1.0
    thresholds: list | None = None
    strategy: str | None = None
    top_k: int | None = None
    at_least_one: bool = False

    def to_dict(self):
        return dict(self.__dict__)


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


# ----------------------------------------------------------------------------- probabilities


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def flat_probabilities(logits, schema, slices):
    """Network logits [N, C] -> probabilities [N, C]: softmax inside each multiclass group,
    sigmoid elsewhere."""
    logits = np.asarray(logits, dtype=np.float32)
    out = np.empty_like(logits)
    for group in schema:
        a, b = slices[group.name]
        out[:, a:b] = _softmax(logits[:, a:b]) if group.kind == "multiclass" else sigmoid(logits[:, a:b])
    return out


class GroupedThresholds:
    """Argmax inside each multiclass group, a `ThresholdPolicy` inside each multi-label group.

    Behaves like a ThresholdPolicy over the whole output (`apply`, `thresholds`, `strategy`,
    `to_dict`): `thresholds` holds NaN for multiclass columns.
    """

    def __init__(self, schema, slices, policies):
        self.schema, self.slices, self.policies = schema, dict(slices), dict(policies)

    @classmethod
    def tune(cls, schema, slices, y, scores, **settings):
        from kmlc.thresholds import tune_thresholds

        policies = {}
        for group in schema:
            if group.kind == "multilabel":
                a, b = slices[group.name]
                policies[group.name] = tune_thresholds(y[:, a:b], scores[:, a:b], **settings)
        return cls(schema, slices, policies)

    @property
    def strategy(self):
        strategies = sorted({p.strategy for p in self.policies.values()})
        return "/".join(strategies + (["argmax"] if len(self.policies) < len(self.schema) else []))

    @property
    def thresholds(self):
        n = max(b for _, b in self.slices.values())
        out = np.full(n, np.nan)
        for name, policy in self.policies.items():
            a, b = self.slices[name]
            out[a:b] = np.nan if policy.strategy == "top-k" else policy.thresholds
        return out

    @property
    def n_labels(self):
        return max(b for _, b in self.slices.values())

    # ThresholdPolicy's informational attributes, for code written for one policy (export
    # metadata): the multi-label groups' common values.
    @property
    def top_k(self):
        values = {p.top_k for p in self.policies.values()}
        return values.pop() if len(values) == 1 else None

    @property
    def at_least_one(self):
        return any(p.at_least_one for p in self.policies.values())

    @property
    def metric(self):
        values = {p.metric for p in self.policies.values()}
        return values.pop() if len(values) == 1 else "micro_f1"

    def apply(self, scores):
        scores = np.asarray(scores)
        pred = np.zeros(scores.shape, dtype=bool)
        for group in self.schema:
            a, b = self.slices[group.name]
            if group.kind == "multiclass":
                if len(scores):
                    pred[np.arange(len(scores)), a + np.argmax(scores[:, a:b], axis=1)] = True
            else:
                pred[:, a:b] = self.policies[group.name].apply(scores[:, a:b])
        return pred

    __call__ = apply

    def to_dict(self):
        groups = {}
        for group in self.schema:
            a, b = self.slices[group.name]
            if group.kind == "multiclass":
                groups[group.name] = {"kind": "multiclass", "decision": "argmax", "n_labels": b - a}
            else:
                groups[group.name] = {"kind": "multilabel", **self.policies[group.name].to_dict()}
        return {"label_groups": groups}

    @classmethod
    def from_dict(cls, d, schema, slices):
        from kmlc.thresholds import ThresholdPolicy

        groups = d.get("label_groups") if isinstance(d, dict) else None
        if not isinstance(groups, dict) or set(groups) != set(schema.names):
            raise KmlcModelError(
                f"Expected thresholds for the label groups {schema.names}, Received: "
                f"{sorted(groups) if isinstance(groups, dict) else d!r:.80}."
            )
        policies = {}
        for group in schema:
            entry = dict(groups[group.name])
            if entry.pop("kind", None) != group.kind:
                raise KmlcModelError(f"Expected group '{group.name}' of kind {group.kind} in thresholds.json.")
            if group.kind == "multilabel":
                a, b = slices[group.name]
                try:
                    policies[group.name] = ThresholdPolicy.from_dict(entry, n_labels=b - a)
                except (KeyError, TypeError, ValueError) as e:
                    raise KmlcModelError(f"Expected valid thresholds for group '{group.name}', Received: {e}") from None
        return cls(schema, slices, policies)


def output_groups(clf):
    """The groups of a fitted grouped classifier as `GroupOutput`s, in output-column order:
    name, kind, logit slice, vocabulary, weight and (multi-label) thresholds and policy."""
    clf._check_fitted()
    schema, encoder = clf.label_schema_, clf.label_encoder_
    weights = getattr(clf, "group_weights_", None) or {}
    out = []
    for group in schema:
        a, b = encoder.slices_[group.name]
        policy = clf.thresholds_.policies.get(group.name)
        out.append(GroupOutput(
            name=group.name, kind=group.kind, start=a, stop=b,
            labels=list(encoder.encoders_[group.name].vocabulary_),
            weight=float(weights.get(group.name, 1.0)),
            thresholds=None if policy is None else [float(t) for t in policy.thresholds],
            strategy="argmax" if policy is None else policy.strategy,
            top_k=None if policy is None else policy.top_k,
            at_least_one=False if policy is None else policy.at_least_one,
        ))
    return out


# ----------------------------------------------------------------------------- loss


def initial_group_losses(network, preprocessor, texts, y, loss, seed, batch=AUTO_WEIGHT_BATCH):
    """Each group's mean loss at the network's current (initial) weights, on a seeded batch
    of at most `batch` training rows (inference mode: no dropout)."""
    from keras import ops

    from kmlc.preprocessing import make_dataset

    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(texts), size=min(batch, len(texts)), replace=False))
    ds = make_dataset([texts[i] for i in index], preprocessor, batch_size=64)
    logits = np.asarray(network.predict(ds, verbose=0), dtype=np.float32)
    parts = loss.per_group(ops.convert_to_tensor(y[index]), ops.convert_to_tensor(logits))
    return {name: float(np.mean(ops.convert_to_numpy(v))) for name, v in parts.items()}, index


# ----------------------------------------------------------------------------- metrics


def multiclass_metrics(y_true, y_pred, names, cutoffs, counts, scores):
    from kmlc.evaluation import evaluate

    full = evaluate(y_true, y_pred, scores, label_names=names, train_counts=counts, group_cutoffs=cutoffs, ks=(1,))
    true_idx = np.where(y_true.any(axis=1), np.argmax(y_true, axis=1), -1)
    pred_idx = np.argmax(y_pred, axis=1)
    k = len(names)
    confusion = np.zeros((k, k), dtype=np.int64)
    for t, q in zip(true_idx, pred_idx):
        if t >= 0:
            confusion[t, q] += 1
    per_label = (2 * np.diag(confusion)) / np.maximum(confusion.sum(0) + confusion.sum(1), 1)
    return {
        "kind": "multiclass",
        "n_examples": full["n_examples"],
        "n_labels": k,
        "labels": list(names),
        # Every row has one true and one predicted label: micro-F1 is the accuracy.
        "accuracy": float(np.mean(true_idx == pred_idx)) if len(true_idx) else 0.0,
        "macro_precision": full["macro_precision"],
        "macro_recall": full["macro_recall"],
        "macro_f1": full["macro_f1"],
        "weighted_f1": full["weighted_f1"],
        "micro_f1": full["micro_f1"],
        "n_labels_predicted": full["n_labels_predicted"],
        "f1_per_label": {name: float(f) for name, f in zip(names, per_label)},
        "confusion_matrix": confusion.tolist(),
    }


# ----------------------------------------------------------------------------- persistence


def save_group_files(clf, directory):
    """groups.json (schema, weights, column slices) and labels/<group>.txt."""
    from kmlc.io import write_json

    clf.label_encoder_.save_groups(directory)
    write_json(Path(directory) / GROUPS_FILE, {
        "groups": [g.to_dict() for g in output_groups(clf)],
        "group_weights": clf.label_schema_.weights_setting(),
        "n_outputs": clf.label_encoder_.num_labels,
    })


def load_group_state(clf, expected, directory, training, thresholds):
    """Fills a loaded classifier's grouped state from groups.json, labels/ and thresholds.json;
    `expected` is the schema of its config.yaml."""
    directory = Path(directory)
    try:
        stored = json.loads((directory / GROUPS_FILE).read_text(encoding="utf-8"))
        groups = [LabelGroup(g["name"], g["kind"]) for g in stored["groups"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KmlcModelError(
            f"Expected a readable '{GROUPS_FILE}' in '{directory}', Received: a damaged file ({type(e).__name__})."
        ) from None
    schema = LabelSchema(groups, stored.get("group_weights"))
    if schema.names != expected.names:
        raise KmlcModelError(
            f"Expected config.yaml and {GROUPS_FILE} to agree on the label groups, Received: "
            f"{expected.names} and {schema.names} in '{directory}'."
        )
    clf.label_schema_ = schema
    clf.label_encoder_ = GroupedLabelEncoder.load(
        directory, schema, counts=training.get("class_counts"), n_samples=training.get("n_train")
    )
    for g in stored["groups"]:
        a, b = clf.label_encoder_.slices_[g["name"]]
        if (g.get("start"), g.get("stop")) != (a, b) or list(g.get("labels", [])) != clf.label_encoder_.encoders_[g["name"]].vocabulary_:
            raise KmlcModelError(
                f"Expected labels/{g['name']}.txt to match {GROUPS_FILE}, Received: a different vocabulary "
                f"in '{directory}'. The model directory is damaged: train or copy it again."
            )
    clf.labels_ = list(clf.label_encoder_.vocabulary_)
    clf.thresholds_ = GroupedThresholds.from_dict(thresholds, schema, clf.label_encoder_.slices_)
    clf.group_weights_ = {g["name"]: float(g.get("weight", 1.0)) for g in stored["groups"]}
    clf.group_training_info_ = training.get("label_groups", {})
    return clf
