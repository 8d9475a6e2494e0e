"""String work that runs in tf.data, outside the model graph (so models stay backend-neutral)."""

from kmlc.preprocessing.pipeline import drops_remainder, make_dataset, steps_per_epoch
from kmlc.preprocessing.tfidf import TfidfPreprocessor

__all__ = ["TfidfPreprocessor", "drops_remainder", "make_dataset", "steps_per_epoch"]
