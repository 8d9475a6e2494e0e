"""An evaluation report: metrics, per-label table, plots and one self-contained HTML page.

:func:`write_report` writes, atomically (the directory appears complete or not at all):

* ``metrics.json``   the :func:`kmlc.evaluation.evaluate` dict;
* ``per_label.csv``  :func:`kmlc.evaluation.per_label_table` (threshold and group included);
* ``label_frequency.png``, ``threshold_curves.png``, ``f1_by_group.png``,
  ``f1_vs_frequency.png``, ``cooccurrence.png`` and, with a training history,
  ``training_curves.png``;
* ``report.html``    every table and plot (images embedded as base64, no external CSS/JS);
* ``report.md``      the same tables in Markdown, with links to the PNG files.

Plots are drawn with matplotlib's object-oriented API on an Agg canvas: pyplot is never
imported, so nothing is shown, no global figure registry grows, and the caller's backend
is left alone.  Importing this module does not import matplotlib.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from kmlc.errors import KmlcInputError
from kmlc.evaluation import (
    DEFAULT_GROUP_CUTOFFS,
    GROUPS,
    _check_cutoffs,
    _check_label_names,
    _check_pair,
    _check_scores,
    _check_train_counts,
    evaluate,
    label_groups,
    per_label_table,
)
from kmlc.io import atomic_directory, write_json
from kmlc.outputs import REPORT_DIRECTORY, check_output

__all__ = ["write_report", "threshold_sweep", "PLOT_FILES"]

#: The PNG files a report may hold, in the order they appear on the page.
PLOT_FILES = (
    "label_frequency.png",
    "threshold_curves.png",
    "f1_by_group.png",
    "f1_vs_frequency.png",
    "cooccurrence.png",
    "training_curves.png",
)

DPI = 110
NAME_CHARS = 30  # label names are cut to this many characters in plots
MAX_NAMED_BARS = 60  # above this many labels the frequency plot shows ranks, not names
COOC_TOP = 20
MAX_ANNOTATED = 8
N_SWEEP = 101

# Okabe-Ito colours (colour-blind safe).
GROUP_COLOURS = {"head": "#0072B2", "medium": "#E69F00", "tail": "#009E73"}
ZERO_COLOUR = "#D55E00"
_HISTORY_KEYS = ("loss", "val_loss", "micro_f1", "val_micro_f1", "macro_f1", "val_macro_f1")


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def write_report(
    directory,
    *,
    y_true,
    y_pred,
    scores,
    label_names,
    train_counts=None,
    thresholds=None,
    history=None,
    title: str = "kmlc evaluation report",
    group_cutoffs: Sequence[float] = DEFAULT_GROUP_CUTOFFS,
    metrics: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Writes an evaluation report into ``directory`` and returns its path.

    Args:
        directory: the report directory.  It is written atomically and replaced as a
            whole; an existing directory is only replaced if it is empty or holds a
            previous report and nothing else (see :mod:`kmlc.outputs`), so that a
            directory passed by mistake is never wiped.
        y_true, y_pred: {0, 1} arrays ``[N, C]`` (N >= 1).
        scores: probabilities ``[N, C]`` (or None: no threshold curves, no ranking
            metrics).
        label_names: ``C`` names (None: the column indices).
        train_counts: ``C`` training-set label counts for the frequency groups.  None:
            the support in ``y_true`` is used instead, and the plots say so.
        thresholds: a :class:`kmlc.thresholds.ThresholdPolicy` (or an array / scalar of
            thresholds, or None).  If it has fewer thresholds than ``C`` and ``metrics``
            lists exactly that many ``unseen_labels`` (as
            :meth:`kmlc.TextClassifier.evaluate` appends them), those get NaN.
        history: a Keras ``History`` or its ``.history`` dict (loss, val_loss,
            micro_f1, val_micro_f1, macro_f1, val_macro_f1; any subset), or None.
        title: heading of the page.
        group_cutoffs: ``(head_min, medium_min)``, see :func:`kmlc.evaluation.label_groups`.
        metrics: an already computed :func:`kmlc.evaluation.evaluate` dict (written to
            ``metrics.json`` as is); computed when None.
        overwrite: replace ``directory`` even when it holds other files.

    Raises:
        KmlcInputError: bad shapes or values, no rows, an unknown history format, or a
            ``directory`` that holds something other than a report.
    """
    directory = check_output(directory, REPORT_DIRECTORY, overwrite=overwrite)
    inputs = _check_inputs(
        directory, y_true, y_pred, scores, label_names, train_counts, thresholds,
        history, group_cutoffs, metrics,
    )
    yt, yp, s, names, counts, thr, policy, hist, cutoffs = inputs
    c = yt.shape[1]

    if metrics is None:
        metrics = evaluate(
            yt, yp, s, label_names=names, train_counts=counts, group_cutoffs=cutoffs
        )
    support = yt.sum(axis=0).astype(np.int64)
    from_train = counts is not None
    freq = counts if from_train else support
    if from_train and isinstance(metrics.get("groups"), dict) and "head" in metrics["groups"]:
        group_summary = metrics["groups"]
    else:
        group_summary = evaluate(
            yt, yp, label_names=names, train_counts=freq, group_cutoffs=cutoffs
        )["groups"]
    groups = label_groups(freq, cutoffs=cutoffs)

    table = per_label_table(
        yt, yp, label_names=names, train_counts=counts, thresholds=thr, group_cutoffs=cutoffs
    )
    if not from_train:
        table["group"] = groups
    f1 = table["f1"].to_numpy(dtype=np.float64)

    ctx = _Context(
        names=names, yt=yt, yp=yp, scores=s, freq=np.asarray(freq, dtype=np.float64),
        from_train=from_train, groups=groups, f1=f1, cutoffs=cutoffs, policy=policy,
        thr=thr, metrics=metrics, group_summary=group_summary, history=hist, title=str(title),
    )

    with atomic_directory(directory, REPORT_DIRECTORY, overwrite=overwrite) as tmp:
        write_json(tmp / "metrics.json", metrics)
        table.to_csv(tmp / "per_label.csv", index=False)
        plots = []  # (file name, alt text, caption)
        plots.append(plot_label_frequency(tmp / "label_frequency.png", ctx))
        if s is not None:
            plots.append(plot_threshold_curves(tmp / "threshold_curves.png", ctx))
        plots.append(plot_f1_by_group(tmp / "f1_by_group.png", ctx))
        plots.append(plot_f1_vs_frequency(tmp / "f1_vs_frequency.png", ctx))
        plots.append(plot_cooccurrence(tmp / "cooccurrence.png", ctx))
        if hist is not None:
            plots.append(plot_training_curves(tmp / "training_curves.png", ctx))
        (tmp / "report.html").write_text(_render_html(tmp, ctx, table, plots), encoding="utf-8")
        (tmp / "report.md").write_text(_render_markdown(ctx, table, plots), encoding="utf-8")
    return directory


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
class _Context:
    """Everything the plots and pages need (validated arrays and computed tables)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


def _check_inputs(directory, y_true, y_pred, scores, label_names, train_counts, thresholds,
                  history, group_cutoffs, metrics):
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        shape = np.shape(y)
        if len(shape) == 2 and shape[0] == 0:
            raise KmlcInputError(
                f"Expected at least one labelled example (row) to write a report on, "
                f"Received: `{name}` with shape={shape}"
            )
    yt, yp = _check_pair(y_true, y_pred)
    n, c = yt.shape
    s = None if scores is None else _check_scores(scores, yt.shape)
    names = _check_label_names(label_names, c)
    if names is None:
        names = [str(i) for i in range(c)]
    counts = _check_train_counts(train_counts, c)
    cutoffs = _check_cutoffs(group_cutoffs)
    if metrics is not None:
        if not isinstance(metrics, dict):
            raise KmlcInputError(
                f"Expected `metrics` to be the dict returned by evaluate(), Received: {type(metrics).__name__}"
            )
        if metrics.get("n_labels", c) != c or metrics.get("n_examples", n) != n:
            raise KmlcInputError(
                "Expected `metrics` computed on the same data as `y_true`, Received: "
                f"n_examples={metrics.get('n_examples')}, n_labels={metrics.get('n_labels')} "
                f"for y_true.shape={yt.shape}"
            )
    policy, thr = _check_thresholds(thresholds, c, metrics)
    hist = _check_history(history)
    return yt, yp, s, names, counts, thr, policy, hist, cutoffs


def _check_thresholds(thresholds, c, metrics):
    """(policy or None, float array [C] with NaN where there is no threshold, or None)."""
    if thresholds is None:
        return None, None
    policy = thresholds if hasattr(thresholds, "thresholds") else None
    try:
        thr = np.array(getattr(thresholds, "thresholds", thresholds), dtype=np.float64)
    except (TypeError, ValueError):
        raise KmlcInputError(
            "Expected `thresholds` to be a ThresholdPolicy, an array of floats or a float, "
            f"Received: {type(thresholds).__name__}"
        ) from None
    if thr.ndim == 0:
        thr = np.full(c, float(thr))
    if thr.ndim != 1:
        raise KmlcInputError(f"Expected 1-D thresholds, Received: shape={thr.shape}")
    unseen = (metrics or {}).get("unseen_labels") or ()
    if thr.shape[0] < c and thr.shape[0] + len(unseen) == c:
        thr = np.concatenate([thr, np.full(c - thr.shape[0], np.nan)])
    if thr.shape[0] != c:
        raise KmlcInputError(
            f"Expected {c} thresholds (one per label), Received: {thr.shape[0]}"
        )
    if getattr(policy, "strategy", None) == "top-k":
        thr = np.full(c, np.nan)  # a top-k policy does not use its thresholds
    return policy, thr


def _check_history(history):
    if history is None:
        return None
    history = getattr(history, "history", history)
    if not isinstance(history, dict):
        raise KmlcInputError(
            "Expected `history` to be a Keras History or its `.history` dict, "
            f"Received: {type(history).__name__}"
        )
    out = {}
    for key in _HISTORY_KEYS:
        if key not in history:
            continue
        try:
            values = np.asarray(history[key], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise KmlcInputError(
                f"Expected history['{key}'] to be a list of numbers, Received: {history[key]!r:.80}"
            ) from None
        if values.size:
            out[key] = values
    if not out:
        raise KmlcInputError(
            f"Expected `history` to hold at least one of {list(_HISTORY_KEYS)}, "
            f"Received keys: {sorted(map(str, history))}"
        )
    return out


# --------------------------------------------------------------------------
# plotting helpers
# --------------------------------------------------------------------------
def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    fig.savefig(path, dpi=DPI, facecolor="white")
    fig.clear()  # free the artists now; the figure never reached pyplot


def _short(name, limit=NAME_CHARS):
    """A label name for a plot: one line, at most `limit` characters, `$` not read as math."""
    name = " ".join(str(name).split())
    if len(name) > limit:
        name = name[: limit - 1] + "\u2026"
    return _tex_safe(name)


def _tex_safe(text):
    return text.replace("$", r"\$")


def _int(x):
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:g}"


def _freq_source(ctx):
    return "training" if ctx.from_train else "evaluation-set support (train_counts not given)"


def _set_count_scale(ax, values, axis):
    """Log scale, or symlog (linear below 1) when there are zero counts."""
    setter = ax.set_yscale if axis == "y" else ax.set_xscale
    if np.min(values) > 0:
        setter("log")
    else:
        setter("symlog", linthresh=1.0, linscale=0.5)


def _group_legend_handles(ctx, with_counts=True):
    from matplotlib.patches import Patch

    handles = []
    for g in GROUPS:
        n = int(np.count_nonzero(ctx.groups == g))
        label = f"{g} ({n} label{'s' if n != 1 else ''})" if with_counts else g
        handles.append(Patch(facecolor=GROUP_COLOURS[g], label=label))
    return handles


def _cutoff_text(ctx):
    head_min, medium_min = ctx.cutoffs
    return f"head \u2265 {_int(head_min)}, medium \u2265 {_int(medium_min)}, tail < {_int(medium_min)}"


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


# --------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------
def _fmt(x, digits=4):
    """How figures are written on the page: floats with 4 decimals, NaN/None as "-"."""
    if x is None:
        return "-"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "-"
    return f"{v:.{digits}f}"


def _headline_rows(m):
    rows = []
    for key, name in (
        ("micro_precision", "Micro precision"), ("micro_recall", "Micro recall"),
        ("micro_f1", "Micro F1"), ("macro_precision", "Macro precision"),
        ("macro_recall", "Macro recall"), ("macro_f1", "Macro F1"),
        ("hamming_loss", "Hamming loss"), ("subset_accuracy", "Subset accuracy"),
    ):
        if key in m:
            rows.append((name, _fmt(m[key])))
    if "n_labels_predicted" in m:
        n, c = m["n_labels_predicted"], m.get("n_labels")
        share = m.get("share_labels_predicted")
        text = f"{n} of {c}" + (f" ({100 * share:.1f} %)" if share is not None else "")
        rows.append(("Labels predicted (F1 > 0)", text))
    for prefix, name in (("precision_at_", "P@"), ("ndcg_at_", "nDCG@")):
        ks = sorted(int(k[len(prefix):]) for k in m if k.startswith(prefix) and k[len(prefix):].isdigit())
        for k in ks:
            rows.append((f"{name}{k}", _fmt(m[f"{prefix}{k}"])))
    return rows


def _label_group_sections(m):
    """[(heading, [(header, rows), ...])]: one section per label group of a model with
    several label groups (kmlc.groups; `metrics["group_metrics"]`), else []."""
    sections = []
    for name, g in (m.get("group_metrics") or {}).items():
        kind = g.get("kind", "multilabel")
        heading = f"Label group {name} ({kind}, {g.get('n_labels')} labels, loss weight {_fmt(g.get('weight'), 3)})"
        if kind == "multiclass":
            rows = [(label, _fmt(g[key])) for key, label in (
                ("accuracy", "Accuracy"), ("macro_f1", "Macro F1"), ("macro_precision", "Macro precision"),
                ("macro_recall", "Macro recall"), ("weighted_f1", "Weighted F1"))]
            labels = list(g.get("labels", []))
            tables = [(("metric", "value"), rows)]
            if g.get("confusion_matrix"):
                confusion = [[f"true {label}"] + [str(v) for v in row] + [_fmt(g["f1_per_label"].get(label))]
                             for label, row in zip(labels, g["confusion_matrix"])]
                tables.append((["true \\ predicted"] + labels + ["F1"], confusion))
        else:
            tables = [(("metric", "value"), _headline_rows(g))]
            if isinstance(g.get("groups"), dict) and "head" in g["groups"]:
                tables.append((_GROUP_COLUMNS, _group_rows(g["groups"])))
        sections.append((heading, tables))
    return sections


_GROUP_COLUMNS = ("group", "labels", "support", "micro P", "micro R", "micro F1", "macro F1", "F1 = 0")


def _group_rows(summary):
    rows = []
    for g in GROUPS:
        s = summary[g]
        if not s["n_labels"]:  # an empty group has no F1 (evaluate() reports 0.0)
            rows.append((g, "0", "0", "-", "-", "-", "-", "-"))
            continue
        rows.append((g, str(s["n_labels"]), str(s["support"]), _fmt(s["micro_precision"]),
                     _fmt(s["micro_recall"]), _fmt(s["micro_f1"]), _fmt(s["macro_f1"]),
                     str(s["n_zero_f1"])))
    return rows


def _zero_labels(ctx):
    """[(name, support, frequency)] of the labels with F1 = 0, most frequent first."""
    idx = np.flatnonzero(ctx.f1 == 0)
    idx = idx[np.argsort(-ctx.freq[idx], kind="stable")]
    support = ctx.yt.sum(axis=0)
    return [(ctx.names[i], int(support[i]), ctx.freq[i]) for i in idx]


def _unseen(ctx):
    unseen = ctx.metrics.get("unseen_labels")
    if not unseen:
        return []
    if isinstance(unseen, dict):
        return [(str(k), v) for k, v in sorted(unseen.items(), key=lambda kv: str(kv[0]))]
    return [(str(k), None) for k in unseen]


def _label_rows(ctx, table):
    """Per-label table rows sorted by frequency (most frequent first)."""
    order = np.argsort(-ctx.freq, kind="stable")
    cols = [c for c in table.columns if not (c == "train_count" and not ctx.from_train)]
    if ctx.thr is None and "threshold" in cols:
        cols.remove("threshold")
    rows = []
    for i in order:
        rec = table.iloc[int(i)]
        rows.append([rec["label"]] + [_fmt(rec[c]) if c != "group" else str(rec[c]) for c in cols[1:]])
    return cols, rows, order


def _meta_lines(ctx):
    m = ctx.metrics
    n, c = ctx.yt.shape
    lines = [f"{n} examples, {c} labels."]
    x, text = _policy_marker(ctx) if ctx.thr is not None or ctx.policy is not None else (None, None)
    if text:
        lines.append(f"Decision rule: {text}.")
    src = "training label counts" if ctx.from_train else "label support in the evaluation data (no training counts given)"
    lines.append(f"Label groups from the {src}: {_cutoff_text(ctx)}.")
    if m.get("unseen_label_positives"):
        lines.append(f"{m['unseen_label_positives']} positive(s) of labels never seen in training count as misses.")
    if m.get("texts_in_training") is not None:
        k = m["texts_in_training"]
        lines.append(
            f"{k} of the {n} texts also occur in the training data"
            + (": these figures overstate how the model does on unseen text." if k else ".")
        )
    return lines


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
tr.zero td{background:#fdecea}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#444;margin-top:.3em}
.meta{color:#555}.labels{font-size:.9em}
"""


