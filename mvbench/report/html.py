"""The comparison report of an experiment as one self-contained HTML file, and the report bundle
attached to a grid run.

Everything is rebuilt from the tracking store with :mod:`mvbench.report.tables` (the same aggregation and
table blocks as the text formats): the paper-style table per condition (best in bold by each
metric's declared direction), a table per dataset with the quality and cost metrics, a plot along each
condition or swept hyper-parameter the runs vary, the significance summary, the cells left out,
the grid's settings and the versions behind the numbers. The template is
``mvbench/templates/report.html.j2``; plots are inline SVG and styles inline, so the file opens
offline and prints.
"""

from __future__ import annotations

import base64
import io
import itertools
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from mvbench.record.schema import (
    DEFAULT_METRICS,
    DONE,
    FAILED,
    PARAM_PREFIX,
    SKIPPED,
    cell_error,
    cell_status,
    direction,
    grid_command,
)
from mvbench.record.tracking import Tracker, first_line
from mvbench.report.tables import Row, aggregate, blocks, render, runs_frame, significance_text, with_group_headers

if TYPE_CHECKING:
    from matplotlib.figure import Figure


#: The columns of the per-dataset tables (besides the report's own metrics): quality and costs.
DATASET_METRICS = ("acc", "nmi", "ari", "purity", "fit_seconds", "peak_memory_mb")


@dataclass
class Table:
    """One table: a caption, its column headers, its rows ((group, None) rows head a group) and, for a
    table over several datasets, the (dataset, number of columns) spans above the metric headers."""

    caption: str
    headers: list[str]
    rows: list[tuple[str, Row | None]]
    spans: list[tuple[str, int]] | None = None

    @classmethod
    def over_datasets(cls, caption: str, headers: list[str], rows: list[tuple[str, Row]]) -> Table:
        """From a :func:`mvbench.report.tables.blocks` block, whose headers read ``<dataset> <METRIC>``."""
        split = [h.rsplit(" ", 1) for h in headers[1:]]
        spans = [(dataset, len(list(cols))) for dataset, cols in itertools.groupby(d for d, _ in split)]
        return cls(caption, headers[:1] + [m for _, m in split], with_group_headers(rows), spans)


@dataclass
class Plot:
    name: str  # its file name, without .png
    caption: str
    figure: Figure


@dataclass
class Section:
    """An optional part of a report: a titled table with notes (published figures, a selection track)."""

    id: str
    title: str
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    rendered: dict[str, str] = field(default_factory=dict)  # text by format, for the text reports

    def text(self, fmt: str) -> str:
        return self.rendered.get(fmt) or self.rendered["table"]

    @classmethod
    def of_comparison(cls, comparison: Any) -> Section:
        from mvbench.report.reported import render_comparison

        notes = [f"{entry} — vs {cells}: {why}" for entry, cells, why in comparison.not_matched]
        if comparison.other_rates or comparison.unrelated:
            notes.append(
                f"{comparison.other_rates} registry entries of these methods and datasets are at rates or "
                f"settings these cells did not run; "
                f"{comparison.unrelated} concern methods or datasets not in this experiment."
            )
        return cls(
            "reported",
            "Reported figures beside reproduced ones (same protocol only; gap = reproduced − reported)",
            comparison.table,
            notes,
            {f: render_comparison(comparison, f) for f in (*FORMATS_TEXT,)},
        )

    @classmethod
    def of_selection(cls, table: pd.DataFrame, rule: str) -> Section:
        from mvbench.report.selection import USES_LABELS, render_selection

        flag = "uses the labels to choose" if rule in USES_LABELS else "label-free choice"
        return cls(
            f"select-{rule}",
            f"Selection rule {rule} ({flag}); columns marked [uses labels] read the labels",
            table,
            [],
            {f: render_selection(table, rule, f) for f in FORMATS_TEXT},
        )


FORMATS_TEXT = ("table", "csv", "markdown", "latex")


@dataclass
class Report:
    """The content of a report, independent of its format."""

    experiment: str
    metrics: list[str]
    agg: pd.DataFrame
    paper: list[Table]  # one per condition: methods x (dataset, metric)
    per_dataset: list[tuple[str, list[Table]]]  # per dataset, one per condition: methods x quality, costs
    plots: list[Plot]
    significance: tuple[pd.DataFrame, str] | None
    counts: dict[str, int]  # cells by status (done, failed, skipped, missing)
    left_out: list[tuple[str, str, str]]  # (run name, status, error) of cells not in the tables
    settings: dict[str, Any]
    versions: list[str]
    method_settings: list[tuple[str, str, str]]  # (method, code identity, hyper-parameters)
    sections: list[Section] = field(default_factory=list)  # optional parts: published figures, selection

    @property
    def n_seeds(self) -> str:
        """How many seeds stand behind each mean, e.g. ``5`` or ``3–5``."""
        if self.agg.empty:
            return "0"
        lo, hi = int(self.agg["n"].min()), int(self.agg["n"].max())
        return str(lo) if lo == hi else f"{lo}–{hi}"


