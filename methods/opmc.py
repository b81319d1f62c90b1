"""``opmc``: One-Pass Multi-view Clustering for large-scale data (Liu, Liu, Yang, Liu, Wang, Liang,
Shi; ICCV 2021). Reference code: zskong/Multi-view-data, ``Algorithm/large-scale/4.OPMC(21ICCV)``
(``opmc.m``, ``update_W.m``, ``update_C.m``, ``update_Y.m``, ``cal_obj.m``, ``main.m``).

Objective (paper Eq. 4; n samples, V views, K clusters, c = K)::

    min  sum_v beta_v ||X_v - Y C_v W_v||_F^2   s.t. Y in {0,1}^(n x K), Y 1 = 1,  W_v W_v^T = I (c x d_v)

X_v (n x d_v), each sample z-scored across its features (``main.m``: ``zscore`` of the d x n matrix,
ddof = 1). One pass of block updates per iteration, as ``opmc.m``:

- W_v = U V^T from the thin SVD of C_v^T Y^T X_v (c x d_v; Procrustes; ``update_W``);
- C_v = (Y^T Y)^-1 Y^T X_v W_v^T (``update_C``: the cluster means of X_v, projected on W_v);
- Y: each sample joins argmin_j sum_v beta_v ||x_i^v - (C_v W_v)_j||^2 (``update_Y``);
- beta_v = 1/V, fixed (the reference's ``update_beta`` call is commented out);
- stop once iteration > 2 and |obj_t - obj_t-1| / obj_t < ``tol`` (1e-5), the objective evaluated at the
  start of each iteration (``cal_obj``).

Start (``opmc.m``): Y uniform random labels, C_v uniform in [0, 1). ``main.m`` runs the algorithm 100
times and keeps the run of lowest final objective, a selection without labels; ``n_init`` restarts
(default 10) do the same. Cost O(n K sum_v d_v) per iteration, memory O(n sum_v d_v): linear in n.

Deviations from the reference, with reasons:

- ``n_init`` = 10 restarts instead of ``main.m``'s 100 (a tenth of the cost; the selection rule is the same).
- ``max_iter`` (300) bounds each run; the reference loops until the tolerance is met.
- An empty cluster keeps C_v's row at 0 (the reference's 1 / (0 + eps) factor times a zero sum, the same).
- The reference adds eps to Y^T X_v before the SVD in ``update_W`` (a guard for all-zero rows); left out,
  numpy's SVD needs no guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import normalize_view
from mvbench.method import Capabilities, FitResult, Method

OPMCNormalization = Literal["sample_zscore", "auto", "none", "zscore", "l2", "tfidf_l2", "minmax"]


@dataclass
class OPMCConfig:
    n_init: int = 10
    max_iter: int = 300
    tol: float = 1e-5
    normalization: OPMCNormalization = "sample_zscore"

    constraints: ClassVar[Constraints] = {"n_init": AT_LEAST_ONE, "max_iter": AT_LEAST_ONE, "tol": NON_NEGATIVE}


def sample_zscore(x: np.ndarray) -> np.ndarray:
    """Each row standardised across its features (ddof = 1; a constant row is only centred), float32."""
    x = np.asarray(x, dtype=np.float32)
    out = x - x.mean(axis=1, keepdims=True)
    std = out.std(axis=1, ddof=1, keepdims=True) if x.shape[1] > 1 else np.zeros((len(x), 1), np.float32)
    out /= np.where(std > 0, std, 1.0)
    return out


def cluster_sums(x: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Y^T X (k x d, float64), cluster sizes) for hard labels."""
    import scipy.sparse as sp

    indicator = sp.csr_matrix((np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))), (k, len(x)))
    return np.asarray(indicator @ x, dtype=np.float64), np.bincount(labels, minlength=k)


def update_w(sums: np.ndarray, c: np.ndarray) -> np.ndarray:
    """W_v = U V^T from the thin SVD of C_v^T Y^T X_v (``update_W``)."""
    u, _, vt = np.linalg.svd(c.T @ sums, full_matrices=False)
    return u @ vt


def update_c(sums: np.ndarray, sizes: np.ndarray, w: np.ndarray) -> np.ndarray:
    """C_v = (Y^T Y)^-1 Y^T X_v W_v^T (``update_C``; an empty cluster's row is 0)."""
    means = sums / np.maximum(sizes, 1)[:, None]
    return means @ w.T