def _html_table(header, rows, row_classes=None):
    e = html.escape
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr></thead>", "<tbody>"]
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _html_label_list(items):
    e = html.escape
    body = ", ".join(items)
    if len(items) > 40:
        return f"<details class=\"labels\"><summary>show all {len(items)}</summary><p>{e(body)}</p></details>"
    return f"<p class=\"labels\">{e(body)}</p>"


def _render_html(directory, ctx, table, plots):
    e = html.escape
    m = ctx.metrics
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(ctx.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(ctx.title)}</h1>",
    ]
    parts += [f'<p class="meta">{e(line)}</p>' for line in _meta_lines(ctx)]
    parts.append("<h2>Headline metrics</h2>")
    parts.append(_html_table(("metric", "value"), _headline_rows(m)))
    for heading, tables in _label_group_sections(m):
        parts.append(f"<h2>{e(heading)}</h2>")
        parts += [_html_table(header, rows) for header, rows in tables]
    parts.append("<h2>Label-frequency groups</h2>")
    parts.append(f'<p class="meta">{e(_cutoff_text(ctx))} ({e(_freq_source(ctx))} examples per label).</p>')
    parts.append(_html_table(_GROUP_COLUMNS, _group_rows(ctx.group_summary)))

    zero = _zero_labels(ctx)
    c = ctx.f1.shape[0]
    parts.append(f"<h2>ZERO labels (F1 = 0): {len(zero)} of {c}</h2>")
    if zero:
        parts.append('<p class="meta">Most frequent first; (support in this data / '
                     f'{e(_freq_source(ctx))} count).</p>')
        parts.append(_html_label_list([f"{n} ({s}/{_int(f)})" for n, s, f in zero]))
    else:
        parts.append("<p>None: every label is predicted correctly at least once.</p>")
    unseen = _unseen(ctx)
    if unseen:
        parts.append(f"<h2>Labels never seen in training: {len(unseen)}</h2>")
        parts.append(_html_label_list([n if v is None else f"{n} ({v})" for n, v in unseen]))

    parts.append("<h2>Plots</h2>")
    for name, alt, caption in plots:
        data = base64.b64encode((directory / name).read_bytes()).decode("ascii")
        parts.append(
            f'<figure id="{e(Path(name).stem)}"><img src="data:image/png;base64,{data}" alt="{e(alt)}">'
            f"<figcaption><b>{e(alt)}</b> ({e(name)}). {e(caption)}</figcaption></figure>"
        )
    cols, rows, order = _label_rows(ctx, table)
    classes = ["zero" if ctx.f1[i] == 0 else "" for i in order]
    parts.append(f"<h2>Per-label results ({c} labels, most frequent first)</h2>")
    parts.append('<p class="meta">Rows with F1 = 0 are shaded; the same table is in per_label.csv.</p>')
    parts.append(_html_table(cols, rows, classes))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _md_cell(v):
    return " ".join(str(v).split()).replace("\\", "\\\\").replace("|", "\\|")


