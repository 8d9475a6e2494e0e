"""The report's plots, one function per PNG file.

Each ``plot_*(path, ctx)`` draws one figure from the report context (see
:func:`kmlc.report.write_report`), saves it to ``path`` and returns
``(file name, alt text, caption)`` for the pages.  Figures come from
:mod:`kmlc.report.canvas` (no pyplot); :func:`threshold_sweep` is the computation behind
the threshold curves.
"""

from __future__ import annotations

import numpy as np

from kmlc.evaluation import GROUPS
from kmlc.report.canvas import (
    GROUP_COLOURS,
    ZERO_COLOUR,
    _figure,
    _group_legend_handles,
    _save,
    _set_count_scale,
    _short,
)
from kmlc.report.wording import _cutoff_text, _int, _policy_marker

#: The PNG files a report may hold, in the order they appear on the page.
PLOT_FILES = (
    "label_frequency.png",
    "threshold_curves.png",
    "f1_by_group.png",
    "f1_vs_frequency.png",
    "cooccurrence.png",
    "training_curves.png",
)

MAX_NAMED_BARS = 60  # above this many labels the frequency plot shows ranks, not names
COOC_TOP = 20
MAX_ANNOTATED = 8
N_SWEEP = 101


# --------------------------------------------------------------------------
# 1. label frequency
# --------------------------------------------------------------------------
def plot_label_frequency(path, ctx):
    freq = ctx.freq
    c = freq.shape[0]
    order = np.argsort(-freq, kind="stable")
    f = freq[order]
    g = ctx.groups[order]
    x = np.arange(1, c + 1)
    named = c <= MAX_NAMED_BARS
    width = min(max(8.0, 0.22 * c + 3.0), 17.0) if named else 10.0
    fig = _figure(width, 5.6 if named else 5.0)
    ax = fig.add_subplot()

    # group shading: the groups are contiguous runs once the labels are sorted by frequency
    for group in GROUPS:
        idx = np.flatnonzero(g == group)
        if idx.size:
            ax.axvspan(idx[0] + 0.5, idx[-1] + 1.5, color=GROUP_COLOURS[group], alpha=0.10, lw=0)
    colours = [GROUP_COLOURS[v] for v in g]
    if named:
        ax.bar(x, f, width=0.8, color=colours)
        ax.set_xticks(x, [_short(ctx.names[i]) for i in order], rotation=90,
                      fontsize=8 if c > 25 else 9)
        ax.set_xlabel("label (sorted by frequency)")
    else:
        for group in GROUPS:
            m = g == group
            if m.any():
                ax.fill_between(x[m], f[m], step="mid", color=GROUP_COLOURS[group], alpha=0.75, lw=0)
        ax.plot(x, f, drawstyle="steps-mid", color="0.2", lw=0.8)
        ax.set_xlabel(f"label rank (1 = most frequent; {c} labels, names in per_label.csv)")
    pad = max(0.0, (6 - c) / 2)  # a handful of labels: keep the bars narrow
    ax.set_xlim(0.5 - pad, c + 0.5 + pad)
    _set_count_scale(ax, f, "y")
    top = max(float(f.max()), 1.0)
    ax.set_ylim(0.7 if f.min() > 0 else 0.0, top * 2.0)

    from matplotlib.lines import Line2D

    handles = _group_legend_handles(ctx)
    head_min, medium_min = ctx.cutoffs
    for value, label, style in ((head_min, f"head cut-off ({_int(head_min)})", "--"),
                                (medium_min, f"medium cut-off ({_int(medium_min)})", ":")):
        if value > 0 or f.min() <= 0:
            ax.axhline(value, color="0.25", ls=style, lw=1.2)
            handles.append(Line2D([], [], color="0.25", ls=style, lw=1.2, label=label))
    ax.legend(handles=handles, loc="upper right", fontsize=9, framealpha=0.9)
    ax.set_ylabel("examples per label" + (" (log scale)" if f.min() > 0 else " (symlog scale)"))
    source = "Training" if ctx.from_train else "Evaluation-set (train_counts not given)"
    ax.set_title(f"{source} label frequency, sorted: the long tail\n{_cutoff_text(ctx)}",
                 fontsize=11)
    ax.grid(axis="y", alpha=0.3, which="major")
    _save(fig, path)
    caption = (
        "Each bar (or step) is one label, sorted from most to least frequent on a log axis; "
        "the shading and dashed lines show where the head, medium and tail groups begin, "
        "so a long flat right-hand part means many rare labels."
    )
    if not ctx.from_train:
        caption += " No training counts were given: frequencies are the support in the evaluation data."
    return path.name, "Label frequency", caption


