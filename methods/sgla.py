"""``sgla``: Spectrum-Guided multi-view Laplacian Aggregation, clustering task (Liang, Yang, et al.;
"Efficient and effective multi-view graph clustering via spectrum-guided Laplacian aggregation",
ICDE 2025). Reference code: CyanideCentral/SGLA (``SGLA.py``, ``spectral.py``, ``config.py``).

Implemented, for feature views (n samples, V views, K clusters):

1. Per view, the kNN graph of the L2-normalised rows by inner product (cosine), ``knn`` = 10
   neighbours besides the sample itself, weights the similarities; A_v = W + W^T (the reference's
   ``knn + knn.T``, doubled: a scale that the normalisation removes).
2. Normalised adjacency Â_v = D_v^-1/2 A_v D_v^-1/2 and the aggregated Laplacian
   L(w) = I - sum_v w_v Â_v with w on the simplex (w_V = 1 - sum of the others).
3. View weights: COBYLA (``scipy.optimize.minimize``; ``tmax`` = 50 iterations, tolerance
   ``epsilon`` = 1e-3, initial step ``rhobeg`` = 0.05, constraints w >= 0, sum w <= 1, start 1/V) on the
   reference's spectral objective  lambda_K / lambda_K+1 - lambda_2 + gamma ||w||^2  (gamma = 0.5), with
   lambda_1 <= lambda_2 <= ... the smallest eigenvalues of L(w) (ARPACK, tolerance ``eig_tol`` = 0.01).
4. The K eigenvectors of the K smallest eigenvalues of L(w*), discretised by Yu & Shi's rotation
   (:func:`discretize`: 3 random rotations, the best by normalised cut, then alternating
   label/rotation steps until the normalised cut stops changing or 50 steps).

Defaults from the reference's argparse/``config.py`` (knn 10, tmax 50, epsilon 1e-3, gamma 0.5,
eig_tol 0.01, rhobeg 0.05). Cost: the exact kNN search is O(n^2 d) time in chunks, O(n k) memory;
each objective evaluation is one Lanczos run on the sparse operator: no n x n matrix.

Deviations from the reference, with reasons:

- Exact kNN by chunked matrix products (``_spectral.knn_indices``) instead of faiss's flat index
  (the same neighbours up to ties); scipy's sparse products instead of ``sparse_dot_mkl``.
- The smallest eigenvalues of L(w) are computed as the largest of sum_v w_v Â_v (``which="LA"``;
  1 - lambda), the same eigenpairs as ``eigsh(L, which="SM")`` found faster; the Lanczos start vector
  is seeded (ARPACK's default start is random).
- The final eigenvectors use the optimiser's returned w; the reference uses whatever weights its
  objective closure evaluated last (COBYLA's last trial point, usually but not always the best).
- A node whose degree is not positive gets D^-1/2 = 1 (the reference: only degree 0; a negative
  degree, possible with negative cosine weights, would give NaN there).
- Discretisation: the random rotations are drawn from ``seed`` (the reference: seeds 0, 1, 2).
- Graph views (the paper's attributed multiplex graphs) do not exist in mvbench's data: every view
  is a feature view and gets its kNN graph, as the reference does for its feature matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.method import Capabilities, FitResult, Method
from mvbench.methods._graphs import cosine_knn, knn_graph, sym_normalized

if TYPE_CHECKING:
    import scipy.sparse as sp


@dataclass
class SGLAConfig:
    knn: int = 10
    gamma: float = 0.5
    tmax: int = 50
    epsilon: float = 1e-3
    rhobeg: float = 0.05
    eig_tol: float = 0.01

    constraints: ClassVar[Constraints] = {
        "knn": AT_LEAST_ONE,
        "gamma": NON_NEGATIVE,
        "tmax": AT_LEAST_ONE,
        "epsilon": POSITIVE,
        "rhobeg": POSITIVE,
        "eig_tol": NON_NEGATIVE,
    }


def spectral_objective(eigenvalues: np.ndarray, weights: np.ndarray, k: int, gamma: float) -> float:
    """lambda_K / lambda_K+1 - lambda_2 + gamma ||w||^2 from the K + 1 smallest Laplacian eigenvalues."""
    lam = np.sort(eigenvalues)
    return float(lam[k - 1] / lam[k] - lam[1] + gamma * np.sum(weights**2))


def full_weights(free: np.ndarray) -> np.ndarray:
    """The simplex weights (w_1..w_V-1, 1 - sum) from the optimiser's V - 1 free ones."""
    return np.append(free, 1.0 - np.sum(free))


