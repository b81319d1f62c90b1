"""Degenerate partitions are flagged from logged per-cell metrics; view subsets as dataset settings."""

import numpy as np
import pandas as pd
import pytest
from conftest import sqlite_store

from mvbench.record.tracking import Tracker
from mvbench.report.diagnostics import degenerate_cells, diagnostics, render_diagnostics
from mvbench.report.tables import aggregate, render, runs_frame
from mvbench.run.cell import partition_shape
from mvbench.run.grid import Entry, GridError, GridSpec, spec_from_config
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


def test_partition_shape_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    shape = partition_shape(np.array([1, 1, 1, 1, 1, 1, 1, 1, 5, 5]), y)
    assert shape == {"clusters_used": 2.0, "largest_cluster_share": 0.8, "n_clusters": 3.0, "largest_class_share": 0.4}


def planted_frame(collapsed: bool, seeds: int = 5) -> pd.DataFrame:
    """Ten balanced classes; the collapsed method puts 95 % of the samples into one cluster."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 50)
    rows = []
    for rep in range(seeds):
        labels = y.copy() if not collapsed else np.where(rng.random(500) < 0.95, 0, rng.integers(1, 10, 500))
        rows.append(
            {
                "method": "m",
                "group": "",
                "dataset": "d",
                "condition": "complete",
                "start": rep,
                "repetition": rep,
                "acc": 0.5,
                **partition_shape(labels, y),
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("collapsed", [True, False])
def test_a_collapsed_labelling_is_flagged_and_a_healthy_one_is_not(collapsed):
    frame = planted_frame(collapsed)
    assert degenerate_cells(frame).all() == collapsed
    table = diagnostics(frame)
    assert bool(table["degenerate"].iloc[0]) == collapsed
    text = render(aggregate(frame, ["acc"]), "markdown", ["acc"])
    assert ("†" in text) == collapsed and ("degenerate" in render_diagnostics(table)) == collapsed


def test_one_cluster_over_twice_the_largest_class_is_flagged_even_with_every_cluster_used():
    # four balanced classes; three of them poured into one cluster (75 %), the fourth split over three
    y = np.repeat(np.arange(4), 25)
    merged = np.concatenate([np.zeros(75, dtype=int), np.repeat([1, 2, 3], [9, 8, 8])])
    shape = partition_shape(merged, y)
    assert shape["clusters_used"] == 4 and shape["largest_cluster_share"] == 0.75
    row = {"method": "m", "group": "", "dataset": "d", "condition": "complete", "acc": 0.5}
    assert degenerate_cells(pd.DataFrame([{**row, **shape}])).all()
    # two classes merged (50 % = twice the 25 % class) is still not flagged: only strictly more is
    half = partition_shape(np.concatenate([np.zeros(50, dtype=int), np.repeat([1, 2, 3], [17, 17, 16])]), y)
    assert not degenerate_cells(pd.DataFrame([{**row, **half}])).any()


def test_one_degenerate_seed_of_five_does_not_flag_the_group():
    frame = pd.concat([planted_frame(False, 4), planted_frame(True, 1).assign(repetition=4, start=4)])
    assert not diagnostics(frame)["degenerate"].iloc[0]


def test_convergence_is_summarised_from_method_info():
    frame = planted_frame(False, 3).assign(converged=[1.0, 0.0, 1.0], iterations=[10, 100, 20], max_iterations=100)
    row = diagnostics(frame).iloc[0]
    assert (row["converged"], row["reports_convergence"], row["max_iterations"]) == (2, 3, 100)


def test_a_view_subset_is_a_dataset_setting_in_the_key_and_params(tmp_path):
    config = {
        "methods": ["km_concat"],
        "datasets": [{"synthetic": {"n_samples": 90, "views": [[0, 2], ["view1"]]}}],
        "seeds": 1,
    }
    grid = plan(spec_from_config(config))
    assert [c.views for c in grid.cells] == [["view0", "view2"], ["view1"]]
    assert len({c.key for c in grid.cells}) == 2
    tracker = Tracker(sqlite_store(tmp_path / "v.db"), "views")
    run_grid(grid, tracker, show_progress=False)
    frame = runs_frame(tracker)
    assert sorted(frame["param:dataset.views"]) == ["view0,view2", "view1"]
    assert sorted(frame["dataset"]) == [
        "synthetic(n_samples=90, views=view0,view2)",
        "synthetic(n_samples=90, views=view1)",
    ]


@pytest.mark.parametrize(
    "views, message",
    [
        (["view0", "nope"], "unknown view 'nope'"),
        ([0, 0], "must name distinct views"),
        ("view0", "give a list"),
    ],
)
def test_a_bad_view_subset_is_refused_up_front(views, message):
    with pytest.raises(GridError, match=message):
        plan(GridSpec([Entry("km")], [Entry("synthetic", {"n_samples": 90, "views": views})], repetitions=1))


@pytest.mark.parametrize("fmt", ["markdown", "csv", "latex"])
def test_diagnostics_follow_the_report_format(fmt):
    text = render_diagnostics(diagnostics(planted_frame(True)), fmt)
    lines = text.splitlines()
    if fmt == "markdown":
        assert lines[0] == "**Diagnostics**" and lines[2].startswith("| condition | dataset | method | n | K |")
        assert set(lines[3].strip("|").split("|")) == {"---"}
        assert all(line.startswith("| ") and line.endswith(" |") for line in lines[4:]) and "degenerate" in lines[4]
    elif fmt == "csv":
        assert lines[0].startswith("condition,dataset,method,n,K,clusters used,")
    else:
        assert lines[1].startswith("\\begin{tabular}") and lines[-1] == "\\end{tabular}"
