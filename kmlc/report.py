"""The evaluation report: metrics.json, per_label.csv, PNG plots, report.html and report.md.

The HTML page embeds every plot (base64), so the one file can be mailed or opened anywhere
without Python; the PNG files stay beside it. The directory is written atomically.
"""

import base64
import html
from pathlib import Path

import numpy as np

from kmlc.errors import KmlcInputError

GROUP_COLOURS = {"head": "#1f77b4", "medium": "#ff7f0e", "tail": "#d62728"}
MAX_LABEL_CHARS = 30
TOP_COOCCURRENCE = 20

HEADLINE = [
    ("micro_f1", "micro-F1"), ("macro_f1", "macro-F1"),
    ("micro_precision", "micro precision"), ("micro_recall", "micro recall"),
    ("macro_precision", "macro precision"), ("macro_recall", "macro recall"),
    ("samples_f1", "samples-F1"), ("weighted_f1", "weighted-F1"),
    ("hamming_loss", "Hamming loss"), ("subset_accuracy", "subset accuracy"),
    ("precision_at_1", "P@1"), ("precision_at_3", "P@3"), ("precision_at_5", "P@5"),
    ("ndcg_at_1", "nDCG@1"), ("ndcg_at_3", "nDCG@3"), ("ndcg_at_5", "nDCG@5"),
]


def _short(name):
    name = str(name)
    return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"


def _figure(width, height):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return plt, fig, ax


def _save(plt, fig, path):
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- plots


def plot_label_frequency(path, counts, groups, cutoffs, from_training):
    order = np.argsort(-counts, kind="stable")
    plt, fig, ax = _figure(9, 4.2)
    colours = [GROUP_COLOURS.get(groups[i], "#7f7f7f") for i in order]
    ax.bar(np.arange(len(order)), np.maximum(counts[order], 0.8), color=colours, width=1.0)
    ax.set_yscale("log")
    for cut, name in zip(cutoffs, ("head", "medium")):
        ax.axhline(cut, color=GROUP_COLOURS[name], linestyle="--", linewidth=1)
        ax.text(len(order) * 0.99, cut * 1.08, f"{name} >= {cut}", ha="right", va="bottom", fontsize=8,
                color=GROUP_COLOURS[name])
    ax.set_xlabel("labels, most frequent first")
    ax.set_ylabel("training examples (log)" if from_training else "examples in this data (log)")
    ax.set_title("Label frequency: the long tail" + ("" if from_training else " (evaluation data)"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in GROUP_COLOURS.values()]
    ax.legend(handles, list(GROUP_COLOURS), title="group", fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.9))
    _save(plt, fig, path)


def plot_threshold_curves(path, y_true, scores, thresholds):
    grid = np.linspace(0.0, 1.0, 101)
    positives = y_true.sum()
    flat_scores, flat_true = scores.ravel(), y_true.ravel().astype(bool)
    # One pass: predicted counts at each grid threshold from sorted scores.
    sorted_all = np.sort(flat_scores)
    sorted_pos = np.sort(flat_scores[flat_true])
    predicted = len(sorted_all) - np.searchsorted(sorted_all, grid, side="left")
    tp = len(sorted_pos) - np.searchsorted(sorted_pos, grid, side="left")
    precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 1.0)
    recall = tp / max(positives, 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    plt, fig, ax = _figure(7, 4.2)
    ax.plot(grid, precision, label="micro precision")
    ax.plot(grid, recall, label="micro recall")
    ax.plot(grid, f1, label="micro-F1", linewidth=2)
    if thresholds is not None and np.isfinite(thresholds).any():
        finite = thresholds[np.isfinite(thresholds)]
        chosen = float(np.median(finite))
        same = np.allclose(finite, finite[0])
        ax.axvline(chosen, color="black", linestyle=":",
                   label=f"{'saved threshold' if same else 'median per-label threshold'} {chosen:.3f}")
    ax.set_xlabel("one global probability threshold")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1.02)
    ax.set_title("Precision, recall and F1 against a global threshold")
    ax.legend(fontsize=8, loc="lower left")
    _save(plt, fig, path)


def plot_f1_by_group(path, metrics):
    groups = metrics.get("groups") or {}
    names = [g for g in ("head", "medium", "tail") if g in groups]
    plt, fig, ax = _figure(6.5, 4.2)
    x = np.arange(len(names))
    micro = [groups[g]["micro_f1"] for g in names]
    macro = [groups[g]["macro_f1"] for g in names]
    ax.bar(x - 0.2, micro, width=0.4, label="micro-F1")
    ax.bar(x + 0.2, macro, width=0.4, label="macro-F1")
    for i, (a, b) in enumerate(zip(micro, macro)):
        ax.text(i - 0.2, a + 0.01, f"{a:.2f}", ha="center", fontsize=8)
        ax.text(i + 0.2, b + 0.01, f"{b:.2f}", ha="center", fontsize=8)
    ax.set_xticks(x, [f"{g}\n({groups[g]['n_labels']} labels)" for g in names])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("F1")
    zero = groups.get("zero", {}).get("n_labels", 0)
    ax.set_title(f"F1 by label group ({zero} label(s) with F1 = 0)")
    ax.legend(fontsize=8)
    _save(plt, fig, path)


