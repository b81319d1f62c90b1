"""``synthetic``: a multi-view generator with controllable separation, view noise and missingness.

Samples are drawn around K cluster centres in a latent space; each view is a random linear map of
the latent point plus Gaussian noise. ``separation`` is the distance between any two centres (in
units of the within-cluster standard deviation). With ``complementary`` on, view v only sees one
binary split of the clusters (bit ``v mod ceil(log2 K)`` of the cluster index), so no single view
separates all clusters while the views together do. ``missing_rate`` removes one random view from
that fraction of samples (a natural missing-view mask).

Sizes up to millions of samples are supported (views are generated in row blocks, float32): e.g.
``{n_samples: 1000000, n_clusters: 10, view_dims: [50, 100, 200]}`` for the scaling benchmarks
(``benchmarks/scalable.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.conditions import missing_mask
from mvbench.data.sources import DatasetSource

#: rows generated at a time: the float64 work arrays stay small, so n = 1M samples with three views of
#: 50-200 dims (1.4 GB of float32 views) builds in about 2 GB
_BLOCK = 65536


@dataclass
class SyntheticParams:
    n_samples: int = 600
    n_clusters: int = 5
    view_dims: list[int] = field(default_factory=lambda: [20, 30, 10])
    separation: float = 4.0
    view_noise: float = 1.0
    missing_rate: float = 0.0
    complementary: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_clusters < 2 or self.n_samples < self.n_clusters:
            raise ValueError("need n_clusters >= 2 and n_samples >= n_clusters")
        if not self.view_dims or min(self.view_dims) < 1:
            raise ValueError("view_dims must list at least one positive dimension")
        if not 0 <= self.missing_rate < 1:
            raise ValueError("missing_rate must be in [0, 1)")


def generate(p: SyntheticParams) -> MultiViewDataset:
    """Draw one synthetic multi-view dataset from ``p`` (deterministic in ``p.seed``)."""
    rng = np.random.default_rng(p.seed)
    k, n = p.n_clusters, p.n_samples
    labels = np.arange(n) % k
    rng.shuffle(labels)
    latent_dim = k
    # Centres on scaled unit vectors: pairwise distance equals `separation`.
    centres = np.eye(k) * (p.separation / np.sqrt(2))
    n_bits = max(1, int(np.ceil(np.log2(k))))
    views = []
    for v, d in enumerate(p.view_dims):
        if p.complementary:
            split = (labels >> (v % n_bits)) & 1
            direction = rng.standard_normal(latent_dim)
            direction /= np.linalg.norm(direction)
            latent = np.outer(split - 0.5, direction) * p.separation
        else:
            latent = centres[labels]
        latent = latent + rng.standard_normal((n, latent_dim))
        projection = rng.standard_normal((latent_dim, d)) / np.sqrt(latent_dim)
        x = np.empty((n, d), dtype=np.float32)
        for start in range(0, n, _BLOCK):  # row blocks draw the same stream as one (n, d) draw
            rows = slice(start, min(start + _BLOCK, n))
            x[rows] = latent[rows] @ projection + p.view_noise * rng.standard_normal((rows.stop - start, d))
        views.append(x)
    mask = np.ones((n, len(views)), dtype=bool)
    if p.missing_rate > 0 and len(views) > 1:
        mask = missing_mask(mask, p.missing_rate, None, p.seed + 1)
    card = DatasetCard(
        name="synthetic",
        source="mvbench synthetic generator",
        description="Gaussian clusters in a latent space, linear views with noise",
        feature_extractors={f"view{v}": "random linear map + noise" for v in range(len(views))},
        license="CC0",
    )
    data = MultiViewDataset(
        views,
        [f"view{v}" for v in range(len(views))],
        labels=labels.astype(np.int64),
        ids=[f"s{i:05d}" for i in range(n)],
        card=card,
    )
    return data.with_mask(mask)


class Synthetic(DatasetSource):
    description = "Gaussian clusters seen through noisy linear views (separation, noise, missingness)"
    n_clusters = None  # set by its parameters
    Config = SyntheticParams

    def build(self, raw: Path | None, params: Any) -> MultiViewDataset:
        return generate(params)
