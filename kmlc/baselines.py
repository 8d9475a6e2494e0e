"""The linear baseline: the ten lines of scikit-learn a user writes first, fitted beside the
model on the same rows so that every run can say how much better (or worse) the model is.

    TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    -> OneVsRestClassifier(LinearSVC())          (or LogisticRegression)
    -> one global threshold, tuned on the validation rows by kmlc's own threshold code

Nothing is re-implemented: scikit-learn fits, kmlc only tunes the threshold and evaluates,
with the code that tunes and evaluates the model. The classifier's decision values are read
as logits: the label layout turns them into scores as it turns a network's logits (a sigmoid
per label; a softmax across a multiclass label group, whose argmax is scikit-learn's own
one-vs-rest multiclass rule), so thresholds, metrics and reports take the same path.
"""

import copy
import time
import warnings

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from kmlc.data import check_texts

CLASSIFIERS = ("linear_svc", "logistic_regression")
SYSTEM_NAMES = {
    "linear_svc": "bigram TF-IDF + one-vs-rest LinearSVC, one global threshold tuned on validation",
    "logistic_regression": "bigram TF-IDF + one-vs-rest LogisticRegression, one global threshold tuned on validation",
}


class BaselineNotFitted(ValueError):
    """The data gives the baseline nothing to learn from (e.g. no word occurs twice)."""


class LinearBaseline:
    """Bigram TF-IDF and a one-vs-rest linear classifier (scikit-learn), on a {0, 1} label matrix.

    Args:
        classifier: "linear_svc" (`LinearSVC`, squared hinge) or "logistic_regression".
        ngram_range, min_df, sublinear_tf: `TfidfVectorizer`'s (the other settings are its
            defaults: lower-casing, tokens of two or more word characters, L2 norm).
        C: the classifiers' inverse regularisation strength.
        seed: the classifiers' `random_state`.
    """

    def __init__(self, classifier="linear_svc", *, ngram_range=(1, 2), min_df=2, sublinear_tf=True, C=1.0, seed=0):
        if classifier not in CLASSIFIERS:
            raise ValueError(f"Expected classifier to be one of {CLASSIFIERS}, Received: {classifier!r}.")
        self.classifier = classifier
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.C = C
        self.seed = seed

    def _estimator(self):
        if self.classifier == "linear_svc":
            return LinearSVC(C=self.C, random_state=self.seed)
        return LogisticRegression(C=self.C, random_state=self.seed, max_iter=1000)

    def fit(self, texts, y):
        """Fits on `texts` and their {0, 1} label matrix `y` [N, C]; returns self."""
        y = np.asarray(y)
        self.vectorizer_ = TfidfVectorizer(ngram_range=self.ngram_range, sublinear_tf=self.sublinear_tf,
                                           min_df=self.min_df)
        try:
            x = self.vectorizer_.fit_transform(texts)
        except ValueError as e:  # an empty vocabulary: scikit-learn's own words say why
            raise BaselineNotFitted(str(e)) from None
        with warnings.catch_warnings():
            # A label on every training row gets a constant predictor: scikit-learn says so.
            warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
            self.model_ = OneVsRestClassifier(self._estimator()).fit(x, y)
        self.n_labels_ = y.shape[1]
        return self

    def decision_function(self, texts):
        """Decision values [len(texts), C] (float64): > 0 is scikit-learn's own "predict"."""
        values = self.model_.decision_function(self.vectorizer_.transform(texts))
        return np.asarray(values, dtype=np.float64).reshape(len(texts), self.n_labels_)


class FittedBaseline:
    """The baseline fitted beside a classifier: the classifier's training rows and label
    columns, one global threshold tuned on its validation rows for its threshold metric.

    It has the attributes a label layout (`kmlc.label_space`) reads of a fitted classifier,
    so the layout tunes, evaluates and draws reports for both alike.
    """

    threshold = "global"
    top_k = None
    at_least_one = False
    min_precision = None

    def __init__(self, clf, space, linear):
        self.space = space
        self.linear = linear
        self.label_encoder_, self.labels_ = clf.label_encoder_, clf.labels_
        self.group_cutoffs, self.threshold_metric = clf.group_cutoffs, clf.threshold_metric
        self.drop_invalid_rows = clf.drop_invalid_rows

    @classmethod
    def fit(cls, clf, space, train_texts, y_train, val_texts, val_labels, y_val):
        """Fits the baseline of `clf` (a `TextClassifier` whose labels are fitted, with its
        `baseline_classifier` and `seed`) and tunes its threshold; `train_seconds_` counts all
        of it (vectoriser, one-vs-rest fit, threshold tuning). `validation_metrics_`: the
        metric suite on the validation rows (`val_labels` in the layout's canonical form),
        from the scores the threshold was tuned on."""
        started = time.perf_counter()
        linear = LinearBaseline(clf.baseline_classifier, seed=clf.seed).fit(train_texts, y_train)
        self = cls(clf, space, linear)
        val_scores = self.scores(val_texts)
        self.thresholds_ = space.tune(self, clf.label_encoder_, y_val, val_scores)
        self.train_seconds_ = time.perf_counter() - started
        # scikit-learn's own rule (decision value > 0, a score of 0.5), to show what tuning adds.
        self.default_rule = copy.copy(self)
        self.default_rule.threshold = "fixed"
        self.default_rule.thresholds_ = space.tune(self.default_rule, clf.label_encoder_, y_val, val_scores)
        self.validation_metrics_ = self._metrics(val_labels, val_scores)
        return self

    def scores(self, texts):
        """Scores in [0, 1] over the output columns, as the classifier's (see the module)."""
        if not len(texts):
            return np.zeros((0, len(self.labels_)))
        return self.space.probabilities(self.linear.decision_function(texts), self.label_encoder_)

    def evaluate(self, texts, labels):
        """The metric suite on labelled texts (`TextClassifier.evaluate`'s, for the baseline)."""
        texts, labels, _ = self.space.check(check_texts(texts), labels, drop_invalid_rows=self.drop_invalid_rows)
        return self._metrics(labels, self.scores(texts))

    def _metrics(self, labels, scores):
        result = self.space.evaluate(self, labels, scores)
        untuned = self.space.evaluate(self.default_rule, labels, scores)
        result["default_rule"] = {key: untuned[key] for key in ("micro_f1", "macro_f1", "micro_precision", "micro_recall")}
        return result

    def summary(self):
        """What metrics.json holds beside the figures of each split."""
        return {"system": SYSTEM_NAMES[self.linear.classifier], "classifier": self.linear.classifier,
                "vocabulary_size": len(self.linear.vectorizer_.vocabulary_),
                "threshold": threshold_values(self.thresholds_), "train_seconds": round(self.train_seconds_, 2)}


def threshold_values(policy):
    """The tuned global threshold (on the sigmoid of the decision value; 0.5 is scikit-learn's
    own rule), or one per multi-label group."""
    if hasattr(policy, "policies"):  # label groups: a multiclass group takes its argmax
        return {name: float(p.thresholds[0]) for name, p in policy.policies.items() if len(p.thresholds)}
    return float(policy.thresholds[0]) if len(policy.thresholds) else None
