"""TF-IDF n-gram features: Keras' TextVectorization, adapted on the training texts."""

import json
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcModelError


class TfidfPreprocessor:
    """Raw strings -> TF-IDF vectors over the `max_tokens` most frequent n-grams.

    It runs inside `tf.data` (see `kmlc.preprocessing.make_dataset`), never in the model
    graph. Column 0 of the output is the out-of-vocabulary bucket of TextVectorization.

    Args:
        max_tokens: vocabulary size, the out-of-vocabulary slot included.
        ngrams: the largest n-gram length (2: unigrams and bigrams).
        standardize: TextVectorization's `standardize` ("lower_and_strip_punctuation",
            "lower", "strip_punctuation" or None).
        normalize: "l2" scales each vector to unit length (as scikit-learn's
            TfidfVectorizer does), so a long document does not get larger inputs than a
            short one; "none" keeps TextVectorization's raw count x IDF values.
        sublinear_tf: use (1 + log(count)) x IDF instead of count x IDF, so a word said ten
            times weighs about three times, not ten times, a word said once (scikit-learn's
            `sublinear_tf`). It is computed from TextVectorization's TF-IDF output and the
            adapted IDF weights.
    """

    def __init__(
        self,
        max_tokens=20000,
        ngrams=2,
        standardize="lower_and_strip_punctuation",
        normalize="l2",
        sublinear_tf=True,
    ):
        self.max_tokens = int(max_tokens)
        self.ngrams = int(ngrams)
        self.standardize = standardize
        if normalize not in ("l2", "none", None):
            raise ValueError(f"Expected normalize 'l2' or 'none', Received: {normalize!r}.")
        self.normalize = normalize or "none"
        self.sublinear_tf = bool(sublinear_tf)
        self.vectorizer = self._build()
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

    def adapt(self, texts, batch_size=1024):
        import tensorflow as tf

        ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object).astype(str))
        self.vectorizer.adapt(ds.batch(batch_size))
        self._idf = self._idf_weights()
        return self

    def _idf_weights(self):
        store = {}
        self.vectorizer.save_own_variables(store)
        return np.asarray(store["idf_weights"], np.float32)

    @property
    def output_dim(self):
        return int(self.vectorizer.vocabulary_size())

    def __call__(self, texts):
        import tensorflow as tf

        features = self.vectorizer(texts)
        if self.sublinear_tf:
            # TF-IDF = count x idf, with idf > 0 for every column: recover the count, damp it.
            idf = tf.constant(self._idf)
            counts = features / idf
            features = tf.where(counts > 0, (1.0 + tf.math.log(tf.maximum(counts, 1.0))) * idf, 0.0)
        if self.normalize == "l2":
            features = tf.math.l2_normalize(features, axis=-1)
        return features

    def get_config(self):
        return {
            "max_tokens": self.max_tokens,
            "ngrams": self.ngrams,
            "standardize": self.standardize,
            "normalize": self.normalize,
            "sublinear_tf": self.sublinear_tf,
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
            preprocessor = cls.from_config(config)
            preprocessor.vectorizer.set_vocabulary(vocabulary, idf_weights=idf_weights)
            preprocessor._idf = preprocessor._idf_weights()
        except Exception as e:  # noqa: BLE001 - any damage becomes one clear message
            raise KmlcModelError(
                f"Expected a TF-IDF preprocessor in '{directory}' (config.json, vocabulary.json, "
                f"idf_weights.npz), Received: files that cannot be read ({type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}). Train or copy the model again."
            ) from None
        return preprocessor
