"""A model directory: writing it (atomically, with checksums) and reading it back without
running anything stored in it. The layout is in saved_models/README.md."""

import hashlib
import json
import warnings
from pathlib import Path

import yaml

from kmlc.backend import configure_runtime
from kmlc.errors import KmlcInputError, KmlcModelError
from kmlc.families import get_family
from kmlc.io import atomic_directory, write_json
from kmlc.outputs import MODEL_DIRECTORY
from kmlc.settings import CLASSIFIER_SETTINGS
from kmlc.version import __version__

FORMAT_VERSION = 1
MODEL_FILES = ("kmlc.json", "config.yaml", "labels.txt", "thresholds.json", "training.json", "model.keras")


def save_model(clf, directory, run_config=None, overwrite=False):
    """Writes the fitted classifier `clf` to `directory` (see `TextClassifier.save`)."""
    import keras  # not at the top: the backend is chosen after kmlc is imported

    with atomic_directory(directory, MODEL_DIRECTORY, overwrite=overwrite) as tmp:
        write_json(
            tmp / "kmlc.json",
            {
                "format_version": FORMAT_VERSION,
                "kmlc_version": __version__,
                "model_family": clf.model,
                "trained_on_backend": keras.backend.backend(),
                "keras_version": keras.__version__,
            },
        )
        space = clf._label_space()
        (tmp / "config.yaml").write_text(
            yaml.safe_dump({**(run_config or {}), **space.config_params(clf.resolved_params())}, sort_keys=False),
            encoding="utf-8",
        )
        extra = space.save(clf, tmp)  # labels.txt and the layout's own files
        write_json(tmp / "thresholds.json", clf.thresholds_.to_dict())
        write_json(
            tmp / "training.json",
            {
                "n_train": clf.n_train_,
                "class_counts": clf.label_encoder_.counts_.tolist(),
                "loss": keras.saving.serialize_keras_object(clf.loss_),
                "best_epoch": getattr(clf, "best_epoch_", None),
                "train_seconds": getattr(clf, "train_seconds_", None),
                "history": getattr(clf, "history_", {}),
                **({"distribution": clf.distribution_} if getattr(clf, "distribution_", None) else {}),
                **extra,
            },
        )
        clf.preprocessor_.save(tmp / "preprocessor")
        # A fresh, uncompiled copy: the saved file holds the network, not the optimiser.
        network = clf.model_.__class__.from_config(clf.model_.get_config())
        network.set_weights(clf.model_.get_weights())
        network.save(tmp / "model.keras")
        if getattr(clf, "metrics_", None):
            write_json(tmp / "metrics.json", clf.metrics_)
        _write_checksums(tmp)
    return Path(directory)


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_checksums(directory):
    """Records the SHA-256 of every file of a model directory in kmlc.json, so `load` can
    tell a file altered or truncated after saving from a good one."""
    directory = Path(directory)
    info = json.loads((directory / "kmlc.json").read_text(encoding="utf-8"))
    info["files"] = {
        path.relative_to(directory).as_posix(): _file_digest(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != "kmlc.json"
    }
    (directory / "kmlc.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")


def _verify_checksums(directory, info):
    files = info.get("files")
    if files is None:
        return  # saved before checksums were recorded
    if not isinstance(files, dict):
        raise KmlcModelError(f"Expected a file list in '{directory / 'kmlc.json'}', Received: {type(files).__name__}.")
    for name, expected in files.items():
        path = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise KmlcModelError(f"Expected file names inside the model directory, Received: {name!r} in kmlc.json.")
        if not path.is_file():
            raise KmlcModelError(
                f"Expected a complete model directory, Received: '{directory}' without ['{name}']. "
                "Train it again or copy the whole directory."
            )
        if _file_digest(path) != expected:
            raise KmlcModelError(
                f"Expected '{name}' as it was saved, Received: a file that was altered or truncated "
                f"since (its SHA-256 differs from kmlc.json) in '{directory}'. Restore the file, or "
                "train (or `kmlc tune`) again."
            )


def load_model(cls, directory):
    """A `cls` (`TextClassifier`) loaded from a model directory written by `save_model`;
    nothing stored is executed."""
    import keras

    import kmlc.losses  # noqa: F401  (registers the loss classes for deserialisation)
    import kmlc.models  # noqa: F401

    directory = Path(directory)
    if not directory.is_dir():
        raise KmlcModelError(
            f"Expected a model directory written by `kmlc train` or `clf.save`, Received: "
            f"'{directory}' (not a directory)."
        )
    missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
    if missing or not (directory / "preprocessor").is_dir():
        raise KmlcModelError(
            f"Expected a complete model directory, Received: '{directory}' without "
            f"{missing or ['preprocessor/']}. Train it again or copy the whole directory."
        )

    def read(name, parse):
        try:
            return parse((directory / name).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise KmlcModelError(
                f"Expected a readable '{name}' in '{directory}', Received: a damaged file "
                f"({type(e).__name__}). Train the model again or restore the file."
            ) from None

    info = read("kmlc.json", json.loads)
    if not isinstance(info, dict) or info.get("format_version") != FORMAT_VERSION:
        raise KmlcModelError(
            f"Expected model format version {FORMAT_VERSION}, Received: "
            f"{info.get('format_version') if isinstance(info, dict) else info!r} in '{directory}'."
        )
    _verify_checksums(directory, info)
    config = read("config.yaml", yaml.safe_load)
    if not isinstance(config, dict):
        raise KmlcModelError(f"Expected settings in '{directory / 'config.yaml'}', Received: {config!r:.60}.")
    params = {name: config[name] for name in cls._get_param_names() if name in config}
    # A setting added after the model was saved: the value it was trained with, not today's default.
    params.update({s.name: s.extra["absent"] for s in CLASSIFIER_SETTINGS
                   if "absent" in s.extra and s.name not in config})
    training = read("training.json", json.loads)
    thresholds = read("thresholds.json", json.loads)
    try:
        clf = cls(**params)
    except TypeError as e:
        raise KmlcModelError(f"Expected known settings in config.yaml, Received: {e}.") from None

    configure_runtime()
    clf._label_space().load(clf, directory, training, thresholds)
    try:
        family = get_family(info.get("model_family", clf.model))
    except KmlcInputError as e:
        raise KmlcModelError(f"Expected a model family kmlc knows in '{directory}', Received: {e}") from None
    clf.preprocessor_ = family.load_preprocessor(directory / "preprocessor")
    if "tfidf_input" not in config and hasattr(clf.preprocessor_, "output"):
        clf.tfidf_input = clf.preprocessor_.output  # a model saved before the setting existed
    try:
        clf.model_ = keras.saving.load_model(directory / "model.keras", compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - a damaged archive can fail in many ways
        raise KmlcModelError(
            f"Expected a readable Keras model in '{directory / 'model.keras'}', Received: a file "
            f"that cannot be loaded ({type(e).__name__}). Train the model again or restore it."
        ) from None
    if clf.model_.output_shape[-1] != len(clf.labels_) or len(clf.thresholds_.thresholds) != len(clf.labels_):
        raise KmlcModelError(
            f"Expected the network, labels.txt and thresholds.json to agree on the number of "
            f"labels, Received: {clf.model_.output_shape[-1]}, {len(clf.labels_)} and "
            f"{len(clf.thresholds_.thresholds)} in '{directory}'."
        )
    clf.n_train_ = training.get("n_train")
    clf.history_ = training.get("history", {})
    clf.best_epoch_ = training.get("best_epoch")
    clf.distribution_ = training.get("distribution")
    if (directory / "metrics.json").is_file():
        clf.metrics_ = read("metrics.json", json.loads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.loss_ = keras.saving.deserialize_keras_object(training["loss"], safe_mode=True) if training.get("loss") else None
    return clf
