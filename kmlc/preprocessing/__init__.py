"""String work that runs in tf.data, outside the model graph (so models stay backend-neutral)."""

from kmlc.preprocessing.pipeline import make_dataset
from kmlc.preprocessing.tfidf import TfidfPreprocessor

__all__ = ["TfidfPreprocessor", "make_dataset"]
