#!/usr/bin/env python3
"""Fixed-seed results of four training paths, to prove that a refactor changes nothing.

Runs, with every setting written out (not the defaults, which other work changes):

* reuters      TF-IDF, one label set: Reuters-21578 train.csv (`fit` holds out 20%), test.csv;
* semeval2014  TF-IDF, one label set: SemEval-2014 restaurants train.csv / test.csv;
* survey       TF-IDF, three label groups on the bundled survey (1,500 rows, 60/20/20);
* stream       `fit_stream` on SemEval-2018 train.csv in chunks of 1,000 rows (held-out
               validation), evaluated on dev.csv.

For each: validation and test metrics (micro/macro F1, precision, recall, the group
figures), the best epoch, the per-epoch training losses and validation F1, the number of
training rows, and the sum and first rows of the test probabilities. `--out` writes them as
JSON; `--compare OLD.json` reports the largest absolute difference of every number against
an earlier run (on the same backend) and exits 1 when one exceeds `--tolerance` (1e-6).

    KERAS_BACKEND=jax python benchmarks/pipeline_equivalence.py --out runs/before.json
    KERAS_BACKEND=jax python benchmarks/pipeline_equivalence.py --compare runs/before.json
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Every TextClassifier setting, written out: a change of a default must not move these runs.
TFIDF = dict(
    model="tfidf", max_tokens=20000, ngrams=2, normalize="l2", sublinear_tf=True, tfidf_input="sparse",
    hidden_units=(128,), input_scale=8.0, dropout=0.2, learning_rate=1e-2, batch_size=256, epochs=5, patience=2,
    loss="db", loss_params={}, threshold="global", threshold_metric="micro_f1", top_k=None, at_least_one=False,
    min_precision=None, group_cutoffs=(35, 8), validation_fraction=0.2, seed=0, verbose=0,
)
SURVEY_GROUPS = ["global_score:multiclass", "emotions:multilabel", "causes:multilabel"]


def _round(values, digits=9):
    return [round(float(v), digits) for v in values]


def _summary(clf, test_metrics, test_scores):
    import numpy as np

    def metrics(m):
        keep = ("micro_f1", "macro_f1", "micro_precision", "micro_recall", "n_examples", "n_labels_predicted")
        out = {k: m[k] for k in keep if k in m}
        if m.get("group_metrics"):
            out["groups"] = {g: {k: v for k, v in gm.items() if isinstance(v, (int, float))}
                             for g, gm in m["group_metrics"].items()}
        return out

    flat = np.concatenate([np.asarray(v) for v in test_scores.values()], axis=1) if isinstance(test_scores, dict) \
        else np.asarray(test_scores)
    return {
        "n_train": int(clf.n_train_),
        "labels": len(clf.labels_),
        "best_epoch": int(clf.best_epoch_),
        "loss_history": _round(clf.history_["loss"]),
        "val_micro_f1_history": _round(clf.history_["val_micro_f1"]),
        "thresholds": _round(np.ravel(clf.thresholds_.thresholds)[:20]),
        "validation": metrics(clf.metrics_["validation"]),
        "test": metrics(test_metrics),
        "test_proba_sum": round(float(flat.sum()), 6),
        "test_proba_head": [_round(row) for row in flat[:3, :8]],
    }


def run_reuters():
    import kmlc
    from kmlc.data import read_labeled_texts

    train = read_labeled_texts(DATA / "reuters21578_modapte" / "train.csv")
    test = read_labeled_texts(DATA / "reuters21578_modapte" / "test.csv")
    clf = kmlc.TextClassifier(**TFIDF).fit(train.texts, train.labels)
    return _summary(clf, clf.evaluate(test.texts, test.labels), clf.predict_proba(test.texts))


def run_semeval2014():
    import kmlc
    from kmlc.data import read_labeled_texts

    folder = DATA / "semeval2014_restaurants_aspect_categories"
    train, test = read_labeled_texts(folder / "train.csv"), read_labeled_texts(folder / "test.csv")
    clf = kmlc.TextClassifier(**{**TFIDF, "hidden_units": (256,), "epochs": 8}).fit(train.texts, train.labels)
    return _summary(clf, clf.evaluate(test.texts, test.labels), clf.predict_proba(test.texts))


def run_survey():
    import kmlc
    from kmlc.datasets import load_survey
    from kmlc.groups import GroupedLabelEncoder, LabelSchema
    from kmlc.splits import iterative_split

    frame = load_survey(n_rows=1500, seed=0)
    names = [spec.split(":")[0] for spec in SURVEY_GROUPS]
    y = GroupedLabelEncoder(LabelSchema(SURVEY_GROUPS)).fit(frame[names]).transform(frame[names])
    train, val, test = (frame.iloc[p].reset_index(drop=True) for p in iterative_split(y, (0.6, 0.2, 0.2), seed=0))
    clf = kmlc.TextClassifier(**{**TFIDF, "label_groups": SURVEY_GROUPS, "group_weights": "auto", "epochs": 8})
    clf.fit(train.text.tolist(), train[names], validation_data=(val.text.tolist(), val[names]))
    return _summary(clf, clf.evaluate(test.text.tolist(), test[names]), clf.predict_proba(test.text.tolist()))


def run_stream():
    import kmlc
    from kmlc.data import read_labeled_texts
    from kmlc.streaming import TableStream

    folder = DATA / "semeval2018_ec_en"
    dev = read_labeled_texts(folder / "dev.csv")
    clf = kmlc.TextClassifier(**{**TFIDF, "epochs": 4}).fit_stream(
        TableStream(folder / "train.csv", chunk_rows=1000), validation_rows=2000, shuffle_rows=5000)
    return _summary(clf, clf.evaluate(dev.texts, dev.labels), clf.predict_proba(dev.texts))


RUNS = {"reuters": run_reuters, "semeval2014": run_semeval2014, "survey": run_survey, "stream": run_stream}


def _numbers(obj, prefix=""):
    """(path, number) for every number in a nested result."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _numbers(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{prefix}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield prefix, float(obj)


