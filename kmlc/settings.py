"""Every setting of kmlc, declared once: its name, type and range, default, help and flag.

`TextClassifier`'s parameters (its signature, docstring and checks), the flags of
`kmlc train` (and so docs/cli.md), the keys of a run's YAML config and its checks all come
from `SETTINGS` below. A setting whose default is a family's (`per_family`) takes it from
the family's module (`kmlc.families`). Importing this module does not import Keras.
"""

import math
from dataclasses import dataclass, field

from kmlc.errors import KmlcInputError

_FROM_NAME = object()


@dataclass(frozen=True)
class Setting:
    """One setting. `kind` says what values it takes (see `check`):

    int, float (finite; `low`/`high` bounds, inclusive unless `*_open`), bool, choice
    (`choices`, or a function giving them), text, path, int_list, float_list, mapping,
    columns (one name or a list), label_groups, group_weights, verbose, distribute.

    `optional`: None is a value of its own (not just "not given"). `per_family`: None takes
    the model family's default. `classifier`: a `TextClassifier` parameter (else a setting of
    a `kmlc train` run: data, splits, streaming). `flag`: the command-line flag (None: none);
    `section`: the group of flags it is listed in; `cli_default`: the command line's default
    where it differs from the API's (None: the same). `extra["absent"]`: what a saved model's
    config.yaml that lacks the setting (written before it existed) was trained with.
    """

    name: str
    kind: str
    default: object = None
    help: str = ""
    section: str = "training"
    choices: object = None
    low: float = None
    high: float = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    per_family: bool = False
    classifier: bool = True
    flag: object = _FROM_NAME
    metavar: str = None
    cli_default: object = None
    extra: dict = field(default_factory=dict)

    @property
    def cli_flag(self):
        return f"--{self.name.replace('_', '-')}" if self.flag is _FROM_NAME else self.flag

    def allowed_choices(self):
        return tuple(self.choices()) if callable(self.choices) else tuple(self.choices or ())


# The choices of these settings are the registries' names. They are read when a setting is
# checked, not when this module is imported: importing kmlc must not import Keras (the
# backend is chosen afterwards, see kmlc.backend), and the registries' modules do.


def _families():
    from kmlc.families import family_names

    return family_names()


def _losses():
    from kmlc.losses import LOSS_NAMES

    return LOSS_NAMES


def _strategies():
    from kmlc.thresholds import STRATEGIES

    return STRATEGIES


def _threshold_metrics():
    from kmlc.thresholds import METRICS

    return METRICS


