"""CVCL, Cross-View Contrastive Learning of cluster assignments (Chen, Mao, Woo, Peng; ICCV 2023:
"Deep Multiview Clustering by Contrasting Cluster Assignments").

Reference code: chenjie20/CVCL (``layers.py``, ``models.py``, ``loss.py``, ``main.py``,
``dataprocessing.py``).

Network (``layers.py``): per view an autoencoder x_v -> z_v -> x_v' whose encoder is Linear-ReLU through
``hidden_dims`` to ``high_feature_dim`` (a ReLU after every layer, the last included) and whose decoder
mirrors it (ReLU after every layer, the output included); one label module shared by the views:
p_v = softmax(W_2 W_1 z_v) (Linear high -> ``low_feature_dim`` -> K, no activation between).

Objective (paper Sec. 3; ``loss.py``, ``models.py``), per mini-batch:

- stage 0, ``pretrain_epochs`` (200): sum_v mean ||x_v - x_v'||^2;
- stage 1, ``contrastive_epochs``: sum_{v<w} [lambda * L_C(v, w) + beta * (-H(v) - H(w))]
  + sum_v mean ||x_v - x_v'||^2, where each view's assignments are first sharpened by DEC's target
  t_ik = (p_ik^2 / f_k) / sum_j (p_ij^2 / f_j), f_k = sum_i p_ik;
  L_C is the NT-Xent on the 2K columns of the sharpened assignments of two views, scores = dot products
  / ``temperature`` (or cosines with ``cosine=True``, the reference's ``normalized``);
  -H(v) = sum_k m_k log m_k, m the sharpened cluster mass of the batch (``forward_prob``: no log K).
  lambda = ``label_weight``, beta = ``entropy_weight``.

One Adam (lr per preset, no weight decay) for both stages, shuffled batches, the last incomplete one
dropped. Labels: argmax_k of the mean over views of p_v (unsharpened), after every epoch of stage 1
(``label_history``); the result is the last epoch's.

Presets (``preset``: ``auto`` = the dataset's own when listed, else ``generic``; explicit fields win),
from ``main.py`` and ``dataprocessing.py`` (the code comment beside each is its claimed ACC under the
named seed, which is *not* used here: seeds come from the harness):

| preset | lr | batch | con | hidden | high | low | lambda | beta | cosine | tau | scaling | seed, comment |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| generic | 5e-4 | 100 | 100 | 256,512 | 2000 | 1024 | 0.01 | 0.005 | no | 1.0 | minmax | CLI defaults, MSRCv1's net |
| msrc_v1 | 5e-4 | 35 | 400 | 256,512 | 2000 | 1024 | 0.01 | 0.005 | no | 1.0 | minmax | 10, "db checked 97.62" |
| mnist_usps | 1e-4 | 50 | 200 | 256,512,1024 | 1500 | 1024 | 0.05 | 0.05 | no | 1.0 | none | 10, 99.7 |
| handwritten | 1e-4 | 200 | 200 | 256,512,1024 | 1024 | 1024 | 0.005 | 0.001 | yes | 1.0 | minmax | 50, 96.85 |
| bdgp2v | 1e-4 | 250 | 100 | 256,512 | 2000 | 1024 | 0.01 | 0.01 | yes | 1.0 | none | 10, 99.2 |
| scene15 | 5e-4 | 69 | 100 | 256,512,1024,2048 | 1500 | 256 | 0.01 | 0.05 | no | 1.0 | minmax | 10, 44.59 |

Deviations: the reference's read-out goes through its shuffled ``drop_last`` training loader (samples
beyond a whole number of batches are never labelled; its batch sizes divide its sets); here every
sample is labelled. A set smaller than one batch is one batch per epoch. Missing views are not read
(the runner imputes them).

``history``: per epoch ``reconstruction``, ``assignment_contrastive``, ``neg_entropy``, ``loss``,
``stage``, ``epoch_seconds``, ``readout_seconds``. ``device``: :mod:`mvbench.accelerator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from mvbench.accelerator import Device
from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization
from mvbench.method import Capabilities, FitResult, Method


def _preset(lr, batch, epochs, hidden, high, low, lam, beta, cosine, scaling):  # type: ignore[no-untyped-def]
    return {
        "lr": lr,
        "batch_size": batch,
        "contrastive_epochs": epochs,
        "hidden_dims": hidden,
        "high_feature_dim": high,
        "low_feature_dim": low,
        "label_weight": lam,
        "entropy_weight": beta,
        "cosine": cosine,
        "normalization": scaling,
    }


PRESETS: dict[str, dict[str, Any]] = {
    "generic": {
        **_preset(5e-4, 100, 100, [256, 512], 2000, 1024, 0.01, 0.005, False, "minmax"),
        "pretrain_epochs": 200,
        "temperature": 1.0,
    },
    "msrc_v1": _preset(5e-4, 35, 400, [256, 512], 2000, 1024, 0.01, 0.005, False, "minmax"),
    "mnist_usps": _preset(1e-4, 50, 200, [256, 512, 1024], 1500, 1024, 0.05, 0.05, False, "none"),
    "handwritten": _preset(1e-4, 200, 200, [256, 512, 1024], 1024, 1024, 0.005, 0.001, True, "minmax"),
    "bdgp2v": _preset(1e-4, 250, 100, [256, 512], 2000, 1024, 0.01, 0.01, True, "none"),
    "scene15": _preset(5e-4, 69, 100, [256, 512, 1024, 2048], 1500, 256, 0.01, 0.05, False, "minmax"),
}


@dataclass
class CVCLConfig:
    """None: from the preset (see module doc)."""

    preset: Literal["auto", "generic", "msrc_v1", "mnist_usps", "handwritten", "bdgp2v", "scene15"] = "auto"
    normalization: Normalization | None = None
    batch_size: int | None = None
    lr: float | None = None
    pretrain_epochs: int | None = None
    contrastive_epochs: int | None = None
    hidden_dims: list[int] | None = None
    high_feature_dim: int | None = None
    low_feature_dim: int | None = None
    label_weight: float | None = None
    entropy_weight: float | None = None
    temperature: float | None = None
    cosine: bool | None = None
    device: Device = "auto"

    constraints: ClassVar[Constraints] = {
        "batch_size": Interval(2),
        "lr": POSITIVE,
        "pretrain_epochs": Interval(0),
        "contrastive_epochs": Interval(0),
        "hidden_dims": AT_LEAST_ONE,
        "high_feature_dim": AT_LEAST_ONE,
        "low_feature_dim": AT_LEAST_ONE,
        "label_weight": NON_NEGATIVE,
        "entropy_weight": NON_NEGATIVE,
        "temperature": POSITIVE,
    }


def sharpen(p: Any) -> Any:
    """DEC's target distribution of ``p`` (the reference's ``target_distribution``, unclamped)."""
    weight = p.pow(2) / p.sum(0)
    return weight / weight.sum(1, keepdim=True)


def assignment_contrastive(p_a: Any, p_b: Any, temperature: float, cosine: bool) -> Any:
    """L_C: NT-Xent between the K sharpened assignment columns of two views."""
    from ._contrastive_mvc import cluster_contrastive

    return cluster_contrastive(sharpen(p_a), sharpen(p_b), temperature, cosine)


def negative_entropy(p: Any) -> Any:
    """-H of the sharpened cluster mass of a batch: sum_k m_k log m_k (between -log K and 0)."""
    import torch

    t = sharpen(p).sum(0)
    t = t / t.sum()
    return (t * torch.log(t)).sum()


def build_network(dims: list[int], hidden: list[int], high: int, low: int, n_clusters: int) -> Any:
    import torch
    from torch import nn

    from ._contrastive_mvc import dense_stack

    class CVCLNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoders = nn.ModuleList(dense_stack([d, *hidden, high], final_relu=True) for d in dims)
            self.decoders = nn.ModuleList(dense_stack([high, *hidden[::-1], d], final_relu=True) for d in dims)
            self.label_module = nn.Sequential(nn.Linear(high, low), nn.Linear(low, n_clusters), nn.Softmax(dim=1))

        def reconstruct(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
            return [dec(enc(x)) for enc, dec, x in zip(self.encoders, self.decoders, xs, strict=True)]

        def forward(self, xs: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
            zs = [enc(x) for enc, x in zip(self.encoders, xs, strict=True)]
            return [self.label_module(z) for z in zs], [dec(z) for dec, z in zip(self.decoders, zs, strict=True)]

        def assignments(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
            return [self.label_module(enc(x)) for enc, x in zip(self.encoders, xs, strict=True)]

    return CVCLNetwork()


class CVCL(Method):
    """CVCL (Chen et al., ICCV 2023): contrast of sharpened cluster assignments across views; see module doc."""

    Config = CVCLConfig
    capabilities = Capabilities(handles_missing=False, min_views=2)
    quick_params = {
        "pretrain_epochs": 3,
        "contrastive_epochs": 15,
        "batch_size": 50,
        "hidden_dims": [32],
        "high_feature_dim": 32,
        "low_feature_dim": 16,
        "lr": 1e-3,
        "normalization": "minmax",
    }

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch

        from ._contrastive_mvc import Trainer, eval_labels, fit_result, prepare, pretrain_step, reconstruction
        from ._torch_ops import seeded

        cfg, device, xs = prepare(self.config, PRESETS, data)
        n, n_views = data.n_samples, data.n_views
        with seeded(seed) as gen:
            model = build_network(
                [x.shape[1] for x in xs], cfg.hidden_dims, cfg.high_feature_dim, cfg.low_feature_dim, n_clusters
            ).to(device)
            trainer = Trainer(model, cfg.lr, device, gen, self.context.track)

            def read_labels() -> np.ndarray:
                return (sum(model.assignments(xs)) / n_views).argmax(1).cpu().numpy().astype(np.int64)

            def contrastive(idx: torch.Tensor) -> dict[str, torch.Tensor]:
                batch = [x[idx] for x in xs]
                ps, xrs = model(batch)
                con = neg = torch.zeros((), device=device)
                for v in range(n_views):
                    for w in range(v + 1, n_views):
                        con = con + assignment_contrastive(ps[v], ps[w], cfg.temperature, cfg.cosine)
                        neg = neg + negative_entropy(ps[v]) + negative_entropy(ps[w])
                rec = reconstruction(batch, xrs)
                loss = cfg.label_weight * con + cfg.entropy_weight * neg + rec
                return {"reconstruction": rec, "assignment_contrastive": con, "neg_entropy": neg, "loss": loss}

            batches = trainer.shuffled(n, cfg.batch_size)
            trainer.run(0, cfg.pretrain_epochs, batches, pretrain_step(xs, model.reconstruct), None, "cvcl pretrain")
            trainer.run(1, cfg.contrastive_epochs, batches, contrastive, read_labels, "cvcl contrastive")
            labels = eval_labels(model, read_labels)
        return fit_result(trainer, cfg, labels)
