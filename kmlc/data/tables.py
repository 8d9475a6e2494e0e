"""Reading a labelled table into `LabeledTexts`: the column checks and `read_labeled_texts`,
which runs every other step (file, texts, labels, duplicates, rare labels) in order.
"""

import pandas as pd

from kmlc.data.duplicates import _drop_duplicate_texts, _warn_duplicate_texts
from kmlc.data.files import read_frame
from kmlc.data.label_cells import DEFAULT_LABEL_SEP, _labels_from_frame, check_label_sep
from kmlc.data.summary import check_label_cardinality, drop_rare_labels
from kmlc.data.texts import LabeledTexts, _texts_from_frame
from kmlc.errors import KmlcInputError

# ----------------------------------------------------------------------------- columns


def check_column_roles(text_columns, label_columns):
    """A column is text or labels, not both: reading the text as labels would make one label
    per distinct text."""
    clash = [c for c in label_columns if c is not None and c in set(text_columns)]
    if clash:
        raise KmlcInputError(
            f"Expected label column(s) other than the text column(s) {list(text_columns)}, Received: "
            f"{clash} as both. Name the label column with --label-column and the text with --text-column."
        )


def _require_columns(frame, columns, source):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KmlcInputError(
            f"Expected column(s) {missing} in '{source}', Received: columns "
            f"{list(map(str, frame.columns))}. Name the right ones with --text-column / "
            "--label-column."
        )


# ----------------------------------------------------------------------------- public


def read_labeled_texts(
    source,
    text_columns=("text",),
    label_column="labels",
    label_sep=DEFAULT_LABEL_SEP,
    *,
    require_labels=True,
    drop_duplicates=False,
    min_label_count=None,
    file_format=None,
):
    """Reads a table into `LabeledTexts`.

    Args:
        source: a path (.csv, .tsv, .jsonl, .parquet) or a pandas DataFrame.
        text_columns: one or more columns joined (with a newline) into the text.
        label_column: the label column; None to read texts only.
        label_sep: the separator inside a label cell, or "auto" to detect it. List
            literals and real list cells are always understood.
        require_labels: raise when the label column is missing (False: read texts only).
        drop_duplicates: keep the first row of each duplicated text, and say how many went
            and how many of those had conflicting labels.
        min_label_count: drop labels with fewer training examples than this, and say which.
    """
    if isinstance(text_columns, str):
        text_columns = (text_columns,)
    text_columns = tuple(text_columns)
    if not text_columns:
        raise KmlcInputError("Expected at least one text column, Received: none.")
    check_label_sep(label_sep)
    check_column_roles(text_columns, [label_column])
    name = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
    frame = read_frame(source, file_format)
    if len(frame) == 0:
        raise KmlcInputError(
            f"Expected at least one data row, Received: a header only in '{name}' "
            f"(columns {list(map(str, frame.columns))})."
        )
    has_labels = label_column is not None and label_column in frame.columns
    _require_columns(frame, list(text_columns) + ([label_column] if require_labels else []), name)
    texts = _texts_from_frame(frame, text_columns, name)
    labels = _labels_from_frame(frame, label_column, label_sep, name) if has_labels else None
    data = LabeledTexts(texts=texts, labels=labels, source=name)
    if labels is not None:
        check_label_cardinality(labels, name)
    if drop_duplicates:
        data = _drop_duplicate_texts(data)
    else:
        _warn_duplicate_texts(data)
    if min_label_count and labels is not None:
        data = drop_rare_labels(data, min_label_count)
    return data
