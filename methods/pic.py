"""``pic``: Perturbation-oriented Incomplete multi-view Clustering (PIC).

Wang, Zong, Liu, Yang, Zhou. "Spectral perturbation meets incomplete multi-view data", IJCAI 2019.
Reference code: DarrenZZhang/TSCMA23-Survey_IMC, folder PIC (MATLAB); defaults follow it.

Steps (n samples, V views, K clusters; only observed rows of each view are ever read):

1. z-score every observed instance across its features (MATLAB ``std``, ddof = 1).
2. Per view, adaptive-neighbour similarity on the observed samples (Nie et al., KDD 2014):
   with squared distances d_i1 <= ... <= d_i,k+1 to the k + 1 nearest other samples,
   W_ij = (d_i,k+1 - d_ij) / (k d_i,k+1 - sum_{l<=k} d_il + eps) for the k nearest, 0 elsewhere
   (rows sum to 1; k = 13).
3. Completion: the row of a sample missing from view v is the row-normalised sum of its rows in
   the views that observe it (their average); then S^v = (S^v + S^vT) / 2.
4. L^v = D^-1/2 S^v D^-1/2 with D = diag(S^v 1), and its eigen-decomposition L^v = U_v Λ_v U_v^T.
5. Canonical angles between the top-K eigenspaces of every pair of views give the agreement
   phi_ij = pi - (largest canonical angle); Q = diag(phi 1) - phi (a Laplacian over views).
6. View weights: min_w  sum_m ||L* U_m - U_m |Λ_m| ||_F^2 + beta' w^T Q w  subject to w >= 0,
   sum w = 1, where L* = sum_v w_v L^v (the spectral perturbation of each view's spectrum under the
   fused Laplacian). As in the reference, this is the QP  min 1/2 w^T H w - f^T w  with
   H = C + beta' Q, C_ij = sum_m tr(L^i U_m U_m^T L^j), f_i = sum_m tr(L^i U_m |Λ_m| U_m^T) and
   beta' = beta ||C||_F / ||Q||_F (beta = 0.1). It is solved exactly by enumerating supports.
7. The K leading eigenvectors of L* (largest |eigenvalue|, as MATLAB's ``svd``), rows scaled to unit
   norm, then K-means.

Deviations from the reference code, with reasons:

- The reference divides every eigenvector matrix row by its row sum before step 5 and 6. That
  scaling depends on the arbitrary sign of each eigenvector (LAPACK's choice), so the weights it
  yields are not a function of the data; it is left out. The eigenvectors stay orthonormal, hence
  U_m U_m^T = I, C_ij = V tr(L^i L^j), and the canonical-angle cosines are not rescaled by their
  maximum (which the reference did to undo its scaling).
- The nearest neighbours exclude the sample itself explicitly (the reference skips the first
  sorted entry, which is another sample when two samples coincide).
- A view with fewer than k + 2 observed samples uses k = (observed - 2) neighbours.
- K-means runs ``n_init`` restarts (k-means++, seeded) instead of MATLAB's single run.
- Eigen-decompositions use ``numpy.linalg.eigh`` on the symmetric L (the same vectors and
  |values| as the reference's ``svd``, at lower cost).

Memory is dense O(n^2) per view and time O(V n^3); see :meth:`PIC.memory_estimate`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.method import Capabilities, FitResult, Method

_EPS = np.finfo(np.float64).eps


@dataclass
class PICConfig:
    n_neighbors: int = 13
    beta: float = 0.1
    n_init: int = 10

    constraints: ClassVar[Constraints] = {"n_neighbors": AT_LEAST_ONE, "beta": NON_NEGATIVE, "n_init": AT_LEAST_ONE}


def zscore_rows(x: np.ndarray) -> np.ndarray:
    """Standardise each row across its features (ddof = 1; a constant row is only centred)."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, ddof=1, keepdims=True) if x.shape[1] > 1 else np.zeros((len(x), 1))
    return centred / np.where(std > 0, std, _EPS)


