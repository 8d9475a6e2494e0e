"""fit / predict / save / load of the TF-IDF classifier, on the current backend."""

import json

import numpy as np
import pytest

import kmlc
from kmlc.errors import KmlcInputError, KmlcModelError

pytestmark = pytest.mark.backend

TINY = dict(max_tokens=200, hidden_units=(16,), dropout=0.1, epochs=8, patience=8, batch_size=8,
            learning_rate=0.01, verbose=0)


@pytest.fixture(scope="module")
def fitted(tiny_corpus_module):
    texts, labels = tiny_corpus_module
    return kmlc.TextClassifier(seed=1, **TINY).fit(texts, labels, validation_data=(texts[:20], labels[:20]))


def test_fit_learns_the_tiny_corpus(fitted, tiny_corpus_module):
    texts, labels = tiny_corpus_module
    assert fitted.labels_ == ["food", "price", "service"]  # by frequency, ties by name
    proba = fitted.predict_proba(texts[:10])
    assert proba.shape == (10, 3) and proba.dtype == np.float32
    assert np.all((proba >= 0) & (proba <= 1))
    metrics = fitted.evaluate(texts, labels)
    assert metrics["micro_f1"] > 0.9
    predicted = fitted.predict(texts[:10])
    assert predicted[0] == ["food"] and sorted(predicted[2]) == ["food", "service"]


def test_predict_proba_columns_follow_labels(fitted):
    proba = fitted.predict_proba(["waiter was rude and slow", "pricey wine list"])
    assert fitted.labels_[int(proba[0].argmax())] == "service"
    assert fitted.labels_[int(proba[1].argmax())] == "price"


def test_save_load_gives_the_same_probabilities(fitted, tiny_corpus_module, tmp_path):
    texts, _ = tiny_corpus_module
    fitted.save(tmp_path / "model")
    loaded = kmlc.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(texts), fitted.predict_proba(texts), atol=1e-6)
    assert loaded.predict(texts) == fitted.predict(texts)
    assert loaded.labels_ == fitted.labels_
    assert loaded.resolved_params() == fitted.resolved_params()  # the YAML form: lists, not tuples
    np.testing.assert_array_equal(loaded.thresholds_.thresholds, fitted.thresholds_.thresholds)
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == ["config.yaml", "kmlc.json", "labels.txt", "metrics.json", "model.keras",
                     "preprocessor", "thresholds.json", "training.json"]
    assert not list(tmp_path.glob(".model.*")), "temporary directories left behind"


def test_saving_over_an_existing_model_replaces_it_and_nothing_else(fitted, tmp_path):
    fitted.save(tmp_path / "model")
    first = (tmp_path / "model" / "kmlc.json").read_text()
    fitted.save(tmp_path / "model")  # a kmlc model directory is kmlc's own: replaced
    assert (tmp_path / "model" / "model.keras").is_file() and (tmp_path / "model" / "kmlc.json").read_text() != ""
    assert json.loads(first)["files"].keys() == json.loads((tmp_path / "model" / "kmlc.json").read_text())["files"].keys()
    # A file kmlc did not write makes it the user's directory: refused, untouched ...
    (tmp_path / "model" / "notes.txt").write_text("mine")
    with pytest.raises(KmlcInputError, match=r"also holds files kmlc did not write \['notes.txt'\].*overwrite=True"):
        fitted.save(tmp_path / "model")
    assert (tmp_path / "model" / "notes.txt").read_text() == "mine"
    # ... unless replaced on purpose.
    fitted.save(tmp_path / "model", overwrite=True)
    assert not (tmp_path / "model" / "notes.txt").exists() and (tmp_path / "model" / "model.keras").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no backup, no lock left


def test_a_failed_save_leaves_the_previous_model(fitted, tmp_path, monkeypatch):
    fitted.save(tmp_path / "model")
    before = (tmp_path / "model" / "thresholds.json").read_text()
    monkeypatch.setattr(fitted.preprocessor_, "save", lambda d: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        fitted.save(tmp_path / "model")
    assert (tmp_path / "model" / "thresholds.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_same_seed_same_result(tiny_corpus_module):
    texts, labels = tiny_corpus_module
    a = kmlc.TextClassifier(seed=7, **TINY).fit(texts, labels)
    b = kmlc.TextClassifier(seed=7, **TINY).fit(texts, labels)
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))
    assert a.history_ == b.history_


def test_validation_split_is_made_when_no_validation_data(tiny_corpus_module):
    texts, labels = tiny_corpus_module
    clf = kmlc.TextClassifier(seed=0, **{**TINY, "epochs": 1}).fit(texts, labels)
    assert clf.n_train_ == 48 and clf.metrics_["validation"]["n_examples"] == 12


