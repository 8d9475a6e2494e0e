"""Export a fitted TextClassifier as a TensorFlow SavedModel for TensorFlow Serving.

The SavedModel is self-contained: raw strings in, probabilities and thresholded labels out.
The preprocessor (TF-IDF vectorizer or BERT tokenizer), the network, the label vocabulary
and the threshold policy are all inside, so the serving process needs TensorFlow (and
TF-Text's ops for BERT, part of TensorFlow Serving's standard build) but no Python package
of kmlc, Keras or keras-hub. docs/serving.md is the contract.

Layout (TensorFlow Serving's): `PATH/<version>/saved_model.pb` and `variables/`, with
`version` 1 for a new PATH and the next free number after that. A version directory is
written beside its final name (hidden, non-numeric, so TF Serving ignores it) and renamed
into place, so a server polling PATH never sees half a model.

Signatures:
  serving_default: `text` tf.string [None] ->
      probabilities float32 [None, L], labels tf.string [None, M] ("" padded),
      label_mask bool [None, M], num_labels_predicted int32 [None]
      (M: the largest number of labels predicted for a text of the batch).
  With label groups (kmlc.groups), serving_default returns instead, per group G:
      G_probabilities float32 [None, L_G], and G_label tf.string [None] (multiclass, argmax)
      or G_labels tf.string [None, M_G] + G_label_mask bool [None, M_G] (multi-label).
  metadata: `unused` int32 [] (TF Serving's REST API needs an input) -> the label
      vocabulary, the thresholds and the policy's settings, the model family, versions.

Run as `python -m kmlc.export --model DIR --out PATH [--version N]`: the PyTorch backend
uses that, under KERAS_BACKEND=tensorflow in a subprocess (a torch network cannot be traced
into a TensorFlow graph).
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcInputError, KmlcModelError
from kmlc.groups import output_groups
from kmlc.io import atomic_directory
from kmlc.outputs import EXPORT_BASE, EXPORT_VERSION, check_output
from kmlc.thresholds import ThresholdPolicy
from kmlc.version import __version__

SERVING_SIGNATURE = "serving_default"
METADATA_SIGNATURE = "metadata"
INPUT_NAME = "text"
OUTPUT_NAMES = ("probabilities", "labels", "label_mask", "num_labels_predicted")
# The numeric network is an endpoint of its own (ExportArchive makes every endpoint a
# signature): features (the preprocessor's output) -> logits.
NETWORK_SIGNATURE = "features_to_logits"
_VERSION_DIR = re.compile(r"^[0-9]+$")


# ----------------------------------------------------------------------------- layout


def _check_version(version):
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise KmlcInputError(f"Expected version to be a positive integer or None, Received: {version!r}.")
    return int(version)


def existing_versions(path):
    """The numeric version directories under `path` (TF Serving's layout), sorted."""
    path = Path(path)
    if not path.is_dir():
        return []
    return sorted(int(p.name) for p in path.iterdir() if p.is_dir() and _VERSION_DIR.match(p.name))


def resolve_version(path, version=None, flag=None):
    """The version directory to write: `version`, or 1 + the highest one present (1 when
    none); a clear error when `path` is a file or not writable, or `version` already exists."""

    path = check_output(path, EXPORT_BASE, flag=flag)
    version = _check_version(version)
    present = existing_versions(path)
    if version is None:
        return (present[-1] + 1) if present else 1
    if version in present:
        raise KmlcInputError(
            f"Expected a version that does not exist yet under '{path}', Received: {version} "
            f"(present: {present}). Omit the version to take the next one ({present[-1] + 1})."
        )
    return version


# ----------------------------------------------------------------------------- public API


def export_model(clf, path, version=None):
    """Writes `clf` as a SavedModel in `path/<version>/`; returns that directory.

    Args:
        clf: a fitted (or loaded) `kmlc.TextClassifier`.
        path: the model's base directory (TF Serving's `--model_base_path`).
        version: the version number; None takes 1, or the next free number.
    """
    import keras

    clf._check_fitted()
    # A model with label groups (kmlc.groups) gets per-group outputs (see build_archive).
    version = resolve_version(path, version)
    if keras.backend.backend() == "torch":
        return _export_in_subprocess(clf, path, version)
    return _write(clf, Path(path), version)


def _write(clf, path, version):
    target = path / str(version)
    # A version directory is never replaced (a server may be reading it).
    with atomic_directory(target, EXPORT_VERSION) as tmp:
        archive = build_archive(clf)
        archive.write_out(str(tmp), verbose=False)
    return target


def _export_in_subprocess(clf, path, version):
    """PyTorch backend: save the classifier, export it from a TensorFlow-backend process."""
    with tempfile.TemporaryDirectory(prefix="kmlc-export-") as tmp:
        model_dir = Path(tmp) / "model"
        clf.save(model_dir)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        # The command line's own export (it loads the saved model under the TensorFlow backend).
        command = [
            sys.executable, "-m", "kmlc.cli", "export", "--model", str(model_dir), "--out", str(Path(path).resolve()),
            "--version", str(version),
        ]
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise KmlcModelError(
                "Expected the TensorFlow backend to export the model (a PyTorch network cannot "
                f"be traced into a TensorFlow graph), Received: a failure ({tail[0]}). Save the "
                "model with clf.save(DIR) and run `KERAS_BACKEND=tensorflow kmlc export --model "
                "DIR --out PATH` (tensorflow must be installed)."
            )
    return Path(path) / str(version)


# ----------------------------------------------------------------------------- the graph


def _feature_specs(preprocessor, network):
    """TensorSpecs of the preprocessor's output for a [None] string batch, with the
    dimensions that the network's inputs fix filled in (jax2tf needs them static)."""
    import tensorflow as tf

    traced = tf.function(lambda texts: preprocessor(texts), autograph=False).get_concrete_function(
        tf.TensorSpec([None], tf.string)
    )
    outputs = traced.structured_outputs
    for leaf in tf.nest.flatten(outputs):
        if not isinstance(leaf, tf.Tensor):
            raise KmlcModelError(
                "Expected the preprocessor to give dense tensors, Received: "
                f"{type(leaf).__name__}. Export does not support this preprocessor."
            )
    model_inputs = getattr(network, "input", None)
    if isinstance(outputs, dict) and isinstance(model_inputs, dict):
        known = {name: tuple(model_inputs[name].shape) for name in outputs if name in model_inputs}
    elif isinstance(outputs, tf.Tensor) and not isinstance(model_inputs, (dict, list, tuple)) and model_inputs is not None:
        known = {None: tuple(model_inputs.shape)}
    else:
        known = {}

    def spec(name, tensor):
        shape = list(tensor.shape)
        network_shape = known.get(name)
        if network_shape is not None and len(network_shape) == len(shape):
            shape = [s if s is not None else n for s, n in zip(shape, network_shape)]
        shape[0] = None
        return tf.TensorSpec(shape, tensor.dtype, name=name)

    if isinstance(outputs, dict):
        return {name: spec(name, tensor) for name, tensor in outputs.items()}
    return spec(None, outputs)


def _tf_trackables(layer):
    """What to hand `ExportArchive.track` for a preprocessing layer: the layer itself under
    TensorFlow; under JAX and torch, where a Keras layer is no TensorFlow trackable, the
    TensorFlow objects it holds (lookup tables, text-op modules), found through its
    attributes and sublayers."""
    import keras
    import tensorflow as tf

    trackable = tf.__internal__.tracking.Trackable
    if isinstance(layer, trackable):
        return [layer]
    found, seen = [], set()

    def walk(obj):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, trackable):
            found.append(obj)
        elif isinstance(obj, keras.layers.Layer):
            for value in vars(obj).values():
                walk(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                walk(value)
        elif isinstance(obj, dict):
            for value in obj.values():
                walk(value)

    walk(layer)
    return found


def _polymorphic_shapes(specs, leading_axes=None):
    """jax2tf's shape strings for the feature specs. The dynamic dimensions at one axis
    share one symbol: the features of a batch agree there (the batch itself; BERT's window
    count), and jax2tf must know it to combine them (Keras' default gives every unknown
    dimension a symbol of its own). `leading_axes` names the leading axis of the features
    whose first axis is not the batch (the sparse TF-IDF input's flat entries)."""
    leading_axes = leading_axes or {}

    def shape(name, spec):
        first = leading_axes.get(name, "batch")
        dims = [first if axis == 0 else (str(d) if d is not None else f"d{axis}") for axis, d in enumerate(spec.shape)]
        return "(" + ", ".join(dims) + ")"

    if isinstance(specs, dict):
        return {name: shape(name, spec) for name, spec in specs.items()}
    return shape(None, specs)


def _sigmoid64(logits):
    """kmlc's NumPy sigmoid (float64, exp of -|x| only), then float32: the same numbers as
    `TextClassifier.predict_proba`."""
    import tensorflow as tf

    x = tf.cast(tf.cast(logits, tf.float32), tf.float64)
    e = tf.exp(-tf.abs(x))
    return tf.cast(tf.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)), tf.float32)


