"""Short-training settings on Reuters: time to each epoch's end, validation and test F1.

The sweep behind `benchmarks/speed.py`'s FAST_SETTINGS. Each setting trains
`kmlc.TextClassifier(seed=..., verbose=0, **setting)` on the shared split
(benchmarks/reuters_data.py) in a fresh child process, so no compiled step or traced function
carries over from the previous setting. The seconds are from the start of `fit` to the end of
each epoch (a callback), preparation and compilation included. Test micro / macro-F1 come
from `evaluate` on the test set, with the thresholds tuned on the validation split.

Usage:
    KERAS_BACKEND=jax python benchmarks/fast_settings.py [--seed 0] [--out runs/fast_settings.json]
                                                        [--markdown] [--setting '{"epochs": 3}' ...]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BASE = {"batch_size": 256, "patience": 2}
# The settings of the sweep in docs/benchmarks.md ("Speed, 2026-12-02 (third run)"): the
# previous FAST_SETTINGS first, then the lighter dropout / larger input_scale family and the
# hidden layer of 128 (FAST_SETTINGS now: the fifth row).
SETTINGS = [
    {**BASE, "hidden_units": [256], "dropout": 0.5, "input_scale": 5.0, "learning_rate": 1e-2, "epochs": 3},
    {**BASE, "hidden_units": [256], "dropout": 0.1, "input_scale": 8.0, "learning_rate": 1.5e-2, "epochs": 3},
    {**BASE, "hidden_units": [256], "dropout": 0.1, "input_scale": 8.0, "learning_rate": 1.5e-2, "epochs": 2},
    {**BASE, "hidden_units": [128], "dropout": 0.5, "input_scale": 5.0, "learning_rate": 1e-2, "epochs": 3},
    {**BASE, "hidden_units": [128], "dropout": 0.2, "input_scale": 8.0, "learning_rate": 1e-2, "epochs": 5},
    {**BASE, "hidden_units": [128], "dropout": 0.2, "input_scale": 5.0, "learning_rate": 1e-2, "epochs": 5},
    {**BASE, "hidden_units": [128], "dropout": 0.1, "input_scale": 8.0, "learning_rate": 1.5e-2, "epochs": 5},
    {**BASE, "hidden_units": [128], "dropout": 0.2, "input_scale": 8.0, "learning_rate": 1e-2, "epochs": 8},
    {**BASE, "hidden_units": [192], "dropout": 0.2, "input_scale": 8.0, "learning_rate": 1e-2, "epochs": 5},
    {**BASE, "hidden_units": [128], "dropout": 0.2, "input_scale": 8.0, "learning_rate": 1e-2, "epochs": 5,
     "max_tokens": 10000},
]


def run_one(setting, seed):
    """One fit in this process: a result row (a dict)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import keras

    import kmlc
    from reuters_data import load_reuters

    fit, val, test = load_reuters()
    ends = []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append((time.perf_counter() - started, float(logs["val_micro_f1"])))

    clf = kmlc.TextClassifier(seed=seed, verbose=0, **setting)
    started = time.perf_counter()
    clf.fit(fit.texts, fit.labels, validation_data=(val.texts, val.labels), callbacks=[EpochClock()])
    fit_seconds = time.perf_counter() - started
    metrics = clf.evaluate(test.texts, test.labels)
    return {
        "setting": setting,
        "best_epoch": clf.best_epoch_,
        "best_epoch_seconds": ends[clf.best_epoch_ - 1][0],
        "fit_seconds": fit_seconds,
        "epoch_end_seconds": [round(s, 3) for s, _ in ends],
        "val_micro_f1": [round(f, 4) for _, f in ends],
        "test_micro_f1": metrics["micro_f1"],
        "test_macro_f1": metrics["macro_f1"],
    }


def markdown(rows):
    lines = [
        "| hidden | dropout | input_scale | max_tokens | batch | Adam lr | epochs | best epoch | seconds to best epoch "
        "| val micro-F1 per epoch | test micro / macro |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for r in rows:
        s = r["setting"]
        curve = " / ".join(f"{100 * f:.1f}" for f in r["val_micro_f1"])
        lines.append(
            f"| {', '.join(map(str, s['hidden_units']))} | {s.get('dropout', 0.5):g} | {s.get('input_scale', 1.0):g} "
            f"| {s.get('max_tokens', 20000):,} | {s['batch_size']} | {s['learning_rate']:g} | {s['epochs']} "
            f"| {r['best_epoch']} | {r['best_epoch_seconds']:.1f} | {curve} "
            f"| {100 * r['test_micro_f1']:.2f} / {100 * r['test_macro_f1']:.2f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--setting", action="append", type=json.loads, metavar="JSON",
                        help="a setting to run instead of the built-in sweep (repeatable)")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--one", type=json.loads, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.one is not None:
        print("RESULT " + json.dumps(run_one(args.one, args.seed)))
        return 0
    rows = []
    for setting in args.setting or SETTINGS:
        out = subprocess.run(
            [sys.executable, __file__, "--seed", str(args.seed), "--one", json.dumps(setting)],
            capture_output=True, text=True, check=False,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            print(out.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"the setting {setting} failed (exit {out.returncode})")
        rows.append(json.loads(lines[-1][len("RESULT "):]))
        r = rows[-1]
        print(f"[{time.strftime('%H:%M:%S')}] {setting}: best epoch {r['best_epoch']} at "
              f"{r['best_epoch_seconds']:.1f} s, test micro-F1 {100 * r['test_micro_f1']:.2f}", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"seed": args.seed, "rows": rows}, indent=2))
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
