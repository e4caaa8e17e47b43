"""The evaluation report: a Markdown page with the table, a precision-recall plot and
grids of example queries with their top hits, failures first (matplotlib, Agg)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from selfsim.data.reader import read_image
from selfsim.errors import ImageReadError
from selfsim.eval.labeled import LabeledEvaluation
from selfsim.eval.metrics import precision_recall
from selfsim.eval.rankings import Ranking
from selfsim.eval.unlabeled import CopyEvaluation, MethodResult, top_predictions

#: Queries shown per grid, and hits per query.
GRID_ROWS = 16
GRID_HITS = 3
THUMB = 160


def copy_table(evaluation: CopyEvaluation) -> str:
    """The Markdown table the CLI prints and the report holds."""
    lines = ["| method | micro-AP | recall@1 | recall@P90 | score at P90 | recall@P99 | score at P99 | time | thresholds for |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in evaluation.rows:
        m = r.metrics
        lines.append(f"| {r.name} | {m.micro_ap:.3f} | {m.recall_at_1:.3f} | {m.recall_at_p90:.3f} | "
                     f"{_threshold(m.threshold_at_p90)} | {m.recall_at_p99:.3f} | {_threshold(m.threshold_at_p99)} | "
                     f"{r.seconds:.1f} s | {r.use} |")
    return "\n".join(lines)


def per_edit_table(evaluation: CopyEvaluation) -> str:
    rows = evaluation.rows
    edits = sorted({e for r in rows for e in r.per_edit})
    counts = _edit_counts(evaluation)
    lines = ["| edit | n | " + " | ".join(r.name for r in rows) + " |", "|---|---:|" + "---:|" * len(rows)]
    for e in edits:
        lines.append(f"| {e} | {counts.get(e, 0)} | " + " | ".join(f"{r.per_edit.get(e, 0):.2f}" for r in rows) + " |")
    return "\n".join(lines)


def labeled_table(evaluation: LabeledEvaluation) -> str:
    if not evaluation.rows:
        return ""
    first = evaluation.rows[0].metrics
    ks = sorted(first.recall_at)
    head = ["method", "mAP", "mAP@R", *(f"recall@{k}" for k in ks), *(f"precision@{k}" for k in ks),
            f"{first.knn}-NN accuracy", "time"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in evaluation.rows:
        m = r.metrics
        cells = [f"{m.map:.3f}", f"{m.map_at_r:.3f}", *(f"{m.recall_at[k]:.3f}" for k in ks),
                 *(f"{m.precision_at[k]:.3f}" for k in ks), f"{m.knn_accuracy:.3f}", f"{r.seconds:.1f} s"]
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_copy_report(evaluation: CopyEvaluation, out: str | os.PathLike[str]) -> Path:
    """Write ``out/report.md``, ``out/precision-recall.png`` and one grid per selfsim
    method (``out/examples-N.png``); returns the Markdown file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cs = evaluation.copy_set
    n_dis = len(cs.truth) - cs.n_positives
    parts = [
        "# selfsim eval: finding edited copies\n",
        f"{len(cs.refs)} reference pictures indexed, {len(cs.queries)} edited copies as queries "
        f"({n_dis} of them copies of held-out pictures, which have no right answer). "
        f"Set: `{cs.root}`.\n",
        "Each query's top hit counts. **micro-AP**: average precision over all queries' top hits "
        "sorted by score; **recall@P90 / P99**: the share of copies found by one score threshold "
        "that keeps precision at 90 % / 99 %; **score at P90 / P99**: that threshold, for the "
        "command in the last column.\n",
        copy_table(evaluation) + "\n",
        "## Recall@1 per edit\n",
        per_edit_table(evaluation) + "\n",
        "## Precision and recall\n",
        f"![precision-recall]({_plot_pr(evaluation.rows, cs.truth, cs.n_positives, out / 'precision-recall.png').name})\n",
        "## Examples, failures first\n",
        "Each row: the query, then its top hits with their scores. Green: the query's original; "
        "red: another picture. A row marked 'no original' is a copy of a held-out picture: "
        "any hit above the threshold is a false alarm. Missed copies come first, then "
        "false alarms, then the weakest correct answers.\n",
    ]
    n = 0
    for row in evaluation.rows:
        if row.family in ("phash", "orb"):
            continue
        path = out / f"examples-{n}.png"
        _plot_examples(row, evaluation, path)
        parts.append(f"### {row.name}\n\n![examples]({path.name})\n")
        n += 1
    report = out / "report.md"
    report.write_text("\n".join(parts), encoding="utf-8")
    return report