def plot_f1_vs_frequency(path, table):
    plt, fig, ax = _figure(7, 4.5)
    counts = np.maximum(table["train_count"].to_numpy(dtype=float), 0.8)
    f1 = table["f1"].to_numpy(dtype=float)
    for group, colour in GROUP_COLOURS.items():
        mask = (table["group"] == group).to_numpy()
        ax.scatter(counts[mask], f1[mask], s=18, color=colour, label=group, alpha=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training examples of the label (log)")
    ax.set_ylabel("F1 of the label")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Per-label F1 against training frequency")
    # Name the worst frequent labels: they are the surprising failures.
    worst = table.assign(_c=counts).sort_values(["f1", "_c"], ascending=[True, False]).head(6)
    for k, (_, row) in enumerate(worst.iterrows()):
        ax.annotate(_short(row["label"]), (row["_c"], row["f1"]), fontsize=7,
                    xytext=(6, 4 + 9 * k), textcoords="offset points",
                    arrowprops={"arrowstyle": "-", "color": "#999999", "linewidth": 0.6})
    ax.legend(fontsize=8, loc="lower right")
    _save(plt, fig, path)


def plot_cooccurrence(path, y_true, names):
    support = y_true.sum(axis=0)
    top = np.argsort(-support, kind="stable")[:TOP_COOCCURRENCE]
    sub = y_true[:, top].astype(np.int64)
    matrix = sub.T @ sub
    size = max(4.5, 0.32 * len(top) + 2.5)
    plt, fig, ax = _figure(size + 1, size)
    from matplotlib.colors import LogNorm

    image = ax.imshow(np.maximum(matrix, 0.9), cmap="viridis", norm=LogNorm(vmin=0.9, vmax=max(matrix.max(), 1)))
    labels = [_short(names[i]) for i in top]
    ax.set_xticks(range(len(top)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(top)), labels, fontsize=7)
    if len(top) <= 12:
        for i in range(len(top)):
            for j in range(len(top)):
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=6, color="white")
    fig.colorbar(image, ax=ax, label="rows with both labels (log)")
    ax.set_title(f"Label co-occurrence (top {len(top)} labels; diagonal: support)")
    _save(plt, fig, path)


def plot_training_curves(path, history):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for key in ("loss", "val_loss"):
        if key in history:
            left.plot(epochs, history[key], label=key)
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.set_title("Loss")
    left.legend(fontsize=8)
    for key in ("micro_f1", "val_micro_f1", "macro_f1", "val_macro_f1"):
        if key in history:
            right.plot(epochs, history[key], label=key, linestyle="-" if key.startswith("val") else "--")
    if "val_micro_f1" in history and len(history["val_micro_f1"]):
        best = int(np.argmax(history["val_micro_f1"])) + 1
        right.axvline(best, color="black", linestyle=":", label=f"best epoch {best}")
    right.set_xlabel("epoch")
    right.set_ylabel("F1")
    right.set_title("F1 during training")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- pages


