"""Shared fixtures. The backend comes from KERAS_BACKEND (default here: jax); CI runs the tests
marked `backend` under jax, tensorflow and torch."""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_dataset():
    """A function giving the path of a real dataset beside the checkout; it skips the test
    when the data is absent."""

    def find(*parts):
        path = SHARED_DATA.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"real data not found at {path}")
        return path

    return find


def make_tiny_corpus():
    """A small, learnable multi-label corpus: 3 labels, a row with none, a row with all."""
    rows = [
        ("the pizza was great and the pasta fresh", ["food"]),
        ("waiter was rude and slow", ["service"]),
        ("pasta cold, waiter rude", ["food", "service"]),
        ("too expensive for what you get", ["price"]),
        ("cheap and tasty pizza", ["food", "price"]),
        ("friendly staff, fair prices, great pasta", ["food", "price", "service"]),
        ("we arrived at eight", []),
        ("the staff were attentive", ["service"]),
        ("pricey wine list", ["price"]),
        ("delicious fresh bread", ["food"]),
    ]
    texts = [t for t, _ in rows] * 6
    labels = [list(l) for _, l in rows] * 6
    return texts, labels


@pytest.fixture
def tiny_corpus():
    return make_tiny_corpus()


@pytest.fixture(scope="module")
def tiny_corpus_module():
    return make_tiny_corpus()


TINY_BERT_WORDS = sorted(set((
    "the a and was were too for what you get we at pizza pasta bread wine fresh cold great "
    "tasty delicious cheap expensive pricey prices fair waiter staff service rude slow "
    "friendly attentive list arrived eight"
).split()))
TINY_BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + TINY_BERT_WORDS + [",", "."]


@pytest.fixture(scope="session")
def tiny_bert_preset(tmp_path_factory):
    """A tiny randomly initialised BERT (2 layers, hidden size 16) saved as a KerasHub preset."""
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    directory = tmp_path_factory.mktemp("presets") / "tiny_bert"
    keras_hub.models.BertBackbone(
        vocabulary_size=len(TINY_BERT_VOCAB), num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=32,
    ).save_to_preset(directory)
    keras_hub.models.BertTokenizer(vocabulary=TINY_BERT_VOCAB, lowercase=True).save_to_preset(directory)
    return directory