def _md_table(header, rows):
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |",
           "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    out += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def _render_markdown(ctx, table, plots):
    m = ctx.metrics
    c = ctx.f1.shape[0]
    parts = [f"# {_md_cell(ctx.title)}", ""]
    parts += [_md_cell(line) + "  " for line in _meta_lines(ctx)]
    parts += ["", "## Headline metrics", "", _md_table(("metric", "value"), _headline_rows(m)), ""]
    for heading, tables in _label_group_sections(m):
        parts += [f"## {_md_cell(heading)}", ""]
        for header, rows in tables:
            parts += [_md_table(header, rows), ""]
    parts += ["## Label-frequency groups", "", f"{_cutoff_text(ctx)} ({_freq_source(ctx)} examples per label).", "",
              _md_table(_GROUP_COLUMNS, _group_rows(ctx.group_summary)), ""]
    zero = _zero_labels(ctx)
    parts += [f"## ZERO labels (F1 = 0): {len(zero)} of {c}", ""]
    parts.append(", ".join(_md_cell(f"{n} ({s}/{_int(f)})") for n, s, f in zero) if zero
                 else "None: every label is predicted correctly at least once.")
    parts.append("")
    unseen = _unseen(ctx)
    if unseen:
        parts += [f"## Labels never seen in training: {len(unseen)}", "",
                  ", ".join(_md_cell(n if v is None else f"{n} ({v})") for n, v in unseen), ""]
    parts += ["## Plots", ""]
    for name, alt, caption in plots:
        parts += [f"![{alt}]({name})", "", f"*{alt}.* {caption}", ""]
    cols, rows, _ = _label_rows(ctx, table)
    parts += [f"## Per-label results ({c} labels, most frequent first)", "", _md_table(cols, rows), ""]
    return "\n".join(parts)
