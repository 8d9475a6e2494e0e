"""TextClassifier inside scikit-learn: clone, get_params/set_params, the estimator checks that
apply to an estimator of strings, cross-validation, grid search and pipelines."""

import numpy as np
import pytest
import yaml
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks

import kmlc
from kmlc.errors import KmlcInputError
from kmlc.metrics import make_scorer
from kmlc.settings import CLASSIFIER_SETTINGS
from kmlc.splits import stratified_folds

FAST = dict(epochs=2, max_tokens=400, hidden_units=(16,), batch_size=32, verbose=0, seed=0)

# A value other than the default for every parameter (what a fully customised estimator holds).
CUSTOM = dict(
    model="bert", max_tokens=1234, min_df=2, tokens="keras", idf="keras", oov="keep", wide="joint", svm_c=0.5, ngrams=1, normalize="none", sublinear_tf=False, tfidf_input="dense",
    hidden_units=(64, 32), input_scale=2.0, preset="some/dir", sequence_length=64, pooling="cls",
    freeze_backbone=True, long_docs="windows", max_windows=4, window_overlap=8, weight_decay=0.0,
    warmup_fraction=0.2, clipnorm=2.0, mixed_precision="bfloat16", dropout=0.1, learning_rate=1e-4,
    batch_size=8, epochs=7, patience=2, distribute="data-parallel", loss="focal", loss_params={"gamma": 1.5},
    threshold="per-label", threshold_metric="macro_f1", top_k=3, min_precision=0.5, at_least_one=True,
    group_cutoffs=(20, 5), baseline=True, baseline_classifier="logistic_regression", label_groups=["score:multiclass", "tags"], group_weights=(1.0, 2.0),
    drop_invalid_rows=True, validation_fraction=0.3, seed=7, verbose=1,
)


@pytest.fixture(scope="module")
def tickets():
    from kmlc.datasets import load_support_tickets

    frame = load_support_tickets(n_rows=240, seed=3)
    texts = frame["text"].tolist()
    labels = [list(cell) for cell in frame["labels"]]
    return texts, labels


def test_every_parameter_is_customised_here():
    assert sorted(CUSTOM) == sorted(s.name for s in CLASSIFIER_SETTINGS)
    assert all(CUSTOM[s.name] != s.default for s in CLASSIFIER_SETTINGS)


@pytest.mark.parametrize("params", [{}, CUSTOM], ids=["default", "customised"])
def test_clone_and_set_params_keep_every_parameter(params):
    clf = kmlc.TextClassifier(**params)
    assert clf.get_params() == {**{s.name: s.default for s in CLASSIFIER_SETTINGS}, **params}
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    # get_params returns exactly what __init__ was given (scikit-learn's contract): the same objects.
    given = clf.get_params()
    assert all(kmlc.TextClassifier(**given).get_params()[k] is v for k, v in given.items())
    assert clf.set_params(**clf.get_params()).get_params() == copy.get_params()
    with pytest.raises(KmlcInputError, match=r"Expected settings among .*Received: unknown \['nope'\]"):
        clf.set_params(nope=1)


def test_the_repr_shows_the_changed_parameters():
    assert repr(kmlc.TextClassifier()) == "TextClassifier()"
    assert repr(kmlc.TextClassifier(loss="bce", hidden_units=(8,))) == "TextClassifier(hidden_units=(8,), loss='bce')"
    assert "TextClassifier" in kmlc.TextClassifier()._repr_html_()


# scikit-learn's own checks, where they apply to an estimator of strings. Skipped (their data
# are numeric arrays, which a text classifier refuses by design): check_fit_idempotent,
# check_dont_overwrite_parameters, check_estimators_overwrite_params, check_fit2d_*,
# check_methods_* and the other data checks; the two that matter for texts are written
# below with texts (fit idempotent for a seed; fit leaves the parameters as given).
SKLEARN_CHECKS = [
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_no_attributes_set_in_init",
    "check_estimator_repr",
    "check_estimator_cloneable",
]


@pytest.mark.parametrize("name", SKLEARN_CHECKS)
def test_scikit_learn_estimator_checks(name):
    check = getattr(estimator_checks, name, None)
    if check is None:
        pytest.skip(f"{name} is not in this scikit-learn")
    check("TextClassifier", kmlc.TextClassifier(**FAST))


def test_tags_say_texts_in_and_label_lists_out():
    tags = kmlc.TextClassifier().__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert tags.target_tags.required and tags.target_tags.multi_output and not tags.target_tags.single_output


@pytest.mark.backend
def test_fit_is_idempotent_and_leaves_the_parameters_as_given(tickets):
    texts, labels = tickets
    clf = kmlc.TextClassifier(**FAST)
    before = {k: (v.copy() if isinstance(v, (list, dict)) else v) for k, v in clf.get_params().items()}
    first = clf.fit(texts, labels).predict_proba(texts[:30])
    assert clf.get_params() == before and clf.hidden_units is FAST["hidden_units"]
    public = {k for k in vars(clf) if not k.startswith("_") and not k.endswith("_")}
    assert public == set(before), "fit added public attributes that are not parameters"
    second = clf.fit(texts, labels).predict_proba(texts[:30])
    np.testing.assert_array_equal(first, second)


