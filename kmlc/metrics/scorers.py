"""kmlc's metrics as scikit-learn scorers, for label lists (and label groups).

scikit-learn's own scorers (``scoring="f1_micro"``) binarise ``y`` themselves and refuse a list
of label lists, so a search or a cross-validation over a `TextClassifier` takes its scorer from
here: ``GridSearchCV(clf, grid, scoring=kmlc.metrics.make_scorer("macro_f1"))``. A scorer
calls ``estimator.evaluate(texts, labels)`` (at the saved thresholds) and returns one figure;
a loss (``neg_hamming_loss``) is negated, as scikit-learn's convention has it, so that greater
is always better.
"""

from kmlc.errors import KmlcInputError

# kmlc's name for each figure a scorer can give, and scikit-learn's names for the same figure.
_AVERAGES = ("micro", "macro", "weighted", "samples")
SCORER_NAMES = tuple(
    [f"{a}_{m}" for m in ("f1", "precision", "recall") for a in _AVERAGES]
    + [f"jaccard_{a}" for a in _AVERAGES if a != "weighted"]
    + ["subset_accuracy", "neg_hamming_loss"]
    + [f"{m}_at_{k}" for m in ("precision", "ndcg") for k in (1, 3, 5)]
)
SKLEARN_NAMES = {
    **{f"{m}_{a}": f"{a}_{m}" for m in ("f1", "precision", "recall") for a in _AVERAGES},
    "accuracy": "subset_accuracy",
}


class EvaluationScorer:
    """A scikit-learn scorer ``scorer(estimator, texts, labels) -> float``: one figure of
    ``estimator.evaluate(texts, labels)``, negated for a loss."""

    def __init__(self, metric):
        self.metric = metric

    def __call__(self, estimator, texts, labels):
        if self.metric == "neg_hamming_loss":
            return -float(estimator.evaluate(texts, labels)["hamming_loss"])
        return float(estimator.evaluate(texts, labels)[self.metric])

    def __repr__(self):
        return f"kmlc.metrics.make_scorer({self.metric!r})"


def make_scorer(metric="micro_f1"):
    """The scorer of one kmlc metric, by kmlc's name (``micro_f1``) or scikit-learn's
    (``f1_micro``); see `SCORER_NAMES`."""
    name = SKLEARN_NAMES.get(metric, metric)
    if name not in SCORER_NAMES:
        raise KmlcInputError(
            f"Expected metric to be one of {list(SCORER_NAMES)} (or scikit-learn's names: "
            f"{sorted(SKLEARN_NAMES)}), Received: {metric!r}."
        )
    return EvaluationScorer(name)
