#!/usr/bin/env python3
"""Reuters-21578 (ModApte, 90 labels): kmlc vs the Keras example vs TF-IDF + linear SVM.

One process, one run, three systems, the same data:

* train.csv is split once by iterative stratification (80% fit / 20% validation, split
  seed 0); every system is fitted on the same 80% and sees the same 20% as validation data;
  test.csv (3,019 texts) is the test set.
* kmlc          `kmlc.TextClassifier(seed=seed, verbose=0)` with its defaults (TF-IDF
                bigrams, 20,000 tokens, MLP 512-256 with dropout, early stopping on validation
                micro-F1, one global threshold tuned on validation).
* keras-example the Keras example "Large-scale multi-label text classification"
                (keras.io/examples/nlp/multi_label_classification), re-implemented from its
                description: TextVectorization(max_tokens=<distinct lower-cased whitespace
                tokens of the training texts>, ngrams=2, output_mode="tf_idf") in a tf.data
                `map`, StringLookup(output_mode="multi_hot") with its default [UNK] column
                (dropped before scoring), Dense 512-256 ReLU + sigmoid, binary
                cross-entropy, Adam, 20 epochs, batch 128, no early stopping, threshold 0.5.
* svm           scikit-learn Pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                min_df=2), OneVsRestClassifier(LinearSVC(C=1.0))): one row at the default
                decision rule (decision_function > 0), one row with a single global threshold
                on the decision function tuned for micro-F1 on the validation split. The
                default-rule row is the baseline of the time ratios.

Scores: micro-F1 and macro-F1 from `kmlc.evaluation.evaluate` over the labels of the training
file (90), plus any test label absent from it, which then counts as missed; a system that
never saw a label in its 80% never predicts it. Times: training seconds are wall clock from
raw strings and label lists to a usable classifier (vectoriser adaptation, label encoding
and, where the system has one, threshold tuning included); throughput is test texts per second
from raw strings to label lists, one call with all test texts, the median of `--repeats`
timed calls after one untimed warm-up call. The machine is shared and noisy: compare the
ratios to the SVM baseline of the same run, not absolute seconds across runs.

Usage:
    python benchmarks/reuters_tfidf.py [--backend jax] [--quick] [--seed 0]
                                       [--out FILE.json] [--markdown]
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "reuters21578_modapte"
SPLIT_FRACTIONS = (0.8, 0.2)
SPLIT_SEED = 0
QUICK_TRAIN_DOCS = 1500
QUICK_EPOCHS = 2
EXAMPLE_EPOCHS = 20
EXAMPLE_BATCH_SIZE = 128
EXAMPLE_THRESHOLD = 0.5
BASELINE = "svm"
# Published test figures on this split (Huang et al., EMNLP 2021; ../shared/data/README.md),
# micro-F1 / macro-F1 in %, for orientation only: their protocol differs (BERT, a 1,000-doc
# validation split).
PUBLISHED = {
    "TF-IDF + one-vs-rest linear SVM": (87.60, 51.63),
    "BERT-base, BCE": (89.14, 47.32),
    "BERT-base, distribution-balanced loss": (90.62, 64.47),
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Reuters-21578 ModApte: kmlc vs the Keras example vs TF-IDF + LinearSVC "
        "(test micro/macro-F1, training seconds, predictions per second).",
    )
    parser.add_argument(
        "--backend", choices=("jax", "tensorflow", "torch"),
        help="Keras backend (default: $KERAS_BACKEND, else jax)",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help=f"smoke test: {QUICK_TRAIN_DOCS} training documents and {QUICK_EPOCHS} epochs for "
        "the neural models (the figures mean nothing)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the models (default 0)")
    parser.add_argument("--out", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--markdown", action="store_true",
        help="print a paste-ready Markdown section (command, machine, table, notes) instead of "
        "the table alone",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA,
        help=f"folder with train.csv and test.csv (default: {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--repeats", type=int, default=3,
        help="timed prediction calls per system; the median is reported (default 3)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


# ----------------------------------------------------------------------------- helpers


def indicator(label_lists, names):
    """Multi-hot bool matrix [N, len(names)]; labels outside `names` are ignored."""
    column = {name: j for j, name in enumerate(names)}
    out = np.zeros((len(label_lists), len(names)), dtype=bool)
    for i, row in enumerate(label_lists):
        for label in row:
            j = column.get(label)
            if j is not None:
                out[i, j] = True
    return out


def decode(pred, names):
    """Label lists from a bool matrix whose columns are `names`."""
    names = np.asarray(names, dtype=object)
    return [names[row].tolist() for row in np.asarray(pred, dtype=bool)]


def to_eval_space(scores, names, eval_names):
    """Re-orders a system's score columns into the evaluation label order.

    Labels the system has no column for get a score below all of its scores (never ranked
    above a real label by P@k / nDCG@k).
    """
    scores = np.asarray(scores, dtype=np.float64)
    floor = float(scores.min()) - 1.0 if scores.size else -1.0
    out = np.full((scores.shape[0], len(eval_names)), floor)
    position = {name: j for j, name in enumerate(names)}
    for k, name in enumerate(eval_names):
        if name in position:
            out[:, k] = scores[:, position[name]]
    return out


def time_predictions(predict, texts, repeats):
    """One untimed warm-up call, then `repeats` timed calls on all texts at once."""
    output = predict(texts)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict(texts)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return output, seconds, len(texts) / median


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions():
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("kmlc", "keras", "tensorflow", "jax", "jaxlib", "torch", "scikit-learn", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_facts(backend):
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "backend": backend,
    }


# ----------------------------------------------------------------------------- systems


def run_svm(split, seed, repeats, test_texts):
    """TF-IDF + one-vs-rest LinearSVC: default rule (> 0) and a tuned global threshold."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MultiLabelBinarizer
    from sklearn.svm import LinearSVC

    from kmlc.thresholds import tune_thresholds

    vectorizer_settings = dict(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
    svm_settings = dict(C=1.0, random_state=seed)
    started = time.perf_counter()
    binarizer = MultiLabelBinarizer()
    y_train = binarizer.fit_transform(split["train_labels"])
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(**vectorizer_settings)),
            ("ovr", OneVsRestClassifier(LinearSVC(**svm_settings))),
        ]
    )
    pipeline.fit(split["train_texts"], y_train)
    fit_seconds = time.perf_counter() - started
    names = [str(c) for c in binarizer.classes_]

    # One global threshold on the decision function, tuned for micro-F1 on validation.
    # tune_thresholds searches every distinct score exactly, for any real scores; on ties it
    # prefers the threshold closest to 0.5, so the scores are shifted by +0.5 to make that
    # "closest to the SVM's own decision value 0", and the threshold is shifted back.
    started = time.perf_counter()
    val_scores = pipeline.decision_function(split["val_texts"])
    y_val = indicator(split["val_labels"], names)
    policy = tune_thresholds(y_val, val_scores + 0.5, strategy="global", metric="micro_f1")
    threshold = float(policy.thresholds[0]) - 0.5
    tune_seconds = time.perf_counter() - started
    log(f"svm: fitted in {fit_seconds:.1f} s; tuned decision threshold {threshold:+.4f} "
        f"in {tune_seconds:.1f} s")

    def predict_default(texts):
        return decode(pipeline.decision_function(texts) > 0.0, names)

    def predict_tuned(texts):
        return decode(pipeline.decision_function(texts) >= threshold, names)

    test_scores = pipeline.decision_function(test_texts)
    settings = {
        "vectorizer": "TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, "
        "dtype=float32; otherwise defaults: lowercase, token_pattern r'(?u)\\b\\w\\w+\\b', "
        "norm='l2', smooth_idf=True, no max_features)",
        "classifier": f"OneVsRestClassifier(LinearSVC(C=1.0, random_state={seed}; otherwise "
        "defaults: squared hinge, L2 penalty, dual='auto', max_iter=1000))",
        "vocabulary_size": len(pipeline.named_steps["tfidf"].vocabulary_),
        "labels_learned": len(names),
    }
    rows = []
    for key, name, predict, extra in (
        ("svm", "TF-IDF + LinearSVC (decision > 0)", predict_default,
         {"threshold": 0.0, "rule": "decision_function > 0"}),
        ("svm-tuned", "TF-IDF + LinearSVC (global threshold tuned on validation)", predict_tuned,
         {"threshold": threshold, "rule": "decision_function >= threshold",
          "tuning_seconds": tune_seconds}),
    ):
        log(f"{key}: timing predictions on {len(test_texts)} texts")
        output, seconds, per_second = time_predictions(predict, test_texts, repeats)
        rows.append(
            {
                "key": key,
                "system": name,
                "train_seconds": fit_seconds + extra.get("tuning_seconds", 0.0),
                "fit_seconds": fit_seconds,
                "predict_seconds": seconds,
                "predictions_per_second": per_second,
                "test_predictions": output,
                "test_scores": test_scores,
                "names": names,
                "settings": {**settings, **extra},
            }
        )
    return rows


