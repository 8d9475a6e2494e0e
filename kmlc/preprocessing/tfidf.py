"""TF-IDF n-gram features: Keras' TextVectorization, adapted on the training texts."""

import json
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcModelError
from kmlc.preprocessing.ngram_counts import NgramCounts
from kmlc.preprocessing.pipeline import text_array

OUTPUTS = ("sparse", "dense")
# How a text becomes tokens. "keras": TextVectorization's (ASCII lower-casing, punctuation
# deleted, whitespace split), what every model saved before this option used. "words":
# scikit-learn's default (`token_pattern=r"(?u)\b\w\w+\b"` after Unicode lower-casing): runs
# of two or more letters, digits or underscores, so punctuation splits ("x-ray" -> "x", "ray")
# instead of gluing ("xray"), and one-character tokens are dropped.
TOKEN_RULES = ("words", "keras")
# The IDF of an n-gram in df of n texts. "keras": TextVectorization's log(1 + n / (1 + df)).
# "smooth": scikit-learn's log((1 + n) / (1 + df)) + 1, whose "+ 1" keeps the n-grams of most
# texts at weight >= 1 (flatter weights: common words are damped less).
IDF_RULES = ("smooth", "keras")
# The n-grams outside the vocabulary. "keep": TextVectorization's out-of-vocabulary column
# (id 0) counts them, at the mean IDF. "drop": they are left out (scikit-learn). Kept, they
# take a share of the unit length from the known n-grams of a text with many unseen ones.
OOV_RULES = ("drop", "keep")
# RE2 (TensorFlow's regular expressions) reads \w as ASCII; Python's \w is these classes.
_NOT_WORD = r"[^\pL\pN_]+"
# TextVectorization's punctuation pattern for "strip_punctuation" (its documented default),
# so the sparse route splits text exactly as the dense one does (a test compares them).
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
# A sparse batch's flat non-zeros are padded to a bucket size, so a compiled step is reused:
# BUCKETS_PER_OCTAVE sizes between consecutive powers of two (padding at most 1/4 of the
# entries), and at least MIN_BUCKET entries.
MIN_BUCKET = 64
BUCKETS_PER_OCTAVE = 4


# A shuffled run pads every batch to the mean batch total plus this many standard deviations
# (sampling without replacement): a batch above it (about 3e-7 of them, were the totals
# normal) gets its own bucket, which costs one more compiled step, never a wrong result.
BATCH_ENTRIES_SD = 5.0


def bucket_size(total):
    """The padded length of `total` flat entries (an int32 scalar tensor): the smallest
    multiple of 2 ** (floor(log2(total)) - log2(BUCKETS_PER_OCTAVE)) that holds them, at
    least MIN_BUCKET. Integer arithmetic only, so it is exact for every total."""
    import tensorflow as tf

    total = tf.maximum(tf.cast(total, tf.int32), MIN_BUCKET)
    # floor(log2(total)): the highest set bit, counted by shifting (total < 2 ** 31).
    bits = tf.constant(0, tf.int32)
    for shift in (16, 8, 4, 2, 1):
        big = tf.bitwise.right_shift(total, bits + shift) > 0
        bits = tf.where(big, bits + shift, bits)
    step = tf.bitwise.left_shift(1, tf.maximum(bits - int(np.log2(BUCKETS_PER_OCTAVE)), 0))
    return (total + step - 1) // step * step


