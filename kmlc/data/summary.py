"""Label counts: the too-many-labels check, dropping rare labels, and the dataset summary."""

import warnings
from collections import Counter

import numpy as np

from kmlc.data.texts import LabeledTexts
from kmlc.errors import KmlcDataWarning, _preview

# More distinct labels than this is almost always a free-text column given as the labels.
MAX_DISTINCT_LABELS = 10_000


def check_label_cardinality(label_lists, source="<memory>"):
    """Warns when there are more distinct labels than any real label set has: a free-text
    column given as the labels. Returns the number of distinct labels."""
    distinct = len({label for row in label_lists for label in row})
    if distinct > MAX_DISTINCT_LABELS:
        warnings.warn(
            f"{distinct} distinct labels in '{source}' (more than {MAX_DISTINCT_LABELS}): is the "
            "label column a free-text column? Check --label-column and --label-sep; the model "
            "would get one output per distinct label.",
            KmlcDataWarning,
            stacklevel=3,
        )
    return distinct


def drop_rare_labels(data, min_count):
    """Removes labels with fewer than `min_count` examples from every row, and says which."""
    counts = Counter(label for row in data.labels for label in row)
    rare = sorted(label for label, n in counts.items() if n < min_count)
    if not rare:
        return data
    rare_set = set(rare)
    out = LabeledTexts(
        texts=list(data.texts),
        labels=[[label for label in row if label not in rare_set] for row in data.labels],
        source=data.source,
        notes=list(data.notes),
    )
    note = f"dropped {len(rare)} label(s) with fewer than {min_count} examples: {_preview(rare, 10)}"
    out.notes.append(note)
    warnings.warn(note, KmlcDataWarning, stacklevel=3)
    return out


def summarize(data):
    """A dataset summary: sizes, label cardinality, label frequency, duplicates."""
    n = len(data)
    summary = {
        "source": data.source,
        "rows": n,
        "duplicate_texts": n - len(set(data.texts)),  # extra copies: rows minus distinct texts
        "text_length_chars_median": float(np.median([len(t) for t in data.texts])) if n else 0.0,
    }
    if data.labels is None:
        return summary
    counts = Counter(label for row in data.labels for label in row)
    freq = np.array(sorted(counts.values())) if counts else np.array([0])
    per_row = np.array([len(row) for row in data.labels])
    summary.update(
        {
            "labels": len(counts),
            "labels_per_row_mean": float(per_row.mean()) if n else 0.0,
            "labels_per_row_max": int(per_row.max()) if n else 0,
            "rows_with_no_label": int((per_row == 0).sum()),
            "rows_with_3_or_more_labels": int((per_row >= 3).sum()),
            "label_frequency_min": int(freq.min()),
            "label_frequency_median": float(np.median(freq)),
            "label_frequency_max": int(freq.max()),
            "labels_under_10_examples": int((freq < 10).sum()) if counts else 0,
            "label_counts": dict(counts.most_common()),
        }
    )
    return summary
