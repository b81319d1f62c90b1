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
(4) Input normalisation per view (``normalization``, default ``auto``: TF-IDF + L2 for term-count
views, z-score otherwise), since the benchmark views have very different scales.

Views: two; ``views`` chooses them (default: the views named image/text if present, else the first
two). Missing views are not read (the runner imputes them). ``history`` holds per epoch the mean
training loss and the total correlation of the full-data outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval

from ._twoview import TwoViewConfig, TwoViewMethod, pick_embedding

if TYPE_CHECKING:
    import torch
    from torch import nn


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

    constraints: ClassVar[Constraints] = {
        "hidden": AT_LEAST_ONE,
        "out_dim": AT_LEAST_ONE,
        "epochs": AT_LEAST_ONE,
        "batch_size": Interval(2),
        "reg": POSITIVE,
        "cca_reg": NON_NEGATIVE,
        "lr": POSITIVE,
        "weight_decay": NON_NEGATIVE,
        "top_k": AT_LEAST_ONE,
    }


class DCCAKMeans(TwoViewMethod):
    """Deep CCA + linear CCA + K-means (Andrew et al. 2013); details in the module docstring."""

    Config = DCCAConfig
    quick_params = {"hidden": [32], "out_dim": 4, "epochs": 5, "batch_size": 100, "n_init": 3}

    def build(self, n: int, d1: int, d2: int) -> list[nn.Module]:
        from torch import nn

        from ._torch_ops import mlp

        c = self.config
        return [mlp([d, *c.hidden, c.out_dim], nn.Sigmoid, batchnorm=True, final_bn_in=True) for d in (d1, d2)]

    def optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        import torch

        return torch.optim.RMSprop(params, lr=self.config.lr, weight_decay=self.config.weight_decay)

    def objective(
        self, nets: list[nn.Module], b1: torch.Tensor, b2: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        from ._torch_ops import total_correlation

        c = self.config
        loss = -total_correlation(nets[0](b1), nets[1](b2), c.reg, c.reg, c.top_k)
        return loss, {"loss": loss.item()}

    def epoch_facts(
        self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor, batch_facts: list[dict[str, float]]
    ) -> dict[str, float]:
        """Mean batch loss and the total correlation of the full-data outputs."""
        from ._torch_ops import encode, total_correlation

        c = self.config
        corr = total_correlation(encode(nets[0], x1), encode(nets[1], x2), c.reg, c.reg, c.top_k).item()
        return {**super().epoch_facts(nets, x1, x2, batch_facts), "corr": corr}

    def extra_info(self, d1: int, d2: int, history: list[dict[str, float]]) -> dict[str, float]:
        return {"final_corr": history[-1]["corr"]}

    def embed(self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor) -> np.ndarray:
        """Linear CCA (float64) of the full-data outputs, ``embedding`` of the two projections."""
        from ._torch_ops import encode, linear_cca

        h1, h2 = (encode(net, x).cpu().numpy() for net, x in zip(nets, (x1, x2)))
        z1, z2, _ = linear_cca(h1, h2, self.config.out_dim, self.config.cca_reg)
        return pick_embedding(z1, z2, self.config.embedding).astype(np.float32)