S = Setting
SETTINGS = (
    # --- the model family and its own settings
    S("model", "choice", "tfidf", "model family: tfidf (TF-IDF n-grams and an MLP) or bert (a pretrained BERT "
      "encoder from KerasHub, fine-tuned)", "model", choices=_families),
    S("max_tokens", "int", 20000, "TF-IDF vocabulary size: at most this many n-grams, the most frequent", "tfidf",
      low=1, metavar="N"),
    S("min_df", "int", None, "keep only n-grams found in at least N training texts; none: 1, or with the SVM wide "
      "path 1 or 2, whichever gives the SVM the better validation micro-F1 + macro-F1", "tfidf", low=1,
      optional=True, metavar="N", extra={"absent": 1}),
    S("tokens", "choice", "words", "how a text is split into tokens: words (scikit-learn's rule: runs of two or more "
      "letters or digits, punctuation splits, Unicode lower-casing) or keras (TextVectorization's: punctuation "
      "deleted, whitespace split)", "tfidf", choices=("words", "keras"), extra={"absent": "keras"}),
    S("idf", "choice", "smooth", "IDF formula: smooth (scikit-learn's, log((1 + n) / (1 + df)) + 1) or keras "
      "(TextVectorization's, log(1 + n / (1 + df)))", "tfidf", choices=("smooth", "keras"), extra={"absent": "keras"}),
    S("oov", "choice", "drop", "n-grams outside the vocabulary: drop them (scikit-learn) or keep them counted in "
      "one extra column (TextVectorization)", "tfidf", choices=("drop", "keep"), extra={"absent": "keep"}),
    S("ngrams", "int", 2, "largest n-gram length", "tfidf", low=1, high=5, metavar="N"),
    S("normalize", "choice", "l2", "scale each TF-IDF vector to unit length (l2) or keep raw values (none)", "tfidf",
      choices=("l2", "none")),
    S("sublinear_tf", "bool", True, "(1 + log count) x IDF instead of count x IDF", "tfidf"),
    S("tfidf_input", "choice", "sparse", "how the TF-IDF vector reaches the network: the ids and weights of its "
      "non-zeros, gathered by the first layer (sparse: cost follows a text's n-grams), or the full vector and a "
      "Dense layer (dense); both compute the same function", "tfidf", choices=("sparse", "dense"), flag=None),
    S("hidden_units", "int_list", (128,), "hidden layer sizes", "tfidf", low=1, metavar="N,N"),
    S("wide", "choice", "auto", "a linear (wide) path from the TF-IDF vector to the logits beside the hidden layers: "
      "svm (a linear SVM fitted first by liblinear on the same vectors, calibrated on the validation rows and kept "
      "fixed, the hidden layers learning what it misses); joint (trained with them); none; auto: svm on data in "
      "memory, none on a stream (whose rows are never all in memory)", "tfidf",
      choices=("auto", "svm", "joint", "none"), extra={"aliases": {True: "joint", False: "none"}, "absent": "none"}),
    S("svm_c", "float", None, "--wide svm: the SVM's C (inverse regularisation strength); none: the best of "
      "0.5, 1, 2 and 4 on the validation rows (micro-F1 + macro-F1)", "tfidf", low=0, low_open=True, optional=True,
      metavar="C"),
    S("input_scale", "float", 8.0, "multiply the TF-IDF values by X before the first layer (with Adam: its "
      "learning rate x X, so rare n-grams learn in fewer epochs)", "tfidf", low=0, low_open=True, metavar="X"),
    S("preset", "path", None, "local KerasHub or Hugging Face BERT directory; none: the installed "
      "all-MiniLM-L6-v2 (nothing is downloaded)", "bert", optional=True, metavar="DIR"),
    S("sequence_length", "int", 128, "tokens per text, [CLS] and [SEP] included", "bert", low=1, metavar="N"),
    S("pooling", "choice", "mean", "text vector: pooled [CLS] or masked mean of the token vectors", "bert",
      choices=("cls", "mean")),
    S("freeze_backbone", "bool", False, "train the head only", "bert"),
    S("long_docs", "choice", "truncate", "texts longer than the sequence: keep the start, or read overlapping "
      "windows and max-pool their logits", "bert", choices=("truncate", "windows")),
    S("max_windows", "int", 8, "--long-docs windows: most windows per text", "bert", low=1, metavar="N"),
    S("window_overlap", "int", None, "--long-docs windows: tokens shared by consecutive windows; none: a quarter "
      "of a window", "bert", low=0, optional=True, metavar="N"),
    S("weight_decay", "float", 0.01, "AdamW weight decay (not on biases, LayerNorm)", "bert", low=0, metavar="W"),
    S("warmup_fraction", "float", 0.1, "share of steps of linear warm-up", "bert", low=0, high=1, high_open=True,
      metavar="F"),
    S("clipnorm", "float", 1.0, "global gradient-norm clip", "bert", low=0, low_open=True, metavar="C"),
    S("mixed_precision", "choice", "none", "compute dtype", "bert", choices=("none", "bfloat16", "float16")),
    # --- training (None: the family's default)
    S("dropout", "float", None, "dropout rate", "training", low=0, high=1, high_open=True, per_family=True,
      metavar="RATE"),
    S("learning_rate", "float", None, "peak learning rate", "training", low=0, low_open=True, per_family=True,
      metavar="LR"),
    S("batch_size", "int", None, "batch size", "training", low=1, per_family=True, metavar="N"),
    S("epochs", "int", None, "most epochs", "training", low=1, per_family=True, metavar="N"),
    S("patience", "int", None, "early-stopping patience: epochs without a better validation micro-F1 (the best "
      "epoch's weights are restored)", "training", low=0, per_family=True, metavar="N"),
    S("distribute", "distribute", None, "data-parallel: split each training batch between all devices (jax: "
      "keras DataParallel; tensorflow: MirroredStrategy; not torch); the batch size must divide by their number",
      "training", choices=("none", "data-parallel"), optional=True),
    # --- the loss
    S("loss", "choice", "db", "loss: bce, wbce, focal, cb, db (distribution-balanced), ntr-focal, cb-ntr, "
      "db-no-focal", "loss", choices=_losses, metavar="NAME"),
    S("loss_params", "mapping", None, "override a loss parameter (repeatable), e.g. gamma=2", "loss",
      optional=True, flag="--loss-param", metavar="KEY=VALUE"),
    # --- thresholds and reports
    S("threshold", "choice", "global", "how probabilities become labels: fixed (0.5), global (one threshold tuned "
      "on validation data), per-label or top-k", "thresholds", choices=_strategies, metavar="STRATEGY"),
    S("threshold_metric", "choice", "micro_f1", "what threshold tuning maximises", "thresholds",
      choices=_threshold_metrics, metavar="METRIC"),
    S("top_k", "int", None, "labels per row for --threshold top-k", "thresholds", low=1, optional=True, metavar="K"),
    S("min_precision", "float", None, "tune for the best recall with micro-precision >= P", "thresholds", low=0,
      high=1, optional=True, metavar="P"),
    S("at_least_one", "bool", False, "give every row its best label when none passes the threshold",
      "thresholds"),
    S("group_cutoffs", "int_list", (35, 8), "least training examples of head and medium labels in reports "
      "(head > medium)", "thresholds", low=1, metavar="HEAD,MEDIUM", extra={"length": 2}),
    # --- the linear baseline (kmlc.baselines)
    S("baseline", "bool", False, "fit the linear baseline on the same split (bigram TF-IDF + one-vs-rest linear "
      "classifier, one global threshold tuned on validation; seconds) and report the model's figures beside its "
      "own. Not on a stream", "baseline", cli_default=True),
    S("baseline_classifier", "choice", "linear_svc", "the baseline's classifier", "baseline",
      choices=("linear_svc", "logistic_regression")),
    # --- label groups
    S("label_groups", "label_groups", None, "several label groups in one model: NAME:KIND columns, KIND "
      "multiclass (one label per row, softmax) or multilabel (see --label-column)", "groups", optional=True,
      flag=None),
    S("group_weights", "group_weights", None, "label groups' loss weights, one per --label-column, or auto "
      "(inverse initial losses); none: 1 each", "groups", optional=True, metavar="W,W,...|auto"),
    S("drop_invalid_rows", "bool", False, "label groups: drop rows whose multiclass label is missing or has "
      "several values (reported) instead of stopping", "groups"),
    # --- the run
    S("validation_fraction", "float", 0.2, "share of the training data held out (by iterative stratification) "
      "for early stopping and thresholds when no validation data is given", "data", low=0, high=1, low_open=True,
      high_open=True, flag=None),
    S("seed", "int", 0, "seed of every random choice (split, initialisation, dropout, shuffling)", "run", low=0,
      high=2**32, high_open=True, metavar="N"),
    S("verbose", "verbose", "auto", "Keras fit verbosity", "run", choices=(0, 1, 2), cli_default=2),
    # --- kmlc train only: data, splits, streaming
    S("data", "path", None, "training table (default: the bundled demo data)", "data", classifier=False,
      metavar="PATH"),
    S("val", "path", None, "validation table (default: split from --data)", "data", classifier=False,
      metavar="PATH"),
    S("test", "path", None, "test table (default: split from --data)", "data", classifier=False, metavar="PATH"),
    S("text_columns", "columns", ["text"], "text column; repeat to join several (e.g. title and abstract)", "data",
      classifier=False, flag="--text-column", metavar="NAME"),
    S("label_column", "columns", "labels", "label column. Repeat it, with KIND multiclass or multilabel, for "
      "several label groups in one model (e.g. score:multiclass, emotions:multilabel)", "data", classifier=False,
      metavar="NAME[:KIND]"),
    S("label_sep", "text", "|", "separator inside a label cell, or 'auto'. List literals are always read", "data",
      classifier=False, metavar="SEP"),
    S("split", "float_list", [0.6, 0.2, 0.2], "train,val,test fractions", "data", classifier=False, low=0,
      low_open=True, metavar="F,F,F"),
    S("drop_duplicates", "bool", False, "drop repeated texts (reported)", "data", classifier=False),
    S("min_label_count", "int", None, "drop labels with fewer than N examples (reported)", "data",
      classifier=False, low=1, metavar="N"),
    S("backend", "choice", None, "Keras backend (default: $KERAS_BACKEND, else jax)", "run", classifier=False,
      choices=("jax", "tensorflow", "torch")),
    S("stream", "bool", False, "read --data in chunks instead of whole: one pass counts the labels and the "
      "TF-IDF vocabulary, each epoch reads the file again (see docs/concepts.md). No test split is taken from the "
      "stream: give --test", "stream", classifier=False),
    S("stream_sample_rows", "int", None, "adapt the TF-IDF vocabulary on a seeded sample of N training rows "
      "(default: all rows)", "stream", classifier=False, low=1, metavar="N"),
    S("stream_validation_rows", "int", None, "without --val: hold out the --split validation share of the rows, at "
      "most N rows (kept in memory; the other rows train). Default: 20000", "stream", classifier=False, low=0,
      metavar="N"),
    S("stream_chunk_rows", "int", None, "rows read at a time. Default: 50000", "stream", classifier=False, low=1,
      metavar="N"),
    S("stream_shuffle_rows", "int", None, "rows of the seeded shuffle window. Default: 50000", "stream",
      classifier=False, low=1, metavar="N"),
    S("report", "bool", True, "write an evaluation report (HTML, plots) for the validation and test splits to "
      "DIR/reports/", "run", classifier=False),
)
del S

