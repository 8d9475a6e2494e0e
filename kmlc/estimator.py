"""TextClassifier: the estimator-style Python API (fit / predict / predict_proba / save / load)."""

import inspect
import threading

import numpy as np
from sklearn.base import BaseEstimator

from kmlc.data import check_texts, count_in
from kmlc.errors import KmlcInputError, KmlcModelError
from kmlc.export import export_model
from kmlc.families import get_family
from kmlc.label_space import label_space
from kmlc.outputs import REPORT_DIRECTORY, check_output
from kmlc.persistence import load_model, save_model
from kmlc.preprocessing import make_dataset
from kmlc.preprocessing.bert import check_window_settings
from kmlc.report import write_report
from kmlc.settings import CLASSIFIER_SETTINGS, check, config_form, docstring_args
from kmlc.training.sources import InMemoryData, StreamedData

_PREDICT_LOCK = threading.RLock()
_SETTING_NAMES = [s.name for s in CLASSIFIER_SETTINGS]


_DOC = """A multi-label text classifier: preprocessor + network + tuned thresholds.

    `__init__` only stores settings; `fit` checks them and the data. Fitted attributes end
    in an underscore: `labels_`, `label_encoder_`, `preprocessor_`, `model_`, `thresholds_`,
    `history_`, `metrics_`. The settings are declared in `kmlc.settings` (the command line's
    flags come from the same table).

    With `label_groups`, `fit` takes grouped labels (a mapping or DataFrame of one column per
    group, or one dict per row) and `predict` returns one dict per row. With
    `distribute="data-parallel"` each training batch is split between the devices
    (`kmlc.training.distribute`); validation and prediction run on one device.

    Args:
{args}
    """


