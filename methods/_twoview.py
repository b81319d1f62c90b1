"""What the two-view deep baselines (``dcca_km``, ``vse_km``, ``ccal_km``) share: their common
settings, the choice of the embedding clustered, and one training loop.

The loop (:meth:`TwoViewMethod.fit_predict`), under a seed (torch's global RNG forked and seeded, a
generator for the batch order): build the method's networks on the CPU and move them to the
device, then for ``epochs`` epochs split the samples into near-equal random batches
(:func:`._torch_ops.batches`) and take one optimiser step per batch on the method's objective
(gradient norm clipped where the method asks for it); after each epoch record the method's facts
in ``history`` and, with ``record_labels``, the labels of that epoch's embedding. Finally K-means
(k-means++, ``n_init`` restarts) clusters the method's embedding of all samples.

A method supplies :meth:`~TwoViewMethod.build` (networks), :meth:`~TwoViewMethod.optimizer`,
:meth:`~TwoViewMethod.objective` (one batch), :meth:`~TwoViewMethod.embed` and, optionally,
:meth:`~TwoViewMethod.epoch_facts`, :meth:`~TwoViewMethod.extra_info` and ``grad_clip``. Torch is
imported when a method fits, so that listing methods does not load it.

``device`` (``auto`` | ``cpu`` | ``cuda``, :mod:`mvbench.accelerator`): where the networks train.
Initial weights and the batch order come from CPU generators on every device, so a CUDA run starts
from the CPU run's weights and sees the same batches; it then differs by floating-point rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from mvbench.accelerator import Device
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization
from mvbench.method import Capabilities, FitResult, Method

from ._views import prepare_view, two_views
from .kmeans import KMeansConfig, kmeans_labels

if TYPE_CHECKING:
    import torch
    from torch import nn

Embedding = Literal["concat", "view0", "view1", "mean"]


@dataclass
class TwoViewConfig:
    """Hyper-parameters every two-view baseline shares: which views (:mod:`._views`), their
    ``normalization`` (``auto``: TF-IDF + L2 for term counts, z-score otherwise), the embedding
    clustered, K-means restarts, whether to record the labels after every epoch, and the device."""

    embedding: Embedding = "concat"
    views: str = "auto"
    normalization: Normalization = "auto"
    n_init: int = 10
    record_labels: bool = False
    device: Device = "auto"


class TwoViewMethod(Method):
    """Base of the two-view baselines: complete data (imputed by the runner), exactly two views used."""

    capabilities = Capabilities(handles_missing=False, min_views=2)
    #: Gradient-norm clipping threshold applied before every step (None: no clipping).
    grad_clip: float | None = None

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        two_views(data, self.config.views)

    # -- what a method supplies ---------------------------------------------------------------------
    def build(self, n: int, d1: int, d2: int) -> list[nn.Module]:
        """The networks (created in this order under the seed) for ``n`` samples of widths ``d1``, ``d2``."""
        raise NotImplementedError

    def optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        raise NotImplementedError

    def objective(
        self, nets: list[nn.Module], b1: torch.Tensor, b2: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss minimised on one batch of paired rows, and the facts recorded for that batch."""
        raise NotImplementedError

    def embed(self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor) -> np.ndarray:
        """The embedding of all samples that K-means clusters (on the CPU)."""
        raise NotImplementedError

    def epoch_facts(
        self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor, batch_facts: list[dict[str, float]]
    ) -> dict[str, float]:
        """One ``history`` entry: by default the mean of every batch fact over the epoch."""
        return {key: float(np.mean([f[key] for f in batch_facts])) for key in batch_facts[0]}

    def extra_info(self, d1: int, d2: int, history: list[dict[str, float]]) -> dict[str, float]:
        """Facts for ``info`` besides ``epochs``."""
        return {}

    # -- the loop -----------------------------------------------------------------------------------
    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch

        from mvbench.accelerator import resolve_device

        from ._torch_ops import batches, seeded

        c = self.config
        device = resolve_device(c.device)
        a, b = two_views(data, c.views)
        x1, x2 = (torch.from_numpy(prepare_view(data, v, c.normalization)).to(device) for v in (a, b))
        km = self.kmeans_config()
        history: list[dict[str, float]] = []
        label_history: list[np.ndarray] = []
        with seeded(seed) as gen:
            nets = [net.to(device) for net in self.build(*x1.shape, x2.shape[1])]
            params = [p for net in nets for p in net.parameters()]
            opt = self.optimizer(params)
            for _ in self.context.track(range(c.epochs), total=c.epochs, description=self.name or type(self).__name__):
                for net in nets:
                    net.train()
                facts = []
                for idx in batches(len(x1), c.batch_size, gen):
                    idx = idx.to(device)
                    loss, batch_facts = self.objective(nets, x1[idx], x2[idx])
                    opt.zero_grad()
                    loss.backward()
                    if self.grad_clip is not None:
                        torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
                    opt.step()
                    facts.append(batch_facts)
                history.append(self.epoch_facts(nets, x1, x2, facts))
                if c.record_labels:
                    label_history.append(kmeans_labels(self.embed(nets, x1, x2), n_clusters, km, seed))
        labels = kmeans_labels(self.embed(nets, x1, x2), n_clusters, km, seed)
        info = {"epochs": c.epochs, **self.extra_info(x1.shape[1], x2.shape[1], history)}
        return FitResult(labels=labels, history=history, label_history=label_history, info=info)

    def kmeans_config(self) -> KMeansConfig:
        """K-means on the learnt embedding, as is (it is already normalised by the method)."""
        return KMeansConfig(normalization="none", n_init=self.config.n_init)


def pick_embedding(z0: np.ndarray, z1: np.ndarray, kind: Embedding) -> np.ndarray:
    """The embedding clustered: both projections side by side, one of them, or their mean."""
    if kind == "concat":
        return np.hstack([z0, z1])
    if kind == "view0":
        return z0
    if kind == "view1":
        return z1
    if kind == "mean":
        if z0.shape[1] != z1.shape[1]:
            raise ValueError("embedding='mean' needs projections of equal width; use concat")
        return (z0 + z1) / 2
    raise ValueError(f"unknown embedding {kind!r}: use concat, view0, view1 or mean")
