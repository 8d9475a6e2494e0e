"""Phrases that both the plots and the pages write, so that the two always agree.

Counts as short numbers, the label-group cut-offs, where the label frequencies come
from, and the decision rule (the threshold a plot marks and the page states).
"""

from __future__ import annotations

import numpy as np


def _int(x):
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:g}"


def _freq_source(ctx):
    return "training" if ctx.from_train else "evaluation-set support (train_counts not given)"


def _cutoff_text(ctx):
    head_min, medium_min = ctx.cutoffs
    return f"head \u2265 {_int(head_min)}, medium \u2265 {_int(medium_min)}, tail < {_int(medium_min)}"


def _policy_marker(ctx):
    """(x, label) of the threshold to mark, or (None, reason)."""
    policy, thr = ctx.policy, ctx.thr
    if policy is not None and policy.strategy == "top-k":
        return None, f"top-k policy (k = {policy.top_k}): no threshold"
    if thr is None:
        return None, "no threshold policy given"
    finite = thr[np.isfinite(thr)]
    if finite.size == 0:
        return None, "no finite threshold"
    if np.all(finite == finite[0]):
        kind = policy.strategy if policy is not None else "single"
        return float(finite[0]), f"{kind} threshold t = {finite[0]:.3f}"
    return float(np.median(finite)), f"median of {finite.size} per-label thresholds = {np.median(finite):.3f}"