def adaptive_neighbors(x: np.ndarray, k: int) -> np.ndarray:
    """Adaptive-neighbour similarity of the rows of ``x`` (rows sum to 1, not symmetrised)."""
    n = len(x)
    k = min(k, n - 2)
    if k < 1:
        raise ValueError(f"adaptive neighbours need at least 3 observed samples in a view; got {n}")
    sq = np.einsum("ij,ij->i", x, x)
    dist = x @ x.T
    dist *= -2.0
    dist += sq[:, None]
    dist += sq[None, :]
    np.fill_diagonal(dist, np.inf)
    idx = np.argpartition(dist, k, axis=1)[:, : k + 1]
    d = np.take_along_axis(dist, idx, axis=1)
    del dist
    order = np.argsort(d, axis=1, kind="stable")
    idx, d = np.take_along_axis(idx, order, axis=1), np.take_along_axis(d, order, axis=1)
    d_last = d[:, k : k + 1]
    weights = (d_last - d[:, :k]) / (k * d_last - d[:, :k].sum(axis=1, keepdims=True) + _EPS)
    s = np.zeros((n, n))
    np.put_along_axis(s, idx[:, :k], weights, axis=1)
    return s


def complete_similarities(graphs: list[np.ndarray], mask: np.ndarray) -> list[np.ndarray]:
    """Fill the row of each sample missing from a view by the average of its rows in the views
    that observe it, then symmetrise. ``graphs[v]`` (n x n, zero rows for missing samples) is
    overwritten in place and returned."""
    if (~mask.any(axis=1)).any():
        raise ValueError("a sample is observed in no view; drop it before clustering")
    filler = np.zeros_like(graphs[0])
    for v, g in enumerate(graphs):
        filler[mask[:, v]] += g[mask[:, v]]
    row_sums = filler.sum(axis=1, keepdims=True)
    filler /= np.where(row_sums > 0, row_sums, 1.0)
    for v, g in enumerate(graphs):
        g[~mask[:, v]] = filler[~mask[:, v]]
    del filler
    for g in graphs:
        g += g.T
        g *= 0.5
    return graphs