class TfidfPreprocessor:
    """Raw strings -> TF-IDF vectors over the `max_tokens` most frequent n-grams.

    It runs inside `tf.data` (see `kmlc.preprocessing.make_dataset`), never in the model
    graph: `__call__` is a pure TensorFlow function of a 1-D string batch. Column (id) 0 is
    the out-of-vocabulary bucket of TextVectorization.

    Output, `output="sparse"` (the default): the batch's non-zeros, flat, as a dict
    `{"ngram_ids": int32 [T], "ngram_weights": float32 [T], "ngram_rows": int32 [T],
    "ngram_counts": int32 [batch]}`: entry t is document `ngram_rows[t]`'s distinct n-gram
    `ngram_ids[t]` with its final TF-IDF value (sublinear TF and L2 norm applied), i.e.
    exactly the non-zeros of the dense vectors, in document order; `ngram_counts[b]` is
    document b's number of non-zeros. T is the batch's total rounded up to one of
    `BUCKETS_PER_OCTAVE` sizes per power of two (at least `MIN_BUCKET`), so a compiled
    network sees few shapes; the padding entries have id 0, weight 0 and the last row.
    Cost follows the non-zeros: neither `max_tokens` nor the longest text of a batch.
    `output="dense"`: the float32 [batch, max_tokens] TF-IDF vector.

    For the cached training pipeline it also splits into `encode` (strings -> unpadded ragged
    ids and weights, one row per document) and `collate` (a batch of those -> the padded
    output); `__call__(texts) == collate(encode(texts))`.

    Args:
        max_tokens: vocabulary size, the out-of-vocabulary slot included.
        ngrams: the largest n-gram length (2: unigrams and bigrams).
        min_df: only n-grams found in at least this many adapted texts are kept (so the
            vocabulary is sized by the data, `max_tokens` being a cap; 1: every n-gram).
        standardize: TextVectorization's `standardize` ("lower_and_strip_punctuation",
            "lower", "strip_punctuation" or None).
        normalize: "l2" scales each vector to unit length (as scikit-learn's
            TfidfVectorizer does), so a long document does not get larger inputs than a
            short one; "none" keeps TextVectorization's raw count x IDF values.
        idf: the IDF formula, "smooth" or "keras" (see IDF_RULES).
        oov: "drop" or "keep" the n-grams outside the vocabulary (see OOV_RULES); the
            vector keeps its out-of-vocabulary column either way (0 with "drop").
        tokens: the token rule, "words" or "keras" (see TOKEN_RULES). With "words" the
            dense output is the sparse one scattered into a vector (TextVectorization's own
            split is "keras").
        sublinear_tf: use (1 + log(count)) x IDF instead of count x IDF, so a word said ten
            times weighs about three times, not ten times, a word said once (scikit-learn's
            `sublinear_tf`). It is computed from TextVectorization's TF-IDF output and the
            adapted IDF weights.
        output: "sparse" (ids and weights) or "dense" (the full vector); see above.
    """

    def __init__(
        self,
        max_tokens=20000,
        ngrams=2,
        min_df=1,
        standardize="lower_and_strip_punctuation",
        normalize="l2",
        sublinear_tf=True,
        output="sparse",
        tokens="keras",
        idf="keras",
        oov="keep",
    ):
        if oov not in OOV_RULES:
            raise ValueError(f"Expected oov to be one of {OOV_RULES}, Received: {oov!r}.")
        self.oov = oov
        if idf not in IDF_RULES:
            raise ValueError(f"Expected idf to be one of {IDF_RULES}, Received: {idf!r}.")
        self.idf = idf
        if tokens not in TOKEN_RULES:
            raise ValueError(f"Expected tokens to be one of {TOKEN_RULES}, Received: {tokens!r}.")
        self.tokens = tokens
        self.max_tokens = int(max_tokens)
        self.ngrams = int(ngrams)
        self.min_df = int(min_df)
        self.standardize = standardize
        if normalize not in ("l2", "none", None):
            raise ValueError(f"Expected normalize 'l2' or 'none', Received: {normalize!r}.")
        self.normalize = normalize or "none"
        self.sublinear_tf = bool(sublinear_tf)
        if output not in OUTPUTS:
            raise ValueError(f"Expected output to be one of {OUTPUTS}, Received: {output!r}.")
        if standardize not in ("lower_and_strip_punctuation", "lower", "strip_punctuation", None):
            raise ValueError(
                "Expected standardize 'lower_and_strip_punctuation', 'lower', 'strip_punctuation' "
                f"or None, Received: {standardize!r}."
            )
        self.output = output
        self.vectorizer = self._build()
        self.lookup = None  # the n-gram -> id table of the sparse output, built from the vocabulary
        self._compiled = None
        self._idf = None

    def _build(self):
        import keras

        return keras.layers.TextVectorization(
            max_tokens=self.max_tokens,
            ngrams=self.ngrams,
            standardize=self.standardize,
            output_mode="tf_idf",
            name="tfidf_vectorizer",
        )

    def adapt(self, texts, batch_size=16384):
        """Learns the vocabulary and IDF weights from `texts` (any iterable of strings).

        The result is exactly what `TextVectorization.adapt` gives (the `max_tokens - 1` most
        frequent n-grams, ties broken by the n-gram in reverse byte order, IDF
        log(1 + n_docs / (1 + doc_freq)), the OOV slot at the mean IDF) and is installed
        with its public `set_vocabulary`; but the counting is vectorised over whole chunks
        of `batch_size` texts, where TextVectorization deduplicates each document in a
        `tf.map_fn` (13 s against 2-3 s for 6k Reuters documents on 2 cores). Memory
        is bounded by the number of distinct n-grams, not by the number of texts.
        """

        texts = text_array(texts)
        counts = NgramCounts(self)
        for start in range(0, len(texts), batch_size):
            counts.add(texts[start : start + batch_size])
        counts.install()
        return self

    def _vocabulary_set(self):
        import keras

        self._compiled = None
        self._idf = self._idf_weights()
        if self.output == "sparse" or self.tokens == "words":
            vocabulary = [str(token) for token in self.vectorizer.get_vocabulary()]
            # Same ids as the dense vector's columns: the OOV token first (id 0), then the
            # vocabulary in TextVectorization's order.
            self.lookup = keras.layers.StringLookup(
                vocabulary=vocabulary[1:],
                oov_token=vocabulary[0],
                num_oov_indices=1,
                mask_token=None,
                output_mode="int",
                name="tfidf_ngram_lookup",
            )

    def leading_axes(self):
        """The features whose leading axis is not the batch: the flat non-zero entries
        (for shape-polymorphic exports)."""
        if self.output != "sparse":
            return {}
        return {"ngram_ids": "entries", "ngram_weights": "entries", "ngram_rows": "entries"}

    def lookup_layers(self):
        """The Keras layers holding lookup tables that `__call__` uses (for exports to track)."""
        return [self.vectorizer] + ([self.lookup] if self.lookup is not None else [])

    def _idf_weights(self):
        store = {}
        self.vectorizer.save_own_variables(store)
        return np.asarray(store["idf_weights"], np.float32)

    @property
    def output_dim(self):
        # A Python int even inside a traced function (vocabulary_size() is a tensor there).
        if self._idf is not None:
            return len(self._idf)
        return int(self.vectorizer.vocabulary_size())

    def __call__(self, texts):
        if self.output == "sparse":
            return self.collate(self.encode(texts))
        return self._dense(texts)

    def compiled(self):
        """`__call__` as one `tf.function` over a [None] string batch, traced once (a direct
        call runs op by op; a new tf.data pipeline re-traces it every time)."""
        import tensorflow as tf

        if getattr(self, "_compiled", None) is None:
            self._compiled = tf.function(
                self.__call__, input_signature=[tf.TensorSpec([None], tf.string)], autograph=False
            )
        return self._compiled

    def encode(self, texts):
        """Strings [batch] -> per-document features before batching/padding: ragged
        {"ngram_ids", "ngram_weights"} [batch, None] (sparse), or the dense vectors."""
        if self.output == "dense":
            return self._dense(texts)
        return self._sparse(texts)

    def encoded_bytes_bound(self, texts):
        """An upper bound of the size in bytes of `encode(texts)`, from the texts alone (to
        decide on caching without vectorising): the standardised text has at most as many
        UTF-8 bytes as the raw one (ASCII lowercasing, punctuation removed), so at most
        (bytes + 1) // 2 whitespace-separated tokens, hence at most `ngrams` times that many
        distinct n-grams, each an int32 id and a float32 weight, plus the ragged row splits."""
        if self.output == "dense":
            return len(texts) * self.output_dim * 4
        tokens = sum((len(text.encode("utf-8")) + 1) // 2 for text in texts)
        return 8 * self.ngrams * tokens + 2 * 8 * (len(texts) + 1)

    @property
    def flat_batches(self):
        """Whether batches are flat non-zero entries, padded (see `batch_entries`)."""
        return self.output == "sparse"

    def entries_per_example(self, features):
        """The number of flat entries of each example of `encode`'s output (a tensor)."""
        return features["ngram_ids"].row_lengths()

    @staticmethod
    def batch_entries(example_entries, batch_size, shuffled):
        """One entry count to pad every batch to, from the examples' entry counts: the
        largest batch total in order (`shuffled=False`: the batches are known), else the
        mean total of `batch_size` examples drawn without replacement plus BATCH_ENTRIES_SD
        standard deviations; rounded up to a bucket size. A Python int."""
        import tensorflow as tf

        sizes = np.asarray(example_entries, np.float64)
        n = len(sizes)
        if n == 0:
            return MIN_BUCKET
        if not shuffled or n <= batch_size:
            totals = np.add.reduceat(sizes, np.arange(0, n, batch_size))
            largest = float(totals.max())
        else:
            variance = batch_size * sizes.var() * (n - batch_size) / (n - 1)
            largest = batch_size * sizes.mean() + BATCH_ENTRIES_SD * np.sqrt(variance)
            largest = min(largest, float(np.sort(sizes)[-batch_size:].sum()))  # no batch holds more
        return int(bucket_size(tf.constant(int(np.ceil(largest)), tf.int32)))

    def collate(self, features, entries=None):
        """A batch of `encode` outputs (ragged rows) -> the network's input; its flat entries
        padded to `entries` (or to their bucket size, when more or None)."""
        if self.output == "dense":
            return features
        import tensorflow as tf

        ids, weights = features["ngram_ids"], features["ngram_weights"]
        nrows = ids.nrows(out_type=tf.int32)
        total = tf.size(ids.flat_values, out_type=tf.int32)
        width = bucket_size(total)
        if entries is not None:
            width = tf.where(total <= entries, tf.constant(entries, tf.int32), width)
        pad = width - total
        last_row = tf.maximum(nrows - 1, 0)
        return {
            "ngram_ids": tf.concat([ids.flat_values, tf.zeros([pad], tf.int32)], 0),
            "ngram_weights": tf.concat([weights.flat_values, tf.zeros([pad], tf.float32)], 0),
            # Padding on the last row keeps the rows sorted.
            "ngram_rows": tf.concat([tf.cast(ids.value_rowids(), tf.int32), tf.fill([pad], last_row)], 0),
            "ngram_counts": tf.cast(ids.row_lengths(), tf.int32),
        }

    def _tokens(self, texts):
        """TextVectorization's standardise, whitespace split and n-grams: ragged [batch, None]."""
        import tensorflow as tf

        texts = tf.reshape(tf.convert_to_tensor(texts, dtype=tf.string), [-1])
        if self.tokens == "words":
            words = tf.strings.split(tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), _NOT_WORD, " "))
            tokens = tf.ragged.boolean_mask(words, tf.strings.length(words, unit="UTF8_CHAR") >= 2)
            return tf.strings.ngrams(tokens, ngram_width=tuple(range(1, self.ngrams + 1)), separator=" ")
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            texts = tf.strings.lower(texts)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = tf.strings.regex_replace(texts, _PUNCTUATION, "")
        tokens = tf.strings.split(texts)
        return tf.strings.ngrams(tokens, ngram_width=tuple(range(1, self.ngrams + 1)), separator=" ")

    def _sparse(self, texts):
        import tensorflow as tf

        if self.lookup is None:
            raise RuntimeError("Expected an adapted or loaded preprocessor, Received: no vocabulary.")
        tokens = self._tokens(texts)
        nrows = tokens.nrows(out_type=tf.int64)
        ids = tf.cast(self.lookup(tokens.flat_values), tf.int64)
        # Count each (document, id) pair once: a key per pair. tf.unique keeps the order of
        # first occurrence, so the documents stay in order (what from_value_rowids needs).
        size = tf.constant(self.output_dim, tf.int64)
        keys = tokens.value_rowids() * size + ids
        unique_keys, _, counts = tf.unique_with_counts(keys, out_idx=tf.int64)
        rows = unique_keys // size
        ids = unique_keys % size
        if self.oov == "drop":
            known = tf.not_equal(ids, 0)
            rows, ids, counts = tf.boolean_mask(rows, known), tf.boolean_mask(ids, known), tf.boolean_mask(counts, known)
        tf_values = tf.cast(counts, tf.float32)
        if self.sublinear_tf:
            tf_values = 1.0 + tf.math.log(tf_values)
        weights = tf_values * tf.gather(tf.constant(self._idf), ids)
        if self.normalize == "l2":
            # tf.math.l2_normalize's formula, per document: x * rsqrt(max(sum(x^2), 1e-12)).
            squares = tf.math.unsorted_segment_sum(weights * weights, rows, nrows)
            weights = weights * tf.gather(tf.math.rsqrt(tf.maximum(squares, 1e-12)), rows)
        return {
            "ngram_ids": tf.RaggedTensor.from_value_rowids(tf.cast(ids, tf.int32), rows, nrows=nrows),
            "ngram_weights": tf.RaggedTensor.from_value_rowids(weights, rows, nrows=nrows),
        }

    def _dense(self, texts):
        import tensorflow as tf

        if self.tokens == "words":  # TextVectorization cannot split this way: scatter the sparse route
            sparse = self._sparse(texts)
            ids = sparse["ngram_ids"]
            rows = tf.cast(ids.value_rowids(), tf.int32)
            return tf.scatter_nd(tf.stack([rows, ids.flat_values], axis=1), sparse["ngram_weights"].flat_values,
                                 tf.stack([tf.cast(ids.nrows(), tf.int32), tf.constant(self.output_dim, tf.int32)]))
        features = self.vectorizer(texts)
        if self.sublinear_tf:
            # TF-IDF = count x idf, with idf > 0 for every column: recover the count, damp it.
            idf = tf.constant(self._idf)
            counts = features / idf
            features = tf.where(counts > 0, (1.0 + tf.math.log(tf.maximum(counts, 1.0))) * idf, 0.0)
        if self.oov == "drop":
            features = tf.concat([tf.zeros_like(features[:, :1]), features[:, 1:]], axis=1)
        if self.normalize == "l2":
            features = tf.math.l2_normalize(features, axis=-1)
        return features

    def get_config(self):
        return {
            "max_tokens": self.max_tokens,
            "ngrams": self.ngrams,
            "min_df": self.min_df,
            "standardize": self.standardize,
            "normalize": self.normalize,
            "sublinear_tf": self.sublinear_tf,
            "output": self.output,
            "tokens": self.tokens,
            "idf": self.idf,
            "oov": self.oov,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # The vocabulary (JSON: any character survives, unlike a one-token-per-line file) and
    # the IDF weights (.npz, no pickle) are restored through TextVectorization's public
    # `set_vocabulary`.
    def save(self, directory):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(self.get_config(), indent=2))
        vocabulary = [str(token) for token in self.vectorizer.get_vocabulary()]
        (directory / "vocabulary.json").write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        store = {}
        self.vectorizer.save_own_variables(store)
        np.savez(directory / "idf_weights.npz", idf_weights=np.asarray(store["idf_weights"], np.float32))

    @classmethod
    def load(cls, directory):
        directory = Path(directory)
        try:
            config = json.loads((directory / "config.json").read_text())
            vocabulary = json.loads((directory / "vocabulary.json").read_text(encoding="utf-8"))
            with np.load(directory / "idf_weights.npz", allow_pickle=False) as store:
                idf_weights = store["idf_weights"]
            if not isinstance(vocabulary, list) or len(vocabulary) != len(idf_weights):
                raise ValueError(
                    f"{len(vocabulary)} vocabulary entries but {len(idf_weights)} IDF weights"
                )
            # Preprocessors saved before the sparse output existed fed dense networks.
            # ... and the token rule of TextVectorization before `tokens` existed.
            preprocessor = cls.from_config({"output": "dense", "tokens": "keras", "idf": "keras", "oov": "keep", **config})
            preprocessor.vectorizer.set_vocabulary(vocabulary, idf_weights=idf_weights)
            preprocessor._vocabulary_set()
        except Exception as e:  # noqa: BLE001 - any damage becomes one clear message
            raise KmlcModelError(
                f"Expected a TF-IDF preprocessor in '{directory}' (config.json, vocabulary.json, "
                f"idf_weights.npz), Received: files that cannot be read ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}). Train or copy the model again."
            ) from None
        return preprocessor
