"""Several label groups in one model (kmlc.groups): schema, combined loss, grouped fit /
predict / evaluate / save / load, the command line, on the bundled three-group survey."""

import json

import numpy as np
import pytest

from kmlc.errors import KmlcInputError
from kmlc.groups import (
    LabelGroup,
    LabelSchema,
    parse_group_spec,
    parse_group_weights,
    read_grouped_texts,
    split_label_columns,
)
from reference_losses import bce, focal

GROUPS = ["global_score:multiclass", "emotions:multilabel", "causes:multilabel"]
FAST = dict(epochs=4, max_tokens=800, hidden_units=(32,), batch_size=32, loss="bce", verbose=0, seed=0)


def _columns(frame):
    return frame[["global_score", "emotions", "causes"]]


@pytest.fixture(scope="module")
def survey():
    from kmlc.datasets import load_survey

    return load_survey(n_rows=360, seed=2)


@pytest.fixture(scope="module")
def fitted(survey):
    from kmlc import TextClassifier

    clf = TextClassifier(label_groups=GROUPS, group_weights="auto", **FAST)
    clf.fit(survey.text.tolist()[:300], _columns(survey.iloc[:300]))
    return clf


# ----------------------------------------------------------------------------- schema


def test_group_specs_and_weights_parse():
    assert parse_group_spec("score:multiclass") == LabelGroup("score", "multiclass")
    assert parse_group_spec("tags") == LabelGroup("tags", "multilabel")
    assert parse_group_spec("tags:multilabel:2.5").weight == 2.5
    assert parse_group_spec({"name": "s", "kind": "multiclass", "weight": 3}).weight == 3.0
    assert parse_group_weights("0.7,4,4") == [0.7, 4.0, 4.0]
    assert parse_group_weights("AUTO") == "auto"
    schema = LabelSchema(GROUPS, "0.7,4,4")
    assert schema.names == ["global_score", "emotions", "causes"]
    assert schema.to_config() == {"label_groups": GROUPS, "group_weights": [0.7, 4.0, 4.0]}
    assert LabelSchema(GROUPS, "auto").auto_weights
    assert split_label_columns(["labels"]) == ("labels", None)
    assert split_label_columns(["a:multiclass", "b"]) == (None, ["a:multiclass", "b:multilabel"])


@pytest.mark.parametrize(
    "groups, weights, message",
    [
        (["score:ordinal"], None, "kind"),
        (["bad name:multiclass"], None, "letters, digits"),
        (["a", "a:multiclass"], None, "distinct"),
        (GROUPS, "1,2", "one group weight per label group"),
        (GROUPS, "1,0,2", "positive"),
        (GROUPS, "x,y,z", "comma-separated"),
    ],
)
def test_bad_schemas_are_refused(groups, weights, message):
    with pytest.raises(KmlcInputError, match=message):
        LabelSchema(groups, weights)


def test_yaml_label_column_list_becomes_label_groups(tmp_path):
    from kmlc.config import merge_config, read_config, resolve_label_groups

    path = tmp_path / "run.yaml"
    path.write_text("label_column: [global_score:multiclass, emotions, causes]\ngroup_weights: auto\n")
    config = resolve_label_groups(merge_config(read_config(path)))
    assert config["label_groups"] == ["global_score:multiclass", "emotions:multilabel", "causes:multilabel"]
    assert config["group_weights"] == "auto" and config["label_column"] == "labels"
    plain = resolve_label_groups(merge_config({"label_column": "tags"}))
    assert plain["label_column"] == "tags" and plain["label_groups"] is None


def test_bad_multiclass_rows_in_a_file_are_named_or_dropped(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "text,score,tags\nfine,S1,a\nno score,,a|b\ntwo scores,S1|S2,\nok,S3,b\nalso none,,\n"
    )
    schema = LabelSchema(["score:multiclass", "tags"])
    with pytest.raises(KmlcInputError, match=r"2 with no label \(data rows \[2, 5\]\).*1 with several \(data rows \[3\]\)"):
        read_grouped_texts(path, schema)
    with pytest.warns(Warning, match="dropped 3 row"):
        data = read_grouped_texts(path, schema, drop_invalid_rows=True)
    assert data.texts == ["fine", "ok"]
    assert data.labels == [{"score": "S1", "tags": ["a"]}, {"score": "S3", "tags": ["b"]}]
    assert "dropped 3 row(s)" in data.notes[0]


