"""The `kmlc` commands: each reads its flags, checks and claims its outputs before any work,
and calls the Python API (`kmlc.runs`, `kmlc.TextClassifier`, `kmlc.load`)."""

import json
import resource
import sys
from pathlib import Path

import yaml

from kmlc import runs
from kmlc.backend import configure_runtime, select_backend
from kmlc.config import DATA_DEFAULTS, merge_config, read_config
from kmlc.data import (
    DEFAULT_LABEL_SEP,
    READERS,
    not_utf8_message,
    read_labeled_texts,
    summarize,
)
from kmlc.errors import KmlcInputError
from kmlc.estimator import load
from kmlc.export import resolve_version
from kmlc.io import atomic_directory, write_json
from kmlc.labels import LabelEncoder
from kmlc.outputs import (
    METRICS_FILE,
    MODEL_DIRECTORY,
    REPORT_DIRECTORY,
    SPLIT_DIRECTORY,
    claim_output,
    claim_outputs,
)
from kmlc.settings import BY_NAME, SETTINGS, cli_defaults
from kmlc.splits import SPLIT_NAMES, coverage_report, iterative_split, text_groups


def say(*args):
    print(*args, flush=True)


def select_runtime(backend):
    """The Keras backend, chosen before Keras is imported, and its runtime settings."""
    select_backend(backend)
    configure_runtime()


def label_columns(values):
    """Repeated --label-column values: one plain name stays a string (the usual case)."""
    if values and len(values) == 1 and ":" not in values[0]:
        return values[0]
    return values


def single_label_column(args):
    column = label_columns(args.label_column)
    if isinstance(column, list):
        raise KmlcInputError(
            f"Expected one --label-column for `kmlc {args.command}`, Received: {column}. Label groups "
            "are read by train, evaluate and tune."
        )
    return column


def read_for(clf, args):
    """evaluate / tune: labelled data read as the model's labels are laid out (a model with
    label groups reads one column per group: their names)."""
    settings = {"text_columns": args.text_columns, "label_sep": args.label_sep,
                "label_column": label_columns(args.label_column), "drop_invalid_rows": clf.drop_invalid_rows}
    return runs.read_table(args.data, settings, clf._label_space())


def metric_line(name, m, baseline=None):
    """A split's figures; with the linear baseline's (`baseline`), each F1 beside the
    baseline's and the difference in points."""

    def f1(key):
        if baseline is None:
            return f"{key.replace('_f1', '')}-F1 {m[key]:.4f}"
        return (f"{key.replace('_f1', '')}-F1 {m[key]:.4f} (linear baseline {baseline[key]:.4f}, "
                f"{100 * (m[key] - baseline[key]):+.1f})")

    return (
        f"  {name:<10} {f1('micro_f1')}  {f1('macro_f1')}  "
        f"P {m['micro_precision']:.4f}  R {m['micro_recall']:.4f}  "
        f"labels predicted {m['n_labels_predicted']}/{m['n_labels']}  (n={m['n_examples']})"
    )


def say_groups(m):
    for name, g in (m.get("group_metrics") or {}).items():
        if g["kind"] == "multiclass":
            say(f"    {name:<14} accuracy {g['accuracy']:.4f}  macro-F1 {g['macro_f1']:.4f}  ({g['n_labels']} classes)")
        else:
            say(f"    {name:<14} micro-F1 {g['micro_f1']:.4f}  macro-F1 {g['macro_f1']:.4f}  "
                f"labels predicted {g['n_labels_predicted']}/{g['n_labels']}")


# ----------------------------------------------------------------------------- train


def cmd_train(args):
    # Every setting with a flag (None: not given); --loss-param is merged into the config below.
    cli = {s.name: getattr(args, s.name) for s in SETTINGS if s.cli_flag and s.name != "loss_params"}
    cli["label_column"] = label_columns(args.label_column)
    target = args.out or args.resume
    if not target:
        raise KmlcInputError("Expected --out DIR (or --resume DIR), Received: neither.")
    # Before any work: the model directory may be written, and no other process writes it.
    with claim_output(target, MODEL_DIRECTORY, flag="--out" if args.out else "--resume", overwrite=args.overwrite):
        config = start_or_resume(args, cli)
        if args.overwrite:
            runs.check_inputs_outside(config, args.out)
        config, stream = runs.prepare(config)
        select_runtime(config.get("backend"))
        clf = runs.train(config, stream, args.out, resumed=bool(args.resume), overwrite=args.overwrite, say=say)
    say_summary(clf, config, Path(args.out))
    return 0


