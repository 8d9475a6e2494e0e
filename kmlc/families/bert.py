"""A pretrained BERT encoder from KerasHub (offline presets), fine-tuned with a linear head."""

from kmlc.families.base import Family
from kmlc.preprocessing.bert import BertPreprocessor
from kmlc.presets import check_bert_preset, default_bert_preset, load_bert_backbone


# kmlc.models is imported where a network is built, not here: it imports Keras, and
# importing kmlc must leave the backend open (tests/test_imports.py).
class BertFamily(Family):
    name = "bert"
    defaults = {"learning_rate": 5e-5, "batch_size": 16, "epochs": 5, "dropout": 0.1, "patience": 2}
    predict_batch_size = 64  # a BERT batch stays modest, even without gradients
    learns_vocabulary = False

    def check(self, settings):
        check_bert_preset(settings["preset"] or default_bert_preset())

    def preprocessor(self, settings):
        return BertPreprocessor(
            preset=settings["preset"],
            sequence_length=settings["sequence_length"],
            long_docs=settings["long_docs"],
            max_windows=settings["max_windows"],
            window_overlap=settings["window_overlap"],
        )

    def network(self, settings, preprocessor, num_labels, seed):
        from kmlc.models.bert import BertMultiLabel

        dtype = None if settings["mixed_precision"] == "none" else f"mixed_{settings['mixed_precision']}"
        backbone = load_bert_backbone(settings["preset"] or default_bert_preset(), dtype=dtype)
        return BertMultiLabel(
            backbone,
            num_labels,
            pooling=settings["pooling"],
            dropout=settings["dropout"],
            freeze_backbone=settings["freeze_backbone"],
            windows=settings["long_docs"] == "windows",
            seed=seed,
            name="bert_multilabel",
        )

    def optimizer(self, settings, total_steps):
        from kmlc.models.bert import bert_optimizer

        return bert_optimizer(
            float(settings["learning_rate"]),
            total_steps=max(total_steps, 1),
            warmup_fraction=settings["warmup_fraction"],
            weight_decay=settings["weight_decay"],
            clipnorm=settings["clipnorm"],
        )

    def load_preprocessor(self, directory):
        import kmlc.models.bert  # noqa: F401  (registers the BERT network and keras-hub layers)

        return BertPreprocessor.load(directory)


FAMILY = BertFamily()
