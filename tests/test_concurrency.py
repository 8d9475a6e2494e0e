"""One loaded model (and one loaded SavedModel export) used from 8 threads at once gives
exactly the single-thread results."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import kmlc
from conftest import make_tiny_corpus

pytestmark = pytest.mark.backend

THREADS = 8
TINY = dict(max_tokens=300, hidden_units=(16,), dropout=0.1, epochs=3, patience=3, batch_size=8,
            learning_rate=0.01, verbose=0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    texts, labels = make_tiny_corpus()
    directory = tmp_path_factory.mktemp("concurrency") / "model"
    kmlc.TextClassifier(seed=4, **TINY).fit(texts, labels).save(directory)
    return directory


def _inputs():
    """Each thread gets its own texts (and batch sizes), so a mix-up between threads shows."""
    base, _ = make_tiny_corpus()
    rng = np.random.default_rng(0)
    return [
        [f"{t} {'extra ' * int(k)}{i}" for t, k in zip(rng.permutation(base)[: 5 + 7 * i], rng.integers(0, 3, 60))]
        for i in range(THREADS)
    ]


def _in_threads(work, inputs, rounds=3):
    barrier = threading.Barrier(THREADS)

    def run(i):
        barrier.wait()  # all threads call at the same moment
        return [work(inputs[i]) for _ in range(rounds)]

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_one_loaded_model_from_8_threads(model_dir):
    clf = kmlc.load(model_dir)
    inputs = _inputs()
    # The first call from threads too: tracing/compiling the predict function must be safe.
    results = _in_threads(lambda texts: (clf.predict_proba(texts), clf.predict(texts)), inputs)
    for i, rounds in enumerate(results):
        expected_proba = clf.predict_proba(inputs[i])
        expected_labels = clf.predict(inputs[i])
        for proba, labels in rounds:
            np.testing.assert_array_equal(proba, expected_proba)
            assert labels == expected_labels


def test_one_loaded_savedmodel_from_8_threads(model_dir, tmp_path):
    pytest.importorskip("kmlc.export")
    import tensorflow as tf

    clf = kmlc.load(model_dir)
    target = clf.export(tmp_path / "served")
    serving = tf.saved_model.load(str(target)).signatures["serving_default"]
    inputs = _inputs()

    def serve(texts):
        out = serving(text=tf.constant(texts, dtype=tf.string))
        return out["probabilities"].numpy()

    results = _in_threads(serve, inputs)
    for i, rounds in enumerate(results):
        expected = serve(inputs[i])
        np.testing.assert_allclose(expected, clf.predict_proba(inputs[i]), atol=1e-5)
        for proba in rounds:
            np.testing.assert_array_equal(proba, expected)