def run_kmlc(split, seed, repeats, test_texts, quick):
    import keras

    import kmlc

    params = {"seed": seed, "verbose": 0}
    if quick:
        params["epochs"] = QUICK_EPOCHS
    keras.utils.set_random_seed(seed)
    clf = kmlc.TextClassifier(**params)
    started = time.perf_counter()
    clf.fit(
        split["train_texts"],
        split["train_labels"],
        validation_data=(split["val_texts"], split["val_labels"]),
    )
    fit_seconds = time.perf_counter() - started
    epochs_run = len(clf.history_.get("loss", []))
    threshold = float(clf.thresholds_.thresholds[0])
    log(f"kmlc: fitted in {fit_seconds:.1f} s ({epochs_run} epochs, best {clf.best_epoch_}); "
        f"global threshold {threshold:.4f}")
    log(f"kmlc: timing predictions on {len(test_texts)} texts")
    output, seconds, per_second = time_predictions(clf.predict, test_texts, repeats)
    all_params = clf.get_params()
    return [
        {
            "key": "kmlc",
            "system": "kmlc TextClassifier (defaults)",
            "train_seconds": fit_seconds,
            "fit_seconds": fit_seconds,
            "predict_seconds": seconds,
            "predictions_per_second": per_second,
            "test_predictions": output,
            "test_scores": clf.predict_proba(test_texts),
            "names": list(clf.labels_),
            "settings": {
                "params": all_params,
                "changed_from_defaults": {k: v for k, v in params.items() if k != "verbose"},
                "threshold": threshold,
                "epochs_run": epochs_run,
                "best_epoch": clf.best_epoch_,
                "history": clf.history_,
                "train_seconds_reported_by_kmlc": clf.train_seconds_,
                "note": "train_seconds is the wall clock of clf.fit (threshold tuning included); "
                "train_seconds_reported_by_kmlc stops before the threshold tuning",
                "predict": "clf.predict(texts) (batch_size=256 inside)",
            },
        }
    ]


