"""The "svm" wide path: a linear SVM fitted by liblinear on the network's TF-IDF vectors,
calibrated, set into the network and kept fixed while the deep path trains. Checked against
scikit-learn's LinearSVC and LogisticRegression run directly on the same vectors."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

import kmlc
from kmlc.errors import KmlcInputError
from kmlc.families.wide_svm import fit_wide_svm, tfidf_matrix
from kmlc.labels import LabelEncoder
from kmlc.preprocessing import TfidfPreprocessor


def split(corpus):
    texts, labels = corpus
    return (texts[:40], labels[:40]), (texts[40:], labels[40:])


def test_the_fit_is_liblinear_per_label_then_one_platt_scaling(tiny_corpus):
    (train_texts, train_labels), (val_texts, val_labels) = split(tiny_corpus)
    encoder = LabelEncoder().fit(train_labels)
    y_train, y_val = encoder.transform(train_labels), encoder.transform(val_labels, unknown="ignore")
    preprocessor = TfidfPreprocessor(max_tokens=500).adapt(train_texts)
    svm = fit_wide_svm(preprocessor, train_texts, y_train, val_texts, y_val, C=0.7, seed=3)

    x_train, x_val = tfidf_matrix(preprocessor, train_texts), tfidf_matrix(preprocessor, val_texts)
    # The vectors are the network's: the preprocessor's dense output, row for row.
    np.testing.assert_allclose(
        x_val.toarray(), np.asarray(TfidfPreprocessor.from_config({**preprocessor.get_config(), "output": "dense"})
                                    .adapt(train_texts)(val_texts)), atol=1e-6)
    margins_train, margins_val = np.zeros((len(train_texts), y_train.shape[1])), np.zeros((len(val_texts), y_train.shape[1]))
    for j in range(y_train.shape[1]):
        reference = LinearSVC(C=0.7, random_state=3).fit(x_train, y_train[:, j])
        margins_train[:, j] = reference.decision_function(x_train)
        margins_val[:, j] = reference.decision_function(x_val)
    platt = LogisticRegression(C=1e4, max_iter=1000).fit(margins_val.reshape(-1, 1), y_val.reshape(-1))
    assert svm.slope == pytest.approx(platt.coef_[0, 0], rel=1e-6) and svm.slope > 0
    assert svm.offset == pytest.approx(platt.intercept_[0], rel=1e-6)
    np.testing.assert_allclose(x_val @ svm.kernel + svm.bias, svm.slope * margins_val + svm.offset, atol=1e-6)


def test_a_label_without_two_classes_gets_a_constant_margin_and_no_weights():
    texts = ["red apple", "green apple", "red car", "blue car", "green car", "red bus"] * 3
    y = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0]] * 3)
    preprocessor = TfidfPreprocessor(max_tokens=50).adapt(texts)
    svm = fit_wide_svm(preprocessor, texts, y, texts, y, seed=0)
    assert not np.any(svm.kernel[:, 2])
    # Margin -1 before scaling: the label never seen is far below every seen one.
    assert svm.bias[2] == pytest.approx(-svm.slope + svm.offset)
    assert svm.bias[2] < (tfidf_matrix(preprocessor, texts) @ svm.kernel + svm.bias)[:, :2].min()


@pytest.mark.backend
def test_the_network_starts_as_the_calibrated_svm_and_keeps_it_fixed(tiny_corpus, tmp_path):
    (train_texts, train_labels), validation = split(tiny_corpus)
    settings = dict(wide="svm", svm_c=0.5, hidden_units=(16,), input_scale=4.0, batch_size=8, seed=1, verbose=0)
    # epochs=1, patience=1: whichever wins, the starting SVM or the trained epoch, is reported.
    clf = kmlc.TextClassifier(epochs=2, patience=1, **settings).fit(train_texts, train_labels, validation_data=validation)
    encoder, preprocessor = clf.label_encoder_, clf.preprocessor_
    svm = fit_wide_svm(preprocessor, train_texts, encoder.transform(train_labels), validation[0],
                       encoder.transform(validation[1], unknown="ignore"), C=0.5, seed=1)
    assert clf.initial_fit_["platt_slope"] == pytest.approx(round(svm.slope, 4))
    kernel, bias = clf.model_.get_layer("wide").get_weights()
    # Fixed while the deep path trained; stored on the scaled input (x4), so divided by 4.
    np.testing.assert_allclose(kernel * 4.0, svm.kernel, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, svm.bias, rtol=1e-5, atol=1e-6)
    wide_logits = np.asarray(tfidf_matrix(preprocessor, train_texts) @ svm.kernel + svm.bias)
    logits = clf.predict_logits(train_texts)
    if clf.best_epoch_ == 0:  # no epoch beat the start: the network is the SVM, the deep path silent
        np.testing.assert_allclose(logits, wide_logits, atol=1e-4)
    else:
        assert not np.allclose(logits, wide_logits, atol=1e-4)
    clf.save(tmp_path / "m")
    loaded = kmlc.load(tmp_path / "m")
    assert loaded.wide == "svm" and loaded.svm_c == 0.5
    np.testing.assert_allclose(loaded.predict_proba(train_texts), clf.predict_proba(train_texts), atol=1e-6)


@pytest.mark.backend
def test_the_starting_svm_is_kept_when_no_epoch_beats_it(tiny_corpus):
    (train_texts, train_labels), validation = split(tiny_corpus)
    # A learning rate of ~0: every epoch's validation F1 equals the start's, which is kept.
    clf = kmlc.TextClassifier(wide="svm", hidden_units=(8,), learning_rate=1e-12, epochs=3, patience=1,
                              batch_size=16, seed=0, verbose=0).fit(train_texts, train_labels, validation_data=validation)
    assert clf.best_epoch_ == 0 and len(clf.history_["loss"]) == 2  # stopped after `patience` epochs
    encoder = clf.label_encoder_
    svm = fit_wide_svm(clf.preprocessor_, train_texts, encoder.transform(train_labels), validation[0],
                       encoder.transform(validation[1], unknown="ignore"), seed=0)
    np.testing.assert_allclose(clf.predict_logits(validation[0]),
                               tfidf_matrix(clf.preprocessor_, validation[0]) @ svm.kernel + svm.bias, atol=1e-4)


def test_a_stream_is_refused_before_any_work(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,labels\na b,x\nc d,y\n")
    with pytest.raises(KmlcInputError, match="Expected in-memory training data .* Received: a stream"):
        kmlc.TextClassifier(wide="svm", verbose=0).fit_stream(str(path))


def test_the_setting_takes_its_older_boolean_form_and_writes_the_name():
    from kmlc.settings import check, config_value

    assert check("wide", True) is True and config_value("wide", True) == "joint"
    assert config_value("wide", False) == "none"
    with pytest.raises(KmlcInputError, match=r"Expected wide to be one of \['auto', 'svm', 'joint', 'none'\]"):
        check("wide", "linear")
    with pytest.raises(KmlcInputError, match="Expected svm_c to be a finite number > 0"):
        check("svm_c", 0)


@pytest.mark.backend
def test_label_groups_start_from_the_svm_on_every_output_column():
    from kmlc.datasets import load_survey

    survey = load_survey(n_rows=300, seed=2)
    groups = {name: survey[name].tolist() for name in ("global_score", "emotions", "causes")}
    texts = survey["text"].tolist()
    train, val = {k: v[:220] for k, v in groups.items()}, {k: v[220:] for k, v in groups.items()}
    clf = kmlc.TextClassifier(label_groups=["global_score:multiclass", "emotions", "causes"], wide="svm",
                              hidden_units=(8,), learning_rate=1e-12, epochs=2, patience=1, seed=1, verbose=0)
    clf.fit(texts[:220], train, validation_data=(texts[220:], val))
    assert clf.best_epoch_ == 0
    encoder = clf.label_encoder_
    y_train = encoder.transform(train)
    svm = fit_wide_svm(clf.preprocessor_, texts[:220], y_train, texts[220:],
                       encoder.transform(val, unknown="ignore"), seed=1)
    logits = np.asarray(tfidf_matrix(clf.preprocessor_, texts[220:]) @ svm.kernel + svm.bias)
    np.testing.assert_allclose(clf.predict_logits(texts[220:]), logits, atol=1e-4)
    # The multiclass group's answer is the class of the largest margin: scikit-learn's
    # one-vs-rest rule on the same vectors.
    start, stop = encoder.slices_["global_score"]
    classes = list(encoder.encoders_["global_score"].vocabulary_)
    expected = [classes[i] for i in np.argmax(logits[:, start:stop], axis=1)]
    assert [row["global_score"] for row in clf.predict(texts[220:])] == expected
    assert set(clf.metrics_["validation"]["group_metrics"]) == {"global_score", "emotions", "causes"}


def test_without_a_c_the_best_of_the_grid_on_validation_is_kept(tiny_corpus):
    from sklearn.metrics import f1_score

    from kmlc.families.wide_svm import SVM_C_GRID
    from kmlc.thresholds import tune_thresholds

    (train_texts, train_labels), (val_texts, val_labels) = split(tiny_corpus)
    # Noisy labels, so that C matters: every fifth training row gets another row's labels.
    train_labels = [train_labels[(i + 3) % len(train_labels)] if i % 5 == 0 else row
                    for i, row in enumerate(train_labels)]
    encoder = LabelEncoder().fit(train_labels)
    y_train, y_val = encoder.transform(train_labels), encoder.transform(val_labels, unknown="ignore")
    preprocessor = TfidfPreprocessor(max_tokens=500, tokens="words").adapt(train_texts)
    chosen = fit_wide_svm(preprocessor, train_texts, y_train, val_texts, y_val, seed=0)
    x_train, x_val = tfidf_matrix(preprocessor, train_texts), tfidf_matrix(preprocessor, val_texts)
    expected = {}
    for c in SVM_C_GRID:
        margins = np.stack([LinearSVC(C=c, random_state=0).fit(x_train, y_train[:, j]).decision_function(x_val)
                            for j in range(y_train.shape[1])], axis=1)
        scores = 1 / (1 + np.exp(-margins))
        predicted = tune_thresholds(y_val, scores, strategy="global").apply(scores)
        expected[c] = (f1_score(y_val, predicted, average="micro"), f1_score(y_val, predicted, average="macro"))
    assert set(chosen.validation) == set(SVM_C_GRID)
    for c in SVM_C_GRID:
        np.testing.assert_allclose(chosen.validation[c], expected[c], atol=1e-12)
    best = max(expected.values(), key=sum)
    assert sum(chosen.validation[chosen.C]) == pytest.approx(sum(best))
    assert chosen.C == min(c for c in SVM_C_GRID if sum(expected[c]) == pytest.approx(sum(best)))
    assert chosen.summary()["C"] == chosen.C


def test_the_vocabulary_rule_is_the_one_that_serves_the_svm_better(tiny_corpus):
    (train_texts, train_labels), validation = split(tiny_corpus)
    # Words of one training text each, so that min_df 1 and 2 give different vocabularies.
    train_texts = [f"{text} once{i}" for i, text in enumerate(train_texts)]
    clf = kmlc.TextClassifier(hidden_units=(8,), epochs=1, seed=0, verbose=0).fit(
        train_texts, train_labels, validation_data=validation)
    assert clf.model_.wide == "svm" and clf.resolved_params()["wide"] == "auto"
    scores = clf.metrics_["wide_svm"]["validation_score_by_min_df"]
    assert set(scores) == {"1", "2"}
    assert clf.preprocessor_.min_df == int(max(sorted(scores), key=lambda k: scores[k]))
    vocabulary = set(map(str, clf.preprocessor_.vectorizer.get_vocabulary()))
    assert ("once0" in vocabulary) == (clf.preprocessor_.min_df == 1)


def test_on_a_stream_auto_is_no_wide_path(tmp_path, tiny_corpus):
    texts, labels = tiny_corpus
    path = tmp_path / "t.csv"
    path.write_text("text,labels\n" + "".join(f'"{t}",{"|".join(l)}\n' for t, l in zip(texts, labels)))
    clf = kmlc.TextClassifier(hidden_units=(8,), epochs=1, verbose=0).fit_stream(str(path))
    assert clf.model_.wide == "none" and "wide_svm" not in clf.metrics_ and clf.preprocessor_.min_df == 1


def test_platt_scaling_never_turns_the_ranking_upside_down():
    from kmlc.families.wide_svm import platt_scaling

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    y = (x[:, :1] > 0).astype(int)
    kernel, bias = np.ones((1, 1)), np.zeros(1)
    slope, _ = platt_scaling(x, y, kernel, bias, fallback=(x, 1 - y))
    assert slope > 0
    # Validation rows that order against the margins: the training rows calibrate instead.
    slope, offset = platt_scaling(x, 1 - y, kernel, bias, fallback=(x, y))
    reference = LogisticRegression(C=1e4, max_iter=1000).fit(x, y.ravel())
    assert slope == pytest.approx(reference.coef_[0, 0]) and offset == pytest.approx(reference.intercept_[0])
    assert platt_scaling(x, 1 - y, kernel, bias, fallback=(x, 1 - y)) == (1.0, 0.0)


def test_data_without_an_ngram_in_two_texts_keeps_min_df_1_and_an_explicit_2_is_refused(tiny_corpus):
    texts = ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]
    labels = [["a"], ["b"], ["a"], ["b"]]
    validation = (["iota kappa", "lambda mu"], [["a"], ["b"]])
    clf = kmlc.TextClassifier(hidden_units=(8,), epochs=1, verbose=0).fit(texts, labels, validation_data=validation)
    assert clf.preprocessor_.min_df == 1 and set(clf.metrics_["wide_svm"]["validation_score_by_min_df"]) == {"1"}
    with pytest.raises(KmlcInputError, match=r"Expected at least one n-gram found in 2 or more training texts"):
        kmlc.TextClassifier(min_df=2, hidden_units=(8,), epochs=1, verbose=0).fit(texts, labels, validation_data=validation)
