"""Comparison tables rebuilt from MLflow alone: mean ± std over seeds, best in bold.

Rows are methods (in the order they were first run), columns are dataset x metric, one table per
condition. The latest finished run of each cell counts; failed and skipped cells are left out and
the number of seeds behind each mean is kept (column ``n``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mvbench.record.schema import (
    CURVE_PREFIX,
    DEFAULT_METRICS,
    DONE,
    FORMATS,
    PARAM_PREFIX,
    RUN_COLUMNS,
    cell_status,
    direction,
    read_cell,
)
from mvbench.record.tracking import Tracker
from mvbench.report.diagnostics import DEGENERATE_MARK, GROUP, degenerate_groups


def runs_frame(tracker: Tracker, keys: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per cell (its latest run), finished cells only.

    A cell's key includes its method's code identity, so after a method changed and re-ran, the store
    holds the cell twice; only the later run counts (the same method, dataset, condition and
    parameters), so old and new code are never averaged together. ``frame.attrs["superseded"]`` says
    how many runs were left out that way."""
    wanted = set(keys) if keys is not None else None
    rows = []
    for key, run in tracker.latest_by_key().items():
        if cell_status(run) == DONE and (wanted is None or key in wanted):
            rows.append(read_cell(run))
    return latest_runs(pd.DataFrame(rows))


def latest_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The latest run of each cell (same method, dataset, condition and settings, whatever its code
    identity); ``attrs["superseded"]`` counts the runs left out."""
    if frame.empty:
        return frame
    code = f"{PARAM_PREFIX}method_code"
    settings = sorted(c for c in frame.columns if c.startswith(PARAM_PREFIX) and c != code)
    same_cell = ["method", "dataset", "condition", *settings]
    latest = frame.sort_values("start", kind="stable").drop_duplicates(subset=same_cell, keep="last").sort_index()
    latest.attrs["superseded"] = len(frame) - len(latest)
    return latest.reset_index(drop=True)


#: The columns without which a CSV is not a runs record; the text columns among the run's description.
RECORD_COLUMNS = ("key", "method", "dataset", "condition", "start", "repetition")
TEXT_COLUMNS = tuple(c for c in RUN_COLUMNS if c not in ("start", "repetition"))


def records_frame(paths: Iterable[str | Path]) -> pd.DataFrame:
    """The runs of ``mvbench report --format runs`` files (:func:`runs_csv`) as one :func:`runs_frame`,
    so that a table can be rebuilt from the records alone, e.g. from files kept in a repository after
    the store is gone. Settings stay text, as the store keeps them; a cell recorded in several files
    counts once (its latest run, as in a store). Raises ``ValueError`` naming a file that is not a
    runs record."""
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, dtype=str)
        except pd.errors.EmptyDataError:
            continue  # runs_csv of an experiment with no finished cell
        missing = [c for c in RECORD_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{path} is not a runs record (no column {', '.join(missing)}): "
                f"write one with mvbench report --format runs"
            )
        text = [c for c in frame.columns if c in TEXT_COLUMNS or c.startswith(PARAM_PREFIX)]
        numbers = frame.drop(columns=text).apply(pd.to_numeric, errors="coerce")
        frame[numbers.columns] = numbers
        described = [c for c in TEXT_COLUMNS if c in frame]
        frame[described] = frame[described].fillna("")
        try:
            frames.append(frame.astype({"start": "int64", "repetition": "int64"}))
        except ValueError:
            raise ValueError(f"{path}: start and repetition must be whole numbers in every row") from None
    return latest_runs(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame()


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a runs frame that its runs measured: not what describes a run, its ``param:``
    settings or its per-epoch curves."""
    return [c for c in frame.columns if c not in RUN_COLUMNS and not c.startswith((PARAM_PREFIX, CURVE_PREFIX))]


