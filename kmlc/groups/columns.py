"""Grouped labels as columns: {group: [label list per row]}, from the forms a user passes
(a mapping or DataFrame of columns, one dict per row, a table file), with the multiclass
groups' rows checked (exactly one label each).
"""

from __future__ import annotations

import math
import numbers
import warnings
from pathlib import Path

import numpy as np

from kmlc.data import (
    DEFAULT_LABEL_SEP,
    LabeledTexts,
    _labels_from_frame,
    _require_columns,
    _texts_from_frame,
    check_column_roles,
    check_label_sep,
    drop_rare_labels,
    read_frame,
)
from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview


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
