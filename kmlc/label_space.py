"""How a classifier's labels map to its outputs: one multi-label set, or several label groups.

`label_space(label_groups, group_weights)` gives the `LabelSpace` of a classifier's settings:

* `FlatLabels`: one multi-label set (the plain model): label lists in, one sigmoid per label,
  one threshold policy, label lists out;
* `GroupedLabels`: a `kmlc.groups.LabelSchema` of multiclass and multi-label groups: labels
  as columns (or one dict per row) in, softmax inside a multiclass group and sigmoids
  elsewhere, a loss and thresholds per group, one dict per row out.

The training pipeline, the estimator and the command line ask the label space everything
that depends on the label layout (checking labels, encoding them, the loss and the training
metrics, tuning thresholds, probabilities, predictions, metrics, the files of a model
directory); nothing else tests which layout a classifier has.
"""

import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcDataWarning, KmlcInputError, KmlcModelError, _preview
from kmlc.labels import sigmoid


def label_space(label_groups=None, group_weights=None):
    """The label space of a classifier's `label_groups` / `group_weights` settings."""
    if label_groups is None:
        return FlatLabels()
    from kmlc.groups import LabelSchema

    return GroupedLabels(LabelSchema.parse(label_groups, group_weights))


def check_label_lists(labels, n, name="labels"):
    """One list of label strings per text (stripped, empty and repeated labels dropped)."""
    if labels is None or isinstance(labels, str):
        raise KmlcInputError(
            f"Expected {name} to be a list of label lists (e.g. [['a', 'b'], []]), "
            f"Received: {labels!r:.60}."
        )
    labels = list(labels)
    if len(labels) != n:
        raise KmlcInputError(
            f"Expected one label list per text ({n}), Received: {len(labels)} label lists."
        )
    out, bad = [], []
    for i, row in enumerate(labels):
        if isinstance(row, str) or not hasattr(row, "__iter__"):
            bad.append(i)
            out.append([])
            continue
        row = [str(label).strip() for label in row]
        out.append(list(dict.fromkeys(label for label in row if label)))
    if bad:
        raise KmlcInputError(
            f"Expected each row of {name} to be a list of strings, Received: a "
            f"{type(labels[bad[0]]).__name__} at position(s) {_preview(bad)}. A row with one "
            "label is ['label'], a row with none is []."
        )
    return out


def check_training_labels(train_labels, validation_unseen):
    """Refuses labels a model directory cannot store and says, before training, what the
    labels will do to the model and its metrics."""
    from kmlc.data import check_label_cardinality

    broken = sorted({label for row in train_labels for label in row if "\n" in label or "\r" in label})
    if broken:
        raise KmlcInputError(
            f"Expected labels without line breaks, Received: {len(broken)} label(s) such as "
            f"{_preview(broken, 3)}. Is the label column a free-text column?"
        )
    check_label_cardinality(train_labels, "the training labels")
    if validation_unseen:
        warnings.warn(
            f"{len(validation_unseen)} label(s) occur in the validation data but never in the "
            f"training data {_preview(sorted(validation_unseen))}: the model cannot predict them; "
            "they count as missed positives (validation metrics: `unseen_labels`).",
            KmlcDataWarning,
            stacklevel=4,
        )


def append_unseen_columns(label_lists, unseen_names, y_true, y_pred, scores, counts):
    """Appends one column per label never seen in training: its true positives from
    `label_lists`, never predicted, score -1 (below every probability, for the ranking
    metrics), training count 0. Returns (y_true as int8, y_pred, scores, counts)."""
    if unseen_names:
        column = {name: j for j, name in enumerate(unseen_names)}
        extra = np.zeros((len(label_lists), len(unseen_names)), dtype=np.float32)
        for i, row in enumerate(label_lists):
            for label in row:
                if label in column:
                    extra[i, column[label]] = 1.0
        y_true = np.concatenate([y_true, extra], axis=1)
        y_pred = np.concatenate([y_pred, np.zeros_like(extra, dtype=np.int8)], axis=1)
        scores = np.concatenate([scores, np.full(extra.shape, -1.0, np.float32)], axis=1)
        counts = np.concatenate([counts, np.zeros(len(unseen_names), dtype=np.asarray(counts).dtype)])
    return np.asarray(y_true).astype(np.int8), y_pred, scores, counts


