"""The grid runner: skip finished cells, compute the rest with an executor, log each as it arrives.

The grid comes validated from :func:`mvbench.run.planning.plan`; the runner alone writes to the
tracking store (executors and workers only compute).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mvbench.record.leases import LeaseBoard
from mvbench.record.resilience import TrackingUnavailable
from mvbench.record.schema import FAILED, CellResult, count_statuses
from mvbench.record.tracking import Tracker
from mvbench.run.cell import CellTask, run_cell
from mvbench.run.executors import CellTimeout, Executor, make_executor
from mvbench.run.faults import fault_point
from mvbench.run.grid import Cell
from mvbench.run.planning import PlannedGrid
from mvbench.run.progress import grid_progress


@dataclass
class GridOutcome:
    cells: list[Cell]
    ran: list[CellResult] = field(default_factory=list)
    skipped_done: int = 0
    parent_run_id: str | None = None
    interrupted: bool = False
    #: Cells another live invocation had claimed: left to it, neither run nor failed here.
    left_to_others: list[Cell] = field(default_factory=list)
    #: Keys of cells whose lease went stale and was taken over while this invocation computed them.
    leases_lost: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return count_statuses(self.ran)


def crashed_result(task: CellTask, exc: BaseException) -> CellResult:
    """The FAILED result of a cell the executor had to stop (over ``--cell-timeout``) or lost (a crash)."""
    if isinstance(exc, CellTimeout):
        return CellResult(task.cell, FAILED, error=str(exc))
    return CellResult(
        task.cell, FAILED, error=f"worker process died ({type(exc).__name__}): out of memory or a crash in native code"
    )


def run_grid(
    grid: PlannedGrid,
    tracker: Tracker,
    workers: int = 1,
    force: bool = False,
    command: str = "",
    config: dict[str, Any] | None = None,
    show_progress: bool = True,
    executor: Executor | None = None,
    cell_timeout: float | None = None,
) -> GridOutcome:
    """Run the cells not yet done in the experiment and log each as soon as it completes.

    Runs left RUNNING by a dead earlier invocation are first ended as KILLED; failed and skipped
    cells are retried; only done cells are skipped (all of them again with ``force``). A grid that
    was not interrupted gets the comparison report of all its cells on its parent run. ``executor``
    (default: by ``workers`` and ``cell_timeout``, see :func:`make_executor`) computes the cells; it
    draws them lazily.

    Each cell is claimed (:mod:`mvbench.record.leases`) just before it is handed to the executor and
    released once its result is logged, so invocations sharing a store compute every cell once: a
    cell another live invocation holds is left to it (``outcome.left_to_others``); a cell whose
    earlier lease was released is first checked for a result logged meanwhile.

    An unreachable store is waited for (``tracker.retry``) while finished results wait in memory;
    before a result is logged, the cell's lease is confirmed (after a long outage another invocation
    may have taken it over: the cell is then left to it). When the wait's budget runs out,
    :class:`TrackingUnavailable` propagates and the grid stays resumable: its run is left RUNNING
    (the next invocation ends it as KILLED) and its unlogged cells are computed again by the next run.
    """
    outcome = GridOutcome(grid.cells)
    board = LeaseBoard(tracker.client, tracker.experiment_id)
    tracker.reap_dead_runs()
    started_ms = int(time.time() * 1000)
    done = set() if force else tracker.completed_keys()
    todo = [grid.tasks[c.key] for c in grid.cells if c.key not in done]
    outcome.skipped_done = len(grid.cells) - len(todo)
    if not todo:
        return outcome
    outcome.parent_run_id = tracker.start_grid(grid.cells, command, config or {})
    executor = executor or make_executor(workers, on_crash=crashed_result, cell_timeout=cell_timeout)

    def claimed() -> Iterator[CellTask]:  # drawn lazily by the executor: each claim just in time
        for task in todo:
            key = task.cell.key
            lease = board.claim(key)
            if lease is None:
                outcome.left_to_others.append(task.cell)
            elif lease.taken_over and tracker.done_since(key, started_ms if force else 0):
                board.release(key)  # another invocation finished it after this one started
                outcome.skipped_done += 1
            else:
                yield task

    status, store_lost = "FINISHED", False
    try:
        with board, grid_progress(len(todo), enabled=show_progress) as progress:
            # Cells computed in this process show their training loops under the grid's bar.
            compute = partial(run_cell, progress=progress.track) if executor.in_process else run_cell
            for result in executor.map_unordered(compute, claimed()):
                if not board.confirm(result.cell.key):  # taken over while the store was away
                    outcome.left_to_others.append(result.cell)
                    continue
                tracker.log_cell(outcome.parent_run_id, result)
                board.release(result.cell.key)
                outcome.ran.append(result)
                progress.advance(result)
                fault_point("between_cells")
    except KeyboardInterrupt:
        status, outcome.interrupted = "KILLED", True
    except TrackingUnavailable:
        store_lost = True
        raise
    finally:
        if outcome.ran and any(r.status == FAILED for r in outcome.ran) and status == "FINISHED":
            status = "FAILED"
        outcome.leases_lost = list(board.lost)
        if not store_lost:  # the first error stands: nothing more is sent to a store that is away
            counts = {**outcome.counts, "left_to_others": len(outcome.left_to_others)}
            try:  # after Ctrl-C: one attempt (the user wants out; the next invocation ends a run left RUNNING)
                tracker.end_grid(outcome.parent_run_id, counts, status, wait=not outcome.interrupted)
            except Exception:
                if not outcome.interrupted:
                    raise
    if not outcome.interrupted:  # the comparison of the whole grid, on its run (Ctrl-C: out at once)
        from mvbench.report.html import publish_quietly

        publish_quietly(tracker, outcome.parent_run_id, [c.key for c in grid.cells])
    return outcome


__all__ = ["GridOutcome", "run_grid"]
