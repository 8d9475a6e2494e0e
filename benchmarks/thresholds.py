"""Threshold strategies on Reuters-21578 (ModApte): one TF-IDF MLP, thresholds tuned on the
validation split (80/20 iterative stratification of train) and applied to the test set.

    python benchmarks/thresholds.py [--loss bce] [--seed 0] [--out results.json]
"""

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from reuters_data import DATA, load_reuters  # noqa: E402

STRATEGIES = [("fixed", {}), ("global", {}), ("per-label", {}), ("global", {"at_least_one": True})]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loss", default="bce")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)

    import keras

    import kmlc

    fit, val, test = load_reuters(args.data, seed=args.seed)

    clf = kmlc.TextClassifier(loss=args.loss, batch_size=args.batch_size, seed=args.seed, verbose=0)
    clf.fit(fit.texts, fit.labels, validation_data=(val.texts, val.labels))
    rows = []
    for strategy, extra in STRATEGIES:
        clf.tune_thresholds(val.texts, val.labels, threshold=strategy, at_least_one=extra.get("at_least_one", False))
        m = clf.evaluate(test.texts, test.labels)
        name = strategy + (" + at-least-one" if extra else "")
        rows.append({
            "strategy": name,
            "micro_f1": m["micro_f1"], "macro_f1": m["macro_f1"],
            "micro_precision": m["micro_precision"], "micro_recall": m["micro_recall"],
            **{f"{g}_macro_f1": m["groups"][g]["macro_f1"] for g in ("head", "medium", "tail")},
            "zero_f1_labels": m["groups"]["zero"]["n_labels"],
        })
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}",
        "backend": keras.backend.backend(),
        "command": "python benchmarks/thresholds.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "loss": args.loss, "best_epoch": clf.best_epoch_, "rows": rows,
    }
    lines = ["| thresholds | micro-F1 | macro-F1 | micro P / R | head / medium / tail macro-F1 | labels F1=0 |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} | "
            f"{100 * r['micro_precision']:.1f} / {100 * r['micro_recall']:.1f} | "
            f"{100 * r['head_macro_f1']:.1f} / {100 * r['medium_macro_f1']:.1f} / {100 * r['tail_macro_f1']:.1f} | "
            f"{r['zero_f1_labels']} |"
        )
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
