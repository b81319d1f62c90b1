"""DIVIDE: decoupled contrastive multi-view clustering with high-order random walks (two views).

Lu, Lin, Yang, Peng, Hu, Peng, "Decoupled Contrastive Multi-View Clustering with High-Order Random
Walks", AAAI 2024; reference code ``XLearning-SCU/2024-AAAI-DIVIDE`` (``model.py``,
``engine_train.py``, ``main_train.py``, ``dataset_loader.py``, ``utils.py``, ``config/Scene15.yaml``),
re-implemented here.

Networks, per view v (widths [d_v, 1024, 1024, 1024, 128]):

- online encoder f_v: bias-free Linear-BatchNorm-ReLU per hidden layer, dropout (p = 0.2) after all
  but the last hidden layer, a bias-free Linear to 128 and an affine-free BatchNorm;
- target encoder g_v: a copy of f_v updated only by momentum, g <- m g + (1 - m) f (m = 0.98) before
  every step (parameters only; its BatchNorm statistics are its own);
- cross-view head h_v: Linear(128, 512)-ReLU-Linear(512, 128), mapping view v into the other view's
  space.

Loss on a batch of complete samples (z_v = f_v(x_v), t_v = g_v(x_v), p_v = h_v(z_v)):
``L = [C(p_0, t_1; T_1) + C(p_1, t_0; T_0)] / 2 + [C(z_0, t_0; T_0) + C(z_1, t_1; T_1)] / 2``
(the paper's decoupled inter-view contrast, in the heads' space, and intra-view contrast, in the
encoders' space), with C(q, k; T) = mean over all N^2 entries of -log softmax_j(q_i'k_j / tau) *
T_ij / sum_j T_ij on L2-normalised rows (tau = 0.5). The target T is the identity for the first
``start_rectify_epoch`` (100) epochs; afterwards the paper's rectified target, a high-order random
walk on each view's target embedding: with u = normalised t_v, A = exp(-max(0, 2 - 2 u u') / 0.1),
W = A row-normalised, T_v = 0.5 I + 0.5 W^5.

Training: complete samples only, batches of 1024 (all complete samples when fewer) with the last
incomplete batch dropped, 200 epochs, Adam (betas 0.9, 0.99, no weight decay) at lr 2e-3 (the
reference's base lr 5e-4 x batch 1024 / 256) warmed up linearly per step over the first 20 epochs.
Inference (eval mode): the target encoder embeds each observed view; a missing view v is filled by
h_{1-v} of the other view's embedding; every view's embedding goes through its head h_v and is
L2-normalised; the concatenation is L2-normalised and clustered by K-means. The last epoch gives the
labels (the reference's last evaluation).

Deviations from the reference, with reasons:

1. The reference's sampler seeds its order with ``seed + epoch`` but ``set_epoch`` is never called,
   so every epoch visits the complete samples in the same order and ``drop_last`` always drops the
   same ones (389 of 4485 on complete Scene-15). Here the order is reshuffled every epoch from the
   cell's seed, as the sampler's ``set_epoch`` intends, so every complete sample is trained on.
2. Seeding and device: the reference seeds torch/numpy globally and hard-codes ``.cuda()`` for the
   identity targets and the inference buffers; here weights, dropout and order derive from the
   cell's ``seed`` (forked torch RNG, CPU generators) and ``device`` (``auto`` | ``cpu`` | ``cuda``)
   chooses where it runs.
3. Normalisation: the reference z-scores each view with statistics of all rows, missing ones
   included (``sklearn.preprocessing.scale``); here ``normalization`` (default ``zscore``) uses the
   observed rows only, so a missing view's content is never read.
4. K-means: the reference calls scikit-learn's ``KMeans(random_state=0)`` with the library's default
   restarts (10 before scikit-learn 1.4, 1 since); here ``n_init`` = 10 restarts seeded by the cell.
5. ``history`` holds per epoch the mean loss over batches and the learning rate at the epoch's end;
   with ``record_labels`` the labels after every epoch.

Views: two; ``views`` chooses them (``auto``: the views named image/text if present, else the first
two: gist + lbp on scene15, the reference's).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mvbench.accelerator import Device
from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization
from mvbench.method import Capabilities, FitResult, Method

from ._views import prepare_view, two_views
from .kmeans import KMeansConfig, kmeans_labels

if TYPE_CHECKING:  # torch loads when a fit starts, not when the method is listed
    import torch
    from torch import nn


@dataclass
class DIVIDEConfig:
    """Reference defaults (``main_train.py`` arguments overridden by ``config/Scene15.yaml``)."""

    hidden: list[int] = field(default_factory=lambda: [1024, 1024, 1024])
    embed_dim: int = 128
    dropout: float = 0.2
    temperature: float = 0.5
    momentum: float = 0.98
    start_rectify_epoch: int = 100
    walk_steps: int = 5
    affinity_temperature: float = 0.1
    self_weight: float = 0.5  # weight of the identity in the rectified target
    lr: float = 2e-3
    warmup_epochs: int = 20
    weight_decay: float = 0.0
    batch_size: int = 1024
    epochs: int = 200
    views: str = "auto"
    normalization: Normalization = "zscore"
    n_init: int = 10
    record_labels: bool = False
    device: Device = "auto"

    constraints: ClassVar[Constraints] = {
        "hidden": AT_LEAST_ONE,
        "embed_dim": AT_LEAST_ONE,
        "dropout": Interval(0, 1, closed="left"),
        "temperature": POSITIVE,
        "momentum": Interval(0, 1),
        "start_rectify_epoch": NON_NEGATIVE,
        "walk_steps": AT_LEAST_ONE,
        "affinity_temperature": POSITIVE,
        "self_weight": Interval(0, 1),
        "lr": POSITIVE,
        "warmup_epochs": NON_NEGATIVE,
        "weight_decay": NON_NEGATIVE,
        "batch_size": Interval(2),
        "epochs": AT_LEAST_ONE,
        "n_init": AT_LEAST_ONE,
    }


# -- networks ----------------------------------------------------------------------------------------
def encoder(dims: list[int], dropout: float) -> nn.Sequential:
    """The reference's ``FCN``: bias-free Linear-BN-ReLU(-Dropout) layers, then Linear and affine-free BN."""
    from torch import nn

    layers: list[nn.Module] = []
    for i in range(1, len(dims) - 1):
        layers += [nn.Linear(dims[i - 1], dims[i], bias=False), nn.BatchNorm1d(dims[i]), nn.ReLU()]
        if dropout > 0 and i != len(dims) - 2:
            layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(dims[-2], dims[-1], bias=False), nn.BatchNorm1d(dims[-1], affine=False)]
    return nn.Sequential(*layers)


