"""Data files: the formats kmlc reads, pandas' reading options, and clear errors for a
missing, empty, unparsable or non-UTF-8 file.
"""

import contextlib
import warnings
from pathlib import Path

import pandas as pd

from kmlc.errors import KmlcInputError

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
