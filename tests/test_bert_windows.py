"""Long documents read in overlapping windows (`long_docs="windows"`): the windows the
preprocessor cuts, the max-pooling of the windows' logits, and the whole estimator path."""

import numpy as np
import pytest

import kmlc
from kmlc.preprocessing.bert import BertPreprocessor

pytestmark = pytest.mark.backend

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(40)]
CLS, SEP, PAD = 2, 3, 0


def tokenizer():
    import keras_hub

    return keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True)


def reference_windows(ids, sequence_length, overlap, max_windows):
    """The windows of one token-id list, written the plain way."""
    content = sequence_length - 2
    stride = content - overlap
    windows, start = [], 0
    while True:
        windows.append(ids[start:start + content])
        if start + content >= len(ids) or len(windows) == max_windows:
            return windows
        start += stride


@pytest.mark.parametrize("sequence_length,overlap,max_windows", [(6, 1, 3), (8, 0, 10), (7, 2, 2)])
def test_windows_match_a_plain_python_reference(sequence_length, overlap, max_windows):
    words = [f"w{i}" for i in range(23)]
    texts = [" ".join(words), "", "w5", " ".join(words[:sequence_length - 2]), " ".join(words[:sequence_length - 1])]
    pre = BertPreprocessor(sequence_length=sequence_length, tokenizer=tokenizer(), long_docs="windows",
                           max_windows=max_windows, window_overlap=overlap)
    out = pre(texts)
    batch_windows = out["token_ids"].shape[1]
    for row, text in enumerate(texts):
        ids = [VOCAB.index(w) for w in text.split()]
        expected = reference_windows(ids, sequence_length, overlap, max_windows)
        assert out["window_mask"][row].tolist() == [1] * len(expected) + [0] * (batch_windows - len(expected))
        for w, window in enumerate(expected):
            packed = [CLS] + window + [SEP]
            packed += [PAD] * (sequence_length - len(packed))
            assert out["token_ids"][row, w].tolist() == packed
            assert out["padding_mask"][row, w].tolist() == [int(t != PAD) for t in packed]
    assert batch_windows == max(len(reference_windows([VOCAB.index(w) for w in t.split()], sequence_length,
                                                      overlap, max_windows)) for t in texts)
    assert not out["segment_ids"].any()


def test_truncate_is_the_first_window():
    texts = [" ".join(f"w{i}" for i in range(30)), "w1 w2"]
    windows = BertPreprocessor(sequence_length=8, tokenizer=tokenizer(), long_docs="windows")(texts)
    truncated = BertPreprocessor(sequence_length=8, tokenizer=tokenizer())(texts)
    np.testing.assert_array_equal(windows["token_ids"][:, 0], truncated["token_ids"])


@pytest.mark.parametrize(
    "settings,match",
    [
        (dict(long_docs="pages"), "long_docs"),
        (dict(long_docs="windows", max_windows=0), "max_windows"),
        (dict(long_docs="windows", window_overlap=6), "window_overlap"),
        (dict(long_docs="windows", window_overlap=-1), "window_overlap"),
    ],
)
def test_bad_window_settings_are_refused(settings, match):
    with pytest.raises(kmlc.KmlcInputError, match=f"Expected {match}"):
        BertPreprocessor(sequence_length=8, tokenizer=tokenizer(), **settings)


def test_document_logits_are_the_max_over_real_windows(tiny_bert_preset):
    import keras_hub

    from kmlc.models.bert import BertMultiLabel

    backbone = keras_hub.models.BertBackbone.from_preset(str(tiny_bert_preset))
    windowed = BertMultiLabel(backbone, 3, pooling="mean", windows=True)
    plain = BertMultiLabel(backbone, 3, pooling="mean")
    plain.get_layer("logits").set_weights(windowed.get_layer("logits").get_weights())
    pre = BertPreprocessor(preset=str(tiny_bert_preset), sequence_length=8, long_docs="windows", window_overlap=2)
    texts = ["the pizza was great and the pasta fresh but the waiter was rude and slow", "cheap wine", ""]
    features = pre(texts)
    doc_logits = np.asarray(windowed.predict(features, verbose=0))
    for row in range(len(texts)):
        real = features["window_mask"][row].astype(bool)
        window_inputs = {k: features[k][row][real] for k in ("token_ids", "segment_ids", "padding_mask")}
        window_logits = np.asarray(plain.predict(window_inputs, verbose=0))
        np.testing.assert_allclose(doc_logits[row], window_logits.max(axis=0), atol=1e-5)


def test_windows_through_fit_predict_save_load(tiny_bert_preset, tiny_corpus_module, tmp_path):
    texts, labels = tiny_corpus_module
    long_texts = [f"{t} and then we arrived at eight, the staff were there. {t}" for t in texts]
    clf = kmlc.TextClassifier(
        model="bert", preset=str(tiny_bert_preset), sequence_length=8, long_docs="windows", max_windows=4,
        epochs=2, batch_size=8, learning_rate=3e-3, warmup_fraction=0.0, seed=0, verbose=0,
    ).fit(long_texts, labels, validation_data=(long_texts[:20], labels[:20]))
    assert clf.preprocessor_(long_texts[:4])["token_ids"].shape[1] == 4
    assert np.isfinite(clf.history_["loss"]).all()
    proba = clf.predict_proba(long_texts[:12])
    clf.save(tmp_path / "m")
    loaded = kmlc.load(tmp_path / "m")
    assert loaded.preprocessor_.get_config() == clf.preprocessor_.get_config()
    assert loaded.model_.windows
    np.testing.assert_allclose(loaded.predict_proba(long_texts[:12]), proba, atol=1e-5)
