"""The seeded choices of rows: a pseudo-random 64-bit key per text hash or row number (the
same on every pass and for any chunking), the reservoir of the smallest keys, and the held-out
share grown or shrunk to whole texts.
"""

import numpy as np

from kmlc.errors import KmlcInputError

# The validation rows (by text) and the adapt sample (by row number) are drawn by independent hashes.
_VALIDATION_SALT = 1
_SAMPLE_SALT = 2
_WEIGHT_SALT = 3


# ----------------------------------------------------------------------------- seeded choices


def _mix(x):
    """splitmix64's finaliser: a bijection of uint64 that scrambles every bit."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def keys_of_hashes(hashes, seed, salt):
    """A pseudo-random 64-bit key per text hash (`kmlc.data.text_hashes`), from (seed, salt):
    equal texts, equal keys."""
    offset = _mix(np.array([(int(seed) * 8 + int(salt)) % 2**64], dtype=np.uint64))
    with np.errstate(over="ignore"):
        return _mix(np.asarray(hashes, dtype=np.uint64) + offset[0])


def row_keys(rows, seed, salt):
    """A pseudo-random 64-bit key per row number, from (seed, salt) only: the same on every
    pass and for any chunking, and distinct for distinct rows (a bijection of the row)."""
    offset = _mix(np.array([(int(seed) * 8 + int(salt)) % 2**64], dtype=np.uint64))
    with np.errstate(over="ignore"):
        return _mix(np.asarray(rows, dtype=np.int64).astype(np.uint64) + offset[0])


class _Smallest:
    """The `k` rows with the smallest keys offered so far, with their payloads: a reservoir
    whose content does not depend on how the rows were grouped into chunks."""

    def __init__(self, k):
        self.k = int(k)
        # The smallest key ever turned away or evicted: every row with a smaller key is held.
        self.dropped_min = np.uint64(np.iinfo(np.uint64).max)
        self.keys = np.empty(0, np.uint64)
        self.rows = np.empty(0, np.int64)
        self.items = []

    def offer(self, keys, rows, *payloads):
        if self.k == 0:
            return
        take = np.arange(len(keys)) if len(self.keys) < self.k else np.flatnonzero(keys < self.keys.max())
        if len(take) < len(keys):
            self.dropped_min = min(self.dropped_min, np.delete(keys, take).min())
        self.keys = np.concatenate([self.keys, keys[take]])
        self.rows = np.concatenate([self.rows, rows[take]])
        self.items += [tuple(payload[i] for payload in payloads) for i in take]
        if len(self.keys) > self.k:
            keep = np.argpartition(self.keys, self.k - 1)[: self.k]
            self.dropped_min = min(self.dropped_min, np.delete(self.keys, keep).min())
            self.keys, self.rows = self.keys[keep], self.rows[keep]
            self.items = [self.items[i] for i in keep]

    def smallest(self, m, exclude=None):
        """Positions of the `m` smallest keys (optionally not in the row set `exclude`), in
        row order."""
        candidates = np.arange(len(self.keys))
        if exclude is not None and len(exclude):
            candidates = candidates[~np.isin(self.rows, exclude)]
        m = min(int(m), len(candidates))
        if m == 0:
            return candidates[:0]
        chosen = candidates[np.argpartition(self.keys[candidates], m - 1)[:m]]
        return chosen[np.argsort(self.rows[chosen])]


def _whole_texts(held, chosen, source):
    """(positions, cut): `chosen` grown or shrunk so that the held-out rows are every row whose
    key is at most the cut, so every copy of a text is on one side. The reservoir holds every
    row with a key below the smallest it dropped, so only copies of that key can be missing:
    that text is then left to training."""
    cut = held.keys[chosen].max()
    if cut >= held.dropped_min:
        below = held.keys < cut
        if not below.any():
            raise KmlcInputError(
                f"Expected more than one distinct text to hold out for validation, Received: "
                f"'{source}', whose held-out share would be copies of one text. Give --val."
            )
        cut = held.keys[below].max()
    chosen = np.flatnonzero(held.keys <= cut)
    return chosen[np.argsort(held.rows[chosen])], int(cut)
