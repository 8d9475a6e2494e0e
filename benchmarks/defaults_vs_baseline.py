"""kmlc's defaults against the tuned linear baseline, on every shared dataset, as a user runs them.

Each kmlc row is one `kmlc train` process with nothing but the data flags (and `--seed`, and
for the fast row the settings of benchmarks/speed.py), and its linear baseline is the one that
`kmlc train` fits on the same split in the same process (kmlc.baselines: bigram TF-IDF +
one-vs-rest LinearSVC, at scikit-learn's own rule and with one global threshold tuned on the
validation split). So every ratio compares two fits of the same run on the same rows:

* fit seconds: kmlc's `train_seconds` (vocabulary, training, threshold tuning) and the
  baseline's (vectoriser, one-vs-rest fit, threshold tuning), from metrics.json;
* ratio: kmlc's seconds / the baseline's, per run (the median over the seeds is reported).

The data (../shared/data, never copied): a dataset with a test file trains on its training file
with `--test` (SemEval-2018's dev file is its test), the validation split then taken from the
training file by kmlc (20 %, iterative stratification, the run's seed); one without is first
split 60/20/20 by `kmlc split --seed 0`, and trained with `--data/--val/--test`.

Usage:
    KERAS_BACKEND=jax python benchmarks/defaults_vs_baseline.py [--datasets reuters,semeval2014]
        [--seeds 0,1,2] [--no-fast] [--flags "--epochs 5"] [--out runs/defaults_vs_baseline.json]
        [--markdown]

`--flags` adds kmlc train flags to every kmlc row (to try candidate defaults).
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# name: (folder, training file, test file or None: split 60/20/20 with seed 0)
DATASETS = {
    "reuters": ("reuters21578_modapte", "train.csv", "test.csv"),
    "semeval2018": ("semeval2018_ec_en", "train.csv", "dev.csv"),
    "semeval2014": ("semeval2014_restaurants_aspect_categories", "train.csv", "test.csv"),
    "cmc2007": ("cmc2007_medical_icd9", "all.csv", None),
    "arxiv1k": ("arxiv_keras_sample1k", "all.csv", None),
}


def fast_flags():
    """benchmarks/speed.py's FAST_SETTINGS as `kmlc train` flags."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from speed import FAST_SETTINGS

    def value(v):
        return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)

    return [part for name, v in FAST_SETTINGS.items() for part in (f"--{name.replace('_', '-')}", value(v))]


