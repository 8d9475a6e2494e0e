"""The report's pages: ``report.html`` and ``report.md``, and their table and text helpers.

``report.html`` is self-contained (every plot embedded as base64, no external CSS or
JavaScript); ``report.md`` holds the same tables in Markdown, with links to the PNG files.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from kmlc.evaluation import GROUPS
from kmlc.report.wording import _cutoff_text, _freq_source, _int, _policy_marker


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


def _headline_table(m, baseline=None):
    """(header, rows) of the headline metrics; with the linear baseline's metrics, its value
    and the model's difference beside each figure they both have."""
    items = _headline_items(m)
    if baseline is None:
        return ("metric", "value"), [(name, text) for name, _, text in items]
    theirs = {name: text for name, _, text in _headline_items(baseline)}
    rows = []
    for name, key, text in items:
        # The difference of the unrounded figures; none for a count ("12 of 90").
        difference = f"{m[key] - baseline[key]:+.4f}" if key is not None and key in baseline else "-"
        rows.append((name, text, theirs.get(name, "-"), difference))
    return ("metric", "model", "linear baseline", "difference"), rows


def _headline_rows(m):
    return [(name, text) for name, _, text in _headline_items(m)]


def _headline_items(m):
    """[(name, key of the figure in `m` or None, text)] of the headline metrics."""
    items = []
    for key, name in (
        ("micro_precision", "Micro precision"), ("micro_recall", "Micro recall"),
        ("micro_f1", "Micro F1"), ("macro_precision", "Macro precision"),
        ("macro_recall", "Macro recall"), ("macro_f1", "Macro F1"),
        ("hamming_loss", "Hamming loss"), ("subset_accuracy", "Subset accuracy"),
    ):
        if key in m:
            items.append((name, key, _fmt(m[key])))
    if "n_labels_predicted" in m:
        n, c = m["n_labels_predicted"], m.get("n_labels")
        share = m.get("share_labels_predicted")
        text = f"{n} of {c}" + (f" ({100 * share:.1f} %)" if share is not None else "")
        items.append(("Labels predicted (F1 > 0)", None, text))
    for prefix, name in (("precision_at_", "P@"), ("ndcg_at_", "nDCG@")):
        ks = sorted(int(k[len(prefix):]) for k in m if k.startswith(prefix) and k[len(prefix):].isdigit())
        for k in ks:
            items.append((f"{name}{k}", f"{prefix}{k}", _fmt(m[f"{prefix}{k}"])))
    return items


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


_BASELINE_NOTE = ("Linear baseline: bigram TF-IDF and a one-vs-rest linear classifier (scikit-learn), fitted on "
                  "the same training rows, one global threshold tuned on the same validation rows (kmlc.baselines).")
_GROUP_COLUMNS = ("group", "labels", "support", "micro P", "micro R", "micro F1", "macro F1", "F1 = 0")


def _group_table(summary, baseline=None):
    """(header, rows) of the label-frequency groups; with the linear baseline's group summary,
    its micro- and macro-F1 per group beside the model's."""
    rows = _group_rows(summary)
    if baseline is None:
        return _GROUP_COLUMNS, rows
    extra = {g: (("-", "-") if not summary[g]["n_labels"] else
                 (_fmt(baseline[g]["micro_f1"]), _fmt(baseline[g]["macro_f1"]))) for g in GROUPS}
    return (_GROUP_COLUMNS + ("baseline micro F1", "baseline macro F1"),
            [row + extra[row[0]] for row in rows])


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
    if ctx.baseline is not None:
        parts.append(f'<p class="meta">{e(_BASELINE_NOTE)}</p>')
    parts.append(_html_table(*_headline_table(m, ctx.baseline)))
    for heading, tables in _label_group_sections(m):
        parts.append(f"<h2>{e(heading)}</h2>")
        parts += [_html_table(header, rows) for header, rows in tables]
    parts.append("<h2>Label-frequency groups</h2>")
    parts.append(f'<p class="meta">{e(_cutoff_text(ctx))} ({e(_freq_source(ctx))} examples per label).</p>')
    parts.append(_html_table(*_group_table(ctx.group_summary, ctx.baseline_groups)))

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
    parts += ["", "## Headline metrics", ""]
    if ctx.baseline is not None:
        parts += [_md_cell(_BASELINE_NOTE), ""]
    parts += [_md_table(*_headline_table(m, ctx.baseline)), ""]
    for heading, tables in _label_group_sections(m):
        parts += [f"## {_md_cell(heading)}", ""]
        for header, rows in tables:
            parts += [_md_table(header, rows), ""]
    parts += ["## Label-frequency groups", "", f"{_cutoff_text(ctx)} ({_freq_source(ctx)} examples per label).", "",
              _md_table(*_group_table(ctx.group_summary, ctx.baseline_groups)), ""]
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