def cross_view_head(dim: int) -> nn.Sequential:
    """The reference's ``MLP``: dim -> 4 dim -> dim with a ReLU between."""
    from torch import nn

    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Linear(4 * dim, dim))


# -- losses ------------------------------------------------------------------------------------------
def target_contrastive(q: torch.Tensor, k: torch.Tensor, target: torch.Tensor, temperature: float) -> torch.Tensor:
    """C(q, k; T): mean over all N^2 entries of -log softmax_j(q_i'k_j / tau) T_ij / sum_j T_ij (unit rows)."""
    import torch.nn.functional as F

    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / temperature
    weights = target / target.sum(dim=1, keepdim=True)
    return (-F.log_softmax(logits, dim=1) * weights).mean()


def random_walk_target(t: torch.Tensor, steps: int, temperature: float, self_weight: float) -> torch.Tensor:
    """T = w I + (1 - w) W^steps, W the row-normalised Gaussian affinity of the unit rows of ``t``."""
    import torch
    import torch.nn.functional as F

    u = F.normalize(t, dim=1)
    affinity = torch.exp(-(2 - 2 * u @ u.T).clamp_min(0) / temperature)
    walk = torch.linalg.matrix_power(affinity / affinity.sum(dim=1, keepdim=True), steps)
    eye = torch.eye(len(t), dtype=t.dtype, device=t.device)
    return self_weight * eye + (1 - self_weight) * walk


def divide_loss(
    z: list[torch.Tensor], p: list[torch.Tensor], t: list[torch.Tensor], targets: list[torch.Tensor], temperature: float
) -> torch.Tensor:
    """Inter-view (heads p against the other view's target embedding) + intra-view (z against its own)."""
    inter = (
        target_contrastive(p[0], t[1], targets[1], temperature)
        + target_contrastive(p[1], t[0], targets[0], temperature)
    ) / 2
    intra = (
        target_contrastive(z[0], t[0], targets[0], temperature)
        + target_contrastive(z[1], t[1], targets[1], temperature)
    ) / 2
    return inter + intra


