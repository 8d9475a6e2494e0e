#!/usr/bin/env python3
"""Scaling of `kmlc train --stream` in rows and labels (issue 9): training time and peak memory.

Generated long-tailed corpora (`kmlc.datasets.synthetic.make_long_tail`: Zipf-distributed
labels, 0-3 labels a row, `--words` words a row) of N + `--val-rows` rows are written as CSV
under `--data-dir` (git-ignored `runs/`; reused when they exist with the same settings): the
first N rows are the training file, the last `--val-rows` (5,000) the `--val` file of that
configuration, so every run validates (and tunes its threshold) on the same number of rows.
Each configuration runs `kmlc train` in a fresh child process, one at a time, with its
defaults except `--epochs 1`, `--patience 1`, `--batch-size 256` (`--batch-size`: at the default
32 the optimiser's update of the whole first kernel at every step makes 1M rows take an hour
here) and `--no-report`, and this script records:

* wall s: the child's wall clock, from start (imports included) to exit, and rows/s (file rows
  over wall s);
* count s: the counting pass of `--stream` (labels, TF-IDF vocabulary, held-out rows), and
  train s: `clf.train_seconds_` (counting pass, network build and the epochs);
* peak RSS: the child's `ru_maxrss` (from `os.wait4`: that child alone).

Configurations: `--rows` (default 100k, 300k, 1M) at `--base-labels` labels (1,000), and
`--labels` (100, 1,000, 10,000) at `--base-rows` rows (100k), all with `--stream`; the in-memory
path (no `--stream`) at `--memory-rows` (100k, 300k) for comparison; `--holdout-rows` (100k)
with `--stream` and its default validation instead of `--val` (the held-out 20% of the rows,
capped at 20,000); and a baseline child that only imports kmlc, Keras and TensorFlow.

    KERAS_BACKEND=jax python benchmarks/scaling.py [--markdown] [--out runs/scaling.json] [--quick]
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_corpus(path, rows, labels, words, seed, val_rows):
    """(training CSV, validation CSV) of one generated corpus (labels joined by '|'): its first
    `rows` rows and its last `val_rows`; reused when they exist with these settings."""
    meta = path.with_suffix(".json")
    val_path = path.with_name(path.stem + "_val.csv")
    settings = {"rows": rows, "labels": labels, "words": words, "seed": seed, "val_rows": val_rows}
    if path.is_file() and val_path.is_file() and meta.is_file() and json.loads(meta.read_text()) == settings:
        return path, val_path
    from kmlc.datasets.synthetic import make_long_tail

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frame = make_long_tail(n_rows=rows + val_rows, n_labels=labels, seed=seed, words_per_row=words)
    frame["labels"] = ["|".join(row) for row in frame["labels"]]
    frame.iloc[:rows].to_csv(path, index=False)
    frame.iloc[rows:].to_csv(val_path, index=False)
    meta.write_text(json.dumps(settings))
    log(f"wrote {path} ({rows} + {val_rows} rows, {labels} labels) in {time.perf_counter() - started:.0f} s")
    return path, val_path


def run_child(command, env):
    """(wall seconds, peak RSS MiB, exit status, output) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024.0, child.returncode, output


def parse(output):
    found = {}
    patterns = {
        "count_s": r"streamed .*? chunk\(s\) \(([\d.]+) s\)",
        "train_s": r"trained in ([\d.]+) s",
        "val_micro_f1": r"validation micro-F1 ([\d.]+)",
        "val_macro_f1": r"validation micro-F1 [\d.]+  macro-F1 ([\d.]+)",
        "validation_rows": r"validating on (\d+)",
        "train_rows": r"training (?:tfidf )?on (\d+)",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, output)
        if match:
            found[key] = float(match.group(1))
    return found


