"""Label cells: the label separator (given or detected) and parsing one cell, or a column of
cells, into label lists.
"""

import ast
import json

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.settings import BY_NAME

DEFAULT_LABEL_SEP = BY_NAME["label_sep"].default
AUTO_SEPARATORS = (DEFAULT_LABEL_SEP, ";", ",")


def check_label_sep(label_sep):
    if label_sep != "auto" and (not isinstance(label_sep, str) or not label_sep):
        raise KmlcInputError(
            f"Expected a non-empty label separator (e.g. '|') or 'auto', Received: {label_sep!r}. "
            "A cell that holds one label needs no separator: keep the default."
        )
    return label_sep


# ----------------------------------------------------------------------------- labels


def detect_label_sep(cells):
    """Chooses how label cells are written: 'list' literals, or the most likely separator."""
    strings = [c.strip() for c in cells if isinstance(c, str) and c.strip()]
    if not strings:
        return DEFAULT_LABEL_SEP
    if sum(s.startswith("[") and s.endswith("]") for s in strings) > len(strings) / 2:
        return "list"
    counts = {sep: sum(sep in s for s in strings) for sep in AUTO_SEPARATORS}
    best = max(AUTO_SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else DEFAULT_LABEL_SEP


def _parse_list_literal(text):
    try:
        value = json.loads(text)
    except ValueError:
        value = ast.literal_eval(text)  # Python literals only: never evaluates code.
    if not isinstance(value, (list, tuple)):
        raise ValueError("not a list")
    return value


def parse_label_cell(cell, label_sep=DEFAULT_LABEL_SEP):
    """Parses one label cell into a list of label strings (order kept, duplicates removed).

    Raises ValueError for a cell that looks like a list literal but is not one.
    """
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    if isinstance(cell, np.ndarray):
        cell = cell.tolist()
    if isinstance(cell, (list, tuple)):
        values = cell
    elif isinstance(cell, (int, np.integer)):
        values = [cell]
    elif isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        # pandas turns an integer column with a missing cell into floats: 3.0 is label "3".
        values = [int(cell)]
    elif isinstance(cell, str):
        text = cell.strip()
        if not text:
            return []
        # A cell opening with "[" is a list literal (or a broken one: an error, not a label).
        if text.startswith("[") or label_sep == "list":
            values = _parse_list_literal(text)
        else:
            values = text.split(label_sep)
    else:
        raise ValueError(f"unsupported cell type {type(cell).__name__}")
    labels = []
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, (list, tuple, dict)):
            raise ValueError("nested lists are not labels")
        label = str(value).strip()
        if label and label not in labels:
            labels.append(label)
    return labels


def _labels_from_frame(frame, label_column, label_sep, source, first_row=0):
    cells = frame[label_column].tolist()
    sep = detect_label_sep(cells) if label_sep == "auto" else label_sep
    labels, bad = [], []
    for row_number, cell in enumerate(cells):
        try:
            labels.append(parse_label_cell(cell, sep))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            bad.append((first_row + row_number + 1, cell))
            labels.append([])
    if bad:
        examples = ", ".join(f"row {r}: {str(c)[:40]!r}" for r, c in bad[:3])
        raise KmlcInputError(
            f"Expected label cells written as a list literal (['a', 'b']) or separated by "
            f"'{sep}', Received: {len(bad)} cell(s) in column '{label_column}' of '{source}' "
            f"that cannot be parsed ({examples}). Fix those cells or set --label-sep."
        )
    return labels
