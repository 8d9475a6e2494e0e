"""MiniLM (all-MiniLM-L6-v2, fine-tuned) against the TF-IDF MLP on Reuters-21578, both
with the distribution-balanced loss, beside the DB-loss paper's BERT-base figures.

Same split (benchmarks/reuters_data.py), seed and threshold policy (one global threshold
tuned on validation micro-F1) for both; test micro/macro-F1 overall and for the head
(>= 35 training examples), medium (8-34) and tail (< 8) labels. On a 2-core CPU the MiniLM
run takes a shorter sequence and fewer epochs than the paper's BERT-base (512 tokens):
the table says which.

    python benchmarks/reuters_bert.py [--sequence-length 128] [--epochs 2] [--out results.json]
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

# Huang et al., EMNLP 2021, Table 2 (Reuters-21578, test set): micro-F1 / macro-F1, in %.
PAPER = {"BERT-base + DB (paper)": (90.62, 64.47), "TF-IDF + linear SVM (paper)": (87.60, 51.63)}
GROUPS = ("head", "medium", "tail")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tfidf,bert")
    parser.add_argument("--sequence-length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2, help="MiniLM epochs (the TF-IDF MLP keeps its default)")
    parser.add_argument("--batch-size", type=int, default=16, help="MiniLM batch size")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="MiniLM peak learning rate")
    parser.add_argument("--long-docs", default="truncate", choices=("truncate", "windows"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)

    import keras

    import kmlc

    fit, val, test = load_reuters(args.data, seed=args.seed)
    settings = {
        "tfidf": dict(model="tfidf"),
        "bert": dict(model="bert", sequence_length=args.sequence_length, epochs=args.epochs,
                     patience=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                     long_docs=args.long_docs),
    }
    rows = []
    for family in args.models.split(","):
        clf = kmlc.TextClassifier(loss="db", threshold="global", seed=args.seed, verbose=2, **settings[family])
        started = time.perf_counter()
        clf.fit(fit.texts, fit.labels, validation_data=(val.texts, val.labels))
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        m = clf.evaluate(test.texts, test.labels)
        predict_seconds = time.perf_counter() - started
        p = clf.resolved_params()
        row = {
            "model": "MiniLM-L6 + DB" if family == "bert" else "TF-IDF MLP + DB",
            "settings": (f"seq {p['sequence_length']} ({p['long_docs']}), {p['epochs']} epochs, batch "
                         f"{p['batch_size']}, lr {p['learning_rate']:g}" if family == "bert"
                         else f"{p['max_tokens']} n-grams, {p['hidden_units']}, best of {p['epochs']} epochs"),
            "micro_f1": m["micro_f1"],
            "macro_f1": m["macro_f1"],
            **{f"{g}_{k}": m["groups"][g][k] for g in GROUPS for k in ("micro_f1", "macro_f1", "n_labels")},
            "best_epoch": clf.best_epoch_,
            "train_seconds": train_seconds,
            "test_examples_per_second": len(test) / predict_seconds,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, {platform.python_version()}",
        "backend": keras.backend.backend(),
        "command": "python benchmarks/reuters_bert.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "split": {"train": len(fit), "validation": len(val), "test": len(test)},
        "rows": rows,
    }
    print(markdown(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


def markdown(result):
    lines = [
        "| model | settings | micro-F1 | macro-F1 | head micro / macro | medium micro / macro "
        "| tail micro / macro | best epoch | train s | test examples / s |",
        "|" + "---|" * 10,
    ]
    for r in result["rows"]:
        groups = " | ".join(f"{100 * r[g + '_micro_f1']:.2f} / {100 * r[g + '_macro_f1']:.2f}" for g in GROUPS)
        lines.append(
            f"| {r['model']} | {r['settings']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} | {groups} "
            f"| {r['best_epoch']} | {r['train_seconds']:.0f} | {r['test_examples_per_second']:.0f} |"
        )
    for name, (micro, macro) in PAPER.items():
        lines.append(f"| {name} | seq 512 | {micro:.2f} | {macro:.2f} | - | - | - | - | - | - |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
