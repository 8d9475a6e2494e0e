"""Probe: which TF-IDF vectors serve a linear SVM best, on one shared dataset.

The same classifier on every row (`OneVsRestClassifier(LinearSVC())`, one global threshold
tuned on validation by kmlc's threshold code), on vectors that differ in one choice at a time
from scikit-learn's `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)` (the
linear baseline): the tokens (scikit-learn's two-or-more word characters, one or more, or
kmlc's: punctuation deleted, split on white space), the IDF (scikit-learn's smoothed
ln((1 + n) / (1 + df)) + 1, or kmlc's ln(1 + n / (1 + df))), and the vocabulary (`min_df`, or
the most frequent n-grams). Counts come from scikit-learn's `CountVectorizer`; sublinear TF,
the IDF and the L2 norm are applied here. The split is `kmlc train`'s (see blend_probe.py).

Usage:
    python benchmarks/vectorizer_probe.py reuters [--seed 0]
"""

import argparse
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from kmlc.labels import LabelEncoder
from kmlc.thresholds import tune_thresholds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blend_probe import split  # noqa: E402
from defaults_vs_baseline import DATASETS  # noqa: E402

# kmlc's punctuation (kmlc.preprocessing.tfidf._PUNCTUATION), deleted before a white-space split.
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
TWO_CHARS, ONE_CHAR, WHITE_SPACE = r"(?u)\b\w\w+\b", r"(?u)\b\w+\b", r"\S+"
# name: (token pattern, delete punctuation first, IDF, min_df, most frequent n-grams kept)
VARIANTS = {
    "scikit-learn's (the baseline)": (TWO_CHARS, False, "smooth", 2, None),
    "kmlc's IDF": (TWO_CHARS, False, "kmlc", 2, None),
    "one-character tokens too": (ONE_CHAR, False, "smooth", 2, None),
    "kmlc's tokens": (WHITE_SPACE, True, "smooth", 2, None),
    "kmlc's tokens and IDF, min_df 1": (WHITE_SPACE, True, "kmlc", 1, None),
    "min_df 1": (TWO_CHARS, False, "smooth", 1, None),
    "the 20,000 most frequent": (TWO_CHARS, False, "smooth", 1, 20000),
    "kmlc's tokens and IDF, the 20,000 most frequent": (WHITE_SPACE, True, "kmlc", 1, 20000),
}


def vectors(train, others, pattern, strip, idf_kind, min_df, max_features):
    preprocessor = (lambda text: PUNCTUATION.sub("", text.lower())) if strip else None
    counter = CountVectorizer(ngram_range=(1, 2), token_pattern=pattern, preprocessor=preprocessor, min_df=min_df,
                              max_features=max_features)
    counts = [counter.fit_transform(train)] + [counter.transform(texts) for texts in others]
    n, df = counts[0].shape[0], np.asarray((counts[0] > 0).sum(axis=0)).ravel()
    idf = np.log((1 + n) / (1 + df)) + 1 if idf_kind == "smooth" else np.log(1 + n / (1 + df))
    out = []
    for c in counts:
        c = c.astype(np.float64).tocsr()
        c.data = 1 + np.log(c.data)
        out.append(normalize(c @ sp.diags(idf)))
    return out, len(df)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=list(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    train, val, test = split(args.dataset, args.seed)
    encoder = LabelEncoder().fit(train.labels)
    y = [encoder.transform(d.labels, unknown="ignore") for d in (train, val, test)]
    print(f"| {args.dataset} vectors | n-grams | test micro-F1 | test macro-F1 |\n|---|--:|--:|--:|")
    for name, variant in VARIANTS.items():
        x, size = vectors(train.texts, [val.texts, test.texts], *variant)
        model = OneVsRestClassifier(LinearSVC(random_state=args.seed)).fit(x[0], y[0])
        scores = [1 / (1 + np.exp(-model.decision_function(m).reshape(m.shape[0], -1))) for m in x[1:]]
        predicted = tune_thresholds(y[1], scores[0], strategy="global").apply(scores[1])
        print(f"| {name} | {size:,} | {100 * f1_score(y[2], predicted, average='micro'):.2f} | "
              f"{100 * f1_score(y[2], predicted, average='macro', zero_division=0):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