CAPTIONS = {
    "label_frequency.png": "Examples per label, most frequent first, on a log scale; the dashed lines are the "
                           "head and medium cut-offs, the colours the groups.",
    "threshold_curves.png": "Micro precision, recall and F1 if one threshold were used for every label; the "
                            "dotted line is the threshold the model uses (the median, for per-label thresholds).",
    "f1_by_group.png": "Micro- and macro-F1 of the head, medium and tail labels: how well the model does on "
                       "frequent and on rare labels.",
    "f1_vs_frequency.png": "Each point is a label: its F1 against its number of training examples; the worst "
                           "labels are named.",
    "cooccurrence.png": "How often two labels appear together in this data (the diagonal is each label's "
                        "support), for the most frequent labels.",
    "training_curves.png": "Loss and F1 per epoch on the training and validation data; the dotted line is "
                           "the epoch whose weights were kept.",
}


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _html_table(headers, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _md_table(headers, rows):
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _group_rows(metrics):
    groups = metrics.get("groups") or {}
    return [
        [g, groups[g]["n_labels"], groups[g]["micro_f1"], groups[g]["macro_f1"]]
        for g in ("head", "medium", "tail") if g in groups
    ]


def write_report(directory, *, y_true, y_pred, scores, label_names, train_counts=None, thresholds=None,
                 history=None, title="kmlc evaluation report", group_cutoffs=(35, 8), metrics=None):
    """Writes the report directory; returns its path.

    Args:
        y_true, y_pred: {0, 1} arrays [N, C]; scores: probabilities [N, C].
        label_names: C names; train_counts: training examples per label (None: the support
            in y_true is used, and the plots say so).
        thresholds: a ThresholdPolicy, an array of C thresholds, or None.
        history: a Keras history dict, for the training curves.
        metrics: an `evaluate()` result to reuse (computed when None).
    """
    from kmlc.evaluation import evaluate, label_groups, per_label_table
    from kmlc.io import atomic_directory, write_json

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    scores = np.asarray(scores, dtype=np.float64)
    if y_true.ndim != 2 or y_true.shape[0] == 0:
        raise KmlcInputError(
            f"Expected at least one labelled example for a report, Received: y_true of shape {y_true.shape}."
        )
    if y_pred.shape != y_true.shape or scores.shape != y_true.shape or len(label_names) != y_true.shape[1]:
        raise KmlcInputError(
            f"Expected y_true, y_pred, scores and label_names to agree, Received: shapes {y_true.shape}, "
            f"{y_pred.shape}, {scores.shape} and {len(label_names)} names."
        )
    from_training = train_counts is not None
    counts = np.asarray(train_counts if from_training else y_true.sum(axis=0), dtype=np.int64)
    if thresholds is not None and hasattr(thresholds, "thresholds"):
        thresholds = thresholds.thresholds
    thresholds = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if metrics is None:
        metrics = evaluate(y_true, y_pred, scores, label_names=list(label_names), train_counts=counts,
                           group_cutoffs=group_cutoffs)
    table = per_label_table(y_true, y_pred, label_names=list(label_names), train_counts=counts,
                            thresholds=thresholds, group_cutoffs=group_cutoffs)
    groups = label_groups(counts, cutoffs=group_cutoffs)

    with atomic_directory(directory) as tmp:
        write_json(tmp / "metrics.json", metrics)
        table.to_csv(tmp / "per_label.csv", index=False)
        plot_label_frequency(tmp / "label_frequency.png", counts, groups, group_cutoffs, from_training)
        plot_threshold_curves(tmp / "threshold_curves.png", y_true, scores, thresholds)
        plot_f1_by_group(tmp / "f1_by_group.png", metrics)
        plot_f1_vs_frequency(tmp / "f1_vs_frequency.png", table)
        plot_cooccurrence(tmp / "cooccurrence.png", y_true, list(label_names))
        plots = list(CAPTIONS)[:5]
        if history:
            plot_training_curves(tmp / "training_curves.png", history)
            plots.append("training_curves.png")
        _write_pages(tmp, title, metrics, table, plots)
    return Path(directory)


def _write_pages(directory, title, metrics, table, plots):
    headline = [[label, metrics[key]] for key, label in HEADLINE if key in metrics]
    headline.insert(0, ["examples", metrics.get("n_examples")])
    headline.insert(1, ["labels predicted (F1 > 0)", f"{metrics.get('n_labels_predicted')} / {metrics.get('n_labels')}"])
    zero = (metrics.get("groups") or {}).get("zero", {}).get("labels", [])
    unseen = metrics.get("unseen_labels") or {}
    per_label_headers = list(table.columns)
    per_label_rows = table.astype(object).where(table.notna(), "").values.tolist()

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "font-size:13px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
        "figure{margin:1.5em 0}figcaption{color:#555;font-size:14px}img{max-width:100%}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Headline metrics</h2>", _html_table(["metric", "value"], headline),
        "<h2>Label groups</h2>", _html_table(["group", "labels", "micro-F1", "macro-F1"], _group_rows(metrics)),
        f"<p><b>Labels with F1 = 0</b> ({len(zero)}): {html.escape(', '.join(map(str, zero))) or 'none'}</p>",
    ]
    if unseen:
        parts.append(
            "<p><b>Labels never seen in training</b> (counted as missed positives): "
            + html.escape(", ".join(f"{k} ({v})" for k, v in unseen.items())) + "</p>"
        )
    md = [f"# {title}", "", "## Headline metrics", "", _md_table(["metric", "value"], headline), "",
          "## Label groups", "", _md_table(["group", "labels", "micro-F1", "macro-F1"], _group_rows(metrics)), "",
          f"Labels with F1 = 0 ({len(zero)}): {', '.join(map(str, zero)) or 'none'}", ""]
    if unseen:
        md += [f"Labels never seen in training: {', '.join(f'{k} ({v})' for k, v in unseen.items())}", ""]
    parts.append("<h2>Plots</h2>")
    md += ["## Plots", ""]
    for name in plots:
        data = base64.b64encode((directory / name).read_bytes()).decode("ascii")
        parts.append(f"<figure><img alt='{name}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(CAPTIONS[name])}</figcaption></figure>")
        md += [f"![{name}]({name})", "", CAPTIONS[name], ""]
    parts += ["<h2>Per label</h2>", _html_table(per_label_headers, per_label_rows), "</body></html>"]
    md += ["## Per label", "", _md_table(per_label_headers, per_label_rows), ""]
    (directory / "report.html").write_text("\n".join(parts), encoding="utf-8")
    (directory / "report.md").write_text("\n".join(md), encoding="utf-8")
