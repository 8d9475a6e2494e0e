#!/usr/bin/env python3
"""Speed on Reuters-21578 (ModApte, 90 labels): kmlc against TF-IDF + LinearSVC and the
Keras example, in one run on the same data (issue 9).

For each contender: training seconds (raw strings and label lists to a usable classifier)
in total and up to the best validation epoch, raw-string-to-labels throughput at batch
sizes 1, 32 and 256, peak resident memory, and test micro-/macro-F1; then ratios.

* svm            scikit-learn Pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                 min_df=2), OneVsRestClassifier(LinearSVC())) at its default rule (decision
                 > 0): `run_svm` of benchmarks/reuters_tfidf.py (its tuned-threshold row too).
* kmlc           `kmlc.TextClassifier(seed=seed)` with its defaults (sparse TF-IDF input),
                 Python `clf.predict`.
* kmlc-fast      `kmlc.TextClassifier(seed=seed, **FAST_SETTINGS)`: kmlc set for a short
                 training (see FAST_SETTINGS).
* kmlc-savedmodel  the default classifier (the fast one when `kmlc` is not run) exported with `kmlc.export.export_model` and loaded
                 in a TensorFlow-only process (`tf.saved_model.load`, the serving signature).
* keras-example  `run_keras_example` of benchmarks/reuters_tfidf.py (dense TF-IDF MLP,
                 20 epochs, batch 128, threshold 0.5).

Every contender runs in a fresh child process (one at a time, started by this one run), so
its peak RSS (`ru_maxrss`) is its own; the split, the evaluation and the ratios are the
parent's. The training split is the shared one (benchmarks/reuters_data.py: train.csv
80/20 by iterative stratification, seed 0; test.csv is the test set).

Throughput: the test texts are cut into consecutive batches of the size; each call (raw
strings -> label lists) is timed after two untimed warm-up calls, and texts per second is
batch size / the median call time. Batch 1 times the first `--batch1-calls` texts, batch 32
the first `--batch32-calls` batches, batch 256 every test text. Time to the best epoch: kmlc
records the time at the end of each epoch (a callback); the preparation before the first
epoch (vectoriser adaptation, compilation) is included. The Keras example trains a fixed 20
epochs: its best epoch is the one of the lowest validation loss, and its time there is its
total fit time x best / 20 (estimated). The SVM has no epochs: both numbers are its fit.

Usage:
    KERAS_BACKEND=jax python benchmarks/speed.py [--seed 0] [--out runs/speed.json] [--markdown]
                                               [--quick] [--only svm,kmlc,...]
"""

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

import reuters_tfidf as rt  # noqa: E402  (shared helpers and the SVM / Keras-example systems)
from reuters_data import DATA, load_reuters  # noqa: E402

BATCH_SIZES = (1, 32, 256)
CONTENDERS = ("svm", "kmlc", "kmlc-fast", "kmlc-savedmodel", "keras-example")
# kmlc's settings for a short training: a large batch (few optimiser steps), one hidden layer
# of 128 (an epoch of 24 steps takes ~0.4 s here, against ~1 s at 256), light dropout, and the
# TF-IDF values x 8 before it (with Adam, the first layer's learning rate x 8, so the rows of
# rare n-grams learn in few epochs); a fixed short schedule. The sweep is in docs/benchmarks.md
# (benchmarks/fast_settings.py).
FAST_SETTINGS = {
    "hidden_units": [128], "dropout": 0.2, "batch_size": 256, "learning_rate": 1e-2, "input_scale": 8.0,
    "epochs": 5, "patience": 2,
}
BASELINE = "svm"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_rss_mb():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def throughput(predict, texts, batch_size, max_calls):
    """Texts per second of `predict` on consecutive batches (median call time)."""
    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
    batches = [b for b in batches if len(b) == batch_size][:max_calls] or batches[:1]
    for batch in batches[:2]:
        predict(batch)
    seconds = []
    for batch in batches:
        started = time.perf_counter()
        predict(batch)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return {"texts_per_second": len(batches[0]) / median, "median_call_seconds": median, "calls": len(batches)}