def threshold_mask(probabilities, policy):
    """`ThresholdPolicy.apply` in TensorFlow: bool [batch, labels], the same decisions."""
    import tensorflow as tf

    num_labels = len(policy.thresholds)
    if policy.strategy == "top-k":
        k = min(int(policy.top_k), num_labels)
        # top_k puts the lower index first on ties, as the stable argsort of -scores does.
        picked = tf.math.top_k(probabilities, k=k, sorted=True).indices
        mask = tf.reduce_max(tf.one_hot(picked, num_labels, dtype=tf.int32), axis=1) > 0
    else:
        # NumPy compares the float32 scores with the float64 thresholds in float64.
        thresholds = tf.constant(np.asarray(policy.thresholds, np.float64))
        mask = tf.cast(probabilities, tf.float64) >= thresholds[None, :]
    if policy.at_least_one:
        best = tf.math.top_k(probabilities, k=1).indices[:, 0]  # first index on ties, as argmax
        empty = tf.logical_not(tf.reduce_any(mask, axis=1))
        mask = tf.logical_or(mask, tf.logical_and(empty[:, None], tf.one_hot(best, num_labels, dtype=tf.int32) > 0))
    return mask


def _labels_from_mask(mask, vocabulary):
    """Predicted label strings in vocabulary order (as `clf.predict`), padded with "" to
    the batch's largest count; the mask of real entries; the count per text."""
    import tensorflow as tf

    names = tf.broadcast_to(vocabulary[None, :], tf.shape(mask))
    ragged = tf.ragged.boolean_mask(names, mask)
    labels = ragged.to_tensor(default_value="")
    counts = tf.cast(ragged.row_lengths(), tf.int32)
    label_mask = tf.sequence_mask(counts, maxlen=tf.shape(labels)[1])
    return labels, label_mask, counts


