"""kmlc: multi-label text classification on Keras 3 (JAX, TensorFlow, PyTorch).

Importing kmlc does not import Keras, so the backend can still be chosen afterwards
(`KERAS_BACKEND` or `kmlc.backend.select_backend`).
"""

from kmlc.data import LabeledTexts, read_labeled_texts, summarize
from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError
from kmlc.estimator import TextClassifier, load
from kmlc.version import __version__

__all__ = [
    "KmlcDataWarning",
    "KmlcInputError",
    "KmlcModelError",
    "LabeledTexts",
    "TextClassifier",
    "load",
    "read_labeled_texts",
    "summarize",
    "__version__",
]
