"""`GroupedLabels`: a `kmlc.groups.LabelSchema` of multiclass and multi-label groups, a loss
and thresholds per group, one dict per row out; the pieces are in `kmlc.groups`.
"""

from collections import Counter
from pathlib import Path

import numpy as np

from kmlc.evaluation import evaluate
from kmlc.groups import (
    AUTO,
    GroupedLabelEncoder,
    GroupedThresholds,
    check_multiclass_rows,
    flat_probabilities,
    initial_group_losses,
    load_group_state,
    multiclass_metrics,
    normalize_group_labels,
    read_grouped_texts,
    save_group_files,
    subset_columns,
)
from kmlc.label_space.base import LabelSpace, _multilabel_loss
from kmlc.label_space.checks import append_unseen_columns


class GroupedLabels(LabelSpace):
    """Several label groups (`kmlc.groups`): `labels` is a mapping or DataFrame of one column
    per group, or one dict per row; the canonical form is {group: [label list per row]}."""

    grouped = True

    def __init__(self, schema):
        self.schema = schema

    def read_table(self, source, *, text_columns, label_column, label_sep, drop_invalid_rows=False,
                   drop_duplicates=False, min_label_count=None):
        # The label columns are the groups' names.
        return read_grouped_texts(
            source, self.schema, text_columns, label_sep, drop_invalid_rows=drop_invalid_rows,
            drop_duplicates=drop_duplicates, min_label_count=min_label_count,
        )

    def check(self, texts, labels, name="labels", drop_invalid_rows=False):
        columns = normalize_group_labels(labels, self.schema, len(texts), name=name)
        columns, keep, notes = check_multiclass_rows(columns, self.schema, drop=bool(drop_invalid_rows))
        return [texts[i] for i in keep], columns, notes

    def subset(self, labels, indices):
        return subset_columns(labels, indices)

    def encoder(self):
        return GroupedLabelEncoder(self.schema)

    def encoder_from_counts(self, counts, n_rows):
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
        from kmlc.metrics import GroupedF1Score

        layout = self._layout(encoder)
        return [GroupedF1Score(layout, "micro", tuned), GroupedF1Score(layout, "macro", tuned)]

    def probabilities(self, logits, encoder):
        return flat_probabilities(logits, self.schema, encoder.slices_)

    def tune(self, clf, encoder, y, scores):
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
        clf.label_encoder_.save(Path(directory) / "labels.txt")
        save_group_files(clf, directory)
        return {"label_groups": clf.group_training_info_} if hasattr(clf, "group_training_info_") else {}

    def load(self, clf, directory, training, thresholds):
        load_group_state(clf, self.schema, directory, training, thresholds)