def runs_csv(frame: pd.DataFrame, metrics: Iterable[str] | None = None) -> str:
    """The finished cells one row each (a :func:`runs_frame`), as CSV: what describes the run, its final
    metrics (``metrics``, or every logged one), then its ``param:`` settings; per-epoch curves stay in
    the store. A portable record of every number behind a table, e.g. to keep beside a paper or a
    benchmark's write-up."""
    if frame.empty:
        return ""
    described = [c for c in RUN_COLUMNS if c in frame.columns]
    settings = sorted(c for c in frame.columns if c.startswith(PARAM_PREFIX))
    order = [c for c in ("condition", "dataset", "method", "repetition") if c in frame.columns]
    chosen = metric_columns(frame) if metrics is None else [m for m in metrics if m in frame.columns]
    return frame[described + chosen + settings].sort_values(order, kind="stable").to_csv(index=False)


def aggregate(frame: pd.DataFrame, metrics: Iterable[str] = DEFAULT_METRICS) -> pd.DataFrame:
    """Long table: condition, dataset, group, method, n, <metric>_mean, <metric>_std.

    Methods keep the order in which they were first run (groups likewise)."""
    metrics = [m for m in metrics if m in frame.columns]
    if frame.empty or not metrics:
        return pd.DataFrame(columns=["condition", "dataset", "group", "method", "n"])
    frame = frame.assign(group=frame["group"].fillna("")) if "group" in frame else frame.assign(group="")
    first = frame.sort_values("start")
    group_order = {g: i for i, g in enumerate(first["group"].drop_duplicates())}
    method_order = {m: i for i, m in enumerate(first["method"].drop_duplicates())}
    grouped = frame.groupby(["condition", "dataset", "group", "method"], sort=False)
    out = grouped[metrics].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out.insert(0, "n", grouped.size())
    out = out.reset_index()
    flagged = degenerate_groups(frame)
    out["degenerate"] = [tuple(key) in flagged for key in out[GROUP].itertuples(index=False)]
    out["_g"], out["_m"] = out["group"].map(group_order), out["method"].map(method_order)
    return out.sort_values(["condition", "dataset", "_g", "_m"]).drop(columns=["_g", "_m"]).reset_index(drop=True)


def significance_text(table: pd.DataFrame, line: str) -> str:
    """The significance summary (from :func:`mvbench.report.significance.summary`) as plain text."""
    return (table.to_string(float_format=lambda v: f"{v:.3g}") + "\n" if not table.empty else "") + line


def _cell(mean: float, std: float, n: int) -> str:
    if np.isnan(mean):
        return "–"
    return f"{mean:.3f} ± {0.0 if np.isnan(std) else std:.3f}" if n > 1 else f"{mean:.3f}"


Row = list[tuple[str, bool]]


def _best(means: pd.Series, metric: str) -> float:
    """The best mean of a column by the metric's declared direction (NaN: no best to mark)."""
    better = direction(metric)
    return np.nan if better is None else (means.min() if better == "lower" else means.max())


def blocks(agg: pd.DataFrame, metrics: Iterable[str]) -> list[tuple[str, list[str], list[tuple[str, Row]]]]:
    """Per condition: (condition, column headers, [(group, row of (text, is_best))])."""
    metrics = [m for m in metrics if f"{m}_mean" in agg.columns]
    out = []
    for condition, part in agg.groupby("condition", sort=False):
        datasets = list(dict.fromkeys(part["dataset"]))
        part = part.assign(_g=part["group"].map({g: i for i, g in enumerate(dict.fromkeys(agg["group"]))}))
        methods = list(dict.fromkeys(part.sort_values("_g", kind="stable")["method"]))
        group_of = dict(zip(part["method"], part["group"]))
        headers = ["method"] + [f"{d} {m.upper()}" for d in datasets for m in metrics]
        best = {(d, m): _best(part.loc[part["dataset"] == d, f"{m}_mean"], m) for d in datasets for m in metrics}
        rows = []
        for method in methods:
            row = [(method, False)]
            for d in datasets:
                hit = part[(part["dataset"] == d) & (part["method"] == method)]
                for m in metrics:
                    if hit.empty:
                        row.append(("–", False))
                        continue
                    mean, std, n = hit[f"{m}_mean"].iloc[0], hit[f"{m}_std"].iloc[0], int(hit["n"].iloc[0])
                    text = _cell(mean, std, n) + (DEGENERATE_MARK if hit["degenerate"].iloc[0] else "")
                    row.append((text, bool(np.isclose(mean, best[(d, m)]) and len(methods) > 1)))
            rows.append((group_of[method], row))
        out.append((str(condition), headers, rows))
    return out


