"""Progress display: one bar for the grid, and transient bars for the training loops of cells that
run in this process (handed to methods through their :class:`~mvbench.method.RunContext`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mvbench.console import progress_columns

T = TypeVar("T")


class GridProgress:
    """The grid's bar: ``advance`` after each cell; ``track`` wraps a training loop in a sub-bar."""

    def __init__(self, bar: Any | None = None, task: Any | None = None) -> None:
        self._bar, self._task = bar, task

    def advance(self, result: Any) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"grid ({getattr(result, 'status', '')})")

    def track(self, iterable: Iterable[T], total: int | None = None, description: str = "training") -> Iterator[T]:
        if self._bar is None:
            yield from iterable
            return
        task = self._bar.add_task(f"  {description}", total=total)
        try:
            for item in iterable:
                yield item
                self._bar.advance(task)
        finally:
            self._bar.remove_task(task)


@contextmanager
def grid_progress(total: int, enabled: bool = True) -> Iterator[GridProgress]:
    """A bar over the grid's ``total`` cells on stderr (nothing when disabled or not a terminal)."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield GridProgress()
        return
    with Progress(*progress_columns(), console=console, transient=False) as bar:
        yield GridProgress(bar, bar.add_task("grid", total=total))
