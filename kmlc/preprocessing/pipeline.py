"""The tf.data input pipeline shared by every model family."""

import numpy as np

# "auto" caches the vectorised examples in memory when they are estimated to take at most
# this many bytes (the estimate comes from vectorising the first texts).
CACHE_BUDGET_BYTES = 2 * 1024**3
# Texts vectorised per `map` call when the examples are cached: large chunks make the one
# pass cheap (the cost is per call), and the chunk size does not change the result.
ENCODE_CHUNK = 1024


def _no_autograph(function):
    import tensorflow as tf

    # The preprocessors are straight-line TensorFlow code: AutoGraph has nothing to convert,
    # and converting would re-read their source files (fragile, and slower to trace).
    return tf.autograph.experimental.do_not_convert(function)


def _nbytes(structure):
    import tensorflow as tf

    total = 0
    for tensor in tf.nest.flatten(structure, expand_composites=True):
        total += int(tf.size(tensor)) * tensor.dtype.size
    return total


def _cache_fits(texts, encode):
    """Whether the encoded `texts` are estimated to fit in CACHE_BUDGET_BYTES."""
    import tensorflow as tf

    sample = texts[: min(len(texts), 256)]
    if len(sample) == 0:
        return True
    per_text = _nbytes(encode(tf.constant(sample))) / len(sample)
    return per_text * len(texts) <= CACHE_BUDGET_BYTES


def make_dataset(texts, preprocessor, labels=None, *, batch_size=32, shuffle=False, seed=0, cache=False):
    """Batches of (features, labels) or features, with the preprocessor applied in tf.data.

    Without caching, strings are batched and vectorised a batch at a time in parallel `map`
    calls, and `prefetch` overlaps that with the model's step (prediction, one pass).

    With `cache` (True, or "auto": when the vectorised examples are estimated to fit in
    `CACHE_BUDGET_BYTES`) and a preprocessor that splits into `encode` (strings -> per-text
    features) and `collate` (a batch of them -> the network input), as the TF-IDF one does:
    the texts are vectorised once, in large parallel chunks; the per-text features (labels
    beside them) are cached in memory; each epoch then shuffles the cached examples, batches
    them (ragged where their lengths differ) and collates each batch. Shuffling is seeded and
    reshuffles each epoch over all examples, so a seed gives the same batches on every run,
    the same ones as without the cache. A preprocessor without `encode`/`collate` gets the
    uncached pipeline.
    """
    import tensorflow as tf

    texts = np.asarray(texts, dtype=object).astype(str)
    labels = None if labels is None else np.asarray(labels, dtype=np.float32)
    encode, collate = getattr(preprocessor, "encode", None), getattr(preprocessor, "collate", None)
    if cache and encode is not None and collate is not None:
        if cache == "auto":
            cache = _cache_fits(texts, encode)
    else:
        cache = False

    if not cache:
        ds = tf.data.Dataset.from_tensor_slices(texts if labels is None else (texts, labels))
        if shuffle:
            ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        return _map_features(ds.batch(batch_size), preprocessor, with_labels=labels is not None)

    # One pass of vectorisation, then per-example features in memory.
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(ENCODE_CHUNK)
    ds = ds.map(_no_autograph(lambda x: encode(x)), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.unbatch()
    if labels is not None:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(labels)))
    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    variable = any(
        spec.shape.rank is None or None in spec.shape.as_list()
        for spec in tf.nest.flatten(ds.element_spec, expand_composites=False)
    )
    ds = ds.ragged_batch(batch_size) if variable else ds.batch(batch_size)
    # unbatch() hides the length; Keras needs it to count the steps of an epoch.
    ds = ds.apply(tf.data.experimental.assert_cardinality(-(-len(texts) // batch_size)))
    return _map_features(ds, collate, with_labels=labels is not None)


def _map_features(ds, function, with_labels):
    """Applies `function` to the features of each batch (labels pass through), in parallel
    and in order, and prefetches."""
    import tensorflow as tf

    if with_labels:
        transform = _no_autograph(lambda x, y: (function(x), y))
    else:
        transform = _no_autograph(lambda x: function(x))
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
