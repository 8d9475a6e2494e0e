"""Training on a table larger than memory: `kmlc train --stream`, `TextClassifier.fit_stream`.

A :class:`TableStream` reads a CSV / TSV, JSON Lines or Parquet file in chunks of `chunk_rows`
rows (pandas' chunked readers, pyarrow's `iter_batches`), with the text and label rules of
`kmlc.data` and its error messages (row numbers count from the start of the file).

`TextClassifier.fit_stream` (through `kmlc.training.sources.StreamedData`) reads the file once
to count, then once per epoch to train:

1. **The counting pass** checks every row (before any training) and counts the labels, the
   TF-IDF n-grams' term and document frequencies (merged chunk by chunk: exactly the vocabulary
   and IDF that `TfidfPreprocessor.adapt` learns from all training rows at once) and, for the
   distribution-balanced loss with `mu="auto"`, each training row's label ids. With
   `sample_rows=N` the vocabulary is adapted on a seeded sample of N training rows instead
   (reservoir sampling by a hash of seed and row: the same rows whatever the chunk size).
2. **Validation** is `validation_data` when given (in memory). Otherwise a held-out share of the
   streamed rows: the `validation_fraction` share of the rows, but at most `validation_rows`, is
   held out: the rows with the smallest hash of (seed, text). The hash makes the choice the
   same on every pass and for every chunk size, and puts every copy of a text on the same side
   (a copy of the text whose hash is the cut may be left out of both); those rows are kept in
   memory and never trained on. Beyond the cap, the held-out share shrinks (every other row
   trains). The choice is random, not stratified: a rare label can be missing from the
   validation rows.
3. **Training** reads the file again each epoch through `tf.data` (a generator over chunks,
   then rows): a seeded shuffle window of `shuffle_rows` rows, reshuffled each epoch, batches,
   the preprocessor and the multi-hot labels in a parallel `map`, prefetch; no cache. The
   number of steps an epoch is known from the counting pass. Rows are mixed within the window
   only: shuffle a file sorted by label or date once before training.

In memory at any time: a chunk, the shuffle window and the prefetched batches, the validation
rows, the label counts, the n-gram counts (one entry per distinct n-gram of the training rows:
they grow with the vocabulary, not with the rows; `sample_rows` bounds them), with `mu="auto"`
the training rows' label ids (4 bytes a label and 4 a row), and the network.
"""

import dataclasses
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from kmlc.data import DEFAULT_LABEL_SEP, text_hashes
from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview
from kmlc.preprocessing.tfidf import NgramCounts  # noqa: F401  (also kmlc.streaming.NgramCounts)

DEFAULT_CHUNK_ROWS = 50_000
DEFAULT_SHUFFLE_ROWS = 50_000
DEFAULT_VALIDATION_ROWS = 20_000
# label_sep="auto" is decided on this many first rows, so the chunk size does not change it.
PEEK_ROWS = 1_000
# The validation rows (by text) and the adapt sample (by row number) are drawn by independent hashes.
_VALIDATION_SALT = 1
_SAMPLE_SALT = 2
_WEIGHT_SALT = 3
# The config keys of `kmlc train` (None: the default above).
CONFIG_KEYS = ("stream_sample_rows", "stream_validation_rows", "stream_chunk_rows", "stream_shuffle_rows")


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
        from kmlc.data import _require_columns, check_column_roles, check_data_file, check_label_sep, detect_label_sep

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

        from kmlc.data import JSONL_OPTIONS, csv_options, parse_errors

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

        from kmlc.data import JSONL_OPTIONS, csv_options

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
        from kmlc.data import parse_errors

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
        from kmlc.data import _labels_from_frame, _require_columns, _texts_from_frame

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
        from kmlc.data import _labels_from_frame
        from kmlc.groups import check_multiclass_rows

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


# ----------------------------------------------------------------------------- seeded choices