def test_unseen_labels_count_as_misses(fitted):
    m = fitted.evaluate(["rude waiter", "rude waiter"], [["service"], ["service", "parking"]])
    assert m["unseen_labels"] == {"parking": 1}
    assert m["n_labels"] == 4
    assert m["micro_recall"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"model": "svm"}, "Expected model to be one of"),
        ({"epochs": 0}, "Expected epochs to be an integer >= 1, Received: 0."),
        ({"dropout": 1.5}, r"Expected dropout to be a finite number in \[0, 1\), Received: 1.5."),
        ({"loss": "hinge"}, "Expected loss to be one of"),
        ({"threshold": "best"}, "Expected threshold to be one of"),
    ],
)
def test_bad_settings_fail_before_training(params, match, tiny_corpus_module):
    texts, labels = tiny_corpus_module
    with pytest.raises(KmlcInputError, match=match):
        kmlc.TextClassifier(**params).fit(texts, labels)


@pytest.mark.parametrize(
    "texts,labels,match",
    [
        ("one string", [["a"]], "a single string"),
        (["ok", 3], [["a"], ["b"]], r"Expected texts to hold only strings.*position\(s\) \[1\]"),
        (["ok", "fine"], [["a"]], "Expected one label list per text"),
        (["ok", "fine"], ["a", "b"], "Expected each row of labels to be a list of strings"),
    ],
)
def test_bad_fit_input(texts, labels, match):
    with pytest.raises(KmlcInputError, match=match):
        kmlc.TextClassifier(**TINY).fit(texts, labels)


def test_predict_input_checks(fitted):
    assert fitted.predict([]) == []
    assert fitted.predict_proba([]).shape == (0, 3)
    with pytest.raises(KmlcInputError, match="Expected texts to hold only strings"):
        fitted.predict([None])
    with pytest.raises(KmlcModelError, match="Expected a fitted classifier"):
        kmlc.TextClassifier().predict(["x"])


def test_load_refuses_incomplete_or_damaged_directories(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    with pytest.raises(KmlcModelError, match="not a directory"):
        kmlc.load(tmp_path / "nope")
    (tmp_path / "m" / "labels.txt").unlink()
    with pytest.raises(KmlcModelError, match=r"without \['labels.txt'\]"):
        kmlc.load(tmp_path / "m")
    fitted.save(tmp_path / "m")
    (tmp_path / "m" / "thresholds.json").write_text("{not json")
    with pytest.raises(KmlcModelError, match="damaged file|altered or truncated"):
        kmlc.load(tmp_path / "m")
    fitted.save(tmp_path / "m")
    data = (tmp_path / "m" / "model.keras").read_bytes()
    (tmp_path / "m" / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(KmlcModelError, match="cannot be loaded|altered or truncated"):
        kmlc.load(tmp_path / "m")


def test_get_params_round_trip():
    clf = kmlc.TextClassifier(epochs=3, loss="focal", loss_params={"gamma": 1.0})
    clone = kmlc.TextClassifier(**clf.get_params())
    assert clone.get_params() == clf.get_params()
    with pytest.raises(KmlcInputError, match="unknown"):
        clf.set_params(nope=1)


def test_network_config_round_trip():
    from kmlc.models import TfidfMLP

    net = TfidfMLP(input_dim=10, num_labels=3, hidden_units=(4, 2), dropout=0.2, seed=3, name="n")
    clone = TfidfMLP.from_config(net.get_config())
    assert clone.get_config() == net.get_config()
    assert json.loads(json.dumps(net.get_config())) == net.get_config()


def test_precision_floor_and_group_cutoffs(fitted, tiny_corpus_module):
    texts, labels = tiny_corpus_module
    fitted.tune_thresholds(texts, labels, threshold="global", min_precision=0.99)
    try:
        assert fitted.thresholds_.min_precision == 0.99
        assert fitted.evaluate(texts, labels)["micro_precision"] >= 0.99
        fitted.set_params(group_cutoffs=(20, 19))
        groups = fitted.evaluate(texts, labels)["groups"]
        counts = fitted.label_encoder_.counts_
        assert groups["head"]["n_labels"] == int((counts >= 20).sum())
        assert groups["tail"]["n_labels"] == int((counts < 19).sum())
    finally:
        fitted.set_params(min_precision=None, group_cutoffs=(35, 8))
        fitted.tune_thresholds(texts[:20], labels[:20], threshold="global")