@pytest.mark.backend
def test_cross_val_score_equals_fitting_the_folds_by_hand(tickets):
    texts, labels = tickets
    clf = kmlc.TextClassifier(**FAST)
    scores = cross_val_score(clf, texts, labels, cv=2)
    by_hand = []
    for train, test in KFold(2).split(texts):
        fitted = kmlc.TextClassifier(**FAST).fit([texts[i] for i in train], [labels[i] for i in train])
        by_hand.append(fitted.evaluate([texts[i] for i in test], [labels[i] for i in test])["micro_f1"])
    np.testing.assert_allclose(scores, by_hand, rtol=0, atol=1e-12)
    assert all(0.0 < s <= 1.0 for s in scores)
    # kmlc's other figures as scorers, by kmlc's or scikit-learn's name.
    macro = cross_val_score(clf, texts, labels, cv=stratified_folds(labels, 2, seed=0),
                            scoring=make_scorer("f1_macro"))
    assert macro.shape == (2,) and all(0.0 <= s <= 1.0 for s in macro)


def test_stratified_folds_spread_every_label(tickets):
    _, labels = tickets
    folds = stratified_folds(labels, 3, seed=0)
    assert len(folds) == 3
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(len(labels)))
    for train, test in folds:
        assert not set(train) & set(test)
    # Each label's rows are split across the folds within one row of even.
    names = sorted({name for row in labels for name in row})
    for name in names:
        per_fold = [sum(name in labels[i] for i in test) for _, test in folds]
        assert max(per_fold) - min(per_fold) <= 1, (name, per_fold)
    assert [t.tolist() for _, t in folds] == [t.tolist() for _, t in stratified_folds(labels, 3, seed=0)]
    with pytest.raises(KmlcInputError, match="Expected n_splits to be an integer >= 2"):
        stratified_folds(labels, 1)


def test_make_scorer_names():
    assert repr(make_scorer("f1_micro")) == "kmlc.metrics.make_scorer('micro_f1')"
    assert make_scorer("accuracy").metric == "subset_accuracy"
    with pytest.raises(KmlcInputError, match=r"Expected metric to be one of .*Received: 'f2'"):
        make_scorer("f2")


@pytest.mark.backend
def test_grid_search_picks_the_better_loss_and_refits(tickets):
    texts, labels = tickets
    search = GridSearchCV(kmlc.TextClassifier(**FAST), {"loss": ["bce", "db"]}, cv=2, refit=True)
    search.fit(texts, labels)
    means = search.cv_results_["mean_test_score"]
    assert search.best_params_["loss"] == ["bce", "db"][int(np.argmax(means))]
    assert search.best_score_ == pytest.approx(means.max())
    best = search.best_estimator_
    assert best.loss == search.best_params_["loss"] and best.labels_
    predicted = search.predict(texts[:5])
    assert len(predicted) == 5 and all(set(row) <= set(best.labels_) for row in predicted)
    assert search.score(texts, labels) == pytest.approx(best.score(texts, labels))


def _lowercase(texts):
    return [t.lower() for t in texts]


@pytest.mark.backend
def test_a_pipeline_cleans_the_texts_then_classifies(tickets):
    texts, labels = tickets
    pipe = make_pipeline(FunctionTransformer(_lowercase), kmlc.TextClassifier(**FAST))
    pipe.fit(texts, labels)
    direct = kmlc.TextClassifier(**FAST).fit(_lowercase(texts), labels)
    np.testing.assert_array_equal(pipe.predict_proba(texts[:10]), direct.predict_proba(_lowercase(texts[:10])))
    assert pipe.predict(texts[:3]) == direct.predict(_lowercase(texts[:3]))
    assert pipe.score(texts, labels) == pytest.approx(direct.score(_lowercase(texts), labels))


def test_config_yaml_round_trips_through_the_cli(tmp_path):
    """config.yaml written by `kmlc train` and read back by `--config` gives the same file."""
    from kmlc.cli import main

    first, second = tmp_path / "first", tmp_path / "second"
    common = ["--epochs", "1", "--no-report", "--verbose", "0"]
    assert main(["train", "--out", str(first), "--hidden-units", "16,8", "--loss-param", "gamma=3",
                 "--group-cutoffs", "20,5", *common]) == 0
    written = yaml.safe_load((first / "config.yaml").read_text())
    assert written["hidden_units"] == [16, 8] and written["group_cutoffs"] == [20, 5]
    assert written["loss_params"] == {"gamma": 3.0} and written["dropout"] == 0.2  # the family default, written out
    assert main(["train", "--config", str(first / "config.yaml"), "--out", str(second)]) == 0
    assert (second / "config.yaml").read_text() == (first / "config.yaml").read_text()
