"""kmlc.export: SavedModels for TensorFlow Serving, checked in a TensorFlow-only environment.

The exported models are loaded by tests/tf_only_runner.py in a virtual environment that has
tensorflow-cpu and tensorflow-text's op libraries but not kmlc, keras or keras-hub (as in
TensorFlow Serving). It is built once and cached in ~/.cache/kmlc-tests/tf-only-venv
($KMLC_TF_ONLY_VENV overrides the place); the tests skip when it cannot be built (no
package index).
"""

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY_BERT_WORDS, make_tiny_corpus
from kmlc.errors import KmlcInputError, KmlcModelError

RUNNER = Path(__file__).with_name("tf_only_runner.py")
TF_ONLY_PACKAGES = ["tensorflow-cpu==2.21.0"]
TF_TEXT_PACKAGE = "tensorflow-text==2.21.1"
LABELS_OF_TINY_CORPUS = ["food", "price", "service"]


# ----------------------------------------------------------------------------- environment


def _venv_python(venv):
    return Path(venv) / "bin" / "python"


def _venv_works(venv):
    check = (
        "import importlib.util as u, tensorflow as tf; "
        "assert u.find_spec('tensorflow_text') is not None; "
        "assert not [m for m in ('kmlc', 'keras', 'keras_hub') if u.find_spec(m)]"
    )
    python = _venv_python(venv)
    if not python.exists():
        return False
    # cwd: `python -c` puts the working directory on sys.path (a checkout has kmlc/ there).
    result = subprocess.run([str(python), "-c", check], capture_output=True, env=_clean_env(), cwd=str(venv))
    return result.returncode == 0


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "KERAS_BACKEND")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


@pytest.fixture(scope="session")
def tf_only_python():
    """The Python of a cached environment with TensorFlow only (see the module docstring)."""
    venv = Path(os.environ.get("KMLC_TF_ONLY_VENV", Path.home() / ".cache" / "kmlc-tests" / "tf-only-venv"))
    if _venv_works(venv):
        return _venv_python(venv)
    building = venv.with_name(venv.name + f".build-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    pip = [str(_venv_python(building)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps = [
        [sys.executable, "-m", "venv", str(building)],
        pip + TF_ONLY_PACKAGES,
        # tensorflow-cpu pulls keras in; TF Serving has none, and the loader must not need it.
        [str(_venv_python(building)), "-m", "pip", "uninstall", "--quiet", "-y", "keras"],
        # --no-deps: tensorflow-text requires the `tensorflow` package name, which would
        # install a second TensorFlow into the same folder.
        pip + ["--no-deps", TF_TEXT_PACKAGE],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, env=_clean_env())
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            pytest.skip(f"cannot build the TensorFlow-only environment: {(result.stderr or result.stdout)[-300:]}")
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    os.replace(building, venv)  # only python -m is used, so the move does not break it
    assert _venv_works(venv)
    return _venv_python(venv)


