"""The TF-IDF multi-layer perceptron."""

import keras


@keras.saving.register_keras_serializable(package="kmlc")
class TfidfMLP(keras.Model):
    """TF-IDF vector -> hidden ReLU layers with dropout -> one logit per label.

    Args:
        input_dim: width of the TF-IDF vector (the vectorizer's vocabulary size).
        num_labels: number of output logits.
        hidden_units: sizes of the hidden layers.
        dropout: dropout rate after each hidden layer.
        seed: seed of the kernel initialisers and dropout masks.
    """

    def __init__(self, input_dim, num_labels, hidden_units=(512, 256), dropout=0.5, seed=0, **kwargs):
        # === Layers ===
        hidden_layers = [
            keras.layers.Dense(
                units,
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
                name=f"hidden_{i}",
            )
            for i, units in enumerate(hidden_units)
        ]
        dropout_layers = [
            keras.layers.Dropout(dropout, seed=seed + 100 + i, name=f"dropout_{i}")
            for i in range(len(hidden_units))
        ]
        logits_layer = keras.layers.Dense(
            num_labels,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1000),
            name="logits",
        )

        # === Functional model ===
        inputs = keras.Input(shape=(input_dim,), name="tfidf")
        x = inputs
        for dense, drop in zip(hidden_layers, dropout_layers):
            x = drop(dense(x))
        logits = logits_layer(x)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)

        # === Config ===
        self.input_dim = int(input_dim)
        self.num_labels = int(num_labels)
        self.hidden_units = [int(u) for u in hidden_units]
        self.dropout = float(dropout)
        self.seed = int(seed)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_dim": self.input_dim,
            "num_labels": self.num_labels,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