# ----------------------------------------------------------------------------- loss


@pytest.mark.backend
def test_combined_loss_is_the_weighted_sum_of_the_group_losses():
    import keras

    from kmlc.losses import BinaryCrossentropy, FocalLoss, GroupedLoss

    rng = np.random.default_rng(0)
    n = 7
    z = rng.normal(0, 2, size=(n, 3 + 4 + 2)).astype(np.float32)
    y = np.zeros_like(z)
    y[np.arange(n), rng.integers(0, 3, n)] = 1.0  # one-hot multiclass block
    y[:, 3:] = rng.integers(0, 2, size=(n, 6))
    layout = [
        {"name": "score", "kind": "multiclass", "start": 0, "stop": 3, "weight": 0.7},
        {"name": "tags", "kind": "multilabel", "start": 3, "stop": 7, "weight": 4.0},
        {"name": "extra", "kind": "multilabel", "start": 7, "stop": 9, "weight": 2.0},
    ]
    loss = GroupedLoss(layout, {"tags": BinaryCrossentropy(), "extra": FocalLoss(gamma=2.0, alpha=0.25)})

    zz = z.astype(np.float64)
    lse = np.log(np.exp(zz[:, :3]).sum(axis=1))
    ce = lse - (y[:, :3] * zz[:, :3]).sum(axis=1)
    expected = 0.7 * ce + 4.0 * bce(y[:, 3:7], zz[:, 3:7]) + 2.0 * focal(y[:, 7:], zz[:, 7:], 2.0, 0.25)
    got = keras.ops.convert_to_numpy(loss.call(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(z)))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    reduced = float(keras.ops.convert_to_numpy(loss(y, z)))
    np.testing.assert_allclose(reduced, expected.mean(), rtol=1e-5)

    # A full round trip through the Keras serialisation, sub-losses included.
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, GroupedLoss) and again.get_config() == loss.get_config()
    assert isinstance(again.group_losses["extra"], FocalLoss) and again.group_losses["extra"].alpha == 0.25
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(again(y, z))), reduced, rtol=1e-6)
    # A multiclass row with no target (an unseen validation label) adds nothing.
    y0 = y.copy()
    y0[0, :3] = 0
    per = loss.per_group(keras.ops.convert_to_tensor(y0), keras.ops.convert_to_tensor(z))
    assert abs(float(keras.ops.convert_to_numpy(per["score"])[0])) < 1e-6


@pytest.mark.backend
def test_grouped_f1_metric_matches_sklearn_at_half():
    from sklearn.metrics import f1_score

    from kmlc.metrics import GroupedF1Score

    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, size=(40, 6)).astype(np.float32)
    y = np.zeros_like(z)
    y[np.arange(40), rng.integers(0, 3, 40)] = 1.0
    y[:, 3:] = rng.integers(0, 2, size=(40, 3))
    layout = [{"name": "a", "kind": "multiclass", "start": 0, "stop": 3}, {"name": "b", "kind": "multilabel", "start": 3, "stop": 6}]
    pred = np.zeros_like(y)
    pred[np.arange(40), np.argmax(z[:, :3], axis=1)] = 1
    pred[:, 3:] = z[:, 3:] >= 0
    for average in ("micro", "macro"):
        metric = GroupedF1Score(layout, average, tuned=False)
        metric.update_state(y[:20], z[:20])
        metric.update_state(y[20:], z[20:])
        expected = f1_score(y, pred, average=average, zero_division=0)
        assert abs(float(metric.result()) - expected) < 1e-5
        tuned = GroupedF1Score(layout, average, tuned=True)
        tuned.update_state(y, z)
        assert float(tuned.result()) >= expected - 1e-6  # the best threshold is at least as good