def all_throughputs(predict, texts, args):
    calls = {1: args.batch1_calls, 32: args.batch32_calls, 256: 10**9}
    out = {}
    for size in BATCH_SIZES:
        out[str(size)] = throughput(predict, texts, size, calls[size])
        log(f"  batch {size}: {out[str(size)]['texts_per_second']:,.0f} texts/s")
    return out


def _split(seed):
    fit, val, test = load_reuters(DATA, seed=0)
    return {
        "train_texts": list(fit.texts), "train_labels": [list(l) for l in fit.labels],
        "val_texts": list(val.texts), "val_labels": [list(l) for l in val.labels],
    }, list(test.texts)


def _setup(backend):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kmlc.backend import configure_runtime, select_backend

    select_backend(backend)
    import keras
    import tensorflow as tf

    configure_runtime()
    tf.constant(["warm-up"])
    keras.ops.convert_to_numpy(keras.ops.ones((2, 2)) @ keras.ops.ones((2, 2)))


# ----------------------------------------------------------------------------- contenders
# Each runs in its own process and returns JSON-able rows; predictions are label lists.


def _capture_predictors():
    """reuters_tfidf's systems time their `predict` through `time_predictions`: wrap it to
    keep each predict function (in call order) for the batch-size timings."""
    captured = []
    original = rt.time_predictions

    def recording(predict, texts, repeats):
        captured.append(predict)
        return original(predict, texts, repeats)

    rt.time_predictions = recording
    return captured


def contender_svm(args, split, test_texts):
    captured = _capture_predictors()
    rows = rt.run_svm(split, args.seed, 1, test_texts)
    for row, predict in zip(rows, captured):
        log(f"{row['key']}: throughput")
        row["throughput"] = all_throughputs(predict, test_texts, args)
        row["best_epoch_seconds"] = row["train_seconds"]
        row["test_scores"] = np.asarray(row["test_scores"]).tolist()
    return rows


