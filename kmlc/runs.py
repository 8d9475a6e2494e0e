"""A training run, as `kmlc train` does it: the tables of a run's config read, the missing
splits taken (copies of a text on one side), a classifier trained in memory or from a stream,
the test split evaluated, the model directory and its reports written; an interrupted run
resumes from its last completed epoch.

A run's config is one flat mapping of every setting (`kmlc.settings`; `kmlc.config` reads
and merges it). The command line is a thin layer over `prepare` and `train`.
"""

import os
import warnings
from pathlib import Path

import yaml

from kmlc.config import check_data_settings, resolve_label_groups, split_config
from kmlc.data import DEFAULT_LABEL_SEP, LabeledTexts
from kmlc.datasets import load_support_tickets
from kmlc.errors import KmlcDataWarning, KmlcInputError
from kmlc.estimator import TextClassifier
from kmlc.io import atomic_write_text
from kmlc.label_space.flat import FlatLabels
from kmlc.outputs import RESUME_DIRECTORY, remove_output
from kmlc.splits import SPLIT_NAMES, coverage_report, iterative_split, text_groups
from kmlc.streaming.config import open_config_stream

DEMO_DATA = "demo:support_tickets"
RUN_STATE = "run.yaml"


def resume_dir(out):
    """Where a run writing `out` keeps what resuming it needs: beside `out`, hidden."""
    out = Path(out)
    return out.parent / f".{out.name}.resume"


def read_table(path, settings, space=None, dedupe=None, min_count=None):
    """A labelled table of a run (None or DEMO_DATA: the bundled demo data), read for the
    label layout `space` (default: one label set)."""
    if path in (None, DEMO_DATA):
        source = load_support_tickets()
        text_columns, label_column, label_sep = ["text"], "labels", DEFAULT_LABEL_SEP
    else:
        source = path
        text_columns = settings.get("text_columns") or ["text"]
        label_column = settings.get("label_column") or "labels"
        label_sep = DEFAULT_LABEL_SEP if settings.get("label_sep") is None else settings["label_sep"]
    data = (space or FlatLabels()).read_table(
        source, text_columns=text_columns, label_column=label_column, label_sep=label_sep,
        drop_invalid_rows=bool(settings.get("drop_invalid_rows")), drop_duplicates=bool(dedupe), min_label_count=min_count,
    )
    if path in (None, DEMO_DATA):
        data.source = DEMO_DATA
    return data


def check_inputs_outside(config, out):
    """An input file inside `out` would be deleted with the old content that `overwrite`
    replaces: refused."""
    root = Path(os.path.abspath(out))
    for key in ("data", "val", "test"):
        path = config.get(key)
        if path and path != DEMO_DATA and root in Path(os.path.abspath(path)).parents:
            raise KmlcInputError(
                f"Expected --{key} outside the directory that --out --overwrite replaces, Received: "
                f"'{path}' inside '{out}'. Move the file, or write the model elsewhere."
            )


