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

    def cluster(self, xs: list[np.ndarray], observed: list[np.ndarray], names: list[str], weights: list[float],
                gamma: float, beta: float, n_clusters: int, seed: int) -> FitResult:
        """The clustering phase on views ``xs`` (observed rows only). Pretraining uses the runner's
        method-independent ``data_seed`` (``seed`` outside the runner), so that DEC and every JECL
        variant on the same view share one cached autoencoder."""
        pretrain_seed = seed if self.data_seed is None else self.data_seed
        return deep_cluster(xs, observed, names, weights, gamma, beta, self.config, n_clusters, seed, pretrain_seed)