def contender_keras_example(args, split, test_texts):
    captured = _capture_predictors()
    epochs = rt.QUICK_EPOCHS if args.quick else rt.EXAMPLE_EPOCHS
    (row,) = rt.run_keras_example(split, args.seed, 1, test_texts, epochs)
    log("keras-example: throughput")
    row["throughput"] = all_throughputs(captured[0], test_texts, args)
    val_loss = row["settings"]["history"]["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    row["best_epoch"] = best
    row["best_epoch_seconds"] = row["train_seconds"] * best / len(val_loss)
    row["best_epoch_note"] = "estimated: total fit time x best epoch / epochs (lowest val_loss)"
    row["test_scores"] = np.asarray(row["test_scores"]).tolist()
    return [row]


def contender_kmlc(args, split, test_texts, settings=None, key="kmlc", system="kmlc TextClassifier (defaults)"):
    import keras

    import kmlc

    params = {"seed": args.seed, "verbose": 0, **(settings or {})}
    if args.quick:
        params["epochs"] = rt.QUICK_EPOCHS
    epoch_ends = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epoch_ends.append(time.perf_counter())

    keras.utils.set_random_seed(args.seed)
    clf = kmlc.TextClassifier(**params)
    started = time.perf_counter()
    clf.fit(
        split["train_texts"], split["train_labels"],
        validation_data=(split["val_texts"], split["val_labels"]), callbacks=[EpochClock()],
    )
    fit_seconds = time.perf_counter() - started
    best = clf.best_epoch_
    best_seconds = epoch_ends[best - 1] - started
    log(f"{key}: fitted in {fit_seconds:.1f} s ({len(epoch_ends)} epochs, best {best} at {best_seconds:.1f} s)")
    row = {
        "key": key,
        "system": system,
        "train_seconds": fit_seconds,
        "best_epoch_seconds": best_seconds,
        "best_epoch": best,
        "epochs_run": len(epoch_ends),
        "test_predictions": clf.predict(test_texts),
        "test_scores": clf.predict_proba(test_texts).tolist(),
        "names": list(clf.labels_),
        "settings": {"params": clf.resolved_params(), "history": clf.history_},
    }
    log(f"{key}: throughput (Python predict)")
    row["throughput"] = all_throughputs(clf.predict, test_texts, args)
    # The SavedModel contender serves the defaults' model, or the fast one without it.
    if args.export_dir and (key == "kmlc" or "kmlc" not in args.only):
        try:
            from kmlc.export import export_model
        except ImportError:
            print("note: kmlc.export is not available: the SavedModel contender is skipped.", flush=True)
        else:
            started = time.perf_counter()
            row["export_dir"] = str(export_model(clf, args.export_dir))
            row["export_seconds"] = time.perf_counter() - started
            log(f"kmlc: exported to {row['export_dir']} in {row['export_seconds']:.1f} s")
    return [row]


def contender_savedmodel(args, split, test_texts):
    """The exported SavedModel, loaded with TensorFlow alone (kmlc and Keras not imported)."""
    import tensorflow as tf

    serve = tf.saved_model.load(args.export_dir_version).signatures["serving_default"]

    def predict(texts):
        out = serve(text=tf.constant(texts, dtype=tf.string))
        labels, mask = out["labels"].numpy(), out["label_mask"].numpy()
        return [[label.decode("utf-8") for label, keep in zip(row, keep_row) if keep] for row, keep_row in zip(labels, mask)]

    def probabilities(texts):
        return np.concatenate(
            [serve(text=tf.constant(texts[i : i + 256]))["probabilities"].numpy() for i in range(0, len(texts), 256)]
        )

    log("kmlc-savedmodel: throughput")
    row = {
        "key": "kmlc-savedmodel",
        "system": f"kmlc exported SavedModel of {args.export_source} (TensorFlow only)",
        "throughput": all_throughputs(predict, test_texts, args),
        "test_predictions": [labels for i in range(0, len(test_texts), 256) for labels in predict(test_texts[i : i + 256])],
        "test_scores": probabilities(test_texts).tolist(),
    }
    return [row]


RUNNERS = {
    "svm": contender_svm,
    "kmlc": contender_kmlc,
    "kmlc-fast": lambda args, split, test_texts: contender_kmlc(
        args, split, test_texts, FAST_SETTINGS, key="kmlc-fast", system="kmlc TextClassifier (fast settings)"
    ),
    "kmlc-savedmodel": contender_savedmodel,
    "keras-example": contender_keras_example,
}


def _child(name, args, queue):
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        if name in ("kmlc", "kmlc-fast", "keras-example"):
            _setup(args.backend)
        split, test_texts = _split(args.seed)
        rows = RUNNERS[name](args, split, test_texts)
        for row in rows:
            row["peak_rss_mb"] = peak_rss_mb()
        queue.put(("ok", json.dumps(rows, default=float)))
    except BaseException as e:  # noqa: BLE001 - reported by the parent
        import traceback

        queue.put(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


def run_contender(name, args):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(name, args, queue))
    process.start()
    status, payload = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(f"{name} failed: {payload}")
    return json.loads(payload)


# ----------------------------------------------------------------------------- report


def markdown(result):
    rows = result["systems"]
    lines = [
        "| system | test micro-F1 | macro-F1 | train s (to best epoch) | train / SVM | best epoch | "
        "texts/s b=1 | b=32 | b=256 | b=256 / SVM | peak RSS MB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        t = r["throughput"]
        train = f"{r['train_seconds']:.1f} ({r['best_epoch_seconds']:.1f})" if "train_seconds" in r else "-"
        ratio = f"{r['train_ratio']:.2f}x" if "train_ratio" in r else "-"
        lines.append(
            f"| {r['system']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} | {train} | {ratio} "
            f"| {r.get('best_epoch', '-')} | {t['1']['texts_per_second']:,.0f} | {t['32']['texts_per_second']:,.0f} "
            f"| {t['256']['texts_per_second']:,.0f} | {r['throughput_ratio_256']:.2f}x | {r['peak_rss_mb']:,.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND") or "jax",
                        choices=("jax", "tensorflow", "torch"), help="Keras backend (default: $KERAS_BACKEND, else jax)")
    parser.add_argument("--seed", type=int, default=0, help="model seed (default 0)")
    parser.add_argument("--only", default=",".join(CONTENDERS), help=f"comma-separated subset of {CONTENDERS}")
    parser.add_argument("--batch1-calls", type=int, default=200, help="timed batch-1 calls (default 200)")
    parser.add_argument("--batch32-calls", type=int, default=40, help="timed batch-32 calls (default 40)")
    parser.add_argument("--quick", action="store_true", help="2 epochs for the neural models: a smoke test")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown contenders {unknown}; choose among {CONTENDERS}")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    machine = rt.machine_facts(args.backend)
    export_root = tempfile.mkdtemp(prefix="kmlc-speed-export-")
    args.export_dir = export_root if "kmlc-savedmodel" in args.only else None
    rows = []
    for name in args.only:
        if name == "kmlc-savedmodel":
            exported = [r for r in rows if r.get("export_dir")]
            if not exported:
                print("note: no exported kmlc model (kmlc.export missing, or kmlc not run): "
                      "the SavedModel contender is skipped.", flush=True)
                continue
            args.export_dir_version = exported[0]["export_dir"]
            args.export_source = exported[0]["key"]
        log(f"{name}: starting (own process)")
        rows += run_contender(name, args)

    # Scores in the evaluation label space of benchmarks/reuters_tfidf.py: the training
    # file's labels, then test-only labels (missed by everyone).
    from kmlc.data import read_labeled_texts
    from kmlc.labels import LabelEncoder

    train = read_labeled_texts(DATA / "train.csv")
    test = read_labeled_texts(DATA / "test.csv")
    encoder = LabelEncoder().fit(train.labels)
    unseen = sorted({label for row in test.labels for label in row} - set(encoder.vocabulary_))
    eval_names = list(encoder.vocabulary_) + unseen
    counts = np.concatenate([encoder.counts_, np.zeros(len(unseen), dtype=np.int64)])
    y_test = rt.indicator(test.labels, eval_names)
    kmlc_names = next((r["names"] for r in rows if r.get("export_dir")), None)
    for r in rows:
        r.setdefault("names", kmlc_names)  # the SavedModel's columns are kmlc's labels
        r["test_scores"] = np.asarray(r["test_scores"])
        rt.score_row(r, y_test, eval_names, counts)
        r.pop("metrics", None)
    base = next((r for r in rows if r["key"] == BASELINE), None)
    for r in rows:
        if base is not None:
            if "train_seconds" in r:
                r["train_ratio"] = r["train_seconds"] / base["train_seconds"]
                r["best_epoch_train_ratio"] = r["best_epoch_seconds"] / base["best_epoch_seconds"]
            r["throughput_ratio_256"] = r["throughput"]["256"]["texts_per_second"] / base["throughput"]["256"]["texts_per_second"]
        else:
            r["throughput_ratio_256"] = float("nan")
    example = next((r for r in rows if r["key"] == "keras-example"), None)
    targets = {}
    # Issue 9: training time to the best validation epoch <= the SVM pipeline's fit and <= a
    # third of the Keras example's, at a test micro-F1 >= the SVM pipeline's (its own rule).
    for key in ("kmlc", "kmlc-fast"):
        row = next((r for r in rows if r["key"] == key), None)
        if row and base:
            targets[f"{key}_train_to_best_le_svm"] = row["best_epoch_seconds"] <= base["best_epoch_seconds"]
            targets[f"{key}_micro_f1_ge_svm"] = row["micro_f1"] >= base["micro_f1"]
        if row and example:
            targets[f"{key}_train_to_best_le_third_of_keras_example"] = (
                row["best_epoch_seconds"] <= example["best_epoch_seconds"] / 3
            )
    saved = next((r for r in rows if r["key"] == "kmlc-savedmodel"), None)
    if saved and base:
        targets["savedmodel_b256_ge_svm"] = saved["throughput_ratio_256"] >= 1.0
    machine["load_average_at_end"] = list(os.getloadavg())
    result = {
        "benchmark": "speed",
        "argv": list(sys.argv[1:] if argv is None else argv),
        "machine": machine,
        "versions": rt.package_versions(),
        "seed": args.seed,
        "quick": args.quick,
        "systems": rows,
        "targets": targets,
    }
    table = markdown(result)
    print(table if args.markdown else json.dumps({k: v for k, v in result.items() if k != "systems"}, indent=2, default=float))
    print("targets:", targets)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
        log(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
