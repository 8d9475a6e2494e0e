"""Imbalance-aware losses on Reuters-21578 (ModApte): the TF-IDF MLP trained with each loss.

Same data, seed, epochs and validation split for every loss; one global threshold tuned on the
validation split (micro-F1); test figures overall and for head (>= 35 training examples),
medium (8-34) and tail (< 8) labels, beside the DB-loss paper's BERT-base figures.

    python benchmarks/losses.py [--losses bce,wbce,focal,cb,db] [--epochs 20] [--seed 0] [--out results.json]
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from reuters_data import DATA, load_reuters  # noqa: E402

# Huang et al., EMNLP 2021, Table 2 (Reuters-21578, BERT-base): micro-F1 / macro-F1, in %.
PAPER_BERT = {"bce": (89.14, 47.32), "focal": (89.97, 56.83), "cb": (89.23, 52.96), "db": (90.62, 64.47)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--losses", default="bce,wbce,focal,cb,db")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", default="global")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)

    import keras

    import kmlc

    fit, val, test = load_reuters(args.data, seed=args.seed)

    rows = []
    for loss in args.losses.split(","):
        clf = kmlc.TextClassifier(
            loss=loss, epochs=args.epochs, patience=args.epochs, threshold=args.threshold,
            batch_size=args.batch_size,
            seed=args.seed, verbose=0,
        )
        started = time.perf_counter()
        clf.fit(fit.texts, fit.labels, validation_data=(val.texts, val.labels))
        seconds = time.perf_counter() - started
        m = clf.evaluate(test.texts, test.labels)
        row = {
            "loss": loss,
            "micro_f1": m["micro_f1"],
            "macro_f1": m["macro_f1"],
            **{f"{g}_{k}": m["groups"][g][k] for g in ("head", "medium", "tail") for k in ("micro_f1", "macro_f1", "n_labels")},
            "zero_f1_labels": m["groups"]["zero"]["n_labels"],
            "best_epoch": clf.best_epoch_,
            "train_seconds": seconds,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, {platform.python_version()}",
        "backend": keras.backend.backend(),
        "command": "python benchmarks/losses.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {"epochs": args.epochs, "seed": args.seed, "threshold": args.threshold, "batch_size": args.batch_size,
                     "train": len(fit), "validation": len(val), "test": len(test)},
        "rows": rows,
    }
    print(markdown(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


def markdown(result):
    head = ("| loss | micro-F1 | macro-F1 | head micro / macro | medium micro / macro | tail micro / macro "
            "| labels F1=0 | best epoch | train s | paper BERT micro / macro |")
    lines = [head, "|" + "---|" * 10]
    for r in result["rows"]:
        paper = PAPER_BERT.get(r["loss"])
        lines.append(
            f"| {r['loss']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} | "
            + " | ".join(f"{100 * r[g + '_micro_f1']:.2f} / {100 * r[g + '_macro_f1']:.2f}" for g in ("head", "medium", "tail"))
            + f" | {r['zero_f1_labels']} | {r['best_epoch']} | {r['train_seconds']:.0f} | "
            + (f"{paper[0]:.2f} / {paper[1]:.2f}" if paper else "-") + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
