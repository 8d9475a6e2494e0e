"""The one training pipeline: every `fit` of every model goes through `fit` below.

    data source      in memory, or streamed                    (kmlc.training.sources)
      -> labels      one multi-label set, or label groups       (kmlc.label_space)
      -> family      preprocessor, network, optimiser; weights
                     fitted before training (the SVM wide path)  (kmlc.families)
      -> loop        early stopping, NaN guard, backup/resume,
                     interrupts, data-parallel devices          (kmlc.training.loop, .distribute)
      -> thresholds  tuned on the validation rows               (the label space)
      -> metrics     on the validation rows                     (the label space)
      -> baseline    the linear baseline on the same rows, to
                     compare with (`baseline=True`)             (kmlc.baselines)

Each stage asks its own object for what differs (a stream counts in one pass what memory
counts at once; a label group has its own loss); the order of the stages, the seeding and
the bookkeeping are written once, here, so every combination (label groups from a stream,
data-parallel label groups, a resumed stream) takes the same path.
"""

import contextlib
import hashlib
import json
import time

import keras

from kmlc.backend import configure_runtime
from kmlc.baselines import BaselineNotFitted, FittedBaseline
from kmlc.errors import KmlcInputError
from kmlc.families import get_family
from kmlc.label_space import label_space
from kmlc.preprocessing import make_dataset
from kmlc.training.distribute import plan_data_parallel
from kmlc.training.loop import train_network


def fit(clf, data, validation_data=None, *, backup_dir=None, callbacks=None, progress=None):
    """Trains `clf` (a `TextClassifier`) on `data` (an `InMemoryData` or a `StreamedData`) and
    sets its fitted attributes; returns `clf`."""
    clf._validate_params()
    configure_runtime()  # before the first TensorFlow op, or thread settings are ignored
    family, space = get_family(clf.model), label_space(clf.label_groups, clf.group_weights)
    settings = family.for_data(clf.resolved_params(), data.streamed)
    distribution = plan_data_parallel(clf.distribute, family.has_sparse_input(settings), settings["batch_size"])
    if data.streamed and family.needs_training_rows(settings):
        raise KmlcInputError(
            "Expected in-memory training data (fit) with wide='svm', whose SVM is fitted on all training rows "
            "at once, Received: a stream. Use wide='none' or 'joint' (--wide) for a stream."
        )
    data.split(clf, space, validation_data)
    if distribution is not None and data.n_rows is not None:  # a stream counts its rows below
        distribution.check_training_rows(data.n_rows)

    keras.utils.set_random_seed(clf.seed)
    started = time.perf_counter()
    preprocessor = family.preprocessor(settings)
    encoder = data.fit_labels(clf, space, preprocessor)
    if distribution is not None:
        distribution.check_training_rows(data.n_rows)
    clf.label_encoder_, clf.labels_, clf.data_notes_ = encoder, list(encoder.vocabulary_), data.notes
    space.record(clf)
    y_val = encoder.transform(data.val_labels, unknown="ignore")
    clf.validation_unseen_labels_ = dict(encoder.unknown_labels(data.val_labels))
    space.check_training(data.training_labels_for_checks(), clf.validation_unseen_labels_)
    if progress is not None and data.summary(clf):
        progress(data.summary(clf))
    # What the family fits before the network (the SVM wide path), and the vocabulary it chose.
    preprocessor, prefit = family.fit_before_training(settings, preprocessor, data.in_memory_training(),
                                                      (data.val_texts, y_val), clf.seed)
    clf.preprocessor_ = preprocessor

    batch_size, tuned = settings["batch_size"], clf.threshold != "fixed"
    # With data-parallel training, the network's variables go on every device.
    with distribution.scope() if distribution is not None else contextlib.nullcontext():
        network = family.network(settings, preprocessor, encoder.num_labels, clf.seed)
        clf.loss_ = space.loss(clf, encoder, network=network, preprocessor=preprocessor,
                               **data.loss_statistics(clf, space, encoder))
        # The network starts as that fit; after the loss, whose "auto" group weights are the
        # inverse losses of the untrained network (the fitted path would set them from its
        # training loss, nearly 0).
        clf.initial_fit_ = family.initialize(network, prefit)
        steps = data.steps_per_epoch(batch_size, distribution)
        network.compile(
            optimizer=family.optimizer(settings, total_steps=steps * settings["epochs"]),
            loss=clf.loss_,
            metrics=space.metrics(encoder, tuned),
        )
    train_ds = data.training_dataset(preprocessor, encoder, batch_size, clf.seed)
    val_ds = validation_dataset(family, settings, data.val_texts, y_val, preprocessor)
    if distribution is not None:
        train_ds = distribution.training_dataset(train_ds, data.n_rows)
        distribution.validate_with(val_ds, lambda copy: copy.compile(loss=clf.loss_, metrics=space.metrics(encoder, tuned)))
    fingerprint = None
    if backup_dir is not None:
        fingerprint = run_fingerprint(settings, space.settings_key(), data.identity(), data.val_texts, data.val_labels)
    run = train_network(
        network, train_ds, val_ds, epochs=settings["epochs"], patience=settings["patience"], verbose=clf.verbose,
        backup_dir=backup_dir, callbacks=callbacks, fingerprint=fingerprint, distribution=distribution,
        divergence_hint=divergence_hint(clf, settings), keep_start=clf.initial_fit_ is not None,
    )
    clf.model_, clf.history_, clf.best_epoch_ = run.model, run.history, run.best_epoch
    clf.resumed_from_epoch_, clf.distribution_ = run.resumed_from_epoch, run.distribution

    clf.n_train_ = data.n_rows
    clf.training_text_hashes_ = data.training_text_hashes()
    val_scores = space.probabilities(clf.predict_logits(data.val_texts), encoder)
    clf.thresholds_ = space.tune(clf, encoder, y_val, val_scores)
    # The whole fit: vocabulary, training and threshold tuning (what the baseline's time counts too).
    clf.train_seconds_ = time.perf_counter() - started
    clf.metrics_ = {"validation": clf.with_training_overlap(space.evaluate(clf, data.val_labels, val_scores),
                                                             data.val_texts)}
    if clf.initial_fit_ is not None:
        clf.metrics_["wide_svm"] = clf.initial_fit_
    data.record(clf)
    fit_baseline(clf, space, data, y_val)
    return clf


