"""``lmvsc``: Large-scale Multi-View Subspace Clustering in linear time (Kang, Zhou, Zhao, Shao, Han,
Xu; AAAI 2020). Reference code: zskong/Multi-view-data, ``Algorithm/large-scale/7.LMVSC(20AAAI)``
(``lmv.m``, ``runlmv.m``).

Implemented (n samples, V views, m anchors, K clusters):

1. Anchors per view: the m K-means centres A_v (m x d_v) of the view (``runlmv.m``: litekmeans, 10
   replicates, 100 iterations).
2. The smaller graph per view, paper Eq. 6, the closed-form step of ``lmv.m``: for every sample,
   z_i^v = argmin_z ||x_i^v - z A_v||^2 + alpha ||z||^2 s.t. z >= 0, 1^T z = 1 (a QP with Hessian
   2 (alpha I + A_v A_v^T) and linear term -2 A_v x_i; the reference calls quadprog per sample).
3. Sbar = [Z^1, ..., Z^V] / sqrt(V) (n x Vm); its K leading left singular vectors U (paper Eq. 11,
   the spectral embedding of the concatenated bipartite graphs, ``mySVD``), then K-means on U
   (10 replicates, 100 iterations, as ``lmv.m``).

Defaults: ``runlmv.m`` sweeps m in {K, 50, 100} and alpha in {0.01, 1, 100}; the defaults are the
middle of that grid (m = 50, alpha = 1). Cost O(n m (d + V m)) time and O(n V m) memory: linear in n, no n x n matrix.

Deviations from the reference, with reasons:

- Features are z-scored per feature (``normalization="zscore"``); the reference takes them as stored.
  alpha is an absolute weight, so its meaning depends on the feature scale: on raw handwritten the
  morphological view reaches 1e3, alpha = 1 is negligible there and the QP is ill-conditioned
  (condition number ~1e7; the projected-gradient solver below then needs thousands of steps).
  ``normalization="none"`` restores the reference.

- The per-sample QPs are solved together by accelerated projected gradient
  (:func:`mvbench.methods._anchors.simplex_ridge`, tolerance ``qp_tol`` on every entry) instead of
  one interior-point quadprog call per sample: the same minimiser (the problem is strictly convex),
  found in vectorised blocks.
- The anchors' K-means is fitted on at most ``anchor_sample`` samples (20 000, drawn with the seed):
  identical to the reference below that size; above it, ten restarts over all n rows would dominate
  the cost of a linear-time method. sklearn's k-means++ starts replace litekmeans' random samples.
- The left singular vectors come from the eigen-decomposition of the Vm x Vm Gram matrix
  Sbar^T Sbar (exact, O(n V^2 m^2)); K-means restarts are seeded by ``seed`` (the reference fixes
  MATLAB's twister seed 5489).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization, normalize_view
from mvbench.method import Capabilities, FitResult, Method
from mvbench.methods._anchors import BLOCK, kmeans_anchors, leading_left_singular_vectors, simplex_ridge


@dataclass
class LMVSCConfig:
    n_anchors: int = 50
    alpha: float = 1.0
    anchor_n_init: int = 10
    anchor_max_iter: int = 100
    anchor_sample: int = 20_000
    n_init: int = 10
    qp_tol: float = 1e-6
    qp_max_iter: int = 500
    normalization: Normalization = "zscore"

    constraints: ClassVar[Constraints] = {
        "n_anchors": AT_LEAST_ONE,
        "alpha": NON_NEGATIVE,
        "anchor_n_init": AT_LEAST_ONE,
        "anchor_max_iter": AT_LEAST_ONE,
        "anchor_sample": AT_LEAST_ONE,
        "n_init": AT_LEAST_ONE,
        "qp_tol": POSITIVE,
        "qp_max_iter": AT_LEAST_ONE,
    }


class LMVSC(Method):
    """LMVSC (Kang et al., AAAI 2020): per-view anchor graphs and the SVD of their concatenation.
    Formulas, defaults and deviations: module doc."""

    Config = LMVSCConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"n_anchors": 10, "anchor_n_init": 2, "n_init": 3}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        from sklearn.cluster import KMeans

        cfg = self.config
        n, m = data.n_samples, min(cfg.n_anchors, data.n_samples)
        sbar = np.empty((n, data.n_views * m), dtype=np.float32)
        qp_iterations = []
        for v in self.context.track(range(data.n_views), data.n_views, "lmvsc views"):
            x = normalize_view(data.view(v), cfg.normalization)
            anchors = kmeans_anchors(x, m, seed + v, cfg.anchor_n_init, cfg.anchor_max_iter, cfg.anchor_sample)
            z, iterations = simplex_ridge(x, anchors, cfg.alpha, cfg.qp_max_iter, cfg.qp_tol)
            del x
            sbar[:, v * m : (v + 1) * m] = z / np.sqrt(data.n_views)
            qp_iterations.append(iterations)
        embedding = leading_left_singular_vectors(sbar, n_clusters)
        del sbar
        km = KMeans(n_clusters=n_clusters, n_init=cfg.n_init, max_iter=100, random_state=seed)
        labels = km.fit_predict(embedding).astype(np.int64)
        return FitResult(labels=labels, info={"qp_iterations_max": max(qp_iterations)})

    @classmethod
    def memory_estimate(cls, config: LMVSCConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: Sbar (n x Vm, float32) plus the largest of (a) normalising the widest view (its
        observed rows' copy, one temporary and the float32 result: 3 n d_max float32), (b) solving one
        view (its normalised copy, Z in float32 with one temporary, the solver's block workspace: the
        block in float64 and ~5 live n_block x m float64 arrays, and the support systems,
        2 x 1024 (m + 1)^2 float64), (c) the anchors' K-means (the normalised view and three float64
        copies of at most ``anchor_sample`` rows, ours and scikit-learn's) and (d) the read-out's n x K
        embedding with K-means' copies (K = 10 assumed). Checked against the peak measured by
        ``benchmarks/scalable.py`` at 10k, 100k and 1M (where (a) binds) and on mnist_usps ((c) binds)."""
        n, m = n_samples, min(config.n_anchors, n_samples)
        d_max = max(view_dims, default=1)
        block = min(n, BLOCK) * (d_max * 8 + 5 * m * 8) + 2 * 1024 * (m + 1) ** 2 * 8
        solve = n * (d_max * 4 + 2 * m * 4) + block
        normalise = 3 * n * d_max * 4
        anchor_fit = n * d_max * 4 + min(n, config.anchor_sample) * d_max * 8 * 3
        readout = n * 10 * 8 * 4
        return int(n * len(view_dims) * m * 4 + max(solve, normalise, anchor_fit, readout))