def assign(xs: list[np.ndarray], centres: list[np.ndarray], beta: np.ndarray) -> tuple[np.ndarray, float]:
    """Y step: argmin_j sum_v beta_v ||x_i^v - centre_vj||^2; returns (labels, objective at them)."""
    n = xs[0].shape[0]
    cost = np.zeros((n, centres[0].shape[0]))
    for b, x, cen in zip(beta, xs, centres):
        cost += b * squared_distances(x, cen)
    labels = cost.argmin(axis=1)
    return labels, float(cost[np.arange(n), labels].sum())


def squared_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """||x_i - c_j||^2 (n x k) in float64, clipped at 0 (``EuDist2`` without the square root)."""
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    cross = x @ centres.astype(np.float32).T
    return np.maximum(sq[:, None] - 2.0 * cross + (centres**2).sum(axis=1)[None, :], 0.0)


def objective(xs: list[np.ndarray], labels: np.ndarray, centres: list[np.ndarray], beta: np.ndarray) -> float:
    """sum_v beta_v ||X_v - Y C_v W_v||_F^2 (``cal_obj``)."""
    total = 0.0
    for b, x, cen in zip(beta, xs, centres):
        d = squared_distances(x, cen)
        total += b * float(d[np.arange(len(labels)), labels].sum())
    return total


class OPMC(Method):
    """OPMC (Liu et al., ICCV 2021): one-pass multi-view matrix factorisation with a discrete partition.
    Formulas, defaults and deviations: module doc."""

    Config = OPMCConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"n_init": 2}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        cfg = self.config
        k, n_views = n_clusters, data.n_views
        xs = [self._prepare(data, v) for v in range(n_views)]
        beta = np.full(n_views, 1.0 / n_views)
        rng = np.random.default_rng(seed)
        best: tuple[float, np.ndarray, list[dict[str, float]], int] | None = None
        for _ in self.context.track(range(cfg.n_init), cfg.n_init, "opmc restarts"):
            labels, history, iterations = self._run(xs, beta, k, cfg, rng)
            final = history[-1]["objective"]
            if best is None or final < best[0]:
                best = (final, labels, history, iterations)
        assert best is not None
        final, labels, history, iterations = best
        return FitResult(labels=labels.astype(np.int64), history=history, info={"iterations": iterations})

    def _prepare(self, data: MultiViewDataset, v: int) -> np.ndarray:
        kind = self.config.normalization
        return sample_zscore(data.view(v)) if kind == "sample_zscore" else normalize_view(data.view(v), kind)

    @staticmethod
    def _run(
        xs: list[np.ndarray], beta: np.ndarray, k: int, cfg: OPMCConfig, rng: np.random.Generator
    ) -> tuple[np.ndarray, list[dict[str, float]], int]:
        n = xs[0].shape[0]
        labels = rng.integers(0, k, n)
        cs = [rng.random((k, k)) for _ in xs]
        ws: list[np.ndarray] = []
        history: list[dict[str, float]] = []
        previous = None
        iteration = 0
        for iteration in range(1, cfg.max_iter + 1):
            stats = [cluster_sums(x, labels, k) for x in xs]
            if ws:  # cal_obj at the start of the iteration (the random W of opmc.m is never used otherwise)
                current = objective(xs, labels, [c @ w for c, w in zip(cs, ws)], beta)
                history.append({"objective": current})
                if previous is not None and iteration > 2 and abs(current - previous) / max(current, 1e-300) < cfg.tol:
                    break
                previous = current
            ws = [update_w(sums, c) for (sums, _), c in zip(stats, cs)]
            cs = [update_c(sums, sizes, w) for (sums, sizes), w in zip(stats, ws)]
            labels, _ = assign(xs, [c @ w for c, w in zip(cs, ws)], beta)
        if not history:
            history.append({"objective": objective(xs, labels, [c @ w for c, w in zip(cs, ws)], beta)})
        return labels, history, iteration

    @classmethod
    def memory_estimate(cls, config: OPMCConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: the normalised views (float32), the labels, and during the Y step the n x K cost,
        distance, cross-product and temporary arrays (about 8 float64 per cluster and sample) for K = 10
        (the estimate does not know K), plus 2 MiB of workspace. Calibrated on synthetic (3 views, 350
        features): 22.3 / 204.9 MiB measured at n = 10k / 100k (``benchmarks/scalable.md``)."""
        k = 10
        per_sample = sum(view_dims) * 4 + 8 * 4 + k * (8 * 8 + 4)
        return int(n_samples * per_sample + 2 * 2**20)
