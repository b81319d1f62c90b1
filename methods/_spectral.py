"""Pieces shared by the matrix-factorisation / subspace baselines: kNN heat-kernel graphs and the
Ng–Jordan–Weiss spectral clustering read-out.

Graphs are always ``scipy.sparse`` (never a dense n x n matrix); the read-out accepts a sparse or a
dense symmetric affinity and uses a Lanczos eigensolver (ARPACK) started from a seeded vector.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # loaded when a fit starts, not when the method is listed
    import scipy.sparse as sp


def knn_indices(x: np.ndarray, k: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self excluded) by squared Euclidean distance, in row chunks.

    Returns ``(indices, sq_distances)``, both (n, k). Memory is O(chunk * n), never O(n^2).
    """
    import torch

    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k={k} nearest neighbours needs 1 <= k < n_samples={n}")
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    sq = (xt * xt).sum(1)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        d = sq[start:stop, None] - 2.0 * (xt[start:stop] @ xt.T) + sq[None, :]
        d[torch.arange(stop - start), torch.arange(start, stop)] = float("inf")  # exclude self
        values, index = torch.topk(d, k, dim=1, largest=False)
        idx[start:stop] = index.numpy()
        dist[start:stop] = values.clamp_min(0).numpy()
    return idx, dist


def knn_heat_graph(x: np.ndarray, k: int, t: float | None = None) -> sp.csr_matrix:
    """Symmetric kNN graph with heat-kernel weights ``exp(-||x_i - x_j||^2 / (2 t^2))``.

    ``W_ij`` is set when j is among the k nearest neighbours of i or i among those of j
    (``max(W, W^T)``, as Cai et al.'s ``constructW``). ``t`` defaults to the mean Euclidean distance
    between a point and its k nearest neighbours (``constructW`` uses the mean distance over a
    random subset of all pairs; the kNN mean needs no extra pass and no randomness).
    """
    import scipy.sparse as sp

    n = x.shape[0]
    idx, sqd = knn_indices(x, k)
    if t is None:
        t = float(np.sqrt(sqd).mean())
    t = t if t > 0 else 1.0
    weights = np.exp(-sqd / (2.0 * t * t))
    w = sp.csr_matrix((weights.ravel(), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    return w.maximum(w.T).tocsr()


def spectral_embedding(w: np.ndarray | sp.spmatrix, n_clusters: int, seed: int) -> np.ndarray:
    """Top-``n_clusters`` eigenvectors of ``D^-1/2 W D^-1/2``, rows scaled to unit length (NJW)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import eigsh

    n = w.shape[0]
    degree = np.asarray(w.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(degree + np.finfo(np.float64).eps)
    if sp.issparse(w):
        normalized = sp.diags(inv_sqrt) @ w @ sp.diags(inv_sqrt)
    else:
        normalized = np.asarray(w, dtype=np.float64) * inv_sqrt[:, None] * inv_sqrt[None, :]
    if n_clusters >= n - 1 or n <= 50:
        dense = normalized.toarray() if sp.issparse(normalized) else normalized
        _, vectors = np.linalg.eigh(dense)
        vectors = vectors[:, -n_clusters:]
    else:
        v0 = np.random.default_rng(seed).uniform(-1, 1, n)
        _, vectors = eigsh(normalized, k=n_clusters, which="LA", v0=v0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / (norms + np.finfo(np.float64).eps)


def spectral_clustering(
    w: np.ndarray | sp.spmatrix, n_clusters: int, seed: int, n_init: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Ng–Jordan–Weiss spectral clustering of affinity ``w``: returns ``(labels, embedding)``."""
    from sklearn.cluster import KMeans

    embedding = spectral_embedding(w, n_clusters, seed)
    labels = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit_predict(embedding)
    return labels.astype(np.int64), embedding
