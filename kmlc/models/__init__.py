"""Backend-neutral Keras networks: numbers in, logits out (string work is in kmlc.preprocessing)."""

from kmlc.models.layers import WeightedEmbeddingBag
from kmlc.models.tfidf_mlp import TfidfMLP

__all__ = ["TfidfMLP", "WeightedEmbeddingBag"]
