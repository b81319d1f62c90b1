"""The record's schema: every name mvbench writes to MLflow and reads back, in one place.

A grid invocation is a parent run (kind ``grid``); each cell is a child run (kind ``cell``) with
tags (identity, labels, status), params (the cell's settings) and metrics (scores, facts, curves).
:mod:`mvbench.record.tracking` writes runs with the builders below; reports and the CLI read them
back with the readers below. Importable without numpy or pandas (the CLI reads it at start-up).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

    from mvbench.run.grid import Cell

Direction = Literal["higher", "lower"]

#: A cell's status tag; written last, it is the marker that the cell's record is complete.
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
#: The MLflow run status that goes with each cell status.
MLFLOW_STATUS = {DONE: "FINISHED", FAILED: "FAILED", SKIPPED: "KILLED"}

# -- tags -------------------------------------------------------------------------------------------
KIND_TAG = "mvbench.kind"  # "grid" or "cell"
GRID, CELL = "grid", "cell"
KEY_TAG = "mvbench.cell_key"
STATUS_TAG = "mvbench.status"
OWNER_TAG = "mvbench.owner"  # host:pid:start time of the process that writes the run
ERROR_TAG = "mvbench.error"
ENDED_TAG = "mvbench.ended"  # why a run was ended as KILLED
VERSION_TAG, COMMIT_TAG = "mvbench.version", "mvbench.git_commit"
COMMAND_TAG, N_CELLS_TAG = "mvbench.command", "mvbench.n_cells"
METHOD_LABEL_TAG, METHOD_CODE_TAG = "mvbench.method_label", "mvbench.method_code"
DATASET_LABEL_TAG, DATASET_SHA_TAG = "mvbench.dataset_label", "mvbench.dataset_sha256"
CONDITION_TAG, GROUP_TAG = "mvbench.condition", "mvbench.group"
#: sha256 of the observed mask a cell's method saw (after its condition): equal hashes, same mask.
MASK_SHA_TAG = "mvbench.mask_sha256"
#: The raw file's sha256 of a dataset prepared from an unpinned variant (--allow-variant).
DATASET_VARIANT_TAG = "mvbench.dataset_variant"
PARENT_TAG = "mlflow.parentRunId"
#: Cell leases (mvbench.record.leases): experiments named LEASE_PREFIX + "<experiment id>/<cell key>/<generation>".
LEASE_PREFIX = "mvbench.lease/"
LEASE_HOLDER_TAG, LEASE_EXPIRES_TAG = "mvbench.lease.holder", "mvbench.lease.expires"
NOTE_TAG = "mlflow.note.content"  # a run's description, rendered as markdown by the MLflow UI
#: MLflow 3's experiment kind: model training, not GenAI. MLflow 3.17's UI picks its GenAI or
#: model-training pages by its own switch (the URL's ``workflowType``), not by this tag.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"
#: MLflow's shared view of the runs table (filter, sort, columns), opened by ``viewStateShareKey``.
VIEW_KEY = "mvbench"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"

# -- artifacts --------------------------------------------------------------------------------------
GRID_CELLS_ARTIFACT = "grid.json"  # the cells a grid planned
GRID_CONFIG_ARTIFACT = "config.yaml"
MASK_ARTIFACT = "mask.csv"  # a cell's observed mask (id, one 0/1 column per view), when not all observed
REPORT_DIR = "report"  # the grid run's folder holding the comparison report

# -- metrics ----------------------------------------------------------------------------------------
DEFAULT_METRICS = ("acc", "nmi", "ari")
#: Scores of the epoch with the best ACC against the labels, computed by the harness after the fit
#: from the method's ``label_history`` (the method never sees labels): a selection that USES LABELS.
ORACLE_PREFIX = "oracle/"
#: Label-free internal indices of a cell's partition in one common space (mvbench.run.selection).
INTERNAL_PREFIX = "internal/"
FORMATS = ("table", "csv", "markdown", "latex")
#: Which way is better, for every metric the harness logs; tables bold the best and rank tests
#: rank by it. A metric not listed here (e.g. a method's own info) has no best and is never ranked.
DIRECTIONS: dict[str, Direction] = {
    "acc": "higher",
    "nmi": "higher",
    "ari": "higher",
    "purity": "higher",
    "fit_seconds": "lower",
    "peak_memory_mb": "lower",
    "memory_increase_mb": "lower",
    "memory_estimate_mb": "lower",
    **{f"{ORACLE_PREFIX}{m}_best_epoch": "higher" for m in ("acc", "nmi", "ari")},
    **{f"{INTERNAL_PREFIX}{m}": "higher" for m in ("silhouette", "calinski_harabasz")},
}
CURVE_PREFIX = "train/"  # per-epoch curves: train/<history key>, train/acc, train/nmi
PARAM_PREFIX = "param:"  # params in a runs frame row
#: Columns of a runs frame row (:func:`read_cell`) that describe a run rather than measure it.
RUN_COLUMNS = (
    "key",
    "method",
    "group",
    "dataset",
    "condition",
    "start",
    "repetition",
    "mvbench_version",
    "git_commit",
    "mask_sha256",
    "dataset_variant",
)


def label_history_start(first_epoch: float | None, n_epochs: int, n_labels: int) -> int:
    """The epoch of a method's first per-epoch labels: ``info["label_history_first_epoch"]`` when the
    method says so, else the labels end with the history (they may cover its last epochs only)."""
    return int(first_epoch) if first_epoch is not None else max(n_epochs - n_labels, 0)


def direction(metric: str) -> Direction | None:
    """``higher`` or ``lower`` is better for ``metric``; None when it has no declared direction."""
    return DIRECTIONS.get(metric)


def metric_name(key: str) -> str:
    """``key`` with every character MLflow refuses in a metric name replaced by ``_``
    (a method may name a metric after a view, e.g. ``pretrain_cached_pix+fou``)."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", key)


