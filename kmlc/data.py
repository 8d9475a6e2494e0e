"""Reading labelled text tables: CSV, TSV, JSON Lines, Parquet or a pandas DataFrame.

A table has one or more text columns (joined into one text) and one label column. A label
cell is a Python or JSON list literal (``"['cs.CV', 'cs.LG']"``), a delimiter-separated
string (``"food|service"``), a real list (Parquet, DataFrame), or empty for a row with no
label. Every problem is reported before any training starts, with the row numbers and a fix.
"""

import ast
import contextlib
import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview
from kmlc.settings import BY_NAME

DEFAULT_LABEL_SEP = BY_NAME["label_sep"].default

READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
AUTO_SEPARATORS = (DEFAULT_LABEL_SEP, ";", ",")
TEXT_JOINER = "\n"
# More distinct labels than this is almost always a free-text column given as the labels.
MAX_DISTINCT_LABELS = 10_000


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


# ----------------------------------------------------------------------------- tables


def read_frame(source, file_format=None):
    """Reads a file into a DataFrame of strings (or returns a copy of a DataFrame)."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path, kind = check_data_file(source, file_format)
    with parse_errors(path, source, kind):
        if kind in ("csv", "tsv"):
            frame = pd.read_csv(path, **csv_options(kind))
        elif kind == "jsonl":
            frame = pd.read_json(path, **JSONL_OPTIONS)
        else:
            frame = pd.read_parquet(path)
    return frame


# pandas options shared by the in-memory reader and the chunked one (kmlc.streaming).
JSONL_OPTIONS = {"lines": True, "dtype": False, "encoding": "utf-8-sig"}


def csv_options(kind):
    return {
        "sep": "," if kind == "csv" else "\t",
        "dtype": str,
        "keep_default_na": False,
        "encoding": "utf-8-sig",  # a byte-order mark (Excel's "CSV UTF-8") is not a column name
        "index_col": False,
    }


def check_data_file(source, file_format=None):
    """(path, kind) of a data file that exists, is not empty and has a known format."""
    path = Path(source)
    if not path.exists():
        raise KmlcInputError(
            f"Expected an existing data file, Received: '{source}' (no such file). "
            "Check the path given to --data/--val/--test."
        )
    if path.is_dir():
        raise KmlcInputError(
            f"Expected a data file, Received: the directory '{source}'. "
            "Give a .csv, .tsv, .jsonl or .parquet file."
        )
    kind = file_format or READERS.get(path.suffix.lower())
    if kind is None:
        raise KmlcInputError(
            f"Expected a file ending in one of {sorted(READERS)}, Received: '{path.name}'. "
            "Rename the file or pass its format explicitly."
        )
    if path.stat().st_size == 0:
        raise KmlcInputError(
            f"Expected a file with a header and rows, Received: an empty file '{source}'."
        )
    return path, kind


@contextlib.contextmanager
def parse_errors(path, source, kind):
    """Turns pandas' and pyarrow's parse failures inside the block into clear errors."""
    try:
        with warnings.catch_warnings():
            # A row with more fields than the header makes pandas shift the columns (or drop
            # the extra field with only a ParserWarning): that is an error, not a warning.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield
    except UnicodeDecodeError:
        raise KmlcInputError(not_utf8_message(Path(path).read_bytes(), source)) from None
    except pd.errors.ParserWarning:
        raise KmlcInputError(
            f"Expected every row of '{source}' to have as many fields as its header, Received: "
            "rows with more fields (an unquoted delimiter inside a cell?). Quote such cells or "
            "fix the delimiter."
        ) from None
    except pd.errors.EmptyDataError:
        raise KmlcInputError(
            f"Expected a file with a header and rows, Received: an empty file '{source}'."
        ) from None
    except (pd.errors.ParserError, ValueError, OSError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise KmlcInputError(
            f"Expected a well-formed {kind} file, Received: '{source}', which could not be "
            f"parsed ({first_line}). Check quoting and the delimiter."
        ) from None


def not_utf8_message(raw, source):
    """Names the first line of the bytes `raw` that is not UTF-8 and how many there are: one
    bad line in an otherwise UTF-8 file means mixed encodings (rows pasted from another file)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return (
            f"Expected a UTF-8 encoded file, Received: UTF-16 text in '{source}'. Re-save it as "
            "UTF-8, e.g. `iconv -f utf-16 -t utf-8 in.csv > out.csv`."
        )
    lines = raw.split(b"\n")
    bad = []
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            bad.append((number, line[max(e.start - 10, 0):e.start + 4]))
    if not bad:  # a multi-byte character split oddly across lines: report the whole file
        return f"Expected a UTF-8 encoded file, Received: bytes that are not UTF-8 in '{source}'."
    number, snippet = bad[0]
    kind = (
        "mixed encodings: the other lines are UTF-8"
        if len(bad) < len(lines) - 1
        else "no line is UTF-8"
    )
    return (
        f"Expected a UTF-8 encoded file, Received: {len(bad)} line(s) that are not UTF-8 in "
        f"'{source}' ({kind}; first at line {number}: {snippet!r}). Re-save the file as UTF-8, "
        "e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`."
    )




