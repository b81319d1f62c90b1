"""The torch building blocks of the two-view deep baselines: seeded mini-batching, an MLP builder,
the CCA algebra (regularised covariances, whitening, total correlation, linear CCA) and the
bidirectional hinge ranking loss. All code runs in float32 on the CPU unless a device is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """Seed torch's global RNG (restored afterwards) and yield a generator for batch order."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        yield gen


def batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """A random partition of ``range(n)`` into ``max(1, n // batch_size)`` near-equal batches.

    The remainder is spread over the batches instead of forming a tiny last batch: batch statistics
    (covariances, BatchNorm) need batches far larger than the embedding width.
    """
    perm = torch.randperm(n, generator=gen)
    return list(torch.tensor_split(perm, max(1, n // batch_size)))


def mlp(dims: list[int], activation: type[nn.Module], batchnorm: bool, final_bn_in: bool = False) -> nn.Sequential:
    """Dense layers ``dims[0] -> ... -> dims[-1]``; hidden layers get ``activation`` then BatchNorm.

    ``final_bn_in`` puts an affine-free BatchNorm before the last (linear) layer, as the DeepCCA
    PyTorch port does.
    """
    layers: list[nn.Module] = []
    for i in range(len(dims) - 2):
        layers += [nn.Linear(dims[i], dims[i + 1]), activation()]
        if batchnorm:
            layers.append(nn.BatchNorm1d(dims[i + 1], affine=False))
    if final_bn_in and len(dims) > 2:
        layers.append(nn.BatchNorm1d(dims[-2], affine=False))
    layers.append(nn.Linear(dims[-2], dims[-1]))
    return nn.Sequential(*layers)


def encode(net: nn.Module, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """``net`` in eval mode over ``x`` in chunks, without gradients."""
    net.eval()
    with torch.no_grad():
        return torch.cat([net(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


# -- CCA algebra -----------------------------------------------------------------------------------
def inv_sqrt(s: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """S^(-1/2) of a symmetric positive definite matrix (eigenvalues clamped at ``eps``)."""
    d, v = torch.linalg.eigh(s)
    return (v * d.clamp_min(eps).rsqrt()) @ v.T


def cca_whitened(
    h1: torch.Tensor, h2: torch.Tensor, r1: float, r2: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Whitening matrices S11^(-1/2), S22^(-1/2), cross-covariance S12 and T = S11^(-1/2) S12 S22^(-1/2).

    Covariances use the 1/(m-1) normalisation and ridge terms ``r1 I``, ``r2 I`` (Andrew et al. 2013,
    Sec. 2.1 / 3). Rows of ``h1``, ``h2`` are samples.
    """
    m = h1.shape[0]
    h1c, h2c = h1 - h1.mean(0), h2 - h2.mean(0)
    s12 = h1c.T @ h2c / (m - 1)
    s11 = h1c.T @ h1c / (m - 1) + r1 * torch.eye(h1.shape[1], dtype=h1.dtype, device=h1.device)
    s22 = h2c.T @ h2c / (m - 1) + r2 * torch.eye(h2.shape[1], dtype=h2.dtype, device=h2.device)
    w1, w2 = inv_sqrt(s11), inv_sqrt(s22)
    return w1, w2, s12, w1 @ s12 @ w2


def total_correlation(
    h1: torch.Tensor, h2: torch.Tensor, r1: float = 1e-3, r2: float = 1e-3, top_k: int | None = None, eps: float = 1e-9
) -> torch.Tensor:
    """Sum of the top ``top_k`` singular values of T (its trace norm when ``top_k`` is None).

    This is the DCCA objective corr(H1, H2) (Andrew et al. 2013, Eq. 10); singular values are the
    square roots of the eigenvalues of T'T, clamped at ``eps`` so the gradient stays finite.
    """
    t = cca_whitened(h1, h2, r1, r2)[3]
    ev = torch.linalg.eigvalsh(t.T @ t).clamp_min(eps).sqrt()
    return ev.sum() if top_k is None else ev.topk(min(top_k, ev.numel())).values.sum()


def linear_cca(h1: np.ndarray, h2: np.ndarray, dim: int, r: float = 1e-4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``dim`` CCA projections of two views (float64): returns (h1 A, h2 B, correlations).

    A = S11^(-1/2) U, B = S22^(-1/2) V with T = U diag(c) V' the SVD of the whitened
    cross-covariance; ``r`` regularises both covariances.
    """
    a, b = torch.from_numpy(np.asarray(h1, np.float64)), torch.from_numpy(np.asarray(h2, np.float64))
    w1, w2, _, t = cca_whitened(a, b, r, r)
    u, c, vh = torch.linalg.svd(t)
    dim = min(dim, c.numel())
    pa, pb = w1 @ u[:, :dim], w2 @ vh.T[:, :dim]
    return ((a - a.mean(0)) @ pa).numpy(), ((b - b.mean(0)) @ pb).numpy(), c[:dim].numpy()


# -- ranking loss ----------------------------------------------------------------------------------
def hinge_ranking(
    scores: torch.Tensor, margin: float, directions: int = 2, reduction: Literal["sum", "mean"] = "sum"
) -> torch.Tensor:
    """Hinge ranking loss on a score matrix whose diagonal holds the matching pairs.

    Direction 1 (rows, e.g. image -> every non-matching text): max(0, margin - s_ii + s_ij);
    direction 2 (columns): max(0, margin - s_jj + s_ij). Diagonal terms are excluded. ``sum``
    adds all terms (Kiros et al. 2014); ``mean`` averages each direction over its n(n-1) terms
    (Dorfer et al. 2018).
    """
    n = scores.shape[0]
    diag = scores.diagonal()
    off = ~torch.eye(n, dtype=torch.bool, device=scores.device)
    terms = [(margin - diag[:, None] + scores).clamp_min(0)[off]]
    if directions == 2:
        terms.append((margin - diag[None, :] + scores).clamp_min(0)[off])
    reduce = torch.sum if reduction == "sum" else torch.mean
    return sum(reduce(t) for t in terms)


class L2Normalized(nn.Module):
    """``inner`` followed by L2 normalisation of each output row."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.inner(x), dim=1)