def _mix(x):
    """splitmix64's finaliser: a bijection of uint64 that scrambles every bit."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def keys_of_hashes(hashes, seed, salt):
    """A pseudo-random 64-bit key per text hash (`kmlc.data.text_hashes`), from (seed, salt):
    equal texts, equal keys."""
    offset = _mix(np.array([(int(seed) * 8 + int(salt)) % 2**64], dtype=np.uint64))
    with np.errstate(over="ignore"):
        return _mix(np.asarray(hashes, dtype=np.uint64) + offset[0])


def row_keys(rows, seed, salt):
    """A pseudo-random 64-bit key per row number, from (seed, salt) only: the same on every
    pass and for any chunking, and distinct for distinct rows (a bijection of the row)."""
    offset = _mix(np.array([(int(seed) * 8 + int(salt)) % 2**64], dtype=np.uint64))
    with np.errstate(over="ignore"):
        return _mix(np.asarray(rows, dtype=np.int64).astype(np.uint64) + offset[0])


class _Smallest:
    """The `k` rows with the smallest keys offered so far, with their payloads: a reservoir
    whose content does not depend on how the rows were grouped into chunks."""

    def __init__(self, k):
        self.k = int(k)
        # The smallest key ever turned away or evicted: every row with a smaller key is held.
        self.dropped_min = np.uint64(np.iinfo(np.uint64).max)
        self.keys = np.empty(0, np.uint64)
        self.rows = np.empty(0, np.int64)
        self.items = []

    def offer(self, keys, rows, *payloads):
        if self.k == 0:
            return
        take = np.arange(len(keys)) if len(self.keys) < self.k else np.flatnonzero(keys < self.keys.max())
        if len(take) < len(keys):
            self.dropped_min = min(self.dropped_min, np.delete(keys, take).min())
        self.keys = np.concatenate([self.keys, keys[take]])
        self.rows = np.concatenate([self.rows, rows[take]])
        self.items += [tuple(payload[i] for payload in payloads) for i in take]
        if len(self.keys) > self.k:
            keep = np.argpartition(self.keys, self.k - 1)[: self.k]
            self.dropped_min = min(self.dropped_min, np.delete(self.keys, keep).min())
            self.keys, self.rows = self.keys[keep], self.rows[keep]
            self.items = [self.items[i] for i in keep]

    def smallest(self, m, exclude=None):
        """Positions of the `m` smallest keys (optionally not in the row set `exclude`), in
        row order."""
        candidates = np.arange(len(self.keys))
        if exclude is not None and len(exclude):
            candidates = candidates[~np.isin(self.rows, exclude)]
        m = min(int(m), len(candidates))
        if m == 0:
            return candidates[:0]
        chosen = candidates[np.argpartition(self.keys[candidates], m - 1)[:m]]
        return chosen[np.argsort(self.rows[chosen])]


def _whole_texts(held, chosen, source):
    """(positions, cut): `chosen` grown or shrunk so that the held-out rows are every row whose
    key is at most the cut, so every copy of a text is on one side. The reservoir holds every
    row with a key below the smallest it dropped, so only copies of that key can be missing:
    that text is then left to training."""
    cut = held.keys[chosen].max()
    if cut >= held.dropped_min:
        below = held.keys < cut
        if not below.any():
            raise KmlcInputError(
                f"Expected more than one distinct text to hold out for validation, Received: "
                f"'{source}', whose held-out share would be copies of one text. Give --val."
            )
        cut = held.keys[below].max()
    chosen = np.flatnonzero(held.keys <= cut)
    return chosen[np.argsort(held.rows[chosen])], int(cut)


# ----------------------------------------------------------------------------- counting


@dataclasses.dataclass
class ScanResult:
    """What the counting pass learned (see `scan`)."""

    rows: int
    chunks: int
    label_counts: Counter  # training rows only
    validation_cut: object  # None, or the largest held-out key: rows with key <= cut are held out
    validation_rows: np.ndarray  # row numbers held out, ascending
    validation_texts: list
    validation_labels: list
    adapt_rows: int
    label_rows: tuple = None  # (label names, ids of every label occurrence, labels per row), training rows
    dropped_labels: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    training_text_hashes: np.ndarray = None  # sorted unique `kmlc.data.text_hashes` of the training rows
    weight_sample: tuple = None  # (texts, label lists) of a seeded sample of training rows

    @property
    def training_rows(self):
        return self.rows - len(self.validation_rows)


def scan(stream, *, seed=0, hold_out=True, validation_fraction=0.2, validation_rows=DEFAULT_VALIDATION_ROWS,
         preprocessor=None, sample_rows=None, collect_label_rows=False, min_label_count=None, weight_sample_rows=0):
    """The counting pass over `stream` (see the module docstring); adapts `preprocessor`
    (a `TfidfPreprocessor`, or None for a family with nothing to learn) on the training rows
    or on a seeded sample of `sample_rows` of them; keeps a seeded sample of
    `weight_sample_rows` training rows (label groups' "auto" weights measure their initial
    losses on it)."""
    started = time.perf_counter()
    totals = Counter()
    held = _Smallest(validation_rows if hold_out else 0)
    # A sample of training rows: the smallest sample keys among at most `held.k` more rows.
    sample = _Smallest(sample_rows + held.k) if (sample_rows and preprocessor is not None) else None
    weighing = _Smallest(weight_sample_rows + held.k) if weight_sample_rows else None
    ngrams = NgramCounts(preprocessor) if (preprocessor is not None and sample is None) else None
    names, ids, lengths, hashes = {}, [], [], []
    n_rows = n_chunks = 0
    for _, texts, labels in stream.chunks():
        # Rows are numbered as read (a row dropped as invalid has no number): the same on every pass.
        rows = np.arange(n_rows, n_rows + len(texts), dtype=np.int64)
        for row in labels:
            totals.update(row)
        if collect_label_rows:
            ids.append(np.fromiter((names.setdefault(label, len(names)) for row in labels for label in row), np.int32))
            lengths.append(np.fromiter((len(row) for row in labels), np.int32, len(labels)))
        if ngrams is not None:
            ngrams.add(texts)
        chunk_hashes = text_hashes(texts)
        hashes.append(chunk_hashes)
        held.offer(keys_of_hashes(chunk_hashes, seed, _VALIDATION_SALT), rows, texts, labels)
        if sample is not None:
            sample.offer(row_keys(rows, seed, _SAMPLE_SALT), rows, texts)
        if weighing is not None:
            weighing.offer(row_keys(rows, seed, _WEIGHT_SALT), rows, texts, labels)
        n_rows += len(texts)
        n_chunks += 1

    cut, val_rows, val_texts, val_labels = None, np.empty(0, np.int64), [], []
    if hold_out:
        if n_rows < 2:
            raise KmlcInputError(
                f"Expected at least 2 rows to hold some out for validation, Received: {n_rows} in "
                f"'{stream.source}'. Give more rows, or validation data (--val)."
            )
        count = min(held.k, max(1, int(round(validation_fraction * n_rows))), n_rows - 1)
        chosen, cut = _whole_texts(held, held.smallest(count), stream.source)
        val_rows = held.rows[chosen]
        val_texts = [held.items[i][0] for i in chosen]
        val_labels = [held.items[i][1] for i in chosen]

    dropped = []
    if min_label_count:
        # As --min-label-count in memory: counted over every row, before validation is held out.
        dropped = sorted(label for label, n in totals.items() if n < min_label_count and stream.droppable(label))
        if dropped:
            rare = set(dropped)
            val_labels = [[label for label in row if label not in rare] for row in val_labels]
            warnings.warn(
                f"dropped {len(dropped)} label(s) with fewer than {min_label_count} examples: {_preview(dropped, 10)}",
                KmlcDataWarning,
                stacklevel=3,
            )
    counts = Counter(totals)
    counts.subtract(label for row in val_labels for label in row)
    for label in dropped:
        counts.pop(label, None)

    training = np.ones(n_rows, bool)
    training[val_rows] = False
    hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
    training_text_hashes = np.unique(hashes[training])
    label_rows = None
    if collect_label_rows:
        ids = np.concatenate(ids) if ids else np.empty(0, np.int32)
        lengths = np.concatenate(lengths) if lengths else np.empty(0, np.int32)
        # Training rows only: drop the held-out rows' entries.
        owner = np.repeat(np.arange(n_rows), lengths)
        ids, lengths = ids[training[owner]], lengths[training]
        label_rows = (list(names), ids, lengths)

    adapt_rows = n_rows - len(val_rows)
    if ngrams is not None:
        ngrams.add(val_texts, sign=-1).install()
    elif sample is not None:
        chosen = sample.smallest(sample_rows, exclude=val_rows)
        adapt_rows = len(chosen)
        preprocessor.adapt([sample.items[i][0] for i in chosen])
    weight_sample = None
    if weighing is not None:
        chosen = weighing.smallest(weight_sample_rows, exclude=val_rows)
        rare = set(dropped)
        weight_sample = ([weighing.items[i][0] for i in chosen],
                         [[label for label in weighing.items[i][1] if label not in rare] for i in chosen])
    return ScanResult(
        weight_sample=weight_sample,
        rows=n_rows, chunks=n_chunks, label_counts=counts, validation_cut=cut, validation_rows=val_rows,
        validation_texts=val_texts, validation_labels=val_labels, adapt_rows=adapt_rows, label_rows=label_rows,
        dropped_labels=dropped, seconds=time.perf_counter() - started, training_text_hashes=training_text_hashes,
    )


def training_chunks(stream, validation_cut, seed):
    """(row numbers, texts, label lists) per chunk of the rows that train: all but the rows
    whose validation key is at most `validation_cut` (None: all rows). Rows are numbered as
    `scan` numbers them."""
    start = 0
    for _, texts, labels in stream.chunks():
        rows = np.arange(start, start + len(texts), dtype=np.int64)
        start += len(texts)
        if validation_cut is not None:
            keys = keys_of_hashes(text_hashes(texts), seed, _VALIDATION_SALT)
            train = np.flatnonzero(keys > np.uint64(validation_cut))
            if len(train) < len(rows):
                rows, texts, labels = rows[train], [texts[i] for i in train], [labels[i] for i in train]
        yield rows, texts, labels


def needs_label_rows(loss, loss_params):
    """True when the loss needs each training row's label ids: the distribution-balanced
    loss's `mu="auto"` (`auto_mu_from_rows`)."""
    from kmlc.losses import get_loss_defaults

    defaults = get_loss_defaults(loss)
    if "mu" not in defaults:
        return False
    mu = (loss_params or {}).get("mu", defaults["mu"])
    return isinstance(mu, str) and mu.strip().lower() == "auto"


