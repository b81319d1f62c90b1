"""What ``mvbench status`` reads: the cells the latest grid planned and the experiment's cell records.

Importing MLflow's client costs seconds of CPU, more than the question deserves. A local sqlite store
is therefore read with the standard library's ``sqlite3``, read-only, through the few columns of
MLflow's schema that hold mvbench's tags (``experiments``, ``runs``, ``tags``) and the grid's
``grid.json`` in its local artifact folder. Any other store, or a sqlite store this reader does not
understand (another schema, remote artifacts), is read through MLflow's client, with the same result.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from mvbench.record.schema import (
    CELL,
    DONE,
    ERROR_TAG,
    GRID,
    GRID_CELLS_ARTIFACT,
    KEY_TAG,
    KIND_TAG,
    STATUS_TAG,
    cell_error,
    cell_key,
    cell_status,
)
from mvbench.record.tracking import TrackingError, require_store, resolve_uri


@dataclass(frozen=True)
class CellRecord:
    """One completely logged cell run: its key, mvbench status and error."""

    key: str
    status: str
    error: str


@dataclass
class GridStatus:
    """The cells the latest grid planned (None: no grid yet) and every complete cell record of the
    experiment, newest first."""

    cells: list[dict[str, Any]] | None
    records: list[CellRecord]

    def states(self) -> list[tuple[dict[str, Any], str, str]]:
        """(cell, state, error) per planned cell: done when any run of it is done, else the status of
        its latest run, else missing."""
        done = {r.key for r in self.records if r.status == DONE}
        latest: dict[str, CellRecord] = {}
        for record in self.records:
            latest.setdefault(record.key, record)
        out = []
        for cell in self.cells or []:
            last = latest.get(cell["key"])
            if cell["key"] in done:
                out.append((cell, "done", ""))
            else:
                out.append((cell, last.status if last else "missing", last.error if last else ""))
        return out


class _Unsupported(Exception):
    """The fast reader cannot read this store: use MLflow's client."""


def read_status(uri: str | None, experiment: str) -> GridStatus:
    """The latest grid of ``experiment`` in the store ``uri`` and its experiment's cell records."""
    uri = resolve_uri(uri)
    if uri.startswith("sqlite:///"):
        require_store(uri)
        try:
            return _read_sqlite(Path(uri[len("sqlite:///") :]), uri, experiment)
        except (_Unsupported, sqlite3.Error):
            pass
    return _read_mlflow(uri, experiment)


def _read_sqlite(path: Path, uri: str, experiment: str) -> GridStatus:
    with sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(experiments)")}
        order = "ORDER BY workspace = 'default' DESC" if "workspace" in columns else ""
        found = db.execute(f"SELECT experiment_id FROM experiments WHERE name = ? {order} LIMIT 1", (experiment,))
        row = found.fetchone()
        if row is None:
            raise TrackingError(
                f"no experiment named {experiment!r} in {uri}: run `mvbench run --experiment {experiment}` first"
            )
        experiment_id = row[0]
        grid = db.execute(
            "SELECT r.artifact_uri FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active' AND t.key = ? AND t.value = ? "
            "ORDER BY r.start_time DESC, r.run_uuid LIMIT 1",
            (experiment_id, KIND_TAG, GRID),
        ).fetchone()
        records = [
            CellRecord(key or "", status, error or "")
            for key, status, error in db.execute(
                "SELECT k.value, s.value, e.value FROM runs r "
                "JOIN tags kind ON kind.run_uuid = r.run_uuid AND kind.key = ? AND kind.value = ? "
                "JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = ? "
                "LEFT JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = ? "
                "LEFT JOIN tags e ON e.run_uuid = r.run_uuid AND e.key = ? "
                "WHERE r.experiment_id = ? AND r.lifecycle_stage = 'active' "
                "ORDER BY r.start_time DESC, r.run_uuid",
                (KIND_TAG, CELL, STATUS_TAG, KEY_TAG, ERROR_TAG, experiment_id),
            )
        ]
    cells = None if grid is None else _local_grid_cells(grid[0])
    return GridStatus(cells, records)


def _local_grid_cells(artifact_uri: str) -> list[dict[str, Any]]:
    """The grid's ``grid.json`` from its local artifact folder (``/path`` or ``file:///path``)."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        raise _Unsupported(artifact_uri)
    path = Path(unquote(parsed.path)) / GRID_CELLS_ARTIFACT
    try:
        return json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        raise _Unsupported(str(path)) from None


def _read_mlflow(uri: str, experiment: str) -> GridStatus:
    import os

    from mvbench.record.tracking import Tracker

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one small JSON: no bar
    tracker = Tracker(uri, experiment, create=False)
    parents = tracker.parent_runs()
    cells = tracker.grid_cells(parents[0].info.run_id) if parents else None
    records = [CellRecord(cell_key(r) or "", cell_status(r) or "", cell_error(r)) for r in tracker.cell_runs()]
    return GridStatus(cells, records)
