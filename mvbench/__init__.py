"""mvbench: a pluggable, reproducible benchmark suite for multi-view clustering.

The core knows no specific method or dataset: plugins register through the ``mvbench.methods`` and
``mvbench.datasets`` entry-point groups. The public names below are imported on first use, so that
the command line starts without loading numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "DatasetCard": "data",
    "MultiViewDataset": "data",
    "Capabilities": "method",
    "FitResult": "method",
    "Method": "method",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'mvbench' has no attribute {name!r}")
