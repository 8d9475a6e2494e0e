"""The `kmlc` command line: train, evaluate, predict, tune, export, info, split.

The backend is chosen (from --backend or KERAS_BACKEND) before Keras is imported, so every
heavy import happens inside the command functions.
"""

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError
from kmlc.settings import BY_NAME, SETTINGS, default_text

DEFAULT_LABEL_SEP = BY_NAME["label_sep"].default
from kmlc.outputs import (
    METRICS_FILE, MODEL_DIRECTORY, REPORT_DIRECTORY, RESUME_DIRECTORY, SPLIT_DIRECTORY, claim_output, claim_outputs,
    remove_output,
)

DEMO_DATA = "demo:support_tickets"
# The flags of `kmlc train` in groups, in this order (every setting with a flag is in one).
TRAIN_SECTIONS = (
    ("model", "model"), ("tfidf", "TF-IDF (--model tfidf)"), ("bert", "BERT (--model bert)"),
    ("training", "training (a default per family)"), ("loss", "loss"),
    ("thresholds", "thresholds and reports"), ("groups", "label groups (--label-column NAME:KIND, repeated)"),
    ("data", "data"), ("stream", "data larger than memory (--stream)"), ("run", "run"),
)
# Where the command line's default differs from the API's.
CLI_DEFAULTS = {"verbose": 2, "distribute": "none"}


# ----------------------------------------------------------------------------- parsing helpers


def _comma_ints(text):
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated integers (e.g. 512,256), Received: {text!r}"
        ) from None


def _comma_floats(text):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"Expected comma-separated numbers (e.g. 0.6,0.2,0.2), Received: {text!r}"
        ) from None