def start_or_resume(args, cli):
    """The config of a new run (defaults, --config, flags), or of the interrupted run that
    --resume names (with only --verbose, --backend or --overwrite beside it)."""
    if not args.resume:
        config = merge_config(CLI_BASE, read_config(args.config) if args.config else {}, cli)
        if args.loss_params:
            config["loss_params"] = {**(config.get("loss_params") or {}), **dict(args.loss_params)}
        work = runs.resume_dir(args.out)
        if (work / "backup" / "kmlc_state.json").is_file():
            raise KmlcInputError(
                f"Expected no interrupted run for '{args.out}', Received: its backup in '{work}'. "
                f"Continue it with `kmlc train --resume {args.out}`, or delete that directory."
            )
        return config
    if args.out and Path(args.out) != Path(args.resume):
        raise KmlcInputError(f"Expected --out to be the --resume directory or absent, Received: '{args.out}'.")
    given = sorted(k for k, v in cli.items() if v is not None and k not in ("verbose", "backend"))
    if given or args.config or args.loss_params:
        flags = [BY_NAME[k].cli_flag for k in given] + (["--config"] if args.config else [])
        raise KmlcInputError(
            "Expected no data or training settings with --resume (they are those of the interrupted "
            f"run), Received: {flags + (['--loss-param'] if args.loss_params else [])}."
        )
    config = runs.saved_run(args.resume)
    if args.verbose is not None:
        config["verbose"] = args.verbose
    args.out = args.resume
    return config


# The command line's defaults where they differ from the API's (Keras' per-epoch lines; the
# baseline comparison).
CLI_BASE = cli_defaults()


