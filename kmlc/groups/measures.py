"""Measurements per group: each group's loss at the initial weights (for "auto" group
weights) and a multiclass group's metrics.
"""

from __future__ import annotations

import numpy as np

from kmlc.evaluation import evaluate
from kmlc.preprocessing import make_dataset

AUTO_WEIGHT_BATCH = 512  # rows of the seeded batch that measures the initial losses


def initial_group_losses(network, preprocessor, texts, y, loss, seed, batch=AUTO_WEIGHT_BATCH):
    """Each group's mean loss at the network's current (initial) weights, on a seeded batch
    of at most `batch` training rows (inference mode: no dropout)."""
    from keras import ops

    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(texts), size=min(batch, len(texts)), replace=False))
    ds = make_dataset([texts[i] for i in index], preprocessor, batch_size=64)
    logits = np.asarray(network.predict(ds, verbose=0), dtype=np.float32)
    parts = loss.per_group(ops.convert_to_tensor(y[index]), ops.convert_to_tensor(logits))
    return {name: float(np.mean(ops.convert_to_numpy(v))) for name, v in parts.items()}, index


def multiclass_metrics(y_true, y_pred, names, cutoffs, counts, scores):
    full = evaluate(y_true, y_pred, scores, label_names=names, train_counts=counts, group_cutoffs=cutoffs, ks=(1,))
    true_idx = np.where(y_true.any(axis=1), np.argmax(y_true, axis=1), -1)
    pred_idx = np.argmax(y_pred, axis=1)
    k = len(names)
    confusion = np.zeros((k, k), dtype=np.int64)
    for t, q in zip(true_idx, pred_idx):
        if t >= 0:
            confusion[t, q] += 1
    per_label = (2 * np.diag(confusion)) / np.maximum(confusion.sum(0) + confusion.sum(1), 1)
    return {
        "kind": "multiclass",
        "n_examples": full["n_examples"],
        "n_labels": k,
        "labels": list(names),
        # Every row has one true and one predicted label: micro-F1 is the accuracy.
        "accuracy": float(np.mean(true_idx == pred_idx)) if len(true_idx) else 0.0,
        "macro_precision": full["macro_precision"],
        "macro_recall": full["macro_recall"],
        "macro_f1": full["macro_f1"],
        "weighted_f1": full["weighted_f1"],
        "micro_f1": full["micro_f1"],
        "n_labels_predicted": full["n_labels_predicted"],
        "f1_per_label": {name: float(f) for name, f in zip(names, per_label)},
        "confusion_matrix": confusion.tolist(),
    }