def fit_baseline(clf, space, data, y_val):
    """With `baseline=True`: the linear baseline fitted on the same training rows, its
    threshold tuned on the same validation rows (`clf.baseline_`), its figures in
    `clf.metrics_["baseline"]`; a stream, or data it cannot learn from, is noted there instead."""
    clf.baseline_ = None
    if not clf.baseline:
        return
    training = data.in_memory_training()
    if training is None:
        clf.metrics_["baseline"] = {"skipped": "a stream is never whole in memory, and the baseline needs it"}
        return
    try:
        clf.baseline_ = FittedBaseline.fit(clf, space, *training, data.val_texts, data.val_labels, y_val)
    except BaselineNotFitted as e:
        clf.metrics_["baseline"] = {"skipped": f"scikit-learn could not fit it: {e}"}
        return
    clf.metrics_["baseline"] = {**clf.baseline_.summary(), "validation": clf.baseline_.validation_metrics_}


def validation_dataset(family, settings, texts, y, preprocessor):
    """The validation batches: vectorised once (cached when it fits) and, for a sparse input,
    one batch while it holds at most the family's entry budget (one compiled validation step
    instead of a full and a partial batch; see `make_dataset`)."""
    return make_dataset(
        texts, preprocessor, y, batch_size=family.predict_batch_size, cache="auto",
        one_batch_entries=family.validation_batch_entries(settings),
    )


def run_fingerprint(settings, layout, identity, val_texts, val_labels):
    """A digest of a run's backend, settings, label layout and data: a backup only resumes
    the run it came from (verbosity changes nothing)."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in settings.items() if k != "verbose"}
    digest.update(json.dumps([keras.backend.backend(), settings, layout], sort_keys=True, default=str).encode())
    for part in (*identity, val_texts, val_labels):
        digest.update(json.dumps(part, ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def divergence_hint(clf, settings):
    """What a NaN training loss most likely comes from, and the flag that changes it."""
    lr = settings["learning_rate"]
    hint = f"The learning rate ({lr:g}) is the likely cause: try {lr / 10:g} (--learning-rate)"
    if clf.loss != "bce" or clf.loss_params:
        params = f" with parameters {dict(clf.loss_params)}" if clf.loss_params else ""
        hint += f"; or the loss '{clf.loss}'{params} does not suit this data (--loss / --loss-param)"
    return hint + "."