# -- the result of one cell -------------------------------------------------------------------------
@dataclass
class CellResult:
    """What computing a cell produced; the runner logs it as one cell run."""

    cell: Cell
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # name -> [(epoch, value)]
    info: dict[str, float] = field(default_factory=dict)
    labels: np.ndarray | None = None
    ids: np.ndarray | None = None
    error: str = ""
    traceback: str = ""
    imputed: bool = False
    mask_sha256: str = ""  # of the mask the method saw
    mask: np.ndarray | None = None  # that mask, kept only when some view is missing (logged as an artifact)
    view_names: list[str] = field(default_factory=list)


def count_statuses(results: Iterable[CellResult]) -> dict[str, int]:
    counts = {DONE: 0, FAILED: 0, SKIPPED: 0}
    for r in results:
        counts[r.status] += 1
    return counts


# -- writing ----------------------------------------------------------------------------------------
def grid_tags(n_cells: int, command: str, owner: str, version: str, commit: str) -> dict[str, str]:
    return {
        KIND_TAG: GRID,
        OWNER_TAG: owner,
        VERSION_TAG: version,
        COMMIT_TAG: commit,
        COMMAND_TAG: command[:5000],
        N_CELLS_TAG: str(n_cells),
    }


def cell_tags(result: CellResult, parent_id: str, owner: str, version: str, commit: str) -> dict[str, str]:
    """The tags a cell run is created with (the status tag comes last, separately)."""
    cell = result.cell
    tags = {
        PARENT_TAG: parent_id,
        KIND_TAG: CELL,
        KEY_TAG: cell.key,
        OWNER_TAG: owner,
        DATASET_SHA_TAG: cell.dataset_sha256,
        VERSION_TAG: version,
        COMMIT_TAG: commit,
        METHOD_LABEL_TAG: cell.method_label,
        METHOD_CODE_TAG: cell.method_code,
        DATASET_LABEL_TAG: cell.dataset_label,
        CONDITION_TAG: cell.condition.label(),
        GROUP_TAG: cell.group,
    }
    if result.error:
        tags[ERROR_TAG] = result.error[:4000]
    if result.mask_sha256:
        tags[MASK_SHA_TAG] = result.mask_sha256
    if cell.dataset_variant:
        tags[DATASET_VARIANT_TAG] = cell.dataset_variant
    return tags