GROUPS = ("head", "medium", "tail")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def kmlc(*args, env=None):
    """Runs `kmlc ARGS` in a child process; its stdout."""
    out = subprocess.run([sys.executable, "-m", "kmlc.cli", *args], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"kmlc {' '.join(args)} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    return out.stdout


def data_flags(name, work, env):
    """The data flags of a dataset (its files split first when it has no test file)."""
    folder, train, test = DATASETS[name]
    root = DATA / folder
    if test is not None:
        return ["--data", str(root / train), "--test", str(root / test)]
    out = work / f"{name}-split"
    if not out.exists():
        kmlc("split", "--data", str(root / train), "--out", str(out), "--seed", "0", env=env)
    return ["--data", str(out / "train.csv"), "--val", str(out / "validation.csv"), "--test", str(out / "test.csv")]


def figures(m):
    return {"micro_f1": m["micro_f1"], "macro_f1": m["macro_f1"],
            **{f"{g}_macro_f1": m["groups"][g]["macro_f1"] if m["groups"][g]["n_labels"] else None for g in GROUPS}}


def run(name, flags, seed, work, env):
    """One `kmlc train`: the model's and its baseline's test figures and fit seconds."""
    out = work / f"{name}-model"
    started = time.perf_counter()
    kmlc("train", *flags, "--out", str(out), "--seed", str(seed), "--no-report", "--verbose", "0", "--overwrite",
         env=env)
    wall = time.perf_counter() - started
    m = json.loads((out / "metrics.json").read_text())
    b = m["baseline"]
    return {
        "seed": seed, "flags": flags, "wall_seconds": round(wall, 2),
        "kmlc": {**figures(m["test"]), "seconds": m["train_seconds"], "best_epoch": m["best_epoch"]},
        "baseline": {**figures(b["test"]), "seconds": b["train_seconds"]},
        "baseline_rule": {k: b["test"]["default_rule"][k] for k in ("micro_f1", "macro_f1")},
        "ratio": m["train_seconds"] / b["train_seconds"],
    }


def summarise(runs, key):
    values = {k: [r[key][k] for r in runs if r[key].get(k) is not None] for k in runs[0][key]}
    return {k: {"mean": statistics.fmean(v), "min": min(v), "max": max(v)} if v else None for k, v in values.items()}


def markdown(results):
    head = ("| data | train rows | system | micro-F1 | macro-F1 | head / medium / tail macro-F1 | fit s | "
            "fit time / baseline's |")
    lines = [head, "|---|--:|---|--:|--:|--:|--:|--:|"]

    def pct(s):
        if s is None:
            return "-"
        if s["min"] == s["max"]:
            return f"{100 * s['mean']:.2f}"
        return f"{100 * s['mean']:.2f} ({100 * s['min']:.2f}-{100 * s['max']:.2f})"

    for name, r in results.items():
        d, b = r["defaults"], r["baseline"]
        rows = [("linear baseline, decision > 0", r["baseline_rule"], None, None),
                ("linear baseline, threshold tuned", b, r["baseline_seconds"], None),
                (f"kmlc defaults ({len(r['runs'])} seed{'s' if len(r['runs']) > 1 else ''})", d, r["kmlc_seconds"], r["ratio"])]
        if r.get("fast"):
            f = r["fast"]
            rows.append(("kmlc fast settings (seed 0)", {k: {"mean": v, "min": v, "max": v} if v is not None else None
                                                          for k, v in f["kmlc"].items()},
                         {"median": f["kmlc"]["seconds"]}, f["ratio"]))
        for system, s, seconds, ratio in rows:
            groups = " / ".join(pct(s.get(f"{g}_macro_f1")) if s.get(f"{g}_macro_f1") else "-" for g in GROUPS)
            lines.append(
                f"| {name} | {r['train_rows']:,} | {system} | {pct(s['micro_f1'])} | {pct(s['macro_f1'])} | {groups} | "
                f"{'-' if seconds is None else format(seconds['median'], '.1f')} | "
                f"{'-' if ratio is None else format(ratio, '.2f') + 'x'} |"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--no-fast", action="store_true", help="skip the fast-settings row")
    parser.add_argument("--flags", default="", help="kmlc train flags added to every kmlc row")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    seeds = [int(s) for s in args.seeds.split(",")]
    extra = shlex.split(args.flags)
    results = {}
    with tempfile.TemporaryDirectory(prefix="kmlc-bench-") as tmp:
        work = Path(tmp)
        for name in args.datasets.split(","):
            flags = data_flags(name, work, env)
            runs = []
            for seed in seeds:
                runs.append(run(name, flags + extra, seed, work, env))
                k, b = runs[-1]["kmlc"], runs[-1]["baseline"]
                log(f"{name} seed {seed}: kmlc {100 * k['micro_f1']:.2f} / {100 * k['macro_f1']:.2f} in "
                    f"{k['seconds']:.1f} s (best epoch {k['best_epoch']}); baseline {100 * b['micro_f1']:.2f} / "
                    f"{100 * b['macro_f1']:.2f} in {b['seconds']:.1f} s; ratio {runs[-1]['ratio']:.2f}")
            fast = None
            if not args.no_fast:
                fast = run(name, flags + fast_flags(), 0, work, env)
                log(f"{name} fast: kmlc {100 * fast['kmlc']['micro_f1']:.2f} / {100 * fast['kmlc']['macro_f1']:.2f} "
                    f"in {fast['kmlc']['seconds']:.1f} s; ratio {fast['ratio']:.2f}")
            train_rows = json.loads((work / f"{name}-model" / "training.json").read_text()).get("n_train")
            results[name] = {
                "train_rows": train_rows or 0,
                "runs": runs, "fast": fast,
                "defaults": summarise(runs, "kmlc"), "baseline": summarise(runs, "baseline"),
                "baseline_rule": summarise(runs, "baseline_rule"),
                "kmlc_seconds": {"median": statistics.median(r["kmlc"]["seconds"] for r in runs)},
                "baseline_seconds": {"median": statistics.median(r["baseline"]["seconds"] for r in runs)},
                "ratio": statistics.median(r["ratio"] for r in runs),
            }
    report = {
        "date": time.strftime("%Y-%m-%d"), "backend": env["KERAS_BACKEND"], "seeds": seeds, "flags": extra,
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}",
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "results": results,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    if args.markdown:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
