"""Reading labelled text tables: CSV, TSV, JSON Lines, Parquet or a pandas DataFrame.

A table has one or more text columns (joined into one text) and one label column. A label
cell is a Python or JSON list literal (``"['cs.CV', 'cs.LG']"``), a delimiter-separated
string (``"food|service"``), a real list (Parquet, DataFrame), or empty for a row with no
label. Every problem is reported before any training starts, with the row numbers and a fix.
"""

# The modules of the package, one concern each: files (formats, reading a file into a
# DataFrame, parse and encoding errors), label_cells (the label separator, parsing label
# cells), texts (LabeledTexts, checking texts, joining text columns), duplicates (text hashes,
# copies of a text), summary (label cardinality, rare labels, the dataset summary), tables
# (column checks and read_labeled_texts, which runs the others). Every name is importable
# from kmlc.data, as before the split; `name as name` marks a private name re-exported for
# the modules that read tables in chunks or in label groups (kmlc.streaming, kmlc.groups).
from kmlc.data.duplicates import count_in, text_hashes
from kmlc.data.files import (
    JSONL_OPTIONS,
    READERS,
    check_data_file,
    csv_options,
    not_utf8_message,
    parse_errors,
    read_frame,
)
from kmlc.data.label_cells import (
    AUTO_SEPARATORS,
    DEFAULT_LABEL_SEP,
    check_label_sep,
    detect_label_sep,
    parse_label_cell,
)
from kmlc.data.label_cells import _labels_from_frame as _labels_from_frame
from kmlc.data.summary import (
    MAX_DISTINCT_LABELS,
    check_label_cardinality,
    drop_rare_labels,
    summarize,
)
from kmlc.data.tables import _require_columns as _require_columns
from kmlc.data.tables import check_column_roles, read_labeled_texts
from kmlc.data.texts import TEXT_JOINER, LabeledTexts, check_texts
from kmlc.data.texts import _texts_from_frame as _texts_from_frame

__all__ = [
    "AUTO_SEPARATORS",
    "DEFAULT_LABEL_SEP",
    "JSONL_OPTIONS",
    "MAX_DISTINCT_LABELS",
    "READERS",
    "TEXT_JOINER",
    "LabeledTexts",
    "check_column_roles",
    "check_data_file",
    "check_label_cardinality",
    "check_label_sep",
    "check_texts",
    "count_in",
    "csv_options",
    "detect_label_sep",
    "drop_rare_labels",
    "not_utf8_message",
    "parse_errors",
    "parse_label_cell",
    "read_frame",
    "read_labeled_texts",
    "summarize",
    "text_hashes",
]
