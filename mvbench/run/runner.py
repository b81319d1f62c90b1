"""The grid runner: validate a grid up front, skip finished cells, compute the rest, log each.

Everything that can be wrong with the input (names, hyper-parameters, conditions, datasets, the
tracking store) is checked before the parent run is created, so bad input logs nothing.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from mvbench import registry

from mvbench.data import sources, store
from mvbench.run.code_identity import code_identity
from mvbench.data.conditions import ConditionError
from mvbench.data.model import DataValidationError
from mvbench.run.cell import FAILED, CellResult, CellTask, run_cell
from mvbench.run.executors import Executor, make_executor
from mvbench.run.faults import fault_point
from mvbench.run.grid import (VIEWS_SETTING, Cell, GridError, GridSpec, expand_params, freeze, label, resolve_method, split_views,
                   swept_keys)
from mvbench.method import ConfigError, build_config
from mvbench.run.progress import grid_progress
from mvbench.record.tracking import Tracker, summarise


@dataclass
class PlannedGrid:
    """A validated grid: its cells and what each needs to run."""

    spec: GridSpec
    cells: list[Cell]
    tasks: dict[str, CellTask]


@dataclass
class GridOutcome:
    cells: list[Cell]
    ran: list[CellResult] = field(default_factory=list)
    skipped_done: int = 0
    parent_run_id: str | None = None
    interrupted: bool = False

    @property
    def counts(self) -> dict[str, int]:
        return summarise(self.ran)


def total_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def plan(spec: GridSpec, data_root: str | None = None, memory_limit: int | None = None) -> PlannedGrid:
    """Resolve every name and parameter, prepare datasets, expand the cells (no logging)."""
    if spec.imputation not in ("mean", "zero"):
        raise GridError(f"unknown imputation {spec.imputation!r}: use mean or zero")
    if spec.seeds < 1:
        raise GridError(f"--seeds must be at least 1, got {spec.seeds}")
    conditions = spec.conditions()
    methods = []
    for entry in spec.methods:
        method_cls = registry.methods().get(entry.name)
        swept = swept_keys(method_cls.Config, entry.params)
        for params in expand_params(method_cls.Config, entry.params):
            resolved = tuple((k, freeze(v)) for k, v in resolve_method(entry.name, params, method_cls))
            methods.append((entry.name, entry.variant_label(params, swept), resolved, method_cls, entry.group))
    datasets = []
    for entry in spec.datasets:
        source = sources.get_source(entry.name, data_root)
        builder_params, view_subsets = split_views(entry.params)
        for params, views in itertools.product(expand_params(source.Params, builder_params), view_subsets):
            path = sources.prepare(entry.name, params, data_root)
            data = store.load(path)
            if views is not None:
                data = data.select_views(resolve_views(data, views, entry.name))
                params = {**params, VIEWS_SETTING: ",".join(data.view_names)}
            ds_label = label(entry.name, params)
            for condition in conditions:
                if condition.missing_view is not None and condition.missing_view not in data.view_names:
                    raise GridError(f"dataset {entry.name!r} has no view {condition.missing_view!r} for "
                                    f"--missing-view: choose one of {', '.join(data.view_names)}")
                for rep in range(spec.seeds):
                    try:
                        condition.select(data, rep)
                    except ConditionError as exc:
                        raise GridError(f"dataset {ds_label!r}, condition {condition.label()}: {exc}") from None
            for method_name, method_label, method_params, method_cls, _ in methods:
                check_method(method_cls, method_name, method_label, method_params, data, ds_label)
            datasets.append((entry.name, ds_label, tuple((k, freeze(v)) for k, v in params.items()),
                             data.card.sha256, path))
    limit = memory_limit if memory_limit is not None else total_memory_bytes()
    cells, tasks = [], {}
    for ds_name, ds_label, ds_params, sha, path in datasets:
        for condition in conditions:
            for method_name, method_label, method_params, method_cls, group in methods:
                for rep in range(spec.seeds):
                    cell = Cell(method_name, method_label, method_params, ds_name, ds_label, ds_params, sha,
                                condition, rep, spec.imputation, code_identity(method_cls), group)
                    if cell.key not in tasks:
                        cells.append(cell)
                        tasks[cell.key] = CellTask(cell, path, method_cls, limit)
    return PlannedGrid(spec, cells, tasks)


def resolve_views(data: Any, views: list[Any], dataset: str) -> list[int]:
    """Indices of a dataset's view subset (names or indices), refused in one line when unusable."""
    try:
        indices = data.view_indices(",".join(str(v) for v in views))
    except DataValidationError as exc:
        raise GridError(f"dataset {dataset!r}, {VIEWS_SETTING}={views}: {exc}") from None
    empty = int((~data.mask[:, indices].any(axis=1)).sum())
    if empty:
        raise GridError(f"dataset {dataset!r}, {VIEWS_SETTING}={views}: {empty} samples observe none of these views; "
                        f"add a view they have")
    return indices


