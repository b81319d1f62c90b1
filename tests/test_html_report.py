"""The comparison on the grid's run, the HTML report, and what the MLflow UI is pointed at."""

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from conftest import sqlite_store

from mvbench import registry
from mvbench.cli import main
from mvbench.data.sources import DataPaths
from mvbench.method import Method
from mvbench.record.schema import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, NOTE_TAG, VIEW_TAG
from mvbench.record.tracking import Tracker, find_experiment, report_url, runs_url
from mvbench.report.html import collect, to_html
from mvbench.report.plots import plot_axes
from mvbench.report.tables import aggregate, runs_frame
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid

SYNTH = Entry("synthetic", {"n_samples": 90})


def grid(repetitions: int = 2, rates=(0.0, 0.3)) -> GridSpec:
    """Two methods, a swept hyper-parameter, two missing rates."""
    return GridSpec(
        methods=[
            Entry("km", {"view": "0"}, group="Single view"),
            Entry("km_concat", {"n_init": [1, 2]}, group="Concatenation"),
        ],
        datasets=[SYNTH],
        repetitions=repetitions,
        missing_rates=list(rates),
    )


@pytest.fixture(scope="module")
def tracker(tmp_path_factory) -> Tracker:
    """One small grid for the tests that only read it (made in its own folder: store, artifacts, data)."""
    folder = tmp_path_factory.mktemp("grid")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        tracker = Tracker(sqlite_store(folder / "m.db"), "e")
        run_grid(plan(grid(), DataPaths.resolve(folder / "data")), tracker, show_progress=False)
    return tracker