# ----------------------------------------------------------------------------- estimator


@pytest.mark.backend
def test_multiclass_group_predicts_exactly_one_label(fitted, survey):
    texts = survey.text.tolist()[300:]
    proba = fitted.predict_proba(texts)
    assert set(proba) == {"global_score", "emotions", "causes"}
    assert proba["global_score"].shape == (60, 5) and proba["emotions"].shape == (60, 11)
    np.testing.assert_allclose(proba["global_score"].sum(axis=1), 1.0, atol=1e-5)
    rows = fitted.predict(texts)
    vocab = fitted.label_encoder_.encoders_["global_score"].vocabulary_
    assert vocab == ["S1", "S2", "S3", "S4", "S5"]
    for row, p in zip(rows, proba["global_score"]):
        assert set(row) == {"global_score", "emotions", "causes"}
        assert row["global_score"] == vocab[int(np.argmax(p))]
        assert isinstance(row["emotions"], list) and isinstance(row["causes"], list)
    flat = fitted.thresholds_.apply(np.concatenate([proba[g] for g in ("global_score", "emotions", "causes")], axis=1))
    assert (flat[:, :5].sum(axis=1) == 1).all()
    # Multi-label groups follow their own tuned policy.
    policy = fitted.thresholds_.policies["emotions"]
    assert [sorted(r["emotions"]) for r in rows] == [
        sorted(np.asarray(fitted.label_encoder_.encoders_["emotions"].vocabulary_)[m].tolist())
        for m in policy.apply(proba["emotions"])
    ]


@pytest.mark.backend
def test_auto_weights_are_inverse_initial_losses(fitted, survey):
    import keras

    from kmlc.groups import initial_group_losses
    from kmlc.preprocessing import make_dataset

    info = fitted.group_training_info_
    assert info["mode"] == "auto"
    for name, value in info["initial_losses"].items():
        assert value > 0 and fitted.group_weights_[name] == pytest.approx(1.0 / value)
    # Uniform-ish initial softmax over 5 classes: cross-entropy near log(5).
    assert abs(info["initial_losses"]["global_score"] - np.log(5)) < 0.5
    # The measurement itself, against NumPy on the same seeded rows (with the trained net).
    texts = survey.text.tolist()[:300]
    y = fitted.label_encoder_.transform(_columns(survey.iloc[:300]))
    losses, index = initial_group_losses(fitted.model_, fitted.preprocessor_, texts, y, fitted.loss_, seed=0, batch=64)
    z = np.asarray(fitted.model_.predict(make_dataset([texts[i] for i in index], fitted.preprocessor_), verbose=0), np.float64)
    yy = y[index]
    a, b = fitted.label_encoder_.slices_["global_score"]
    ce = np.log(np.exp(z[:, a:b]).sum(1)) - (yy[:, a:b] * z[:, a:b]).sum(1)
    assert losses["global_score"] == pytest.approx(ce.mean(), rel=1e-4)
    a, b = fitted.label_encoder_.slices_["causes"]
    assert losses["causes"] == pytest.approx(bce(yy[:, a:b], z[:, a:b]).mean(), rel=1e-4)
    assert keras.backend.backend() in ("jax", "tensorflow", "torch")


