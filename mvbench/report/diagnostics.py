"""Degenerate partitions, flagged from the per-cell metrics every run logs.

A cell is degenerate when its method used fewer than half of the K clusters, or put more than
twice the largest class's share of the samples into one cluster (``ONE_BIG_FACTOR``; e.g. > 20 % on
ten balanced classes, > 50 % on four: a run that keeps every cluster but pours three classes into
one is caught). A method × dataset × condition group is flagged when most of its seeds are degenerate.
Convergence is what the method reports in ``FitResult.info`` (``iterations``, ``max_iterations``,
``converged``), where it iterates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP = ["condition", "dataset", "group", "method"]
SHAPE = ("clusters_used", "largest_cluster_share", "largest_class_share", "n_clusters")
DEGENERATE_MARK = "†"
ONE_BIG_FACTOR = 2.0  # largest cluster over this times the largest class's share: degenerate


def degenerate_cells(frame: pd.DataFrame) -> pd.Series:
    """Per run (row of :func:`mvbench.report.tables.runs_frame`): is its partition degenerate?"""
    if not set(SHAPE) <= set(frame.columns):
        return pd.Series(False, index=frame.index)
    too_few = frame["clusters_used"] < frame["n_clusters"] / 2
    one_big = frame["largest_cluster_share"] > ONE_BIG_FACTOR * frame["largest_class_share"]
    return too_few | one_big


def diagnostics(frame: pd.DataFrame) -> pd.DataFrame:
    """Per group: seeds, K, mean clusters used, mean largest-cluster share, the largest class's share,
    degenerate seeds, convergence (converged cells / cells reporting it, mean iterations / cap)."""
    if frame.empty:
        return pd.DataFrame(columns=[*GROUP, "n", "degenerate"])
    frame = frame.assign(
        group=frame["group"].fillna("") if "group" in frame else "", _degenerate=degenerate_cells(frame)
    )
    for column in (*SHAPE, "converged", "iterations", "max_iterations"):
        if column not in frame:
            frame[column] = np.nan
    grouped = frame.groupby(GROUP, sort=False)
    out = pd.DataFrame(
        {
            "n": grouped.size(),
            "K": grouped["n_clusters"].max(),
            "clusters_used": grouped["clusters_used"].mean(),
            "largest_share": grouped["largest_cluster_share"].mean(),
            "class_share": grouped["largest_class_share"].max(),
            "degenerate_seeds": grouped["_degenerate"].sum(),
            "converged": grouped["converged"].sum(),
            "reports_convergence": grouped["converged"].count(),
            "iterations": grouped["iterations"].mean(),
            "max_iterations": grouped["max_iterations"].max(),
        }
    ).reset_index()
    out["degenerate"] = out["degenerate_seeds"] > out["n"] / 2
    return out


def degenerate_groups(frame: pd.DataFrame) -> set[tuple[str, str, str, str]]:
    """The (condition, dataset, group, method) groups flagged degenerate."""
    table = diagnostics(frame)
    return {tuple(row) for row in table.loc[table["degenerate"], GROUP].itertuples(index=False)}


def render_diagnostics(table: pd.DataFrame, fmt: str = "table") -> str:
    """The diagnostics, one line per group, as a plain-text table or in ``fmt`` (markdown, csv, latex)."""
    if table.empty:
        return "no finished runs to diagnose"
    shown = pd.DataFrame(
        {
            "condition": table["condition"],
            "dataset": table["dataset"],
            "method": table["method"],
            "n": table["n"],
            "K": table["K"].map("{:.0f}".format),
            "clusters used": table["clusters_used"].map("{:.1f}".format),
            "largest cluster": table["largest_share"].map("{:.2f}".format),
            "largest class": table["class_share"].map("{:.2f}".format),
            "converged": [
                f"{int(c)}/{int(r)}" if r else "–" for c, r in zip(table["converged"], table["reports_convergence"])
            ],
            "iterations/cap": [
                f"{i:.0f}/{m:.0f}" if not (np.isnan(i) or np.isnan(m)) else "–"
                for i, m in zip(table["iterations"], table["max_iterations"])
            ],
            "flag": [
                f"{DEGENERATE_MARK} degenerate ({int(d)}/{n} seeds)" if flag else ""
                for flag, d, n in zip(table["degenerate"], table["degenerate_seeds"], table["n"])
            ],
        }
    )
    if fmt == "csv":
        return shown.to_csv(index=False)
    if fmt == "markdown":
        lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in shown.itertuples(index=False)]
        return "**Diagnostics**\n\n" + "\n".join(lines)
    if fmt == "latex":
        lines = [f"% diagnostics\n\\begin{{tabular}}{{{'l' * len(shown.columns)}}}\n\\toprule"]
        lines.append(" & ".join(shown.columns) + r" \\ \midrule")
        lines += [" & ".join(map(str, row)).replace("_", r"\_") + r" \\" for row in shown.itertuples(index=False)]
        return "\n".join([*lines, "\\bottomrule\n\\end{tabular}"])
    return shown.to_string(index=False)
