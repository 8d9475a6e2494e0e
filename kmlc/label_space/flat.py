"""`FlatLabels`: one multi-label set, one sigmoid per label, one threshold policy."""

from pathlib import Path

import numpy as np

from kmlc.data import read_labeled_texts
from kmlc.errors import KmlcInputError, KmlcModelError
from kmlc.evaluation import evaluate
from kmlc.label_space.base import LabelSpace, _multilabel_loss
from kmlc.label_space.checks import (
    append_unseen_columns,
    check_label_lists,
    check_training_labels,
)
from kmlc.labels import LabelEncoder, sigmoid
from kmlc.thresholds import ThresholdPolicy, tune_thresholds


class FlatLabels(LabelSpace):
    """One multi-label set: `labels` is one list of label strings per text."""

    def read_table(self, source, *, text_columns, label_column, label_sep, drop_invalid_rows=False,
                   drop_duplicates=False, min_label_count=None):
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
        return LabelEncoder()

    def encoder_from_counts(self, counts, n_rows):
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
        from kmlc.metrics import f1_metrics

        return f1_metrics(encoder.num_labels, tuned=tuned)

    def probabilities(self, logits, encoder):
        return sigmoid(logits)

    def tune(self, clf, encoder, y, scores):
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
        clf.label_encoder_ = LabelEncoder.load(
            Path(directory) / "labels.txt", counts=training.get("class_counts"), n_samples=training.get("n_train")
        )
        clf.labels_ = list(clf.label_encoder_.vocabulary_)
        try:
            clf.thresholds_ = ThresholdPolicy.from_dict(thresholds)
        except (KeyError, TypeError, ValueError) as e:
            raise KmlcModelError(f"Expected valid thresholds in '{directory}', Received: {e}") from None
