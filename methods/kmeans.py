"""K-means rows of the JECL table: K-means on one view (``km``) and on the concatenation (``km_concat``).

Lloyd's algorithm with k-means++ seeding and ``n_init`` restarts (scikit-learn), keeping the
restart of lowest inertia. Each view is normalised first (``normalization``): z-scoring suits dense
features, L2 suits embeddings, TF-IDF + L2 suits term counts. ``km_concat`` normalises every view
the same way, scales each to unit total variance (``balance_views``, so that views weigh the same
whatever their dimension), then concatenates them. Neither reads the missing-view mask: the runner imputes.
``info`` holds the best restart's Lloyd ``iterations``, ``max_iterations`` and ``converged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.data.degenerate import check_not_constant
from mvbench.data.preprocessing import Normalization, normalize_view
from mvbench.method import Capabilities, FitResult, Method


@dataclass
class KMeansConfig:
    normalization: Normalization = "zscore"
    n_init: int = 10
    max_iter: int = 300

    constraints: ClassVar[Constraints] = {"n_init": AT_LEAST_ONE, "max_iter": AT_LEAST_ONE}


@dataclass
class ConcatConfig(KMeansConfig):
    # Scale each normalised view to unit total variance before concatenating, so that every view
    # weighs the same whatever its dimension (plain z-scoring lets a 1024-d view swamp a 10-d one).
    balance_views: bool = True
    views: str = "all"  # the views to concatenate: "all", or comma-separated names or indices


@dataclass
class SingleViewConfig(KMeansConfig):
    view: str = "0"  # a view name, or its index


def kmeans_fit(x: np.ndarray, n_clusters: int, config: KMeansConfig, seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """Labels and convergence facts of the best restart: ``iterations`` (Lloyd steps it ran),
    ``max_iterations`` and ``converged`` (1.0 when it stopped before ``max_iter``)."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_clusters, n_init=config.n_init, max_iter=config.max_iter, random_state=seed)
    labels = km.fit_predict(x).astype(np.int64)
    info = {
        "iterations": float(km.n_iter_),
        "max_iterations": float(config.max_iter),
        "converged": float(km.n_iter_ < config.max_iter),
    }
    return labels, info


def kmeans_labels(x: np.ndarray, n_clusters: int, config: KMeansConfig, seed: int) -> np.ndarray:
    return kmeans_fit(x, n_clusters, config, seed)[0]


class KMeansSingleView(Method):
    """K-means on one view (the table's "ResNet-50 + KM" and "Doc2Vec + KM" rows)."""

    Config = SingleViewConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        check_not_constant(data, [self.view_index(data)], self.name or "km")

    def view_index(self, data: MultiViewDataset) -> int:
        view = self.config.view
        return data.view_index(int(view) if view.isdigit() else view)

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        index = self.view_index(data)
        x = normalize_view(data.view(index), self.config.normalization, data.mask[:, index])
        labels, info = kmeans_fit(x, n_clusters, self.config, seed)
        return FitResult(labels=labels, info=info)


class KMeansConcat(Method):
    """K-means on the concatenation of the normalised views (all by default; the table's "Concat + KM" row)."""

    Config = ConcatConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        data.view_indices(self.config.views)

    def features(self, data: MultiViewDataset) -> np.ndarray:
        """The matrix clustered: the normalised (and balanced) views side by side."""
        views = [
            normalize_view(data.view(v), self.config.normalization, data.mask[:, v])
            for v in data.view_indices(self.config.views)
        ]
        if self.config.balance_views:
            views = [x / np.sqrt(max(float(x.var(axis=0).sum()), 1e-12)) for x in views]
        return np.hstack(views)

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        labels, info = kmeans_fit(self.features(data), n_clusters, self.config, seed)
        return FitResult(labels=labels, info=info)
