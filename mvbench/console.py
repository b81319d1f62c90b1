"""Progress bars on the terminal (stderr), shared by the grid display and long dataset preparation."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def progress_columns() -> list[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]


def track(iterable: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate with a transient bar when stderr is a terminal (e.g. extracting features of a dataset)."""
    if not (sys.stderr.isatty() and total and total > 1):
        yield from iterable
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(*progress_columns(), console=Console(stderr=True), transient=True) as bar:
        yield from bar.track(iterable, total=total, description=description)
