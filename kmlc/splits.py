"""Train / validation / test splits by iterative stratification (Sechidis et al., 2011).

Iterative stratification places the rarest labels first, so that every split gets its
share of each label as far as the counts allow; a random split would leave tail labels
out of the validation and test sets.

Copies of one text stay in one split (`groups`, as scikit-learn's group splitters do): a
text seen in training and again in the test split would inflate the test metrics.
"""

import warnings

import numpy as np

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


def text_groups(texts):
    """A group id per text: exact copies (as the reader normalised them) share one, numbered
    in order of first occurrence."""
    ids = {}
    return np.fromiter((ids.setdefault(text, len(ids)) for text in texts), dtype=np.int64, count=len(texts))


def iterative_split(label_matrix, fractions=(0.6, 0.2, 0.2), seed=0, groups=None):
    """Assigns each row to one split.

    Args:
        label_matrix: multi-hot array [N, C] (rows with no label are allowed).
        fractions: the share of rows for each split, summing to 1.
        seed: the seed of every random choice (row order and ties).
        groups: a group id per row (e.g. `text_groups(texts)`): the rows of a group go to
            one split together. The groups are stratified by the union of their rows'
            labels, so the fractions are of groups; without repeated ids this is the plain
            row split.

    Returns:
        A list of sorted index arrays, one per fraction; every row is in exactly one.
    """
    y = np.asarray(label_matrix)
    fractions = _check_fractions(fractions)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (y.shape[0],):
            raise KmlcInputError(
                f"Expected one group id per row ({y.shape[0]}), Received: shape {groups.shape}."
            )
        _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
        if len(first) < len(groups):
            # One row per group, in order of first occurrence: the union of its labels.
            rank = np.empty(len(first), dtype=np.int64)
            rank[np.argsort(first, kind="stable")] = np.arange(len(first))
            row_group = rank[inverse.reshape(-1)]
            group_y = np.zeros((len(first), y.shape[1]), dtype=bool)
            np.logical_or.at(group_y, row_group, y > 0)
            parts = _split_rows(group_y, fractions, seed, "distinct texts")
            return [np.flatnonzero(np.isin(row_group, part)) for part in parts]
    return _split_rows(y, fractions, seed, "rows")


def _split_rows(y, fractions, seed, what):
    n = y.shape[0]
    if n < len(fractions):
        raise KmlcInputError(
            f"Expected at least {len(fractions)} {what} to make {len(fractions)} splits, "
            f"Received: {n}."
        )
    # Imported here: scikit-learn, which it imports, takes a second to load, and the command
    # line should start fast for the commands that never split.
    from iterstrat.ml_stratifiers import IterativeStratification

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


def stratified_folds(label_lists, n_splits=5, seed=0):
    """Cross-validation folds of label lists, stratified by iterative stratification
    (`iterstrat`'s `MultilabelStratifiedKFold` on the binarised labels): a list of
    (train_index, test_index) pairs, for scikit-learn's `cv=`. Every label's rows are spread
    over the folds as evenly as its count allows."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
    from sklearn.preprocessing import MultiLabelBinarizer

    if not (isinstance(n_splits, int) and not isinstance(n_splits, bool) and n_splits >= 2):
        raise KmlcInputError(f"Expected n_splits to be an integer >= 2, Received: {n_splits!r}.")
    label_lists = [list(labels) for labels in label_lists]
    if len(label_lists) < n_splits:
        raise KmlcInputError(
            f"Expected at least n_splits={n_splits} rows, Received: {len(label_lists)}."
        )
    y = MultiLabelBinarizer().fit_transform(label_lists)
    if y.shape[1] == 0:
        y = np.zeros((len(label_lists), 1), dtype=int)
    folds = MultilabelStratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(train, test) for train, test in folds.split(np.zeros(len(label_lists)), y)]