def collect(tracker: Tracker, metrics: Iterable[str] = DEFAULT_METRICS, keys: Iterable[str] | None = None) -> Report:
    """Gather a report on the cells ``keys`` (default: every cell of the experiment)."""
    from mvbench.report.curves import chosen_runs, curves_caption, curves_figure, run_curves
    from mvbench.report.plots import bars, figure, plot_axes
    from mvbench.report.significance import summary

    metrics = list(metrics)
    keys = list(keys) if keys is not None else None
    frame = runs_frame(tracker, keys)
    agg = aggregate(frame, metrics)
    paper = [
        Table.over_datasets(f"Condition: {condition}", headers, rows)
        for condition, headers, rows in blocks(agg, metrics)
    ]
    every = [m for m in dict.fromkeys([*metrics, *DATASET_METRICS]) if m in frame.columns]
    agg_every = aggregate(frame, every)
    per_dataset = []
    for dataset in dict.fromkeys(agg_every["dataset"]):
        part = agg_every[agg_every["dataset"] == dataset]
        per_dataset.append(
            (
                dataset,
                [
                    Table(
                        f"Condition: {condition}",
                        [h.removeprefix(f"{dataset} ") for h in headers],
                        with_group_headers(rows),
                    )
                    for condition, headers, rows in blocks(part, every)
                ],
            )
        )
    m = metrics[0]
    plots = (
        [
            Plot(
                f"{m}_by_method",
                f"{m.upper()} of each method (mean ± one std over seeds; one panel per "
                f"dataset{', one bar per condition' if agg['condition'].nunique() > 1 else ''}).",
                bars(agg, m),
            )
        ]
        if not agg.empty
        else []
    )
    plots += [
        Plot(
            f"{m}_vs_{x}",
            f"{m.upper()} against {x} (mean ± one std over seeds; one panel per dataset).",
            figure(frame, x, m),
        )
        for x in plot_axes(frame, m)
    ]
    latest = tracker.latest_by_key()
    curves = [run_curves(tracker, row, run) for row, run in chosen_runs(frame, latest)]
    curves = [c for c in curves if c.losses or c.scores]
    if curves:
        plots.append(Plot("training_curves", curves_caption(curves), curves_figure(curves)))
    significance = None
    if not frame.empty and metrics[0] in frame.columns:
        significance = (
            summary(frame, metrics[0])
            if direction(metrics[0])
            else (pd.DataFrame(), f"significance: {metrics[0]!r} has no declared direction, so no ranks")
        )
    wanted = keys if keys is not None else list(latest)
    counts = {DONE: 0, FAILED: 0, SKIPPED: 0, "missing": 0}
    left_out = []
    for key in wanted:
        run = latest.get(key)
        status = (cell_status(run) or "missing") if run else "missing"
        counts[status] = counts.get(status, 0) + 1
        if run and status != DONE:
            left_out.append((run.info.run_name, status, cell_error(run)))
    return Report(
        tracker.experiment_name,
        metrics,
        agg,
        paper,
        per_dataset,
        plots,
        significance,
        counts,
        left_out,
        grid_settings(tracker),
        versions(frame),
        method_settings(frame, list(dict.fromkeys(agg["method"]))),
    )


def grid_settings(tracker: Tracker) -> dict[str, Any]:
    """The latest grid run of the experiment: its command, start time and config."""
    parents = tracker.parent_runs()
    if not parents:
        return {}
    run = parents[0]
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one small file: no bar
    with tempfile.TemporaryDirectory() as tmp:
        try:
            config = Path(tracker.client.download_artifacts(run.info.run_id, "config.yaml", tmp)).read_text()
        except (MlflowException, OSError) as exc:  # e.g. the store's artifact folder was moved or deleted
            config = f"# the grid's config.yaml artifact could not be read: {first_line(exc)}\n"
    return {
        "run_id": run.info.run_id,
        "command": grid_command(run),
        "config": config,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.info.start_time / 1000)),
        "n_grid_runs": len(parents),
    }