def run_keras_example(split, seed, repeats, test_texts, epochs):
    """The Keras example, re-implemented from its description."""
    import keras
    import tensorflow as tf
    from keras import layers

    auto = tf.data.AUTOTUNE
    batch_size = EXAMPLE_BATCH_SIZE
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()

    # Labels: StringLookup in multi_hot mode with its default out-of-vocabulary slot, so
    # column 0 is a phantom "[UNK]" label (the model gets an output unit for it).
    lookup = layers.StringLookup(output_mode="multi_hot")
    lookup.adapt(tf.ragged.constant(split["train_labels"], dtype=tf.string))

    def make_dataset(texts, label_lists, is_train):
        y = lookup(tf.ragged.constant(label_lists, dtype=tf.string)).numpy()
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(texts, dtype=str), y))
        if is_train:
            ds = ds.shuffle(batch_size * 10, seed=seed)
        return ds.batch(batch_size)

    train_ds = make_dataset(split["train_texts"], split["train_labels"], True)
    val_ds = make_dataset(split["val_texts"], split["val_labels"], False)

    # Vocabulary size: distinct lower-cased whitespace tokens of the training texts.
    vocabulary = set()
    for text in split["train_texts"]:
        vocabulary.update(text.lower().split())
    max_tokens = len(vocabulary)
    text_vectorizer = layers.TextVectorization(max_tokens=max_tokens, ngrams=2, output_mode="tf_idf")
    text_vectorizer.adapt(train_ds.map(lambda text, label: text))
    train_ds = train_ds.map(lambda text, label: (text_vectorizer(text), label), num_parallel_calls=auto)
    val_ds = val_ds.map(lambda text, label: (text_vectorizer(text), label), num_parallel_calls=auto)
    train_ds, val_ds = train_ds.prefetch(auto), val_ds.prefetch(auto)

    model = keras.Sequential(
        [
            layers.Dense(512, activation="relu"),
            layers.Dense(256, activation="relu"),
            layers.Dense(lookup.vocabulary_size(), activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["binary_accuracy"])
    with warnings.catch_warnings():
        # Keras notes that fit's default shuffle=True does not apply to a tf.data input (the
        # dataset shuffles itself, as in the example).
        warnings.filterwarnings("ignore", message=".*shuffle=True.*tf.data.Dataset")
        history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=0)
    fit_seconds = time.perf_counter() - started

    label_vocabulary = [str(v) for v in lookup.get_vocabulary()]
    oov = label_vocabulary[0]
    names = label_vocabulary[1:]  # the [UNK] column is dropped before scoring
    log(f"keras-example: fitted in {fit_seconds:.1f} s ({epochs} epochs, max_tokens={max_tokens}, "
        f"{len(label_vocabulary)} outputs incl. {oov!r})")

    def probabilities(texts):
        ds = tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=str)).batch(batch_size)
        ds = ds.map(text_vectorizer, num_parallel_calls=auto).prefetch(auto)
        return np.asarray(model.predict(ds, verbose=0))[:, 1:]

    def predict(texts):
        return decode(probabilities(texts) >= EXAMPLE_THRESHOLD, names)

    log(f"keras-example: timing predictions on {len(test_texts)} texts")
    output, seconds, per_second = time_predictions(predict, test_texts, repeats)
    return [
        {
            "key": "keras-example",
            "system": "Keras example (multi_label_classification)",
            "train_seconds": fit_seconds,
            "fit_seconds": fit_seconds,
            "predict_seconds": seconds,
            "predictions_per_second": per_second,
            "test_predictions": output,
            "test_scores": probabilities(test_texts),
            "names": names,
            "settings": {
                "vectorizer": f"TextVectorization(max_tokens={max_tokens}, ngrams=2, "
                "output_mode='tf_idf'; standardize='lower_and_strip_punctuation'), adapted on "
                "the training texts, applied in tf.data map",
                "max_tokens": max_tokens,
                "label_lookup": "StringLookup(output_mode='multi_hot'), default num_oov_indices=1; "
                f"the {oov!r} output column is dropped before scoring",
                "model": f"Sequential([Dense(512, relu), Dense(256, relu), "
                f"Dense({lookup.vocabulary_size()}, sigmoid)])",
                "training": f"binary_crossentropy, adam (defaults), metrics=['binary_accuracy'], "
                f"epochs={epochs}, batch_size={batch_size}, shuffle buffer {batch_size * 10}, "
                "validation data monitored, no early stopping",
                "threshold": EXAMPLE_THRESHOLD,
                "rule": "probability >= 0.5",
                "history": {k: [float(x) for x in v] for k, v in history.history.items()},
                "predict": f"tf.data map(TextVectorization), batch {batch_size}, model.predict",
            },
        }
    ]


