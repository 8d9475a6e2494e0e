"""Probe for issue 22's levers: a linear SVM on kmlc's own TF-IDF features, and the network
blended with it in logit space (the weight chosen on validation), on one shared dataset.

One process per call: the split is `kmlc train`'s (benchmarks/defaults_vs_baseline.py says how
each dataset is split), the network is `TextClassifier(seed=..., **settings)` trained on it, and
beside it, on the same rows:

* svm (kmlc features): `OneVsRestClassifier(LinearSVC())` on the network's own TF-IDF vectors
  (kmlc's vocabulary and weights, the vectors the network reads), one global threshold tuned
  on validation;
* blend: logits w * network + (1 - w) * (a * svm decision + c), (a, c) one Platt scaling for
  every label fitted on the validation rows, w in {0, 0.1, ..., 1} chosen for validation
  micro-F1 at its tuned global threshold (w = 0 is the SVM alone, w = 1 the network alone);
  also with per-label thresholds shrunk toward the global one (`shrinkage` 3, 10, 30);
* the linear baseline of `kmlc train` (scikit-learn's own vectoriser), as reference.

Every choice is made on the validation rows; the test rows are only evaluated.

Usage:
    KERAS_BACKEND=jax python benchmarks/blend_probe.py reuters [--seed 0] [--settings JSON]
"""

import argparse
import contextlib
import io
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

import kmlc
from kmlc import runs
from kmlc.families.wide_svm import tfidf_matrix
from kmlc.label_space.flat import FlatLabels
from kmlc.thresholds import tune_thresholds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from defaults_vs_baseline import DATA, DATASETS  # noqa: E402

WEIGHTS = np.round(np.linspace(0.0, 1.0, 11), 2)


def split(name, seed):
    folder, train, test = DATASETS[name]
    space = FlatLabels()
    full = runs.read_table(str(DATA / folder / train), {}, space)
    test_data = runs.read_table(str(DATA / folder / test), {}, space) if test else None
    with contextlib.redirect_stdout(io.StringIO()):  # its lines about each split
        # kmlc train's split: with a test file, 80/20 by the run's seed; else 60/20/20, seed 0.
        return runs.split(full, None, test_data, space, [0.6, 0.2, 0.2], seed if test else 0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def f1s(y, predicted):
    return (round(100 * f1_score(y, predicted, average="micro", zero_division=0), 2),
            round(100 * f1_score(y, predicted, average="macro", zero_division=0), 2))


def tuned(y_val, val_logits, y_test, test_logits, **policy):
    """(validation F1s, test F1s) at thresholds tuned on the validation rows."""
    p = tune_thresholds(y_val, sigmoid(val_logits), **policy)
    return f1s(y_val, p.apply(sigmoid(val_logits))), f1s(y_test, p.apply(sigmoid(test_logits)))


def probe(name, seed, settings):
    warnings.filterwarnings("ignore")
    train, val, test = split(name, seed)
    clf = kmlc.TextClassifier(baseline=True, seed=seed, verbose=0, **settings)
    clf.fit(train.texts, train.labels, validation_data=(val.texts, val.labels))
    y = [clf.label_encoder_.transform(d.labels, unknown="ignore") for d in (train, val, test)]
    started = time.perf_counter()
    x = [tfidf_matrix(clf.preprocessor_, d.texts) for d in (train, val, test)]
    vectorised = time.perf_counter()
    svm = OneVsRestClassifier(LinearSVC(random_state=seed)).fit(x[0], y[0])
    svm_seconds = time.perf_counter() - vectorised
    decision = [svm.decision_function(m).reshape(m.shape[0], -1) for m in x[1:]]
    network = [clf.predict_logits(d.texts) for d in (val, test)]
    platt = LogisticRegression(C=1e4).fit(decision[0].reshape(-1, 1), y[1].reshape(-1))
    a, c = float(platt.coef_[0, 0]), float(platt.intercept_[0])

    def blend(w, i):
        return w * network[i] + (1 - w) * (a * decision[i] + c)

    curve = {float(w): tuned(y[1], blend(w, 0), y[2], blend(w, 1)) for w in WEIGHTS}
    w = max(WEIGHTS, key=lambda v: (curve[float(v)][0][0], -abs(v - 0.5)))  # validation micro-F1
    result = {
        "data": name, "seed": seed, "settings": settings, "train_rows": len(train.texts),
        "vocabulary": clf.preprocessor_.output_dim,
        "network": {"test": curve[1.0][1], "validation": curve[1.0][0], "seconds": round(clf.train_seconds_, 2)},
        "svm_kmlc_features": {"test": curve[0.0][1], "validation": curve[0.0][0],
                              "seconds": round(svm_seconds, 2), "vectorise_seconds": round(vectorised - started, 2)},
        "blend": {"w": float(w), "test": curve[float(w)][1], "validation": curve[float(w)][0]},
        "baseline": {"test": f1s_of(clf.baseline_.evaluate(test.texts, test.labels)),
                     "seconds": round(clf.baseline_.train_seconds_, 2)},
        "curve": {f"{k:g}": v[1] for k, v in curve.items()},
    }
    for shrinkage in (3.0, 10.0, 30.0):
        result["blend"][f"per_label_s{shrinkage:g}"] = tuned(
            y[1], blend(w, 0), y[2], blend(w, 1), strategy="per-label", shrinkage=shrinkage)[1]
        result["svm_kmlc_features"][f"per_label_s{shrinkage:g}"] = tuned(
            y[1], decision[0], y[2], decision[1], strategy="per-label", shrinkage=shrinkage)[1]
    return result


def f1s_of(metrics):
    return round(100 * metrics["micro_f1"], 2), round(100 * metrics["macro_f1"], 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=list(DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", type=json.loads, default={}, help="TextClassifier settings (JSON)")
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.dataset, args.seed, args.settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
