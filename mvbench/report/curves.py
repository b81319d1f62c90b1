"""Training curves: the per-epoch losses and ACC/NMI of one run of each (dataset, method) pair.

The runner logs a method's ``history`` as ``train/<term>`` metrics and the ACC/NMI of its
``label_history`` as ``train/acc`` and ``train/nmi``, each at the step of its epoch
(:func:`mvbench.run.cell.training_curves`). Runs logged before the label curves carried their epochs
start them at step 0; they are moved here by the same rule
(:func:`mvbench.record.schema.label_history_start`).

The run shown for a pair is its first repetition under the first condition (complete data first),
so the curves of different methods come from comparable cells. ACC/NMI are read against the labels
after the fit: they show what a best-epoch selection would see, never what the method saw.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mvbench.record.schema import CURVE_PREFIX, label_history_start

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from mvbench.record.tracking import Tracker

#: Curves drawn on the score axis (0 to 1); every other ``train/`` term goes on the loss axis, except
#: bookkeeping terms and view weights (``weight_<v>``).
SCORES = ("acc", "nmi")
BOOKKEEPING = ("epoch_seconds", "readout_seconds", "stage", "lr")
#: At most this many panels (pairs) in one figure; the rest are named in the caption.
MAX_PANELS = 12


@dataclass
class RunCurves:
    """The curves of one run: per-epoch loss terms, and ACC/NMI with the epoch each value belongs to."""

    method: str
    dataset: str
    condition: str
    repetition: int
    losses: dict[str, tuple[list[int], list[float]]]  # term -> (epochs, values)
    scores: dict[str, tuple[list[int], list[float]]]


def chosen_runs(frame: pd.DataFrame, runs_by_key: dict[str, Any]) -> list[tuple[pd.Series, Any]]:
    """(row, run) of one finished run with curves per (dataset, method) of a runs frame
    (:func:`mvbench.report.tables.runs_frame`, so a cell re-run after a code change counts with its
    latest run): first condition (``complete`` first), then lowest repetition; in the order the pairs
    were first run. ``runs_by_key``: the store's runs by cell key (:meth:`Tracker.latest_by_key`)."""
    columns = [c for c in frame.columns if c.startswith(CURVE_PREFIX)]
    if frame.empty or not columns:
        return []
    with_curves = frame[frame[columns].notna().any(axis=1)].sort_values("start", kind="stable")
    pairs = ["dataset", "method"]
    ranked = with_curves.assign(_later=with_curves["condition"] != "complete").sort_values(
        ["_later", "condition", "repetition"], kind="stable"
    )
    best = {(row["dataset"], row["method"]): row for _, row in ranked.drop_duplicates(pairs).iterrows()}
    order = with_curves.drop_duplicates(pairs)[pairs].itertuples(index=False)
    chosen = [best[tuple(pair)] for pair in order]
    return [(row, runs_by_key[row["key"]]) for row in chosen]


def run_curves(tracker: Tracker, row: pd.Series, run: Any) -> RunCurves:
    """The logged curves of ``run`` (its runs-frame ``row`` names it), read from the store's metric
    histories (step = epoch)."""
    losses: dict[str, tuple[list[int], list[float]]] = {}
    scores: dict[str, tuple[list[int], list[float]]] = {}
    for name in sorted(run.data.metrics):
        term = name.removeprefix(CURVE_PREFIX)
        if not name.startswith(CURVE_PREFIX) or term in BOOKKEEPING or term.startswith("weight_"):
            continue
        history = sorted(tracker.client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)
        points = ([int(m.step) for m in history], [float(m.value) for m in history])
        (scores if term in SCORES else losses)[term] = points
    n_epochs = max((steps[-1] + 1 for steps, _ in losses.values()), default=0)
    first = run.data.metrics.get("label_history_first_epoch")
    for term, (steps, values) in scores.items():
        start = label_history_start(first, n_epochs, len(values))
        if steps[0] == 0 and start > 0:  # logged before the label curves carried their epochs
            scores[term] = ([step + start for step in steps], values)
    return RunCurves(
        str(row["method"]), str(row["dataset"]), str(row["condition"]), int(row["repetition"]), losses, scores
    )


def curves_figure(curves: list[RunCurves]) -> Figure:
    """One panel per run: loss terms against the epoch (left axis, log scale when they span over a
    hundredfold), ACC/NMI dashed on the right axis (0 to 1)."""
    from matplotlib.figure import Figure

    shown = curves[:MAX_PANELS]
    ncols = min(3, len(shown))
    nrows = -(-len(shown) // ncols)
    fig = Figure(figsize=(5.0 * ncols, 3.6 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[len(shown) :]:
        ax.set_visible(False)
    for ax, run in zip(axes.flat, shown):
        for term, (epochs, values) in run.losses.items():
            ax.plot(epochs, values, label=term, linewidth=1.2)
        every = [v for _, values in run.losses.values() for v in values]
        if every and min(every) > 0 and max(every) / min(every) > 100:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        title = f"{run.method} · {run.dataset} · {run.condition} · rep {run.repetition}"
        ax.set_title("\n".join(textwrap.wrap(title, 48)), fontsize=8)
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if run.scores:
            twin = ax.twinx()
            for term, (epochs, values) in run.scores.items():
                twin.plot(epochs, values, linestyle="--", linewidth=1.2, label=f"{term.upper()} [uses labels]")
            twin.set_ylim(0, 1)
            twin.set_ylabel("ACC / NMI")
            more_handles, more_labels = twin.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        if handles:
            ax.legend(handles, labels, fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def curves_caption(curves: list[RunCurves]) -> str:
    """The figure's caption, naming the runs left out beyond :data:`MAX_PANELS`."""
    caption = (
        "Training curves of one run per method and dataset (the first repetition under the first "
        "condition): loss terms per epoch (solid, left axis) and, dashed on the right axis, ACC/NMI of "
        "each epoch's labels, scored against the labels after the fit (what a best-epoch selection "
        "would see; the methods never see labels)."
    )
    left_out = curves[MAX_PANELS:]
    if left_out:
        caption += " Not shown: " + ", ".join(f"{c.method} · {c.dataset}" for c in left_out) + "."
    return caption
