"""GCFAgg, Global and Cross-view Feature Aggregation for multi-view clustering (Yan, Zhang, Lv, Tang, Yue,
Liao, Lin; CVPR 2023).

Reference code: Galaxy922/GCFAggMVC (``network.py``, ``loss.py``, ``train.py``, ``metric.py``).

Network: per view an MFLVC autoencoder x_v -> z_v -> x_v' (d-500-500-2000-f, f = ``low_feature_dim``
512, mirrored decoder) and a shared view head h_v = normalize(W_h z_v) (Linear f -> ``high_feature_dim``
128). The global and cross-view feature aggregation (paper Sec. 3) treats the m samples of a batch as
one sequence: Z = [z_1, ..., z_V] (m x Vf), one self-attention head with
S = softmax(Q K' / sqrt(Vf)), Q, K, V = Z W_Q, Z W_K, Z W_V, Z^ = S V W_O, then the
reference's post-norm Transformer layer around it: U = LN(Z + Z^), Z~ = LN(U + W_2 relu(W_1 U))
(``dim_feedforward`` 256, dropout 0.1 on the attention weights, after the attention and inside the
feed-forward, as ``nn.TransformerEncoderLayer``), and the consensus c = normalize(W_c Z~) (Linear Vf ->
128). The reference gets S by hand-patching PyTorch's ``TransformerEncoderLayer`` (its README's
"Obtain-S.docx"; issues #1, #7); here the attention is written out, with the same initialisation
(Xavier-uniform W_Q, W_K, W_V, zero biases). As in the patched layer in training mode, S is the
attention matrix after its dropout, and gradients flow through it into the loss.

Objective (``loss.py``, ``train.py``): stage 0, ``pretrain_epochs`` (200), L_r = sum_v mean ||x_v - x_v'||^2;
stage 1, ``contrastive_epochs`` (100): sum_v [L_S(h_v, c, S) + mean ||x_v - x_v'||^2] where the
structure-guided contrastive loss L_S is the NT-Xent on the 2m rows of h_v and c (scores / tau, tau =
``temperature`` 0.5) whose negative scores are scaled by (1 - S_ij) (S tiled over the four m x m
blocks), the positive left unscaled: samples the attention deems alike are pushed apart less.

One Adam (lr 3e-4) for both stages, batches of 256 shuffled, the last incomplete one dropped. Labels
(the reference's ``valid``): K-means (``kmeans_n_init`` 100) on c of all samples, computed in eval mode
in consecutive chunks of ``batch_size`` in the data's order (the reference's test loader: the attention
spans a chunk), after every epoch of stage 1 (``label_history``); the result is the last epoch's.

Presets (``preset``; ``auto`` = the dataset's own when listed, else ``generic``; explicit fields win):
``generic`` = the reference's command-line defaults (batch 256, lr 3e-4, tau 0.5, 200 + 100 epochs, 512,
128) with min-max scaling; ``mnist_usps`` and ``synthetic3d`` (100 fine-tuning epochs each, the
reference's ``seed = 10`` not used) take the raw views (the reference ships only its Hdigit loader;
raw as the MFLVC/SCMVC loaders of these two files).

Deviations: a set smaller than one batch is one batch per epoch (``drop_last`` would run no step);
seeds come from the harness; missing views are not read (the runner imputes them).

``history``: per epoch ``reconstruction``, ``structure_contrastive``, ``loss``, ``stage``,
``epoch_seconds``, ``readout_seconds``. ``device``: :mod:`mvbench.accelerator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from mvbench.accelerator import Device
from mvbench.config import AT_LEAST_ONE, POSITIVE, Constraints, Interval
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization
from mvbench.method import Capabilities, FitResult, Method

PRESETS: dict[str, dict[str, Any]] = {
    "generic": {
        "normalization": "minmax",
        "batch_size": 256,
        "lr": 3e-4,
        "temperature": 0.5,
        "pretrain_epochs": 200,
        "contrastive_epochs": 100,
        "low_feature_dim": 512,
        "high_feature_dim": 128,
    },
    "mnist_usps": {"normalization": "none", "contrastive_epochs": 100},
    "synthetic3d": {"normalization": "none", "contrastive_epochs": 100},
}


@dataclass
class GCFAggConfig:
    """None: from the preset (see module doc)."""

    preset: Literal["auto", "generic", "mnist_usps", "synthetic3d"] = "auto"
    normalization: Normalization | None = None
    batch_size: int | None = None
    lr: float | None = None
    temperature: float | None = None
    pretrain_epochs: int | None = None
    contrastive_epochs: int | None = None
    low_feature_dim: int | None = None
    high_feature_dim: int | None = None
    hidden_dims: list[int] = field(default_factory=lambda: [500, 500, 2000])
    feedforward_dim: int = 256
    dropout: float = 0.1
    kmeans_n_init: int = 100
    device: Device = "auto"

    constraints: ClassVar[Constraints] = {
        "batch_size": Interval(2),
        "lr": POSITIVE,
        "temperature": POSITIVE,
        "pretrain_epochs": Interval(0),
        "contrastive_epochs": Interval(0),
        "low_feature_dim": AT_LEAST_ONE,
        "high_feature_dim": AT_LEAST_ONE,
        "feedforward_dim": AT_LEAST_ONE,
        "dropout": Interval(0, 1, "left"),
        "kmeans_n_init": AT_LEAST_ONE,
        "hidden_dims": AT_LEAST_ONE,
    }


def structure_guided_contrastive(h: Any, c: Any, s: Any, temperature: float) -> Any:
    """L_S(h, c, S): NT-Xent on the 2m rows of ``h`` and ``c`` with negative scores scaled by 1 - S."""
    from ._contrastive_mvc import paired_contrastive

    return paired_contrastive(h, c, temperature, negative_weights=1.0 - s.repeat(2, 2))


def build_network(dims: list[int], hidden: list[int], low: int, high: int, feedforward: int, dropout: float) -> Any:
    import math

    import torch
    import torch.nn.functional as F
    from torch import nn

    from ._contrastive_mvc import mflvc_autoencoder

    class GlobalAggregation(nn.Module):
        """One-head self-attention over the samples of a batch inside a post-norm Transformer layer;
        returns the aggregated features and the attention matrix S (after dropout)."""

        def __init__(self, width: int) -> None:
            super().__init__()
            self.qkv = nn.Linear(width, 3 * width)
            nn.init.xavier_uniform_(self.qkv.weight)
            nn.init.zeros_(self.qkv.bias)
            self.out = nn.Linear(width, width)
            nn.init.zeros_(self.out.bias)
            self.ff = nn.Sequential(
                nn.Linear(width, feedforward), nn.ReLU(), nn.Dropout(dropout), nn.Linear(feedforward, width)
            )
            self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.drop_attn, self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)
            self.scale = 1.0 / math.sqrt(width)

        def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            q, k, v = self.qkv(z).chunk(3, dim=1)
            s = self.drop_attn(torch.softmax((q * self.scale) @ k.T, dim=1))
            u = self.norm1(z + self.drop1(self.out(s @ v)))
            return self.norm2(u + self.drop2(self.ff(u))), s

    class GCFAggNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            pairs = [mflvc_autoencoder(d, low, hidden) for d in dims]
            self.encoders = nn.ModuleList(e for e, _ in pairs)
            self.decoders = nn.ModuleList(d for _, d in pairs)
            self.view_head = nn.Linear(low, high)
            self.common_head = nn.Linear(low * len(dims), high)
            self.aggregate = GlobalAggregation(low * len(dims))

        def reconstruct(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
            return [dec(enc(x)) for enc, dec, x in zip(self.encoders, self.decoders, xs, strict=True)]

        def consensus(self, zs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
            agg, s = self.aggregate(torch.cat(zs, dim=1))
            return F.normalize(self.common_head(agg), dim=1), s

        def forward(self, xs: list[torch.Tensor]) -> tuple[Any, ...]:
            zs = [enc(x) for enc, x in zip(self.encoders, xs, strict=True)]
            hs = [F.normalize(self.view_head(z), dim=1) for z in zs]
            xrs = [dec(z) for dec, z in zip(self.decoders, zs, strict=True)]
            c, s = self.consensus(zs)
            return hs, xrs, c, s

    return GCFAggNetwork()


class GCFAgg(Method):
    """GCFAgg (Yan et al., CVPR 2023): batch-level attention consensus + structure-guided contrast; see module doc."""

    Config = GCFAggConfig
    capabilities = Capabilities(handles_missing=False, min_views=2)
    quick_params = {
        "pretrain_epochs": 3,
        "hidden_dims": [64],
        "contrastive_epochs": 5,
        "batch_size": 50,
        "low_feature_dim": 16,
        "high_feature_dim": 16,
        "feedforward_dim": 16,
        "lr": 1e-3,
        "kmeans_n_init": 2,
        "normalization": "minmax",
    }

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch

        from ._contrastive_mvc import (
            Trainer,
            eval_labels,
            fit_result,
            kmeans_labels,
            prepare,
            pretrain_step,
            reconstruction,
        )
        from ._torch_ops import seeded

        cfg, device, xs = prepare(self.config, PRESETS, data)
        n = data.n_samples
        with seeded(seed) as gen:
            model = build_network(
                [x.shape[1] for x in xs],
                cfg.hidden_dims,
                cfg.low_feature_dim,
                cfg.high_feature_dim,
                cfg.feedforward_dim,
                cfg.dropout,
            ).to(device)
            trainer = Trainer(model, cfg.lr, device, gen, self.context.track)

            def read_labels() -> np.ndarray:
                chunks = []
                for start in range(0, n, cfg.batch_size):
                    zs = [enc(x[start : start + cfg.batch_size]) for enc, x in zip(model.encoders, xs, strict=True)]
                    chunks.append(model.consensus(zs)[0])
                return kmeans_labels(torch.cat(chunks), n_clusters, cfg.kmeans_n_init, seed)

            def contrastive(idx: torch.Tensor) -> dict[str, torch.Tensor]:
                batch = [x[idx] for x in xs]
                hs, xrs, c, s = model(batch)
                sg = sum(structure_guided_contrastive(h, c, s, cfg.temperature) for h in hs)
                rec = reconstruction(batch, xrs)
                return {"reconstruction": rec, "structure_contrastive": sg, "loss": rec + sg}

            batches = trainer.shuffled(n, cfg.batch_size)
            trainer.run(0, cfg.pretrain_epochs, batches, pretrain_step(xs, model.reconstruct), None, "gcfagg pretrain")
            trainer.run(1, cfg.contrastive_epochs, batches, contrastive, read_labels, "gcfagg contrastive")
            if not trainer.label_history:
                trainer.label_history.append(eval_labels(model, read_labels))
        return fit_result(trainer, cfg, trainer.label_history[-1])
