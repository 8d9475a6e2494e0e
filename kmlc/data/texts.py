"""Texts: the `LabeledTexts` record, checking texts given in memory, and joining the text
columns of a table into one text per row.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kmlc.data.label_cells import DEFAULT_LABEL_SEP
from kmlc.errors import KmlcInputError, _preview

TEXT_JOINER = "\n"


@dataclass
class LabeledTexts:
    """Texts and their label lists, with a record of what reading changed.

    `labels` is None for a table read without a label column (prediction input).
    `notes` lists, in words, every row or label that was dropped and why.
    """

    texts: list
    labels: list = None
    source: str = "<memory>"
    notes: list = field(default_factory=list)

    def __len__(self):
        return len(self.texts)

    def subset(self, indices):
        indices = np.asarray(indices, dtype=int)
        return LabeledTexts(
            texts=[self.texts[i] for i in indices],
            labels=None if self.labels is None else [self.labels[i] for i in indices],
            source=self.source,
            notes=list(self.notes),
        )

    def to_frame(self, label_sep=DEFAULT_LABEL_SEP):
        frame = pd.DataFrame({"text": self.texts})
        if self.labels is not None:
            frame["labels"] = [label_sep.join(row) for row in self.labels]
        return frame


# ----------------------------------------------------------------------------- texts in memory


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


# ----------------------------------------------------------------------------- text columns


def _texts_from_frame(frame, text_columns, source, first_row=0):
    """Joins the text columns row by row; refuses missing, empty or non-text cells.
    `first_row`: data rows before this frame (a chunk of a file), for the row numbers."""
    bad_rows = []
    texts = []
    for row_number, cells in enumerate(zip(*(frame[c].tolist() for c in text_columns))):
        parts = []
        for cell in cells:
            if cell is None or (isinstance(cell, float) and np.isnan(cell)):
                continue
            if not isinstance(cell, str):
                # Numbers are legitimate text in a free-form column, but not NaN / objects.
                if isinstance(cell, (int, float, np.integer, np.floating)):
                    cell = str(cell)
                else:
                    parts = []  # counted once, below
                    break
            if cell.strip():
                parts.append(cell.strip())
        if not parts:
            bad_rows.append(row_number)
            texts.append("")
        else:
            texts.append(TEXT_JOINER.join(parts))
    if bad_rows:
        # Row numbers are 1-based data rows (the header is not counted), as a spreadsheet shows.
        rows = [first_row + r + 1 for r in bad_rows]
        raise KmlcInputError(
            f"Expected a non-empty text in column(s) {list(text_columns)} of every row, "
            f"Received: {len(rows)} row(s) with an empty, missing or non-text value in "
            f"'{source}' (data rows {_preview(rows)}). Remove or fill those rows."
        )
    return texts
