"""TF-IDF n-grams (vectorised in tf.data) and an MLP whose first layer reads the sparse vector."""

from kmlc.errors import KmlcInputError
from kmlc.families.base import Family
from kmlc.preprocessing import TfidfPreprocessor

# A sparse TF-IDF validation set whose entries x first-layer units are at most this many
# floats (256 MB of gathered kernel rows) is validated as one batch: one compiled shape.
ONE_BATCH_FLOATS = 2**26


# kmlc.models is imported where a network is built, not here: it imports Keras, and
# importing kmlc must leave the backend open (tests/test_imports.py).
class TfidfFamily(Family):
    name = "tfidf"
    defaults = {"learning_rate": 1e-3, "batch_size": 32, "epochs": 40, "dropout": 0.5, "patience": 5}
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
            max_tokens=settings["max_tokens"], min_df=settings["min_df"], ngrams=settings["ngrams"],
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
