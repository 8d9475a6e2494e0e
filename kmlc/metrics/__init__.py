"""Metrics: the F1 logged while a network trains (`training`: Keras metrics on logits) and
kmlc's evaluation figures as scikit-learn scorers (`scorers`: `make_scorer`)."""

from kmlc.metrics.scorers import SCORER_NAMES, SKLEARN_NAMES, EvaluationScorer, make_scorer
from kmlc.metrics.training import F1Score, GroupedF1Score, TunedF1Score, f1_metrics

__all__ = [
    "EvaluationScorer",
    "F1Score",
    "GroupedF1Score",
    "SCORER_NAMES",
    "SKLEARN_NAMES",
    "TunedF1Score",
    "f1_metrics",
    "make_scorer",
]
