"""Line plots of a metric against a condition or a hyper-parameter, one line per method, and bars
of a metric per method (the comparison at a glance).

``x`` is a condition (``missing_rate``, ``subsample``) or a method hyper-parameter name (e.g.
``lam``). Each line is a method variant; the band is ± one standard deviation over seeds. One panel
per dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mvbench.record.schema import PARAM_PREFIX

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CONDITIONS = ("missing_rate", "subsample")


def curve_frame(frame: pd.DataFrame, x: str, metric: str) -> pd.DataFrame:
    """Rows (dataset, line, x, mean, std, n) for the plot."""
    column = f"{PARAM_PREFIX}condition.{x}" if x in CONDITIONS else f"{PARAM_PREFIX}method.{x}"
    if column not in frame.columns or metric not in frame.columns:
        raise ValueError(
            f"no runs record {x!r} and {metric!r}: plot a condition ({', '.join(CONDITIONS)}) "
            f"or a hyper-parameter swept in this experiment"
        )
    data = frame.dropna(subset=[column]).copy()
    data["x"] = pd.to_numeric(data[column], errors="coerce")
    data = data.dropna(subset=["x"])
    if x in CONDITIONS:
        data["line"] = data["method"]
    else:  # a line per method and setting of its other hyper-parameters (and condition)
        others = sorted(c for c in data.columns if c.startswith(f"{PARAM_PREFIX}method.") and c != column)
        data["line"] = [
            "|".join(map(str, row))
            for row in data[[f"{PARAM_PREFIX}method", *others, "condition"]].itertuples(index=False)
        ]
        labels = {}
        for line, part in data.groupby("line"):
            fixed = [
                f"{c.split('.', 1)[1]}={part[c].iloc[0]}"
                for c in others
                if part[c].nunique() == 1
                and frame.loc[frame[f"{PARAM_PREFIX}method"] == part[f"{PARAM_PREFIX}method"].iloc[0], c].nunique() > 1
            ]
            labels[line] = (
                part[f"{PARAM_PREFIX}method"].iloc[0]
                + (f" ({', '.join(fixed)})" if fixed else "")
                + (f" [{part['condition'].iloc[0]}]" if data["condition"].nunique() > 1 else "")
            )
        data["line"] = data["line"].map(labels)
    grouped = data.groupby(["dataset", "line", "x"])[metric]
    out = grouped.agg(["mean", "std", "size"]).reset_index().rename(columns={"size": "n"})
    keep = out.groupby(["dataset", "line"])["x"].transform("nunique") > 1
    return out[keep]


def plot_axes(frame: pd.DataFrame, metric: str) -> list[str]:
    """The axes worth a plot in ``frame``: conditions, then swept hyper-parameters (a sweep names its
    values in the method labels), along which some method has finished runs at two or more values
    (e.g. ``missing_rate``, ``lam``)."""
    labels = " ".join(map(str, frame["method"].unique())) if "method" in frame else ""
    swept = sorted(
        c.split(".", 1)[1]
        for c in frame.columns
        if c.startswith(f"{PARAM_PREFIX}method.") and f"{c.split('.', 1)[1]}=" in labels
    )
    axes = []
    for x in [c for c in CONDITIONS if f"{PARAM_PREFIX}condition.{c}" in frame.columns] + swept:
        try:
            if not curve_frame(frame, x, metric).empty:
                axes.append(x)
        except ValueError:  # e.g. the metric was never logged
            pass
    return axes


def figure(frame: pd.DataFrame, x: str, metric: str) -> Figure:
    """``metric`` against ``x``: one panel per dataset, one line per method, ± one std band."""
    from matplotlib.figure import Figure

    curves = curve_frame(frame, x, metric)
    if curves.empty:
        raise ValueError(f"nothing to plot: no method has finished runs at two or more values of {x!r}")
    datasets = list(dict.fromkeys(curves["dataset"]))
    fig = Figure(figsize=(5.2 * len(datasets), 4.2))
    axes = fig.subplots(1, len(datasets), squeeze=False, sharey=True)
    xlabel = {
        "missing_rate": "missing rate (fraction of samples missing a view)",
        "subsample": "subsample (fraction or count per class)",
    }.get(x, x)
    for ax, dataset in zip(axes[0], datasets):
        part = curves[curves["dataset"] == dataset]
        for line, pts in part.groupby("line", sort=False):
            pts = pts.sort_values("x")
            std = np.nan_to_num(pts["std"].to_numpy())
            ax.plot(pts["x"], pts["mean"], marker="o", label=line)
            ax.fill_between(pts["x"], pts["mean"] - std, pts["mean"] + std, alpha=0.15)
        positive = part.loc[part["x"] > 0, "x"]
        if len(positive) and positive.max() / positive.min() >= 100:  # e.g. 0, 0.01, 0.1, 1: log-like axis
            ax.set_xscale("symlog", linthresh=positive.min())
        ax.set_title(dataset)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"{metric.upper()} (mean ± std over seeds)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    ncol = min(len(labels), 2 * len(datasets))  # about two legend entries fit under each panel
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.02 + 0.055 * rows, 1, 1))
    return fig


def bars(agg: pd.DataFrame, metric: str) -> Figure:
    """``metric`` of each method as horizontal bars (± one std), in the table's row order, one panel
    per dataset and one bar per condition; ``agg`` is :func:`mvbench.report.tables.aggregate`'s table."""
    from matplotlib.figure import Figure

    from mvbench.record.schema import direction

    datasets, conditions = list(dict.fromkeys(agg["dataset"])), list(dict.fromkeys(agg["condition"]))
    methods = list(dict.fromkeys(agg["method"]))
    height = 0.8 / len(conditions)
    fig = Figure(figsize=(4.2 * len(datasets) + 1.5, 0.9 + 0.22 * len(methods) * max(1.5, len(conditions))))
    axes = fig.subplots(1, len(datasets), squeeze=False, sharey=True)[0]
    for ax, dataset in zip(axes, datasets):
        for i, condition in enumerate(conditions):
            part = agg[(agg["dataset"] == dataset) & (agg["condition"] == condition)].set_index("method")
            part = part.reindex(methods)
            ax.barh(
                np.arange(len(methods)) + (i - (len(conditions) - 1) / 2) * height,
                part[f"{metric}_mean"],
                height=height,
                xerr=np.nan_to_num(part[f"{metric}_std"].to_numpy()),
                label=condition,
                capsize=2,
                error_kw={"elinewidth": 0.8},
            )
        ax.set_title(dataset)
        ax.set_xlabel(
            f"{metric.upper()}"
            + {"higher": " (higher is better)", "lower": " (lower is better)"}.get(direction(metric) or "", "")
        )
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(methods)), methods)
    axes[0].invert_yaxis()  # the table's first row on top
    if len(conditions) > 1:
        fig.legend(
            *axes[0].get_legend_handles_labels(),
            loc="lower center",
            ncol=min(len(conditions), 6),
            frameon=False,
            fontsize=9,
        )
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    else:
        fig.tight_layout()
    return fig


def plot(frame: pd.DataFrame, x: str, metric: str, path: str | Path) -> Path:
    """Draw ``metric`` against ``x`` and save it as a PNG at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure(frame, x, metric).savefig(path, dpi=120, bbox_inches="tight")  # never clip a long legend entry
    return path