class TextClassifier(BaseEstimator):
    __doc__ = _DOC.format(args=docstring_args())

    def __init__(self, model="tfidf", **settings):
        unknown = sorted(set(settings) - set(_SETTING_NAMES))
        if unknown:
            raise TypeError(f"TextClassifier() got an unexpected keyword argument {unknown[0]!r}")
        self.model = model
        for s in CLASSIFIER_SETTINGS[1:]:
            setattr(self, s.name, settings.get(s.name, s.default))

    # ------------------------------------------------------------------ params

    def _label_space(self):
        return label_space(self.label_groups, self.group_weights)

    def _family(self):
        return get_family(self.model)

    def resolved_params(self):
        """The settings in their YAML form (`kmlc.settings.config_form`, label groups as
        "name:kind"), the family defaults filled in: what `fit` uses and config.yaml holds."""
        params = config_form(self.get_params())
        params.update(self._label_space().config_params({}))
        for name, value in self._family().defaults.items():
            if params[name] is None:
                params[name] = value
        return params

    def set_params(self, **params):
        unknown = sorted(set(params) - set(self._get_param_names()))
        if unknown:
            raise KmlcInputError(
                f"Expected settings among {self._get_param_names()}, Received: unknown {unknown}."
            )
        return super().set_params(**params)

    def __sklearn_tags__(self):
        # Texts in (not a 2-D array); label lists out: several labels per row, so scikit-learn
        # reads it as a multi-output estimator. It does not declare itself a classifier:
        # scikit-learn then stratifies cross-validation folds by `y`, which refuses label lists.
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        return tags

    def _validate_params(self):
        """Checks every setting (its kind and range, from `kmlc.settings`), then what depends
        on several (the family's own checks, the label groups, the loss parameters, the
        devices), before any work."""
        for s in CLASSIFIER_SETTINGS:
            check(s.name, getattr(self, s.name))
        p = self.resolved_params()
        for s in CLASSIFIER_SETTINGS:
            if s.per_family:
                check(s.name, p[s.name])  # the family's default, or the value given
        head, medium = self.group_cutoffs
        if not head > medium:
            raise KmlcInputError(
                f"Expected group_cutoffs (head_min, medium_min) with head_min > medium_min, Received: {self.group_cutoffs!r}."
            )
        # The windows' settings are checked whatever the family: a wrong value is a mistake
        # even where it is not used. What a family checks beyond the values (a preset's
        # directory, combinations), it checks itself.

        check_window_settings(self.long_docs, self.max_windows, self.window_overlap, p["sequence_length"])
        self._family().check(p)
        self._label_space()  # parses and checks label_groups and group_weights

        from kmlc.losses import get_loss  # imports Keras: not before the backend is chosen

        # Built once on a one-label stand-in: every parameter's name, type and range.
        get_loss(self.loss, class_counts=[1], num_samples=2, **(self.loss_params or {}))
        if self.distribute not in (None, "none"):
            from kmlc.training.distribute import check_distribute  # imports Keras

            check_distribute(self.distribute)  # the backend, before any work

    # ------------------------------------------------------------------ fit

    def fit(self, texts, labels, validation_data=None, *, backup_dir=None, callbacks=None):
        """Trains on `texts` and their label lists; returns self.

        Args:
            texts: a list of strings.
            labels: a list of label lists (strings), one per text; [] for no label.
            validation_data: (texts, labels) for early stopping and threshold tuning; when
                None, a `validation_fraction` of the training data is held out by
                iterative stratification.
            backup_dir: a directory for a resumable backup (Keras `BackupAndRestore`),
                replaced atomically after every epoch and removed when training ends. When
                it holds the backup of an interrupted `fit` with the same data and settings,
                training continues after its last completed epoch and ends as the
                uninterrupted run would have (`resumed_from_epoch_` says where it went on).
            callbacks: extra Keras callbacks, run after kmlc's own.

        With `label_groups`, `labels` (and the validation labels) are grouped: a dict (or
        DataFrame) of one column per group, or one dict per row, e.g.
        `{"global_score": "S2", "emotions": ["E1"], "causes": []}` (see `kmlc.groups`).
        """
        from kmlc.training.pipeline import fit  # imports Keras: not before the backend is chosen

        return fit(self, InMemoryData(texts, labels), validation_data, backup_dir=backup_dir, callbacks=callbacks)

    def fit_stream(self, source, validation_data=None, *, sample_rows=None, validation_rows=20_000,
                   shuffle_rows=50_000, min_label_count=None, backup_dir=None, callbacks=None, progress=None):
        """Trains on a table read in chunks, never whole in memory (`kmlc train --stream`);
        returns self. See `kmlc.streaming` for what is and is not held in memory.

        Args:
            source: a .csv / .tsv / .jsonl / .parquet path with "text" and "labels" columns,
                or a `kmlc.streaming.TableStream` (other columns, separator, chunk size).
            validation_data: (texts, labels) in memory; when None, the `validation_fraction`
                share of the rows, at most `validation_rows`, is held out by a hash of
                (seed, row number): the same rows on every pass, never trained on.
            sample_rows: adapt the TF-IDF vocabulary on a seeded sample of this many training
                rows instead of all of them (None: all, counted in the same pass).
            shuffle_rows: the seeded shuffle window, reshuffled each epoch.
            min_label_count: drop labels with fewer examples (over every row), as
                `kmlc.data.read_labeled_texts` does.
            backup_dir, callbacks: as `fit`.
            progress: a function given one line about the counting pass (the CLI prints it).

        Early stopping, thresholds, metrics, `save` and `export` are those of `fit`; it also
        sets `stream_info_` (rows, chunks, rows held out, ...) and `stream_validation_`
        (the validation texts and labels). With `label_groups`, the table has one label column
        per group (see `kmlc.streaming.TableStream`).
        """
        from kmlc.training.pipeline import fit  # imports Keras: not before the backend is chosen

        data = StreamedData(source, sample_rows=sample_rows, validation_rows=validation_rows,
                            shuffle_rows=shuffle_rows, min_label_count=min_label_count,
                            label_schema=self._label_space().schema, drop_invalid_rows=self.drop_invalid_rows)
        return fit(self, data, validation_data, backup_dir=backup_dir, callbacks=callbacks, progress=progress)

    def tune_thresholds(self, texts, labels, **settings):
        """Re-tunes the thresholds of a fitted model on labelled texts; returns self.

        Args:
            settings: threshold settings to change first (`threshold`, `threshold_metric`,
                `top_k`, `at_least_one`, `min_precision`).
        """
        self._check_fitted()
        allowed = {"threshold", "threshold_metric", "top_k", "at_least_one", "min_precision"}
        unknown = sorted(set(settings) - allowed)
        if unknown:
            raise KmlcInputError(f"Expected settings among {sorted(allowed)}, Received: {unknown}.")
        self.set_params(**{k: v for k, v in settings.items() if v is not None})
        self._validate_params()
        space = self._label_space()
        texts, labels, _ = space.check(check_texts(texts), labels, drop_invalid_rows=self.drop_invalid_rows)
        scores = self._scores(texts)
        self.thresholds_ = space.tune(self, self.label_encoder_, self.label_encoder_.transform(labels, unknown="ignore"),
                                      scores)
        return self

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise KmlcModelError(
                "Expected a fitted classifier, Received: one that was never fitted. Call fit() "
                "or kmlc.load() first."
            )

    # ------------------------------------------------------------------ predict

    def predict_logits(self, texts, batch_size=None):
        self._check_fitted()

        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels_)), dtype=np.float32)
        batch_size = batch_size or self._family().predict_batch_size
        # Keras' predict is not thread-safe (under JAX two threads fail with "Buffer has been
        # deleted or donated"): calls from several threads take turns, with exact results.
        with _PREDICT_LOCK:
            if hasattr(self.preprocessor_, "compiled") and len(texts) <= 4 * batch_size:
                return self._predict_logits_direct(texts, batch_size)
            # Cached (when it fits): vectorised first, so every batch gets one padded shape.
            ds = make_dataset(texts, self.preprocessor_, batch_size=batch_size, cache="auto")
            return np.asarray(self.model_.predict(ds, verbose=0), dtype=np.float32)

    def _predict_logits_direct(self, texts, batch_size):
        """Few texts: the preprocessor's traced function and the network's compiled predict
        step, without building (and re-tracing) a tf.data pipeline per call. Batches are
        padded to a power of two rows, so a compiled step sees few shapes."""
        import tensorflow as tf

        compiled = self.preprocessor_.compiled()
        outputs = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            rows = 1 << (len(chunk) - 1).bit_length()
            features = compiled(tf.constant(chunk + [""] * (rows - len(chunk))))
            features = tf.nest.map_structure(lambda t: t.numpy(), features)
            logits = self.model_.predict_on_batch(features)
            outputs.append(np.asarray(logits, dtype=np.float32)[: len(chunk)])
        return np.concatenate(outputs)

    def _scores(self, texts, batch_size=None):
        """Probabilities over every output column (a multiclass group's softmax)."""
        return self._label_space().probabilities(self.predict_logits(texts, batch_size=batch_size), self.label_encoder_)

    def predict_proba(self, texts, batch_size=None):
        """Probabilities [len(texts), len(labels_)], columns in the order of `labels_`.

        With `label_groups`: a dict {group: array [len(texts), group labels]}, softmax rows
        for a multiclass group.
        """
        return self._label_space().proba_output(self, self._scores(texts, batch_size))

    def predict(self, texts, batch_size=None):
        """The labels of each text: a list of label lists, by the tuned thresholds.

        With `label_groups`: one dict per text, {"global_score": "S2", "emotions": [...]}
        (a multiclass group's argmax label; a multi-label group's list).
        """
        return self._label_space().predict_output(self, self._scores(texts, batch_size))

    def prediction_records(self, texts, batch_size=None, digits=6):
        """One JSON-ready dict per text, as `kmlc predict` prints it: the text, its labels and
        every label's probability (per group, with a multiclass group's `confidence`)."""
        texts = check_texts(texts)
        return self._label_space().records(self, texts, self._scores(texts, batch_size), digits=digits)

    # ------------------------------------------------------------------ evaluate

    def evaluate(self, texts, labels):
        """The metric suite on labelled texts (see `kmlc.evaluation.evaluate`).

        Labels the model never saw in training count as missed positives: they are added as
        extra columns that are never predicted, and listed under `unseen_labels`. With label
        groups, `group_metrics` holds each group's own figures.
        """
        self._check_fitted()
        space = self._label_space()
        texts, labels, _ = space.check(check_texts(texts), labels, drop_invalid_rows=self.drop_invalid_rows)
        return self.with_training_overlap(space.evaluate(self, labels, self._scores(texts)), texts)

    def score(self, texts, labels):
        """Micro-F1 on labelled texts at the saved thresholds (`evaluate(...)["micro_f1"]`;
        with label groups, over every group's columns): what scikit-learn's model selection
        (`cross_val_score`, `GridSearchCV`) maximises when no `scoring` is given. Other
        figures: `kmlc.metrics.make_scorer`."""
        return float(self.evaluate(texts, labels)["micro_f1"])

    @property
    def baseline_metrics_(self):
        """With `baseline=True`: the linear baseline's figures (`metrics_["baseline"]`): what it
        is, its threshold, its seconds and its metrics per split (`validation` after `fit`;
        `kmlc train` adds `test`). `baseline_` is the fitted baseline itself, in the process
        that fitted it (`baseline_.evaluate(texts, labels)`; it is not saved with the model)."""
        if not hasattr(self, "metrics_"):
            raise AttributeError("baseline_metrics_: the classifier is not fitted")
        return self.metrics_.get("baseline")

    def with_training_overlap(self, metrics, texts):
        """Adds `texts_in_training` to `metrics`: how many of the evaluated `texts` occur
        word for word in this model's training data (known in the process that trained it;
        a loaded model does not keep its training texts, so there it is not added)."""
        known = getattr(self, "training_text_hashes_", None)
        if texts is not None and known is not None:
            metrics["texts_in_training"] = count_in(texts, known)
        return metrics

    def report(self, texts, labels, directory, title=None, *, overwrite=False):
        """Evaluates on labelled texts and writes the HTML/Markdown report with its plots
        (see `kmlc.report.write_report`; `overwrite` replaces a directory that holds other
        files); returns the metrics. A classifier fitted with `baseline=True` in this process
        shows the linear baseline's figures beside its own."""

        self._check_fitted()
        check_output(directory, REPORT_DIRECTORY, overwrite=overwrite)  # before predicting
        space = self._label_space()
        texts, labels, _ = space.check(check_texts(texts), labels, drop_invalid_rows=self.drop_invalid_rows)
        scores = self._scores(texts)
        metrics = self.with_training_overlap(space.evaluate(self, labels, scores), texts)
        baseline = getattr(self, "baseline_", None)
        y_true, y_pred, scores, names, counts, thresholds = space.report_arrays(self, labels, scores)
        write_report(
            directory,
            y_true=y_true,
            y_pred=y_pred,
            scores=np.clip(scores, 0.0, 1.0),
            label_names=names,
            train_counts=counts,
            thresholds=thresholds,
            history=getattr(self, "history_", None) or None,
            title=title or "kmlc evaluation report",
            group_cutoffs=tuple(self.group_cutoffs),
            metrics=metrics,
            baseline_metrics=baseline.evaluate(texts, labels) if baseline is not None else None,
            overwrite=overwrite,
        )
        return metrics

    # ------------------------------------------------------------------ persistence

    def save(self, directory, run_config=None, *, overwrite=False):
        """Writes the model directory atomically (see saved_models/README.md for the layout
        and `kmlc.persistence`).

        Args:
            run_config: the run's other settings (data paths, columns, split) to record in
                config.yaml beside the classifier's own settings.
            overwrite: replace `directory` even when it holds something other than a kmlc
                model (refused otherwise; a kmlc model directory is always replaced).
        """
        self._check_fitted()
        return save_model(self, directory, run_config=run_config, overwrite=overwrite)

    def export(self, path, version=None):
        """Writes a TensorFlow SavedModel for TensorFlow Serving in `path/<version>/`
        (raw strings in; probabilities and thresholded labels out) and returns that
        directory; `version` None takes 1, or the next free number. See
        `kmlc.export.export_model` and docs/serving.md."""

        return export_model(self, path, version=version)


# The signature of `__init__` is the table's: scikit-learn's `get_params`, `help()` and
# `inspect` read the settings from it.
TextClassifier.__init__.__signature__ = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
     inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=CLASSIFIER_SETTINGS[0].default)]
    + [inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=s.default) for s in CLASSIFIER_SETTINGS[1:]]
)


def load(directory):
    """Loads a model directory written by `TextClassifier.save` (never runs stored code)."""
    return load_model(TextClassifier, directory)