BY_NAME = {s.name: s for s in SETTINGS}
CLASSIFIER_SETTINGS = tuple(s for s in SETTINGS if s.classifier)
RUN_SETTINGS = tuple(s for s in SETTINGS if not s.classifier)


def classifier_defaults():
    return {s.name: s.default for s in CLASSIFIER_SETTINGS}


def run_defaults():
    return {s.name: s.default for s in RUN_SETTINGS}


def cli_defaults():
    """The command line's defaults where they differ from the API's."""
    return {s.name: s.cli_default for s in SETTINGS if s.cli_default is not None}


# ----------------------------------------------------------------------------- checks


def _is_int(value):
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value):
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _number(value):
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range_text(s):
    if s.low is not None and s.high is not None:
        return f" in {'(' if s.low_open else '['}{_number(s.low)}, {_number(s.high)}{')' if s.high_open else ']'}"
    if s.low is not None:
        return f" {'>' if s.low_open else '>='} {_number(s.low)}"
    if s.high is not None:
        return f" {'<' if s.high_open else '<='} {_number(s.high)}"
    return ""


def _in_range(s, value):
    value = float(value)
    if s.low is not None and (value <= s.low if s.low_open else value < s.low):
        return False
    return not (s.high is not None and (value >= s.high if s.high_open else value > s.high))


