"""The BERT family through the TextClassifier API: fit / predict / save / load / CLI, with a
tiny randomly initialised BERT written as a KerasHub preset by the test."""

import json

import numpy as np
import pytest

import kmlc

pytestmark = pytest.mark.backend

BERT_FAST = dict(sequence_length=16, epochs=3, batch_size=8, learning_rate=3e-3, patience=3,
                 warmup_fraction=0.0, verbose=0)


@pytest.fixture(scope="module")
def fitted_bert(tiny_bert_preset, tiny_corpus_module):
    texts, labels = tiny_corpus_module
    return kmlc.TextClassifier(model="bert", preset=str(tiny_bert_preset), seed=0, **BERT_FAST).fit(
        texts, labels, validation_data=(texts[:20], labels[:20])
    )


def test_fit_predict_and_loss_falls(fitted_bert, tiny_corpus_module):
    texts, _ = tiny_corpus_module
    history = fitted_bert.history_
    assert history["loss"][-1] < history["loss"][0]
    proba = fitted_bert.predict_proba(texts[:10])
    assert proba.shape == (10, 3) and np.all((proba >= 0) & (proba <= 1))
    assert len(fitted_bert.predict(texts[:4])) == 4


def test_save_load_same_probabilities_without_the_preset(fitted_bert, tiny_corpus_module, tmp_path):
    texts, _ = tiny_corpus_module
    fitted_bert.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "kmlc.json").read_text())["model_family"] == "bert"
    loaded = kmlc.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(texts), fitted_bert.predict_proba(texts), atol=1e-5)
    assert loaded.resolved_params() == fitted_bert.resolved_params()


def test_family_defaults_are_resolved_and_saved(fitted_bert):
    p = fitted_bert.resolved_params()
    assert p["dropout"] == 0.1 and p["epochs"] == 3 and p["pooling"] == "mean"
    assert kmlc.TextClassifier(model="bert").resolved_params()["learning_rate"] == 5e-5


@pytest.mark.parametrize("loss", ["focal", "db"])
def test_every_loss_trains_the_bert_family(tiny_bert_preset, tiny_corpus_module, loss):
    texts, labels = tiny_corpus_module
    clf = kmlc.TextClassifier(model="bert", preset=str(tiny_bert_preset), loss=loss, seed=0,
                              **{**BERT_FAST, "epochs": 1}).fit(texts, labels)
    assert np.isfinite(clf.history_["loss"]).all()


def test_frozen_backbone_keeps_its_weights(tiny_bert_preset, tiny_corpus_module):
    import keras_hub

    texts, labels = tiny_corpus_module
    clf = kmlc.TextClassifier(model="bert", preset=str(tiny_bert_preset), freeze_backbone=True, seed=0,
                              **{**BERT_FAST, "epochs": 1}).fit(texts, labels)
    original = keras_hub.models.BertBackbone.from_preset(str(tiny_bert_preset))
    for a, b in zip(original.get_weights(), clf.model_.backbone.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_preset_fails_before_training(tmp_path, tiny_corpus_module):
    texts, labels = tiny_corpus_module
    with pytest.raises(kmlc.KmlcInputError, match="Expected"):
        kmlc.TextClassifier(model="bert", preset=str(tmp_path / "nope")).fit(texts, labels)