def momentum_update(target: list[torch.Tensor], online: list[torch.Tensor], momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online, in place (parameters only)."""
    import torch

    with torch.no_grad():
        for t, o in zip(target, online):
            t.mul_(momentum).add_(o, alpha=1 - momentum)


# -- the method --------------------------------------------------------------------------------------
class DIVIDE(Method):
    """DIVIDE (Lu et al., AAAI 2024): momentum target encoders, random-walk targets, decoupled
    inter-/intra-view contrast, two incomplete views; see the module docstring."""

    Config = DIVIDEConfig
    capabilities = Capabilities(handles_missing=True, min_views=2)
    quick_params = {
        "hidden": [32, 32],
        "embed_dim": 8,
        "batch_size": 64,
        "epochs": 12,
        "warmup_epochs": 2,
        "start_rectify_epoch": 6,
        "n_init": 3,
    }

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        two_views(data, self.config.views)

    def learning_rate(self, progress: float) -> float:
        """The reference's per-step warm-up: lr * epochs_done / warmup_epochs, then lr."""
        c = self.config
        return c.lr * progress / c.warmup_epochs if progress < c.warmup_epochs else c.lr

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch
        from torch import nn

        from mvbench.accelerator import resolve_device

        from ._torch_ops import seeded

        c = self.config
        device = resolve_device(c.device)
        views = list(two_views(data, c.views))
        mask = np.asarray(data.mask)[:, views]
        xs = [
            torch.from_numpy(np.ascontiguousarray(prepare_view(data, v, c.normalization) * mask[:, [i]])).to(device)
            for i, v in enumerate(views)
        ]
        observed = torch.from_numpy(mask).to(device)
        complete = torch.from_numpy(np.flatnonzero(mask.all(axis=1))).to(device)
        if len(complete) < 2:
            raise ValueError(f"needs at least 2 samples with both views observed, got {len(complete)}")
        batch = min(c.batch_size, len(complete))
        km = KMeansConfig(normalization="none", n_init=c.n_init)
        history: list[dict[str, float]] = []
        label_history: list[np.ndarray] = []
        with seeded(seed) as gen:
            online = nn.ModuleList([encoder([x.shape[1], *c.hidden, c.embed_dim], c.dropout) for x in xs])
            target = copy.deepcopy(online).requires_grad_(False)
            heads = nn.ModuleList([cross_view_head(c.embed_dim) for _ in xs])
            model = nn.ModuleList([online, target, heads]).to(device)
            opt = torch.optim.Adam(
                [*online.parameters(), *heads.parameters()],
                lr=c.lr,
                betas=(0.9, 0.99),
                weight_decay=c.weight_decay,
                fused=True,
            )
            train = [x[complete] for x in xs]
            online_params, target_params = list(online.parameters()), list(target.parameters())
            for epoch in self.context.track(range(c.epochs), total=c.epochs, description=self.name or "divide"):
                model.train()
                perm = torch.randperm(len(complete), generator=gen)
                steps = len(complete) // batch
                total = torch.zeros((), device=device)
                for step in range(steps):
                    idx = perm[step * batch : (step + 1) * batch].to(device)
                    lr = self.learning_rate(epoch + (step + 1) / steps)
                    for group in opt.param_groups:
                        group["lr"] = lr
                    momentum_update(target_params, online_params, c.momentum)
                    b = [x[idx] for x in train]
                    z = [f(x) for f, x in zip(online, b)]
                    p = [h(zv) for h, zv in zip(heads, z)]
                    t = [g(x) for g, x in zip(target, b)]
                    if epoch < c.start_rectify_epoch:
                        eye = torch.eye(batch, device=device)
                        targets = [eye, eye]
                    else:
                        with torch.no_grad():
                            targets = [
                                random_walk_target(tv, c.walk_steps, c.affinity_temperature, c.self_weight) for tv in t
                            ]
                    loss = divide_loss(z, p, t, targets, c.temperature)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += loss.detach()
                history.append({"loss": float(total) / steps, "lr": lr})
                if c.record_labels:
                    label_history.append(kmeans_labels(self.embed(target, heads, xs, observed), n_clusters, km, seed))
            labels = kmeans_labels(self.embed(target, heads, xs, observed), n_clusters, km, seed)
        info = {"epochs": float(c.epochs), "complete_samples": float(len(complete)), "batch_size": float(batch)}
        return FitResult(labels=labels, history=history, label_history=label_history, info=info)

    @staticmethod
    def embed(
        target: nn.ModuleList, heads: nn.ModuleList, xs: list[torch.Tensor], observed: torch.Tensor
    ) -> np.ndarray:
        """The reference's ``extract_feature`` for all samples, concatenated and L2-normalised."""
        import torch
        import torch.nn.functional as F

        target.eval()
        heads.eval()
        with torch.no_grad():
            n, dim = len(observed), heads[0][-1].out_features
            z = [xs[0].new_zeros(n, dim) for _ in range(2)]
            for v in range(2):
                rows = observed[:, v]
                if rows.any():
                    z[v][rows] = target[v](xs[v][rows])
            for v in range(2):
                missing = ~observed[:, v]
                if missing.any():
                    z[v][missing] = heads[1 - v](z[1 - v][missing])
            feats = torch.cat([F.normalize(heads[v](z[v]), dim=1) for v in range(2)], dim=1)
            return F.normalize(feats, dim=1).cpu().numpy()
