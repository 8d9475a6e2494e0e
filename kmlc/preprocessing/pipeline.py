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
    if labels is None:
        ds = ds.map(preprocessor, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        ds = ds.map(
            lambda x, y: (preprocessor(x), y),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.prefetch(tf.data.AUTOTUNE)
