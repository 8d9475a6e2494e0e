"""The training rows read again every epoch: `training_chunks` (the rows `scan` did not hold
out) and `training_dataset` (the `tf.data` pipeline over them).
"""

import numpy as np

from kmlc.data import text_hashes
from kmlc.streaming.holdout import _VALIDATION_SALT, keys_of_hashes

DEFAULT_SHUFFLE_ROWS = 50_000


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