def expected(s):
    """What `check` expects of a setting, in words (an error message's "Expected ...")."""
    kind = s.kind
    if kind == "int":
        text = f"an integer{_range_text(s)}"
    elif kind == "float":
        text = f"a finite number{_range_text(s)}"
    elif kind == "bool":
        text = "true or false"
    elif kind in ("choice", "distribute"):
        text = f"one of {list(s.allowed_choices())}"
    elif kind in ("text", "path"):
        text = "a text" if kind == "text" else "a path"
    elif kind == "int_list":
        n = s.extra.get("length")
        text = (f"{n} integers" if n else "a list of integers") + f"{_range_text(s)} (e.g. {list(s.default)})"
    elif kind == "float_list":
        text = f"a list of numbers{_range_text(s)} (e.g. {list(s.default)})"
    elif kind == "mapping":
        text = "a mapping of names to values (e.g. {'gamma': 2})"
    elif kind == "columns":
        text = "a column name or a list of column names"
    elif kind == "label_groups":
        text = "a list of NAME:KIND columns (e.g. ['score:multiclass', 'topics:multilabel'])"
    elif kind == "group_weights":
        text = "a list of positive numbers, one per label group, or 'auto'"
    elif kind == "verbose":
        text = "'auto', 0, 1 or 2"
    else:
        raise ValueError(kind)
    if s.optional:
        text += " or None"
    return text


