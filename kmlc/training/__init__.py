"""Training: the one pipeline every fit goes through (`pipeline`), where its rows come from
(`sources`), the loop around `model.fit` (`loop`, `callbacks`) and data-parallel devices
(`distribute`); the metrics it logs are `kmlc.metrics`. See `kmlc.training.pipeline`.

Importing this package does not import Keras (its modules do).
"""

# `TextClassifier(distribute=...)`: None is "none" (one device).
DISTRIBUTE = ("none", "data-parallel")