@pytest.mark.backend
def test_grouped_metrics_match_sklearn(fitted, survey):
    from sklearn.metrics import accuracy_score, f1_score

    part = survey.iloc[300:]
    metrics = fitted.evaluate(part.text.tolist(), _columns(part))
    rows = fitted.predict(part.text.tolist())
    g = metrics["group_metrics"]["global_score"]
    truth, pred = part.global_score.tolist(), [r["global_score"] for r in rows]
    assert g["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    labels = fitted.label_encoder_.encoders_["global_score"].vocabulary_
    assert g["macro_f1"] == pytest.approx(f1_score(truth, pred, labels=labels, average="macro", zero_division=0))
    assert np.asarray(g["confusion_matrix"]).sum() == len(part)
    from sklearn.preprocessing import MultiLabelBinarizer

    blocks_true, blocks_pred = [], []
    for name in ("global_score", "emotions", "causes"):
        vocab = fitted.label_encoder_.encoders_[name].vocabulary_
        binarizer = MultiLabelBinarizer(classes=vocab)
        t = part[name].tolist()
        t = [[v] for v in t] if name == "global_score" else t
        p = [[r[name]] if name == "global_score" else r[name] for r in rows]
        yt, yp = binarizer.fit_transform(t), binarizer.fit_transform(p)
        blocks_true.append(yt)
        blocks_pred.append(yp)
        if name != "global_score":
            m = metrics["group_metrics"][name]
            assert m["micro_f1"] == pytest.approx(f1_score(yt, yp, average="micro", zero_division=0))
            assert m["macro_f1"] == pytest.approx(f1_score(yt, yp, average="macro", zero_division=0))
            assert "groups" in m and m["kind"] == "multilabel"
    yt, yp = np.hstack(blocks_true), np.hstack(blocks_pred)
    assert metrics["micro_f1"] == pytest.approx(f1_score(yt, yp, average="micro", zero_division=0))
    assert metrics["macro_f1"] == pytest.approx(f1_score(yt, yp, average="macro", zero_division=0))
    assert metrics["n_labels"] == 28


@pytest.mark.backend
def test_save_load_keeps_the_groups(fitted, survey, tmp_path):
    import yaml

    from kmlc import load
    from kmlc.groups import output_groups

    fitted.save(tmp_path / "m")
    for name in ("global_score", "emotions", "causes"):
        assert (tmp_path / "m" / "labels" / f"{name}.txt").read_text().split() == \
            fitted.label_encoder_.encoders_[name].vocabulary_
    stored = json.loads((tmp_path / "m" / "groups.json").read_text())
    assert [g["name"] for g in stored["groups"]] == ["global_score", "emotions", "causes"]
    config = yaml.safe_load((tmp_path / "m" / "config.yaml").read_text())
    assert config["label_groups"] == GROUPS and config["group_weights"] == "auto"
    training = json.loads((tmp_path / "m" / "training.json").read_text())
    assert training["label_groups"]["mode"] == "auto" and set(training["label_groups"]["initial_losses"]) == {
        "global_score", "emotions", "causes"}
    again = load(tmp_path / "m")
    texts = survey.text.tolist()[300:]
    before, after = fitted.predict_proba(texts), again.predict_proba(texts)
    for name in before:
        np.testing.assert_allclose(after[name], before[name], rtol=1e-5, atol=1e-6)
    assert again.predict(texts) == fitted.predict(texts)
    assert [g.to_dict() for g in output_groups(again)] == [g.to_dict() for g in output_groups(fitted)]
    assert again.loss_.get_config() == fitted.loss_.get_config()
    # A damaged per-group label file is refused.
    (tmp_path / "m" / "labels" / "causes.txt").write_text("C1\nC2\n")
    from kmlc.errors import KmlcModelError

    with pytest.raises(KmlcModelError):
        load(tmp_path / "m")


@pytest.mark.backend
def test_fit_refuses_or_drops_bad_multiclass_rows(survey):
    from kmlc import TextClassifier

    texts = survey.text.tolist()[:80]
    rows = [{"global_score": s, "emotions": e, "causes": c}
            for s, e, c in zip(survey.global_score[:80], survey.emotions[:80], survey.causes[:80])]
    rows[3]["global_score"] = None
    rows[9]["global_score"] = ["S1", "S2"]
    clf = TextClassifier(label_groups=GROUPS, epochs=1, max_tokens=200, hidden_units=(8,), verbose=0)
    with pytest.raises(KmlcInputError, match=r"positions \[3\].*positions \[9\]"):
        clf.fit(texts, rows)
    clf.set_params(drop_invalid_rows=True)
    with pytest.warns(Warning, match="dropped 2 row"):
        clf.fit(texts, rows)
    assert clf.n_train_ + clf.metrics_["validation"]["n_examples"] == 78


# ----------------------------------------------------------------------------- command line


@pytest.mark.backend
def test_cli_train_predict_evaluate_with_three_groups(tmp_path, capsys):
    from kmlc.cli import main
    from kmlc.datasets import write_survey

    data = tmp_path / "survey.csv"
    write_survey(data, n_rows=300, seed=4)
    out = tmp_path / "model"
    flags = ["--epochs", "3", "--max-tokens", "500", "--hidden-units", "16", "--verbose", "0", "--no-report"]
    columns = ["--label-column", "global_score:multiclass", "--label-column", "emotions:multilabel",
               "--label-column", "causes:multilabel"]
    assert main(["train", "--data", str(data), "--out", str(out), *columns, "--group-weights", "0.7,4,4", *flags]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]["group_metrics"]) == {"global_score", "emotions", "causes"}
    assert metrics["test"]["group_metrics"]["causes"]["weight"] == 4.0
    capsys.readouterr()
    assert main(["predict", "--model", str(out), "the fees are outrageous", "lovely staff, thank you"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for record in lines:
        assert record["global_score"] in {"S1", "S2", "S3", "S4", "S5"}
        assert isinstance(record["emotions"], list) and isinstance(record["causes"], list)
        assert record["confidence"]["global_score"] == max(record["scores"]["global_score"].values())
    report = tmp_path / "rep"
    assert main(["evaluate", "--model", str(out), "--data", str(data), "--json", str(tmp_path / "e.json"),
                 "--report", str(report)]) == 0
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["group_metrics"]["global_score"]["kind"] == "multiclass"
    assert evaluated["n_examples"] == 300
    assert "Label group global_score (multiclass" in (report / "report.md").read_text()
    # A bad multiclass cell stops training with the row named.
    bad = tmp_path / "bad.csv"
    bad.write_text(data.read_text().replace("\n", "\n", 1).replace(",S", ",S1|S", 1))
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "x"), *columns, *flags]) == 2
    assert "data rows [1]" in capsys.readouterr().err


