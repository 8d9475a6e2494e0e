"""The `LabelSpace` interface (see `kmlc.label_space`) and the multi-label loss that both
layouts build (the whole output for `FlatLabels`, each multi-label group for `GroupedLabels`).
"""

import numpy as np


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