def say_summary(clf, config, out):
    baseline = clf.metrics_.get("baseline") or {}
    # Epoch 0: no epoch beat the weights fitted before training (--wide svm), which were kept.
    best = "0 (the fitted SVM path alone)" if clf.best_epoch_ == 0 else clf.best_epoch_
    say(f"best epoch {best} of {len(clf.history_['loss'])}; trained in {clf.train_seconds_:.1f} s"
        + (f" (linear baseline: {baseline['train_seconds']:.1f} s)" if "train_seconds" in baseline else "")
        + f"; {len(clf.labels_)} labels; thresholds: {clf.thresholds_.strategy}")
    if "skipped" in baseline:
        say(f"linear baseline not fitted: {baseline['skipped']}")
    if getattr(clf, "distribution_", None):
        d = clf.distribution_
        say(f"data-parallel ({d['strategy']}) on {len(d['devices'])} device(s): {', '.join(d['devices'])}; "
            f"{d['rows_skipped_per_epoch']} training row(s) skipped per epoch (the last partial batch)")
    for name in ("validation", "test"):
        if name in clf.metrics_:
            say(metric_line(name, clf.metrics_[name], baseline.get(name)))
            say_groups(clf.metrics_[name])
    if "test" in clf.metrics_ and clf.metrics_["test"]["unseen_labels"]:
        say(f"  test labels never seen in training (counted as misses): {sorted(clf.metrics_['test']['unseen_labels'])}")
    if config.get("stream"):
        # ru_maxrss is in KiB on Linux: the most this process held at once.
        say(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    say(f"saved to {out}/" + (f" (reports in {out / 'reports'}/)" if config["report"] else ""))


# ----------------------------------------------------------------------------- a saved model


def cmd_evaluate(args):
    # Both outputs are checked and locked before the model is loaded or anything evaluated.
    with claim_outputs([(args.json, METRICS_FILE, "--json", args.overwrite),
                        (args.report, REPORT_DIRECTORY, "--report", args.overwrite)]):
        select_runtime(args.backend)
        clf = load(args.model)
        data = read_for(clf, args)
        if args.report:
            metrics = clf.report(data.texts, data.labels, args.report, overwrite=args.overwrite,
                                 title=f"{Path(args.model).name} on {Path(args.data).name}")
        else:
            metrics = clf.evaluate(data.texts, data.labels)
        if args.json:
            write_json(args.json, metrics, METRICS_FILE, overwrite=args.overwrite, flag="--json")
    say(metric_line(Path(args.data).name, metrics))
    say_groups(metrics)
    if metrics["unseen_labels"]:
        say(f"  labels never seen in training (counted as misses): {sorted(metrics['unseen_labels'])}")
    return 0


def cmd_tune(args):
    out = Path(args.out or args.model)
    with claim_output(out, MODEL_DIRECTORY, flag="--out" if args.out else "--model", overwrite=args.overwrite):
        select_runtime(args.backend)
        clf = load(args.model)
        data = read_for(clf, args)
        before = clf.evaluate(data.texts, data.labels)
        clf.tune_thresholds(
            data.texts, data.labels, threshold=args.threshold, threshold_metric=args.threshold_metric,
            top_k=args.top_k, at_least_one=args.at_least_one, min_precision=args.min_precision,
        )
        after = clf.evaluate(data.texts, data.labels)
        clf.metrics_ = {**(getattr(clf, "metrics_", None) or {}), "tuning": {"data": str(args.data), **after}}
        config = yaml.safe_load((Path(args.model) / "config.yaml").read_text(encoding="utf-8"))
        clf.save(out, run_config={k: v for k, v in config.items() if k in DATA_DEFAULTS}, overwrite=args.overwrite)
    say(metric_line("before", before))
    say(metric_line("after", after))
    say(f"thresholds ({clf.thresholds_.strategy}) saved to {out}/")
    return 0


def read_predict_input(args):
    texts = list(args.texts)
    if args.input:
        if args.input == "-":
            texts += text_lines(sys.stdin.buffer.read(), "standard input")
        elif Path(args.input).suffix.lower() in READERS:
            data = read_labeled_texts(args.input, text_columns=args.text_columns or ["text"], label_column=None,
                                      require_labels=False)
            texts += data.texts
        else:
            path = Path(args.input)
            if not path.is_file():
                raise KmlcInputError(f"Expected an existing --input file, Received: '{path}'.")
            texts += text_lines(path.read_bytes(), str(path))
    if not texts:
        raise KmlcInputError("Expected texts to classify, Received: none. Give TEXT arguments or --input FILE.")
    return texts


def text_lines(raw, source):
    """The non-blank lines of UTF-8 bytes (a byte-order mark is dropped)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KmlcInputError(not_utf8_message(raw, source)) from None
    return [line for line in text.splitlines() if line.strip()]


def cmd_predict(args):
    select_runtime(args.backend)
    texts = read_predict_input(args)  # before loading: bad input fails in a second
    clf = load(args.model)
    for record in clf.prediction_records(texts):
        say(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_export(args):
    select_runtime(args.backend)
    resolve_version(args.out, args.version, flag="--out")  # a bad --out or --version fails before loading
    target = load(args.model).export(args.out, version=args.version)
    say(f"SavedModel written to {target}/ (signatures: serving_default, metadata)")
    return 0


# ----------------------------------------------------------------------------- a table


def cmd_info(args):
    settings = {"text_columns": args.text_columns, "label_column": single_label_column(args), "label_sep": args.label_sep}
    summary = summarize(runs.read_table(args.data, settings))
    if args.json:
        say(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    counts = summary.pop("label_counts", {})
    for key, value in summary.items():
        say(f"{key:<28} {value:.3f}" if isinstance(value, float) else f"{key:<28} {value}")
    if counts:
        top = ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:10])
        say(f"{'most frequent labels':<28} {top}")
    return 0


def cmd_split(args):
    # The table's defaults for the flags not given.
    fractions = BY_NAME["split"].default if args.split is None else args.split
    seed = BY_NAME["seed"].default if args.seed is None else args.seed
    with claim_output(args.out, SPLIT_DIRECTORY, flag="--out", overwrite=args.overwrite):
        settings = {"text_columns": args.text_columns, "label_column": single_label_column(args),
                    "label_sep": args.label_sep}
        data = runs.read_table(args.data, settings)
        encoder = LabelEncoder().fit(data.labels)
        y = encoder.transform(data.labels)
        parts = iterative_split(y, fractions, seed=seed, groups=text_groups(data.texts))
        names = SPLIT_NAMES[: len(parts)] if len(parts) <= 3 else [f"part{i}" for i in range(len(parts))]
        report = coverage_report(y, parts, encoder.vocabulary_, names)
        sep = DEFAULT_LABEL_SEP if args.label_sep in (None, "auto") else args.label_sep
        clashes = [label for label in encoder.vocabulary_ if sep in label]
        if clashes:
            raise KmlcInputError(
                f"Expected labels without the separator {sep!r}, Received: {clashes[:5]}. Choose another --label-sep."
            )
        with atomic_directory(args.out, SPLIT_DIRECTORY, overwrite=args.overwrite, flag="--out") as tmp:
            for name, idx in zip(names, parts):
                data.subset(idx).to_frame(label_sep=sep).to_csv(tmp / f"{name}.csv", index=False)
            write_json(tmp / "split.json", {"seed": seed, "fractions": fractions, "source": data.source, "splits": report})
    for name, r in report.items():
        say(f"{name}: {r['rows']} rows, {r['labels_with_examples']}/{len(encoder.vocabulary_)} labels -> "
            f"{Path(args.out) / (name + '.csv')}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "tune": cmd_tune,
    "export": cmd_export,
    "info": cmd_info,
    "split": cmd_split,
}