class Tables(HTMLParser):
    """Each <table id=...>: its rows as [(text, bold)], group rows left out."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, bool]]]] = {}
        self.images: list[str] = []
        self.current = self.row = self.cell = None
        self.bold = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self.current = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self.current is not None and attrs.get("class") != "group":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell, self.bold = "", False
        elif tag == "strong":
            self.bold = True
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append((self.cell.strip(), self.bold))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.current is not None:
                self.current.append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None


def parse(html: str) -> Tables:
    tables = Tables()
    tables.feed(html)
    return tables


def test_grid_run_holds_the_comparison_and_the_experiment_opens_on_its_runs(tracker):
    parent = tracker.parent_runs()[0]
    artifacts = {a.path for a in tracker.client.list_artifacts(parent.info.run_id, "report")}
    assert artifacts == {"report/report.html", "report/report.md", "report/plots"}
    plots = {a.path for a in tracker.client.list_artifacts(parent.info.run_id, "report/plots")}
    assert plots == {
        "report/plots/acc_by_method.png",
        "report/plots/acc_vs_missing_rate.png",
        "report/plots/acc_vs_n_init.png",
    }
    note = parent.data.tags[NOTE_TAG]
    assert "| method | synthetic(n_samples=90) ACC |" in note and "**" in note and "Friedman" in note
    experiment = tracker.client.get_experiment(tracker.experiment_id)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    view = json.loads(experiment.tags[VIEW_TAG])
    assert view["searchFilter"] == "tags.`mvbench.kind` = 'cell'"
    # The metrics, and the params that vary in the grid (not the constant subsample or missing view).
    assert view["selectedColumns"] == [
        "metrics.`acc`",
        "metrics.`nmi`",
        "metrics.`ari`",
        "params.`method`",
        "params.`dataset`",
        "params.`condition.missing_rate`",
        "params.`method.n_init`",
        "params.`repetition`",
    ]
    names = {r.info.run_name for r in tracker.cell_runs()}
    assert "km_concat(n_init=2) · synthetic(n_samples=90) · miss=0.3 · rep 1" in names and len(names) == 12


def test_resumed_grid_reports_all_its_cells(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    run_grid(plan(grid(repetitions=1, rates=(0.0,))), tracker, show_progress=False)
    second = run_grid(plan(grid(repetitions=2, rates=(0.0,))), tracker, show_progress=False)
    assert second.skipped_done == 3 and second.counts["done"] == 3
    note = tracker.client.get_run(second.parent_run_id).data.tags[NOTE_TAG]
    assert "over 2 seeds" in note and "Cells: 6 done." in note


class Boom(Method):
    """Always fails."""

    def fit_predict(self, data, n_clusters, seed):
        raise ValueError("boom inside the method")


def test_failed_cells_are_listed_with_their_error(tmp_path):
    registry.methods().register("boom", Boom, replace_existing=True)
    try:
        tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
        run_grid(
            plan(GridSpec(methods=[Entry("km"), Entry("boom")], datasets=[SYNTH], repetitions=1)),
            tracker,
            show_progress=False,
        )
    finally:
        registry._methods = None
    report = collect(tracker)
    assert report.counts == {"done": 1, "failed": 1, "skipped": 0, "missing": 0}
    left_out = parse(to_html(report)).tables["left-out"]
    assert left_out[1][0][0] == "boom · synthetic(n_samples=90) · complete · rep 0"
    assert left_out[1][1][0] == "failed" and "boom inside the method" in left_out[1][2][0]


def test_html_report_is_self_contained_with_best_by_direction(tracker):
    report = collect(tracker, ["acc", "nmi"])
    html = to_html(report)
    # Nothing to fetch: no URL in any attribute, no CSS import or url(); images are inline SVG.
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", html)
    assert "@import" not in html and "url(" not in html
    tables = parse(html)
    assert tables.images and all(src.startswith("data:image/svg+xml;base64,") for src in tables.images)
    assert all(base64.b64decode(src.split(",", 1)[1]).lstrip().startswith(b"<?xml") for src in tables.images)
    # The paper-style table: one per condition, a row per method variant, the best of a column in bold.
    complete = tables.tables["results-1"]
    assert [row[0][0] for row in complete[2:]] == ["km(view=0)", "km_concat(n_init=1)", "km_concat(n_init=2)"]
    agg = report.agg[report.agg["condition"] == "complete"]
    best = set(agg.loc[np.isclose(agg["acc_mean"], agg["acc_mean"].max()), "method"])  # ties: all in bold
    assert {row[0][0] for row in complete[2:] if row[1][1]} == best and len(best) < 3
    # Per-dataset tables carry the costs, where the smallest is the best.
    costs = tables.tables["dataset-1-1"]  # the first dataset's first condition
    column = [h for h, _ in costs[0]].index("FIT_SECONDS ↓")
    # Bold goes by the unrounded mean (two fits can print the same 0.003 s), so check against it.
    costs_agg = aggregate(runs_frame(tracker), ["fit_seconds"])
    first = costs_agg[(costs_agg["dataset"] == agg["dataset"].iloc[0]) & (costs_agg["condition"] == "complete")]
    fastest = set(first.loc[np.isclose(first["fit_seconds_mean"], first["fit_seconds_mean"].min()), "method"])
    bold = [row for row in costs[1:] if row[column][1]]
    assert len(costs) == 1 + 3 and {row[0][0] for row in bold} == fastest
    printed = [float(row[column][0].split(" ± ")[0]) for row in costs[1:]]
    assert all(float(row[column][0].split(" ± ")[0]) == min(printed) for row in bold)  # and shows the least
    # Significance summary, settings and versions.
    assert len(tables.tables["results-2"]) == 2 + 3  # the miss=0.3 table: two header rows, three methods
    assert "Friedman test" in html
    assert "Settings and versions" in html and "mvbench " in html and "missing_rate" in html


def test_report_command_writes_html_and_attaches_the_report(tracker, tmp_path, capsys):
    uri = tracker.uri
    parent = tracker.parent_runs()[0].info.run_id
    tracker.client.set_tag(parent, NOTE_TAG, "stale")
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "report",
                "--experiment",
                "e",
                "--tracking-uri",
                uri,
                "--format",
                "html",
                "-o",
                str(tmp_path / "r.html"),
                "--log",
            ]
        )
    assert exit_.value.code == 0
    assert "report attached to grid run" in capsys.readouterr().out
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert tracker.client.get_run(parent).data.tags[NOTE_TAG].startswith("Experiment **e**")


def test_ui_finds_the_latest_experiment_and_links_its_runs_and_report(tmp_path):
    uri = sqlite_store(tmp_path / "m.db")
    assert find_experiment(uri) is None
    for name in ("first", "second"):
        run_grid(plan(grid(repetitions=1, rates=(0.0,))), Tracker(uri, name), show_progress=False)
    assert find_experiment(uri).name == "second" and find_experiment(uri, "first").name == "first"
    assert find_experiment(uri, "absent") is None
    first = find_experiment(uri, "first")
    assert runs_url("http://h:1", first) == (
        f"http://h:1/#/experiments/{first.experiment_id}/runs?workflowType=machine_learning&viewStateShareKey=mvbench"
    )
    run = Tracker(uri, "first", create=False).parent_runs()[0]
    assert report_url("http://h:1", run) == (
        f"http://h:1/#/experiments/{first.experiment_id}/runs/{run.info.run_id}"
        f"/artifacts/report/report.html?workflowType=machine_learning"
    )


def test_plot_axes_are_the_conditions_and_sweeps_the_runs_vary():
    rows = [
        {
            "method": label,
            "dataset": "d",
            "condition": f"miss={rate}",
            "param:method": name,
            "param:method.view": view,
            "param:method.n_init": n,
            "param:condition.missing_rate": str(rate),
            "acc": 0.5,
        }
        for name, label, view, n in (
            ("km", "KM (view 0)", "0", "10"),
            ("km", "KM (view 1)", "1", "10"),
            ("km_concat", "km_concat(n_init=1)", None, "1"),
            ("km_concat", "km_concat(n_init=3)", None, "3"),
        )
        for rate in (0.0, 0.3)
    ]
    # view takes two numeric values, but a sweep names its values in the labels: these are two entries.
    assert plot_axes(pd.DataFrame(rows), "acc") == ["missing_rate", "n_init"]
    assert plot_axes(pd.DataFrame(rows[:2]), "acc") == ["missing_rate"]
    assert plot_axes(pd.DataFrame(rows[:1]), "acc") == []
