"""What a model family provides to the training pipeline and the estimator."""


class Family:
    """A model family. `settings` below is the classifier's resolved settings (a dict: every
    setting, the family defaults filled in).

    Attributes:
        name: the value of `TextClassifier(model=...)`, and the module's name.
        defaults: values of the settings left as None (`dropout`, `learning_rate`,
            `batch_size`, `epochs`, `patience`) for this family.
        predict_batch_size: rows per prediction batch (no gradients: larger than training's).
        learns_vocabulary: True when the preprocessor is adapted on the training texts (its
            vocabulary and weights); False when it comes ready-made (a pretrained tokenizer).
    """

    name = None
    defaults = {}
    predict_batch_size = 256
    learns_vocabulary = False

    def check(self, settings):
        """Refuses settings this family cannot train with (KmlcInputError), before any work."""

    def preprocessor(self, settings):
        """A new preprocessor (not adapted): strings in, the network's features out, in tf.data."""
        raise NotImplementedError

    def network(self, settings, preprocessor, num_labels, seed):
        """A new Keras network: the preprocessor's features in, `num_labels` logits out."""
        raise NotImplementedError

    def for_data(self, settings, streamed):
        """`settings` with the values that depend on how the data comes (`streamed`: in
        chunks, never whole in memory) made concrete."""
        return settings

    def needs_training_rows(self, settings):
        """True when `fit_before_training` reads the training rows at once (a stream cannot)."""
        return False

    def fit_before_training(self, settings, preprocessor, training, validation, seed):
        """What is fitted before the network, from the training and validation rows
        ((texts, {0, 1} label matrix) each; training is None for a stream): (the preprocessor
        to train with, `preprocessor` or one chosen instead, and a state for `initialize`)."""
        return preprocessor, None

    def initialize(self, network, prefit):
        """Sets the new `network`'s weights from `fit_before_training`'s state; returns what
        the run records of it (a dict), or None when nothing was fitted."""
        return None

    def optimizer(self, settings, total_steps):
        raise NotImplementedError

    def load_preprocessor(self, directory):
        """The preprocessor saved in `directory`; also registers the family's Keras classes,
        so that its saved network can be loaded."""
        raise NotImplementedError

    def validation_batch_entries(self, settings):
        """For a sparse input: the most entries a validation batch may hold to be one batch
        (one compiled step); None: batches of `predict_batch_size`."""
        return None

    def has_sparse_input(self, settings):
        """True when a batch's features are flat entries (not batch-leading): data-parallel
        training must split them per device."""
        return False