def _multilabel_loss(clf, counts, n_rows, loss_params, y_train, label_rows):
    """A multi-label loss (`kmlc.losses.get_loss`) from the training matrix or, for a stream,
    from its label rows (the distribution-balanced loss's `mu="auto"` needs one of them)."""
    from kmlc.losses import auto_mu_from_rows, get_loss

    params = dict(loss_params)
    if y_train is None and label_rows is not None:
        params["mu"] = auto_mu_from_rows(label_rows[0], label_rows[1], counts)
    extra = {"y_train": y_train} if y_train is not None else {}
    return get_loss(clf.loss, class_counts=np.asarray(counts).tolist(), num_samples=n_rows, **extra, **params)


class LabelSpace:
    """The interface; see the module docstring. `clf` is a `TextClassifier` (its settings and
    fitted state); `labels` is what a user passes for several texts, in this layout's form."""

    grouped = False
    schema = None  # the `kmlc.groups.LabelSchema` of label groups (None: one label set)

    # --- data
    def read_table(self, source, *, text_columns, label_column, label_sep, drop_invalid_rows=False,
                   drop_duplicates=False, min_label_count=None):
        """A labelled table (a path or a DataFrame) as `kmlc.data.LabeledTexts`."""
        raise NotImplementedError

    def check(self, texts, labels, name="labels", drop_invalid_rows=False):
        """(texts, labels in the canonical form, notes): rows this layout cannot train on are
        refused, or dropped and noted."""
        raise NotImplementedError

    def subset(self, labels, indices):
        raise NotImplementedError

    def encoder(self):
        """A new, unfitted encoder of labels into a {0, 1} matrix over the output columns."""
        raise NotImplementedError

    def encoder_from_counts(self, counts, n_rows):
        """An encoder fitted from the counts of the output columns' names (a stream's)."""
        raise NotImplementedError

    def tokens(self, labels):
        """One list of output-column names per row (what a stream reads): the inverse of
        `from_tokens`."""
        raise NotImplementedError

    def from_tokens(self, token_lists):
        raise NotImplementedError

    def check_training(self, train_labels, validation_unseen):
        """Refusals and warnings about the training labels, before the network is built."""

    def record(self, clf):
        """Sets the layout's own fitted attributes of a classifier being fitted."""

    # --- the network's training
    def loss(self, clf, encoder, *, n_rows, loss_params, y_train=None, label_rows=None, sample=None, network=None,
             preprocessor=None):
        """The training loss. The label statistics it needs come as the training matrix
        `y_train`, or (a stream) as `label_rows`: (output column of every label occurrence,
        labels per row); `sample` is (texts, y) of training rows to measure initial losses on."""
        raise NotImplementedError

    def metrics(self, encoder, tuned):
        raise NotImplementedError

    def probabilities(self, logits, encoder):
        raise NotImplementedError

    def tune(self, clf, encoder, y, scores):
        raise NotImplementedError

    def settings_key(self):
        """What of the layout a run's fingerprint must include."""
        return None

    # --- outputs
    def evaluate(self, clf, labels, scores):
        """The metric suite (`kmlc.evaluation.evaluate`) plus what the layout adds."""
        raise NotImplementedError

    def report_arrays(self, clf, labels, scores):
        """(y_true, y_pred, scores, names, train counts, thresholds) for `kmlc.report`."""
        raise NotImplementedError

    def proba_output(self, clf, scores):
        raise NotImplementedError

    def predict_output(self, clf, scores):
        raise NotImplementedError

    def records(self, clf, texts, scores, digits=6):
        """What `kmlc predict` prints for each text."""
        raise NotImplementedError

    # --- the model directory
    def config_params(self, params):
        """The settings written to config.yaml."""
        return params

    def save(self, clf, directory):
        """Writes labels.txt and the layout's own files; returns training.json additions."""
        raise NotImplementedError

    def load(self, clf, directory, training, thresholds):
        """Fills a loaded classifier's label state from its model directory."""
        raise NotImplementedError


