"""The tf.data input pipeline shared by every model family."""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# "auto" caches the vectorised examples in memory when they are estimated to take at most
# this many bytes (from the preprocessor's bound on the texts' lengths, or else from
# vectorising the first texts).
CACHE_BUDGET_BYTES = 2 * 1024**3
# Texts vectorised per call when the examples are cached: large chunks make the one pass
# cheap (the cost is per call), and the chunk size does not change the result.
ENCODE_CHUNK = 1024
# At most this many threads run those calls (TensorFlow's eager ops release the GIL).
ENCODE_THREADS = 8
# Training skips each epoch's last partial batch from this many full batches on.
MIN_BATCHES_TO_DROP = 10


def text_array(texts):
    """`texts` as a 1-D object array of Python strings, what `tf.constant` and
    `from_tensor_slices` take without a copy. (Not `.astype(str)`: a fixed-width unicode
    array is as wide as the longest text, 211 MB for 6k Reuters articles, and converting it
    took 2.5 s where this takes milliseconds.)"""
    texts = np.ravel(np.asarray(texts if isinstance(texts, (list, tuple, np.ndarray)) else list(texts), dtype=object))
    array = np.empty(len(texts), dtype=object)
    array[:] = [text if type(text) is str else str(text) for text in texts]
    return array


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


def _cache_fits(texts, encode, preprocessor=None):
    """Whether the encoded `texts` are estimated to fit in CACHE_BUDGET_BYTES: by the
    preprocessor's upper bound from the texts alone when it has one and that suffices (no
    text is vectorised twice), else from vectorising the first texts."""
    import tensorflow as tf

    bound = getattr(preprocessor, "encoded_bytes_bound", None)
    if bound is not None and bound(texts) <= CACHE_BUDGET_BYTES:
        return True
    sample = texts[: min(len(texts), 256)]
    if len(sample) == 0:
        return True
    per_text = _nbytes(encode(tf.constant(sample))) / len(sample)
    return per_text * len(texts) <= CACHE_BUDGET_BYTES


def encode_all(texts, encode):
    """`encode` over all `texts` (a 1-D object array), eagerly, ENCODE_CHUNK texts a call, on
    one thread per core; the chunks' features concatenated in order. Eager, not a
    `tf.function` in a `tf.data` map: tracing the TF-IDF encoder cost 0.3 s per process,
    more than its whole run on Reuters' validation set."""
    import tensorflow as tf

    starts = range(0, len(texts), ENCODE_CHUNK)

    def run(start):
        return encode(tf.constant(texts[start : start + ENCODE_CHUNK]))

    workers = min(len(starts), os.cpu_count() or 1, ENCODE_THREADS)
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="kmlc-encode") as pool:
            parts = list(pool.map(run, starts))
    else:
        parts = [run(start) for start in starts]
    if len(parts) == 1:
        return parts[0]
    return tf.nest.map_structure(lambda *pieces: tf.concat(pieces, axis=0), *parts)


def make_dataset(texts, preprocessor, labels=None, *, batch_size=32, shuffle=False, seed=0, cache=False,
                 drop_remainder=False, one_batch_entries=None):
    """Batches of (features, labels) or features, with the preprocessor applied in tf.data.

    Without caching, strings are batched and vectorised a batch at a time in parallel `map`
    calls, and `prefetch` overlaps that with the model's step (prediction, one pass).

    With `cache` (True, or "auto": when the vectorised examples are estimated to fit in
    `CACHE_BUDGET_BYTES`) and a preprocessor that splits into `encode` (strings -> per-text
    features) and `collate` (a batch of them -> the network input), as the TF-IDF one does:
    the texts are vectorised once, in large parallel chunks, when the dataset is made; the
    per-text features (ragged where their lengths differ) are kept in memory; each epoch
    then shuffles the example indices, gathers each batch's features and labels and collates
    them. Shuffling is seeded and reshuffles each epoch over all examples, so a seed gives
    the same batches on every run, the same ones as without the cache. A preprocessor
    without `encode`/`collate` gets the uncached pipeline.

    Cached flat sparse batches (a preprocessor with `flat_batches`) are all padded to one
    entry count, from the examples' sizes (`batch_entries`), so a compiled step sees one
    input shape per run instead of a new one for each bucket a batch total falls in (each
    XLA compile costs about a second on 2 cores; Reuters epochs met 3-4 of them).

    `drop_remainder`: when there are more texts than `batch_size`, the last partial batch of
    each epoch is left out (training: its rows differ every epoch, as the order is
    reshuffled, and its shape would need its own compiled step).

    `one_batch_entries` (cached flat batches, unshuffled): when all the examples together
    have at most this many entries, they make one batch, whatever `batch_size`: validation
    then runs one compiled step shape instead of a full and a partial batch (the second
    compile cost about 0.4 s a fit on 2 cores).
    """
    import tensorflow as tf

    texts = text_array(texts)
    labels = None if labels is None else np.asarray(labels, dtype=np.float32)
    encode, collate = getattr(preprocessor, "encode", None), getattr(preprocessor, "collate", None)
    if cache and encode is not None and collate is not None and len(texts):
        if cache == "auto":
            cache = _cache_fits(texts, encode, preprocessor)
    else:
        cache = False

    if not cache:
        ds = tf.data.Dataset.from_tensor_slices(texts if labels is None else (texts, labels))
        if shuffle:
            ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder and len(texts) > batch_size)
        return _map_features(ds, preprocessor, with_labels=labels is not None)

    # One pass of vectorisation, in large parallel chunks. The per-example features stay in
    # memory and each epoch shuffles their indices, then gathers its batches: a shuffle
    # buffer of the examples themselves took about 1 s to fill at each epoch's start on
    # Reuters, and shuffling indices gives the same order (it depends on the count alone).
    features = encode_all(texts, encode)
    if getattr(preprocessor, "flat_batches", False):
        sizes = preprocessor.entries_per_example(features).numpy()
        if not shuffle and one_batch_entries is not None and sizes.sum() <= one_batch_entries:
            batch_size = len(texts)
        collate = functools.partial(collate, entries=preprocessor.batch_entries(sizes, batch_size, shuffled=shuffle))
    label_values = None if labels is None else tf.constant(labels)

    def gather(index):
        batch = collate(tf.nest.map_structure(lambda values: tf.gather(values, index), features))
        return batch if label_values is None else (batch, tf.gather(label_values, index))

    ds = tf.data.Dataset.range(len(texts))
    if shuffle:
        ds = ds.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder and len(texts) > batch_size)
    ds = ds.map(_no_autograph(gather), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(2)
    # Without tf.data's autotuning thread: Keras stops reading after an epoch's last batch,
    # and ending that iterator then waited for the thread, 1.1-1.5 s at the start of about
    # one epoch in two on Reuters (a gather and a collate need no tuning).
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def drops_remainder(n_texts, batch_size):
    """Whether training leaves out each epoch's last partial batch: when the epoch has at
    least MIN_BATCHES_TO_DROP full batches, so at most 1/10 of it is left out (and its rows
    differ every epoch), for one compiled step instead of two."""
    return n_texts >= MIN_BATCHES_TO_DROP * batch_size


def steps_per_epoch(n_texts, batch_size, drop_remainder=False):
    """The number of batches `make_dataset` gives for `n_texts`."""
    if drop_remainder and n_texts > batch_size:
        return n_texts // batch_size
    return -(-n_texts // batch_size)


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