def grouped_serving_outputs(logits, groups):
    """Outputs of a model with several label groups (kmlc.groups), from its logits: per
    group `<group>_probabilities`, and `<group>_label` (multiclass: the argmax label) or
    `<group>_labels` + `<group>_label_mask` (multi-label, the group's threshold policy) -
    the same numbers and labels as `TextClassifier.predict_proba` / `predict`."""
    import tensorflow as tf

    out = {}
    for g in groups:
        z = logits[:, g.start:g.stop]
        vocabulary = tf.constant([str(label) for label in g.labels], dtype=tf.string)
        if g.kind == "multiclass":
            # kmlc's NumPy softmax runs in float64 on the float32 logits.
            p = tf.cast(tf.nn.softmax(tf.cast(tf.cast(z, tf.float32), tf.float64), axis=-1), tf.float32)
            out[f"{g.name}_probabilities"] = p
            out[f"{g.name}_label"] = tf.gather(vocabulary, tf.argmax(p, axis=-1))  # first on ties
        else:
            p = _sigmoid64(z)
            policy = ThresholdPolicy(thresholds=np.asarray(g.thresholds), strategy=g.strategy, top_k=g.top_k,
                                     at_least_one=g.at_least_one)
            labels, label_mask, _ = _labels_from_mask(threshold_mask(p, policy), vocabulary)
            out[f"{g.name}_probabilities"] = p
            out[f"{g.name}_labels"] = labels
            out[f"{g.name}_label_mask"] = label_mask
    return out