def normalized_affinity(s: np.ndarray) -> np.ndarray:
    """D^-1/2 S D^-1/2 (isolated nodes get zero rows), in place on ``s``."""
    deg = s.sum(axis=1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    s *= inv[:, None]
    s *= inv[None, :]
    return s


def leading_eigvecs(eigvals: np.ndarray, eigvecs: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` eigenvectors of largest |eigenvalue| (the order of MATLAB's svd on a symmetric L)."""
    order = np.argsort(-np.abs(eigvals), kind="stable")[:k]
    return eigvecs[:, order]


def canonical_agreement(bases: list[np.ndarray]) -> np.ndarray:
    """phi_ij = pi - largest canonical angle between the spans of orthonormal ``bases`` i and j."""
    n_views = len(bases)
    phi = np.zeros((n_views, n_views))
    for i in range(n_views):
        for j in range(i, n_views):
            cosines = np.clip(np.linalg.svd(bases[i].T @ bases[j], compute_uv=False), 0.0, 1.0)
            phi[i, j] = phi[j, i] = np.pi - np.arccos(cosines).max()
    return phi


def simplex_qp(h: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Exact minimiser of 1/2 w^T H w - f^T w over the probability simplex (H symmetric PSD).

    Enumerates supports: on each support the equality-constrained minimiser solves a KKT system;
    the best feasible one is the global optimum of the convex problem.
    """
    n = len(f)
    if n > 16:
        raise ValueError(f"the exact simplex QP enumerates supports and handles up to 16 views; got {n}")
    best, best_value = None, np.inf
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            s = list(support)
            kkt = np.zeros((size + 1, size + 1))
            kkt[:size, :size] = h[np.ix_(s, s)]
            kkt[:size, size] = kkt[size, :size] = 1.0
            rhs = np.append(f[s], 1.0)
            sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
            if sol.min() < -1e-12 or abs(sol.sum() - 1.0) > 1e-8:
                continue
            w = np.zeros(n)
            w[s] = np.clip(sol, 0.0, None)
            w /= w.sum()
            value = 0.5 * w @ h @ w - f @ w
            if value < best_value - 1e-15:
                best, best_value = w, value
    assert best is not None  # every vertex of the simplex is a feasible support
    return best


def view_weights(laplacians: list[np.ndarray], perturbation: np.ndarray, phi: np.ndarray, beta: float) -> np.ndarray:
    """Solve the PIC weight QP (step 6 of the module doc) with orthonormal eigenvectors;
    ``perturbation[i] = sum_m tr(L^i U_m |Λ_m| U_m^T)``."""
    n_views = len(laplacians)
    gram = np.array([[np.vdot(laplacians[i], laplacians[j]) for j in range(n_views)] for i in range(n_views)])
    c = n_views * gram
    q = np.diag(phi.sum(axis=1)) - phi
    q_norm = np.linalg.norm(q)
    scale = beta * np.linalg.norm(c) / q_norm if q_norm > 0 else 0.0
    h = c + scale * q
    return simplex_qp((h + h.T) / 2, perturbation)


class PIC(Method):
    """PIC (Wang et al., IJCAI 2019): spectral-perturbation weighted fusion of completed
    per-view similarity graphs, for incomplete views. Formulas and deviations: module doc."""

    name = "pic"
    Config = PICConfig
    capabilities = Capabilities(handles_missing=True, min_views=1)
    quick_params = {"n_init": 3}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        from sklearn.cluster import KMeans

        mask = np.asarray(data.mask, dtype=bool)
        n, k = data.n_samples, n_clusters
        graphs = []
        for v in range(data.n_views):
            rows = np.flatnonzero(mask[:, v])
            g = np.zeros((n, n))
            if len(rows):
                x = zscore_rows(np.asarray(data.view(v))[rows])
                g[np.ix_(rows, rows)] = adaptive_neighbors(x, self.config.n_neighbors)
            graphs.append(g)
        laplacians = complete_similarities(graphs, mask)
        del graphs
        perturbation, bases = np.zeros(len(laplacians)), []
        for lap in laplacians:
            normalized_affinity(lap)
        for lap in laplacians:
            vals, vecs = np.linalg.eigh(lap)
            bases.append(leading_eigvecs(vals, vecs, k))
            vecs *= np.sqrt(np.abs(vals))
            abs_spectrum = vecs @ vecs.T  # U |Λ| U^T
            del vecs
            perturbation += [np.vdot(other, abs_spectrum) for other in laplacians]
            del abs_spectrum
        phi = canonical_agreement(bases)
        weights = view_weights(laplacians, perturbation, phi, self.config.beta)
        fused = laplacians[0] * weights[0]
        for w, lap in zip(weights[1:], laplacians[1:]):
            fused += w * lap
        del laplacians
        vals, vecs = np.linalg.eigh(fused)
        embedding = leading_eigvecs(vals, vecs, k)
        embedding = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-10)
        km = KMeans(n_clusters=k, n_init=self.config.n_init, random_state=seed)
        labels = km.fit_predict(embedding).astype(np.int64)
        info = {f"weight_{name}": float(w) for name, w in zip(data.view_names, weights)}
        return FitResult(labels=labels, info=info)

    @classmethod
    def memory_estimate(cls, config: PICConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: V + 5 dense n x n float64 arrays (the graphs, then Laplacians, of every view;
        during one eigen-decomposition its vectors, LAPACK's 2 n^2 workspace, the |spectrum| product
        and a temporary) plus the largest z-scored view. Checked by benchmarks/pic_memory.py."""
        n, n_views = n_samples, len(view_dims)
        dense = (n_views + 5) * n * n * 8
        return int(dense + n * max(view_dims, default=0) * 8 * 2)