def cell_settings(result: CellResult) -> dict[str, Any]:
    """A cell's settings, nested: its ``config.json`` artifact."""
    cell = result.cell
    return {
        "method": cell.method,
        "method_params": dict(cell.method_params),
        "dataset": cell.dataset,
        "dataset_params": dict(cell.dataset_params),
        "dataset_sha256": cell.dataset_sha256,
        "dataset_variant": cell.dataset_variant or None,
        "condition": cell.condition.as_params(),
        "repetition": cell.repetition,
        "model_seed": cell.model_seed,
        "mask_sha256": result.mask_sha256,
        "seed": cell.seed,
        "imputation": cell.imputation if result.imputed else "none",
        "cell_key": cell.key,
    }


def cell_params(result: CellResult) -> dict[str, Any]:
    """A cell's settings as flat MLflow params (``method.<name>``, ``dataset.<name>``, ``condition.<name>``)."""
    cell = result.cell
    return {
        "method": cell.method,
        "method_code": cell.method_code,
        "dataset": cell.dataset,
        "repetition": cell.repetition,
        "model_seed": cell.model_seed,
        "seed": cell.seed,
        "imputation": cell.imputation if result.imputed else "none",
        **{f"condition.{k}": v for k, v in cell.condition.as_params().items()},
        **{f"method.{k}": v for k, v in cell.method_params},
        **{f"dataset.{k}": v for k, v in cell.dataset_params},
    }


def cell_metrics(result: CellResult) -> list[tuple[str, float, int]]:
    """(name, value, step) of every metric of a cell: scores and method info at step 0, curves per epoch."""
    out = [(metric_name(k), float(v), 0) for k, v in {**result.metrics, **result.info}.items()]
    for key, points in result.curves.items():
        out.extend((metric_name(key), float(v), step) for step, v in points)
    return out


# -- reading ----------------------------------------------------------------------------------------
def cells_filter(status: str | None = None) -> str:
    """The MLflow search filter for completely logged cell runs (of one status)."""
    return f"tags.`{KIND_TAG}` = '{CELL}' and tags.`{STATUS_TAG}` " + (f"= '{status}'" if status else "LIKE '%'")


def grids_filter() -> str:
    return f"tags.`{KIND_TAG}` = '{GRID}'"


def cell_key(run: Any) -> str | None:
    return run.data.tags.get(KEY_TAG)


def cell_status(run: Any) -> str | None:
    """The run's cell status; None while its record is incomplete (no marker yet)."""
    return run.data.tags.get(STATUS_TAG)


def cell_error(run: Any) -> str:
    return run.data.tags.get(ERROR_TAG, "")


def grid_command(run: Any) -> str:
    return run.data.tags.get(COMMAND_TAG, "")


def read_cell(run: Any) -> dict[str, Any]:
    """A cell run as one flat row: :data:`RUN_COLUMNS`, ``param:<name>`` for each param, and its metrics."""
    tags, params = run.data.tags, run.data.params
    return {
        "key": tags.get(KEY_TAG),
        "method": tags.get(METHOD_LABEL_TAG, params.get("method")),
        "group": tags.get(GROUP_TAG, ""),
        "dataset": tags.get(DATASET_LABEL_TAG, params.get("dataset")),
        "condition": tags.get(CONDITION_TAG, ""),
        "start": run.info.start_time,
        "repetition": int(params.get("repetition", 0)),
        "mvbench_version": tags.get(VERSION_TAG, ""),
        "git_commit": tags.get(COMMIT_TAG, ""),
        "mask_sha256": tags.get(MASK_SHA_TAG, ""),
        "dataset_variant": tags.get(DATASET_VARIANT_TAG, ""),
        **{f"{PARAM_PREFIX}{k}": v for k, v in params.items()},
        **run.data.metrics,
    }
