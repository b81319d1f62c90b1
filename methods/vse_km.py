"""``vse_km``: visual-semantic embedding trained with a bidirectional hinge ranking loss, then K-means.

Kiros, Salakhutdinov, Zemel, "Unifying Visual-Semantic Embeddings with Multimodal Neural Language
Models", 2014 (reference code: ryankiros/visual-semantic-embedding).

The image view is mapped by a linear projection W_I x (+ bias), the text view by an encoder, and
both outputs are L2-normalised, so the score s(x, v) = <W_I x / ||.||, f(v) / ||.||> is the cosine
similarity. The loss (paper Eq. 2) sums, over a mini-batch of matching pairs (x_k, v_k), the hinge
terms against every in-batch contrastive sample in both directions:

    sum_k sum_{j != k} max(0, a - s(x_k, v_k) + s(x_k, v_j)) + max(0, a - s(x_k, v_k) + s(x_j, v_k))

with margin a = 0.2. Defaults follow the reference: joint dimension 1024, Adam lr 2e-4, batch 128,
15 epochs, gradient norm clipped at 2. K-means (k-means++, ``n_init`` restarts) then clusters the
chosen ``embedding`` of all samples: by default the concatenation of the normalised image and text
embeddings (``concat``); ``view0``/``view1`` use one of them and ``mean`` their average.

Deviations: (1) the text encoder is an MLP on pre-extracted text features (one hidden layer of
``text_hidden`` ReLU units, then a linear map to the joint space) instead of the paper's LSTM/GRU
over word vectors, because the benchmark views are fixed-length feature vectors, not token
sequences. (2) No validation-based early stopping (clustering has no held-out pairs): a fixed
number of epochs. (3) Input normalisation per view (``normalization``, default ``auto``: TF-IDF + L2
for term-count views, z-score otherwise). (4) With datasets whose views are not image and text, view
``views[0]`` takes the linear (image) branch and ``views[1]`` the MLP (text) branch.

Views: two; ``views`` chooses them (default: the views named image/text if present, else the first
two). Missing views are not read (the runner imputes them). ``history`` holds the mean batch loss
per epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval

from ._twoview import TwoViewConfig, TwoViewMethod, pick_embedding

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass
class VSEConfig(TwoViewConfig):
    dim: int = 1024
    text_hidden: int = 1024
    margin: float = 0.2
    lr: float = 2e-4
    batch_size: int = 128
    epochs: int = 15
    grad_clip: float = 2.0

    constraints: ClassVar[Constraints] = {
        "dim": AT_LEAST_ONE,
        "text_hidden": AT_LEAST_ONE,
        "epochs": AT_LEAST_ONE,
        "batch_size": Interval(2),
        "margin": NON_NEGATIVE,
        "lr": POSITIVE,
        "grad_clip": POSITIVE,
    }


class VSEKMeans(TwoViewMethod):
    """Visual-semantic embedding + K-means (Kiros et al. 2014); details in the module docstring."""

    Config = VSEConfig
    quick_params = {"dim": 16, "text_hidden": 32, "epochs": 5, "batch_size": 50, "n_init": 3}

    @property
    def grad_clip(self) -> float:
        return self.config.grad_clip

    def build(self, n: int, d1: int, d2: int) -> list[nn.Module]:
        """Image: a linear map; text: an MLP with one ReLU hidden layer; both outputs L2-normalised."""
        from torch import nn

        from ._torch_ops import L2Normalized, mlp

        c = self.config
        image = L2Normalized(nn.Linear(d1, c.dim))
        return [image, L2Normalized(mlp([d2, c.text_hidden, c.dim], nn.ReLU, batchnorm=False))]

    def optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        import torch

        return torch.optim.Adam(params, lr=self.config.lr)

    def objective(
        self, nets: list[nn.Module], b1: torch.Tensor, b2: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        from ._torch_ops import hinge_ranking

        loss = hinge_ranking(nets[0](b1) @ nets[1](b2).T, self.config.margin, directions=2)
        return loss, {"loss": loss.item()}

    def embed(self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor) -> np.ndarray:
        from ._torch_ops import encode

        z0, z1 = (encode(net, x).cpu().numpy() for net, x in zip(nets, (x1, x2)))
        return pick_embedding(z0, z1, self.config.embedding)