@pytest.mark.backend
def test_single_label_column_stays_plain(tiny_corpus, tmp_path):
    import yaml

    from kmlc import TextClassifier

    texts, labels = tiny_corpus
    clf = TextClassifier(epochs=1, max_tokens=100, hidden_units=(8,), verbose=0).fit(texts, labels)
    clf.save(tmp_path / "plain")
    config = yaml.safe_load((tmp_path / "plain" / "config.yaml").read_text())
    assert not {"label_groups", "group_weights", "drop_invalid_rows"} & set(config)
    assert not (tmp_path / "plain" / "groups.json").exists()
    assert isinstance(clf.predict(texts[:2])[0], list)


@pytest.mark.backend
def test_export_serves_each_group(fitted, survey, tmp_path):
    import tensorflow as tf

    from kmlc.export import export_model

    target = export_model(fitted, tmp_path / "served")
    texts = survey.text.tolist()[300:330]
    outputs = tf.saved_model.load(str(target)).signatures["serving_default"](text=tf.constant(texts))
    assert set(outputs) == {
        "global_score_probabilities", "global_score_label",
        "emotions_probabilities", "emotions_labels", "emotions_label_mask",
        "causes_probabilities", "causes_labels", "causes_label_mask",
    }
    proba, rows = fitted.predict_proba(texts), fitted.predict(texts)
    for name in ("global_score", "emotions", "causes"):
        np.testing.assert_allclose(outputs[f"{name}_probabilities"].numpy(), proba[name], atol=1e-5)
    assert [v.decode() for v in outputs["global_score_label"].numpy()] == [r["global_score"] for r in rows]
    for name in ("emotions", "causes"):
        labels, mask = outputs[f"{name}_labels"].numpy(), outputs[f"{name}_label_mask"].numpy()
        served = [[v.decode() for v, m in zip(row, keep) if m] for row, keep in zip(labels, mask)]
        assert served == [r[name] for r in rows]