def grouped_metadata(groups):
    """`metadata` entries of a model with label groups: each group's kind, vocabulary,
    thresholds (NaN for multiclass) and output columns."""
    import tensorflow as tf

    info = {"label_groups": tf.constant([g.name for g in groups])}
    for g in groups:
        info[f"{g.name}_kind"] = tf.constant(g.kind)
        info[f"{g.name}_labels"] = tf.constant([str(label) for label in g.labels])
        thresholds = g.thresholds if g.thresholds is not None else [float("nan")] * len(g.labels)
        info[f"{g.name}_thresholds"] = tf.constant(np.asarray(thresholds, np.float64))
        info[f"{g.name}_columns"] = tf.constant([g.start, g.stop], tf.int32)
    return info


def build_archive(clf):
    """The `keras.export.ExportArchive` with the `serving_default`, `metadata` and
    `features_to_logits` endpoints (not yet written)."""
    import keras
    import tensorflow as tf

    preprocessor, network, policy = clf.preprocessor_, clf.model_, clf.thresholds_
    labels = [str(label) for label in clf.labels_]
    num_labels = len(labels)
    backend = keras.backend.backend()

    # Tracing the preprocessor first builds every layer that it calls.
    specs = _feature_specs(preprocessor, network)
    archive = keras.export.ExportArchive()
    # Only the layers holding lookup tables are tracked for the preprocessing: the network's
    # weights are captured by its endpoint (tracking the whole classifier stores them twice).
    # A layer still unbuilt after the trace is one the preprocessor does not call.
    for layer in preprocessor.lookup_layers():
        if layer.built:
            for resource in _tf_trackables(layer):
                archive.track(resource)
    if backend == "jax":
        # jax2tf maps the tracked layers' variables to TensorFlow variables: the network must
        # be tracked for its endpoint.
        archive.track(network)
    extra = {}
    if backend == "jax":
        leading = getattr(preprocessor, "leading_axes", dict)()
        extra["jax2tf_kwargs"] = {"polymorphic_shapes": [_polymorphic_shapes(specs, leading)]}
    network_fn = archive.add_endpoint(
        NETWORK_SIGNATURE,
        lambda features: network(features, training=False),
        input_signature=[specs],
        **extra,
    )

    vocabulary = tf.constant(labels, dtype=tf.string)
    # Several label groups (kmlc.groups): per-group outputs instead of the flat ones.
    groups = None
    if getattr(clf, "label_groups", None) is not None:
        groups = output_groups(clf)

    @tf.function(
        input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_NAME)], autograph=False
    )
    def serve(text):
        n = tf.shape(text)[0]
        # An empty batch runs one empty text and keeps none of it: the network (a jax2tf
        # function with a symbolic batch >= 1, for JAX) always sees at least one row.
        batch = tf.cond(n > 0, lambda: text, lambda: tf.constant([""]))
        logits = network_fn(preprocessor(batch))[:n]
        if groups is not None:
            return grouped_serving_outputs(logits, groups)
        probabilities = _sigmoid64(logits)
        probabilities = tf.ensure_shape(probabilities, [None, num_labels])
        mask = threshold_mask(probabilities, policy)
        predicted, label_mask, counts = _labels_from_mask(mask, vocabulary)
        return {
            "probabilities": probabilities,
            "labels": predicted,
            "label_mask": label_mask,
            "num_labels_predicted": counts,
        }

    info = {
        "labels": vocabulary,
        "thresholds": tf.constant(np.asarray(policy.thresholds, np.float64)),
        "strategy": tf.constant(policy.strategy),
        "top_k": tf.constant(0 if policy.top_k is None else int(policy.top_k), tf.int32),
        "at_least_one": tf.constant(bool(policy.at_least_one)),
        "threshold_metric": tf.constant(policy.metric),
        "model_family": tf.constant(str(clf.model)),
        "kmlc_version": tf.constant(__version__),
        "exported_from_backend": tf.constant(backend),
        "num_labels": tf.constant(num_labels, tf.int32),
    }
    if groups is not None:
        info.update(grouped_metadata(groups))

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="unused")], autograph=False)
    def metadata(unused):
        # TF Serving's REST API refuses a signature without inputs: `unused` is ignored.
        return {name: tf.identity(value) for name, value in info.items()}

    serve.get_concrete_function()
    metadata.get_concrete_function()
    archive.add_endpoint(SERVING_SIGNATURE, serve)
    archive.add_endpoint(METADATA_SIGNATURE, metadata)
    return archive
