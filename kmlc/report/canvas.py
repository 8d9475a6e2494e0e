"""Figures for the report plots: an Agg canvas, the colours, and the drawing helpers.

Plots are drawn with matplotlib's object-oriented API on an Agg canvas: pyplot is never
imported, so nothing is shown, no global figure registry grows, and the caller's backend
is left alone.  matplotlib is imported inside the functions that draw, so that importing
:mod:`kmlc.report` does not import it.
"""

from __future__ import annotations

import numpy as np

from kmlc.evaluation import GROUPS

DPI = 110
NAME_CHARS = 30  # label names are cut to this many characters in plots

# Okabe-Ito colours (colour-blind safe).
GROUP_COLOURS = {"head": "#0072B2", "medium": "#E69F00", "tail": "#009E73"}
ZERO_COLOUR = "#D55E00"


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
