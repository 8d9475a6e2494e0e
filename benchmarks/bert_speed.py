"""Seconds per MiniLM fine-tuning step and examples per second, on each Keras backend.

Each backend runs in its own process (a Keras backend is fixed at import): the same
kmlc network (all-MiniLM-L6-v2 + mean pooling + a 11-label head), optimiser (AdamW,
warm-up + decay, clipping) and DB loss, on one fixed batch of real tweets, tokenised once.
Reported: the median over the timed steps of a training step, and of a prediction batch.

    python benchmarks/bert_speed.py --backends jax tensorflow torch --sequence-length 64

Ratios are against the first backend listed, measured in the same run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2018_ec_en" / "train.csv"


def worker(args):
    import keras
    import numpy as np

    from kmlc.backend import configure_runtime
    from kmlc.data import read_labeled_texts
    from kmlc.labels import LabelEncoder
    from kmlc.losses import get_loss
    from kmlc.models.bert import BertMultiLabel, bert_optimizer
    from kmlc.preprocessing.bert import BertPreprocessor
    from kmlc.presets import default_bert_preset, load_bert_backbone

    configure_runtime()
    keras.utils.set_random_seed(0)
    data = read_labeled_texts(args.data)
    texts, label_lists = list(data.texts[: args.batch_size]), list(data.labels[: args.batch_size])
    encoder = LabelEncoder().fit(data.labels)
    y = encoder.transform(label_lists)
    preset = default_bert_preset()
    features = BertPreprocessor(preset, sequence_length=args.sequence_length)(texts)
    model = BertMultiLabel(load_bert_backbone(preset), y.shape[1], pooling="mean", seed=0)
    model.compile(
        optimizer=bert_optimizer(5e-5, total_steps=1000),
        loss=get_loss("db", class_counts=encoder.counts_.tolist(), num_samples=len(data.labels)),
    )

    def timed(fn, n):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return times

    timed(lambda: model.train_on_batch(features, y), args.warmup)  # compiles
    train = timed(lambda: model.train_on_batch(features, y), args.steps)
    timed(lambda: model.predict_on_batch(features), args.warmup)
    predict = timed(lambda: model.predict_on_batch(features), args.steps)
    step = statistics.median(train)
    infer = statistics.median(predict)
    print(json.dumps({
        "backend": keras.backend.backend(),
        "train_seconds_per_step": step,
        "train_examples_per_second": args.batch_size / step,
        "predict_examples_per_second": args.batch_size / infer,
        "steps_timed": args.steps,
        "loss_finite": bool(np.isfinite(model.evaluate(features, y, verbose=0))),
    }))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow", "torch"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    results = []
    for backend in args.backends:
        command = [sys.executable, __file__, "--worker", "--data", str(args.data),
                   "--sequence-length", str(args.sequence_length), "--batch-size", str(args.batch_size),
                   "--steps", str(args.steps), "--warmup", str(args.warmup)]
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)

    base = results[0]["train_seconds_per_step"]
    print(f"\nMiniLM-L6 fine-tuning, batch {args.batch_size}, sequence {args.sequence_length}, "
          f"median of {args.steps} steps\n")
    print("| backend | s / training step | training examples / s | prediction examples / s | step time vs "
          f"{results[0]['backend']} |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['backend']} | {r['train_seconds_per_step']:.2f} | {r['train_examples_per_second']:.1f} | "
              f"{r['predict_examples_per_second']:.1f} | {r['train_seconds_per_step'] / base:.2f}x |")


if __name__ == "__main__":
    main()
