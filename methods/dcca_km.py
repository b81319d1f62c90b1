"""``dcca_km``: Deep CCA, then linear CCA on the network outputs, then K-means.

Andrew, Arora, Bilmes, Livescu, "Deep Canonical Correlation Analysis", ICML 2013.

Two MLPs f1, f2 map the two views to ``out_dim`` = o outputs H1, H2. Training maximises
corr(H1, H2) = ||T||_tr with T = S11^(-1/2) S12 S22^(-1/2), Svv the batch covariances regularised by
r I (r = 1e-3) and S12 the cross-covariance (paper Eq. 10 with the ridge of Sec. 3); with
``top_k`` set, only the top-k singular values are summed. The loss is -corr. After training,
linear CCA (r = 1e-4) on the full-data outputs gives the o canonical projections of each view, and
K-means (k-means++, ``n_init`` restarts) clusters the chosen ``embedding``: by default the
concatenation of both views' projections (``concat``); ``view0``/``view1`` use one of them and
``mean`` their average.

Defaults follow the PyTorch port Michaelvll/DeepCCA: layers [1024, 1024, 1024, o], o = 10,
sigmoid hidden units each followed by an affine-free BatchNorm, an affine-free BatchNorm before the
linear output layer, RMSprop lr 1e-3, weight decay 1e-5, batch 800.

Deviations: (1) the paper trains full-batch with L-BFGS after RBM pre-training; the port's
mini-batch RMSprop is used (no pre-training). (2) Mini-batches are a random near-equal partition
(no small last batch), because the covariance estimate needs batch >> o. (3) ``epochs`` is a fixed
budget (default 100; the port runs 10 epochs on 50k-sample noisy MNIST, i.e. ~600 steps — the
benchmark sets have 200-3000 samples, so more epochs give a comparable number of updates); the
port's validation-based model selection would need held-out pairs, which clustering does not have.
(4) Input normalisation per view (``input_norm``, default ``auto``: TF-IDF + L2 for term-count
views, z-score otherwise), since the benchmark views have very different scales.

Views: two; ``views`` chooses them (default: the views named image/text if present, else the first
two). Missing views are not read (the runner imputes them). ``history`` holds per epoch the mean
training loss and the total correlation of the full-data outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.method import FitResult

from ._twoview import TwoViewConfig, TwoViewMethod, pick_embedding
from .kmeans import KMeansConfig, kmeans_labels

if TYPE_CHECKING:
    import torch


@dataclass
class DCCAConfig(TwoViewConfig):
    hidden: list[int] = field(default_factory=lambda: [1024, 1024, 1024])
    out_dim: int = 10
    reg: float = 1e-3
    top_k: int | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 800
    epochs: int = 100
    cca_reg: float = 1e-4

    def __post_init__(self) -> None:
        if self.out_dim < 1 or self.epochs < 1 or self.batch_size < 2:
            raise ValueError("out_dim and epochs must be >= 1 and batch_size >= 2")
        if self.reg <= 0 or self.cca_reg < 0 or self.lr <= 0:
            raise ValueError("reg and lr must be > 0 and cca_reg >= 0")


class DCCAKMeans(TwoViewMethod):
    """Deep CCA + linear CCA + K-means (Andrew et al. 2013); details in the module docstring."""

    Config = DCCAConfig
    quick_params = {"hidden": [32], "out_dim": 4, "epochs": 5, "batch_size": 100, "n_init": 3}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch
        from torch import nn

        from ._torch_ops import batches, encode, mlp, seeded, total_correlation

        c = self.config
        x1, x2 = self.two_views(data)
        n = len(x1)
        km = self.kmeans_config()
        history, label_history = [], []
        with seeded(seed) as gen:
            f1 = mlp([x1.shape[1], *c.hidden, c.out_dim], nn.Sigmoid, batchnorm=True, final_bn_in=True)
            f2 = mlp([x2.shape[1], *c.hidden, c.out_dim], nn.Sigmoid, batchnorm=True, final_bn_in=True)
            params = [*f1.parameters(), *f2.parameters()]
            opt = torch.optim.RMSprop(params, lr=c.lr, weight_decay=c.weight_decay)
            for _ in self.context.track(range(c.epochs), total=c.epochs, description="dcca"):
                f1.train(), f2.train()
                losses = []
                for idx in batches(n, c.batch_size, gen):
                    loss = -total_correlation(f1(x1[idx]), f2(x2[idx]), c.reg, c.reg, c.top_k)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
                h1, h2 = encode(f1, x1), encode(f2, x2)
                corr = total_correlation(h1, h2, c.reg, c.reg, c.top_k).item()
                history.append({"loss": float(np.mean(losses)), "corr": corr})
                if c.record_labels:
                    label_history.append(self._cluster(h1, h2, n_clusters, km, seed)[0])
        labels, z = self._cluster(h1, h2, n_clusters, km, seed)
        return FitResult(labels=labels, history=history, label_history=label_history,
                         info={"epochs": c.epochs, "final_corr": history[-1]["corr"]})

    def _cluster(self, h1: torch.Tensor, h2: torch.Tensor, k: int, km: KMeansConfig, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
        from ._torch_ops import linear_cca

        z1, z2, _ = linear_cca(h1.numpy(), h2.numpy(), self.config.out_dim, self.config.cca_reg)
        z = pick_embedding(z1, z2, self.config.embedding).astype(np.float32)
        return kmeans_labels(z, k, km, seed), z
