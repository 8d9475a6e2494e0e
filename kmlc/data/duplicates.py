"""Copies of a text: hashes for finding them across splits, and warning about or dropping the
copies inside one table.
"""

import warnings

import numpy as np
import pandas as pd

from kmlc.errors import KmlcDataWarning


def text_hashes(texts):
    """A 64-bit hash per text (pandas' SipHash, fixed key): equal texts, equal hashes; for
    finding copies of a text across splits without keeping the texts."""
    return pd.util.hash_array(np.asarray(list(texts), dtype=object), categorize=False)


def count_in(texts, known_hashes):
    """How many of `texts` have a hash among the sorted unique `known_hashes`."""
    if known_hashes is None or len(texts) == 0:
        return 0
    return int(np.isin(text_hashes(texts), known_hashes, assume_unique=False).sum())


def _duplicate_counts(data):
    """(distinct texts with copies, extra copies, of which with labels different from the
    first copy)."""
    first_index, copies, conflicts, repeated = {}, 0, 0, set()
    for i, text in enumerate(data.texts):
        if text not in first_index:
            first_index[text] = i
            continue
        copies += 1
        repeated.add(text)
        if data.labels is not None and set(data.labels[i]) != set(data.labels[first_index[text]]):
            conflicts += 1
    return len(repeated), copies, conflicts


def _warn_duplicate_texts(data):
    repeated, copies, conflicts = _duplicate_counts(data)
    if not copies:
        return
    note = (
        f"{repeated} text(s) occur more than once in '{data.source}' ({copies} extra copies"
        + (f", {conflicts} of them with labels different from the first copy: inconsistent annotation"
           if conflicts else "")
        + "); kept all rows. kmlc keeps the copies of a text in one split, so a text is never both "
        "trained on and tested on; --drop-duplicates (drop_duplicates=True) keeps only the first copy"
    )
    data.notes.append(note)
    warnings.warn(note, KmlcDataWarning, stacklevel=3)


def _drop_duplicate_texts(data):
    first_index, conflicts, keep = {}, 0, []
    for i, text in enumerate(data.texts):
        if text in first_index:
            if data.labels is not None and set(data.labels[i]) != set(data.labels[first_index[text]]):
                conflicts += 1
            continue
        first_index[text] = i
        keep.append(i)
    dropped = len(data) - len(keep)
    if not dropped:
        return data
    out = data.subset(keep)
    note = (
        f"dropped {dropped} duplicate text(s) from '{data.source}' (kept the first of each); "
        f"{conflicts} of them had labels different from the kept row"
    )
    out.notes.append(note)
    warnings.warn(note, KmlcDataWarning, stacklevel=3)
    return out