def write_labeled_report(evaluation: LabeledEvaluation, out: str | os.PathLike[str]) -> Path:
    """Write ``out/report.md`` and ``out/recall-at-k.png``; returns the Markdown file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in evaluation.rows:
        ks = sorted(r.metrics.recall_at)
        ax.plot(ks, [r.metrics.recall_at[k] for k in ks], marker="o", label=r.name)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k (a picture of the same class in the first k)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "recall-at-k.png", dpi=110)
    plt.close(fig)
    report = out / "report.md"
    report.write_text("\n".join([
        "# selfsim eval: retrieval by class\n",
        f"{evaluation.n_pictures} labelled pictures in {evaluation.n_classes} classes; each queries all the others.\n",
        labeled_table(evaluation) + "\n",
        "![recall at k](recall-at-k.png)\n",
    ]), encoding="utf-8")
    return report


def failures_first(row: MethodResult, truth: dict[str, str | None], threshold: float | None) -> list[Ranking]:
    """The row's queries ordered for a reader: missed copies (wrong top hit, highest
    score first), false alarms (copies of held-out pictures, highest first), then the
    correct answers, weakest first."""
    def key(r: Ranking) -> tuple[int, float]:
        ref, top = truth[r.query], r.top
        score = top[1] if top else -np.inf
        if ref is not None and (top is None or top[0] != ref):
            return 0, -score
        if ref is None:
            return (1 if threshold is None or score >= threshold else 3), -score
        return 2, score
    return sorted(row.rankings, key=key)


def _plot_pr(rows: Sequence[MethodResult], truth: dict[str, str | None], n_positives: int, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for r in rows:
        preds = top_predictions(r.rankings, truth)
        if not preds:
            continue
        precision, recall, _ = precision_recall(preds, n_positives)
        ax.plot(recall, precision, label=f"{r.name} (AP {r.metrics.micro_ap:.3f})")
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.axhline(0.99, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("recall (copies found)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_examples(row: MethodResult, evaluation: CopyEvaluation, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cs = evaluation.copy_set
    shown = failures_first(row, cs.truth, row.metrics.threshold_at_p90)[:GRID_ROWS]
    cols = 1 + GRID_HITS
    height = len(shown) * 1.7 + 0.5
    fig, axes = plt.subplots(len(shown), cols, figsize=(cols * 1.9, height), squeeze=False)
    for i, r in enumerate(shown):
        ref = cs.truth[r.query]
        ax = axes[i][0]
        ax.imshow(_thumb(cs.root / "queries" / r.query))
        ax.set_title(f"{r.query}\n{cs.edits[r.query]}" + ("" if ref else " (no original)"), fontsize=6)
        for j in range(GRID_HITS):
            ax = axes[i][1 + j]
            if j < len(r.hits):
                name, score = r.hits[j]
                ok = name == ref
                ax.imshow(_thumb(cs.root / "refs" / name))
                ax.set_title(f"{name}  {score:.3f}", fontsize=6, color="green" if ok else "red")
                for side in ax.spines.values():
                    side.set_edgecolor("green" if ok else "red")
                    side.set_linewidth(3)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i][0].set_xticks([])
        axes[i][0].set_yticks([])
    fig.suptitle(row.name, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / height))  # room for the title
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _thumb(path: Path) -> np.ndarray:
    try:
        img = read_image(path, min_side=THUMB)
    except ImageReadError:
        return np.full((THUMB, THUMB, 3), 200, np.uint8)
    img.thumbnail((THUMB, THUMB))
    return np.asarray(img)


def _threshold(t: float | None) -> str:
    return "-" if t is None else f"{t:.3f}"


def _edit_counts(evaluation: CopyEvaluation) -> dict[str, int]:
    cs = evaluation.copy_set
    counts: dict[str, int] = {}
    for q, ref in cs.truth.items():
        if ref is not None:
            kind = "chain" if "+" in cs.edits[q] else cs.edits[q]
            counts[kind] = counts.get(kind, 0) + 1
    return counts
