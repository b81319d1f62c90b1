"""DEC, Deep Embedded Clustering (Xie, Girshick, Farhadi; ICML 2016): the table's DEC rows.

An encoder initialised by a stacked denoising autoencoder (:mod:`.autoencoder`), K-means centroids
(n_init 20) on its embedding, then the clustering phase of :mod:`.deep_clustering` with one view:
Student's t q (eq. 1), target p = (q^2 / f) normalised (eq. 3) refreshed every ``update_interval``
iterations on the full data, loss KL(P || Q) (eq. 2), SGD lr 0.01 momentum 0.9 batch 256, stop when
fewer than ``tol`` (0.1%) of the labels change between refreshes or after ``max_epochs``.

``view`` picks a view by name or index, ``concat`` for the concatenation of all views, or a
comma-separated list of views to concatenate (e.g. ``pix,fou``), each normalised by
``normalization`` first (statistics of the observed rows; the runner hands DEC complete data).
``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``. Deviations (epochs instead of
iterations on feature data, Adam pretraining, and the optional consensus checkpoint rule,
``pretrain_selection``) are listed in :mod:`.autoencoder`. DEC does not read the mask: the
runner imputes.

The pretraining seed is the run context's shared seed (shared by every method of a
dataset/condition/repetition) so DEC and the JECL variants on the same view reuse one cached
autoencoder; outside a grid it is the ``seed`` argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.data.degenerate import check_not_constant
from mvbench.method import Capabilities, FitResult

from ._deep_base import DeepClusteringMethod
from ._views import prepare_view
from .deep_clustering import DeepClusteringConfig, deep_cluster


@dataclass
class DECConfig(DeepClusteringConfig):
    view: str = "0"  # a view name, its index, "concat" (all views), or a comma-separated list to concatenate


class DEC(DeepClusteringMethod):
    """Deep Embedded Clustering on one view or on the concatenation of all views."""

    Config = DECConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        return data.view_indices("all" if self.config.view == "concat" else self.config.view)

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        check_not_constant(data, self.chosen_views(data), self.name or "dec")

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        cfg = self.config
        indices = self.chosen_views(data)
        x = np.hstack([prepare_view(data, v, cfg.normalization) for v in indices])
        name = "concat" if cfg.view == "concat" else "+".join(data.view_names[v] for v in indices)
        return deep_cluster(
            [x],
            [np.ones(data.n_samples, dtype=bool)],
            [name],
            [1.0],
            0.0,
            0.0,
            self.config,
            n_clusters,
            seed,
            self.context,
        )
