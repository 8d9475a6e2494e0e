"""`NgramCounts`: the term and document frequencies a TF-IDF preprocessor's vocabulary and IDF
weights are installed from (`TfidfPreprocessor.adapt`, and chunk by chunk `kmlc.streaming`)."""

import numpy as np

from kmlc.errors import KmlcInputError


class NgramCounts:
    """Term and document frequencies of a TF-IDF preprocessor's n-grams, added (or, with
    sign -1, removed) chunk by chunk; `install` sets the vocabulary and IDF weights from them.
    `TfidfPreprocessor.adapt` is `add` over chunks then `install`; `kmlc.streaming` adds a
    file's chunks and removes its held-out rows. The counting is vectorised over whole
    chunks (TextVectorization deduplicates each document in a `tf.map_fn`). Memory: one
    entry per distinct n-gram, not per text."""

    def __init__(self, preprocessor):
        import tensorflow as tf

        self.preprocessor = preprocessor
        self.tokens = tf.constant([], tf.string)
        self.terms = tf.constant([], tf.int64)
        self.docs = tf.constant([], tf.int64)
        self.n_docs = 0

    def add(self, texts, sign=1):
        import tensorflow as tf

        if len(texts) == 0:
            return self
        # The preprocessor's own standardise / split / n-grams, so ids match `encode`.
        chunk = self.preprocessor._tokens(tf.constant(list(texts), tf.string))
        unique, index = tf.unique(chunk.flat_values, out_idx=tf.int64)
        n_unique = tf.size(unique, out_type=tf.int64)
        terms = tf.math.bincount(index, minlength=n_unique, maxlength=n_unique, dtype=tf.int64)
        # A (document, n-gram) pair counts once towards the document frequency.
        pairs, _ = tf.unique(chunk.value_rowids() * n_unique + index)
        docs = tf.math.bincount(pairs % n_unique, minlength=n_unique, maxlength=n_unique, dtype=tf.int64)
        merged, where = tf.unique(tf.concat([self.tokens, unique], 0), out_idx=tf.int64)
        n_merged = tf.size(merged, out_type=tf.int64)
        self.terms = tf.math.unsorted_segment_sum(tf.concat([self.terms, sign * terms], 0), where, n_merged)
        self.docs = tf.math.unsorted_segment_sum(tf.concat([self.docs, sign * docs], 0), where, n_merged)
        self.tokens = merged
        self.n_docs += sign * len(texts)
        return self

    def install(self):
        """Sets the preprocessor's vocabulary (the `max_tokens - 1` most frequent n-grams of
        those in at least `min_df` texts, ties by the n-gram in reverse byte order, the OOV
        slot first) and IDF weights (`idf`; "keras": log(1 + n_docs / (1 + doc_freq)), as
        TextVectorization's `adapt`; the OOV slot: their mean)."""
        import tensorflow as tf

        p = self.preprocessor
        oov = p.vectorizer.get_vocabulary()[0]
        keep = tf.logical_and(tf.not_equal(self.tokens, oov), self.terms > 0)  # 0: only in removed texts
        keep = tf.logical_and(keep, self.docs >= p.min_df)
        tokens = tf.boolean_mask(self.tokens, keep)
        terms = tf.boolean_mask(self.terms, keep).numpy()
        docs = tf.boolean_mask(self.docs, keep).numpy()
        if not len(terms) and p.min_df > 1:
            raise KmlcInputError(
                f"Expected at least one n-gram found in {p.min_df} or more training texts (min_df), "
                f"Received: none in {self.n_docs} text(s). Lower min_df (--min-df) or give more texts."
            )
        limit = p.max_tokens - 1
        if len(terms) > limit:
            # Only n-grams at least as frequent as the limit-th can be chosen: convert those
            # alone to Python bytes (there can be millions of n-grams).
            kth = np.partition(terms, len(terms) - limit)[len(terms) - limit]
            near = terms >= kth
            tokens, terms, docs = tf.boolean_mask(tokens, near), terms[near], docs[near]
        tokens = tokens.numpy()
        order = np.lexsort((tokens, terms))[::-1][:limit]
        df = docs[order].astype(np.float64)
        if p.idf == "smooth":
            idf = (np.log((1.0 + self.n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        else:
            idf = np.log(1.0 + self.n_docs / (1.0 + df)).astype(np.float32)
        oov_idf = tf.reduce_mean(tf.constant(idf)).numpy() if len(idf) else np.float32(0.0)
        vocabulary = [oov] + [token.decode("utf-8") for token in tokens[order]]
        p.vectorizer.set_vocabulary(vocabulary, idf_weights=np.concatenate([[oov_idf], idf]).astype(np.float32))
        p._vocabulary_set()  # the sparse route's n-gram lookup and IDF copy, as after adapt
        return p
