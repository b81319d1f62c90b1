"""``mvbench status`` reads a local sqlite store without MLflow's client: the same answer as through
the client, for every state a cell can be in."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import mvbench_in_process

from mvbench.record import status as status_module
from mvbench.record.schema import DONE, FAILED, SKIPPED, CellResult
from mvbench.record.status import _read_mlflow, _read_sqlite, read_status
from mvbench.record.tracking import Tracker, TrackingError
from mvbench.run.cell import run_cell
from mvbench.run.grid import spec_from_config
from mvbench.run.planning import plan

CONFIG = {"methods": ["km"], "datasets": [{"synthetic": {"n_samples": 60}}], "seeds": 5, "experiment": "st"}


@pytest.fixture
def store():
    """A grid of five cells: done; done then failed (done wins); failed; skipped; missing; and an older
    grid run (the latest grid is the one read)."""
    uri = f"sqlite:///{Path('mlflow.db').resolve()}"
    grid = plan(spec_from_config(CONFIG))
    tracker = Tracker(uri, "st")
    tracker.start_grid(grid.cells[:2], "mvbench run (older)", CONFIG)
    parent = tracker.start_grid(grid.cells, "mvbench run", CONFIG)
    a, b, c, d, _ = grid.cells
    tracker.log_cell(parent, run_cell(grid.tasks[a.key]))
    tracker.log_cell(parent, run_cell(grid.tasks[b.key]))
    tracker.log_cell(parent, CellResult(b, FAILED, error="ValueError: later failure"))
    tracker.log_cell(parent, CellResult(c, FAILED, error="ValueError: boom"))
    tracker.log_cell(parent, CellResult(d, SKIPPED, error="needs 9 GiB"))
    return uri


def test_the_sqlite_reader_agrees_with_mlflow(store):
    path = Path(store[len("sqlite:///") :])
    fast, slow = _read_sqlite(path, store, "st"), _read_mlflow(store, "st")
    assert fast.cells == slow.cells and len(fast.cells) == 5
    assert fast.records == slow.records and len(fast.records) == 5
    states = [(state, error) for _, state, error in fast.states()]
    assert states == [
        (DONE, ""),
        (DONE, ""),
        (FAILED, "ValueError: boom"),
        (SKIPPED, "needs 9 GiB"),
        ("missing", ""),
    ]


def test_status_command_reads_without_importing_mlflow(store, monkeypatch):
    def no_mlflow(*args):
        raise AssertionError("status used MLflow's client on a local sqlite store")

    monkeypatch.setattr(status_module, "_read_mlflow", no_mlflow)
    _, out, _ = mvbench_in_process("status", "--experiment", "st", check=0)
    assert "latest grid (5 cells): 2 done, 1 failed, 1 skipped, 1 missing" in out
    assert "failed   km | synthetic(n_samples=60) | complete | rep 2: ValueError: boom" in out


def test_unknown_experiment_and_missing_store_are_one_line_errors(store):
    with pytest.raises(TrackingError, match="no experiment named 'nope'"):
        read_status(store, "nope")
    with pytest.raises(TrackingError, match="no tracking store at"):
        read_status("sqlite:///elsewhere/mlflow.db", "st")