def check_label_sep(label_sep):
    if label_sep != "auto" and (not isinstance(label_sep, str) or not label_sep):
        raise KmlcInputError(
            f"Expected a non-empty label separator (e.g. '|') or 'auto', Received: {label_sep!r}. "
            "A cell that holds one label needs no separator: keep the default."
        )
    return label_sep


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


def check_label_cardinality(label_lists, source="<memory>"):
    """Warns when there are more distinct labels than any real label set has: a free-text
    column given as the labels. Returns the number of distinct labels."""
    distinct = len({label for row in label_lists for label in row})
    if distinct > MAX_DISTINCT_LABELS:
        warnings.warn(
            f"{distinct} distinct labels in '{source}' (more than {MAX_DISTINCT_LABELS}): is the "
            "label column a free-text column? Check --label-column and --label-sep; the model "
            "would get one output per distinct label.",
            KmlcDataWarning,
            stacklevel=3,
        )
    return distinct


def text_hashes(texts):
    """A 64-bit hash per text (pandas' SipHash, fixed key): equal texts, equal hashes; for
    finding copies of a text across splits without keeping the texts."""
    return pd.util.hash_array(np.asarray(list(texts), dtype=object), categorize=False)


def count_in(texts, known_hashes):
    """How many of `texts` have a hash among the sorted unique `known_hashes`."""
    if known_hashes is None or len(texts) == 0:
        return 0
    return int(np.isin(text_hashes(texts), known_hashes, assume_unique=False).sum())


def _duplicate_counts(data):
    """(distinct texts with copies, extra copies, of which with labels different from the
    first copy)."""
    first_index, copies, conflicts, repeated = {}, 0, 0, set()
    for i, text in enumerate(data.texts):
        if text not in first_index:
            first_index[text] = i
            continue
        copies += 1
        repeated.add(text)
        if data.labels is not None and set(data.labels[i]) != set(data.labels[first_index[text]]):
            conflicts += 1
    return len(repeated), copies, conflicts


def _warn_duplicate_texts(data):
    repeated, copies, conflicts = _duplicate_counts(data)
    if not copies:
        return
    note = (
        f"{repeated} text(s) occur more than once in '{data.source}' ({copies} extra copies"
        + (f", {conflicts} of them with labels different from the first copy: inconsistent annotation"
           if conflicts else "")
        + "); kept all rows. kmlc keeps the copies of a text in one split, so a text is never both "
        "trained on and tested on; --drop-duplicates (drop_duplicates=True) keeps only the first copy"
    )
    data.notes.append(note)
    warnings.warn(note, KmlcDataWarning, stacklevel=3)


def _drop_duplicate_texts(data):
    first_index, conflicts, keep = {}, 0, []
    for i, text in enumerate(data.texts):
        if text in first_index:
            if data.labels is not None and set(data.labels[i]) != set(data.labels[first_index[text]]):
                conflicts += 1
            continue
        first_index[text] = i
        keep.append(i)
    dropped = len(data) - len(keep)
    if not dropped:
        return data
    out = data.subset(keep)
    note = (
        f"dropped {dropped} duplicate text(s) from '{data.source}' (kept the first of each); "
        f"{conflicts} of them had labels different from the kept row"
    )
    out.notes.append(note)
    warnings.warn(note, KmlcDataWarning, stacklevel=3)
    return out


def drop_rare_labels(data, min_count):
    """Removes labels with fewer than `min_count` examples from every row, and says which."""
    counts = Counter(label for row in data.labels for label in row)
    rare = sorted(label for label, n in counts.items() if n < min_count)
    if not rare:
        return data
    rare_set = set(rare)
    out = LabeledTexts(
        texts=list(data.texts),
        labels=[[label for label in row if label not in rare_set] for row in data.labels],
        source=data.source,
        notes=list(data.notes),
    )
    note = f"dropped {len(rare)} label(s) with fewer than {min_count} examples: {_preview(rare, 10)}"
    out.notes.append(note)
    warnings.warn(note, KmlcDataWarning, stacklevel=3)
    return out


def summarize(data):
    """A dataset summary: sizes, label cardinality, label frequency, duplicates."""
    n = len(data)
    summary = {
        "source": data.source,
        "rows": n,
        "duplicate_texts": n - len(set(data.texts)),  # extra copies: rows minus distinct texts
        "text_length_chars_median": float(np.median([len(t) for t in data.texts])) if n else 0.0,
    }
    if data.labels is None:
        return summary
    counts = Counter(label for row in data.labels for label in row)
    freq = np.array(sorted(counts.values())) if counts else np.array([0])
    per_row = np.array([len(row) for row in data.labels])
    summary.update(
        {
            "labels": len(counts),
            "labels_per_row_mean": float(per_row.mean()) if n else 0.0,
            "labels_per_row_max": int(per_row.max()) if n else 0,
            "rows_with_no_label": int((per_row == 0).sum()),
            "rows_with_3_or_more_labels": int((per_row >= 3).sum()),
            "label_frequency_min": int(freq.min()),
            "label_frequency_median": float(np.median(freq)),
            "label_frequency_max": int(freq.max()),
            "labels_under_10_examples": int((freq < 10).sum()) if counts else 0,
            "label_counts": dict(counts.most_common()),
        }
    )
    return summary