def _key_value(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"Expected key=value (e.g. gamma=2), Received: {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _add_setting(parser, name, help=None):
    """The flag of setting `name` (`kmlc.settings`): its type, choices and help from the table;
    `help` replaces the table's help (another command's meaning of the same flag)."""
    setting = BY_NAME[name]
    kwargs = {"dest": name, "metavar": setting.metavar}
    kind = setting.kind
    if kind == "bool":
        kwargs = {"dest": name, "default": None,
                  "action": "store_true" if name == "stream" else argparse.BooleanOptionalAction}
    elif kind in ("int", "float"):
        kwargs["type"] = int if kind == "int" else float
    elif kind in ("choice", "distribute") and not callable(setting.choices):
        kwargs = {"dest": name, "choices": setting.allowed_choices()}
    elif kind == "choice" and name == "model":
        kwargs = {"dest": name, "choices": setting.allowed_choices()}
    elif kind == "int_list":
        kwargs["type"] = _comma_ints
    elif kind == "float_list":
        kwargs["type"] = _comma_floats
    elif kind == "mapping":
        kwargs.update(action="append", type=_key_value)
    elif kind == "columns":
        kwargs["action"] = "append"
    elif kind == "verbose":
        kwargs = {"dest": name, "type": int, "choices": setting.allowed_choices()}
    if help is None:
        default = CLI_DEFAULTS.get(name, default_text(setting))
        help = setting.help + (f". Default: {default}" if default is not None else "")
    parser.add_argument(setting.cli_flag, help=help, **kwargs)


def _add_data_columns(parser, labels=True):
    _add_setting(parser, "text_columns")
    if labels:
        _add_setting(parser, "label_column")
        _add_setting(parser, "label_sep")


def _add_overwrite(parser, what):
    parser.add_argument(
        "--overwrite", action="store_true",
        help=f"replace {what} even when it holds files that kmlc did not write (kept as a backup until the "
             "new one is complete). Without it, kmlc replaces only its own output and refuses anything else",
    )


def _add_backend(parser):
    _add_setting(parser, "backend")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kmlc",
        description="Multi-label text classification on Keras 3.",
    )
    from kmlc import __version__

    parser.add_argument("--version", action="version", version=f"kmlc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser("train", help="train, tune thresholds, evaluate and save a model")
    for name in ("data", "val", "test", "text_columns", "label_column", "label_sep"):
        _add_setting(train, name)
    train.add_argument("--config", metavar="FILE.yaml", help="settings file; flags override it")
    train.add_argument("--out", metavar="DIR", help="model directory to write (required unless --resume)")
    train.add_argument(
        "--resume", metavar="DIR",
        help="continue the interrupted `kmlc train --out DIR` from its last completed epoch, with its "
        "data and settings (under jax and torch it ends exactly as the uninterrupted run would have)",
    )
    _add_overwrite(train, "--out")
    placed = {"data", "val", "test", "text_columns", "label_column", "label_sep"}
    for section, title in TRAIN_SECTIONS:
        group = train.add_argument_group(title)
        for setting in SETTINGS:
            if setting.section == section and setting.cli_flag and setting.name not in placed:
                _add_setting(group, setting.name)

    evaluate = commands.add_parser("evaluate", help="evaluate a model directory on labelled data")
    evaluate.add_argument("--model", required=True, metavar="DIR", help="model directory")
    evaluate.add_argument("--data", required=True, metavar="PATH", help="labelled table")
    _add_data_columns(evaluate)
    evaluate.add_argument("--json", metavar="FILE", help="write the metrics as JSON")
    evaluate.add_argument(
        "--report", metavar="DIR",
        help="write report.html, report.md, metrics.json, per_label.csv and PNG plots here",
    )
    _add_overwrite(evaluate, "the --json file and the --report directory")
    _add_backend(evaluate)

    predict = commands.add_parser("predict", help="predict labels; one JSON object per line")
    predict.add_argument("--model", required=True, metavar="DIR", help="model directory")
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    predict.add_argument(
        "--input", metavar="FILE",
        help="a table (.csv/.tsv/.jsonl/.parquet, text column) or a text file with one text per line; - for stdin",
    )
    predict.add_argument("--text-column", dest="text_columns", action="append", metavar="NAME", help="text column of --input. Default: text")
    _add_backend(predict)

    tune = commands.add_parser("tune", help="re-tune a saved model's thresholds on labelled data")
    tune.add_argument("--model", required=True, metavar="DIR", help="model directory")
    tune.add_argument("--data", required=True, metavar="PATH", help="labelled table (validation data, not test data)")
    _add_data_columns(tune)
    for name in ("threshold", "threshold_metric", "top_k", "min_precision", "at_least_one"):
        _add_setting(tune, name, help=f"{BY_NAME[name].help}. Default: the model's")
    tune.add_argument("--out", metavar="DIR", help="write the re-tuned model here (default: in place)")
    _add_overwrite(tune, "--out")
    _add_backend(tune)

    export = commands.add_parser(
        "export", help="write a TensorFlow SavedModel for TensorFlow Serving (raw strings in, labels out)"
    )
    export.add_argument("--model", required=True, metavar="DIR", help="model directory")
    export.add_argument(
        "--out", required=True, metavar="DIR",
        help="base directory of the served model (e.g. saved_models/NAME); the SavedModel goes to DIR/<version>/",
    )
    export.add_argument("--version", type=int, metavar="N", help="version number. Default: 1, or the next free number")
    _add_backend(export)

    info = commands.add_parser("info", help="summarise a labelled dataset")
    info.add_argument("--data", metavar="PATH", help="table (default: the bundled demo data)")
    _add_data_columns(info)
    info.add_argument("--json", action="store_true", help="print JSON instead of text")

    split = commands.add_parser("split", help="write train/validation/test files by iterative stratification")
    split.add_argument("--data", metavar="PATH", help="table (default: the bundled demo data)")
    _add_data_columns(split)
    split.add_argument("--out", required=True, metavar="DIR", help="directory for train.csv, validation.csv, test.csv")
    _add_setting(split, "split")
    _add_setting(split, "seed")
    _add_overwrite(split, "--out")
    return parser


# ----------------------------------------------------------------------------- data


def _read(path, settings, space=None, dedupe=None, min_count=None):
    """A labelled table read for the label layout `space` (default: one label set)."""
    from kmlc.label_space import FlatLabels

    if path in (None, DEMO_DATA):
        from kmlc.datasets import load_support_tickets

        source = load_support_tickets()
        text_columns, label_column, label_sep = ["text"], "labels", DEFAULT_LABEL_SEP
    else:
        source = path
        text_columns = settings.get("text_columns") or ["text"]
        label_column = settings.get("label_column") or "labels"
        label_sep = _label_sep(settings)
    data = (space or FlatLabels()).read_table(
        source, text_columns=text_columns, label_column=label_column, label_sep=label_sep,
        drop_invalid_rows=bool(settings.get("drop_invalid_rows")), drop_duplicates=bool(dedupe), min_label_count=min_count,
    )
    if path in (None, DEMO_DATA):
        data.source = DEMO_DATA
    return data


def _label_sep(settings):
    """The separator given (an empty one is refused by the reader), or the default."""
    return DEFAULT_LABEL_SEP if settings.get("label_sep") is None else settings["label_sep"]


def _label_columns(values):
    """Repeated --label-column values: one plain name stays a string (the usual case)."""
    if values and len(values) == 1 and ":" not in values[0]:
        return values[0]
    return values


def _single_label_column(args):
    column = _label_columns(args.label_column)
    if isinstance(column, list):
        raise KmlcInputError(
            f"Expected one --label-column for `kmlc {args.command}`, Received: {column}. Label groups "
            "are read by train, evaluate and tune."
        )
    return column


def _read_for(clf, args):
    """evaluate / tune: labelled data read as the model's labels are laid out (a model with
    label groups reads one column per group: their names)."""
    settings = {"text_columns": args.text_columns, "label_sep": args.label_sep,
                "label_column": _label_columns(args.label_column), "drop_invalid_rows": clf.drop_invalid_rows}
    return _read(args.data, settings, clf._label_space())


def _print_group_lines(m):
    for name, g in (m.get("group_metrics") or {}).items():
        if g["kind"] == "multiclass":
            _print(f"    {name:<14} accuracy {g['accuracy']:.4f}  macro-F1 {g['macro_f1']:.4f}  ({g['n_labels']} classes)")
        else:
            _print(f"    {name:<14} micro-F1 {g['micro_f1']:.4f}  macro-F1 {g['macro_f1']:.4f}  "
                   f"labels predicted {g['n_labels_predicted']}/{g['n_labels']}")


def _warn_overlap(metrics, name, source):
    """Texts of an evaluation split that the model was trained on (files given by the user that
    overlap: kmlc's own splits keep copies together) make its metrics too good."""
    k = metrics.get("texts_in_training")
    if k:
        warnings.warn(
            f"{k} of the {metrics['n_examples']} {name} texts ({source}) also occur word for word in the "
            f"training data: the {name} metrics overstate how the model does on new text. Remove them "
            "from one of the files (or split one file with `kmlc split`)",
            KmlcDataWarning,
            stacklevel=2,
        )


def _print(*args):
    print(*args, flush=True)


def _metric_line(name, m):
    return (
        f"  {name:<10} micro-F1 {m['micro_f1']:.4f}  macro-F1 {m['macro_f1']:.4f}  "
        f"P {m['micro_precision']:.4f}  R {m['micro_recall']:.4f}  "
        f"labels predicted {m['n_labels_predicted']}/{m['n_labels']}  (n={m['n_examples']})"
    )


# ----------------------------------------------------------------------------- commands


def cmd_train(args):
    # Every setting with a flag (None: not given); --loss-param is merged into the config below.
    cli = {s.name: getattr(args, s.name) for s in SETTINGS if s.cli_flag and s.name != "loss_params"}
    cli["label_column"] = _label_columns(args.label_column)
    target = args.out or args.resume
    if not target:
        raise KmlcInputError("Expected --out DIR (or --resume DIR), Received: neither.")
    # Before any work: the model directory may be written, and no other process writes it.
    with claim_output(target, MODEL_DIRECTORY, flag="--out" if args.out else "--resume", overwrite=args.overwrite):
        return _train(args, cli)


def _train(args, cli):
    from kmlc.config import check_data_settings, merge_config, read_config, resolve_label_groups, split_config

    file_config = read_config(args.config) if args.config else {}
    config = merge_config({"verbose": 2}, file_config, cli)
    if args.loss_params:
        config["loss_params"] = {**(config.get("loss_params") or {}), **dict(args.loss_params)}
    config, work = _start_or_resume(args, cli, config)
    _check_inputs_outside(config, args.out, args.overwrite)

    config = resolve_label_groups(check_data_settings(config))
    if config.get("label_groups") and config["data"] in (None, DEMO_DATA):
        raise KmlcInputError(
            "Expected --data with the label group columns, Received: the bundled support tickets, "
            "which have one label column. (kmlc.datasets.write_survey writes a three-group demo table.)"
        )
    from kmlc.streaming import open_config_stream

    stream = open_config_stream(config, DEMO_DATA)  # None without --stream; a bad combination fails here
    _select_backend(config.get("backend"))

    import keras

    from kmlc.estimator import TextClassifier
    from kmlc.splits import SPLIT_NAMES, coverage_report, iterative_split, text_groups

    data_settings, params = split_config(config)
    config["backend"] = keras.backend.backend()
    clf = TextClassifier(**params)
    clf._validate_params()  # before reading data: a bad setting fails in a second, not after
    out = Path(args.out)
    if stream is not None:
        val, test = _fit_streamed(args, config, clf, data_settings, stream, work)
        return _finish_train(args, clf, config, data_settings, out, work, val, test)

    space = clf._label_space()
    read_settings = {**data_settings, "drop_invalid_rows": clf.drop_invalid_rows}
    full = _read(config["data"], read_settings, space, dedupe=config["drop_duplicates"], min_count=config["min_label_count"])
    config["data"] = config["data"] or DEMO_DATA
    val = _read(config["val"], read_settings, space) if config["val"] else None
    test = _read(config["test"], read_settings, space) if config["test"] else None
    # full.notes (duplicates, dropped rows or labels) were each shown already, as a "warning:" line.

    if val is None:
        # Split what is missing from --data by iterative stratification.
        fractions = list(config["split"])
        if test is not None and len(fractions) == 3:
            # A test file is given: the test share of --split goes back to training.
            fractions = [fractions[0] + fractions[2], fractions[1]]
        encoder = space.encoder().fit(full.labels)
        y = encoder.transform(full.labels)
        parts = iterative_split(y, fractions, seed=config["seed"], groups=text_groups(full.texts))
        train, val = full.subset(parts[0]), full.subset(parts[1])
        if test is None and len(parts) > 2:
            test = full.subset(parts[2])
        report = coverage_report(y, parts, encoder.vocabulary_, SPLIT_NAMES[: len(parts)])
        for name, r in report.items():
            _print(f"split {name}: {r['rows']} rows, {r['labels_with_examples']}/{len(encoder.vocabulary_)} labels with an example")
    else:
        train = full
    _print(
        f"training {config['model']} on {len(train)} rows ({train.source}), validating on {len(val)}"
        + (f", testing on {len(test)}" if test is not None else "")
        + f"; backend {keras.backend.backend()}"
    )
    if not args.resume:
        _save_run_state(work, config)
    clf.fit(train.texts, train.labels, validation_data=(val.texts, val.labels), backup_dir=work / "backup")
    return _finish_train(args, clf, config, data_settings, out, work, val, test)


def _fit_streamed(args, config, clf, data_settings, stream, work):
    """`kmlc train --stream`: fits from the stream; returns (validation, test) data in memory."""
    import keras

    from kmlc.data import LabeledTexts
    from kmlc.streaming import DEFAULT_SHUFFLE_ROWS, DEFAULT_VALIDATION_ROWS

    space = clf._label_space()
    read_settings = {**data_settings, "drop_invalid_rows": clf.drop_invalid_rows}
    val = _read(config["val"], read_settings, space) if config["val"] else None
    test = _read(config["test"], read_settings, space) if config["test"] else None
    if val is None:
        # The --split validation share is held out from the stream; a test share is not taken.
        clf.set_params(validation_fraction=float(config["split"][1]))
        clf._validate_params()
    if not args.resume:
        _save_run_state(work, config)
    clf.fit_stream(
        stream,
        validation_data=(val.texts, val.labels) if val is not None else None,
        sample_rows=config.get("stream_sample_rows"),
        validation_rows=config.get("stream_validation_rows") or DEFAULT_VALIDATION_ROWS,
        shuffle_rows=config.get("stream_shuffle_rows") or DEFAULT_SHUFFLE_ROWS,
        min_label_count=config.get("min_label_count"),
        backup_dir=work / "backup",
        progress=lambda line: _print(
            line + (f"; testing on {len(test)}" if test is not None else "; no test data (give --test)")
            + f"; backend {keras.backend.backend()}"
        ),
    )
    if val is None:
        texts, labels = clf.stream_validation_
        val = LabeledTexts(texts=texts, labels=labels, source=f"{stream.source} (held out)")
    clf.metrics_["stream"] = dict(clf.stream_info_)
    return val, test


def _finish_train(args, clf, config, data_settings, out, work, val, test):
    """What `kmlc train` does after fitting: test metrics, save, reports, summary."""
    if clf.resumed_from_epoch_:
        _print(f"resumed after epoch {clf.resumed_from_epoch_} from the backup in {work}/")
    if test is not None:
        clf.metrics_["test"] = clf.evaluate(test.texts, test.labels)
    for name, data in (("validation", val), ("test", test)):
        if data is not None:
            _warn_overlap(clf.metrics_[name], name, data.source)
    clf.metrics_["train_seconds"] = round(clf.train_seconds_, 2)
    clf.metrics_["best_epoch"] = clf.best_epoch_
    clf.save(out, run_config={k: v for k, v in config.items() if k in data_settings or k == "backend"},
             overwrite=args.overwrite)
    if config["report"]:
        clf.report(val.texts, val.labels, out / "reports" / "validation", title=f"{out.name}: validation split")
        if test is not None:
            clf.report(test.texts, test.labels, out / "reports" / "test", title=f"{out.name}: test split")

    _print(f"best epoch {clf.best_epoch_} of {len(clf.history_['loss'])}; trained in {clf.train_seconds_:.1f} s; "
           f"{len(clf.labels_)} labels; thresholds: {clf.thresholds_.strategy}")
    if getattr(clf, "distribution_", None):
        d = clf.distribution_
        _print(f"data-parallel ({d['strategy']}) on {len(d['devices'])} device(s): {', '.join(d['devices'])}; "
               f"{d['rows_skipped_per_epoch']} training row(s) skipped per epoch (the last partial batch)")
    _print(_metric_line("validation", clf.metrics_["validation"]))
    _print_group_lines(clf.metrics_["validation"])
    if test is not None:
        _print(_metric_line("test", clf.metrics_["test"]))
        _print_group_lines(clf.metrics_["test"])
        if clf.metrics_["test"]["unseen_labels"]:
            _print(f"  test labels never seen in training (counted as misses): {sorted(clf.metrics_['test']['unseen_labels'])}")
    remove_output(work, RESUME_DIRECTORY)  # the run is complete: nothing left to resume
    if config.get("stream"):
        import resource

        # ru_maxrss is in KiB on Linux: the most this process held at once.
        _print(f"peak memory (RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    _print(f"saved to {out}/" + (f" (reports in {out / 'reports'}/)" if config["report"] else ""))
    return 0


def resume_dir(out):
    """Where `kmlc train --out DIR` keeps what `--resume DIR` needs: beside DIR, hidden."""
    out = Path(out)
    return out.parent / f".{out.name}.resume"


def _start_or_resume(args, cli, config):
    """(config, working directory) of a new run, or of the interrupted run `--resume` names."""
    import yaml

    if not args.resume:
        if not args.out:
            raise KmlcInputError("Expected --out DIR (or --resume DIR), Received: neither.")
        work = resume_dir(args.out)
        if (work / "backup" / "kmlc_state.json").is_file():
            raise KmlcInputError(
                f"Expected no interrupted run for '{args.out}', Received: its backup in '{work}'. "
                f"Continue it with `kmlc train --resume {args.out}`, or delete that directory."
            )
        return config, work
    if args.out and Path(args.out) != Path(args.resume):
        raise KmlcInputError(f"Expected --out to be the --resume directory or absent, Received: '{args.out}'.")
    given = sorted(k for k, v in cli.items() if v is not None and k not in ("verbose", "backend"))
    if given or args.config or args.loss_params:
        flags = [BY_NAME[k].cli_flag for k in given] + (["--config"] if args.config else [])
        raise KmlcInputError(
            "Expected no data or training settings with --resume (they are those of the interrupted "
            f"run), Received: {flags + (['--loss-param'] if args.loss_params else [])}."
        )
    work = resume_dir(args.resume)
    try:
        saved = yaml.safe_load((work / "run.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise KmlcInputError(
            f"Expected an interrupted `kmlc train --out {args.resume}` to resume, Received: no "
            f"readable run state at '{work / 'run.yaml'}'."
        ) from None
    saved.setdefault("report", True)  # a run saved before `report` was a setting
    if args.verbose is not None:
        saved["verbose"] = args.verbose
    args.out = args.resume
    return saved, work


def _check_inputs_outside(config, out, overwrite):
    """With --overwrite, the old content of --out is deleted once the new model is in place:
    an input file inside it would go with it."""
    if not overwrite or not out:
        return
    root = Path(os.path.abspath(out))
    for key in ("data", "val", "test"):
        path = config.get(key)
        if path and path != DEMO_DATA and root in Path(os.path.abspath(path)).parents:
            raise KmlcInputError(
                f"Expected --{key} outside the directory that --out --overwrite replaces, Received: "
                f"'{path}' inside '{out}'. Move the file, or write the model elsewhere."
            )


def _save_run_state(work, config):
    import yaml

    from kmlc.io import atomic_write_text

    atomic_write_text(work / "run.yaml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def _interrupted_message(args):
    out = getattr(args, "out", None) or getattr(args, "resume", None)
    if args.command != "train" or not out:
        return (
            f"kmlc {args.command}: interrupted; nothing half-written was left (an existing model "
            "directory keeps its previous contents)."
        )
    out = Path(out)
    kept = f"'{out}' keeps its previous model" if (out / "kmlc.json").is_file() else f"no model was written to '{out}'"
    can_resume = (resume_dir(out) / "backup" / "kmlc_state.json").is_file()
    resume = f"; continue from the last completed epoch with `kmlc train --resume {out}`" if can_resume else ""
    return f"kmlc train: interrupted; nothing half-written was left: {kept}{resume}."


def cmd_evaluate(args):
    # Both outputs are checked and locked before the model is loaded or anything evaluated.
    with claim_outputs([(args.json, METRICS_FILE, "--json", args.overwrite),
                        (args.report, REPORT_DIRECTORY, "--report", args.overwrite)]):
        _select_backend(args.backend)
        from kmlc.estimator import load
        from kmlc.io import write_json

        clf = load(args.model)
        data = _read_for(clf, args)
        if args.report:
            metrics = clf.report(data.texts, data.labels, args.report, overwrite=args.overwrite,
                                 title=f"{Path(args.model).name} on {Path(args.data).name}")
        else:
            metrics = clf.evaluate(data.texts, data.labels)
        if args.json:
            write_json(args.json, metrics, METRICS_FILE, overwrite=args.overwrite, flag="--json")
    _print(_metric_line(Path(args.data).name, metrics))
    _print_group_lines(metrics)
    if metrics["unseen_labels"]:
        _print(f"  labels never seen in training (counted as misses): {sorted(metrics['unseen_labels'])}")
    return 0


def cmd_tune(args):
    out = Path(args.out or args.model)
    with claim_output(out, MODEL_DIRECTORY, flag="--out" if args.out else "--model", overwrite=args.overwrite):
        _select_backend(args.backend)
        from kmlc.estimator import load

        clf = load(args.model)
        data = _read_for(clf, args)
        before = clf.evaluate(data.texts, data.labels)
        clf.tune_thresholds(
            data.texts, data.labels, threshold=args.threshold, threshold_metric=args.threshold_metric,
            top_k=args.top_k, at_least_one=args.at_least_one, min_precision=args.min_precision,
        )
        after = clf.evaluate(data.texts, data.labels)
        clf.metrics_ = {**(getattr(clf, "metrics_", None) or {}), "tuning": {"data": str(args.data), **after}}
        clf.save(out, run_config=_saved_run_config(args.model), overwrite=args.overwrite)
    _print(_metric_line("before", before))
    _print(_metric_line("after", after))
    _print(f"thresholds ({clf.thresholds_.strategy}) saved to {out}/")
    return 0


def _saved_run_config(model_dir):
    import yaml

    from kmlc.config import DATA_DEFAULTS

    config = yaml.safe_load((Path(model_dir) / "config.yaml").read_text(encoding="utf-8"))
    return {k: v for k, v in config.items() if k in DATA_DEFAULTS}


def _read_predict_input(args):
    from kmlc.data import READERS, read_labeled_texts

    texts = list(args.texts)
    if args.input:
        if args.input == "-":
            texts += _text_lines(sys.stdin.buffer.read(), "standard input")
        elif Path(args.input).suffix.lower() in READERS:
            data = read_labeled_texts(args.input, text_columns=args.text_columns or ["text"], label_column=None, require_labels=False)
            texts += data.texts
        else:
            path = Path(args.input)
            if not path.is_file():
                raise KmlcInputError(f"Expected an existing --input file, Received: '{path}'.")
            texts += _text_lines(path.read_bytes(), str(path))
    if not texts:
        raise KmlcInputError("Expected texts to classify, Received: none. Give TEXT arguments or --input FILE.")
    return texts


def _text_lines(raw, source):
    """The non-blank lines of UTF-8 bytes (a byte-order mark is dropped)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from kmlc.data import not_utf8_message

        raise KmlcInputError(not_utf8_message(raw, source)) from None
    return [line for line in text.splitlines() if line.strip()]


def cmd_predict(args):
    _select_backend(args.backend)
    from kmlc.estimator import load

    texts = _read_predict_input(args)  # before loading: bad input fails in a second
    clf = load(args.model)
    for record in clf.prediction_records(texts):
        _print(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_export(args):
    _select_backend(args.backend)
    from kmlc.estimator import load
    from kmlc.export import resolve_version

    resolve_version(args.out, args.version, flag="--out")  # a bad --out or --version fails before loading
    target = load(args.model).export(args.out, version=args.version)
    _print(f"SavedModel written to {target}/ (signatures: serving_default, metadata)")
    return 0


def cmd_info(args):
    from kmlc.data import summarize

    data = _read(args.data, {"text_columns": args.text_columns, "label_column": _single_label_column(args), "label_sep": args.label_sep})
    summary = summarize(data)
    if args.json:
        _print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    counts = summary.pop("label_counts", {})
    for key, value in summary.items():
        _print(f"{key:<28} {value:.3f}" if isinstance(value, float) else f"{key:<28} {value}")
    if counts:
        top = ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:10])
        _print(f"{'most frequent labels':<28} {top}")
    return 0


def cmd_split(args):
    # The table's defaults for the flags not given.
    args.split = BY_NAME["split"].default if args.split is None else args.split
    args.seed = BY_NAME["seed"].default if args.seed is None else args.seed
    with claim_output(args.out, SPLIT_DIRECTORY, flag="--out", overwrite=args.overwrite):
        return _split(args)


def _split(args):
    from kmlc.io import atomic_directory, write_json
    from kmlc.labels import LabelEncoder
    from kmlc.splits import SPLIT_NAMES, coverage_report, iterative_split, text_groups

    data = _read(args.data, {"text_columns": args.text_columns, "label_column": _single_label_column(args), "label_sep": args.label_sep})
    encoder = LabelEncoder().fit(data.labels)
    y = encoder.transform(data.labels)
    parts = iterative_split(y, args.split, seed=args.seed, groups=text_groups(data.texts))
    names = SPLIT_NAMES[: len(parts)] if len(parts) <= 3 else [f"part{i}" for i in range(len(parts))]
    report = coverage_report(y, parts, encoder.vocabulary_, names)
    sep = _label_sep({"label_sep": args.label_sep if args.label_sep != "auto" else None})
    clashes = [label for label in encoder.vocabulary_ if sep in label]
    if clashes:
        raise KmlcInputError(f"Expected labels without the separator {sep!r}, Received: {clashes[:5]}. Choose another --label-sep.")
    with atomic_directory(args.out, SPLIT_DIRECTORY, overwrite=args.overwrite, flag="--out") as tmp:
        for name, idx in zip(names, parts):
            data.subset(idx).to_frame(label_sep=sep).to_csv(tmp / f"{name}.csv", index=False)
        write_json(tmp / "split.json", {"seed": args.seed, "fractions": args.split, "source": data.source, "splits": report})
    for name, r in report.items():
        _print(f"{name}: {r['rows']} rows, {r['labels_with_examples']}/{len(encoder.vocabulary_)} labels -> {Path(args.out) / (name + '.csv')}")
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


def _select_backend(name):
    from kmlc.backend import configure_runtime, select_backend

    select_backend(name)
    configure_runtime()


# After SIGTERM (or Ctrl-C) the process unwinds by KeyboardInterrupt, normally within a second.
# But Python runs a signal handler only when the main thread returns to the interpreter, and a
# native wait (XLA, tf.data) may never return or may lose the exception. So a watchdog thread,
# woken through signal.set_wakeup_fd whatever the main thread is doing, removes what is being
# written and exits 128 + the signal (143 for SIGTERM) if the process is still alive after this grace period, or at once on a
# second signal. Seconds; KMLC_INTERRUPT_GRACE_S overrides.
INTERRUPT_GRACE_S = 30.0
_WATCHED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _InterruptHandler:
    """SIGTERM -> KeyboardInterrupt in the main thread, backed by a watchdog (see above)."""

    def __init__(self, args):
        self.args = args
        self.signum = None  # the first signal received: the exit status is 128 + it
        self.signals_seen = 0
        self.timer = None
        self.installed = False

    def install(self):
        """Main thread only (signal and set_wakeup_fd require it)."""
        read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.previous_wakeup_fd = signal.set_wakeup_fd(self.write_fd, warn_on_full_buffer=False)
        self.previous_handlers = {signum: signal.signal(signum, self) for signum in _WATCHED_SIGNALS}
        threading.Thread(target=self._watch, args=(read_fd,), name="kmlc-interrupt-watchdog", daemon=True).start()
        self.installed = True

    def uninstall(self):
        if not self.installed:
            return
        for signum, previous in self.previous_handlers.items():
            signal.signal(signum, previous)
        signal.set_wakeup_fd(self.previous_wakeup_fd)
        os.close(self.write_fd)  # the watchdog reads end-of-file and ends
        if self.timer is not None:
            self.timer.cancel()
        self.installed = False

    def __call__(self, signum, frame):
        from kmlc.interrupts import defer

        self.signum = self.signum or signum
        # While a network trains the interrupt waits for the next batch (kmlc/interrupts.py).
        if not defer(signum):
            raise KeyboardInterrupt(f"signal {signum}")

    def _watch(self, read_fd):
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while True:
                data = pipe.read(64)
                if not data:
                    return
                for signum in data:
                    if signum not in _WATCHED_SIGNALS:
                        continue
                    self.signum = self.signum or signum
                    self.signals_seen += 1
                    if self.signals_seen > 1:
                        self._exit_now()
                    grace = float(os.environ.get("KMLC_INTERRUPT_GRACE_S", INTERRUPT_GRACE_S))
                    self.timer = threading.Timer(grace, self._exit_now)
                    self.timer.daemon = True
                    self.timer.start()

    def _exit_now(self):
        from kmlc.io import remove_pending

        remove_pending()
        try:
            print(_interrupted_message(self.args) + " (stopped by the interrupt watchdog)", file=sys.stderr, flush=True)
        finally:
            os._exit(self.exit_status())

    def exit_status(self):
        """128 + the signal, as a shell reports a process killed by it: 143 for SIGTERM, 130
        for Ctrl-C (SIGINT)."""
        return 128 + int(self.signum or signal.SIGINT)


def main(argv=None):
    # Quiet TensorFlow's C++ start-up logs unless the user asked for them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # SIGTERM (a scheduler, `kill`) unwinds like Ctrl-C, so temporary directories are removed
    # and a model directory is either the previous one or the new one, never half-written.
    parser = build_parser()
    args = parser.parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    handler = _InterruptHandler(args)
    if in_main_thread:
        handler.install()
    # Data warnings are shown every time, as one "warning: ..." line; the settings are
    # restored on return, for callers that run main() in-process.
    original_format = warnings.formatwarning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", KmlcDataWarning)
            warnings.formatwarning = lambda message, category, *a, **k: f"warning: {message}\n"
            return COMMANDS[args.command](args)
    except (KmlcInputError, KmlcModelError) as e:
        print(f"kmlc {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted_message(args), file=sys.stderr)
        return handler.exit_status()
    except BrokenPipeError:
        # The reader of our output went away (`kmlc predict ... | head -1`): stop quietly, as
        # Unix tools do; stdout goes to /dev/null so that the exit's flush does not fail again.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        handler.uninstall()
        warnings.formatwarning = original_format


if __name__ == "__main__":
    sys.exit(main())


def render_cli_reference(width=100):
    """The CLI reference in Markdown, made from the argument parser (docs/cli.md is this)."""
    import functools

    parser = build_parser()
    formatter = functools.partial(argparse.HelpFormatter, width=width)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parts = [
        "# Command-line reference",
        "",
        "Generated from the argument parser by `python scripts/make_cli_docs.py`; a test fails when",
        "this file and `kmlc --help` differ.",
        "",
        "```text",
    ]
    parser.formatter_class = formatter
    parts += [parser.format_help().rstrip(), "```", ""]
    for name, sub in subparsers.choices.items():
        sub.formatter_class = formatter
        parts += [f"## kmlc {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(parts)
