"""Tests for kmlc.evaluation: every figure against scikit-learn at 1e-9."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import (
    accuracy_score,
    hamming_loss,
    jaccard_score,
    ndcg_score,
    precision_recall_fscore_support,
)

from kmlc.evaluation import (
    evaluate,
    frequency_groups,
    group_cutoffs_from_quantiles,
    ndcg_at_k,
    per_label_table,
    precision_at_k,
)

TOL = 1e-9


@st.composite
def multilabel_case(draw, min_labels=2, max_labels=7, max_rows=12):
    """(y_true, y_pred, scores) with frequent empty rows/columns and score ties."""
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(min_labels, max_labels))
    y_true = draw(arrays(np.int8, (n, c), elements=st.integers(0, 1)))
    y_pred = draw(arrays(np.int8, (n, c), elements=st.integers(0, 1)))
    # force some empty rows / columns (true, predicted or both)
    if draw(st.booleans()):
        y_true[draw(st.integers(0, n - 1))] = 0
    if draw(st.booleans()):
        j = draw(st.integers(0, c - 1))
        y_true[:, j] = 0
        if draw(st.booleans()):
            y_pred[:, j] = 0
    if draw(st.booleans()):
        y_pred[draw(st.integers(0, n - 1))] = 0
    # scores on a coarse grid so that ties are common
    scores = draw(arrays(np.float64, (n, c), elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])))
    return y_true, y_pred, scores


def _sk_reference(y_true, y_pred):
    ref = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for avg in ("micro", "macro", "weighted", "samples"):
            p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
            ref[f"{avg}_precision"], ref[f"{avg}_recall"], ref[f"{avg}_f1"] = p, r, f
            if avg != "weighted":
                ref[f"jaccard_{avg}"] = jaccard_score(y_true, y_pred, average=avg, zero_division=0)
        ref["hamming_loss"] = hamming_loss(y_true, y_pred)
        ref["subset_accuracy"] = accuracy_score(y_true, y_pred)
        _, _, f_l, _ = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    ref["n_labels_predicted"] = int((f_l > 0).sum())
    return ref, f_l


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(multilabel_case())
def test_metrics_match_sklearn(case):
    y_true, y_pred, scores = case
    out = evaluate(y_true, y_pred, scores, ks=(1, 2, 3, 5, 10))
    ref, _ = _sk_reference(y_true, y_pred)
    for key, value in ref.items():
        assert out[key] == pytest.approx(value, abs=TOL), key
    assert out["share_labels_predicted"] == pytest.approx(ref["n_labels_predicted"] / y_true.shape[1])
    for k in (1, 2, 3, 5, 10):
        assert out[f"ndcg_at_{k}"] == pytest.approx(ndcg_score(y_true, scores, k=k), abs=TOL), k
        assert out[f"precision_at_{k}"] == pytest.approx(_naive_p_at_k(y_true, scores, k), abs=TOL), k
    json.dumps(out)  # plain Python types only


@settings(max_examples=60, deadline=None, database=None)
@given(multilabel_case(max_labels=9), st.integers(1, 12))
def test_ndcg_and_precision_at_k_continuous_scores(case, k):
    y_true, _, scores = case
    rng = np.random.default_rng(int(scores.sum() * 1000) % 2**32)
    # mix of continuous and tied values
    scores = np.where(rng.random(scores.shape) < 0.5, rng.random(scores.shape), scores)
    assert ndcg_at_k(y_true, scores, k) == pytest.approx(ndcg_score(y_true, scores, k=k), abs=TOL)
    assert ndcg_at_k(y_true, scores, k) == pytest.approx(
        ndcg_score(y_true, scores.astype(np.float32), k=k), abs=1e-6
    )
    assert precision_at_k(y_true, scores, k) == pytest.approx(_naive_p_at_k(y_true, scores, k), abs=TOL)


def _naive_p_at_k(y_true, scores, k):
    total = 0.0
    for yt, s in zip(y_true, scores):
        order = sorted(range(len(s)), key=lambda j: (-s[j], j))[:k]
        total += sum(yt[j] for j in order) / k
    return total / len(y_true)


@settings(max_examples=60, deadline=None, database=None)
@given(multilabel_case(), st.integers(0, 40), st.integers(0, 40))
def test_per_label_table_and_groups_match_sklearn(case, a, b):
    y_true, y_pred, _ = case
    n, c = y_true.shape
    head_min, medium_min = max(a, b), min(a, b)
    counts = (np.arange(c) * 7) % 50
    names = [f"L{j}" for j in range(c)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, sup = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    table = per_label_table(y_true, y_pred, label_names=names, train_counts=counts, thresholds=0.5)
    assert list(table.columns) == [
        "label", "support", "predicted", "tp", "fp", "fn", "precision", "recall",
        "f1", "train_count", "group", "threshold",
    ]
    np.testing.assert_allclose(table["precision"], p, atol=TOL)
    np.testing.assert_allclose(table["recall"], r, atol=TOL)
    np.testing.assert_allclose(table["f1"], f, atol=TOL)
    np.testing.assert_array_equal(table["support"], sup)
    np.testing.assert_array_equal(table["predicted"], y_pred.sum(0))
    np.testing.assert_array_equal(table["tp"] + table["fn"], sup)
    np.testing.assert_array_equal(table["tp"] + table["fp"], y_pred.sum(0))

    out = evaluate(y_true, y_pred, label_names=names, train_counts=counts,
                   group_cutoffs=(head_min, medium_min))
    groups = frequency_groups(counts, cutoffs=(head_min, medium_min))
    expected_groups = np.where(counts >= head_min, "head", np.where(counts >= medium_min, "medium", "tail"))
    np.testing.assert_array_equal(groups, expected_groups)
    total = 0
    for g in ("head", "medium", "tail"):
        m = groups == g
        total += out["groups"][g]["n_labels"]
        assert out["groups"][g]["n_labels"] == m.sum()
        if m.sum() == 0:
            assert out["groups"][g]["micro_f1"] == 0.0 and out["groups"][g]["macro_f1"] == 0.0
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # an all-zero extra column keeps sklearn in multilabel mode (a
            # single column would be treated as binary) and adds no counts
            pad = np.zeros((n, 1), dtype=y_true.dtype)
            _, _, fmi, _ = precision_recall_fscore_support(
                np.hstack([y_true[:, m], pad]), np.hstack([y_pred[:, m], pad]),
                average="micro", zero_division=0)
        assert out["groups"][g]["micro_f1"] == pytest.approx(fmi, abs=TOL)
        assert out["groups"][g]["macro_f1"] == pytest.approx(f[m].mean(), abs=TOL)
    assert total == c
    assert out["groups"]["zero"]["n_labels"] == int((f == 0).sum())
    assert out["groups"]["zero"]["labels"] == [names[j] for j in np.flatnonzero(f == 0)]
    json.dumps(out)


def test_all_zero_inputs():
    y = np.zeros((4, 3), dtype=int)
    out = evaluate(y, y, np.zeros((4, 3)))
    for key in ("micro_f1", "macro_f1", "weighted_f1", "samples_f1", "jaccard_micro",
                "jaccard_macro", "jaccard_samples", "ndcg_at_1", "precision_at_1"):
        assert out[key] == 0.0, key
    assert out["hamming_loss"] == 0.0
    assert out["subset_accuracy"] == 1.0
    assert out["n_labels_predicted"] == 0


def test_bool_inputs_and_single_label():
    y_true = np.array([[True], [False], [True]])
    y_pred = np.array([[True], [True], [False]])
    out = evaluate(y_true, y_pred, np.array([[0.9], [0.8], [0.1]]))
    assert out["micro_f1"] == pytest.approx(0.5)
    assert out["precision_at_1"] == pytest.approx(2 / 3)
    assert out["ndcg_at_1"] == pytest.approx(2 / 3)


def test_known_values_and_tie_rule():
    y_true = np.array([[1, 0, 1, 0], [0, 1, 0, 0]])
    scores = np.array([[0.5, 0.5, 0.5, 0.1], [0.9, 0.2, 0.2, 0.0]])
    # stable sort on -scores: ties go to the lower label index
    assert precision_at_k(y_true, scores, 1) == pytest.approx((1 + 0) / 2)
    assert precision_at_k(y_true, scores, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert precision_at_k(y_true, scores, 5) == pytest.approx((2 / 5 + 1 / 5) / 2)


def test_frequency_groups_zero_and_quantiles():
    counts = np.array([100, 35, 34, 8, 7, 0])
    np.testing.assert_array_equal(
        frequency_groups(counts), ["head", "head", "medium", "medium", "tail", "tail"])
    np.testing.assert_array_equal(
        frequency_groups(counts, f1=[0.5, 0, 0.1, 0, 0.2, 0.0]),
        ["head", "zero", "medium", "zero", "tail", "zero"])
    head_min, medium_min = group_cutoffs_from_quantiles(np.arange(101), q=(0.66, 0.33))
    assert (head_min, medium_min) == (66, 33)
    assert (frequency_groups(np.arange(101), cutoffs=(head_min, medium_min)) == "head").sum() == 35


def test_per_label_table_defaults_and_policy_thresholds():
    from kmlc.thresholds import ThresholdPolicy

    y = np.array([[1, 0], [0, 1]])
    table = per_label_table(y, y, label_names=["a", "b"])
    assert table["train_count"].isna().all() and table["group"].isna().all()
    assert table["threshold"].isna().all()
    table = per_label_table(y, y, label_names=["a", "b"],
                            thresholds=ThresholdPolicy(np.array([0.3, 0.7])))
    np.testing.assert_allclose(table["threshold"], [0.3, 0.7])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y_true=np.zeros((2, 3)), y_pred=np.zeros((2, 2))), "same shape"),
        (dict(y_true=np.zeros(3), y_pred=np.zeros(3)), "2-D"),
        (dict(y_true=np.full((2, 2), 2), y_pred=np.zeros((2, 2))), "only 0 and 1"),
        (dict(y_true=np.zeros((0, 2)), y_pred=np.zeros((0, 2))), "at least one"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), scores=np.zeros((2, 3))), "shape"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), scores=np.full((2, 2), np.nan)), "NaN"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), label_names=["a"]), "label names"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), train_counts=[1]), "train counts"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), train_counts=[1, -1]), ">= 0"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), train_counts=[1, 2],
              group_cutoffs=(5, 10)), "medium_min <= head_min"),
        (dict(y_true=np.zeros((2, 2)), y_pred=np.zeros((2, 2)), scores=np.zeros((2, 2)), ks=(0,)), "k in"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        evaluate(**kwargs)
    assert "Expected" in str(info.value) and "Received" in str(info.value)
