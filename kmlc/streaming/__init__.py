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

# The modules of the package, one concern each: table (`TableStream`: the file read in chunks),
# holdout (the seeded hash keys and reservoirs that choose the held-out and sampled rows),
# counting (`scan`: the counting pass), datasets (each epoch's training rows as a `tf.data`
# pipeline), config (a `kmlc train --stream` config's stream). Every name is importable from
# kmlc.streaming, as before the split.
from kmlc.preprocessing.ngram_counts import NgramCounts  # also kmlc.streaming.NgramCounts
from kmlc.streaming.config import CONFIG_KEYS, open_config_stream
from kmlc.streaming.counting import (
    DEFAULT_VALIDATION_ROWS,
    ScanResult,
    needs_label_rows,
    scan,
)
from kmlc.streaming.datasets import (
    DEFAULT_SHUFFLE_ROWS,
    training_chunks,
    training_dataset,
)
from kmlc.streaming.holdout import _SAMPLE_SALT as _SAMPLE_SALT
from kmlc.streaming.holdout import _VALIDATION_SALT as _VALIDATION_SALT
from kmlc.streaming.holdout import _WEIGHT_SALT as _WEIGHT_SALT
from kmlc.streaming.holdout import _mix as _mix
from kmlc.streaming.holdout import _Smallest as _Smallest
from kmlc.streaming.holdout import _whole_texts as _whole_texts
from kmlc.streaming.holdout import keys_of_hashes, row_keys
from kmlc.streaming.table import (
    DEFAULT_CHUNK_ROWS,
    PEEK_ROWS,
    TableStream,
    positive_int,
)

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_SHUFFLE_ROWS",
    "DEFAULT_VALIDATION_ROWS",
    "PEEK_ROWS",
    "NgramCounts",
    "ScanResult",
    "TableStream",
    "keys_of_hashes",
    "needs_label_rows",
    "open_config_stream",
    "positive_int",
    "row_keys",
    "scan",
    "training_chunks",
    "training_dataset",
]
