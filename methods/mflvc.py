"""MFLVC, Multi-level Feature Learning for contrastive multi-View Clustering (Xu, Tang, Ren, Peng, Zhu, He;
CVPR 2022).

Reference code: SubmissionsIn/MFLVC (``network.py``, ``loss.py``, ``train.py``, ``dataloader.py``).

Network (``network.py``), for each view v: an autoencoder x_v -> z_v -> x_v' (encoder d-500-500-2000-f,
ReLU inside, linear output; the decoder mirrors it), f = ``feature_dim`` (512). Two heads shared by all
views: the high-level feature h_v = normalize(W_H z_v) (Linear f -> ``high_feature_dim``, 128) and the
label head q_v = softmax(W_Q z_v) (Linear f -> K).

Objective (paper Sec. 3; ``loss.py``, ``train.py``), per mini-batch of m samples:

- stage 0, ``pretrain_epochs`` (200): L_r = sum_v mean ||x_v - x_v'||^2;
- stage 1, ``contrastive_epochs``: L_r + sum_{v<w} [L_F(h_v, h_w) + L_Q(q_v, q_w)] with
  L_F the NT-Xent on the 2m rows (scores h'h / tau_F, tau_F = ``feature_temperature`` 0.5) and
  L_Q = the NT-Xent on the 2K columns of q_v, q_w (cosine / tau_L, ``label_temperature`` 1.0)
  + sum_{u in v,w} (log K - H(p_u)), p_u the cluster mass of the batch (the entropy term, with the
  reference's constant log K);
- stage 2, ``tune_epochs`` (50): pseudo-labels from K-means (``kmeans_n_init`` 100 restarts) on each
  view's high-level features h_v of all samples, min-max scaled per feature, computed once after stage
  1; every epoch each view's pseudo-labels are matched to the current label-head argmax by the Hungarian
  algorithm and L = sum_v CE(q_v, matched pseudo-labels) on all samples in one step (the
  reference feeds the softmax output to ``CrossEntropyLoss``, which applies a second softmax: kept).

One Adam (lr 3e-4, no weight decay) over all parameters for the three stages, batches of 256 shuffled
with the last incomplete one dropped. Labels (the reference's ``valid``): argmax_k of the mean over views
of q_v, read after every epoch of stages 1 and 2 (``label_history``; ``info``'s
``label_history_first_epoch`` says where it starts). The result is the last epoch's.

Presets (``preset``: ``auto`` = the dataset's own when listed, else ``generic``; a field given
explicitly wins): ``generic`` = the reference's command-line defaults (batch 256, lr 3e-4, tau_F 0.5,
tau_L 1.0, 200 + 50 + 50 epochs, f 512, 128) with min-max scaling (its loader scales the feature-vector
sets Caltech and CCV-STIP); ``mnist_usps`` (con 50) and ``bdgp2v`` (con 10) take the raw views, as its
loader. The reference fixes ``seed = 10`` for both; here the seed is the harness's (every repetition
its own).

Deviations, with reasons:

1. A set smaller than one batch (msrc_v1 has 210 samples) is one batch per epoch; the reference's
   ``drop_last`` would run no step.
2. Seeds come from the harness, never per data set (the reference's fixed seed "was higher than the
   values shown in the paper", ``train.py``).
3. Missing views are not read (the runner imputes them); MFLVC is a complete-view method.

``history``: per epoch the batch means of ``reconstruction``, ``feature``, ``label``, ``entropy``
(stage 1), ``cross_entropy`` (stage 2) and ``loss``, the ``stage``, ``epoch_seconds`` and
``readout_seconds``. ``device``: where it trains (:mod:`mvbench.accelerator`); weights, batch order and
K-means come from CPU generators seeded by the run's seed.
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
        "feature_temperature": 0.5,
        "label_temperature": 1.0,
        "pretrain_epochs": 200,
        "contrastive_epochs": 50,
        "tune_epochs": 50,
        "feature_dim": 512,
        "high_feature_dim": 128,
    },
    "mnist_usps": {"normalization": "none", "contrastive_epochs": 50},
    "bdgp2v": {"normalization": "none", "contrastive_epochs": 10},
}


@dataclass
class MFLVCConfig:
    """None: from the preset (see module doc)."""

    preset: Literal["auto", "generic", "mnist_usps", "bdgp2v"] = "auto"
    normalization: Normalization | None = None
    batch_size: int | None = None
    lr: float | None = None
    feature_temperature: float | None = None
    label_temperature: float | None = None
    pretrain_epochs: int | None = None
    contrastive_epochs: int | None = None
    tune_epochs: int | None = None
    feature_dim: int | None = None
    high_feature_dim: int | None = None
    hidden_dims: list[int] = field(default_factory=lambda: [500, 500, 2000])
    kmeans_n_init: int = 100
    device: Device = "auto"

    constraints: ClassVar[Constraints] = {
        "batch_size": Interval(2),
        "lr": POSITIVE,
        "feature_temperature": POSITIVE,
        "label_temperature": POSITIVE,
        "pretrain_epochs": Interval(0),
        "contrastive_epochs": Interval(0),
        "tune_epochs": Interval(0),
        "feature_dim": AT_LEAST_ONE,
        "high_feature_dim": AT_LEAST_ONE,
        "kmeans_n_init": AT_LEAST_ONE,
        "hidden_dims": AT_LEAST_ONE,
    }


def matched_targets(pseudo: np.ndarray, predicted: np.ndarray, n_clusters: int) -> np.ndarray:
    """``pseudo`` relabelled so that each pseudo-cluster takes the predicted cluster it overlaps most
    under a one-to-one (Hungarian) matching (the reference's ``match``)."""
    from scipy.optimize import linear_sum_assignment

    overlap = np.zeros((n_clusters, n_clusters), dtype=np.int64)
    np.add.at(overlap, (predicted, pseudo), 1)
    pred_idx, pseudo_idx = linear_sum_assignment(-overlap)
    to_pred = np.empty(n_clusters, dtype=np.int64)
    to_pred[pseudo_idx] = pred_idx
    return to_pred[pseudo]


def build_network(dims: list[int], hidden: list[int], feature_dim: int, high_dim: int, n_clusters: int) -> Any:
    import torch
    import torch.nn.functional as F
    from torch import nn

    from ._contrastive_mvc import mflvc_autoencoder

    class MFLVCNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            pairs = [mflvc_autoencoder(d, feature_dim, hidden) for d in dims]
            self.encoders = nn.ModuleList(e for e, _ in pairs)
            self.decoders = nn.ModuleList(d for _, d in pairs)
            self.feature_head = nn.Linear(feature_dim, high_dim)
            self.label_head = nn.Sequential(nn.Linear(feature_dim, n_clusters), nn.Softmax(dim=1))

        def reconstruct(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
            return [dec(enc(x)) for enc, dec, x in zip(self.encoders, self.decoders, xs, strict=True)]

        def forward(self, xs: list[torch.Tensor]) -> tuple[list[torch.Tensor], ...]:
            zs = [enc(x) for enc, x in zip(self.encoders, xs, strict=True)]
            hs = [F.normalize(self.feature_head(z), dim=1) for z in zs]
            qs = [self.label_head(z) for z in zs]
            xrs = [dec(z) for dec, z in zip(self.decoders, zs, strict=True)]
            return hs, qs, xrs

        def assignments(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
            return [self.label_head(enc(x)) for enc, x in zip(self.encoders, xs, strict=True)]

    return MFLVCNetwork()


class MFLVC(Method):
    """MFLVC (Xu et al., CVPR 2022): multi-level feature and label contrast, K-means fine-tuning; see module doc."""

    Config = MFLVCConfig
    capabilities = Capabilities(handles_missing=False, min_views=2)
    quick_params = {
        "pretrain_epochs": 3,
        "hidden_dims": [64],
        "contrastive_epochs": 10,
        "tune_epochs": 3,
        "batch_size": 50,
        "feature_dim": 32,
        "high_feature_dim": 16,
        "lr": 1e-3,
        "kmeans_n_init": 2,
        "normalization": "minmax",
    }

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch
        import torch.nn.functional as F

        from ._contrastive_mvc import (
            Trainer,
            cluster_contrastive,
            entropy_gap,
            eval_labels,
            fit_result,
            paired_contrastive,
            prepare,
            pretrain_step,
            reconstruction,
        )
        from ._torch_ops import seeded

        cfg, device, xs = prepare(self.config, PRESETS, data)
        n, n_views = data.n_samples, data.n_views
        with seeded(seed) as gen:
            model = build_network(
                [x.shape[1] for x in xs], cfg.hidden_dims, cfg.feature_dim, cfg.high_feature_dim, n_clusters
            )
            model.to(device)
            trainer = Trainer(model, cfg.lr, device, gen, self.context.track)

            def read_labels() -> np.ndarray:
                qs = model.assignments(xs)
                return (sum(qs) / n_views).argmax(1).cpu().numpy().astype(np.int64)

            def contrastive(idx: torch.Tensor) -> dict[str, torch.Tensor]:
                batch = [x[idx] for x in xs]
                hs, qs, xrs = model(batch)
                feat = label = ent = torch.zeros((), device=device)
                for v in range(n_views):
                    for w in range(v + 1, n_views):
                        feat = feat + paired_contrastive(hs[v], hs[w], cfg.feature_temperature)
                        label = label + cluster_contrastive(qs[v], qs[w], cfg.label_temperature, cosine=True)
                        ent = ent + entropy_gap(qs[v]) + entropy_gap(qs[w])
                rec = reconstruction(batch, xrs)
                return {"reconstruction": rec, "feature": feat, "label": label, "entropy": ent,
                        "loss": rec + feat + label + ent}  # fmt: skip

            batches = trainer.shuffled(n, cfg.batch_size)
            trainer.run(0, cfg.pretrain_epochs, batches, pretrain_step(xs, model.reconstruct), None, "mflvc pretrain")
            trainer.run(1, cfg.contrastive_epochs, batches, contrastive, read_labels, "mflvc contrastive")

            pseudo = self._pseudo_labels(model, xs, n_clusters, cfg.kmeans_n_init, seed)
            everyone = torch.arange(n)

            def tune(idx: torch.Tensor) -> dict[str, torch.Tensor]:
                _, qs, _ = model(xs)
                ce = torch.zeros((), device=device)
                for v in range(n_views):
                    predicted = qs[v].detach().argmax(1).cpu().numpy()
                    target = torch.from_numpy(matched_targets(pseudo[v], predicted, n_clusters)).to(device)
                    ce = ce + F.cross_entropy(qs[v], target)
                return {"cross_entropy": ce, "loss": ce}

            trainer.run(2, cfg.tune_epochs, lambda: [everyone], tune, read_labels, "mflvc fine-tune")
            labels = eval_labels(model, read_labels)
        return fit_result(trainer, cfg, labels)

    @staticmethod
    def _pseudo_labels(model: Any, xs: list[Any], n_clusters: int, n_init: int, seed: int) -> list[np.ndarray]:
        """K-means on each view's min-max scaled high-level features (the reference's ``make_pseudo_label``)."""
        import torch
        from sklearn.preprocessing import MinMaxScaler

        from ._contrastive_mvc import kmeans_labels

        model.eval()
        with torch.no_grad():
            hs, _, _ = model(xs)
        return [kmeans_labels(MinMaxScaler().fit_transform(h.cpu().numpy()), n_clusters, n_init, seed) for h in hs]
