"""Where the training rows come from: texts and labels in memory, or a table read in chunks.

A data source does for the pipeline (`kmlc.training.pipeline`) what depends on where the
rows are: checking them and taking the validation share (`split`), encoding the labels and
adapting the preprocessor (`fit_labels`), the statistics the loss needs, the training
batches of an epoch, and what a resumed run must find again (`identity`).
"""

import warnings

import numpy as np

from kmlc.data import check_texts, text_hashes
from kmlc.errors import KmlcDataWarning, KmlcInputError
from kmlc.families import get_family
from kmlc.groups import AUTO_WEIGHT_BATCH
from kmlc.preprocessing import drops_remainder, make_dataset, steps_per_epoch
from kmlc.splits import iterative_split, text_groups
from kmlc.streaming.counting import DEFAULT_VALIDATION_ROWS, needs_label_rows, scan
from kmlc.streaming.datasets import DEFAULT_SHUFFLE_ROWS, training_dataset
from kmlc.streaming.table import TableStream, positive_int


def check_validation_data(space, validation_data, drop_invalid_rows=False):
    """(texts, labels, notes) of a `validation_data=(texts, labels)` argument."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise KmlcInputError(
            f"Expected validation_data=(texts, labels), Received: {type(validation_data).__name__}."
        )
    texts, labels, notes = space.check(
        check_texts(validation_data[0], "validation texts"), validation_data[1], "validation labels",
        drop_invalid_rows=drop_invalid_rows,
    )
    if not texts:
        raise KmlcInputError("Expected at least one validation text, Received: none.")
    return texts, labels, notes


class InMemoryData:
    """Training texts and labels in memory (`TextClassifier.fit`). Without validation data,
    `validation_fraction` of them is held out by iterative stratification, copies of a text
    kept on one side."""

    streamed = False

    def __init__(self, texts, labels):
        self.texts, self.labels = texts, labels

    def split(self, clf, space, validation_data):
        texts, labels, notes = space.check(check_texts(self.texts), self.labels, drop_invalid_rows=clf.drop_invalid_rows)
        if len(texts) < 2:
            raise KmlcInputError(f"Expected at least 2 training texts, Received: {len(texts)}.")
        if validation_data is None:
            y = space.encoder().fit(labels).transform(labels)
            train_idx, val_idx = iterative_split(
                y, (1.0 - clf.validation_fraction, clf.validation_fraction), seed=clf.seed, groups=text_groups(texts)
            )
            self.val_texts, self.val_labels = [texts[i] for i in val_idx], space.subset(labels, val_idx)
            texts, labels = [texts[i] for i in train_idx], space.subset(labels, train_idx)
        else:
            self.val_texts, self.val_labels, val_notes = check_validation_data(space, validation_data, clf.drop_invalid_rows)
            notes = notes + val_notes
        self.train_texts, self.train_labels, self.notes = texts, labels, notes
        self.n_rows = len(texts)

    def fit_labels(self, clf, space, preprocessor):
        """The encoder of the training labels; the preprocessor adapted on the training texts."""
        encoder = space.encoder().fit(self.train_labels)
        self.y_train = encoder.transform(self.train_labels)
        preprocessor.adapt(self.train_texts)
        return encoder

    def training_labels_for_checks(self):
        return self.train_labels

    def loss_statistics(self, clf, space, encoder):
        return {"y_train": self.y_train, "n_rows": self.n_rows, "loss_params": dict(clf.loss_params or {}),
                "sample": (self.train_texts, self.y_train)}

    def steps_per_epoch(self, batch_size, distribution=None):
        if distribution is not None:
            return distribution.steps_per_epoch(self.n_rows)
        return steps_per_epoch(self.n_rows, batch_size, drops_remainder(self.n_rows, batch_size))

    def training_dataset(self, preprocessor, encoder, batch_size, seed):
        # Vectorised once (cached when it fits), reshuffled each epoch; the last partial batch
        # is dropped when an epoch has enough full ones (one compiled step shape).
        return make_dataset(
            self.train_texts, preprocessor, self.y_train, batch_size=batch_size, shuffle=True, seed=seed,
            cache="auto", drop_remainder=drops_remainder(self.n_rows, batch_size),
        )

    def identity(self):
        return [self.train_texts, self.train_labels]

    def in_memory_training(self):
        """(texts, label matrix) of the training rows: what the linear baseline fits on."""
        return self.train_texts, self.y_train

    def training_text_hashes(self):
        return np.unique(text_hashes(self.train_texts))

    def summary(self, clf):
        return None

    def record(self, clf):
        """Source-specific fitted attributes of the classifier (none in memory)."""


class StreamedData:
    """A table read in chunks, never whole in memory (`TextClassifier.fit_stream`; see
    `kmlc.streaming`): one counting pass, then one pass per epoch."""

    streamed = True

    def __init__(self, source, *, sample_rows=None, validation_rows=None, shuffle_rows=None, min_label_count=None,
                 label_schema=None, drop_invalid_rows=False):
        self.stream = source if isinstance(source, TableStream) else TableStream(
            source, label_schema=label_schema, drop_invalid_rows=drop_invalid_rows)
        self.sample_rows = sample_rows
        self.validation_rows = DEFAULT_VALIDATION_ROWS if validation_rows is None else validation_rows
        self.shuffle_rows = DEFAULT_SHUFFLE_ROWS if shuffle_rows is None else shuffle_rows
        self.min_label_count = min_label_count

    def split(self, clf, space, validation_data):
        if (self.stream.label_schema is not None) != space.grouped or (
                space.grouped and self.stream.label_schema.names != space.schema.names):
            raise KmlcInputError(
                f"Expected the stream to read the classifier's labels, Received: a stream of the columns "
                f"{list(self.stream.label_columns)} for label_groups={clf.label_groups!r}. Give the table's "
                "path (the stream is opened for the label groups), or a TableStream(label_schema=...)."
            )
        if self.sample_rows is not None:
            self.sample_rows = positive_int("the adapt sample (stream_sample_rows)", self.sample_rows)
            if not get_family(clf.model).learns_vocabulary:
                raise KmlcInputError(
                    f"Expected no adapt sample for model '{clf.model}' (only TF-IDF learns a vocabulary), "
                    f"Received: stream_sample_rows={self.sample_rows}."
                )
        self.shuffle_rows = positive_int("the shuffle window (stream_shuffle_rows)", self.shuffle_rows)
        self.validation_rows = positive_int("the held-out validation rows (stream_validation_rows)",
                                            self.validation_rows, low=0 if validation_data is not None else 1)
        if self.min_label_count is not None:
            self.min_label_count = positive_int("min_label_count", self.min_label_count)
        self.given_validation = validation_data is not None
        self.notes, self.n_rows = [], None
        if validation_data is not None:
            self.val_texts, self.val_labels, self.notes = check_validation_data(space, validation_data)

    def fit_labels(self, clf, space, preprocessor):
        """The counting pass: labels counted, the vocabulary adapted, validation held out."""

        learns = get_family(clf.model).learns_vocabulary
        auto_weights = space.grouped and space.schema.auto_weights
        result = scan(
            self.stream, seed=clf.seed, hold_out=not self.given_validation,
            validation_fraction=clf.validation_fraction, validation_rows=self.validation_rows,
            preprocessor=preprocessor if learns else None, sample_rows=self.sample_rows,
            collect_label_rows=needs_label_rows(clf.loss, clf.loss_params), min_label_count=self.min_label_count,
            weight_sample_rows=AUTO_WEIGHT_BATCH if auto_weights else 0,
        )
        self.result, self.learns_vocabulary = result, learns
        if self.stream.invalid_rows:
            note = (f"dropped {self.stream.invalid_rows} row(s) without exactly one multiclass label from "
                    f"'{self.stream.source}'")
            warnings.warn(note, KmlcDataWarning, stacklevel=4)
            self.notes = [*self.notes, note]
        if not self.given_validation:
            self.val_texts, self.val_labels = result.validation_texts, space.from_tokens(result.validation_labels)
        elif result.dropped_labels:
            rare = set(result.dropped_labels)
            self.val_labels = space.from_tokens([[t for t in row if t not in rare] for row in space.tokens(self.val_labels)])
        if result.training_rows < 1:
            raise KmlcInputError(f"Expected at least 1 training row, Received: none in '{self.stream.source}'.")
        self.n_rows = result.training_rows
        return space.encoder_from_counts(result.label_counts, result.training_rows)

    def training_labels_for_checks(self):
        # One "row" holding every training label: the checks look at the distinct labels only.
        return [list(self.result.label_counts)]

    def loss_statistics(self, clf, space, encoder):
        stats = {"y_train": None, "n_rows": self.n_rows, "loss_params": dict(clf.loss_params or {})}
        if self.result.label_rows is not None:
            names, ids, lengths = self.result.label_rows
            index = {label: i for i, label in enumerate(encoder.vocabulary_)}
            # The first-seen ids as the encoder's columns; dropped labels leave their rows.
            column = np.array([index.get(name, -1) for name in names] + [-1], np.int64)[ids]
            owner = np.repeat(np.arange(len(lengths)), lengths)[column >= 0]
            stats["label_rows"] = (column[column >= 0], np.bincount(owner, minlength=len(lengths)))
        if self.result.weight_sample is not None:
            texts, tokens = self.result.weight_sample
            stats["sample"] = (texts, encoder.transform(space.from_tokens(tokens), unknown="ignore"))
        return stats

    def steps_per_epoch(self, batch_size, distribution=None):
        if distribution is not None and distribution.replicas > 1:
            return distribution.steps_per_epoch(self.n_rows)
        return -(-self.n_rows // batch_size)  # the last partial batch is read too

    def training_dataset(self, preprocessor, encoder, batch_size, seed):
        label_index = {label: i for i, label in enumerate(encoder.vocabulary_)}
        return training_dataset(self.stream, self.result, label_index, preprocessor, batch_size=batch_size,
                                shuffle_rows=self.shuffle_rows, seed=seed)

    def identity(self):
        run = {"stream": self.stream.identity(), "sample_rows": self.sample_rows,
               "validation_rows": self.validation_rows, "shuffle_rows": self.shuffle_rows,
               "min_label_count": self.min_label_count}
        return [[run], []]

    def training_text_hashes(self):
        return self.result.training_text_hashes

    def in_memory_training(self):
        return None  # never whole in memory: the linear baseline is not fitted on a stream

    def summary(self, clf):
        result = self.result
        return (
            f"streamed '{self.stream.source}': {result.rows} rows in {result.chunks} chunk(s) ({result.seconds:.1f} s); "
            f"training on {result.training_rows}, validating on {len(self.val_texts)} "
            f"({'given' if self.given_validation else 'held out by a hash of seed and text'})"
            + (f"; TF-IDF vocabulary from {result.adapt_rows} rows" if self.learns_vocabulary else "")
            + f"; {len(clf.labels_)} labels"
        )

    def record(self, clf):
        result, stream = self.result, self.stream
        clf.stream_info_ = {
            "source": stream.source, "format": stream.kind, "rows": result.rows, "chunks": result.chunks,
            "chunk_rows": stream.chunk_rows, "training_rows": result.training_rows,
            "validation_rows": len(self.val_texts), "validation": "given" if self.given_validation else "held_out",
            "validation_cut": result.validation_cut, "adapt_rows": result.adapt_rows if self.learns_vocabulary else None,
            "sample_rows": self.sample_rows, "shuffle_rows": self.shuffle_rows, "label_sep": stream.label_sep,
            "dropped_labels": result.dropped_labels, "scan_seconds": round(result.seconds, 3),
        }
        clf.stream_validation_ = (self.val_texts, self.val_labels)
        clf.stream_validation_rows_ = result.validation_rows
