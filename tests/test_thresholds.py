"""Tests for kmlc.thresholds."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmlc.thresholds import (
    STRATEGIES,
    THRESHOLD_CHOICES,
    ThresholdPolicy,
    tune_thresholds,
)

SETTINGS = settings(max_examples=60, deadline=None, database=None)


# --------------------------------------------------------------------------
# brute-force references
# --------------------------------------------------------------------------
def _micro_f1(y, pred):
    tp = np.sum(y & pred)
    denom = y.sum() + pred.sum()
    return 2 * tp / denom if denom else 0.0


def _macro_f1(y, pred):
    tp = (y & pred).sum(0)
    denom = y.sum(0) + pred.sum(0)
    return np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))


def _candidates(s):
    """Every distinct decision ("score >= v" for each distinct v, and nothing)."""
    return list(np.unique(s)) + [np.inf]


def _brute_best(y, s, fn):
    return max(fn(y, s >= t) for t in _candidates(s))


@st.composite
def tuning_case(draw, max_rows=15, max_labels=5):
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(1, max_labels))
    y = draw(arrays(np.int8, (n, c), elements=st.integers(0, 1))).astype(bool)
    grid = draw(st.booleans())
    elements = (
        st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
        if grid
        else st.floats(0, 1, allow_nan=False, width=32)
    )
    s = draw(arrays(np.float64, (n, c), elements=elements))
    return y, s


# --------------------------------------------------------------------------
# global
# --------------------------------------------------------------------------
@SETTINGS
@given(tuning_case())
def test_global_micro_f1_matches_brute_force(case):
    y, s = case
    policy = tune_thresholds(y, s, "global")
    assert policy.strategy == "global"
    assert np.all(policy.thresholds == policy.thresholds[0])
    got = _micro_f1(y, policy.apply(s))
    assert got == pytest.approx(_brute_best(y, s, _micro_f1), abs=1e-12)
    # robust to float32 re-computation of the scores
    assert _micro_f1(y, policy.apply(s.astype(np.float32))) == pytest.approx(got, abs=1e-12)


@SETTINGS
@given(tuning_case())
def test_global_macro_f1_matches_brute_force(case):
    y, s = case
    policy = tune_thresholds(y, s, "global", "macro_f1")
    got = _macro_f1(y, policy.apply(s))
    assert got == pytest.approx(_brute_best(y, s, _macro_f1), abs=1e-9)


@SETTINGS
@given(tuning_case(), st.sampled_from([0.0, 0.3, 0.6, 0.9, 1.0]))
def test_global_min_precision_matches_brute_force(case, min_precision):
    y, s = case
    feasible = []
    for t in _candidates(s):
        pred = s >= t
        if pred.sum() and (y & pred).sum() / pred.sum() >= min_precision:
            feasible.append(((y & pred).sum() / max(y.sum(), 1), _micro_f1(y, pred)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        policy = tune_thresholds(y, s, "global", min_precision=min_precision)
    pred = policy.apply(s)
    if feasible:
        assert not caught
        assert pred.sum() and (y & pred).sum() / pred.sum() >= min_precision
        best = max(feasible)
        assert (y & pred).sum() / max(y.sum(), 1) == pytest.approx(best[0], abs=1e-12)
        assert _micro_f1(y, pred) == pytest.approx(best[1], abs=1e-12)
    else:
        assert caught and "precision" in str(caught[0].message)


def test_global_threshold_is_midpoint_and_tie_rule():
    y = np.array([[1, 0], [1, 0], [0, 0]], dtype=bool)
    s = np.array([[0.9, 0.2], [0.8, 0.1], [0.3, 0.05]])
    policy = tune_thresholds(y, s, "global")
    # best decision: predict {0.9, 0.8}; midpoint to the next lower score 0.3
    assert policy.thresholds[0] == pytest.approx((0.8 + 0.3) / 2)
    # equal F1 for several decisions -> the threshold closest to 0.5 wins
    y = np.zeros((2, 2), dtype=bool)
    s = np.array([[0.1, 0.2], [0.6, 0.9]])
    assert tune_thresholds(y, s, "global").thresholds[0] == pytest.approx(0.4)  # (0.2 + 0.6) / 2
    # the >= rule: a score equal to the threshold is predicted
    policy = ThresholdPolicy(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(policy.apply(np.array([[0.5, 0.4999]])), [[True, False]])


def test_global_micro_f1_large_is_fast_and_exact():
    rng = np.random.default_rng(0)
    y = rng.random((2000, 50)) < 0.05
    s = np.clip(0.4 * y + rng.random(y.shape) * 0.7, 0, 1).astype(np.float32)
    policy = tune_thresholds(y, s, "global")
    # compare with the brute force on the distinct values around the optimum
    vals = np.unique(s.astype(np.float64))
    t = policy.thresholds[0]
    near = vals[np.argsort(np.abs(vals - t))[:200]]
    best_near = max(_micro_f1(y, s >= v) for v in near)
    assert _micro_f1(y, policy.apply(s)) >= best_near - 1e-12


# --------------------------------------------------------------------------
# per-label
# --------------------------------------------------------------------------
def _label_f1(y, pred):
    tp = (y & pred).sum(0)
    denom = y.sum(0) + pred.sum(0)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


@SETTINGS
@given(tuning_case(max_rows=30, max_labels=4))
def test_per_label_without_shrinkage_is_per_label_optimal(case):
    y, s = case
    policy = tune_thresholds(y, s, "per-label", shrinkage=0.0)
    got = _label_f1(y, policy.apply(s))
    for j in range(y.shape[1]):
        if y[:, j].any():
            best = max(_label_f1(y[:, [j]], s[:, [j]] >= t)[0] for t in _candidates(s[:, j]))
            assert got[j] == pytest.approx(best, abs=1e-12)


def test_per_label_beats_global_for_frequent_labels():
    rng = np.random.default_rng(1)
    n, c = 3000, 6
    y = rng.random((n, c)) < np.linspace(0.1, 0.4, c)
    # labels are calibrated differently: a single global threshold can't fit all
    shift = np.linspace(-0.3, 0.3, c)
    s = np.clip(0.5 + shift + 0.25 * (y - 0.5) + rng.normal(0, 0.12, (n, c)), 0, 1)
    glob = tune_thresholds(y, s, "global")
    per = tune_thresholds(y, s, "per-label", shrinkage=10.0)
    f_glob = _label_f1(y, glob.apply(s))
    f_per = _label_f1(y, per.apply(s))
    assert np.all(f_per >= f_glob - 1e-12)
    assert np.mean(f_per) > np.mean(f_glob) + 0.05
    assert not np.allclose(per.thresholds, per.thresholds[0])


def test_per_label_shrinkage_formula():
    rng = np.random.default_rng(2)
    y = rng.random((200, 5)) < np.array([0.5, 0.1, 0.02, 0.0, 0.3])
    y[:, 2] = False
    y[:3, 2] = True  # 3 positives
    s = np.clip(0.3 * y + rng.random(y.shape) * 0.8, 0, 1)
    shrinkage = 7.0
    t_global = tune_thresholds(y, s, "global").thresholds[0]
    t_opt = tune_thresholds(y, s, "per-label", shrinkage=0.0).thresholds
    t = tune_thresholds(y, s, "per-label", shrinkage=shrinkage).thresholds
    n_pos = y.sum(0)
    for j in range(5):
        if n_pos[j] == 0:
            assert t[j] == pytest.approx(t_global)
            assert t_opt[j] == pytest.approx(t_global)
        else:
            expected = (n_pos[j] * t_opt[j] + shrinkage * t_global) / (n_pos[j] + shrinkage)
            assert t[j] == pytest.approx(expected)
    # huge shrinkage -> global
    t_big = tune_thresholds(y, s, "per-label", shrinkage=1e12).thresholds
    np.testing.assert_allclose(t_big, t_global, atol=1e-6)


def test_per_label_uses_macro_anchor_and_min_precision():
    rng = np.random.default_rng(3)
    y = rng.random((300, 4)) < 0.3
    s = np.clip(0.35 * y + rng.random(y.shape) * 0.65, 0, 1)
    policy = tune_thresholds(y, s, "per-label", min_precision=0.8, shrinkage=0.0)
    pred = policy.apply(s)
    prec = (y & pred).sum(0) / np.maximum(pred.sum(0), 1)
    assert np.all(prec >= 0.8)
    assert policy.to_dict()["min_precision"] == 0.8


# --------------------------------------------------------------------------
# fixed / top-k / at_least_one
# --------------------------------------------------------------------------
def test_fixed_uses_default():
    s = np.array([[0.2, 0.7], [0.5, 0.1]])
    policy = tune_thresholds(np.zeros((2, 2)), s, "fixed")
    np.testing.assert_array_equal(policy.thresholds, [0.5, 0.5])
    np.testing.assert_array_equal(policy.apply(s), [[False, True], [True, False]])
    assert tune_thresholds(np.zeros((2, 2)), s, "fixed", default=0.1).thresholds[0] == 0.1
    assert tune_thresholds(None, s, "fixed") == policy  # labels not needed


@SETTINGS
@given(
    arrays(np.float64, st.tuples(st.integers(1, 10), st.integers(1, 8)),
           elements=st.sampled_from([0.0, 0.2, 0.5, 0.9])),
    st.integers(1, 10),
)
def test_top_k_exactly_k_per_row(s, k):
    policy = tune_thresholds(np.zeros(s.shape), s, "top-k", top_k=k)
    pred = policy.apply(s)
    np.testing.assert_array_equal(pred.sum(1), min(k, s.shape[1]))
    # the chosen labels are the top-scoring ones, ties -> lower index
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    expected = np.zeros_like(pred)
    np.put_along_axis(expected, order, True, axis=1)
    np.testing.assert_array_equal(pred, expected)


@SETTINGS
@given(tuning_case(), st.sampled_from(["fixed", "global", "per-label"]))
def test_at_least_one(case, strategy):
    y, s = case
    plain = tune_thresholds(y, s, strategy)
    policy = tune_thresholds(y, s, strategy, at_least_one=True)
    pred = policy.apply(s)
    assert np.all(pred.sum(1) >= 1)
    base = plain.apply(s)
    # rows that already had a label are unchanged; empty rows get their argmax
    has = base.any(1)
    np.testing.assert_array_equal(pred[has], base[has])
    empty = np.flatnonzero(~has)
    np.testing.assert_array_equal(pred[empty].sum(1), 1)
    np.testing.assert_array_equal(pred[empty, s[empty].argmax(1)], True)


# --------------------------------------------------------------------------
# serialisation and errors
# --------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_to_dict_from_dict_json_round_trip(strategy):
    rng = np.random.default_rng(4)
    y = rng.random((40, 3)) < 0.3
    s = rng.random((40, 3)).astype(np.float32)
    policy = tune_thresholds(y, s, strategy, top_k=2 if strategy == "top-k" else None,
                             at_least_one=True)
    d = json.loads(json.dumps(policy.to_dict()))
    back = ThresholdPolicy.from_dict(d, n_labels=3)
    assert back == policy
    np.testing.assert_array_equal(back.thresholds, policy.thresholds)
    np.testing.assert_array_equal(back.apply(s), policy.apply(s))
    assert set(THRESHOLD_CHOICES) == set(STRATEGIES)


@pytest.mark.parametrize(
    "d, match",
    [
        ({"strategy": "global"}, "missing"),
        ({"thresholds": [0.5]}, "missing"),
        ({"strategy": "global", "thresholds": [0.5], "bogus": 1}, "unknown"),
        ({"strategy": "nope", "thresholds": [0.5]}, "strategy"),
        ({"strategy": "global", "thresholds": []}, "non-empty"),
        ({"strategy": "global", "thresholds": ["a"]}, "non-empty list of numbers"),
        ({"strategy": "global", "thresholds": [0.5, 0.5], "n_labels": 3}, "Expected 3 thresholds"),
        ({"strategy": "top-k", "thresholds": [0.5]}, "top_k"),
        ({"strategy": "top-k", "thresholds": [0.5], "top_k": 0}, "top_k"),
        ({"strategy": "global", "thresholds": [0.5], "metric": "accuracy"}, "metric"),
        ({"strategy": "global", "thresholds": [float("nan")]}, "finite"),
    ],
)
def test_from_dict_errors(d, match):
    with pytest.raises(ValueError, match=match) as info:
        ThresholdPolicy.from_dict(d)
    assert "Expected" in str(info.value) and "Received" in str(info.value)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((np.zeros((3, 2)), np.zeros((3, 3))), {}, "same shape"),
        ((np.zeros((3, 2)), np.full((3, 2), np.nan)), {}, "NaN"),
        ((np.zeros((3, 2)), np.full((3, 2), np.inf)), {}, "finite"),
        ((None, np.zeros((3, 2)), "global"), {}, "y_true"),
        ((np.zeros((3, 2)), np.zeros((3, 2)), "median"), {}, "strategy"),
        ((np.zeros((3, 2)), np.zeros((3, 2)), "global", "f2"), {}, "metric"),
        ((np.zeros((3, 2)), np.zeros((3, 2)), "top-k"), {"top_k": 0}, "top_k"),
        ((np.zeros((3, 2)), np.zeros((3, 2)), "top-k"), {}, "top_k"),
        ((np.full((3, 2), 2), np.zeros((3, 2))), {}, "only 0 and 1"),
        ((np.zeros(3), np.zeros(3)), {}, "2-D"),
        ((np.zeros((3, 2)), np.zeros((3, 2)), "per-label"), {"shrinkage": -1}, "shrinkage"),
        ((np.zeros((3, 2)), np.zeros((3, 2))), {"min_precision": 1.5}, "min_precision"),
    ],
)
def test_tune_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        tune_thresholds(*args, **kwargs)
    assert "Expected" in str(info.value) and "Received" in str(info.value)


def test_apply_errors():
    policy = ThresholdPolicy(np.array([0.5, 0.5]), strategy="global")
    with pytest.raises(ValueError, match="2 label columns"):
        policy.apply(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        policy.apply(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        policy.apply(np.zeros(2))
