"""Model directories saved by kmlc before the one-pipeline redesign still load.

The old directories are made at test time by the old code itself: the package at
``FORMAT_COMMIT`` (the last commit before the redesign) is taken from this repository's git
history into a temporary folder, and a subprocess running it trains and saves a flat model
and a label-groups model and records their probabilities. The current code then loads
both directories and must give the same probabilities and decisions.
"""

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from conftest import make_tiny_corpus

REPO = Path(__file__).resolve().parents[1]
# The last commit whose code saved models in the format of the release before the redesign.
FORMAT_COMMIT = "8282a6c"

OLD_SCRIPT = r"""
import json, sys
from pathlib import Path
import numpy as np
import kmlc
from kmlc import TextClassifier
from kmlc.datasets import load_survey

out = Path(sys.argv[1])
texts, labels = json.loads(Path(sys.argv[2]).read_text())
assert Path(kmlc.__file__).resolve().is_relative_to(Path(sys.argv[3]).resolve()), kmlc.__file__
flat = TextClassifier(epochs=2, max_tokens=100, hidden_units=(8,), verbose=0, seed=0,
                      loss="db", threshold="per-label").fit(texts, labels)
flat.save(out / "flat")
survey = load_survey(n_rows=200, seed=2)
groups = ["global_score:multiclass", "emotions:multilabel", "causes:multilabel"]
grouped = TextClassifier(label_groups=groups, group_weights="auto", epochs=2, max_tokens=300,
                         hidden_units=(8,), verbose=0, seed=0, loss="bce")
grouped.fit(survey.text.tolist(), survey[["global_score", "emotions", "causes"]])
grouped.save(out / "grouped")
probe = survey.text.tolist()[:20]
record = {
    "flat": np.asarray(flat.predict_proba(texts[:10])).tolist(),
    "flat_labels": [list(map(str, row)) for row in flat.predict(texts[:10])],
    "grouped_texts": probe,
    "grouped": {g: np.asarray(p).tolist() for g, p in grouped.predict_proba(probe).items()},
    "grouped_labels": grouped.predict(probe),
}
(out / "record.json").write_text(json.dumps(record))
"""


def _old_package(target):
    """Extract kmlc/ at FORMAT_COMMIT into target; skip when the history is not there."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", FORMAT_COMMIT, "kmlc"],
            check=True, capture_output=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"the git history holding {FORMAT_COMMIT} is not available here ({err})")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


@pytest.fixture(scope="module")
def old_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("old_format")
    code = root / "code"
    _old_package(code)
    texts, labels = make_tiny_corpus()
    corpus = root / "corpus.json"
    corpus.write_text(json.dumps([texts, labels]))
    env = dict(os.environ, PYTHONPATH=str(code), KERAS_BACKEND="jax")
    result = subprocess.run(
        [sys.executable, "-c", OLD_SCRIPT, str(root), str(corpus), str(code)],
        env=env, capture_output=True, text=True, timeout=600, cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root, json.loads((root / "record.json").read_text()), texts


def test_a_flat_model_saved_before_the_redesign_loads(old_models):
    import kmlc

    root, record, texts = old_models
    clf = kmlc.load(root / "flat")
    np.testing.assert_allclose(clf.predict_proba(texts[:10]), record["flat"], rtol=1e-5, atol=1e-6)
    assert [list(map(str, row)) for row in clf.predict(texts[:10])] == record["flat_labels"]
    # Its settings say how it was trained, not today's defaults for the settings added since.
    params = clf.get_params()
    assert (params["tokens"], params["idf"], params["oov"], params["wide"], params["min_df"]) == (
        "keras", "keras", "keep", "none", 1)
    assert clf.preprocessor_.tokens == "keras" and clf.model_.wide == "none"


def test_a_label_groups_model_saved_before_the_redesign_loads(old_models):
    import kmlc

    root, record, _ = old_models
    clf = kmlc.load(root / "grouped")
    probe = record["grouped_texts"]
    # Saved again by the current code, it loads again with the same outputs.
    clf.save(root / "grouped-resaved")
    for model in (clf, kmlc.load(root / "grouped-resaved")):
        proba = model.predict_proba(probe)
        assert sorted(proba) == sorted(record["grouped"])
        for group, expected in record["grouped"].items():
            np.testing.assert_allclose(proba[group], expected, rtol=1e-5, atol=1e-6)
        assert json.loads(json.dumps(model.predict(probe))) == record["grouped_labels"]
