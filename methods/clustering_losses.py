"""DEC-style clustering maths shared by ``dec`` and ``jecl``.

- Student's t soft assignment (Xie et al. 2016, eq. 1):
  q_ij = (1 + ||z_i - mu_j||^2 / alpha)^(-(alpha+1)/2), normalised over j.
- Target distribution (DEC eq. 3): p_ij = (q_ij^2 / f_j) / sum_j' (q_ij'^2 / f_j'), f_j = sum_i q_ij.
- Jensen-Shannon divergence per point, JS(q, r) = 0.5 KL(q||m) + 0.5 KL(r||m), m = (q + r) / 2.
- Balance regulariser with a gradient: KL(mean_i q_i || uniform).
- Hungarian alignment of one labelling's clusters to another's.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

EPS = 1e-10


def student_t(z: torch.Tensor, centroids: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Soft assignment (n x K) of embeddings ``z`` (n x d) to ``centroids`` (K x d)."""
    dist2 = torch.cdist(z, centroids).pow(2)
    kernel = (1.0 + dist2 / alpha).pow(-(alpha + 1.0) / 2.0)
    return kernel / kernel.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's sharpened target: q^2 / column sums, renormalised per row."""
    weight = q.pow(2) / q.sum(dim=0).clamp_min(EPS)
    return weight / weight.sum(dim=1, keepdim=True)


def kl_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p_i || q_i) per row (0 log 0 = 0)."""
    return (p * (torch.log(p.clamp_min(EPS)) - torch.log(q.clamp_min(EPS)))).sum(dim=1)


def js_rows(q: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence per row, in nats (at most log 2)."""
    m = 0.5 * (q + r)
    return 0.5 * kl_rows(q, m) + 0.5 * kl_rows(r, m)


def balance_regularizer(q: torch.Tensor) -> torch.Tensor:
    """KL(mean_i q_i || uniform): zero when the batch spreads evenly over clusters, log K at collapse."""
    mean = q.mean(dim=0)
    k = q.shape[1]
    return (mean * (torch.log(mean.clamp_min(EPS)) + np.log(k))).sum()


def align_labels(reference: np.ndarray, other: np.ndarray, n_clusters: int) -> np.ndarray:
    """Permutation ``perm`` maximising agreement: cluster ``perm[j]`` of ``other`` is matched to cluster j.

    Relabelling ``other`` by ``inverse(perm)`` (equivalently reordering its centroids as
    ``centroids[perm]``) makes both labellings use the same cluster indices.
    """
    contingency = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    np.add.at(contingency, (reference, other), 1)
    rows, cols = linear_sum_assignment(-contingency)
    perm = np.empty(n_clusters, dtype=np.int64)
    perm[rows] = cols
    return perm
