"""One three-group TF-IDF model against three single-task models on the bundled survey.

The survey (`kmlc.datasets.load_survey`: a score S1..S5, emotions E1..E11, causes C1..C12) is
split once, 60/20/20, by iterative stratification over all 28 labels (split seed = --seed).
Every model gets the same training, validation and test rows and the same model seed:

* grouped: `TextClassifier(label_groups=[global_score:multiclass, emotions, causes],
  group_weights=--weights)`, one network, one forward pass;
* single-task: `global_score` alone (a one-group multiclass model: softmax + argmax),
  `emotions` alone and `causes` alone (plain multi-label models).

Reported per group on the test rows: macro-F1 (and accuracy / micro-F1), the gap to the
single-task model, and prediction time of the test set (median of --repeats calls) and of
one text at a time, for the one model against the three together.

    KERAS_BACKEND=jax python benchmarks/label_groups.py [--rows 1500] [--seed 0] [--weights auto] [--out FILE.json]
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GROUPS = ["global_score:multiclass", "emotions:multilabel", "causes:multilabel"]
NAMES = ["global_score", "emotions", "causes"]
TARGET_GAP = 0.04


def _log(*args):
    print(*args, file=sys.stderr, flush=True)


def _time(fn, repeats):
    fn()  # warm-up: tracing / compilation is not prediction time
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1500, help="survey rows (default: the dataset's 1500)")
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the generated survey")
    parser.add_argument("--seed", type=int, default=0, help="split and model seed")
    parser.add_argument("--weights", default="auto", help="group weights of the grouped model: auto or W,W,W")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--single-texts", type=int, default=50, help="texts predicted one at a time")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    import kmlc
    from kmlc.datasets import load_survey
    from kmlc.groups import GroupedLabelEncoder, LabelSchema
    from kmlc.splits import iterative_split

    frame = load_survey(n_rows=args.rows, seed=args.data_seed)
    schema = LabelSchema(GROUPS)
    columns = frame[NAMES]
    y = GroupedLabelEncoder(schema).fit(columns).transform(columns)
    train, val, test = iterative_split(y, (0.6, 0.2, 0.2), seed=args.seed)
    part = {name: frame.iloc[idx].reset_index(drop=True) for name, idx in (("train", train), ("val", val), ("test", test))}
    texts = {name: p.text.tolist() for name, p in part.items()}
    _log(f"survey: {len(frame)} rows; train {len(train)}, validation {len(val)}, test {len(test)}; backend {keras.backend.backend()}")
    common = dict(seed=args.seed, verbose=0, **({"epochs": args.epochs} if args.epochs else {}))

    grouped = kmlc.TextClassifier(label_groups=GROUPS, group_weights=args.weights, **common)
    started = time.perf_counter()
    grouped.fit(texts["train"], part["train"][NAMES], validation_data=(texts["val"], part["val"][NAMES]))
    fit_seconds = {"grouped": time.perf_counter() - started}
    grouped_metrics = grouped.evaluate(texts["test"], part["test"][NAMES])
    _log(f"grouped: best epoch {grouped.best_epoch_}, weights {grouped.group_weights_}")

    singles, single_metrics = {}, {}
    for name, spec in zip(NAMES, GROUPS):
        if spec.endswith(":multiclass"):
            clf = kmlc.TextClassifier(label_groups=[spec], **common)
            fit_labels, val_labels, test_labels = (part[p][[name]] for p in ("train", "val", "test"))
        else:
            clf = kmlc.TextClassifier(**common)
            fit_labels, val_labels, test_labels = (list(part[p][name]) for p in ("train", "val", "test"))
        started = time.perf_counter()
        clf.fit(texts["train"], fit_labels, validation_data=(texts["val"], val_labels))
        fit_seconds[name] = time.perf_counter() - started
        m = clf.evaluate(texts["test"], test_labels)
        single_metrics[name] = m["group_metrics"][name] if "group_metrics" in m else m
        singles[name] = clf
        _log(f"single {name}: best epoch {clf.best_epoch_}, test macro-F1 {single_metrics[name]['macro_f1']:.4f}")

    rows = []
    for name in NAMES:
        g, s = grouped_metrics["group_metrics"][name], single_metrics[name]
        key = "accuracy" if g["kind"] == "multiclass" else "micro_f1"
        rows.append({
            "group": name, "kind": g["kind"], "labels": g["n_labels"],
            "grouped_macro_f1": g["macro_f1"], "single_macro_f1": s["macro_f1"],
            "gap": g["macro_f1"] - s["macro_f1"], "within_target": g["macro_f1"] >= s["macro_f1"] - TARGET_GAP,
            "second_metric": key, "grouped_second": g[key], "single_second": s[key],
        })

    one = [texts["test"][i] for i in range(min(args.single_texts, len(texts["test"])))]
    timing = {
        "grouped_test_set_s": _time(lambda: grouped.predict(texts["test"]), args.repeats),
        "singles_test_set_s": _time(lambda: [c.predict(texts["test"]) for c in singles.values()], args.repeats),
        "grouped_one_text_ms": 1000 * _time(lambda: [grouped.predict([t]) for t in one], 1) / len(one),
        "singles_one_text_ms": 1000 * _time(lambda: [[c.predict([t]) for c in singles.values()] for t in one], 1) / len(one),
    }
    params = {
        "grouped": grouped.model_.count_params(),
        "singles": sum(c.model_.count_params() for c in singles.values()),
    }

    print(f"| group | kind | labels | macro-F1, one model | macro-F1, single-task | gap | within {TARGET_GAP} | "
          "accuracy / micro-F1, one model | single-task |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['group']} | {r['kind']} | {r['labels']} | {r['grouped_macro_f1']:.4f} | {r['single_macro_f1']:.4f} | "
              f"{r['gap']:+.4f} | {'yes' if r['within_target'] else 'no'} | {r['grouped_second']:.4f} ({r['second_metric']}) | "
              f"{r['single_second']:.4f} |")
    print()
    print("| prediction | one three-group model | three single-task models | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| test set ({len(texts['test'])} texts), s | {timing['grouped_test_set_s']:.3f} | {timing['singles_test_set_s']:.3f} | "
          f"{timing['singles_test_set_s'] / timing['grouped_test_set_s']:.2f}x |")
    print(f"| one text at a time, ms per text | {timing['grouped_one_text_ms']:.1f} | {timing['singles_one_text_ms']:.1f} | "
          f"{timing['singles_one_text_ms'] / timing['grouped_one_text_ms']:.2f}x |")
    print(f"| parameters | {params['grouped']:,} | {params['singles']:,} | {params['singles'] / params['grouped']:.2f}x |")
    print(f"| training, s | {fit_seconds['grouped']:.1f} | {sum(v for k, v in fit_seconds.items() if k != 'grouped'):.1f} | |")
    print()
    print(f"Overall (one model, 28 labels): micro-F1 {grouped_metrics['micro_f1']:.4f}, macro-F1 {grouped_metrics['macro_f1']:.4f}; "
          f"group weights {json.dumps({k: round(v, 3) for k, v in grouped.group_weights_.items()})}")

    if args.out:
        result = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
            "versions": {"kmlc": kmlc.__version__, "keras": keras.__version__, "backend": keras.backend.backend(),
                         "numpy": np.__version__},
            "args": vars(args),
            "split": {"train": len(train), "validation": len(val), "test": len(test)},
            "groups": rows, "timing": timing, "parameters": params, "fit_seconds": fit_seconds,
            "grouped": {"weights": grouped.group_weights_, "training": grouped.group_training_info_,
                        "best_epoch": grouped.best_epoch_, "test": grouped_metrics},
            "single": {name: {"best_epoch": singles[name].best_epoch_, "test": single_metrics[name]} for name in NAMES},
        }
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
