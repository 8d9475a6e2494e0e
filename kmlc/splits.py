"""Train / validation / test splits by iterative stratification (Sechidis et al., 2011).

Iterative stratification places the rarest labels first, so that every split gets its
share of each label as far as the counts allow; a random split would leave tail labels
out of the validation and test sets.
"""

import warnings

import numpy as np
from iterstrat.ml_stratifiers import IterativeStratification

from kmlc.errors import KmlcDataWarning, KmlcInputError, _preview

SPLIT_NAMES = ("train", "validation", "test")


def _check_fractions(fractions):
    fractions = np.asarray(fractions, dtype=float)
    if fractions.ndim != 1 or len(fractions) < 2 or np.any(fractions <= 0) or not np.isclose(
        fractions.sum(), 1.0
    ):
        raise KmlcInputError(
            "Expected two or more positive split fractions that sum to 1 (e.g. 0.6,0.2,0.2), "
            f"Received: {fractions.tolist()}."
        )
    return fractions


def iterative_split(label_matrix, fractions=(0.6, 0.2, 0.2), seed=0):
    """Assigns each row to one split.

    Args:
        label_matrix: multi-hot array [N, C] (rows with no label are allowed).
        fractions: the share of rows for each split, summing to 1.
        seed: the seed of every random choice (row order and ties).

    Returns:
        A list of sorted index arrays, one per fraction; every row is in exactly one.
    """
    y = np.asarray(label_matrix)
    fractions = _check_fractions(fractions)
    n = y.shape[0]
    if n < len(fractions):
        raise KmlcInputError(
            f"Expected at least {len(fractions)} rows to make {len(fractions)} splits, "
            f"Received: {n} row(s)."
        )
    rng = np.random.RandomState(seed)
    order = rng.permutation(n)
    folds = np.empty(n, dtype=int)
    # IterativeStratification returns, for each row, the index of its subset in `fractions`;
    # it indexes with the label rows, so they must be boolean.
    folds[order] = IterativeStratification(
        labels=y[order] > 0, r=fractions.copy(), random_state=rng
    )
    return [np.flatnonzero(folds == k) for k in range(len(fractions))]


def coverage_report(label_matrix, splits, label_names, split_names=SPLIT_NAMES):
    """For each split: rows, labels with at least one example, and labels missing.

    Warns (KmlcDataWarning) when a label that exists in the data is absent from a split.
    """
    y = np.asarray(label_matrix) > 0
    present = y.any(axis=0)
    report = {}
    for name, idx in zip(split_names, splits):
        counts = y[idx].sum(axis=0)
        missing = [label_names[c] for c in np.flatnonzero(present & (counts == 0))]
        report[name] = {
            "rows": int(len(idx)),
            "labels_with_examples": int((counts > 0).sum()),
            "labels_missing": missing,
        }
        if missing:
            warnings.warn(
                f"{len(missing)} label(s) have no example in the {name} split "
                f"{_preview(missing)}: they have too few examples to appear in every split.",
                KmlcDataWarning,
                stacklevel=2,
            )
    return report
