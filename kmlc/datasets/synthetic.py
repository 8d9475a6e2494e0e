"""A generated long-tailed multi-label corpus of any size: for scale tests and benchmarks.

Each label has two cue words of its own; a row mentions the cue words of its labels among
filler words drawn from a shared vocabulary, so a bag-of-words model can learn every label
that has enough examples. Label frequencies follow a Zipf law (label k is drawn with
probability proportional to 1 / (k + 1) ** `zipf_exponent`), so a few labels are frequent and
most are rare, as in real label spaces; rows have zero to `max_labels_per_row` labels.
Everything is drawn from one seeded NumPy generator: the same arguments give the same rows.
"""

from typing import Optional

import numpy as np
import pandas as pd

_SYLLABLES = ("ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze", "bo", "da", "fi", "gu")


def _words(count, rng, prefix):
    """`count` distinct pronounceable words, the same for the same generator state."""
    parts = rng.integers(0, len(_SYLLABLES), size=(count, 3))
    return [prefix + "".join(_SYLLABLES[p] for p in row) + str(i) for i, row in enumerate(parts)]


def make_long_tail(
    n_rows: int = 10_000,
    n_labels: int = 1_000,
    seed: Optional[int] = 0,
    zipf_exponent: float = 1.1,
    max_labels_per_row: int = 3,
    filler_vocabulary: int = 2_000,
    words_per_row: int = 20,
) -> pd.DataFrame:
    """A DataFrame with a `text` column and a `labels` column of label lists.

    Args:
        n_rows: rows to generate.
        n_labels: size of the label space (labels `L0000`, `L0001`, ... in frequency order).
        seed: seed of the generator.
        zipf_exponent: how steeply label frequency falls with rank.
        max_labels_per_row: the most labels a row has (the count is uniform in 0..max; a row
            with 0 labels has only filler words).
        filler_vocabulary, words_per_row: the shared filler words and how many a row has.
    """
    if n_rows < 1 or n_labels < 1 or max_labels_per_row < 0:
        raise ValueError(
            "Expected n_rows >= 1, n_labels >= 1 and max_labels_per_row >= 0, Received: "
            f"{n_rows}, {n_labels}, {max_labels_per_row}."
        )
    rng = np.random.default_rng(seed)
    width = len(str(n_labels - 1))
    names = np.array([f"L{k:0{max(width, 4)}d}" for k in range(n_labels)], dtype=object)
    cues = np.array(_words(2 * n_labels, rng, "c"), dtype=object).reshape(n_labels, 2)
    filler = np.array(_words(filler_vocabulary, rng, "w"), dtype=object)

    weights = 1.0 / np.arange(1, n_labels + 1) ** zipf_exponent
    weights /= weights.sum()
    counts = rng.integers(0, max_labels_per_row + 1, size=n_rows)
    drawn = rng.choice(n_labels, size=int(counts.sum()), p=weights)
    fill = rng.integers(0, filler_vocabulary, size=(n_rows, words_per_row))
    cue_pick = rng.integers(0, 2, size=len(drawn))

    texts, label_lists, start = [], [], 0
    for i in range(n_rows):
        mine = drawn[start : start + counts[i]]
        picks = cue_pick[start : start + counts[i]]
        start += counts[i]
        words = list(filler[fill[i]])
        for label, pick in zip(mine, picks):
            words[int(rng.integers(0, len(words)))] = cues[label, pick]
        texts.append(" ".join(words))
        label_lists.append(sorted(set(names[mine].tolist())))
    return pd.DataFrame({"text": texts, "labels": label_lists})