# --------------------------------------------------------------------------
# 2. threshold curves
# --------------------------------------------------------------------------
def threshold_sweep(y_true, scores, n_points=N_SWEEP):
    """Micro precision, recall and F1 when every label uses one threshold ``t``.

    ``t`` runs over ``linspace(0, 1, n_points)`` and a label is predicted when
    ``score >= t``.  Exact and vectorised: each score is binned once with
    ``searchsorted``.  Precision is NaN where nothing is predicted.

    Returns:
        (t, precision, recall, f1), four arrays of length ``n_points``.
    """
    t = np.linspace(0.0, 1.0, n_points)
    y = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    # number of grid points <= s  ==  number of thresholds at which s is predicted
    idx = np.searchsorted(t, s, side="right")
    all_bins = np.bincount(idx, minlength=n_points + 1)
    pos_bins = np.bincount(idx[y], minlength=n_points + 1)
    # predicted at t[j]: scores with idx > j
    predicted = all_bins[::-1].cumsum()[::-1][1:]
    tp = pos_bins[::-1].cumsum()[::-1][1:]
    n_pos = int(y.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), np.nan)
    recall = tp / n_pos if n_pos else np.zeros(n_points)
    denom = predicted + n_pos
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(n_points), where=denom > 0)
    return t, precision, recall, f1