# ----------------------------------------------------------------------------- report


def score_row(row, y_test, eval_names, train_counts):
    from kmlc.evaluation import evaluate

    y_pred = indicator(row.pop("test_predictions"), eval_names)
    scores = to_eval_space(row.pop("test_scores"), row.pop("names"), eval_names)
    metrics = evaluate(
        y_test.astype(np.int8), y_pred.astype(np.int8), scores,
        label_names=eval_names, train_counts=train_counts,
    )
    row["micro_f1"] = metrics["micro_f1"]
    row["macro_f1"] = metrics["macro_f1"]
    row["metrics"] = metrics
    return row


def markdown_table(rows):
    lines = [
        "| System | micro-F1 | macro-F1 | train s | train time / SVM | pred/s | pred/s / SVM |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['system']} | {100 * r['micro_f1']:.2f} | {100 * r['macro_f1']:.2f} "
            f"| {r['train_seconds']:.1f} | {r['train_seconds_ratio']:.2f}x "
            f"| {r['predictions_per_second']:,.0f} | {r['throughput_ratio']:.2f}x |"
        )
    return "\n".join(lines)


def markdown_section(result):
    m, v, d = result["machine"], result["versions"], result["data"]
    rows = result["systems"]
    command = " ".join(["python", "benchmarks/reuters_tfidf.py", *result["argv"]])
    parts = [
        f"### Reuters-21578 ModApte: TF-IDF systems ({m['date_utc'][:10]})",
        "",
        f"`KERAS_BACKEND={m['backend']} {command}`" + (" — **quick mode: not a result**" if result["quick"] else ""),
        "",
        f"Machine: {m['cpu_model']}, {m['cpus_usable']} usable of {m['cpu_count']} CPUs, "
        f"load average at start {', '.join(f'{x:.2f}' for x in (m['load_average_at_start'] or []))}"
        f", at end {', '.join(f'{x:.2f}' for x in (m.get('load_average_at_end') or []))}; "
        f"{m['platform']}. Backend {m['backend']}; keras {v['keras']}, tensorflow {v['tensorflow']}, "
        f"jax {v['jax']}, torch {v['torch']}, scikit-learn {v['scikit-learn']}, kmlc {v['kmlc']}.",
        "",
        f"Data: fitted on {d['n_train']:,} of the {d['n_train_file']:,} training documents"
        + (f" (of a random {d['n_train_used']:,} in quick mode)" if result["quick"] else "")
        + ", "
        f"validation {d['n_validation']:,} (iterative stratification, {SPLIT_FRACTIONS[0]:.0%}/"
        f"{SPLIT_FRACTIONS[1]:.0%}, split seed {SPLIT_SEED}), test {d['n_test']:,}; F1 over "
        f"{d['n_eval_labels']} labels; model seed {result['seed']}.",
        "",
        markdown_table(rows),
        "",
        "Training seconds: wall clock from raw strings to a classifier (vectoriser adaptation, "
        "label encoding and threshold tuning included). pred/s: test texts per second from raw "
        f"strings to label lists, all {d['n_test']:,} texts in one call, median of "
        f"{result['repeats']} calls after a warm-up. Ratios are against TF-IDF + LinearSVC "
        "(decision > 0) in the same run: below 1x trains faster, above 1x predicts faster.",
        "",
        "Published (Huang et al., EMNLP 2021, a different protocol): "
        + "; ".join(f"{k} {a:.2f} / {b:.2f}" for k, (a, b) in PUBLISHED.items())
        + ".",
    ]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- main


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from kmlc.backend import configure_runtime, select_backend

    select_backend(args.backend or os.environ.get("KERAS_BACKEND") or "jax")
    import keras
    import tensorflow as tf

    # Runtime start-up outside every timed section: TF's thread pools (limited under torch,
    # as kmlc does) and the backend's first operation.
    configure_runtime()
    keras.utils.set_random_seed(args.seed)
    tf.constant(["warm-up"])
    keras.ops.convert_to_numpy(keras.ops.ones((2, 2)) @ keras.ops.ones((2, 2)))
    backend = keras.backend.backend()

    from kmlc.data import read_labeled_texts
    from kmlc.labels import LabelEncoder
    from kmlc.splits import iterative_split

    machine = machine_facts(backend)
    train_path, test_path = args.data_dir / "train.csv", args.data_dir / "test.csv"
    for path in (train_path, test_path):
        if not path.is_file():
            sys.exit(f"error: {path} not found; pass --data-dir (the folder of train.csv and test.csv)")
    train = read_labeled_texts(train_path)
    test = read_labeled_texts(test_path)
    n_train_file = len(train)
    if args.quick:
        rng = np.random.RandomState(args.seed)
        train = train.subset(np.sort(rng.choice(len(train), min(QUICK_TRAIN_DOCS, len(train)), replace=False)))

    # Evaluation labels: those of the training file (most frequent first), then any test
    # label absent from it (never predicted by anyone: a miss for every system).
    encoder = LabelEncoder().fit(train.labels)
    train_names = list(encoder.vocabulary_)
    unseen = sorted({label for row in test.labels for label in row} - set(train_names))
    eval_names = train_names + unseen
    train_counts = np.concatenate([encoder.counts_, np.zeros(len(unseen), dtype=np.int64)])
    y_test = indicator(test.labels, eval_names)

    train_idx, val_idx = iterative_split(
        encoder.transform(train.labels), SPLIT_FRACTIONS, seed=SPLIT_SEED
    )
    split = {
        "train_texts": [train.texts[i] for i in train_idx],
        "train_labels": [train.labels[i] for i in train_idx],
        "val_texts": [train.texts[i] for i in val_idx],
        "val_labels": [train.labels[i] for i in val_idx],
    }
    fit_label_set = {label for row in split["train_labels"] for label in row}
    log(
        f"{backend}; train {len(train_idx)} / validation {len(val_idx)} / test {len(test)} texts; "
        f"{len(eval_names)} evaluation labels ({len(fit_label_set)} in the 80% fitted on"
        f"{', %d test-only' % len(unseen) if unseen else ''})"
        + ("; QUICK MODE" if args.quick else "")
    )
    test_texts = list(test.texts)
    epochs = QUICK_EPOCHS if args.quick else EXAMPLE_EPOCHS

    rows = []
    log("svm: fitting")
    rows += run_svm(split, args.seed, args.repeats, test_texts)
    log("kmlc: fitting")
    rows += run_kmlc(split, args.seed, args.repeats, test_texts, args.quick)
    log("keras-example: fitting")
    rows += run_keras_example(split, args.seed, args.repeats, test_texts, epochs)

    rows = [score_row(r, y_test, eval_names, train_counts) for r in rows]
    base = next(r for r in rows if r["key"] == BASELINE)
    for r in rows:
        r["train_seconds_ratio"] = r["train_seconds"] / base["train_seconds"]
        r["throughput_ratio"] = r["predictions_per_second"] / base["predictions_per_second"]
    machine["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None

    result = {
        "benchmark": "reuters_tfidf",
        "argv": list(sys.argv[1:] if argv is None else argv),
        "quick": args.quick,
        "seed": args.seed,
        "split_seed": SPLIT_SEED,
        "repeats": args.repeats,
        "baseline": BASELINE,
        "machine": machine,
        "versions": package_versions(),
        "data": {
            "train_file": str(train_path),
            "test_file": str(test_path),
            "n_train_file": n_train_file,
            "n_train_used": len(train),
            "n_train": len(train_idx),
            "n_validation": len(val_idx),
            "n_test": len(test),
            "n_eval_labels": len(eval_names),
            "n_labels_in_fit_split": len(fit_label_set),
            "test_only_labels": unseen,
        },
        "systems": rows,
    }
    if args.markdown:
        print(markdown_section(result))
    else:
        print(markdown_table(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
        log(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
