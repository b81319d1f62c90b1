"""mvbench: a pluggable, reproducible benchmark suite for multi-view clustering.

The core knows no specific method or dataset: plugins register through the ``mvbench.methods`` and
``mvbench.datasets`` entry-point groups.
"""
from .data import DatasetCard, MultiViewDataset
from .method import Capabilities, FitResult, Method

__all__ = ["DatasetCard", "MultiViewDataset", "Capabilities", "FitResult", "Method"]