def plot_threshold_curves(path, ctx):
    t, p, r, f1 = threshold_sweep(ctx.yt, ctx.scores)
    fig = _figure(10.0, 5.0)
    ax = fig.add_subplot()
    ax.plot(t, p, color="#0072B2", lw=1.8, label="micro precision")
    ax.plot(t, r, color="#E69F00", lw=1.8, label="micro recall")
    ax.plot(t, f1, color="black", lw=2.4, label="micro F1")
    best = int(np.argmax(f1))
    ax.plot([t[best]], [f1[best]], marker="*", ms=14, color="black", ls="none",
            label=f"best F1 on this data: {f1[best]:.3f} at t = {t[best]:.2f}")

    x, text = _policy_marker(ctx)
    if x is not None:
        finite = ctx.thr[np.isfinite(ctx.thr)]
        if not np.all(finite == finite[0]):
            lo, hi = np.quantile(finite, [0.25, 0.75])
            ax.axvspan(max(lo, 0.0), min(hi, 1.0), color=ZERO_COLOUR, alpha=0.12, lw=0,
                       label=f"per-label thresholds, 25\u201375 % ({lo:.2f}\u2013{hi:.2f})")
        shown = min(max(x, 0.0), 1.0)
        suffix = "" if shown == x else " (outside [0, 1], drawn at the edge)"
        ax.axvline(shown, color=ZERO_COLOUR, ls="--", lw=1.6, label=f"policy: {text}{suffix}")
    else:
        ax.plot([], [], ls="none", label=f"policy: {text}")
    m = ctx.metrics
    if "micro_f1" in m:
        ax.plot([], [], ls="none",
                label=f"reported predictions: P {m['micro_precision']:.3f}, "
                      f"R {m['micro_recall']:.3f}, F1 {m['micro_f1']:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("global decision threshold t (a label is predicted when score \u2265 t)")
    ax.set_ylabel("micro-averaged value")
    ax.set_title("Micro precision, recall and F1 for one threshold shared by all labels", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8.5, frameon=False)
    _save(fig, path)
    caption = (
        "Moving the shared threshold right trades recall for precision; the star is the "
        "threshold with the best micro-F1 on this data"
        + (f" and the dashed red line is the one the model uses ({text})." if x is not None
           else f" ({text}).")
    )
    return path.name, "Threshold curves", caption


# --------------------------------------------------------------------------
# 3. F1 by group
# --------------------------------------------------------------------------
def plot_f1_by_group(path, ctx):
    summary = ctx.group_summary
    fig = _figure(8.5, 5.4)
    ax = fig.add_subplot()
    x = np.arange(len(GROUPS))
    w = 0.38
    micro = [summary[g]["micro_f1"] for g in GROUPS]
    macro = [summary[g]["macro_f1"] for g in GROUPS]
    n_labels = [summary[g]["n_labels"] for g in GROUPS]
    b1 = ax.bar(x - w / 2, micro, w, color="#0072B2", label="micro-F1")
    b2 = ax.bar(x + w / 2, macro, w, color="#E69F00", label="macro-F1")
    for bars, values in ((b1, micro), (b2, macro)):
        for bar, v, n in zip(bars, values, n_labels):
            if n:
                ax.annotate(f"{v:.3f}", (bar.get_x() + bar.get_width() / 2, v),
                            xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
    for xi, n in zip(x, n_labels):
        if not n:
            ax.text(xi, 0.05, "no labels\nin this group", ha="center", va="bottom",
                    fontsize=9, color="0.4")
    ticks = []
    for g in GROUPS:
        n = summary[g]["n_labels"]
        ticks.append(f"{g}\n{n} label{'s' if n != 1 else ''}\n{summary[g]['n_zero_f1']} with F1 = 0")
    ax.set_xticks(x, ticks, fontsize=9.5)
    for tick, g in zip(ax.get_xticklabels(), GROUPS):
        tick.set_color("black")
    ax.set_ylim(0, 1.18)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("F1")
    ax.set_xlabel(f"label-frequency group ({_cutoff_text(ctx)} {'training' if ctx.from_train else 'evaluation'} examples)",
                  fontsize=9)
    zero = summary["zero"]
    c = ctx.f1.shape[0]
    ax.set_title("Micro- and macro-F1 by label-frequency group", fontsize=11)
    ax.text(0.99, 0.985, f"ZERO labels (F1 = 0): {zero['n_labels']} of {c} ({100 * zero['share']:.1f} %)",
            transform=ax.transAxes, ha="right", va="top", fontsize=10, color=ZERO_COLOUR,
            fontweight="bold")
    ax.legend(loc="upper left", ncol=2, fontsize=9, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
    caption = (
        "Micro-F1 (pooled over a group's examples) and macro-F1 (mean over its labels) for "
        "frequent (head), medium and rare (tail) labels; a macro-F1 well below micro-F1 means "
        "many labels of that group are rarely right, and the tick labels count the ZERO labels."
    )
    return path.name, "F1 by label group", caption


# --------------------------------------------------------------------------
# 4. F1 vs frequency
# --------------------------------------------------------------------------
def _worst_labels(ctx, k):
    """Indices of the k worst labels: lowest F1, ties broken by higher frequency."""
    order = np.lexsort((-ctx.freq, ctx.f1))
    return order[:k]


def plot_f1_vs_frequency(path, ctx):
    c = ctx.f1.shape[0]
    fig = _figure(11.5, 5.6)
    gs = fig.add_gridspec(1, 2, width_ratios=[3.0, 1.25])
    ax = fig.add_subplot(gs[0, 0])
    tax = fig.add_subplot(gs[0, 1])
    tax.axis("off")
    size, alpha = (30, 0.85) if c <= 200 else (10, 0.5)
    for g in GROUPS:
        m = ctx.groups == g
        if m.any():
            ax.scatter(ctx.freq[m], ctx.f1[m], s=size, alpha=alpha, color=GROUP_COLOURS[g],
                       edgecolors="none", label=f"{g} ({int(m.sum())})")
    _set_count_scale(ax, ctx.freq, "x")
    ax.set_ylim(-0.04, 1.04)
    lo = 0.7 if ctx.freq.min() > 0 else -0.3
    ax.set_xlim(lo, max(float(ctx.freq.max()), 1.0) * 1.6)
    head_min, medium_min = ctx.cutoffs
    for v in (head_min, medium_min):
        if v > 0:
            ax.axvline(v, color="0.5", ls=":", lw=1)
    scale = "log scale" if ctx.freq.min() > 0 else "symlog scale, 0 at the left"
    where = "training data" if ctx.from_train else "evaluation data (train_counts not given)"
    ax.set_xlabel(f"examples per label in the {where} ({scale})")
    ax.set_ylabel("per-label F1")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=9, title="group", title_fontsize=9, framealpha=0.9)

    k = min(MAX_ANNOTATED, max(1, c // 3), int(np.count_nonzero(ctx.f1 < 1.0)))
    worst = _worst_labels(ctx, k)
    # names in a column beside the plot, evenly spaced (so they cannot overlap),
    # in the vertical order of their points, joined to them by thin lines
    worst = worst[np.lexsort((ctx.freq[worst], -ctx.f1[worst]))]
    heading = f"{k} worst label{'s' if k != 1 else ''}" if k else "no label below F1 = 1"
    tax.set_title(heading + " (circled)" * bool(k), fontsize=10, loc="left")
    for i, j in enumerate(worst):
        ypos = 1.0 - (i + 0.5) / max(k, 6)
        text = f"{_short(ctx.names[j])}\nF1 {ctx.f1[j]:.2f}, n = {_int(ctx.freq[j])}"
        note = ax.annotate(
            text, xy=(ctx.freq[j], ctx.f1[j]), xycoords="data",
            xytext=(0.04, ypos), textcoords=tax.transAxes, ha="left", va="center", fontsize=8,
            arrowprops=dict(arrowstyle="-", color="0.45", lw=0.6, shrinkA=2, shrinkB=3),
            annotation_clip=False,
        )
        note.set_in_layout(False)  # it lives in the right-hand column, not in the plot's box
        ax.scatter([ctx.freq[j]], [ctx.f1[j]], s=size * 2.2, facecolors="none",
                   edgecolors=ZERO_COLOUR, linewidths=1.0)
    ax.set_title("Per-label F1 against label frequency", fontsize=11)
    _save(fig, path)
    caption = (
        "Each point is one label (colour = frequency group); points low on the left are rare "
        "labels the model misses, points low on the right are frequent labels it gets wrong, "
        "and the worst labels are circled and named on the right."
    )
    return path.name, "F1 vs frequency", caption


# --------------------------------------------------------------------------
# 5. co-occurrence
# --------------------------------------------------------------------------
def plot_cooccurrence(path, ctx):
    from matplotlib.colors import LogNorm

    support = ctx.yt.sum(axis=0)
    k = min(COOC_TOP, support.shape[0])
    top = np.argsort(-support, kind="stable")[:k]
    sub = ctx.yt[:, top].astype(np.int64)
    matrix = sub.T @ sub  # [k, k]; the diagonal is each label's own count
    side = min(max(5.5, 0.42 * k + 3.5), 13.0)
    fig = _figure(side + 1.3, side)
    ax = fig.add_subplot()
    masked = np.ma.masked_equal(matrix, 0)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#f0f0f0")  # grey: never together
    vmax = max(int(matrix.max()), 2)
    im = ax.imshow(masked, cmap=cmap, norm=LogNorm(vmin=1, vmax=vmax), interpolation="nearest")
    names = [_short(ctx.names[i]) for i in top]
    fs = 9 if k <= 10 else 8
    ax.set_xticks(np.arange(k), names, rotation=90, fontsize=fs)
    ax.set_yticks(np.arange(k), names, fontsize=fs)
    if k <= COOC_TOP:
        cell_fs = 8 if k <= 12 else 6.5
        norm = im.norm
        for i in range(k):
            for j in range(k):
                v = int(matrix[i, j])
                if v == 0:
                    continue
                light = cmap(norm(v))
                lum = 0.299 * light[0] + 0.587 * light[1] + 0.114 * light[2]
                ax.text(j, i, str(v), ha="center", va="center", fontsize=cell_fs,
                        color="black" if lum > 0.5 else "white")
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label("examples with both labels (log scale)")
    ax.set_xlabel("label")
    ax.set_ylabel("label")
    title = f"Label co-occurrence in the evaluation data (top {k} labels by frequency)"
    if k == 1:
        title = "Label co-occurrence (a single label)"
    ax.set_title(title, fontsize=11)
    _save(fig, path)
    caption = (
        "Cell (row, column) counts the examples carrying both labels, on a log colour scale "
        "(grey = never together); the diagonal is each label's own count, so a bright "
        "off-diagonal cell marks a pair that usually appears together."
    )
    return path.name, "Label co-occurrence", caption


# --------------------------------------------------------------------------
# 6. training curves
# --------------------------------------------------------------------------
def _best_epoch(hist):
    """(1-based epoch, what it is best in) or (None, None)."""
    for key, fn in (("val_micro_f1", np.nanargmax), ("val_loss", np.nanargmin)):
        v = hist.get(key)
        if v is not None and np.isfinite(v).any():
            i = int(fn(v))
            return i + 1, f"{'max' if fn is np.nanargmax else 'min'} {key} = {v[i]:.4f}"
    return None, None


def plot_training_curves(path, ctx):
    from matplotlib.ticker import MaxNLocator

    hist = ctx.history
    has_loss = any(k in hist for k in ("loss", "val_loss"))
    has_f1 = any(k in hist for k in ("micro_f1", "val_micro_f1", "macro_f1", "val_macro_f1"))
    n_panels = int(has_loss) + int(has_f1)
    fig = _figure(6.0 * n_panels + 0.5, 4.8)
    axes = [fig.add_subplot(1, n_panels, i + 1) for i in range(n_panels)]
    best, why = _best_epoch(hist)
    styles = {
        "loss": ("#0072B2", "-", "train loss"),
        "val_loss": ("#0072B2", "--", "validation loss"),
        "micro_f1": ("#0072B2", "-", "train micro-F1"),
        "val_micro_f1": ("#0072B2", "--", "validation micro-F1"),
        "macro_f1": ("#E69F00", "-", "train macro-F1"),
        "val_macro_f1": ("#E69F00", "--", "validation macro-F1"),
    }
    panels = []
    if has_loss:
        panels.append(("loss", ("loss", "val_loss"), "Loss"))
    if has_f1:
        panels.append(("F1", ("micro_f1", "val_micro_f1", "macro_f1", "val_macro_f1"), "F1"))
    n_epochs = max(v.shape[0] for v in hist.values())
    for ax, (ylabel, keys, name) in zip(axes, panels):
        for key in keys:
            if key in hist:
                v = hist[key]
                colour, ls, label = styles[key]
                ax.plot(np.arange(1, v.shape[0] + 1), v, color=colour, ls=ls, lw=1.8,
                        marker="o" if v.shape[0] <= 30 else None, ms=3.5, label=label)
        if best is not None:
            ax.axvline(best, color=ZERO_COLOUR, ls=":", lw=1.5, label=f"best epoch {best} ({why})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{name} per epoch", fontsize=11)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.5, n_epochs + 0.5)
        if name == "F1":
            ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8.5, framealpha=0.9, loc="best")
    _save(fig, path)
    caption = (
        "Training (solid) and validation (dashed) curves per epoch; the dotted red line is "
        "the best epoch"
        + (f" ({why})" if why else "")
        + ", and a validation curve that turns away from its training curve signals over-fitting."
    )
    return path.name, "Training curves", caption
