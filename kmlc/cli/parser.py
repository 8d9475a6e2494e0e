"""The flags of the `kmlc` commands, made from the settings table (`kmlc.settings`), and
docs/cli.md made from them."""

import argparse
import functools

from kmlc.settings import BY_NAME, SETTINGS, default_text
from kmlc.version import __version__

# The flags of `kmlc train` in groups, in this order (every setting with a flag is in one).
TRAIN_SECTIONS = (
    ("model", "model"), ("tfidf", "TF-IDF (--model tfidf)"), ("bert", "BERT (--model bert)"),
    ("training", "training (a default per family)"), ("loss", "loss"),
    ("thresholds", "thresholds and reports"), ("baseline", "the linear baseline"), ("groups", "label groups (--label-column NAME:KIND, repeated)"),
    ("data", "data"), ("stream", "data larger than memory (--stream)"), ("run", "run"),
)
# How a flag's help names a default that is None in the table.
SHOWN_DEFAULTS = {"distribute": "none"}


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
        default = SHOWN_DEFAULTS.get(name, default_text(setting, cli=True))
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


def render_cli_reference(width=100):
    """The CLI reference in Markdown, made from the argument parser (docs/cli.md is this)."""
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
