"""TF-IDF n-grams (vectorised in tf.data) and an MLP whose first layer reads the sparse vector."""

from kmlc.errors import KmlcInputError
from kmlc.families.base import Family
from kmlc.families.wide_svm import fit_wide_svm
from kmlc.preprocessing import TfidfPreprocessor

# A sparse TF-IDF validation set whose entries x first-layer units are at most this many
# floats (256 MB of gathered kernel rows) is validated as one batch: one compiled shape.
ONE_BATCH_FLOATS = 2**26


# kmlc.models is imported where a network is built, not here: it imports Keras, and
# importing kmlc must leave the backend open (tests/test_imports.py).
class TfidfFamily(Family):
    name = "tfidf"
    # Few large steps (the wide SVM path carries what a linear model learns; the deep path
    # adds to it in a few epochs, or is left silent when no epoch beats the SVM alone).
    defaults = {"learning_rate": 1e-2, "batch_size": 256, "epochs": 5, "dropout": 0.2, "patience": 2}
    predict_batch_size = 256
    learns_vocabulary = True

    def check(self, settings):
        if not settings["hidden_units"] and settings["tfidf_input"] == "sparse":
            raise KmlcInputError(
                "Expected at least one hidden layer with tfidf_input='sparse' (no hidden layer needs "
                f"tfidf_input='dense'), Received: {settings['hidden_units']!r}."
            )

    def preprocessor(self, settings):
        return TfidfPreprocessor(
            # min_df None: 1 here; with the SVM wide path, 1 or 2 as it serves the SVM better.
            max_tokens=settings["max_tokens"], min_df=settings["min_df"] or 1, ngrams=settings["ngrams"],
            tokens=settings["tokens"], idf=settings["idf"], oov=settings["oov"],
            normalize=settings["normalize"],
            sublinear_tf=settings["sublinear_tf"], output=settings["tfidf_input"],
        )

    def network(self, settings, preprocessor, num_labels, seed):
        from kmlc.models import TfidfMLP

        return TfidfMLP(
            input_dim=preprocessor.output_dim,
            num_labels=num_labels,
            hidden_units=tuple(settings["hidden_units"]),
            input_scale=float(settings["input_scale"]),
            dropout=settings["dropout"],
            seed=seed,
            input_mode=settings["tfidf_input"],
            wide=settings["wide"],
            name="tfidf_mlp",
        )

    def for_data(self, settings, streamed):
        if settings["wide"] == "auto":
            return {**settings, "wide": "none" if streamed else "svm"}
        return settings

    def needs_training_rows(self, settings):
        return settings["wide"] == "svm"

    def fit_before_training(self, settings, preprocessor, training, validation, seed):
        if settings["wide"] != "svm":
            return preprocessor, None
        candidates = [preprocessor]
        fits = [fit_wide_svm(preprocessor, *training, *validation, C=settings["svm_c"], seed=seed)]
        if settings["min_df"] is None:
            # The n-grams of a single training text: kept (min_df 1) or not (2), whichever
            # serves the SVM better on the validation rows, at the C chosen for the first
            # (one more fit, not a second grid; an identical vocabulary is not fitted again).
            try:
                rarer = self.preprocessor({**settings, "min_df": 2}).adapt(training[0])
            except KmlcInputError:  # no n-gram is in two training texts: min_df 1 it is
                rarer = preprocessor
            if rarer.vectorizer.get_vocabulary() != preprocessor.vectorizer.get_vocabulary():
                candidates.append(rarer)
                fits.append(fit_wide_svm(rarer, *training, *validation, C=fits[0].C, seed=seed))
        best = max(range(len(fits)), key=lambda i: (fits[i].score, -i))
        fits[best].min_df_scores = {p.min_df: round(fit.score, 4) for p, fit in zip(candidates, fits)}
        fits[best].seconds = sum(fit.seconds for fit in fits)
        return candidates[best], fits[best]

    def initialize(self, network, prefit):
        if prefit is None:
            return None
        network.set_wide_path(prefit.kernel, prefit.bias)
        return prefit.summary()

    def optimizer(self, settings, total_steps):
        import keras

        return keras.optimizers.Adam(float(settings["learning_rate"]))

    def load_preprocessor(self, directory):
        return TfidfPreprocessor.load(directory)

    def validation_batch_entries(self, settings):
        if settings["tfidf_input"] != "sparse":
            return None
        return ONE_BATCH_FLOATS // max(int(settings["hidden_units"][0]), 1)

    def has_sparse_input(self, settings):
        return settings["tfidf_input"] == "sparse"


FAMILY = TfidfFamily()