# ----------------------------------------------------------------------------- tf.data


def training_dataset(stream, result, label_index, preprocessor, *, batch_size, shuffle_rows, seed):
    """The training pipeline: the file's training rows, read again every epoch."""
    import tensorflow as tf

    num_labels = len(label_index)

    def generate():
        for _, texts, labels in training_chunks(stream, result.validation_cut, seed):
            ids = [[label_index[label] for label in row if label in label_index] for row in labels]
            # Label ids padded with -1 (one_hot of -1 is a row of zeros): a [rows, labels]
            # multi-hot chunk would not fit in memory for 10,000 labels.
            padded = np.full((len(ids), max([1] + [len(row) for row in ids])), -1, np.int32)
            for i, row in enumerate(ids):
                padded[i, : len(row)] = row
            yield np.asarray(texts, dtype=object), padded

    ds = tf.data.Dataset.from_generator(
        generate,
        output_signature=(tf.TensorSpec([None], tf.string), tf.TensorSpec([None, None], tf.int32)),
    )
    # Row by row, so neither the shuffle nor the batches depend on the chunk size.
    ds = ds.unbatch().shuffle(shuffle_rows, seed=seed, reshuffle_each_iteration=True)
    ds = ds.padded_batch(batch_size, padded_shapes=([], [None]), padding_values=("", -1))
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-result.training_rows // batch_size)))

    def features(texts, ids):
        return preprocessor(texts), tf.reduce_sum(tf.one_hot(ids, num_labels, dtype=tf.float32), axis=1)

    ds = ds.map(tf.autograph.experimental.do_not_convert(features), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------- fit


def positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise KmlcInputError(f"Expected {name} to be an integer >= {low}, Received: {value!r}.")
    return int(value)


# ----------------------------------------------------------------------------- command line


def open_config_stream(config, demo_data):
    """The `TableStream` of a `kmlc train` config with `stream: true` (None without it), or a
    clear error for a setting that does not go with streaming: before any work."""
    given = [key for key in CONFIG_KEYS if config.get(key) is not None]
    if not config.get("stream"):
        if given:
            flags = [f"--{key.replace('_', '-')}" for key in given]
            raise KmlcInputError(f"Expected --stream with {flags}, Received: no --stream.")
        return None
    if config.get("data") in (None, demo_data):
        raise KmlcInputError(
            "Expected --data FILE (.csv, .tsv, .jsonl or .parquet) with --stream, Received: the bundled "
            "demo data, which is generated in memory."
        )
    if config.get("drop_duplicates"):
        raise KmlcInputError(
            "Expected no --drop-duplicates with --stream (finding repeated texts needs them all in memory), "
            "Received: --drop-duplicates. Remove duplicates from the file first, or train without --stream."
        )
    from kmlc.families import get_family

    if config.get("stream_sample_rows") is not None and not get_family(config.get("model", "tfidf")).learns_vocabulary:
        raise KmlcInputError(
            f"Expected no --stream-sample-rows with --model {config.get('model')} (only TF-IDF learns a "
            f"vocabulary), Received: --stream-sample-rows {config['stream_sample_rows']}."
        )
    for key in CONFIG_KEYS:
        if config.get(key) is not None:
            low = 0 if (key == "stream_validation_rows" and config.get("val")) else 1
            positive_int(f"--{key.replace('_', '-')}", config[key], low=low)
    from kmlc.data import DEFAULT_LABEL_SEP

    from kmlc.groups import LabelSchema

    label_sep = DEFAULT_LABEL_SEP if config.get("label_sep") is None else config["label_sep"]
    schema = LabelSchema.parse(config["label_groups"], config.get("group_weights")) if config.get("label_groups") else None
    return TableStream(
        config["data"], config.get("text_columns") or ["text"], config.get("label_column") or "labels",
        label_sep, label_schema=schema, drop_invalid_rows=bool(config.get("drop_invalid_rows")),
        chunk_rows=config.get("stream_chunk_rows") or DEFAULT_CHUNK_ROWS,
    )
