"""Multi-view LRSSC: low-rank sparse subspace clustering (Brbić & Kopriva, Pattern Recognition 2018).

Reference implementation: mbrbic/Multi-view-LRSSC (``pairwise_MLRSSC.m``, ``centroid_MLRSSC.m`` and
their ``*_one_view_LRSSC.m`` steps, noisy kernelised variant). Per view, with K^v = X^v X^v^T::

    min sum_v 0.5 ||Phi^v - Phi^v C^v||^2 + beta1 ||C^v||_* + beta2 ||C^v||_1 + lambda_v R(C^v),
    diag(C^v) = 0,

with R the pairwise consensus sum_{w != v} ||C^v - C^w||^2 (``variant="pairwise"``) or the centroid
term ||C^v - C*||^2 (``variant="centroid"``). ADMM splits C^v into A (data term), C1 (nuclear), C2
(l1, zero diagonal), C3 (consensus), with multipliers L2, L3, L4 and one penalty mu for all::

    A  = (K + 3 mu I)^-1 (K + mu (C1 + C2 + C3) - (L2 + L3 + L4))
    C2 = soft(A + L2/mu, beta2/mu), diag(C2) = 0          C1 = SVT(A + L3/mu, beta1/mu)
    C3 = (2 lambda S + mu A + L4) / (2 lambda w + mu)     (S = sum_{w != v} C2^w, w = V - 1;
                                                           centroid: S = C*, w = 1)
    L2 += mu (A - C2);  L3 += mu (A - C1);  L4 += mu (A - C3);  mu <- min(rho mu, mu_max)

C* = mean_v C2^v after each sweep (centroid). Stop when max|A - C1|, max|A - C2|, max|A - C3| and
max|A - A_prev| are all below ``tol`` for every view, or after ``max_iter`` (reference: 300 pairwise,
100 centroid; ``max_iter=0`` picks these). Affinity W = |C| + |C|^T with C = mean_v C2^v (pairwise)
or C* (centroid), then Ng–Jordan–Weiss spectral clustering.

Defaults from the reference functions: mu 100, rho 1.5, mu_max 1e6, tol 1e-3, lambda = [0.3, 0.3, 0.3]
(beta1 low-rank, beta2 sparsity, lambda consensus), linear kernel.

Deviation: samples are L2-normalised by default (``normalization="l2"``); the reference's run
scripts pass features as stored. The fixed lambdas and the mu schedule are scale-dependent, and the
benchmark's views come at arbitrary scales: on msrc_v1 the raw features give ACC 0.23 after 20 s,
unit-norm samples ACC 0.72 after 0.5 s (seed 0). ``normalization="none"`` restores the reference.

Speed-ups (exact, not approximations): K^v is eigendecomposed once, K = V diag(s) V^T, so
(K + c I)^-1 (K + M) = V diag(1/(s + c)) (diag(s) V^T + V^T M) for every mu without any inverse; the
whole iteration runs in ``dtype`` (float32 by default: the ADMM tolerance 1e-3 is far above float32
round-off). ``history`` records per iteration the primal residual max_v,j |A^v - C_j^v|, the change
max|A - A_prev| and mu: ADMM drives the residual to 0 as mu grows; the objective itself is not
monotone under ADMM and is not computed (it would cost one more n x n SVD per view).

Memory: 8 dense n x n arrays per view plus up to 10 of workspace (SVD, affinity) and a margin, see
``memory_estimate``; the runner refuses cells that do not fit. No deviations from the reference's update rules; its
``noisy=false`` variant (an extra multiplier on X - XA, not kernelisable) is not implemented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from mvbench.config import NON_NEGATIVE, POSITIVE, All, Constraints, Interval, Length
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization, normalize_view
from mvbench.method import Capabilities, FitResult, Method

from ._spectral import spectral_clustering

#: dense n x n arrays kept per view: V, A, C1, C2, C3, L2, L3, L4
_PER_VIEW = 8
#: dense n x n arrays of workspace: right-hand side, V^T M, SVD input copy, U, Vt, LAPACK work
#: (gesdd needs about 4 n^2 more), sum of the C2s / centroid, the final affinity, and a 2 n^2
#: margin for BLAS/LAPACK buffers that Python cannot see
_WORKSPACE = 12


@dataclass
class LRSSCConfig:
    variant: Literal["pairwise", "centroid"] = "pairwise"
    lambdas: list[float] = field(default_factory=lambda: [0.3, 0.3, 0.3])
    mu: float = 100.0
    rho: float = 1.5
    mu_max: float = 1e6
    tol: float = 1e-3
    max_iter: int = 0
    dtype: Literal["float32", "float64"] = "float32"
    normalization: Normalization = "l2"

    #: lambdas: low-rank, sparsity and consensus weights; max_iter 0: the reference's 300 (pairwise) / 100 (centroid).
    constraints: ClassVar[Constraints] = {
        "lambdas": All((Length(3, 3), NON_NEGATIVE)),
        "mu": POSITIVE,
        "rho": Interval(1),
        "tol": NON_NEGATIVE,
        "max_iter": NON_NEGATIVE,
    }

    def __post_init__(self) -> None:
        if self.mu_max < self.mu:
            raise ValueError(f"mu_max ({self.mu_max}) must be >= mu ({self.mu})")


def soft_threshold(x: np.ndarray, t: float) -> np.ndarray:
    """Elementwise shrinkage sign(x) max(|x| - t, 0)."""
    return np.sign(x) * np.maximum(np.abs(x) - t, 0)


def singular_value_threshold(x: np.ndarray, t: float) -> np.ndarray:
    """Proximal operator of t ||.||_*: U max(S - t, 0) V^T."""
    import scipy.linalg

    u, s, vt = scipy.linalg.svd(x, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    keep = s > t
    return (u[:, keep] * (s[keep] - t)) @ vt[keep]


class LRSSC(Method):
    """Multi-view low-rank sparse subspace clustering (Brbić & Kopriva 2018); see the module docstring."""

    Config = LRSSCConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"max_iter": 15}

    @classmethod
    def memory_estimate(cls, config: LRSSCConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: (8 per view + 12 workspace) dense n x n arrays, plus the views themselves."""
        itemsize = np.dtype(config.dtype).itemsize
        dense = (_PER_VIEW * len(view_dims) + _WORKSPACE) * n_samples * n_samples * itemsize
        return int(dense + 2 * 4 * n_samples * sum(view_dims))

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        cfg = self.config
        dtype = np.dtype(cfg.dtype)
        n, n_views = data.n_samples, data.n_views
        beta1, beta2, lam = cfg.lambdas
        max_iter = cfg.max_iter or (300 if cfg.variant == "pairwise" else 100)
        spectra, bases = [], []
        for v in range(n_views):
            x = normalize_view(data.view(v), cfg.normalization, data.mask[:, v]).astype(np.float64)
            s, basis = np.linalg.eigh(x @ x.T)
            spectra.append(np.maximum(s, 0).astype(dtype))
            bases.append(basis.astype(dtype))
            del basis, x
        zeros = lambda: np.zeros((n, n), dtype=dtype)  # noqa: E731
        a = [zeros() for _ in range(n_views)]
        c1, c2, c3 = ([zeros() for _ in range(n_views)] for _ in range(3))
        l2, l3, l4 = ([zeros() for _ in range(n_views)] for _ in range(3))
        centroid = zeros()
        mu = cfg.mu
        history: list[dict[str, float]] = []
        converged = False
        for _ in self.context.track(range(max_iter), total=max_iter, description="lrssc"):
            total = sum(c2) if cfg.variant == "pairwise" else None
            weight = 2.0 * lam * (n_views - 1 if cfg.variant == "pairwise" else 1)
            residual = change = 0.0
            for v in range(n_views):
                anchor = total - c2[v] if total is not None else centroid
                # A = (K + 3 mu I)^-1 (K + M) = V diag(1/(s + 3 mu)) (diag(s) V^T + V^T M)
                proj = bases[v].T @ (mu * (c1[v] + c2[v] + c3[v]) - (l2[v] + l3[v] + l4[v]))
                proj += spectra[v][:, None] * bases[v].T
                proj /= (spectra[v] + 3.0 * mu)[:, None]
                new_a = bases[v] @ proj
                del proj
                change = max(change, float(np.abs(new_a - a[v]).max()))
                a[v] = new_a
                c2[v] = soft_threshold(a[v] + l2[v] / mu, beta2 / mu).astype(dtype, copy=False)
                np.fill_diagonal(c2[v], 0)
                c1[v] = singular_value_threshold(a[v] + l3[v] / mu, beta1 / mu).astype(dtype, copy=False)
                c3[v] = ((2.0 * lam) * anchor + mu * a[v] + l4[v]) / (weight + mu)
                del anchor
                for c, mult in ((c2[v], l2[v]), (c1[v], l3[v]), (c3[v], l4[v])):
                    gap = a[v] - c
                    residual = max(residual, float(np.abs(gap).max()))
                    gap *= mu
                    mult += gap
                    del gap
            if cfg.variant == "centroid":
                centroid = sum(c2) / n_views
            history.append({"primal_residual": residual, "change": change, "mu": mu})
            mu = min(cfg.rho * mu, cfg.mu_max)
            if residual <= cfg.tol and change <= cfg.tol:
                converged = True
                break
        coefficients = sum(c2) / n_views if cfg.variant == "pairwise" else centroid
        del a, c1, c2, c3, l2, l3, l4, bases
        affinity = np.abs(coefficients)
        affinity += affinity.T
        labels, _ = spectral_clustering(affinity, n_clusters, seed)
        return FitResult(
            labels=labels,
            history=history,
            info={"iterations": float(len(history)), "max_iterations": float(max_iter), "converged": float(converged)},
        )
