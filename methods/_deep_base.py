"""The base class of ``dec`` and ``jecl``: which views a configuration reads (checked before a run),
and the hand-over to the shared clustering phase (:func:`.deep_clustering.deep_cluster`)."""

from __future__ import annotations

import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.method import FitResult, Method

from .deep_clustering import QUICK_PARAMS, deep_cluster


class DeepClusteringMethod(Method):
    """A method whose views go through pretrained encoders and the DEC/JECL clustering phase."""

    quick_params = dict(QUICK_PARAMS)

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        """Indices of the views the configuration reads (a one-line error when it names none usable)."""
        raise NotImplementedError

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        self.chosen_views(data)

    def cluster(
        self,
        xs: list[np.ndarray],
        observed: list[np.ndarray],
        names: list[str],
        weights: list[float],
        gamma: float,
        beta: float,
        n_clusters: int,
        seed: int,
    ) -> FitResult:
        """The clustering phase on views ``xs`` (observed rows only), in this method's run context (whose
        shared seed and cache folder let DEC and every JECL variant on a view share one autoencoder)."""
        return deep_cluster(xs, observed, names, weights, gamma, beta, self.config, n_clusters, seed, self.context)
