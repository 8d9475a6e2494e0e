"""The tf.data input pipeline shared by every model family."""

import numpy as np


def make_dataset(texts, preprocessor, labels=None, *, batch_size=32, shuffle=False, seed=0):
    """Batches of (features, labels) or features, with the preprocessor applied in tf.data.

    Strings are batched first and vectorised a batch at a time in parallel `map` calls;
    `prefetch` overlaps that with the model's step. Shuffling is seeded and reshuffles each
    epoch, so a seed gives the same order of batches on every run.
    """
    import tensorflow as tf

    texts = np.asarray(texts, dtype=object).astype(str)
    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(texts)
    else:
        ds = tf.data.Dataset.from_tensor_slices((texts, np.asarray(labels, dtype=np.float32)))
    if shuffle:
        ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    # The preprocessors are straight-line TensorFlow code: AutoGraph has nothing to convert,
    # and converting would re-read their source files (fragile, and slower to trace).
    if labels is None:
        transform = tf.autograph.experimental.do_not_convert(lambda x: preprocessor(x))
    else:
        transform = tf.autograph.experimental.do_not_convert(lambda x, y: (preprocessor(x), y))
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
