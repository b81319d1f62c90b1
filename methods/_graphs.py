"""Sparse kNN graphs of feature views for the training-free graph methods (``sgla``, ``lmgec``).

Neighbours are exact (``_spectral.knn_indices``: chunked, O(chunk x n) memory) by cosine similarity,
i.e. by Euclidean distance between L2-normalised rows. Every graph is ``scipy.sparse`` with n k
stored entries (twice that once symmetrised): never a dense n x n matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mvbench.methods._spectral import knn_indices

if TYPE_CHECKING:
    import scipy.sparse as sp


def l2_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (all-zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def cosine_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar other rows of ``x``: ``(indices, similarities)``, both n x k."""
    unit = l2_rows(x)
    idx, sq = knn_indices(unit, k)
    return idx, 1.0 - sq / 2.0  # ||a - b||^2 = 2 - 2 cos(a, b) for unit rows


def knn_graph(idx: np.ndarray, weights: np.ndarray | float, n: int) -> sp.csr_matrix:
    """Directed graph with W[i, idx[i, j]] = weights[i, j] (or a constant), n x n CSR."""
    import scipy.sparse as sp

    k = idx.shape[1]
    data = np.broadcast_to(np.asarray(weights, dtype=np.float64), idx.shape).ravel()
    return sp.csr_matrix((data, idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))


def sym_normalized(adj: sp.spmatrix) -> sp.csr_matrix:
    """D^-1/2 A D^-1/2 with D = diag(A 1); a node of degree <= 0 gets D^-1/2 = 1."""
    import scipy.sparse as sp

    degree = np.asarray(adj.sum(axis=1)).ravel()
    degree[degree <= 0] = 1.0
    inv = sp.diags(degree**-0.5)
    return (inv @ adj @ inv).tocsr()
