import numpy as np
import pytest

from kmlc.errors import KmlcDataWarning, KmlcInputError
from kmlc.splits import coverage_report, iterative_split


def _long_tail(n=600, c=12, seed=0):
    rng = np.random.default_rng(seed)
    p = 0.4 / np.arange(1, c + 1)
    return (rng.random((n, c)) < p).astype(np.float32)


def test_every_row_in_exactly_one_split_with_the_right_sizes():
    y = _long_tail()
    parts = iterative_split(y, (0.6, 0.2, 0.2), seed=3)
    joined = np.concatenate(parts)
    assert sorted(joined.tolist()) == list(range(len(y)))
    sizes = [len(p) / len(y) for p in parts]
    np.testing.assert_allclose(sizes, [0.6, 0.2, 0.2], atol=0.02)


def test_label_proportions_are_kept_better_than_random():
    y = _long_tail(n=1000, c=15, seed=1)
    parts = iterative_split(y, (0.6, 0.2, 0.2), seed=0)
    overall = y.mean(axis=0)
    strat_err = max(np.abs(y[p].mean(axis=0) - overall).max() for p in parts)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    random_parts = np.split(perm, [600, 800])
    random_err = max(np.abs(y[p].mean(axis=0) - overall).max() for p in random_parts)
    assert strat_err < random_err
    # every label with >= 3 examples reaches every split
    report = coverage_report(y, parts, [f"l{i}" for i in range(y.shape[1])])
    assert all(r["labels_with_examples"] == int((y.sum(0) >= 1).sum()) for r in report.values())


def test_same_seed_same_split_other_seed_other_split():
    y = _long_tail()
    a = iterative_split(y, (0.8, 0.2), seed=5)
    b = iterative_split(y, (0.8, 0.2), seed=5)
    c = iterative_split(y, (0.8, 0.2), seed=6)
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_rows_without_labels_are_spread():
    y = np.zeros((50, 3), dtype=np.float32)
    y[:10, 0] = 1
    parts = iterative_split(y, (0.6, 0.2, 0.2), seed=0)
    assert [len(p) for p in parts] == [30, 10, 10]


def test_missing_label_in_a_split_warns():
    y = np.zeros((20, 2), dtype=np.float32)
    y[:, 0] = 1
    y[0, 1] = 1  # one example: cannot be in every split
    parts = iterative_split(y, (0.6, 0.2, 0.2), seed=0)
    with pytest.warns(KmlcDataWarning, match="no example in the"):
        report = coverage_report(y, parts, ["common", "single"])
    assert sum("single" in r["labels_missing"] for r in report.values()) == 2


@pytest.mark.parametrize("fractions", [(0.5, 0.6), (1.0,), (0.5, -0.1, 0.6)])
def test_bad_fractions(fractions):
    with pytest.raises(KmlcInputError, match="Expected two or more positive split fractions"):
        iterative_split(np.ones((10, 2)), fractions)