def markdown(result):
    lines = [
        "| configuration | rows | labels | mode | validation rows | wall s | rows/s | count s | train s | peak RSS MiB | val micro-F1 |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["runs"]:
        if r["status"] != 0:
            lines.append(f"| {r['name']} | {r['rows']:,} | {r['labels']:,} | {r['mode']} | | failed (exit {r['status']}) | | | | {r['peak_rss_mib']:.0f} | |")
            continue
        count = f"{r['count_s']:.1f}" if "count_s" in r else "-"
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {r['labels']:,} | {r['mode']} | {r.get('validation_rows', 0):,.0f} | "
            f"{r['wall_s']:.0f} | {r['rows'] / r['wall_s']:,.0f} | "
            f"{count} | {r.get('train_s', float('nan')):.0f} | {r['peak_rss_mib']:,.0f} | {r.get('val_micro_f1', float('nan')):.4f} |"
        )
    base = result["baseline"]
    lines += ["", f"Baseline (a child that imports kmlc, Keras and TensorFlow, nothing else): peak RSS {base['peak_rss_mib']:.0f} MiB, {base['wall_s']:.1f} s."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="100000,300000,1000000", help="row counts at --base-labels")
    parser.add_argument("--labels", default="100,1000,10000", help="label counts at --base-rows")
    parser.add_argument("--base-rows", type=int, default=100_000)
    parser.add_argument("--base-labels", type=int, default=1_000)
    parser.add_argument("--memory-rows", default="100000,300000", help="in-memory runs (no --stream) for comparison")
    parser.add_argument("--holdout-rows", default="100000", help="--stream runs with the default held-out validation")
    parser.add_argument("--val-rows", type=int, default=5_000, help="rows of the --val file of each configuration")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--words", type=int, default=20, help="words a generated row")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="data and model seed")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"))
    parser.add_argument("--data-dir", default="runs/scaling", help="generated files and models (git-ignored)")
    parser.add_argument("--extra", default="", help="extra `kmlc train` flags for every run, e.g. '--hidden-units 256'")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown table (else JSON)")
    parser.add_argument("--out", help="write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.labels, args.memory_rows, args.holdout_rows = "2000,6000", "10,100", "2000", "2000"
        args.base_rows, args.base_labels, args.val_rows = 2000, 100, 500

    def ints(text):
        return [int(v) for v in text.split(",") if v.strip()]

    data_dir = (ROOT / args.data_dir).resolve()
    configs = [("rows", n, args.base_labels, "stream") for n in ints(args.rows)]
    configs += [("labels", args.base_rows, n, "stream") for n in ints(args.labels) if n != args.base_labels or args.base_rows not in ints(args.rows)]
    configs += [("memory", n, args.base_labels, "in-memory") for n in ints(args.memory_rows)]
    configs += [("held-out", n, args.base_labels, "stream") for n in ints(args.holdout_rows)]
    env = {**os.environ, "KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "2"}

    baseline_code = "import kmlc, keras, tensorflow; keras.ops.ones(1)"
    wall, rss, status, _ = run_child([sys.executable, "-c", baseline_code], env)
    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "args": vars(args),
        "baseline": {"wall_s": wall, "peak_rss_mib": rss, "status": status},
        "runs": [],
    }
    log(f"baseline: {rss:.0f} MiB, {wall:.1f} s")
    for kind, rows, labels, mode in configs:
        data, val = write_corpus(data_dir / f"long_tail_{rows}_{labels}.csv", rows, labels, args.words, args.seed,
                                 args.val_rows)
        name = f"{kind}: {rows // 1000}k rows, {labels} labels"
        out = data_dir / "models" / f"{kind}_{rows}_{labels}"
        command = [sys.executable, "-m", "kmlc.cli", "train", "--data", str(data), "--out", str(out),
                   "--epochs", str(args.epochs), "--patience", "1", "--batch-size", str(args.batch_size),
                   "--no-report", "--verbose", "0", "--seed", str(args.seed), "--backend", args.backend,
                   *args.extra.split()]
        command += ["--stream"] if mode == "stream" else []
        command += [] if kind == "held-out" else ["--val", str(val)]
        log(f"{name} ({mode}) ...")
        wall, rss, status, output = run_child(command, env)
        run = {"name": name, "kind": kind, "rows": rows, "labels": labels, "mode": mode, "wall_s": wall,
               "peak_rss_mib": rss, "status": status, "command": command, **parse(output)}
        if status != 0:
            run["output_tail"] = output[-3000:]
        result["runs"].append(run)
        log(f"  {wall:.0f} s, peak RSS {rss:.0f} MiB, exit {status}" + (f"\n{output[-2000:]}" if status else ""))
        if args.out:  # after every run: a long benchmark keeps what it measured
            Path(args.out).write_text(json.dumps(result, indent=2, default=float))
    table = markdown(result)
    print(table if args.markdown else json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
