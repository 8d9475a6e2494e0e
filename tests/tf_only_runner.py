"""Runs an exported SavedModel the way TensorFlow Serving does: TensorFlow only.

Run with the Python of an environment that has tensorflow (and, for BERT exports,
tensorflow-text's op libraries) but not kmlc, keras or keras-hub; tests/test_export.py does.

    python tf_only_runner.py SAVED_MODEL_DIR < request.json > response.json

request: {"batches": [[text, ...], ...], "metadata": true|false}
response: {"imports": {...}, "signatures": [...], "metadata": {...},
           "results": [{"outputs": {name: nested lists}, "dtypes": {...}, "shapes": {...}}, ...]}
"""

import glob
import importlib.util
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load_text_ops(tf):
    """Registers TF-Text's custom ops from their shared libraries, without importing the
    tensorflow_text Python package (which imports Keras): TF Serving links these ops in."""
    spec = importlib.util.find_spec("tensorflow_text")
    if spec is None:
        return 0
    count = 0
    for location in spec.submodule_search_locations:
        for library in sorted(glob.glob(os.path.join(location, "python", "ops", "_*.so"))):
            tf.load_op_library(library)
            count += 1
    return count


def to_json(value):
    import numpy as np

    array = np.asarray(value)
    if array.dtype == object:
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(array).tolist() if array.size else array.tolist()
    return array.tolist()


def main():
    import tensorflow as tf

    request = json.load(sys.stdin)
    text_ops = load_text_ops(tf)
    loaded = tf.saved_model.load(sys.argv[1])
    serving = loaded.signatures["serving_default"]
    results = []
    for texts in request["batches"]:
        outputs = serving(text=tf.constant(texts, dtype=tf.string, shape=[len(texts)]))
        results.append({
            "outputs": {name: to_json(value) for name, value in outputs.items()},
            "dtypes": {name: value.dtype.name for name, value in outputs.items()},
            "shapes": {name: list(value.shape) for name, value in outputs.items()},
        })
    response = {
        "imports": {name: importlib.util.find_spec(name) is not None for name in ("kmlc", "keras", "keras_hub", "jax", "torch")},
        "loaded_modules": sorted(m for m in ("kmlc", "keras", "keras_hub", "tensorflow_text") if m in sys.modules),
        "text_op_libraries": text_ops,
        "tensorflow_version": tf.__version__,
        "signatures": sorted(loaded.signatures),
        "results": results,
    }
    if request.get("metadata"):
        metadata = loaded.signatures["metadata"](unused=tf.constant(0))
        response["metadata"] = {name: to_json(value) for name, value in metadata.items()}
    json.dump(response, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
