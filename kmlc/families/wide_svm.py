"""The TF-IDF network's "svm" wide path: a linear SVM fitted by liblinear (scikit-learn's
`LinearSVC`) on the network's own TF-IDF vectors, one label at a time, then calibrated.

Why fitted and not trained: on sparse TF-IDF, a linear path trained by Adam with the deep path
gives every rare n-gram a large step each time it is seen and overfits it (docs/benchmarks.md),
while the SVM's margin and L2 penalty are what make the ten-line scikit-learn baseline hard to
beat. Its kernel and bias become the wide layer's weights, so the exported network holds it.

C (the inverse regularisation strength) is chosen on the validation rows from SVM_C_GRID
unless given: the best sum of validation micro-F1 and macro-F1, each SVM at its own best global
threshold (ties: the smaller C). Datasets disagree: small ones with long texts want a large C,
noisy short texts a small one (docs/benchmarks.md).

Calibration (Platt scaling, one slope and one offset for all labels): the SVM's decision values
are margins, not log-odds. A logistic regression of the validation rows' labels on their
margins, pooled over labels, maps them to log-odds, which the deep path's logits add to and
which a sigmoid (or a group's softmax) reads as probabilities. One slope keeps every label's
ranking, so the tuned thresholds see the SVM's own ordering.
"""

import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.svm import LinearSVC

from kmlc.thresholds import tune_thresholds

# The C values tried when none is given (each costs one fit of every label's SVM).
SVM_C_GRID = (0.5, 1.0, 2.0, 4.0)
# Texts vectorised per call: bounds the ragged tensors' memory on large training sets.
VECTORIZE_BATCH = 8192
# The margin given to a label with a single class in the training rows (no SVM to fit): the
# margin of a confidently classified training row.
CONSTANT_MARGIN = 1.0


@dataclass
class WideSvm:
    kernel: np.ndarray  # [input_dim, num_labels], on the unscaled TF-IDF vector
    bias: np.ndarray  # [num_labels]
    C: float
    slope: float  # Platt scaling, already folded into kernel and bias
    offset: float
    seconds: float
    validation: dict  # {C: (micro-F1, macro-F1) on the validation rows}, for every C tried
    min_df_scores: dict = None  # {min_df: validation score} when the vocabulary was chosen too

    @property
    def score(self):
        """What chooses between fits: validation micro-F1 + macro-F1 at the chosen C."""
        return float(sum(self.validation[self.C]))

    def summary(self):
        chosen = {"validation_score_by_min_df": {str(k): v for k, v in self.min_df_scores.items()}} \
            if self.min_df_scores else {}
        return {**chosen, "C": self.C, "platt_slope": round(self.slope, 4), "platt_offset": round(self.offset, 4),
                "seconds": round(self.seconds, 2),
                "validation_f1_by_C": {f"{c:g}": [round(a, 4), round(b, 4)] for c, (a, b) in self.validation.items()}}


def tfidf_matrix(preprocessor, texts):
    """The TF-IDF vectors of `texts` as the network reads them, unscaled: a CSR matrix
    [len(texts), preprocessor.output_dim]."""
    parts = []
    for start in range(0, len(texts), VECTORIZE_BATCH):
        batch = list(texts[start:start + VECTORIZE_BATCH])
        if preprocessor.output == "dense":
            parts.append(sp.csr_matrix(np.asarray(preprocessor.encode(batch), np.float32)))
            continue
        features = preprocessor.encode(batch)
        ids, weights = features["ngram_ids"], features["ngram_weights"]
        parts.append(sp.csr_matrix(
            (weights.flat_values.numpy(), ids.flat_values.numpy(), ids.row_splits.numpy()),
            shape=(len(batch), preprocessor.output_dim),
        ))
    if not parts:
        return sp.csr_matrix((0, preprocessor.output_dim), dtype=np.float32)
    return sp.vstack(parts, format="csr")


def fit_wide_svm(preprocessor, train_texts, y_train, val_texts, y_val, *, C=None, seed=0):
    """Fits one `LinearSVC(C)` per label column of `y_train` [N, L] on the training rows'
    TF-IDF vectors (C=None: each of SVM_C_GRID, the best on the validation rows kept) and
    calibrates the margins on the validation rows (`y_val`); a `WideSvm` whose kernel and bias
    give calibrated logits."""
    started = time.perf_counter()
    x_train, x_val = tfidf_matrix(preprocessor, train_texts), tfidf_matrix(preprocessor, val_texts)
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    fits, validation = {}, {}
    for c in (SVM_C_GRID if C is None else (float(C),)):
        fits[c] = svm_weights(x_train, y_train, c, seed)
        validation[c] = validation_f1(y_val, x_val @ fits[c][0] + fits[c][1])
    best = max(validation, key=lambda c: (sum(validation[c]), -c))
    kernel, bias = fits[best]
    slope, offset = platt_scaling(x_val, y_val, kernel, bias, fallback=(x_train, y_train))
    return WideSvm(kernel=kernel * slope, bias=bias * slope + offset, C=best, slope=slope, offset=offset,
                   seconds=time.perf_counter() - started, validation=validation)


def svm_weights(x, y, C, seed):
    """(kernel [D, L], bias [L]) of one `LinearSVC` per label column of `y`; a label with one
    class in `y` gets no weights and a constant margin."""
    kernel = np.zeros((x.shape[1], y.shape[1]), np.float64)
    bias = np.zeros(y.shape[1], np.float64)
    for j in range(y.shape[1]):
        column = y[:, j] > 0.5
        if column.all() or not column.any():
            bias[j] = CONSTANT_MARGIN if column.all() else -CONSTANT_MARGIN
            continue
        with warnings.catch_warnings():
            # liblinear's iteration cap is reached on a few hard labels; the margin is still usable.
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm = LinearSVC(C=C, random_state=seed).fit(x, column)
        kernel[:, j], bias[j] = svm.coef_[0], svm.intercept_[0]
    return kernel, bias


def validation_f1(y, margins):
    """(micro-F1, macro-F1) of `margins` [N, L] at their best global threshold on `y`."""
    if not len(y):
        return 0.0, 0.0
    scores = 1.0 / (1.0 + np.exp(-np.clip(np.asarray(margins), -50, 50)))
    predicted = tune_thresholds(y, scores, strategy="global").apply(scores)
    return (float(f1_score(y, predicted, average="micro", zero_division=0)),
            float(f1_score(y, predicted, average="macro", zero_division=0)))


def platt_scaling(x, y, kernel, bias, fallback):
    """(slope, offset) of a logistic regression of the labels `y` on the margins
    `x @ kernel + bias`, pooled over labels. On the `fallback` rows (the training rows)
    instead when the validation rows do not hold both a positive and a negative, or when
    their slope is not positive (the validation rows do not order like the margins: a
    negative slope would turn the SVM's ranking upside down); 1 and 0 when neither can."""
    for rows, labels in ((x, y), fallback):
        slope, offset = _logistic_fit(np.asarray(rows @ kernel + bias), np.asarray(labels))
        if slope > 0:
            return slope, offset
    return 1.0, 0.0


def _logistic_fit(margins, labels):
    targets = labels.reshape(-1) > 0.5
    if targets.all() or not targets.any():
        return 0.0, 0.0
    # Nearly unregularised: two parameters, thousands of margins.
    model = LogisticRegression(C=1e4, max_iter=1000).fit(margins.reshape(-1, 1), targets)
    return float(model.coef_[0, 0]), float(model.intercept_[0])