def check_method(method_cls: type, name: str, method_label: str, params: tuple, data: Any, ds_label: str) -> None:
    """Refuse up front (GridError) a method variant that cannot run on a dataset (views it names,
    how many views it needs), instead of a failed cell at run time."""
    method = method_cls(build_config(method_cls.Config, dict(params), owner=name))
    try:
        method.check_data(data)
    except (ConfigError, DataValidationError, ValueError) as exc:
        raise GridError(f"{method_label} cannot run on dataset {ds_label!r}: {' '.join(str(exc).split())}") from None


def crashed_result(task: CellTask, exc: BaseException) -> CellResult:
    return CellResult(task.cell, FAILED, error=f"worker process died ({type(exc).__name__}): out of memory or a crash "
                                                f"in native code")


def run_grid(
    grid: PlannedGrid,
    tracker: Tracker,
    workers: int = 1,
    force: bool = False,
    command: str = "",
    config: dict[str, Any] | None = None,
    show_progress: bool = True,
    executor: Executor | None = None,
) -> GridOutcome:
    """Run the cells not yet done in the experiment and log each as soon as it completes.

    Runs left RUNNING by a dead earlier invocation are first ended as KILLED; failed and skipped
    cells are retried; only done cells are skipped (all of them again with ``force``). A grid that
    was not interrupted gets the comparison report of all its cells on its parent run. ``executor``
    (default: by ``workers``, see :func:`make_executor`) computes the cells.
    """
    outcome = GridOutcome(grid.cells)
    tracker.reap_dead_runs()
    done = set() if force else tracker.completed_keys()
    todo = [grid.tasks[c.key] for c in grid.cells if c.key not in done]
    outcome.skipped_done = len(grid.cells) - len(todo)
    if not todo:
        return outcome
    outcome.parent_run_id = tracker.start_grid(grid.cells, command, config or {})
    executor = executor or make_executor(workers, on_crash=crashed_result)
    status = "FINISHED"
    try:
        with grid_progress(len(todo), enabled=show_progress) as advance:
            for result in executor.map_unordered(run_cell, todo):
                tracker.log_cell(outcome.parent_run_id, result)
                outcome.ran.append(result)
                advance(result)
                fault_point("between_cells")
    except KeyboardInterrupt:
        status, outcome.interrupted = "KILLED", True
    finally:
        if outcome.ran and any(r.status == FAILED for r in outcome.ran) and status == "FINISHED":
            status = "FAILED"
        tracker.end_grid(outcome.parent_run_id, outcome.counts, status)
    if not outcome.interrupted:  # the comparison of the whole grid, on its run (Ctrl-C: out at once)
        from mvbench.report.html import publish_quietly

        publish_quietly(tracker, outcome.parent_run_id, [c.key for c in grid.cells])
    return outcome


__all__ = ["plan", "run_grid", "PlannedGrid", "GridOutcome"]