def saved_run(out):
    """The config of the interrupted run that wrote `out` (to resume it)."""
    work = resume_dir(out)
    try:
        config = yaml.safe_load((work / RUN_STATE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise KmlcInputError(
            f"Expected an interrupted `kmlc train --out {out}` to resume, Received: no "
            f"readable run state at '{work / RUN_STATE}'."
        ) from None
    config.setdefault("report", True)  # a run saved before `report` was a setting
    return config


def prepare(config):
    """(config, stream): the run's data settings checked, label columns resolved to label
    groups, the stream opened (None without `stream`); every bad combination refused before
    any work. Imports no Keras: the backend may still be chosen after it."""
    config = resolve_label_groups(check_data_settings(dict(config)))
    if config.get("label_groups") and config["data"] in (None, DEMO_DATA):
        raise KmlcInputError(
            "Expected --data with the label group columns, Received: the bundled support tickets, "
            "which have one label column. (kmlc.datasets.write_survey writes a three-group demo table.)"
        )
    return config, open_config_stream(config, DEMO_DATA)


def train(config, stream, out, *, resumed=False, overwrite=False, say=print):
    """Runs a prepared config (see `prepare`) and writes the model directory `out`; returns the
    fitted classifier, its `metrics_` holding the validation and test figures. `say` gets a
    line about each step; warnings are `KmlcDataWarning`s."""
    import keras

    out, work = Path(out), resume_dir(out)
    data_settings, params = split_config(config)
    config["backend"] = keras.backend.backend()
    clf = TextClassifier(**params)
    clf._validate_params()  # before reading data: a bad setting fails in a second, not after
    space = clf._label_space()
    read_settings = {**data_settings, "drop_invalid_rows": clf.drop_invalid_rows}
    val = read_table(config["val"], read_settings, space) if config["val"] else None
    test = read_table(config["test"], read_settings, space) if config["test"] else None
    if stream is not None:
        if val is None:
            # The --split validation share is held out from the stream; no test share is taken.
            clf.set_params(validation_fraction=float(config["split"][1]))
            clf._validate_params()
        if not resumed:
            save_run_state(work, config)
        clf.fit_stream(
            stream, validation_data=(val.texts, val.labels) if val is not None else None,
            sample_rows=config.get("stream_sample_rows"), validation_rows=config.get("stream_validation_rows"),
            shuffle_rows=config.get("stream_shuffle_rows"), min_label_count=config.get("min_label_count"),
            backup_dir=work / "backup",
            progress=lambda line: say(
                line + (f"; testing on {len(test)}" if test is not None else "; no test data (give --test)")
                + f"; backend {keras.backend.backend()}"
            ),
        )
        if val is None:
            texts, labels = clf.stream_validation_
            val = LabeledTexts(texts=texts, labels=labels, source=f"{stream.source} (held out)")
        clf.metrics_["stream"] = dict(clf.stream_info_)
    else:
        full = read_table(config["data"], read_settings, space, dedupe=config["drop_duplicates"],
                          min_count=config["min_label_count"])
        config["data"] = config["data"] or DEMO_DATA
        train_data, val, test = split(full, val, test, space, config["split"], config["seed"], say)
        say(f"training {config['model']} on {len(train_data)} rows ({train_data.source}), validating on {len(val)}"
            + (f", testing on {len(test)}" if test is not None else "") + f"; backend {keras.backend.backend()}")
        if not resumed:
            save_run_state(work, config)
        clf.fit(train_data.texts, train_data.labels, validation_data=(val.texts, val.labels), backup_dir=work / "backup")
    if clf.resumed_from_epoch_:
        say(f"resumed after epoch {clf.resumed_from_epoch_} from the backup in {work}/")
    if test is not None:
        clf.metrics_["test"] = clf.evaluate(test.texts, test.labels)
        if clf.baseline_ is not None:
            clf.metrics_["baseline"]["test"] = clf.baseline_.evaluate(test.texts, test.labels)
    for name, data in (("validation", val), ("test", test)):
        if data is not None:
            warn_overlap(clf.metrics_[name], name, data.source)
    clf.metrics_["train_seconds"] = round(clf.train_seconds_, 2)
    clf.metrics_["best_epoch"] = clf.best_epoch_
    clf.save(out, run_config={k: v for k, v in config.items() if k in data_settings or k == "backend"},
             overwrite=overwrite)
    if config["report"]:
        clf.report(val.texts, val.labels, out / "reports" / "validation", title=f"{out.name}: validation split")
        if test is not None:
            clf.report(test.texts, test.labels, out / "reports" / "test", title=f"{out.name}: test split")
    remove_output(work, RESUME_DIRECTORY)  # the run is complete: nothing left to resume
    return clf


def split(full, val, test, space, fractions, seed, say=print):
    """(training, validation, test) data: what no file gives is split from `full` by
    iterative stratification (with a test file, the test share goes back to training)."""
    if val is not None:
        return full, val, test
    fractions = list(fractions)
    if test is not None and len(fractions) == 3:
        fractions = [fractions[0] + fractions[2], fractions[1]]
    encoder = space.encoder().fit(full.labels)
    y = encoder.transform(full.labels)
    parts = iterative_split(y, fractions, seed=seed, groups=text_groups(full.texts))
    if test is None and len(parts) > 2:
        test = full.subset(parts[2])
    report = coverage_report(y, parts, encoder.vocabulary_, SPLIT_NAMES[: len(parts)])
    for name, r in report.items():
        say(f"split {name}: {r['rows']} rows, {r['labels_with_examples']}/{len(encoder.vocabulary_)} labels with an example")
    return full.subset(parts[0]), full.subset(parts[1]), test


def save_run_state(work, config):
    atomic_write_text(Path(work) / RUN_STATE, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def warn_overlap(metrics, name, source):
    """Texts of an evaluation split that the model was trained on (files given by the user that
    overlap: kmlc's own splits keep copies together) make its metrics too good."""
    k = metrics.get("texts_in_training")
    if k:
        warnings.warn(
            f"{k} of the {metrics['n_examples']} {name} texts ({source}) also occur word for word in the "
            f"training data: the {name} metrics overstate how the model does on new text. Remove them "
            "from one of the files (or split one file with `kmlc split`)",
            KmlcDataWarning,
            stacklevel=3,
        )
