"""The streaming F1 metrics used for early stopping, against scikit-learn, on each backend."""

import keras
import numpy as np
import pytest
from sklearn.metrics import f1_score

from kmlc.metrics import F1Score

pytestmark = pytest.mark.backend


@pytest.mark.parametrize("average", ["micro", "macro"])
def test_streaming_f1_matches_sklearn_over_batches(average):
    rng = np.random.default_rng(0)
    y = (rng.random((60, 7)) < 0.3).astype("float32")
    y[:, 6] = 0  # a label never true ...
    logits = rng.normal(size=(60, 7)).astype("float32")
    logits[:, 6] = -5  # ... and never predicted: F1 0 for macro, as zero_division=0
    thresholds = np.linspace(0.3, 0.7, 7)
    metric = F1Score(7, average=average, threshold=thresholds.tolist())
    for start in range(0, 60, 16):
        metric.update_state(y[start:start + 16], logits[start:start + 16])
    predicted = (1 / (1 + np.exp(-logits)) >= thresholds).astype(int)
    expected = f1_score(y, predicted, average=average, zero_division=0)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_config_round_trip_and_use_in_compile():
    metric = F1Score(3, average="macro", threshold=0.4, name="f1m")
    clone = F1Score.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[clone])
    history = model.fit(np.ones((8, 4), "float32"), np.ones((8, 3), "float32"), epochs=1, verbose=0)
    assert "f1m" in history.history


@pytest.mark.parametrize("average", ["micro", "macro"])
def test_tuned_f1_is_the_best_f1_over_bin_edge_thresholds(average):
    from kmlc.metrics import TunedF1Score

    rng = np.random.default_rng(1)
    y = (rng.random((80, 5)) < 0.3).astype("float32")
    logits = (2 * y - 1 + rng.normal(scale=1.5, size=y.shape)).astype("float32")
    metric = TunedF1Score(5, average=average, num_bins=50, logit_range=5.0)
    for start in range(0, 80, 32):
        metric.update_state(y[start:start + 32], logits[start:start + 32])
    bins = np.clip(np.floor((logits.astype(np.float64) + 5.0) / 10.0 * 50), 0, 49)

    def best_f1(bins):
        return max(f1_score(y, (bins >= k).astype(int), average=average, zero_division=0) for k in range(51))

    assert float(metric.result()) == pytest.approx(best_f1(bins), abs=1e-6)
    # A model whose scores are all far below 0.5 is still judged by its ranking, not as F1 = 0.
    low = TunedF1Score(5, average=average)
    low.update_state(y, logits - 6.0)
    fine_bins = np.clip(np.floor((logits.astype(np.float64) - 6.0 + 12.0) / 24.0 * 240), 0, 239)
    assert float(low.result()) == pytest.approx(
        max(f1_score(y, (fine_bins >= k).astype(int), average=average, zero_division=0) for k in range(241)), abs=1e-6
    )
    assert float(low.result()) > 0.6
    clone = TunedF1Score.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()


@pytest.mark.backend
@pytest.mark.parametrize("average", ["micro", "macro"])
def test_tuned_f1_is_the_same_eager_and_compiled(average):
    """Eager `result()` (the epoch-end logs) takes a NumPy path; inside a compiled function it
    stays in keras.ops: both give the same value."""
    from kmlc.metrics import TunedF1Score

    rng = np.random.default_rng(4)
    y = (rng.random((64, 6)) < 0.3).astype("float32")
    metric = TunedF1Score(6, average=average)
    metric.update_state(y, (2 * y - 1 + rng.normal(scale=1.5, size=y.shape)).astype("float32"))
    eager = float(metric.result())
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        compiled = jax.jit(lambda values: metric.stateless_result(values))([v.value for v in metric.variables])
    elif backend == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(metric.result)()
    else:
        pytest.skip("torch runs metrics eagerly: there is no compiled path")
    assert float(compiled) == pytest.approx(eager, abs=1e-6)


def test_tuned_f1_of_both_averages_is_each_one_from_one_histogram():
    """average=("micro", "macro"): one histogram, a dict result equal to the two single
    metrics; in `compile` it logs micro_f1 / macro_f1 (and their val_ versions)."""
    from kmlc.metrics import TunedF1Score

    rng = np.random.default_rng(3)
    y = (rng.random((70, 4)) < 0.3).astype("float32")
    logits = (2 * y - 1 + rng.normal(scale=1.5, size=y.shape)).astype("float32")
    both, micro, macro = TunedF1Score(4, ("micro", "macro")), TunedF1Score(4, "micro"), TunedF1Score(4, "macro")
    for metric in (both, micro, macro):
        metric.update_state(y, logits)
    result = both.result()
    assert set(result) == {"micro_f1", "macro_f1"} and both.name == "tuned_f1"
    assert float(result["micro_f1"]) == pytest.approx(float(micro.result()), abs=1e-7)
    assert float(result["macro_f1"]) == pytest.approx(float(macro.result()), abs=1e-7)
    assert TunedF1Score.from_config(both.get_config()).get_config() == both.get_config()
    with pytest.raises(ValueError, match="Expected average 'micro', 'macro' or a tuple of both"):
        TunedF1Score(4, ("micro", "micro"))
    with pytest.raises(ValueError, match="Expected average"):
        TunedF1Score(4, "weighted")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[TunedF1Score(4, ("micro", "macro"))])
    x = rng.normal(size=(16, 3)).astype("float32")
    history = model.fit(x, y[:16], validation_data=(x, y[:16]), epochs=1, verbose=0)
    assert {"micro_f1", "macro_f1", "val_micro_f1", "val_macro_f1"} <= set(history.history)
