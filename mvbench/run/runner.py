"""The grid runner: skip finished cells, compute the rest with an executor, log each as it arrives.

The grid comes validated from :func:`mvbench.run.planning.plan`; the runner alone writes to the
tracking store (executors and workers only compute).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mvbench.record.schema import FAILED, CellResult, count_statuses
from mvbench.record.tracking import Tracker
from mvbench.run.cell import CellTask, run_cell
from mvbench.run.executors import Executor, make_executor
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

    @property
    def counts(self) -> dict[str, int]:
        return count_statuses(self.ran)


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
        with grid_progress(len(todo), enabled=show_progress) as progress:
            # Cells computed in this process show their training loops under the grid's bar.
            compute = partial(run_cell, progress=progress.track) if executor.in_process else run_cell
            for result in executor.map_unordered(compute, todo):
                tracker.log_cell(outcome.parent_run_id, result)
                outcome.ran.append(result)
                progress.advance(result)
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


__all__ = ["GridOutcome", "run_grid"]