def discretize(vectors: np.ndarray, seed: int, n_init: int = 3, max_iter: int = 50) -> np.ndarray:
    """Yu & Shi's discretisation of a spectral embedding (n x K) into K hard clusters.

    Columns are scaled to norm sqrt(n) with a fixed sign, rows to unit length; among ``n_init`` random
    rotations R the one of lowest normalised cut 2 (n - sum sigma(Y^T V R)) starts the alternation
    labels = argmax(V R), R = Q P^T from the SVD P S Q^T of Y_normalised^T V, until the cut stops
    changing (``max_iter`` steps at most).
    """
    from scipy.stats import special_ortho_group

    n, k = vectors.shape
    v = vectors / np.linalg.norm(vectors, axis=0) * np.sqrt(n)
    signs = np.sign(v[0])
    v = v * -np.where(signs == 0, -1.0, signs)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = np.where(norms > 0, v / np.where(norms > 0, norms, 1.0), 0.0)

    def cut(labels: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        sizes = np.sqrt(np.bincount(labels, minlength=k).astype(np.float64))
        sizes[sizes == 0] = 1.0
        proj = np.zeros((k, k))
        np.add.at(proj, labels, v)
        u, s, vh = np.linalg.svd(proj / sizes[:, None])
        return 2.0 * (n - s.sum()), u, vh

    rng = np.random.default_rng(seed)
    rotations = [special_ortho_group.rvs(k, random_state=rng) for _ in range(n_init)] if k > 1 else [np.eye(1)]
    rotation = min(rotations, key=lambda r: cut((v @ r).argmax(axis=1))[0])
    last = np.inf
    labels = (v @ rotation).argmax(axis=1)
    for _ in range(max_iter + 1):
        labels = (v @ rotation).argmax(axis=1)
        value, u, vh = cut(labels)
        if abs(value - last) < np.finfo(np.float64).eps:
            break
        last = value
        rotation = vh.T @ u.T
    return labels


class SGLA(Method):
    """SGLA (ICDE 2025): kNN graphs per view aggregated with weights that optimise a spectral
    objective, then a discretised spectral embedding. Formulas, defaults and deviations: module doc."""

    Config = SGLAConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"tmax": 10}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        from scipy.optimize import minimize

        cfg = self.config
        n, k, n_views = data.n_samples, n_clusters, data.n_views
        if n <= k + 2 or n <= cfg.knn:
            raise ValueError(f"sgla needs more than max(K + 2, knn) = {max(k + 2, cfg.knn)} samples; got {n}")
        adjs = []
        for v in range(n_views):
            idx, sims = cosine_knn(np.asarray(data.view(v)), cfg.knn)
            w = knn_graph(idx, sims, n)
            adjs.append(sym_normalized(w + w.T))
        v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, n)
        evaluations = 0

        def laplacian_spectrum(weights: np.ndarray, vectors: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
            from scipy.sparse.linalg import eigsh

            fused = aggregate(adjs, weights)
            if vectors:
                values, vecs = eigsh(fused, k + 1, which="LA", tol=cfg.eig_tol, maxiter=1000, v0=v0)
                return 1.0 - values, vecs
            return 1.0 - eigsh(
                fused, k + 1, which="LA", tol=cfg.eig_tol, maxiter=1000, v0=v0, return_eigenvectors=False
            ), None

        def objective(free: np.ndarray) -> float:
            nonlocal evaluations
            evaluations += 1
            weights = full_weights(free)
            return spectral_objective(laplacian_spectrum(weights)[0], weights, k, cfg.gamma)

        if n_views > 1:
            constraints = [
                {"type": "ineq", "fun": lambda w: 1.0 - np.sum(w)},
                {"type": "ineq", "fun": lambda w: np.min(w)},
                {"type": "ineq", "fun": lambda w: 1.0 - np.max(w)},
            ]
            result = minimize(
                objective,
                np.full(n_views - 1, 1.0 / n_views),
                method="COBYLA",
                tol=cfg.epsilon,
                constraints=constraints,
                options={"maxiter": cfg.tmax, "rhobeg": cfg.rhobeg},
            )
            weights = full_weights(result.x)
        else:
            weights = np.ones(1)
        values, vecs = laplacian_spectrum(weights, vectors=True)
        assert vecs is not None
        order = np.argsort(values)[:k]
        labels = discretize(vecs[:, order], seed)
        info = {
            "objective_evaluations": evaluations,
            **{f"weight_{v}": float(w) for v, w in zip(data.view_names, weights)},
        }
        return FitResult(labels=labels.astype(np.int64), info=info)

    @classmethod
    def memory_estimate(cls, config: SGLAConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: V normalised graphs of about 2 n knn entries each (CSR: 12 bytes an entry, with
        the construction's COO and transposed copies, 4x), the kNN search's chunk of distances
        (2048 x n float32, with torch's top-k workspace 3x) and one float32 copy of the widest view,
        and ARPACK's Lanczos basis (2 (K + 1) + 1 vectors, K <= 10 assumed) with the fused operator."""
        n, knn = n_samples, config.knn
        graphs = len(view_dims) * 2 * n * knn * 12 * 4
        search = min(n, 2048) * n * 4 * 3 + n * max(view_dims, default=1) * 4 * 2
        lanczos = n * 8 * 25 + 2 * n * knn * 12 * 2
        return int(graphs + max(search, lanczos))


def aggregate(adjs: list[sp.csr_matrix], weights: np.ndarray) -> sp.csr_matrix:
    """sum_v w_v Â_v (one sparse matrix)."""
    fused = adjs[0] * float(weights[0])
    for w, a in zip(weights[1:], adjs[1:]):
        fused = fused + a * float(w)
    return fused
