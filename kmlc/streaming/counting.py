"""The counting pass over a `TableStream` (`scan`, see `kmlc.streaming`): labels, n-grams,
the held-out validation rows and the samples, before any training.
"""

import dataclasses
import time
import warnings
from collections import Counter

import numpy as np

from kmlc.data import text_hashes
from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview
from kmlc.preprocessing.ngram_counts import NgramCounts
from kmlc.streaming.holdout import (
    _SAMPLE_SALT,
    _VALIDATION_SALT,
    _WEIGHT_SALT,
    _Smallest,
    _whole_texts,
    keys_of_hashes,
    row_keys,
)

DEFAULT_VALIDATION_ROWS = 20_000


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


def needs_label_rows(loss, loss_params):
    """True when the loss needs each training row's label ids: the distribution-balanced
    loss's `mu="auto"` (`auto_mu_from_rows`)."""
    from kmlc.losses import get_loss_defaults

    defaults = get_loss_defaults(loss)
    if "mu" not in defaults:
        return False
    mu = (loss_params or {}).get("mu", defaults["mu"])
    return isinstance(mu, str) and mu.strip().lower() == "auto"