class FlatLabels(LabelSpace):
    """One multi-label set: `labels` is one list of label strings per text."""

    def read_table(self, source, *, text_columns, label_column, label_sep, drop_invalid_rows=False,
                   drop_duplicates=False, min_label_count=None):
        from kmlc.data import read_labeled_texts

        if isinstance(label_column, (list, tuple)):
            raise KmlcInputError(
                f"Expected one label column for a model without label groups, Received: {list(label_column)}."
            )
        return read_labeled_texts(
            source, text_columns=text_columns, label_column=label_column, label_sep=label_sep,
            drop_duplicates=drop_duplicates, min_label_count=min_label_count,
        )

    def check(self, texts, labels, name="labels", drop_invalid_rows=False):
        return texts, check_label_lists(labels, len(texts), name), []

    def subset(self, labels, indices):
        return [labels[i] for i in indices]

    def encoder(self):
        from kmlc.labels import LabelEncoder

        return LabelEncoder()

    def encoder_from_counts(self, counts, n_rows):
        from kmlc.labels import LabelEncoder

        return LabelEncoder.from_counts(counts, n_rows)

    def tokens(self, labels):
        return labels

    def from_tokens(self, token_lists):
        return token_lists

    def check_training(self, train_labels, validation_unseen):
        check_training_labels(train_labels, validation_unseen)

    def loss(self, clf, encoder, *, n_rows, loss_params, y_train=None, label_rows=None, sample=None, network=None,
             preprocessor=None):
        return _multilabel_loss(clf, encoder.counts_, n_rows, loss_params, y_train, label_rows)

    def metrics(self, encoder, tuned):
        from kmlc.training.metrics import f1_metrics

        return f1_metrics(encoder.num_labels, tuned=tuned)

    def probabilities(self, logits, encoder):
        return sigmoid(logits)

    def tune(self, clf, encoder, y, scores):
        from kmlc.thresholds import tune_thresholds

        return tune_thresholds(
            y, scores, strategy=clf.threshold, metric=clf.threshold_metric, top_k=clf.top_k,
            at_least_one=clf.at_least_one, min_precision=clf.min_precision,
        )

    def _arrays(self, clf, labels, scores):
        encoder = clf.label_encoder_
        unseen = encoder.unknown_labels(labels)
        y_true = encoder.transform(labels, unknown="ignore")
        y_pred = clf.thresholds_.apply(scores).astype(np.int8)
        y_true, y_pred, scores, counts = append_unseen_columns(
            labels, sorted(unseen), y_true, y_pred, scores, encoder.counts_
        )
        return y_true, y_pred, scores, list(clf.labels_) + sorted(unseen), counts, unseen

    def evaluate(self, clf, labels, scores):
        from kmlc.evaluation import evaluate

        y_true, y_pred, scores, names, counts, unseen = self._arrays(clf, labels, scores)
        result = evaluate(y_true, y_pred, scores, label_names=names, train_counts=counts,
                          group_cutoffs=tuple(clf.group_cutoffs))
        result["unseen_labels"] = {name: int(unseen[name]) for name in sorted(unseen)}
        result["unseen_label_positives"] = int(sum(unseen.values()))
        return result

    def report_arrays(self, clf, labels, scores):
        y_true, y_pred, scores, names, counts, _ = self._arrays(clf, labels, scores)
        thresholds = np.concatenate([clf.thresholds_.thresholds, np.full(len(names) - len(clf.labels_), np.nan)])
        return y_true, y_pred, scores, names, counts, thresholds

    def proba_output(self, clf, scores):
        return scores

    def predict_output(self, clf, scores):
        return clf.label_encoder_.inverse_transform(clf.thresholds_.apply(scores))

    def records(self, clf, texts, scores, digits=6):
        labels = self.predict_output(clf, scores)
        return [
            {"text": text, "labels": row_labels,
             "scores": {label: round(float(s), digits) for label, s in zip(clf.labels_, row_scores)}}
            for text, row_labels, row_scores in zip(texts, labels, scores)
        ]

    def config_params(self, params):
        # A plain model's config.yaml has no label-group settings.
        return {k: v for k, v in params.items() if k not in ("label_groups", "group_weights", "drop_invalid_rows")}

    def save(self, clf, directory):
        clf.label_encoder_.save(Path(directory) / "labels.txt")
        return {}

    def load(self, clf, directory, training, thresholds):
        from kmlc.labels import LabelEncoder
        from kmlc.thresholds import ThresholdPolicy

        clf.label_encoder_ = LabelEncoder.load(
            Path(directory) / "labels.txt", counts=training.get("class_counts"), n_samples=training.get("n_train")
        )
        clf.labels_ = list(clf.label_encoder_.vocabulary_)
        try:
            clf.thresholds_ = ThresholdPolicy.from_dict(thresholds)
        except (KeyError, TypeError, ValueError) as e:
            raise KmlcModelError(f"Expected valid thresholds in '{directory}', Received: {e}") from None


