"""The record's vocabulary, importable without numpy or pandas (the CLI reads it at start-up):
cell statuses, the default metrics, the report formats, and which way is better for each metric."""
from __future__ import annotations

from typing import Literal

Direction = Literal["higher", "lower"]

#: A cell's status tag; written last, it is the marker that the cell's record is complete.
DONE, FAILED, SKIPPED = "done", "failed", "skipped"

DEFAULT_METRICS = ("acc", "nmi", "ari")
FORMATS = ("table", "csv", "markdown", "latex")

#: Which way is better, for every metric the harness logs; tables bold the best and rank tests
#: rank by it. A metric not listed here (e.g. a method's own info) has no best and is never ranked.
DIRECTIONS: dict[str, Direction] = {
    "acc": "higher", "nmi": "higher", "ari": "higher", "purity": "higher",
    "fit_seconds": "lower", "peak_memory_mb": "lower", "memory_increase_mb": "lower", "memory_estimate_mb": "lower",
}


def direction(metric: str) -> Direction | None:
    """``higher`` or ``lower`` is better for ``metric``; None when it has no declared direction."""
    return DIRECTIONS.get(metric)
