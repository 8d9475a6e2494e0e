"""The sparse TF-IDF route: (ids, weights) from the preprocessor, a weighted embedding-bag
first layer, and the cached input pipeline. Each is checked against the dense route or a
NumPy / Keras reference."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from kmlc.models import TfidfMLP, WeightedEmbeddingBag  # noqa: E402
from kmlc.preprocessing import TfidfPreprocessor, make_dataset  # noqa: E402
from kmlc.preprocessing.tfidf import BUCKETS_PER_OCTAVE, MIN_BUCKET, bucket_size  # noqa: E402

TEXTS = [
    "The pizza was great, the pasta fresh!",
    "waiter was rude and slow; rude rude",
    "Pasta cold... waiter rude",
    "too expensive for what you get",
    "cheap and tasty pizza pizza pizza",
    "friendly staff, fair prices, great pasta",
    "we arrived at eight",
    "",
    "unseen words only zebra xylophone",
    " ".join(f"word{i}" for i in range(40)),  # longer than the smallest bucket
]


def adapted(output="sparse", **kwargs):
    return TfidfPreprocessor(max_tokens=60, output=output, **kwargs).adapt(TEXTS[:7] * 2)


def densify(features, width):
    ids, weights = np.asarray(features["ngram_ids"]), np.asarray(features["ngram_weights"])
    rows = np.asarray(features["ngram_rows"])
    out = np.zeros((len(np.asarray(features["ngram_counts"])), width), np.float64)
    np.add.at(out, (rows, ids), weights)
    return out


def as_numpy(features):
    # Flat features have different leading lengths: Keras' array adapter (model.predict on
    # arrays) refuses them, so the tests call predict_on_batch, which takes NumPy arrays.
    return {key: np.asarray(value) for key, value in features.items()}


def per_document(features, key="ngram_weights"):
    """The flat entries of `key` split per document (padding dropped)."""
    counts = np.asarray(features["ngram_counts"])
    values = np.asarray(features[key])[: counts.sum()]
    return np.split(values, np.cumsum(counts)[:-1])


@pytest.mark.parametrize("sublinear_tf", [True, False])
@pytest.mark.parametrize("normalize", ["l2", "none"])
def test_sparse_features_are_the_dense_vector_nonzeros(sublinear_tf, normalize):
    sparse = adapted(sublinear_tf=sublinear_tf, normalize=normalize)
    dense = TfidfPreprocessor(max_tokens=60, output="dense", sublinear_tf=sublinear_tf, normalize=normalize)
    dense.vectorizer.set_vocabulary(sparse.vectorizer.get_vocabulary(), idf_weights=sparse._idf)
    dense._vocabulary_set()
    features = sparse(tf.constant(TEXTS))
    expected = np.asarray(dense(tf.constant(TEXTS)))
    np.testing.assert_allclose(densify(features, sparse.output_dim), expected, atol=1e-6)
    for key in ("ngram_ids", "ngram_rows", "ngram_counts"):
        assert np.asarray(features[key]).dtype == np.int32
    assert np.asarray(features["ngram_weights"]).dtype == np.float32
    # One entry per distinct non-zero: the non-zero counts agree.
    np.testing.assert_array_equal(np.asarray(features["ngram_counts"]), (expected != 0).sum(1))
    if normalize == "l2":
        norms = np.array([np.sqrt((w.astype(np.float64) ** 2).sum()) for w in per_document(features)])
        np.testing.assert_allclose(norms[[0, 1, 8]], 1.0, rtol=1e-6)  # "" has norm 0
        assert norms[7] == 0.0


def test_sparse_weights_match_a_numpy_tfidf():
    p = adapted()
    vocabulary = [str(t) for t in p.vectorizer.get_vocabulary()]
    column = {t: j for j, t in enumerate(vocabulary)}
    text = "rude rude waiter, the pizza"
    tokens = text.lower().replace(",", "").split()
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
    expected = np.zeros(len(vocabulary))
    counts = {}
    for g in grams:
        counts[column.get(g, 0)] = counts.get(column.get(g, 0), 0) + 1
    for j, c in counts.items():
        expected[j] = (1 + np.log(c)) * p._idf[j]
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(densify(p(tf.constant([text])), len(vocabulary))[0], expected, atol=1e-6)


def test_adapt_matches_textvectorization_adapt():
    texts = TEXTS * 3 + ["pizza pizza pasta", "a b c d e f g h"]
    ours = TfidfPreprocessor(max_tokens=25).adapt(texts, batch_size=7)  # several merged chunks
    reference = keras.layers.TextVectorization(max_tokens=25, ngrams=2, output_mode="tf_idf")
    reference.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts)).batch(5))
    assert [str(t) for t in ours.vectorizer.get_vocabulary()] == [str(t) for t in reference.get_vocabulary()]
    store = {}
    reference.save_own_variables(store)
    np.testing.assert_allclose(ours._idf, np.asarray(store["idf_weights"]), rtol=1e-6)


def _numpy_bucket(total):
    total = max(total, MIN_BUCKET)
    step = 2 ** max(int(np.floor(np.log2(total))) - int(np.log2(BUCKETS_PER_OCTAVE)), 0)
    return -(-total // step) * step


def test_bucket_sizes_match_a_numpy_reference():
    totals = list(range(0, 300)) + [1023, 1024, 1025, 31000, 32768, 32769, 40961, 2**20 + 1, 2**30 - 1]
    for total in totals:
        got = int(bucket_size(tf.constant(total)))
        assert got == _numpy_bucket(total), total
        assert got >= max(total, MIN_BUCKET)
        assert got - total <= max(total // BUCKETS_PER_OCTAVE, MIN_BUCKET)  # padding stays a small share
    sizes = {int(bucket_size(tf.constant(t))) for t in range(1025, 2049)}
    assert len(sizes) == BUCKETS_PER_OCTAVE  # few shapes per power of two: 1280, ..., 2048


def test_flat_entries_are_bucketed_and_in_document_order():
    p = adapted()
    for texts in (TEXTS[:1], TEXTS[:8], TEXTS, []):
        features = p(tf.constant(texts, dtype=tf.string))
        counts = np.asarray(features["ngram_counts"])
        ids, weights, rows = (np.asarray(features[k]) for k in ("ngram_ids", "ngram_weights", "ngram_rows"))
        total = int(counts.sum())
        assert len(counts) == len(texts)
        assert len(ids) == len(weights) == len(rows) == _numpy_bucket(total)
        # The real entries, document by document; the padding after them adds nothing.
        np.testing.assert_array_equal(rows[:total], np.repeat(np.arange(len(texts)), counts))
        assert (weights[total:] == 0).all() and (ids[total:] == 0).all()
        assert (rows[total:] == max(len(texts) - 1, 0)).all() and (np.diff(rows) >= 0).all()
    # The last text has 40 unigrams + 39 bigrams, all OOV: one distinct id, one entry.
    only_oov = p(tf.constant(TEXTS[-1:]))
    assert np.asarray(only_oov["ngram_counts"]).tolist() == [1]


def test_encode_then_collate_is_call():
    p = adapted()
    direct = p(tf.constant(TEXTS))
    encoded = p.encode(tf.constant(TEXTS))
    assert isinstance(encoded["ngram_ids"], tf.RaggedTensor)
    collated = p.collate(encoded)
    for key in ("ngram_ids", "ngram_weights", "ngram_rows", "ngram_counts"):
        np.testing.assert_array_equal(np.asarray(direct[key]), np.asarray(collated[key]))


def test_preprocessor_round_trip_and_old_files(tmp_path):
    p = adapted()
    p.save(tmp_path / "p")
    loaded = TfidfPreprocessor.load(tmp_path / "p")
    assert loaded.output == "sparse" and loaded.get_config() == p.get_config()
    for key in ("ngram_ids", "ngram_weights", "ngram_rows", "ngram_counts"):
        np.testing.assert_array_equal(np.asarray(p(tf.constant(TEXTS))[key]), np.asarray(loaded(tf.constant(TEXTS))[key]))
    # A preprocessor saved before the setting existed (no "output") fed a dense network.
    import json

    config = json.loads((tmp_path / "p" / "config.json").read_text())
    del config["output"]
    (tmp_path / "p" / "config.json").write_text(json.dumps(config))
    assert TfidfPreprocessor.load(tmp_path / "p").output == "dense"


@pytest.mark.backend
def test_embedding_bag_equals_dense_layer():
    rng = np.random.default_rng(0)
    counts = np.array([7, 0, 5, 3], np.int32)  # document 1 has no entries: the bias alone
    rows = np.repeat(np.arange(4), counts).astype(np.int32)
    ids = rng.integers(0, 50, size=len(rows)).astype(np.int32)
    weights = rng.normal(size=len(rows)).astype(np.float32)
    ids[1] = ids[0]  # a repeated id adds up, as two entries of a sparse sum would
    # Padding: weight 0 on the last row.
    ids, weights = np.concatenate([ids, [4, 9]]).astype(np.int32), np.concatenate([weights, [0, 0]]).astype(np.float32)
    rows = np.concatenate([rows, [3, 3]]).astype(np.int32)
    bag = WeightedEmbeddingBag(50, 7, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    dense = keras.layers.Dense(7, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    bag.build()
    x = np.zeros((4, 50), np.float32)
    np.add.at(x, (rows, ids), weights)
    dense.build((None, 50))
    # Same initialiser and seed -> the same kernel as the Dense layer.
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bag.kernel), keras.ops.convert_to_numpy(dense.kernel))
    bag.bias.assign(np.linspace(-1, 1, 7).astype(np.float32))
    dense.bias.assign(np.linspace(-1, 1, 7).astype(np.float32))
    got = keras.ops.convert_to_numpy(bag(ids, weights, rows, counts))
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(dense(x)), atol=1e-5)
    reference = np.maximum(x @ keras.ops.convert_to_numpy(bag.kernel) + np.linspace(-1, 1, 7), 0)
    np.testing.assert_allclose(got, reference, atol=1e-5)
    config = bag.get_config()
    assert WeightedEmbeddingBag.from_config(config).get_config() == config


@pytest.mark.backend
def test_sparse_and_dense_networks_give_the_same_logits():
    p_sparse, p_dense = adapted("sparse"), adapted("dense")
    sparse = TfidfMLP(p_sparse.output_dim, 3, hidden_units=(8, 4), seed=5, input_mode="sparse")
    dense = TfidfMLP(p_dense.output_dim, 3, hidden_units=(8, 4), seed=5, input_mode="dense")
    for a, b in zip(sparse.get_weights(), dense.get_weights()):
        np.testing.assert_array_equal(a, b)  # same initial weights
    rng = np.random.default_rng(1)
    trained = [w + rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in dense.get_weights()]
    sparse.set_weights(trained)
    dense.set_weights(trained)
    logits_sparse = sparse.predict_on_batch(as_numpy(p_sparse(tf.constant(TEXTS))))
    logits_dense = dense.predict(np.asarray(p_dense(tf.constant(TEXTS))), verbose=0)
    np.testing.assert_allclose(logits_sparse, logits_dense, atol=1e-5)
    assert np.abs(logits_dense).max() > 0.1  # not trivially zero


@pytest.mark.backend
def test_sparse_network_save_load(tmp_path):
    p = adapted()
    model = TfidfMLP(p.output_dim, 3, hidden_units=(8,), seed=1)
    features = as_numpy(p(tf.constant(TEXTS)))
    expected = model.predict_on_batch(features)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_config()["input_mode"] == "sparse"
    np.testing.assert_allclose(loaded.predict_on_batch(features), expected, atol=1e-6)
    # A network config written before input_mode existed is a dense network.
    config = model.get_config()
    del config["input_mode"]
    assert TfidfMLP.from_config(config).input_mode == "dense"


@pytest.mark.parametrize("cache", [False, True])
def test_cached_pipeline_shuffles_like_the_plain_one(cache):
    p = adapted()
    labels = np.arange(len(TEXTS), dtype=np.float32)[:, None]
    ds = make_dataset(TEXTS, p, labels, batch_size=4, shuffle=True, seed=3, cache=cache)
    assert int(ds.cardinality()) == 3
    epochs = [[int(v) for _, y in ds for v in np.asarray(y)[:, 0]] for _ in range(2)]
    assert sorted(epochs[0]) == list(range(len(TEXTS)))
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    reference = make_dataset(TEXTS, p, labels, batch_size=4, shuffle=True, seed=3, cache=not cache)
    assert [[int(v) for _, y in reference for v in np.asarray(y)[:, 0]] for _ in range(2)] == epochs
    # Features stay with their labels: each batch equals the preprocessor on its texts.
    for features, y in ds:
        texts = [TEXTS[int(i)] for i in np.asarray(y)[:, 0]]
        direct = p(tf.constant(texts))
        for key in ("ngram_ids", "ngram_rows", "ngram_counts"):
            np.testing.assert_array_equal(np.asarray(features[key]), np.asarray(direct[key]))
        # Equal up to float rounding: the L2 norms are summed over different chunks.
        np.testing.assert_allclose(np.asarray(features["ngram_weights"]), np.asarray(direct["ngram_weights"]), rtol=1e-6)


def test_auto_cache_respects_the_budget(monkeypatch):
    import kmlc.preprocessing.pipeline as pipeline

    p = adapted("dense")
    monkeypatch.setattr(pipeline, "CACHE_BUDGET_BYTES", 10)
    assert not pipeline._cache_fits(np.asarray(TEXTS, dtype=object), p.encode)
    monkeypatch.setattr(pipeline, "CACHE_BUDGET_BYTES", 10**9)
    assert pipeline._cache_fits(np.asarray(TEXTS, dtype=object), p.encode)


@pytest.mark.backend
def test_classifier_sparse_and_dense_train_alike(tiny_corpus, tmp_path):
    import kmlc

    texts, labels = tiny_corpus
    results = {}
    for mode in ("sparse", "dense"):
        clf = kmlc.TextClassifier(
            tfidf_input=mode, max_tokens=120, hidden_units=(16,), epochs=4, batch_size=8, verbose=0, seed=2
        )
        clf.fit(texts, labels)
        results[mode] = clf
        assert clf.resolved_params()["tfidf_input"] == mode
        clf.save(tmp_path / mode)
        loaded = kmlc.load(tmp_path / mode)
        assert loaded.tfidf_input == mode and loaded.preprocessor_.output == mode
        assert loaded.model_.input_mode == mode
        np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)
    # Same seed, same batches, same function: the same training up to float summation order
    # on JAX and torch. On TensorFlow the gather's gradient is a tf.IndexedSlices, which
    # Keras' optimisers apply to the touched kernel rows only (Adam's moments of the other
    # rows are not decayed that step): close, not equal.
    tolerance = 2e-2 if keras.backend.backend() == "tensorflow" else 1e-4
    np.testing.assert_allclose(results["sparse"].history_["loss"], results["dense"].history_["loss"], rtol=tolerance)
    np.testing.assert_allclose(
        results["sparse"].predict_proba(texts), results["dense"].predict_proba(texts), atol=tolerance
    )
    assert kmlc.TextClassifier().tfidf_input == "sparse"


@pytest.mark.backend
def test_classifier_with_a_wide_path_and_min_df_trains_saves_and_loads(tiny_corpus, tmp_path):
    import kmlc

    texts, labels = tiny_corpus
    clf = kmlc.TextClassifier(wide=True, min_df=2, hidden_units=(16,), epochs=3, batch_size=8, verbose=0, seed=2)
    clf.fit(texts, labels)
    # True: the boolean form the setting had before "svm" (kept for saved configs) is "joint".
    assert clf.model_.wide == "joint" and clf.preprocessor_.min_df == 2
    assert clf.resolved_params()["wide"] == "joint"
    assert np.any(clf.model_.get_layer("wide").get_weights()[0])  # trained with the deep path
    clf.save(tmp_path / "m")
    loaded = kmlc.load(tmp_path / "m")
    assert loaded.wide == "joint" and loaded.min_df == 2 and loaded.model_.wide == "joint"
    np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), atol=1e-6)


def test_classifier_rejects_an_unknown_tfidf_input(tiny_corpus):
    import kmlc
    from kmlc.errors import KmlcInputError

    texts, labels = tiny_corpus
    with pytest.raises(KmlcInputError, match="tfidf_input"):
        kmlc.TextClassifier(tfidf_input="csr").fit(texts, labels)


@pytest.mark.backend
def test_input_scale_multiplies_the_tfidf_values():
    p_sparse, p_dense = adapted("sparse"), adapted("dense")
    plain = TfidfMLP(p_sparse.output_dim, 3, hidden_units=(8,), seed=5)
    scaled = TfidfMLP(p_sparse.output_dim, 3, hidden_units=(8,), seed=5, input_scale=5.0)
    dense = TfidfMLP(p_dense.output_dim, 3, hidden_units=(8,), seed=5, input_mode="dense", input_scale=5.0)
    rng = np.random.default_rng(2)
    trained = [w + rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in plain.get_weights()]
    for model in (plain, scaled, dense):
        model.set_weights(trained)
    features = as_numpy(p_sparse(tf.constant(TEXTS)))
    times5 = dict(features, ngram_weights=features["ngram_weights"] * 5)
    expected = plain.predict_on_batch(times5)
    np.testing.assert_allclose(scaled.predict_on_batch(features), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dense.predict_on_batch(np.asarray(p_dense(tf.constant(TEXTS)))), expected, atol=1e-5)
    assert not np.allclose(plain.predict_on_batch(features), expected, atol=1e-3)  # the scale matters
    config = scaled.get_config()
    assert config["input_scale"] == 5.0
    assert TfidfMLP.from_config(config).get_config() == config
    old = plain.get_config()
    del old["input_scale"]  # written before the setting existed
    assert TfidfMLP.from_config(old).input_scale == 1.0


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "5"])
def test_classifier_rejects_a_bad_input_scale(tiny_corpus, bad):
    import kmlc
    from kmlc.errors import KmlcInputError

    texts, labels = tiny_corpus
    with pytest.raises(KmlcInputError, match=r"Expected input_scale to be a finite number > 0, Received: "):
        kmlc.TextClassifier(input_scale=bad).fit(texts, labels)


def test_cached_batches_share_one_padded_entry_count():
    """One input shape per run: every cached batch is padded to the same entry count, which
    holds each batch's real entries (unshuffled: the bucket of the largest batch total;
    shuffled: the mean total plus BATCH_ENTRIES_SD standard deviations, bucketed)."""
    from kmlc.preprocessing.tfidf import BATCH_ENTRIES_SD

    p = adapted()
    texts = TEXTS * 3
    labels = np.zeros((len(texts), 1), np.float32)
    sizes = np.array([int(tf.size(p.encode(tf.constant([t]))["ngram_ids"])) for t in texts])
    for shuffle in (False, True):
        ds = make_dataset(texts, p, labels, batch_size=4, shuffle=shuffle, seed=1, cache=True)
        widths = {len(np.asarray(x["ngram_ids"])) for _ in range(3) for x, _ in ds}
        assert len(widths) == 1
        totals = [int(np.asarray(x["ngram_counts"]).sum()) for x, _ in ds]
        if shuffle:
            variance = 4 * sizes.var() * (len(sizes) - 4) / (len(sizes) - 1)
            bound = min(4 * sizes.mean() + BATCH_ENTRIES_SD * np.sqrt(variance), np.sort(sizes)[-4:].sum())
        else:
            bound = max(sizes[i : i + 4].sum() for i in range(0, len(sizes), 4))
        assert widths == {int(bucket_size(int(np.ceil(bound))))}
        assert max(totals) <= widths.pop()


def test_a_batch_above_the_padded_count_gets_its_own_bucket():
    p = adapted()
    features = p.encode(tf.constant(TEXTS))
    total = int(tf.size(features["ngram_ids"].flat_values))
    small = p.collate(features, entries=MIN_BUCKET)  # fewer than the batch holds
    assert len(np.asarray(small["ngram_ids"])) == int(bucket_size(total)) > MIN_BUCKET
    wide = p.collate(features, entries=4 * int(bucket_size(total)))
    assert len(np.asarray(wide["ngram_ids"])) == 4 * int(bucket_size(total))
    # The padding adds nothing: the same dense vectors either way.
    np.testing.assert_allclose(densify(wide, p.output_dim), densify(small, p.output_dim))


@pytest.mark.parametrize("cache", [False, True])
def test_drop_remainder_leaves_out_the_last_partial_batch(cache):
    from kmlc.preprocessing import drops_remainder, steps_per_epoch

    p = adapted()
    labels = np.arange(len(TEXTS), dtype=np.float32)[:, None]
    ds = make_dataset(TEXTS, p, labels, batch_size=4, shuffle=True, seed=3, cache=cache, drop_remainder=True)
    assert int(ds.cardinality()) == steps_per_epoch(len(TEXTS), 4, drop_remainder=True) == 2
    epochs = [[int(v) for _, y in ds for v in np.asarray(y)[:, 0]] for _ in range(3)]
    assert all(len(rows) == 8 and len(set(rows)) == 8 for rows in epochs)
    assert len({tuple(sorted(rows)) for rows in epochs}) > 1  # other rows left out each epoch
    # Fewer texts than a batch: nothing is dropped.
    one = make_dataset(TEXTS[:3], p, labels[:3], batch_size=4, cache=cache, drop_remainder=True)
    assert [len(np.asarray(y)) for _, y in one] == [3]
    assert steps_per_epoch(10, 4) == 3 and not drops_remainder(10, 4) and drops_remainder(40, 4)


def test_text_array_keeps_python_strings_without_a_fixed_width():
    from kmlc.preprocessing.pipeline import text_array

    array = text_array(["a", "é" * 5000, np.str_("b"), 7])
    assert array.dtype == object and [type(t) for t in array] == [str] * 4
    assert list(array) == ["a", "é" * 5000, "b", "7"]
    assert list(text_array(np.array([["x", "y"]], dtype=object))) == ["x", "y"]
    assert list(text_array(t for t in ("p", "q"))) == ["p", "q"]


def test_encoded_bytes_bound_holds_and_spares_the_sample(monkeypatch):
    import kmlc.preprocessing.pipeline as pipeline

    texts = pipeline.text_array(TEXTS + ["Émile a dit : « ça va » !!", "a b c d e f", "   "])
    for output in ("sparse", "dense"):
        p = adapted(output)
        assert pipeline._nbytes(p.encode(tf.constant(texts))) <= p.encoded_bytes_bound(texts)
    p = adapted()

    def never(_):
        raise AssertionError("vectorised a sample although the bound sufficed")

    assert pipeline._cache_fits(texts, never, p)
    monkeypatch.setattr(pipeline, "CACHE_BUDGET_BYTES", p.encoded_bytes_bound(texts) - 1)
    assert pipeline._cache_fits(texts, p.encode, p)  # above the bound: the sample decides, and fits
    monkeypatch.setattr(pipeline, "CACHE_BUDGET_BYTES", 10)
    assert not pipeline._cache_fits(texts, p.encode, p)


def test_encode_all_equals_one_encode_call(monkeypatch):
    """Chunks on several threads, concatenated in order: the features of one call."""
    import kmlc.preprocessing.pipeline as pipeline

    monkeypatch.setattr(pipeline, "ENCODE_CHUNK", 3)
    p = adapted()
    texts = pipeline.text_array(TEXTS * 2)
    whole, chunked = p.encode(tf.constant(texts)), pipeline.encode_all(texts, p.encode)
    for key in ("ngram_ids", "ngram_weights"):
        np.testing.assert_array_equal(whole[key].row_splits.numpy(), chunked[key].row_splits.numpy())
    np.testing.assert_array_equal(whole["ngram_ids"].flat_values.numpy(), chunked["ngram_ids"].flat_values.numpy())
    np.testing.assert_allclose(
        whole["ngram_weights"].flat_values.numpy(), chunked["ngram_weights"].flat_values.numpy(), rtol=1e-6
    )


def test_unshuffled_examples_make_one_batch_under_the_entry_budget():
    p = adapted()
    texts = TEXTS * 3
    labels = np.arange(len(texts), dtype=np.float32)[:, None]
    total = int(tf.size(p.encode(tf.constant(texts))["ngram_ids"].flat_values))
    one = list(make_dataset(texts, p, labels, batch_size=4, cache=True, one_batch_entries=total))
    many = list(make_dataset(texts, p, labels, batch_size=4, cache=True, one_batch_entries=total - 1))
    assert [len(np.asarray(y)) for _, y in one] == [len(texts)]
    assert [len(np.asarray(y)) for _, y in many] == [4] * 7 + [2]
    np.testing.assert_array_equal(np.asarray(one[0][1]), np.concatenate([np.asarray(y) for _, y in many]))
    np.testing.assert_allclose(
        densify(one[0][0], p.output_dim), np.concatenate([densify(x, p.output_dim) for x, _ in many]), rtol=1e-6
    )
    # Training batches (shuffled) keep their size.
    shuffled = make_dataset(texts, p, labels, batch_size=4, shuffle=True, cache=True, one_batch_entries=10**9)
    assert [len(np.asarray(y)) for _, y in shuffled] == [4] * 7 + [2]


@pytest.mark.backend
def test_host_glorot_uniform_is_seeded_numpy_on_every_backend():
    """The TF-IDF network's kernels come from NumPy: the same values on every backend, the
    Glorot limit, and a config round trip."""
    from kmlc.models.layers import HostGlorotUniform

    init = HostGlorotUniform(seed=7)
    values = keras.ops.convert_to_numpy(init((300, 40)))
    limit = np.sqrt(6.0 / 340)
    expected = np.random.default_rng(7).random((300, 40), dtype=np.float32) * np.float32(2 * limit) - np.float32(limit)
    np.testing.assert_array_equal(values, expected)
    assert values.dtype == np.float32 and np.abs(values).max() <= limit
    assert abs(values.mean()) < 0.01 and values.var() == pytest.approx(limit**2 / 3, rel=0.05)
    assert not np.array_equal(values, keras.ops.convert_to_numpy(HostGlorotUniform(seed=8)((300, 40))))
    assert HostGlorotUniform.from_config(init.get_config()).get_config() == {"seed": 7}
    model = TfidfMLP(input_dim=30, num_labels=3, hidden_units=(4,), seed=5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.get_layer("hidden_0").kernel),
        keras.ops.convert_to_numpy(HostGlorotUniform(seed=5)((30, 4))),
    )


def test_min_df_keeps_the_ngrams_of_at_least_that_many_texts():
    texts = TEXTS[:7] * 2 + ["zebra pizza", "zebra pasta"]
    for min_df in (1, 3, 5):
        p = TfidfPreprocessor(max_tokens=10_000, min_df=min_df).adapt(texts)
        # A NumPy count of the document frequency of every n-gram of the preprocessor's own tokens.
        grams = [set(g.decode() for g in row) for row in p._tokens(tf.constant(texts)).to_list()]
        df = {}
        for row in grams:
            for g in row:
                df[g] = df.get(g, 0) + 1
        expected = {g for g, n in df.items() if n >= min_df}
        vocabulary = [str(t) for t in p.vectorizer.get_vocabulary()][1:]
        assert set(vocabulary) == expected and len(vocabulary) == len(expected)
    # The cap still applies: the most frequent of those kept.
    capped = TfidfPreprocessor(max_tokens=6, min_df=3).adapt(texts)
    assert len(capped.vectorizer.get_vocabulary()) == 6
    assert capped.get_config()["min_df"] == 3
    assert TfidfPreprocessor.from_config(capped.get_config()).min_df == 3


@pytest.mark.backend
def test_wide_path_is_a_linear_map_added_to_the_logits_in_both_modes():
    p_sparse, p_dense = adapted("sparse"), adapted("dense")
    kwargs = dict(hidden_units=(8,), seed=5, wide=True, input_scale=2.0)
    sparse = TfidfMLP(p_sparse.output_dim, 3, input_mode="sparse", **kwargs)
    dense = TfidfMLP(p_dense.output_dim, 3, input_mode="dense", **kwargs)
    deep = TfidfMLP(p_dense.output_dim, 3, input_mode="dense", hidden_units=(8,), seed=5, input_scale=2.0)
    wide = dense.get_layer("wide")
    assert not np.any(wide.get_weights()[0]) and len(wide.get_weights()) == 1  # zeros, no bias
    x = np.asarray(p_dense(tf.constant(TEXTS)))
    # At its zero start the wide network is the deep one.
    np.testing.assert_allclose(dense.predict(x, verbose=0), deep.predict(x, verbose=0), atol=1e-6)
    rng = np.random.default_rng(2)
    trained = [w + rng.normal(scale=0.3, size=w.shape).astype(np.float32) for w in dense.get_weights()]
    dense.set_weights(trained)
    sparse.set_weights(trained)
    kernel = dense.get_layer("wide").get_weights()[0]
    deep.set_weights([w for w, v in zip(trained, dense.weights) if "wide" not in v.path])
    expected = deep.predict(x, verbose=0) + (2.0 * x) @ kernel
    np.testing.assert_allclose(dense.predict(x, verbose=0), expected, atol=1e-4)
    np.testing.assert_allclose(sparse.predict_on_batch(as_numpy(p_sparse(tf.constant(TEXTS)))), expected, atol=1e-4)
    config = sparse.get_config()
    assert config["wide"] == "joint" and TfidfMLP.from_config(config).get_config() == config
    old = dict(config)
    del old["wide"]
    assert TfidfMLP.from_config(old).wide == "none"  # a network saved before `wide` existed
    assert TfidfMLP.from_config({**config, "wide": False}).wide == "none"  # saved when it was a boolean


WORDY = [
    "Patient is a 5-year-old with left-sided pain, r/o pneumonia!",
    "Café ÉCOLE naïve x-ray; don't stop: x-ray again",
    "a b c I",
    "",
    "it's 2nd-degree (burn)... ok_then OK",
]


def test_word_tokens_are_scikit_learns_and_the_vectors_its_counts_with_kmlcs_idf():
    from sklearn.feature_extraction.text import CountVectorizer

    p = TfidfPreprocessor(tokens="words", max_tokens=1000).adapt(WORDY)
    vocabulary = [str(t) for t in p.vectorizer.get_vocabulary()]
    counter = CountVectorizer(ngram_range=(1, 2)).fit(WORDY)
    assert set(vocabulary[1:]) == set(counter.vocabulary_)
    # The vectors: (1 + log count) x log(1 + n / (1 + df)), unit length, on scikit-learn's counts.
    counts = CountVectorizer(ngram_range=(1, 2), vocabulary=vocabulary[1:]).transform(WORDY).toarray().astype(float)
    df = (counts > 0).sum(axis=0)
    weights = np.where(counts > 0, 1 + np.log(np.maximum(counts, 1)), 0) * np.log(1 + len(WORDY) / (1 + df))
    norms = np.sqrt((weights**2).sum(axis=1, keepdims=True))
    expected = np.divide(weights, norms, out=np.zeros_like(weights), where=norms > 0)
    got = densify(as_numpy(p(tf.constant(WORDY))), p.output_dim)
    np.testing.assert_allclose(got[:, 1:], expected, atol=1e-6)
    assert not got[:, 0].any()  # nothing out of vocabulary in the adapted texts
    dense = TfidfPreprocessor(tokens="words", max_tokens=1000, output="dense").adapt(WORDY)
    np.testing.assert_allclose(np.asarray(dense(tf.constant(WORDY))), got, atol=1e-7)


def test_the_token_rule_is_saved_and_older_preprocessors_keep_keras_tokens(tmp_path):
    p = TfidfPreprocessor(tokens="words", max_tokens=100).adapt(WORDY)
    p.save(tmp_path / "words")
    loaded = TfidfPreprocessor.load(tmp_path / "words")
    assert loaded.tokens == "words"
    np.testing.assert_allclose(densify(as_numpy(loaded(tf.constant(WORDY))), loaded.output_dim),
                               densify(as_numpy(p(tf.constant(WORDY))), p.output_dim))
    old = TfidfPreprocessor(max_tokens=100).adapt(WORDY)
    old.save(tmp_path / "old")
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["tokens"]  # written before the option existed
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    assert TfidfPreprocessor.load(tmp_path / "old").tokens == "keras"
    keras_vocabulary = set(map(str, old.vectorizer.get_vocabulary()))
    assert "xray" in keras_vocabulary and "x ray" not in keras_vocabulary  # punctuation deleted, not split
    with pytest.raises(ValueError, match="Expected tokens to be one of"):
        TfidfPreprocessor(tokens="chars")


@pytest.mark.parametrize("output", ["sparse", "dense"])
def test_words_smooth_idf_and_dropped_oov_are_scikit_learns_tfidf_vectorizer(output):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = WORDY + ["pain left", "left pain x-ray", "x-ray pain again"]
    unseen = ["new words: pain, left x-ray, unknown", "zzz", "", "left-sided pain again"]
    p = TfidfPreprocessor(tokens="words", idf="smooth", oov="drop", min_df=2, max_tokens=10**6,
                          output=output).adapt(texts)
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2).fit(texts)
    vocabulary = [str(t) for t in p.vectorizer.get_vocabulary()]
    assert sorted(vocabulary[1:]) == sorted(reference.vocabulary_)
    columns = [reference.vocabulary_[t] for t in vocabulary[1:]]
    got = p(tf.constant(unseen))
    got = np.asarray(got) if output == "dense" else densify(as_numpy(got), p.output_dim)
    np.testing.assert_allclose(got[:, 1:], reference.transform(unseen).toarray()[:, columns], atol=1e-6)
    assert not got[:, 0].any()  # the unseen n-grams are dropped, not counted in column 0
    kept = TfidfPreprocessor(tokens="words", idf="smooth", min_df=2, max_tokens=10**6, output=output).adapt(texts)
    kept_vectors = kept(tf.constant(unseen))
    kept_vectors = np.asarray(kept_vectors) if output == "dense" else densify(as_numpy(kept_vectors), p.output_dim)
    assert kept_vectors[0, 0] > 0 and kept_vectors[1, 0] > 0  # "oov='keep'": counted in column 0
