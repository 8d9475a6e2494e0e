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
is left alone.  Importing this package does not import matplotlib.

The package has one concern per module: :mod:`~kmlc.report.checks` validates the inputs,
:mod:`~kmlc.report.plots` draws the PNG files (on figures from
:mod:`~kmlc.report.canvas`), :mod:`~kmlc.report.render` writes the two pages, and
:mod:`~kmlc.report.wording` holds the phrases that plots and pages share; this module
checks, computes and writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from kmlc.evaluation import (
    DEFAULT_GROUP_CUTOFFS,
    evaluate,
    frequency_groups,
    per_label_table,
)
from kmlc.io import atomic_directory, write_json
from kmlc.outputs import REPORT_DIRECTORY, check_output
from kmlc.report import plots

# `name as name` marks a re-export: kmlc.report._check_thresholds is called by the tests.
from kmlc.report.checks import _check_inputs
from kmlc.report.checks import _check_thresholds as _check_thresholds
from kmlc.report.plots import PLOT_FILES, threshold_sweep
from kmlc.report.render import _render_html, _render_markdown

__all__ = ["write_report", "threshold_sweep", "PLOT_FILES"]


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
    baseline_metrics: dict | None = None,
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
        group_cutoffs: ``(head_min, medium_min)``, see :func:`kmlc.evaluation.frequency_groups`.
        metrics: an already computed :func:`kmlc.evaluation.evaluate` dict (written to
            ``metrics.json`` as is); computed when None.
        baseline_metrics: the linear baseline's :func:`kmlc.evaluation.evaluate` dict on
            the same rows (:mod:`kmlc.baselines`), shown beside the model's headline
            metrics and frequency groups (and written to ``metrics.json`` under
            ``"baseline"``), or None.
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
    groups = frequency_groups(freq, cutoffs=cutoffs)

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
        baseline=baseline_metrics,
        baseline_groups=(baseline_metrics or {}).get("groups") if from_train else None,
    )

    with atomic_directory(directory, REPORT_DIRECTORY, overwrite=overwrite) as tmp:
        write_json(tmp / "metrics.json", metrics if baseline_metrics is None else {**metrics, "baseline": baseline_metrics})
        table.to_csv(tmp / "per_label.csv", index=False)
        # The plots are looked up on their module at call time, so that replacing one
        # (monkeypatching kmlc.report.plots.plot_cooccurrence, say) takes effect here.
        figures = []  # (file name, alt text, caption)
        figures.append(plots.plot_label_frequency(tmp / "label_frequency.png", ctx))
        if s is not None:
            figures.append(plots.plot_threshold_curves(tmp / "threshold_curves.png", ctx))
        figures.append(plots.plot_f1_by_group(tmp / "f1_by_group.png", ctx))
        figures.append(plots.plot_f1_vs_frequency(tmp / "f1_vs_frequency.png", ctx))
        figures.append(plots.plot_cooccurrence(tmp / "cooccurrence.png", ctx))
        if hist is not None:
            figures.append(plots.plot_training_curves(tmp / "training_curves.png", ctx))
        (tmp / "report.html").write_text(_render_html(tmp, ctx, table, figures), encoding="utf-8")
        (tmp / "report.md").write_text(_render_markdown(ctx, table, figures), encoding="utf-8")
    return directory


class _Context:
    """Everything the plots and pages need (validated arrays and computed tables)."""

    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)