def serve(python, saved_model, batches, metadata=False):
    """Runs `serving_default` on each batch of texts (and `metadata`) in the
    TensorFlow-only environment: one process for all of them."""
    result = subprocess.run(
        [str(python), str(RUNNER), str(saved_model)],
        input=json.dumps({"batches": batches, "metadata": metadata}),
        capture_output=True, text=True, env=_clean_env(), cwd=str(saved_model),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


# ----------------------------------------------------------------------------- models


def probe_texts():
    """50 texts: the corpus, seeded mixtures of its words, and the edge cases (empty,
    whitespace, non-ASCII, an out-of-vocabulary word, a 1 MB text)."""
    corpus = list(dict.fromkeys(make_tiny_corpus()[0]))
    rng = random.Random(0)
    words = TINY_BERT_WORDS + ["unknownword"]
    mixtures = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(35)]
    edge = ["", "   ", "pizza, café naïve — 日本語のテキスト 🍕", "ÜBER PASTA!!", "pasta " * ((1 << 20) // 6 + 1)]
    texts = corpus + mixtures + edge
    assert len(texts) == 50 and len(texts[-1]) >= (1 << 20)
    return texts


def _fit(model, **settings):
    import kmlc

    texts, labels = make_tiny_corpus()
    return kmlc.TextClassifier(model=model, verbose=0, seed=0, **settings).fit(texts, labels)


@pytest.fixture(scope="module")
def tfidf_clf():
    # per-label thresholds and at-least-one: the policy's most detailed form.
    return _fit("tfidf", hidden_units=(16,), max_tokens=300, epochs=15, threshold="per-label", at_least_one=True)


@pytest.fixture(scope="module")
def bert_clf(tiny_bert_preset):
    return _fit("bert", preset=str(tiny_bert_preset), sequence_length=16, epochs=2, threshold="top-k", top_k=2)


@pytest.fixture(scope="module")
def clfs(tfidf_clf, bert_clf):
    return {"tfidf": tfidf_clf, "bert": bert_clf}


@pytest.fixture(scope="module")
def exported(clfs, tmp_path_factory):
    """Each family exported once under the current backend (on first use)."""
    paths = {}

    def get(family):
        if family not in paths:
            paths[family] = clfs[family].export(tmp_path_factory.mktemp(family) / "served")
        return paths[family]

    return get


def _check_against_predict(clf, result, texts):
    outputs = result["outputs"]
    n, num_labels = len(texts), len(clf.labels_)
    width = max([len(row) for row in clf.predict(texts)] + [0])
    assert result["dtypes"] == {
        "probabilities": "float32", "labels": "string", "label_mask": "bool", "num_labels_predicted": "int32",
    }
    assert result["shapes"] == {
        "probabilities": [n, num_labels], "labels": [n, width], "label_mask": [n, width], "num_labels_predicted": [n],
    }
    probabilities = np.asarray(outputs["probabilities"], np.float32).reshape(n, num_labels)
    np.testing.assert_allclose(probabilities, clf.predict_proba(texts), rtol=0, atol=1e-5)
    served = [
        [label for label, real in zip(row, mask) if real]
        for row, mask in zip(outputs["labels"], outputs["label_mask"])
    ]
    assert served == clf.predict(texts)
    assert outputs["num_labels_predicted"] == [len(row) for row in served]
    # Padding is "" and only "".
    for row, mask in zip(outputs["labels"], outputs["label_mask"]):
        assert all((label != "") == real for label, real in zip(row, mask))


def _check_metadata(clf, metadata, family, backend):
    assert metadata["labels"] == list(clf.labels_) == LABELS_OF_TINY_CORPUS
    assert metadata["thresholds"] == clf.thresholds_.thresholds.tolist()  # exact float64
    assert metadata["strategy"] == clf.thresholds_.strategy
    assert metadata["top_k"] == (clf.thresholds_.top_k or 0)
    assert metadata["at_least_one"] == clf.thresholds_.at_least_one
    assert metadata["model_family"] == family
    assert metadata["num_labels"] == 3
    assert metadata["exported_from_backend"] == backend


# ----------------------------------------------------------------------------- the contract


@pytest.mark.backend
@pytest.mark.parametrize("family", ["tfidf", "bert"])
def test_served_outputs_match_predict(family, clfs, exported, tf_only_python):
    """Exported under the current backend (CI: jax, tensorflow, torch), served without
    kmlc/keras/keras-hub: probabilities to 1e-5 and labels exactly on 50 texts (empty,
    non-ASCII and 1 MB ones included); the edge texts alone and an empty batch are
    well-formed too."""
    import keras

    clf = clfs[family]
    target = exported(family)
    assert target.name == "1" and target.parent.name == "served"
    texts = probe_texts()
    edge = texts[-5:]
    response = serve(tf_only_python, target, [texts, edge, []], metadata=True)
    assert not any(response["imports"][name] for name in ("kmlc", "keras", "keras_hub", "jax", "torch"))
    assert response["loaded_modules"] == []
    assert {"serving_default", "metadata"} <= set(response["signatures"])
    full, edge_only, empty = response["results"]
    _check_against_predict(clf, full, texts)
    _check_against_predict(clf, edge_only, edge)
    _check_against_predict(clf, empty, [])
    assert empty["shapes"]["probabilities"] == [0, 3] and empty["shapes"]["labels"] == [0, 0]
    # The policy is not trivial on these texts: every text gets a label (at-least-one,
    # top-2), and not every text gets all of them.
    predicted = np.asarray(full["outputs"]["num_labels_predicted"])
    assert predicted.min() >= 1 and predicted.min() < len(clf.labels_)
    backend = "tensorflow" if keras.backend.backend() == "torch" else keras.backend.backend()
    _check_metadata(clf, response["metadata"], family, backend)


@pytest.mark.slow  # a second Keras process per family (~30 s each here)
@pytest.mark.parametrize("family", ["tfidf", "bert"])
def test_export_from_the_other_backend(family, clfs, tf_only_python, tmp_path):
    """The same model saved and exported by `kmlc export` under the backend this
    run is not on (tensorflow, or jax when the run is on tensorflow): JAX and TensorFlow
    exports are both checked in every run."""
    import keras

    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    clf = clfs[family]
    clf.save(tmp_path / "model")
    env = {**os.environ, "KERAS_BACKEND": other}
    result = subprocess.run(
        [sys.executable, "-m", "kmlc.cli", "export", "--model", str(tmp_path / "model"), "--out", str(tmp_path / "served")],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"SavedModel written to {tmp_path / 'served' / '1'}/" in result.stdout
    texts = probe_texts()
    response = serve(tf_only_python, tmp_path / "served" / "1", [texts, []], metadata=True)
    _check_metadata(clf, response["metadata"], family, other)
    _check_against_predict(clf, response["results"][0], texts)
    _check_against_predict(clf, response["results"][1], [])


def test_saved_model_cli_lists_the_signatures(exported, tf_only_python):
    target = exported("tfidf")
    result = subprocess.run(
        [str(tf_only_python), "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", str(target), "--all"],
        capture_output=True, text=True, env=_clean_env(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    sections = {}
    for block in text.split("signature_def[")[1:]:
        sections[block.split("]")[0].strip("'")] = block
    assert {"serving_default", "metadata"} <= set(sections)

    def tensor_info(block, kind, name):
        part = block.split(f"{kind}['{name}'] tensor_info:")[1]
        dtype = part.split("dtype:")[1].split()[0]
        shape = part.split("shape:")[1].split("\n")[0].strip()
        return dtype, shape

    serving = sections["serving_default"]
    assert tensor_info(serving, "inputs", "text") == ("DT_STRING", "(-1)")
    assert tensor_info(serving, "outputs", "probabilities") == ("DT_FLOAT", "(-1, 3)")
    assert tensor_info(serving, "outputs", "labels") == ("DT_STRING", "(-1, -1)")
    assert tensor_info(serving, "outputs", "label_mask") == ("DT_BOOL", "(-1, -1)")
    assert tensor_info(serving, "outputs", "num_labels_predicted") == ("DT_INT32", "(-1)")
    assert "Method name is: tensorflow/serving/predict" in serving
    metadata = sections["metadata"]
    assert tensor_info(metadata, "inputs", "unused") == ("DT_INT32", "()")
    assert tensor_info(metadata, "outputs", "labels") == ("DT_STRING", "(3)")
    assert tensor_info(metadata, "outputs", "thresholds") == ("DT_DOUBLE", "(3)")
    assert tensor_info(metadata, "outputs", "strategy") == ("DT_STRING", "()")


# ----------------------------------------------------------------------------- thresholds in TF


@pytest.mark.parametrize(
    "settings",
    [
        {"strategy": "fixed"},
        {"strategy": "global"},
        {"strategy": "per-label"},
        {"strategy": "per-label", "at_least_one": True},
        {"strategy": "top-k", "top_k": 2},
        {"strategy": "top-k", "top_k": 9},  # more than the labels: all of them
        {"strategy": "top-k", "top_k": 1, "at_least_one": True},
    ],
)
def test_threshold_mask_is_threshold_policy_apply(settings):
    """The TensorFlow decisions equal ThresholdPolicy.apply's, ties and scores exactly on a
    threshold included."""
    import tensorflow as tf

    from kmlc.export import threshold_mask
    from kmlc.thresholds import ThresholdPolicy

    rng = np.random.default_rng(0)
    scores = rng.choice(np.float32([0.1, 0.3, 0.5, 0.7, 0.9]), size=(200, 5)).astype(np.float32)
    scores[:20] = rng.random((20, 5), dtype=np.float32)
    scores[20:25] = 0.05  # rows with nothing above any threshold
    if settings["strategy"] == "per-label":
        thresholds = np.array([0.3, 0.5, np.float64(np.float32(0.7)), 0.2999999, 0.95])
    elif settings["strategy"] == "global":
        thresholds = np.full(5, np.float64(np.float32(0.5)) + 1e-12)  # just above a float32 score
    else:
        thresholds = np.full(5, 0.5)
    policy = ThresholdPolicy(thresholds=thresholds, **settings)
    expected = policy.apply(scores)
    got = threshold_mask(tf.constant(scores), policy).numpy()
    np.testing.assert_array_equal(got, expected)
    all_labels = settings["strategy"] == "top-k" and settings["top_k"] >= scores.shape[1]
    assert expected.sum() == expected.size if all_labels else 0 < expected.sum() < expected.size


# ----------------------------------------------------------------------------- layout


def test_versions_are_numbered_and_written_atomically(tfidf_clf, tmp_path, monkeypatch):
    import kmlc.export as export

    base = tmp_path / "saved_models" / "tickets"
    assert export.resolve_version(base) == 1
    assert tfidf_clf.export(base) == base / "1"
    assert tfidf_clf.export(base) == base / "2"
    assert tfidf_clf.export(base, version=7) == base / "7"
    assert export.existing_versions(base) == [1, 2, 7]
    assert export.resolve_version(base) == 8
    for version in (1, 2, 7):
        assert (base / str(version) / "saved_model.pb").is_file()
        assert (base / str(version) / "variables").is_dir()
    with pytest.raises(KmlcInputError, match=r"Expected a version that does not exist yet.*Received: 2"):
        tfidf_clf.export(base, version=2)
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(KmlcInputError, match="Expected version to be a positive integer"):
            tfidf_clf.export(base, version=bad)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(KmlcInputError, match="a file"):
        tfidf_clf.export(tmp_path / "a_file")

    # A failure while writing leaves no version directory and no temporary directory.
    before = sorted(p.name for p in base.iterdir())

    def broken_write_out(self, filepath, options=None, verbose=True):
        (Path(filepath) / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("disk full")

    from keras.src.export.saved_model_export_archive import SavedModelExportArchive

    monkeypatch.setattr(SavedModelExportArchive, "write_out", broken_write_out)
    with pytest.raises(RuntimeError, match="disk full"):
        tfidf_clf.export(base)
    assert sorted(p.name for p in base.iterdir()) == before


def test_export_refuses_an_unfitted_classifier(tmp_path):
    import kmlc

    with pytest.raises(KmlcModelError, match="Expected a fitted classifier"):
        kmlc.TextClassifier().export(tmp_path / "served")
    assert not (tmp_path / "served").exists()


def test_cli_export(tfidf_clf, tmp_path, capsys):
    from kmlc.cli import main

    tfidf_clf.save(tmp_path / "model")
    out = tmp_path / "served"
    assert main(["export", "--model", str(tmp_path / "model"), "--out", str(out)]) == 0
    assert main(["export", "--model", str(tmp_path / "model"), "--out", str(out), "--version", "4"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["1", "4"]
    assert f"{out / '4'}" in capsys.readouterr().out
    assert main(["export", "--model", str(tmp_path / "model"), "--out", str(out), "--version", "4"]) == 2
    assert "Expected a version that does not exist yet" in capsys.readouterr().err
    assert main(["export", "--model", str(tmp_path / "missing"), "--out", str(out)]) == 2


def test_torch_route_explains_a_failed_subprocess(tfidf_clf, tmp_path, monkeypatch):
    """Under PyTorch the export runs in a TensorFlow-backend subprocess; when that fails the
    error says how to export by hand."""
    import kmlc.export as export

    def failed(command, env, **kwargs):
        assert env["KERAS_BACKEND"] == "tensorflow" and command[1:4] == ["-m", "kmlc.cli", "export"]
        return subprocess.CompletedProcess(command, 1, "", "ModuleNotFoundError: No module named 'tensorflow'\n")

    monkeypatch.setattr(export.subprocess, "run", failed)
    with pytest.raises(KmlcModelError, match=r"KERAS_BACKEND=tensorflow kmlc export --model DIR --out PATH"):
        export._export_in_subprocess(tfidf_clf, tmp_path / "served", 1)
    assert not (tmp_path / "served").exists()
