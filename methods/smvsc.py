"""``smvsc``: Scalable Multi-View Subspace Clustering with unified anchors (Sun, Wang, Liu, Wang, Zhu,
Tu, Zhu; ACM MM 2021). Reference code: zskong/Multi-view-data,
``Algorithm/large-scale/5.SMVSC(21MM)/SMVSC-main`` (``algo_qp.m``, ``demoqp.m``).

Objective (paper Eq. 5; n samples, V views, K clusters, m anchors in a d-dimensional common space)::

    min  sum_i alpha_i^2 ||X_i - W_i A Z||_F^2 + lambda ||Z||_F^2
    s.t. W_i^T W_i = I (d_i x d),  A A^T = I (d x m),  Z >= 0, Z^T 1 = 1 (m x n),  alpha >= 0, sum alpha = 1

X_i (d_i x n) is z-scored per feature (``mapstd``). Block updates, as ``algo_qp.m``:

- W_i = U V^T from the thin SVD of X_i (A Z)^T (orthogonal Procrustes);
- A = U V^T from the thin SVD of sum_i alpha_i^2 W_i^T X_i Z^T (the unified anchors);
- Z: each column solves min (sum alpha^2 + lambda) ||z||^2 - 2 z^T b_j over the simplex (the
  reference's Hessian 2 (sum alpha^2 + lambda) I, which takes A^T A as I), i.e. the Euclidean projection
  z = P_simplex(b_j / (sum alpha^2 + lambda)) with b = sum_i A^T W_i^T X_i (``algo_qp.m``: the linear
  term carries no view weight);
- alpha_i = (1 / M_i) / sum_v (1 / M_v), M_i = ||X_i - W_i A Z||_F^2;
- stop once iteration > 9 and the objective's relative change < 1e-3, or after ``max_iter`` (50)
  iterations; the start is the reference's: Z = [I_m, 0], A = 0 (so the first W_i step, an SVD of a
  zero matrix, gives MATLAB's W_i = I(d_i, d)).
- Read-out: the left singular vectors of Z^T (n x m, all m), rows scaled to unit length, K-means.

Defaults: d = K, lambda = 1 (``demoqp.m``); m = 2K, the middle of the reference's sweep {K, 2K, 3K}.
Cost O(n m (d_i + d)) per iteration, memory O(n (sum_i d_i + m)): linear in n, no n x n matrix.

Deviations from the reference, with reasons:

- None in the Z step by default: it follows ``algo_qp.m``, whose linear term sums A^T W_i^T X_i
  unweighted while its Hessian uses sum alpha^2; the gradient of the paper's objective weights each
  term by alpha_i^2 (``z_step="paper"``). Kept on evidence (seeds 0-2): the reference's step gives
  ACC 0.730 / 0.790 on handwritten / msrc_v1, the paper's 0.64-0.65 / 0.38-0.40 (its weights put 0.8
  on handwritten's 6-feature view, which d = K = 10 reconstructs exactly).
- The per-column quadprog calls are replaced by their closed form (a simplex projection): the Hessian
  is a multiple of I, so both give the same z.
- Read-out: K-means with ``n_init`` seeded restarts, keeping the lowest inertia; the reference's
  ``myNMIACCwithmean`` runs 50 single k-means and reports the best of each metric against the labels
  (a selection by the ground truth, which a benchmark cannot do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization, normalize_view
from mvbench.method import Capabilities, FitResult, Method
from mvbench.methods._anchors import leading_left_singular_vectors, project_simplex


@dataclass
class SMVSCConfig:
    n_anchors: int = 0
    dim: int = 0
    lam: float = 1.0
    max_iter: int = 50
    tol: float = 1e-3
    n_init: int = 10
    normalization: Normalization = "zscore"
    z_step: Literal["reference", "paper"] = "reference"

    #: n_anchors 0: 2 K; dim 0: K (the reference's d = numclass); z_step: the linear term's view weights
    #: (module doc)
    constraints: ClassVar[Constraints] = {
        "n_anchors": NON_NEGATIVE,
        "dim": NON_NEGATIVE,
        "lam": NON_NEGATIVE,
        "max_iter": AT_LEAST_ONE,
        "tol": NON_NEGATIVE,
        "n_init": AT_LEAST_ONE,
    }


def polar(c: np.ndarray) -> np.ndarray:
    """U V^T from the thin SVD of ``c``: the orthogonal factor closest to ``c`` (Procrustes)."""
    u, _, vt = np.linalg.svd(c, full_matrices=False)
    return u @ vt


def view_weights(residuals: np.ndarray) -> np.ndarray:
    """alpha_i = (1 / M_i) / sum_v (1 / M_v): the minimiser of sum alpha_i^2 M_i on the simplex."""
    inverse = 1.0 / np.maximum(residuals, np.finfo(np.float64).tiny)
    return inverse / inverse.sum()


def z_step(xws: list[np.ndarray], a: np.ndarray, alpha: np.ndarray, lam: float, weighted: bool = False) -> np.ndarray:
    """Z^T (n x m): rows P_simplex(sum_i c_i (X_i^T W_i) A / (sum alpha^2 + lam)), ``xws[i] = X_i^T W_i``,
    with c_i = 1 (``algo_qp.m``) or, ``weighted``, c_i = alpha_i^2 (the paper's gradient)."""
    b = sum((w * w if weighted else 1.0) * (xw @ a) for w, xw in zip(alpha, xws))
    return project_simplex(b / (float(alpha @ alpha) + lam))


class SMVSC(Method):
    """SMVSC (Sun et al., ACM MM 2021): anchors unified across views, learned with the anchor graph.
    Formulas, defaults and deviations: module doc."""

    Config = SMVSCConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"n_init": 3}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        from sklearn.cluster import KMeans

        cfg = self.config
        n = data.n_samples
        m = min(cfg.n_anchors or 2 * n_clusters, n)
        d = min(cfg.dim or n_clusters, m)
        xs = [normalize_view(data.view(v), cfg.normalization) for v in range(data.n_views)]
        sq_norms = np.array([float(np.einsum("ij,ij->", x, x, dtype=np.float64)) for x in xs])
        zt = np.zeros((n, m))
        zt[np.arange(m), np.arange(m)] = 1.0
        ws = [np.eye(x.shape[1], d) for x in xs]
        alpha = np.full(data.n_views, 1.0 / data.n_views)
        a = np.zeros((d, m))  # the reference's start; the first W step does not read it
        history: list[dict[str, float]] = []
        iteration = 0
        for iteration in self.context.track(range(1, cfg.max_iter + 1), cfg.max_iter, "smvsc"):
            if iteration > 1:
                azt = (zt @ a.T).astype(np.float32)  # (A Z)^T, n x d
                ws = [polar(x.T @ azt) for x in xs]
            z32 = zt.astype(np.float32)
            xz = [x.T @ z32 for x in xs]  # X_i Z^T, d_i x m
            a = polar(sum(w * w * (wv.T @ c) for w, wv, c in zip(alpha, ws, xz)))
            xws = [x @ wv.astype(np.float32) for x, wv in zip(xs, ws)]  # X_i^T W_i, n x d
            zt = z_step(xws, a, alpha, cfg.lam, cfg.z_step == "paper")
            gram = zt.T @ zt
            residuals = np.array(
                [
                    sq - 2.0 * np.vdot(wv.T @ (x.T @ zt.astype(np.float32)), a) + np.vdot(a.T @ (wv.T @ wv) @ a, gram)
                    for sq, x, wv in zip(sq_norms, xs, ws)
                ]
            )
            alpha = view_weights(residuals)
            objective = float(alpha**2 @ residuals + cfg.lam * np.trace(gram))
            history.append({"objective": objective})
            if iteration > 1:
                previous = history[-2]["objective"]
                if iteration > 9 and abs(previous - objective) / previous < cfg.tol or objective < 1e-10:
                    break
        del xs
        embedding = leading_left_singular_vectors(zt, m)
        embedding /= np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
        km = KMeans(n_clusters=n_clusters, n_init=cfg.n_init, max_iter=100, random_state=seed)
        labels = km.fit_predict(embedding).astype(np.int64)
        info = {"iterations": iteration, **{f"weight_{v}": float(w) for v, w in zip(data.view_names, alpha)}}
        return FitResult(labels=labels, history=history, info=info)

    @classmethod
    def memory_estimate(cls, config: SMVSCConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: the z-scored views (float32), Z^T in float64 and float32 with the Z step's b, its
        per-view products and the projection's temporaries (about 8 n x m float64), the V n x d products
        X_i^T W_i, the read-out's n x m embedding and K-means' per-sample arrays, and 10 MiB of
        workspace (LAPACK, K-means). The estimate does not know K: with the defaults (m = 2 K, d = K) it
        assumes K = 10. Calibrated on synthetic (3 views, 350 features): 39.0 / 300.2 MiB measured at
        n = 10k / 100k (``benchmarks/scalable.md``)."""
        n = n_samples
        m = config.n_anchors or 20
        d = config.dim or 10
        per_sample = sum(view_dims) * 4 + m * (8 * 8) + len(view_dims) * d * 4 + m * 8 + 10 * 8
        return int(n * per_sample + 10 * 2**20)
