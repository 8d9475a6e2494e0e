"""Data-parallel training (`distribute="data-parallel"`) on two virtual CPU devices.

The devices must exist before the backend starts (JAX: XLA_FLAGS=--xla_force_host_platform_
device_count=2; TensorFlow: two logical CPUs configured before its first op), so each engine
trains in a fresh child process that reports numbers as JSON. These tests are not marked
`backend`: the children choose their own engine, so CI's JAX pass (every test) runs them all
and the TensorFlow and torch passes skip them.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import make_tiny_corpus

ROOT = Path(__file__).resolve().parents[1]
# A tiny, quick network; 60 training rows and a batch of 12: every batch is whole, so a
# two-device run sees exactly the batches of a one-device run. 15 validation rows: odd, so
# validation cannot be split between two devices (it runs on one).
SETTINGS = dict(max_tokens=300, hidden_units=[8], epochs=2, batch_size=12, learning_rate=0.01, verbose=0, seed=3)

CHILD = textwrap.dedent(
    r'''
    import json, os, sys, warnings
    backend, devices, spec_path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if backend == "tensorflow" and devices > 1:
        import tensorflow as tf  # before any TensorFlow op: the logical devices are fixed at start-up
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    import keras
    import numpy as np
    import kmlc
    from kmlc.errors import KmlcInputError

    spec = json.load(open(spec_path))
    texts, labels = spec["texts"], spec["labels"]
    val_texts, val_labels = spec["val_texts"], spec["val_labels"]

    class Probe(keras.callbacks.Callback):
        """What the training steps really ran on (read during fit)."""
        def on_train_batch_end(self, batch, logs=None):
            variable = self.model.trainable_variables[0]
            if keras.backend.backend() == "jax":
                distribution = keras.distribution.distribution()
                self.seen = {
                    "mesh": list(distribution.device_mesh.shape) if distribution is not None else None,
                    "variable_devices": len(variable.value.sharding.device_set),
                }
            else:
                strategy = self.model.distribute_strategy
                self.seen = {
                    "replicas": strategy.num_replicas_in_sync,
                    "variable_copies": len(strategy.experimental_local_results(variable.value)),
                }

    result = {"devices": [str(d) for d in keras.distribution.list_devices()] if backend == "jax" else None, "runs": []}
    def grouped(rows):  # a multiclass group (the first label) beside the multi-label one
        return {"main": [row[0] if row else "none" for row in rows], "topics": rows}

    for run in spec["runs"]:
        probe = Probe()
        kind = run.get("kind", "memory")
        settings = {**spec["settings"], **run["settings"]}
        if kind == "groups":
            settings["label_groups"] = ["main:multiclass", "topics:multilabel"]
        clf = kmlc.TextClassifier(**settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "groups":
                clf.fit(texts, grouped(labels), validation_data=(val_texts, grouped(val_labels)), callbacks=[probe])
            elif kind == "stream":
                path = os.path.join(out + "_" + str(len(result["runs"])) + ".csv")
                with open(path, "w", encoding="utf-8") as f:
                    f.write("text,labels\n" + "".join(f'"{t}",{"|".join(l)}\n' for t, l in zip(texts, labels)))
                clf.fit_stream(path, validation_data=(val_texts, val_labels), callbacks=[probe])
            else:
                clf.fit(texts, labels, validation_data=(val_texts, val_labels), callbacks=[probe])
        proba = clf.predict_proba(val_texts)
        if isinstance(proba, dict):
            proba = np.concatenate([proba[g] for g in sorted(proba)], axis=1)
        entry = {
            "settings": run["settings"],
            "kind": kind,
            "history": clf.history_,
            "validation": {k: clf.metrics_["validation"][k] for k in ("micro_f1", "macro_f1")},
            "proba": proba.tolist(),
            "distribution": clf.distribution_,
            "seconds": clf.train_seconds_,
            "seen": getattr(probe, "seen", None),
            # After training: no global distribution is left behind.
            "distribution_after": None if backend != "jax" or keras.distribution.distribution() is None else "set",
        }
        if run.get("save"):
            entry["saved"] = os.path.join(out, run["save"])
            clf.save(entry["saved"])
        result["runs"].append(entry)
    if spec.get("bad_batch"):
        try:
            kmlc.TextClassifier(**{**spec["settings"], "batch_size": 13, "distribute": "data-parallel"}).fit(texts, labels)
        except KmlcInputError as e:
            result["bad_batch"] = str(e)
    print("RESULT " + json.dumps(result))
    '''
)


def run_child(tmp_path, backend, devices, runs, bad_batch=False, timeout=240):
    texts, labels = make_tiny_corpus()
    spec = {
        "texts": texts, "labels": labels, "val_texts": texts[:15], "val_labels": labels[:15],
        "settings": SETTINGS, "runs": runs, "bad_batch": bad_batch,
    }
    spec_path = tmp_path / f"spec_{backend}_{devices}.json"
    spec_path.write_text(json.dumps(spec))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    if backend == "jax":
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    done = subprocess.run(
        [sys.executable, str(script), backend, str(devices), str(spec_path), str(tmp_path / f"models_{backend}_{devices}")],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def assert_same_training(a, b):
    """Loss history, validation metrics and probabilities of two runs agree (float sums in
    another order: a small tolerance)."""
    assert a["history"].keys() == b["history"].keys()
    assert {"loss", "val_loss", "val_micro_f1", "val_macro_f1"} <= a["history"].keys()
    for key in a["history"]:
        np.testing.assert_allclose(a["history"][key], b["history"][key], rtol=1e-4, atol=1e-5, err_msg=key)
    for key in ("micro_f1", "macro_f1"):
        assert a["validation"][key] == pytest.approx(b["validation"][key], abs=1e-6)
    np.testing.assert_allclose(a["proba"], b["proba"], rtol=1e-4, atol=1e-5)


def assert_loads_without_distribution(run):
    """A model trained on two devices loads here (one device, the test's own backend) and
    predicts what it predicted after training."""
    import kmlc

    texts, _ = make_tiny_corpus()
    clf = kmlc.load(run["saved"])
    assert clf.distribute == "data-parallel"  # the setting round-trips through config.yaml
    assert clf.distribution_["devices"] == run["distribution"]["devices"]  # training.json
    np.testing.assert_allclose(clf.predict_proba(texts[:15]), run["proba"], rtol=1e-4, atol=1e-5)


def test_jax_two_devices_match_one_device(tmp_path):
    runs = [
        {"settings": {"tfidf_input": "sparse"}},
        {"settings": {"tfidf_input": "sparse", "distribute": "data-parallel"}, "save": "sparse"},
        {"settings": {"tfidf_input": "dense"}},
        {"settings": {"tfidf_input": "dense", "distribute": "data-parallel"}},
    ]
    result = run_child(tmp_path, "jax", 2, runs, bad_batch=True)
    assert result["devices"] == ["cpu:0", "cpu:1"]
    single, sparse, single_dense, dense = result["runs"]
    for one, two in ((single, sparse), (single_dense, dense)):
        assert one["seen"] == {"mesh": None, "variable_devices": 1} and one["distribution"] is None
        # The steps ran under a (2,) mesh, with the weights on both devices.
        assert two["seen"] == {"mesh": [2], "variable_devices": 2}
        assert two["distribution"] == {
            "distribute": "data-parallel", "strategy": "DataParallel", "devices": ["cpu:0", "cpu:1"],
            "rows_skipped_per_epoch": 0,
        }
        assert two["distribution_after"] is None
        assert_same_training(one, two)
    assert result["bad_batch"] == (
        "Expected batch_size to be a multiple of the 2 devices with distribute='data-parallel', "
        "Received: 13. Use 14 (or 12)."
    )
    assert_loads_without_distribution(sparse)


def test_jax_two_devices_with_label_groups_and_a_stream(tmp_path):
    """Data-parallel training is an option of the one training loop: label groups and a
    streamed table train on two devices as on one (60 rows in batches of 12: no partial batch)."""
    runs = [
        {"kind": "groups", "settings": {}},
        {"kind": "groups", "settings": {"distribute": "data-parallel"}},
        {"kind": "stream", "settings": {}},
        {"kind": "stream", "settings": {"distribute": "data-parallel"}},
    ]
    groups_one, groups_two, stream_one, stream_two = run_child(tmp_path, "jax", 2, runs)["runs"]
    for one, two in ((groups_one, groups_two), (stream_one, stream_two)):
        assert one["distribution"] is None and two["seen"] == {"mesh": [2], "variable_devices": 2}
        assert two["distribution"]["devices"] == ["cpu:0", "cpu:1"] and two["distribution"]["rows_skipped_per_epoch"] == 0
        assert_same_training(one, two)
    assert len(groups_one["proba"][0]) == len(stream_one["proba"][0]) + 4  # "main": 3 first labels + "none"


def test_tensorflow_two_devices_match_one_device(tmp_path):
    # Dropout off: each replica draws its own masks from the same seed, so with dropout the two
    # runs differ by design. The one-device reference is data-parallel too: Keras' TensorFlow
    # trainer draws one extra shuffled order under any strategy (docs/concepts.md).
    runs = [
        {"settings": {"tfidf_input": "sparse", "distribute": "data-parallel", "dropout": 0.0}, "save": "sparse"},
        {"settings": {"tfidf_input": "dense", "distribute": "data-parallel", "dropout": 0.0}},
        {"kind": "groups", "settings": {"distribute": "data-parallel", "dropout": 0.0}},
        {"kind": "stream", "settings": {"distribute": "data-parallel", "dropout": 0.0}},
    ]
    two = run_child(tmp_path, "tensorflow", 2, runs)["runs"]
    one = run_child(tmp_path, "tensorflow", 1, runs)["runs"]
    for a, b in zip(one, two):
        assert a["seen"] == {"replicas": 1, "variable_copies": 1}
        assert b["seen"] == {"replicas": 2, "variable_copies": 2}
        assert [d.rsplit("/", 1)[-1] for d in b["distribution"]["devices"]] == ["device:CPU:0", "device:CPU:1"]
        assert b["distribution"]["strategy"] == "MirroredStrategy"
        assert_same_training(a, b)
    assert_loads_without_distribution(two[0])


@pytest.mark.backend
def test_training_batches_are_whole_and_reshuffled():
    """On several devices the last, partial batch is skipped: 60 rows in batches of 16 give
    3 batches of 16 an epoch, and the 12 rows left out change from epoch to epoch."""
    import tensorflow as tf

    from kmlc.training.distribute import DataParallelPlan
    from kmlc.preprocessing import TfidfPreprocessor, make_dataset

    texts = [f"text number {i}" for i in range(60)]
    index = np.arange(60, dtype=np.float32)[:, None]  # the "label" says which row it is
    ds = make_dataset(texts, TfidfPreprocessor(max_tokens=100).adapt(texts), index, batch_size=16, shuffle=True, seed=0, cache=True)
    plan = DataParallelPlan("jax", ["cpu:0", "cpu:1"], batch_size=16)
    ds = plan.training_dataset(ds, len(texts))
    assert plan.rows_skipped_per_epoch == 12 and int(tf.data.experimental.cardinality(ds)) == 3
    epochs = [[y.numpy()[:, 0].astype(int) for _, y in ds] for _ in range(2)]
    assert [len(b) for b in epochs[0]] == [16, 16, 16]
    kept = [set(np.concatenate(batches)) for batches in epochs]
    assert all(len(k) == 48 for k in kept) and kept[0] != kept[1]


@pytest.mark.backend
def test_split_sparse_batch_gives_each_replica_its_own_documents():
    """Each replica's share of a regrouped batch is a batch by itself: the network's output on
    it is the output rows of its documents in the whole batch."""
    import keras
    import tensorflow as tf

    from kmlc.training.distribute import pad_sparse_entries, split_sparse_batch
    from kmlc.models import TfidfMLP
    from kmlc.preprocessing import TfidfPreprocessor

    texts, _ = make_tiny_corpus()
    texts = texts[:7] + ["", "pizza " * 40]  # an empty document, a long one
    preprocessor = TfidfPreprocessor(max_tokens=100).adapt(texts)
    network = TfidfMLP(preprocessor.output_dim, 3, hidden_units=(8,), dropout=0.0, seed=0)
    batch = preprocessor(tf.constant(texts[:8]))
    whole = keras.ops.convert_to_numpy(network(batch, training=False))
    split = {k: v.numpy() for k, v in split_sparse_batch(batch, 2).items()}
    width = len(split["ngram_ids"]) // 2
    for r in range(2):
        part = {
            "ngram_counts": split["ngram_counts"][4 * r : 4 * r + 4],
            **{k: split[k][width * r : width * (r + 1)] for k in ("ngram_ids", "ngram_weights", "ngram_rows")},
        }
        assert part["ngram_rows"].min() >= 0 and part["ngram_rows"].max() <= 3
        assert np.all(np.diff(part["ngram_rows"]) >= 0)  # rows stay sorted, padding on the last
        assert (part["ngram_weights"] != 0).sum() == part["ngram_counts"].sum()
        np.testing.assert_allclose(keras.ops.convert_to_numpy(network(part, training=False)), whole[4 * r : 4 * r + 4], atol=1e-6)
    # Three devices (16 % 3 != 0): JAX needs the entries padded to a multiple of 3.
    padded = {k: v.numpy() for k, v in pad_sparse_entries(batch, 3).items()}
    assert len(padded["ngram_ids"]) % 3 == 0 and len(padded["ngram_ids"]) > len(batch["ngram_ids"])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(network(padded, training=False)), whole, atol=1e-6)


def test_distribute_settings_are_checked_before_work(tmp_path):
    import kmlc
    from kmlc.errors import KmlcInputError

    texts, labels = make_tiny_corpus()
    with pytest.raises(KmlcInputError, match=r"Expected distribute to be one of \['none', 'data-parallel'\] or None, Received: 'yes'"):
        kmlc.TextClassifier(distribute="yes").fit(texts, labels)
    assert kmlc.TextClassifier(distribute="data-parallel").get_params()["distribute"] == "data-parallel"


def test_cli_train_data_parallel(tmp_path):
    """`--distribute data-parallel` reaches the classifier and the saved config (here on this
    process's one device: it trains there, and says so)."""
    import yaml

    from kmlc.cli import main
    from kmlc.datasets import write_support_tickets

    data = tmp_path / "tickets.csv"
    write_support_tickets(data, n_rows=150, seed=2)
    out = tmp_path / "model"
    args = ["train", "--data", str(data), "--out", str(out), "--distribute", "data-parallel", "--epochs", "2",
            "--max-tokens", "300", "--hidden-units", "8", "--batch-size", "16", "--verbose", "0", "--no-report"]
    assert main(args) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["distribute"] == "data-parallel"
    training = json.loads((out / "training.json").read_text())
    assert training["distribution"]["distribute"] == "data-parallel"
    assert len(training["distribution"]["devices"]) >= 1


def test_cli_refuses_data_parallel_on_torch(tmp_path):
    """Refused before any data is read (the data file does not exist)."""
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "kmlc.cli", "train", "--data", str(tmp_path / "missing.csv"), "--out",
         str(tmp_path / "model"), "--distribute", "data-parallel"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert (
        "kmlc train: error: Expected the jax or tensorflow backend with distribute='data-parallel', "
        "Received: 'torch' (kmlc does not distribute torch training)."
    ) in done.stderr
