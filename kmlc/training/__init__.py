"""Training: the one pipeline every fit goes through (`pipeline`), where its rows come from
(`sources`), the loop around `model.fit` (`loop`, `callbacks`), the training metrics
(`metrics`) and data-parallel devices (`distribute`). See `kmlc.training.pipeline`.

Importing this package does not import Keras (its modules do).
"""

# `TextClassifier(distribute=...)`: None is "none" (one device).
DISTRIBUTE = ("none", "data-parallel")
