"""Progress bars: one for the grid, and transient ones for long training loops inside it.

Methods wrap their epoch loops in :func:`track`; it shows a bar only when running in the main
process under an active grid display (or alone in a terminal), and costs nothing otherwise.
"""
from __future__ import annotations

import multiprocessing
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")
_active: Progress | None = None


def _columns() -> list[Any]:
    return [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn()]


@contextmanager
def grid_progress(total: int, enabled: bool = True) -> Iterator[Callable[[Any], None]]:
    """A bar over the grid's cells; yields ``advance(result)``."""
    global _active
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield lambda result: None
        return
    with Progress(*_columns(), console=console, transient=False) as progress:
        task = progress.add_task("grid", total=total)
        _active = progress
        try:
            def advance(result: Any) -> None:
                progress.update(task, advance=1, description=f"grid ({getattr(result, 'status', '')})")
            yield advance
        finally:
            _active = None


def track(iterable: Iterable[T], total: int | None = None, description: str = "training") -> Iterator[T]:
    """Iterate with a transient progress bar when one can be shown (see module doc)."""
    in_main = multiprocessing.current_process().name == "MainProcess"
    if _active is not None and in_main:
        task = _active.add_task(f"  {description}", total=total)
        try:
            for item in iterable:
                yield item
                _active.advance(task)
        finally:
            _active.remove_task(task)
    elif in_main and sys.stderr.isatty() and _active is None and total and total > 1:
        with Progress(*_columns(), console=Console(stderr=True), transient=True) as progress:
            yield from progress.track(iterable, total=total, description=description)
    else:
        yield from iterable
