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
number of epochs. (3) Input normalisation per view (``input_norm``, default ``auto``: TF-IDF + L2
for term-count views, z-score otherwise). (4) With datasets whose views are not image and text, view
``views[0]`` takes the linear (image) branch and ``views[1]`` the MLP (text) branch.

Views: two; ``views`` chooses them (default: the views named image/text if present, else the first
two). Missing views are not read (the runner imputes them). ``history`` holds the mean batch loss
per epoch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.method import FitResult

from ._twoview import TwoViewConfig, TwoViewMethod, pick_embedding
from .kmeans import KMeansConfig, kmeans_labels

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

    def __post_init__(self) -> None:
        if min(self.dim, self.text_hidden, self.epochs) < 1 or self.batch_size < 2:
            raise ValueError("dim, text_hidden and epochs must be >= 1 and batch_size >= 2")
        if self.margin < 0 or self.lr <= 0:
            raise ValueError("margin must be >= 0 and lr > 0")


class VSEKMeans(TwoViewMethod):
    """Visual-semantic embedding + K-means (Kiros et al. 2014); details in the module docstring."""

    Config = VSEConfig
    quick_params = {"dim": 16, "text_hidden": 32, "epochs": 5, "batch_size": 50, "n_init": 3}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch
        from torch import nn

        from ._torch_ops import L2Normalized, batches, hinge_ranking, mlp, seeded

        c = self.config
        x1, x2 = self.two_views(data)
        km = self.kmeans_config()
        history, label_history = [], []
        with seeded(seed) as gen:
            image = L2Normalized(nn.Linear(x1.shape[1], c.dim))
            text = L2Normalized(mlp([x2.shape[1], c.text_hidden, c.dim], nn.ReLU, batchnorm=False))
            params = [*image.parameters(), *text.parameters()]
            opt = torch.optim.Adam(params, lr=c.lr)
            for _ in self.context.track(range(c.epochs), total=c.epochs, description="vse"):
                image.train(), text.train()
                losses = []
                for idx in batches(len(x1), c.batch_size, gen):
                    loss = hinge_ranking(image(x1[idx]) @ text(x2[idx]).T, c.margin, directions=2)
                    opt.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(params, c.grad_clip)
                    opt.step()
                    losses.append(loss.item())
                history.append({"loss": float(np.mean(losses))})
                if c.record_labels:
                    label_history.append(self._cluster(image, text, x1, x2, n_clusters, km, seed)[0])
        labels, z = self._cluster(image, text, x1, x2, n_clusters, km, seed)
        return FitResult(labels=labels, history=history, label_history=label_history,
                         info={"epochs": c.epochs})

    def _cluster(self, image: nn.Module, text: nn.Module, x1: torch.Tensor, x2: torch.Tensor, k: int,
                 km: KMeansConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from ._torch_ops import encode

        z = pick_embedding(encode(image, x1).numpy(), encode(text, x2).numpy(), self.config.embedding)
        return kmeans_labels(z, k, km, seed), z