def _difference(a, b):
    """|a - b|, with two NaNs equal (a multiclass column has no threshold) and one NaN as far
    as can be."""
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    return abs(a - b)


def compare(old, new, tolerance):
    """The largest difference per run, and the paths over `tolerance`."""
    worst, bad = {}, []
    for run, result in new["runs"].items():
        if run not in old["runs"]:
            continue
        before = dict(_numbers(old["runs"][run]))
        after = dict(_numbers(result))
        if before.keys() != after.keys():
            bad.append(f"{run}: different keys {sorted(set(before) ^ set(after))[:5]}")
        diffs = {k: _difference(before[k], after[k]) for k in before.keys() & after.keys()}
        key = max(diffs, key=diffs.get) if diffs else None
        worst[run] = (key, diffs.get(key, 0.0))
        bad += [f"{run}.{k}: {before[k]} -> {after[k]}" for k, d in diffs.items() if d > tolerance]
    return worst, bad


def main():
    import keras

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated runs among " + ",".join(RUNS))
    parser.add_argument("--out", help="write the results as JSON")
    parser.add_argument("--compare", help="an earlier --out file to compare with")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(RUNS)
    results = {"backend": keras.backend.backend(), "date": time.strftime("%Y-%m-%d %H:%M"), "runs": {}, "seconds": {}}
    for name in names:
        started = time.perf_counter()
        results["runs"][name] = RUNS[name]()
        results["seconds"][name] = round(time.perf_counter() - started, 1)
        r = results["runs"][name]
        print(f"{name}: test micro-F1 {r['test']['micro_f1']:.6f} macro-F1 {r['test']['macro_f1']:.6f} "
              f"(best epoch {r['best_epoch']}, {results['seconds'][name]} s)", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    if args.compare:
        old = json.loads(Path(args.compare).read_text())
        if old["backend"] != results["backend"]:
            sys.exit(f"Expected results of the same backend, Received: {old['backend']} and {results['backend']}.")
        worst, bad = compare(old, results, args.tolerance)
        for run, (key, diff) in worst.items():
            print(f"{run}: largest difference {diff:.3g} ({key})")
        if bad:
            print("\n".join(["over the tolerance:"] + bad[:40]))
            sys.exit(1)
        print(f"all equal within {args.tolerance:g}")


if __name__ == "__main__":
    main()