def accepts(s, value):
    """Whether `value` is of the setting's kind and range (None counts as not given)."""
    if value is None:
        return True
    kind = s.kind
    if kind == "int":
        return _is_int(value) and _in_range(s, value)
    if kind == "float":
        return _is_number(value) and _in_range(s, value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "choice":
        if isinstance(value, bool):  # an older boolean form of the setting (its `aliases`)
            return value in s.extra.get("aliases", {})
        return isinstance(value, str) and value in s.allowed_choices()
    if kind == "distribute":
        return value in s.allowed_choices()
    if kind in ("text", "path"):
        return isinstance(value, str) and (kind == "text" or value != "")
    if kind == "int_list":
        n = s.extra.get("length")
        return (isinstance(value, (list, tuple)) and (n is None or len(value) == n)
                and all(_is_int(v) and _in_range(s, v) for v in value))
    if kind == "float_list":
        return isinstance(value, (list, tuple)) and all(_is_number(v) and _in_range(s, v) for v in value)
    if kind == "mapping":
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    if kind == "columns":
        return isinstance(value, str) and value != "" or (
            isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, str) and v for v in value))
    if kind == "label_groups":
        return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict))
    if kind == "group_weights":
        return isinstance(value, str) or (isinstance(value, (list, tuple)) and all(_is_number(v) for v in value))
    if kind == "verbose":
        return value == "auto" or (_is_int(value) and value in s.allowed_choices())
    raise ValueError(kind)


def check(name, value):
    """Raises KmlcInputError unless `value` suits the setting `name`; returns it."""
    s = BY_NAME[name]
    if not accepts(s, value):
        flag = f" ({s.cli_flag})" if s.cli_flag and not s.classifier else ""
        raise KmlcInputError(f"Expected {name}{flag} to be {expected(s)}, Received: {value!r}.")
    return value


def check_all(values, names=None):
    """`check` for each of `names` (default: every setting in `values`)."""
    for name in names or [n for n in values if n in BY_NAME]:
        check(name, values.get(name))
    return values


# ----------------------------------------------------------------------------- YAML form


def config_value(name, value):
    """A setting's value as config.yaml holds it: plain YAML types (lists, not tuples; a
    mapping, {} for none; Python numbers, not NumPy's). `TextClassifier.get_params` returns
    what was given, as scikit-learn requires; this is the form that is written."""
    s = BY_NAME[name]
    if s.kind == "mapping":
        return {key: number_or_text(v) for key, v in (value or {}).items()}
    if value is None:
        return None
    if s.kind == "int_list":
        return [int(v) for v in value]
    if s.kind == "float_list":
        return [float(v) for v in value]
    if s.kind == "columns" and not isinstance(value, str):
        return list(value)
    if s.kind == "choice" and isinstance(value, bool):
        return s.extra["aliases"][value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # a NumPy scalar
    return value


def config_form(values):
    """`config_value` for every setting in `values`, in the table's order."""
    order = {s.name: i for i, s in enumerate(SETTINGS)}
    names = sorted(values, key=lambda name: order.get(name, len(order)))
    return {name: config_value(name, values[name]) if name in BY_NAME else values[name] for name in names}


def number_or_text(value):
    """A text that spells a number, as that number (a loss parameter given on the command line
    as gamma=2, or a YAML 1.1 `1e-3`); any other value as it is (e.g. mu: auto)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


# ----------------------------------------------------------------------------- words


def default_text(s, cli=False):
    """The default as the help of a flag (`cli`: the command line's default) says it."""
    if s.per_family:
        from kmlc.families import family_names, get_family

        values = [get_family(name).defaults[s.name] for name in family_names()]
        return " / ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + \
            f" ({' / '.join(family_names())})"
    value = s.cli_default if cli and s.cli_default is not None else s.default
    if value is None:
        return None
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def docstring_args(width=92):
    """The Args section of `TextClassifier`'s docstring, from the table."""
    import textwrap

    lines = []
    for s in CLASSIFIER_SETTINGS:
        default = default_text(s)
        text = s.help + (f". Default: {default}." if default is not None else ".")
        if s.section in ("tfidf", "bert"):
            text = f"{'BERT' if s.section == 'bert' else 'TF-IDF'} only: {text}"
        else:
            text = text[0].upper() + text[1:]
        lines += textwrap.wrap(f"{s.name}: {text}", width=width, initial_indent="        ",
                               subsequent_indent="            ")
    return "\n".join(lines)
