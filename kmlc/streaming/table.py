"""Reading a labelled table in chunks: `TableStream` (CSV / TSV, JSON Lines or Parquet, one
label column or label groups), with the text and label rules of `kmlc.data`.
"""

import warnings
from pathlib import Path

import numpy as np

from kmlc.data import (
    DEFAULT_LABEL_SEP,
    JSONL_OPTIONS,
    _labels_from_frame,
    _require_columns,
    _texts_from_frame,
    check_column_roles,
    check_data_file,
    check_label_sep,
    csv_options,
    detect_label_sep,
    parse_errors,
)
from kmlc.errors import KmlcDataWarning, KmlcInputError
from kmlc.groups import check_multiclass_rows

DEFAULT_CHUNK_ROWS = 50_000
# label_sep="auto" is decided on this many first rows, so the chunk size does not change it.
PEEK_ROWS = 1_000


# ----------------------------------------------------------------------------- reading


class TableStream:
    """A labelled table read in chunks: `chunks()` yields (first_row, texts, label_lists).

    Args:
        path: a .csv, .tsv, .jsonl or .parquet file (see `kmlc.data.READERS`).
        text_columns, label_column, label_sep: as `kmlc.data.read_labeled_texts`;
            "auto" decides the separator on the first `PEEK_ROWS` rows.
        label_schema: a `kmlc.groups.LabelSchema` to read label groups instead of one label
            column: a column per group (its name), each row's labels given as qualified
            "group:label" names; a multiclass group's rows are checked as `read_grouped_texts`
            checks them (`drop_invalid_rows` drops, and counts, the rows it would refuse).
        file_format: "csv", "tsv", "jsonl" or "parquet" when the name does not tell.
        chunk_rows: rows read at a time (the result of training does not depend on it).

    The file's existence, format, columns and first rows are checked here, before any work.
    """

    def __init__(self, path, text_columns=("text",), label_column="labels", label_sep=DEFAULT_LABEL_SEP, *,
                 label_schema=None, drop_invalid_rows=False, file_format=None, chunk_rows=DEFAULT_CHUNK_ROWS):
        if isinstance(text_columns, str):
            text_columns = (text_columns,)
        self.text_columns = tuple(text_columns)
        if not self.text_columns:
            raise KmlcInputError("Expected at least one text column, Received: none.")
        check_label_sep(label_sep)
        self.label_schema, self.drop_invalid_rows, self.invalid_rows = label_schema, bool(drop_invalid_rows), 0
        if label_schema is None:
            if not isinstance(label_column, str) or not label_column:
                raise KmlcInputError(f"Expected one label column name, Received: {label_column!r}.")
            self.label_columns = (label_column,)
        else:
            self.label_columns = tuple(label_schema.names)
        check_column_roles(self.text_columns, self.label_columns)
        self.chunk_rows = positive_int("chunk_rows", chunk_rows)
        self.source = str(path)
        self.path, self.kind = check_data_file(path, file_format)
        self.label_column = self.label_columns[0]
        head = self._head()
        _require_columns(head, list(self.text_columns) + list(self.label_columns), self.source)
        if len(head) == 0:
            raise KmlcInputError(
                f"Expected at least one data row, Received: a header only in '{self.source}' "
                f"(columns {list(map(str, head.columns))})."
            )
        cells = [cell for column in self.label_columns for cell in head[column].tolist()]
        self.label_sep = detect_label_sep(cells) if label_sep == "auto" else label_sep

    def droppable(self, label):
        """Whether `--min-label-count` may drop `label`: not a multiclass group's (its rows
        would be left without their one label)."""
        if self.label_schema is None:
            return True
        group = label.split(":", 1)[0]
        return self.label_schema[group].kind == "multilabel"

    def _head(self):
        import pandas as pd

        with parse_errors(self.path, self.source, self.kind):
            if self.kind in ("csv", "tsv"):
                return pd.read_csv(self.path, nrows=PEEK_ROWS, **csv_options(self.kind))
            if self.kind == "jsonl":
                return pd.read_json(self.path, nrows=PEEK_ROWS, **JSONL_OPTIONS)
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(self.path)
            batch = next(parquet.iter_batches(batch_size=PEEK_ROWS), None)
            return (batch if batch is not None else parquet.schema_arrow.empty_table()).to_pandas()

    def _reader(self):
        import pandas as pd

        if self.kind in ("csv", "tsv"):
            return pd.read_csv(self.path, chunksize=self.chunk_rows, **csv_options(self.kind))
        if self.kind == "jsonl":
            return pd.read_json(self.path, chunksize=self.chunk_rows, **JSONL_OPTIONS)
        import pyarrow.parquet as pq

        # Only the needed columns are decoded: the others never reach memory.
        columns = list(dict.fromkeys(self.text_columns + self.label_columns))
        batches = pq.ParquetFile(self.path).iter_batches(batch_size=self.chunk_rows, columns=columns)
        return (batch.to_pandas() for batch in batches)

    def frames(self):
        """(first_row, DataFrame) per chunk, parse errors reported as in `kmlc.data`."""

        with parse_errors(self.path, self.source, self.kind):
            reader = self._reader()
        iterator = iter(reader)
        first = 0
        try:
            while True:
                with parse_errors(self.path, self.source, self.kind):
                    frame = next(iterator, None)
                if frame is None:
                    return
                if len(frame):
                    yield first, frame
                    first += len(frame)
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()

    def chunks(self):
        """(first_row, texts, label_lists) per chunk; a bad row stops it with its row number.
        With a label schema, the label lists hold qualified "group:label" names; rows dropped
        as invalid are left out (and counted in `invalid_rows` on the first pass)."""

        counted = self.invalid_rows = 0
        for first, frame in self.frames():
            _require_columns(frame, list(self.text_columns) + list(self.label_columns), self.source)
            texts = _texts_from_frame(frame, self.text_columns, self.source, first_row=first)
            if self.label_schema is None:
                labels = _labels_from_frame(frame, self.label_column, self.label_sep, self.source, first_row=first)
            else:
                texts, labels, dropped = self._group_labels(frame, texts, first)
                counted += dropped
            yield first, texts, labels
        self.invalid_rows = counted

    def _group_labels(self, frame, texts, first):
        schema = self.label_schema
        columns = {g: _labels_from_frame(frame, g, self.label_sep, self.source, first_row=first) for g in schema.names}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KmlcDataWarning)  # counted, and said once by the caller
            columns, keep, _ = check_multiclass_rows(columns, schema, drop=self.drop_invalid_rows, where="data row",
                                                     offset=first + 1, source=self.source)
        labels = [[f"{g}:{label}" for g in schema.names for label in columns[g][i]] for i in range(len(keep))]
        return [texts[i] for i in keep], labels, len(texts) - len(keep)

    def identity(self):
        """What a resumed run must find again: the file (path, size, modification time) and
        how it is read (the chunk size changes nothing)."""
        stat = Path(self.path).stat()
        return {
            "path": str(Path(self.path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "format": self.kind, "text_columns": list(self.text_columns), "label_columns": list(self.label_columns),
            "label_sep": self.label_sep, "drop_invalid_rows": self.drop_invalid_rows,
        }

def positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise KmlcInputError(f"Expected {name} to be an integer >= {low}, Received: {value!r}.")
    return int(value)