def render(agg: pd.DataFrame, fmt: str = "table", metrics: Iterable[str] = DEFAULT_METRICS, color: bool = False) -> str:
    """The aggregated results as text in ``fmt`` (table, csv, markdown or latex).

    In the plain ``table`` format, best entries are bold when ``color`` is on, else marked ``*``.
    """
    metrics = list(metrics)
    if fmt == "csv":
        return agg.to_csv(index=False, float_format="%.6g")
    if agg.empty:
        return "no finished runs to report"
    parts = []
    if "degenerate" in agg and agg["degenerate"].any():
        parts.append(f"{DEGENERATE_MARK} degenerate partition in most seeds (see mvbench report --diagnostics)\n")
    for condition, headers, rows in blocks(agg, metrics):
        if fmt == "markdown":
            parts.append(f"**{condition}**\n\n| " + " | ".join(headers) + " |\n|" + "---|" * len(headers))
            for group, row in with_group_headers(rows):
                if row is None:
                    parts.append(f"| *{group}* |" + " |" * (len(headers) - 1))
                else:
                    parts.append("| " + " | ".join(f"**{t}**" if b else t for t, b in row) + " |")
            parts.append("")
        elif fmt == "latex":
            parts.append(f"% {condition}\n\\begin{{tabular}}{{l{'c' * (len(headers) - 1)}}}\n\\toprule")
            parts.append(" & ".join(h.replace("_", r"\_") for h in headers) + r" \\ \midrule")
            for group, row in with_group_headers(rows):
                if row is None:
                    parts.append(rf"\multicolumn{{{len(headers)}}}{{l}}{{\textit{{{group}}}}} \\")
                    continue
                cells = [(t.replace("±", r"$\pm$").replace("_", r"\_"), b) for t, b in row]
                parts.append(" & ".join(rf"\textbf{{{t}}}" if b else t for t, b in cells) + r" \\")
            parts.append("\\bottomrule\n\\end{tabular}\n")
        elif fmt == "table":
            parts.append(_rich_table(condition, headers, rows, color))
        else:
            raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return "\n".join(parts)


def with_group_headers(rows: list[tuple[str, Row]]) -> list[tuple[str, Row | None]]:
    """Rows with a (group, None) header before each new non-empty group."""
    out: list[tuple[str, Row | None]] = []
    current = None
    for group, row in rows:
        if group and group != current:
            out.append((group, None))
        current = group
        out.append((group, row))
    return out


def _rich_table(condition: str, headers: list[str], rows: list[tuple[str, Row]], color: bool) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"condition: {condition}  (mean ± std over seeds; best {'in bold' if color else 'marked *'})")
    for h in headers:
        table.add_column(h, justify="left" if h == "method" else "right")
    for group, row in with_group_headers(rows):
        if row is None:
            table.add_section()
            table.add_row(f"[italic]{group}[/italic]" if color else f"-- {group} --", *[""] * (len(headers) - 1))
            continue
        table.add_row(*[(f"[bold]{t}[/bold]" if color else f"{t} *") if b else t for t, b in row])
    buf = io.StringIO()
    Console(file=buf, width=max(100, 18 * len(headers)), force_terminal=color).print(table)
    return buf.getvalue()
