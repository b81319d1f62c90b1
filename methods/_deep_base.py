"""The base class of ``dec`` and ``jecl``: which views a configuration reads (checked before a run),
and their quick settings; both hand over to :func:`.deep_clustering.deep_cluster`."""

from __future__ import annotations

from mvbench.data import MultiViewDataset
from mvbench.method import Method

from .deep_clustering import QUICK_PARAMS


class DeepClusteringMethod(Method):
    """A method whose views go through pretrained encoders and the DEC/JECL clustering phase."""

    quick_params = dict(QUICK_PARAMS)

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        """Indices of the views the configuration reads (a one-line error when it names none usable)."""
        raise NotImplementedError

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        self.chosen_views(data)
