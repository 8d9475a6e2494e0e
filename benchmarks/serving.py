#!/usr/bin/env python3
"""Serving speed of exported SavedModels next to `clf.predict`, in one process.

Two models:
* tfidf: the Reuters-21578 TF-IDF MLP: `--model DIR`, or trained here with the kmlc API
  on the benchmarks' Reuters split (defaults, `--epochs` epochs).
* minilm: all-MiniLM-L6-v2 (the default BERT preset, sequence length 128) with its head
  trained `--bert-epochs` epoch(s) on `--bert-train` Reuters texts with the backbone frozen
  (or `--bert-model DIR`). The network's cost does not depend on its weights, so this
  measures latency, not accuracy.

Each is exported with `clf.export` under the current backend and loaded back with
`tf.saved_model.load`; its `serving_default` signature is called with a tf.string tensor.
Measured, on Reuters test texts:
* latency of one string: p50 and p99 over `--calls` calls, each on the next test text;
* throughput for batches of 1, 32 and 256: texts per second over `--texts` texts (at least
  one batch; `--calls` texts for batches of one), the median of `--repeats` passes;
the same for `clf.predict` (one call per batch, `batch_size` set to the batch size). Every
shape is called once untimed first (JAX exports compile once per new batch shape).

Usage:
    python benchmarks/serving.py [--backend jax] [--model DIR] [--bert-model DIR]
                                 [--out FILE.json] [--markdown]
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
BATCHES = (1, 32, 256)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"))
    parser.add_argument("--model", help="a saved TF-IDF model directory (default: train one)")
    parser.add_argument("--bert-model", help="a saved BERT model directory (default: build MiniLM)")
    parser.add_argument("--skip-bert", action="store_true")
    parser.add_argument("--epochs", type=int, default=5, help="TF-IDF epochs when training here")
    parser.add_argument("--bert-train", type=int, default=160, help="texts for MiniLM's head")
    parser.add_argument("--bert-epochs", type=int, default=1)
    parser.add_argument("--calls", type=int, default=200, help="single-string calls (TF-IDF)")
    parser.add_argument("--bert-calls", type=int, default=60, help="single-string calls (MiniLM)")
    parser.add_argument("--texts", type=int, default=1024, help="texts per throughput pass (TF-IDF)")
    parser.add_argument("--bert-texts", type=int, default=256, help="texts per throughput pass (MiniLM)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write the results as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser.parse_args(argv)


def percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def latency_ms(call, texts, calls):
    call(texts[:1])  # warm-up: the batch-of-one shape
    times = []
    for i in range(calls):
        text = texts[i % len(texts)]
        started = time.perf_counter()
        call([text])
        times.append((time.perf_counter() - started) * 1000.0)
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "calls": calls}


def throughput(call, texts, batch, total, repeats):
    total = max(total, batch)
    pool = (texts * (total // len(texts) + 1))[:total]
    batches = [pool[i : i + batch] for i in range(0, total, batch)]
    call(batches[0])  # warm-up
    if len(batches[-1]) != batch:
        call(batches[-1])  # ... and the last, shorter batch's shape
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for chunk in batches:
            call(chunk)
        rates.append(total / (time.perf_counter() - started))
    return statistics.median(rates)


def measure(name, clf, export_root, texts, args, calls, total):
    import tensorflow as tf

    started = time.perf_counter()
    target = clf.export(export_root / name)
    export_seconds = time.perf_counter() - started
    loaded = tf.saved_model.load(str(target))
    serving = loaded.signatures["serving_default"]

    def served(batch):
        return serving(text=tf.constant(batch, dtype=tf.string))

    # The exported model and clf.predict agree on these texts (the numbers below time the
    # same work).
    check = texts[:64]
    out = served(check)
    diff = float(np.abs(out["probabilities"].numpy() - clf.predict_proba(check)).max())
    rows = {}
    for system, call in (
        ("SavedModel", served),
        ("clf.predict", lambda batch: clf.predict(batch, batch_size=len(batch))),
    ):
        row = {"latency_one_string": latency_ms(call, texts, calls)}
        # Batches of one: as many texts as single-string calls (a clf.predict call costs
        # tens of milliseconds of set-up, so a full pass would take minutes).
        row["throughput_texts_per_s"] = {
            str(b): throughput(call, texts, b, calls if b == 1 else total, args.repeats) for b in BATCHES
        }
        rows[system] = row
        print(name, system, json.dumps(row), flush=True)
    size = sum(p.stat().st_size for p in Path(target).rglob("*") if p.is_file())
    return {
        "export_seconds": export_seconds,
        "saved_model_mb": size / 1e6,
        "max_abs_probability_difference": diff,
        "systems": rows,
    }


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import keras

    import kmlc
    from reuters_data import load_reuters

    fit, validation, test = load_reuters(seed=args.seed)
    texts = list(test.texts)
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
        "python": platform.python_version(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "command": "python benchmarks/serving.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="kmlc-serving-") as tmp:
        tmp = Path(tmp)
        if args.model:
            tfidf = kmlc.load(args.model)
            result["tfidf_model"] = args.model
        else:
            tfidf = kmlc.TextClassifier(epochs=args.epochs, seed=args.seed, verbose=0)
            tfidf.fit(fit.texts, fit.labels, validation_data=(validation.texts, validation.labels))
            result["tfidf_model"] = f"trained here: defaults, {args.epochs} epochs, seed {args.seed}"
        result["models"]["tfidf"] = measure("tfidf", tfidf, tmp, texts, args, args.calls, args.texts)
        result["models"]["tfidf"]["test_micro_f1"] = tfidf.evaluate(test.texts, test.labels)["micro_f1"]
        if not args.skip_bert:
            if args.bert_model:
                bert = kmlc.load(args.bert_model)
                result["bert_model"] = args.bert_model
            else:
                n = args.bert_train
                bert = kmlc.TextClassifier(
                    model="bert", freeze_backbone=True, epochs=args.bert_epochs, seed=args.seed, verbose=0
                )
                bert.fit(fit.texts[:n], fit.labels[:n], validation_data=(validation.texts[: n // 4], validation.labels[: n // 4]))
                result["bert_model"] = (
                    f"all-MiniLM-L6-v2, sequence length 128, head trained {args.bert_epochs} epoch(s) on "
                    f"{n} texts with the backbone frozen (latency only, not a useful classifier)"
                )
            result["models"]["minilm"] = measure("minilm", bert, tmp, texts, args, args.bert_calls, args.bert_texts)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    if args.markdown:
        print(markdown(result))
    return result


def markdown(result):
    lines = [
        "| model | system | one string p50 ms | p99 ms | batch 1 texts/s | batch 32 texts/s | batch 256 texts/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, data in result["models"].items():
        for system, row in data["systems"].items():
            lat, thr = row["latency_one_string"], row["throughput_texts_per_s"]
            lines.append(
                f"| {model} | {system} | {lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} | "
                + " | ".join(f"{thr[str(b)]:,.0f}" for b in BATCHES)
                + " |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