def versions(frame: pd.DataFrame) -> list[str]:
    """The mvbench versions (and source commits) that produced the runs."""
    if frame.empty:
        return []
    pairs = frame[["mvbench_version", "git_commit"]].drop_duplicates().itertuples(index=False)
    return [f"mvbench {v}" + (f" (git {c[:12]})" if c else "") for v, c in pairs]


def method_settings(frame: pd.DataFrame, methods: list[str]) -> list[tuple[str, str, str]]:
    """Per method variant (in the order of ``methods``): its code identity and hyper-parameters, as logged."""
    out = []
    for method in methods:
        part = frame[frame["method"] == method]
        code_column, prefix = f"{PARAM_PREFIX}method_code", f"{PARAM_PREFIX}method."
        codes = ", ".join(sorted(part[code_column].dropna().unique())) if code_column in part else ""
        params = [c for c in part.columns if c.startswith(prefix) and part[c].notna().any()]
        values = ", ".join(f"{c.removeprefix(prefix)}={'/'.join(sorted(part[c].dropna().unique()))}" for c in params)
        out.append((str(method), codes, values))
    return out


def svg_data_uri(fig: Figure) -> str:
    """A figure as an inline ``data:`` URI (SVG: sharp on screen and on paper)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _arrow(header: str) -> str:
    """`` ↑`` or `` ↓`` after a metric header: which way is better."""
    return {"higher": " ↑", "lower": " ↓"}.get(direction(header.lower()) or "", "")


def _number(value: Any) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else (f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value))
    )


def to_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("mvbench.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["svg_uri"] = svg_data_uri
    env.filters["arrow"] = _arrow
    return env.get_template("report.html.j2").render(r=report, generated=time.strftime("%Y-%m-%d %H:%M:%S"))


def to_markdown(report: Report) -> str:
    """The paper-style tables and the significance summary as markdown (a grid run's description)."""
    parts = [
        f"Experiment **{report.experiment}**: mean ± std over {report.n_seeds} seeds, best in bold.",
        render(report.agg, "markdown", report.metrics),
    ]
    if report.significance:
        parts.append("```\n" + significance_text(*report.significance) + "\n```")
    parts += [section.text("markdown") for section in report.sections]
    cells = ", ".join(f"{n} {status}" for status, n in report.counts.items() if n) or "none"
    parts.append(f"Cells: {cells}. Full report with plots and per-dataset tables: `report/report.html`.")
    return "\n\n".join(parts)


def write_bundle(report: Report, folder: Path) -> list[Path]:
    """Write ``report.html``, ``report.md`` and ``plots/<metric>_vs_<x>.png`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "report.html", folder / "report.md"]
    written[0].write_text(to_html(report))
    written[1].write_text(to_markdown(report) + "\n")
    for plot in report.plots:
        path = folder / "plots" / f"{plot.name}.png"
        path.parent.mkdir(exist_ok=True)
        plot.figure.savefig(path, dpi=120, bbox_inches="tight")
        written.append(path)
    return written


#: MLflow keeps tag values up to this length; a longer description is cut with a pointer to the files.
NOTE_LIMIT = 7500


def attach(tracker: Tracker, run_id: str, report: Report) -> None:
    """Attach ``report`` to grid run ``run_id``: its files under ``report/``, its markdown tables as the
    run's description (shown on the run's page of the MLflow UI)."""
    note = to_markdown(report)
    if len(note) > NOTE_LIMIT:
        note = note[:NOTE_LIMIT].rsplit("\n", 1)[0] + "\n\n… (cut: see `report/report.md`)"
    with tempfile.TemporaryDirectory() as tmp:
        write_bundle(report, Path(tmp))
        tracker.log_report(run_id, Path(tmp), note)


def publish_quietly(tracker: Tracker, run_id: str, keys: Iterable[str]) -> None:
    """Attach the report on cells ``keys`` to a grid run that just ended: a report that cannot be built
    is a warning, never a lost grid (``mvbench report --log`` attaches it later)."""
    from mvbench.record.resilience import TrackingUnavailable

    try:
        attach(tracker, run_id, collect(tracker, DEFAULT_METRICS, keys))
    except TrackingUnavailable:  # the store is away: say so once (the caller's exit), not as a warning
        raise
    except Exception as exc:  # noqa: BLE001 - the cells are logged; the report is a convenience
        logging.getLogger("mvbench").warning(
            "could not attach the report to grid run %s: %s: %s", run_id, type(exc).__name__, exc
        )


__all__ = ["Report", "collect", "to_html", "to_markdown", "write_bundle", "attach", "publish_quietly"]