class GroupedLabels(LabelSpace):
    """Several label groups (`kmlc.groups`): `labels` is a mapping or DataFrame of one column
    per group, or one dict per row; the canonical form is {group: [label list per row]}."""

    grouped = True

    def __init__(self, schema):
        self.schema = schema

    def read_table(self, source, *, text_columns, label_column, label_sep, drop_invalid_rows=False,
                   drop_duplicates=False, min_label_count=None):
        from kmlc.groups import read_grouped_texts

        # The label columns are the groups' names.
        return read_grouped_texts(
            source, self.schema, text_columns, label_sep, drop_invalid_rows=drop_invalid_rows,
            drop_duplicates=drop_duplicates, min_label_count=min_label_count,
        )

    def check(self, texts, labels, name="labels", drop_invalid_rows=False):
        from kmlc.groups import check_multiclass_rows, normalize_group_labels

        columns = normalize_group_labels(labels, self.schema, len(texts), name=name)
        columns, keep, notes = check_multiclass_rows(columns, self.schema, drop=bool(drop_invalid_rows))
        return [texts[i] for i in keep], columns, notes

    def subset(self, labels, indices):
        from kmlc.groups import subset_columns

        return subset_columns(labels, indices)

    def encoder(self):
        from kmlc.groups import GroupedLabelEncoder

        return GroupedLabelEncoder(self.schema)

    def encoder_from_counts(self, counts, n_rows):
        from kmlc.groups import GroupedLabelEncoder

        return GroupedLabelEncoder.from_counts(self.schema, counts, n_rows)

    def tokens(self, labels):
        n = len(next(iter(labels.values())))
        return [[f"{g}:{label}" for g in self.schema.names for label in labels[g][i]] for i in range(n)]

    def from_tokens(self, token_lists):
        columns = {g: [[] for _ in token_lists] for g in self.schema.names}
        for i, row in enumerate(token_lists):
            for token in row:
                group, label = token.split(":", 1)
                columns[group][i].append(label)
        return columns

    def _layout(self, encoder, weights=None):
        return [{"name": g.name, "kind": g.kind, "start": encoder.slices_[g.name][0],
                 "stop": encoder.slices_[g.name][1], "weight": float((weights or {}).get(g.name, 1.0))}
                for g in self.schema]

    def loss(self, clf, encoder, *, n_rows, loss_params, y_train=None, label_rows=None, sample=None, network=None,
             preprocessor=None):
        from kmlc.groups import AUTO, initial_group_losses
        from kmlc.losses import GroupedLoss

        group_losses = {}
        for group in self.schema:
            if group.kind == "multilabel":
                a, b = encoder.slices_[group.name]
                rows = None
                if label_rows is not None:  # the group's own occurrences, its columns from 0
                    columns, lengths = label_rows
                    inside = (columns >= a) & (columns < b)
                    owner = np.repeat(np.arange(len(lengths)), lengths)
                    rows = (columns[inside] - a, np.bincount(owner[inside], minlength=len(lengths)))
                group_losses[group.name] = _multilabel_loss(
                    clf, encoder.counts_[a:b], n_rows, loss_params, None if y_train is None else y_train[:, a:b], rows
                )
        loss = GroupedLoss(self._layout(encoder), group_losses)
        info = {"mode": "fixed"}
        if self.schema.auto_weights:
            texts, y = sample
            initial, index = initial_group_losses(network, preprocessor, texts, y, loss, clf.seed)
            weights = {name: 1.0 / max(value, 1e-12) for name, value in initial.items()}
            info = {"mode": AUTO, "initial_losses": initial, "batch_rows": int(len(index)), "batch_seed": int(clf.seed)}
        else:
            weights = dict(zip(self.schema.names, self.schema.fixed_weights()))
        clf.group_weights_ = weights
        clf.group_training_info_ = {**info, "weights": dict(weights)}
        return loss.with_weights(weights)

    def metrics(self, encoder, tuned):
        from kmlc.training.metrics import GroupedF1Score

        layout = self._layout(encoder)
        return [GroupedF1Score(layout, "micro", tuned), GroupedF1Score(layout, "macro", tuned)]

    def probabilities(self, logits, encoder):
        from kmlc.groups import flat_probabilities

        return flat_probabilities(logits, self.schema, encoder.slices_)

    def tune(self, clf, encoder, y, scores):
        from kmlc.groups import GroupedThresholds

        return GroupedThresholds.tune(
            self.schema, encoder.slices_, y, scores, strategy=clf.threshold, metric=clf.threshold_metric,
            top_k=clf.top_k, at_least_one=clf.at_least_one, min_precision=clf.min_precision,
        )

    def settings_key(self):
        return self.schema.to_config()

    def record(self, clf):
        clf.label_schema_ = self.schema

    def _group_arrays(self, clf, columns, scores):
        """Per group: (y_true, y_pred, scores, names, counts, unseen, thresholds) with columns
        for labels never seen in training appended (never predicted)."""
        encoder, policy = clf.label_encoder_, clf.thresholds_
        pred_all = policy.apply(scores).astype(np.int8)
        out = {}
        for group in self.schema:
            a, b = encoder.slices_[group.name]
            sub = encoder.encoders_[group.name]
            rows = columns[group.name]
            unseen = sub.unknown_labels(rows)
            names = list(sub.vocabulary_) + sorted(unseen)
            y_true = sub.transform(rows, unknown="ignore")
            y_true, y_pred, s, counts = append_unseen_columns(
                rows, sorted(unseen), y_true, pred_all[:, a:b], scores[:, a:b], np.asarray(sub.counts_)
            )
            thresholds = np.concatenate([policy.thresholds[a:b], np.full(len(unseen), np.nan)])
            out[group.name] = (y_true, y_pred, s, names, counts, unseen, thresholds)
        return out

    def _flat_arrays(self, arrays):
        parts = [arrays[g] for g in self.schema.names]
        unseen = Counter()
        for g in self.schema.names:
            unseen.update({f"{g}:{k}": v for k, v in arrays[g][5].items()})
        return (
            np.concatenate([p[0] for p in parts], axis=1),
            np.concatenate([p[1] for p in parts], axis=1),
            np.concatenate([p[2] for p in parts], axis=1),
            [f"{g}:{n}" for g in self.schema.names for n in arrays[g][3]],
            np.concatenate([p[4] for p in parts]),
            unseen,
        )

    def evaluate(self, clf, labels, scores):
        from kmlc.evaluation import evaluate
        from kmlc.groups import multiclass_metrics

        cutoffs = tuple(clf.group_cutoffs)
        arrays = self._group_arrays(clf, labels, scores)
        per_group = {}
        for group in self.schema:
            y_true, y_pred, s, names, counts, unseen, _ = arrays[group.name]
            if group.kind == "multiclass":
                m = multiclass_metrics(y_true, y_pred, names, cutoffs, counts, s)
            else:
                m = {"kind": "multilabel", **evaluate(y_true, y_pred, s, label_names=names, train_counts=counts,
                                                      group_cutoffs=cutoffs)}
            m["weight"] = float((getattr(clf, "group_weights_", None) or {}).get(group.name, 1.0))
            m["unseen_labels"] = {name: int(unseen[name]) for name in sorted(unseen)}
            per_group[group.name] = m
        y_true, y_pred, s, names, counts, unseen = self._flat_arrays(arrays)
        result = evaluate(y_true, y_pred, s, label_names=names, train_counts=counts, group_cutoffs=cutoffs)
        result["unseen_labels"] = {name: int(unseen[name]) for name in sorted(unseen)}
        result["unseen_label_positives"] = int(sum(unseen.values()))
        result["label_schema"] = [{"name": g.name, "kind": g.kind} for g in self.schema]
        result["group_metrics"] = per_group
        return result

    def report_arrays(self, clf, labels, scores):
        arrays = self._group_arrays(clf, labels, scores)
        y_true, y_pred, s, names, counts, _ = self._flat_arrays(arrays)
        thresholds = np.concatenate([arrays[g][6] for g in self.schema.names])
        return y_true, y_pred, s, names, counts, thresholds

    def proba_output(self, clf, scores):
        return {g: scores[:, a:b] for g, (a, b) in clf.label_encoder_.slices_.items()}

    def predict_output(self, clf, scores):
        return clf.label_encoder_.inverse_transform(clf.thresholds_.apply(scores))

    def records(self, clf, texts, scores, digits=6):
        predictions = self.predict_output(clf, scores)
        encoder = clf.label_encoder_
        records = []
        for i, (text, row) in enumerate(zip(texts, predictions)):
            record = {"text": text, **row, "confidence": {}, "scores": {}}
            for group in self.schema:
                a, b = encoder.slices_[group.name]
                vocab = encoder.encoders_[group.name].vocabulary_
                record["scores"][group.name] = {label: round(float(p), digits) for label, p in zip(vocab, scores[i, a:b])}
                if group.kind == "multiclass":
                    record["confidence"][group.name] = round(float(scores[i, a:b].max()), digits)
            records.append(record)
        return records

    def config_params(self, params):
        # Plain values (YAML-safe): ["name:kind", ...] and a list of floats or "auto".
        return {**params, **self.schema.to_config()}

    def save(self, clf, directory):
        from kmlc.groups import save_group_files

        clf.label_encoder_.save(Path(directory) / "labels.txt")
        save_group_files(clf, directory)
        return {"label_groups": clf.group_training_info_} if hasattr(clf, "group_training_info_") else {}

    def load(self, clf, directory, training, thresholds):
        from kmlc.groups import load_group_state

        load_group_state(clf, self.schema, directory, training, thresholds)
