"""The clustering phase shared by ``dec`` and ``jecl``: encoders + Student's t centroids trained on KL(P||Q).

One routine serves both: DEC is the one-view case (weights [1], gamma = beta = 0). For views
v = 0..V-1 with encoders f_v and centroids mu^v:

1. Embed every observed row, K-means (``kmeans_n_init`` restarts) per view gives mu^v; the
   Hungarian algorithm re-indexes mu^v (v > 0) so that cluster j means the same as view 0's
   (matched on rows observed in both views).
2. Every T iterations (``update_interval``, at most one epoch) the target is recomputed on the full
   data: p_i = sum_{v observed for i} w_v * target(q^v)_i / sum_{v observed for i} w_v, where
   target() is DEC's sharpening computed over the rows observed in view v. For JECL's two views
   w = (lambda, 1 - lambda), so a point without text takes p_i = target(q)_i (lambda = 1 for it).
3. Mini-batch SGD (momentum) on
   L = sum_v mean_{i obs in v} KL(p_i || q^v_i) + gamma * sum_{u<v} mean_{i obs in u, v} JS(q^u_i, q^v_i)
       + beta * sum_v KL(mean_{i obs in v} q^v_i || uniform),
   each view's encoder sees only its observed rows, so a missing caption sends no gradient to the
   text encoder and its point trains the image side only.
4. Stop when fewer than ``tol`` of the labels changed between two target refreshes (DEC) or after
   ``max_epochs``. Labels: argmax_j of the weighted mixture sum_v w_v q^v_ij over the point's
   observed views (the joint assignment where text is present, q alone otherwise).

Per-epoch history: mean of each loss term over the epoch's batches, and the labels after the epoch.

``device`` (``auto`` | ``cpu`` | ``cuda``, :mod:`mvbench.accelerator`): where pretraining and the
clustering phase run. Initial weights, K-means (scikit-learn, on the CPU) and the batch order are the
same on every device; a CUDA run then differs from the CPU run by floating-point rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np

from mvbench.accelerator import Device
from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval
from mvbench.data.preprocessing import Normalization
from mvbench.method import FitResult, RunContext

if TYPE_CHECKING:  # torch, scikit-learn and the autoencoder load when a fit starts, not when methods are listed
    import torch
    from torch import nn

    from .autoencoder import PretrainSettings


@dataclass
class DeepClusteringConfig:
    """Hyper-parameters shared by DEC and JECL (DEC's values unless stated)."""

    normalization: Normalization = "zscore"
    hidden: list[int] = field(default_factory=lambda: [500, 500, 2000])
    embedding_dim: int = 10
    pretrain_layer_epochs: int = 10  # epochs, not iterations: see .autoencoder
    pretrain_finetune_epochs: int = 30
    pretrain_lr: float = 1e-3
    pretrain_optimizer: Literal["adam", "sgd"] = "adam"
    pretrain_lr_schedule: Literal["constant", "step"] = "constant"  # step: DEC's x0.1 every 20k of 50k/100k
    pretrain_dropout: float = 0.2
    pretrain_selection: Literal["last", "consensus"] = "last"  # which fine-tuning checkpoint is kept
    pretrain_checkpoint_every: int = 5
    batch_size: int = 256
    lr: float = 0.01
    momentum: float = 0.9
    alpha: float = 1.0
    update_interval: int = 140
    tol: float = 0.001
    max_epochs: int = 100
    kmeans_n_init: int = 20
    cache: bool = True
    device: Device = "auto"

    constraints: ClassVar[Constraints] = {
        "hidden": AT_LEAST_ONE,
        "embedding_dim": AT_LEAST_ONE,
        "pretrain_layer_epochs": NON_NEGATIVE,
        "pretrain_finetune_epochs": NON_NEGATIVE,
        "pretrain_lr": POSITIVE,
        "pretrain_dropout": Interval(0, 1, "left"),
        "pretrain_checkpoint_every": AT_LEAST_ONE,
        "batch_size": AT_LEAST_ONE,
        "lr": POSITIVE,
        "momentum": NON_NEGATIVE,
        "alpha": POSITIVE,
        "update_interval": AT_LEAST_ONE,
        "tol": Interval(0, 1, "left"),
        "max_epochs": NON_NEGATIVE,
        "kmeans_n_init": AT_LEAST_ONE,
    }

    def pretrain_settings(self) -> PretrainSettings:
        from .autoencoder import PretrainSettings

        return PretrainSettings(
            hidden=tuple(self.hidden),
            embedding_dim=self.embedding_dim,
            layer_epochs=self.pretrain_layer_epochs,
            finetune_epochs=self.pretrain_finetune_epochs,
            batch_size=self.batch_size,
            lr=self.pretrain_lr,
            optimizer=self.pretrain_optimizer,
            dropout=self.pretrain_dropout,
            selection=self.pretrain_selection,
            checkpoint_every=self.pretrain_checkpoint_every,
            lr_schedule=self.pretrain_lr_schedule,
        )


QUICK_PARAMS = {
    "hidden": [32, 32],
    "embedding_dim": 5,
    "pretrain_layer_epochs": 3,
    "pretrain_finetune_epochs": 5,
    "max_epochs": 10,
    "kmeans_n_init": 3,
    "cache": False,
}


def deep_cluster(
    xs: list[np.ndarray],
    observed: list[np.ndarray],
    names: list[str],
    weights: list[float],
    gamma: float,
    beta: float,
    cfg: DeepClusteringConfig,
    n_clusters: int,
    seed: int,
    context: RunContext,
) -> FitResult:
    """Run the clustering phase (module doc) on views ``xs`` (observed rows only, flagged by ``observed``).

    The autoencoders are pretrained with the run's shared seed (``context.shared_seed``) and cached in
    ``context.cache_dir`` when ``cfg.cache`` is on, so that every method of a dataset/condition/repetition
    reuses them."""
    import torch

    from mvbench.accelerator import resolve_device

    from .autoencoder import pretrained_encoder
    from .clustering_losses import student_t, target_distribution

    device = resolve_device(cfg.device)
    n = len(observed[0])
    obs = [torch.from_numpy(np.array(o, dtype=bool)).to(device) for o in observed]  # a copy: inputs are read-only
    if not torch.stack(obs, 1).any(1).all():
        raise ValueError("some samples have none of the chosen views observed: choose views covering every sample")
    data = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device) for x in xs]
    settings = cfg.pretrain_settings()
    encoders: list[nn.Module] = []
    info: dict[str, float] = {}
    for v, x in enumerate(xs):
        enc, facts = pretrained_encoder(
            x,
            names[v],
            settings,
            context.shared_seed(seed),
            n_clusters,
            context.cache_dir if cfg.cache else None,
            device,
        )
        encoders.append(enc.to(device))
        info.update({f"pretrain_{k}_{names[v]}": val for k, val in facts.items()})

    centroids = _init_centroids(encoders, data, obs, n_clusters, cfg.kmeans_n_init, seed)
    params = [p for enc in encoders for p in enc.parameters()] + centroids
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    w = torch.tensor(weights, dtype=torch.float32, device=device)
    gen = torch.Generator().manual_seed(int(seed))
    # row of each sample inside its view's observed block (-1 when missing)
    rows = [torch.cumsum(o.long(), 0) - 1 for o in obs]
    per_epoch = -(-n // cfg.batch_size)
    interval = min(cfg.update_interval, per_epoch)

    def full_q() -> list[torch.Tensor]:
        with torch.no_grad():
            return [student_t(enc(x), mu, cfg.alpha) for enc, x, mu in zip(encoders, data, centroids)]

    def mixture(qs: list[torch.Tensor], use_target: bool) -> torch.Tensor:
        out = torch.zeros(n, n_clusters, device=device)
        total = torch.zeros(n, 1, device=device)
        for v, q in enumerate(qs):
            out[obs[v]] += w[v] * (target_distribution(q) if use_target else q)
            total[obs[v]] += w[v]
        return out / total.clamp_min(1e-12)

    history: list[dict[str, float]] = []
    label_history: list[np.ndarray] = []
    qs = full_q()
    labels = mixture(qs, False).argmax(1)
    target, last_refresh_labels, fresh = None, None, True
    iteration, converged, epochs_run = 0, False, 0
    for _epoch in context.track(range(cfg.max_epochs), total=cfg.max_epochs, description="clustering"):
        sums: dict[str, float] = {}
        n_batches = 0
        for idx in torch.randperm(n, generator=gen).split(cfg.batch_size):
            idx = idx.to(device)
            if iteration % interval == 0:
                if not fresh:
                    qs = full_q()
                target = mixture(qs, True)
                labels = mixture(qs, False).argmax(1)
                if last_refresh_labels is not None:
                    changed = float((labels != last_refresh_labels).float().mean())
                    if changed < cfg.tol:
                        converged = True
                        break
                last_refresh_labels = labels
            fresh = False
            terms = _batch_terms(idx, encoders, data, centroids, obs, rows, target, cfg.alpha)
            loss = terms["kl"] + gamma * terms["js"] + beta * terms["reg"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            iteration += 1
            n_batches += 1
            for key, val in terms.items():
                sums[key] = sums.get(key, 0.0) + float(val.detach())
            sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
        if converged:
            break
        epochs_run += 1
        qs, fresh = full_q(), True
        labels = mixture(qs, False).argmax(1)
        history.append({k: s / n_batches for k, s in sums.items()})
        label_history.append(labels.cpu().numpy().astype(np.int64))

    qs = full_q()
    final = mixture(qs, False).argmax(1).cpu().numpy().astype(np.int64)
    info.update(
        epochs=float(epochs_run),
        iterations=float(iteration),
        converged=float(converged),
        max_iterations=float(cfg.max_epochs * per_epoch),
    )
    return FitResult(labels=final, history=history, label_history=label_history, info=info)


def _init_centroids(
    encoders: list[nn.Module], data: list[torch.Tensor], obs: list[torch.Tensor], k: int, n_init: int, seed: int
) -> list[nn.Parameter]:
    """K-means per view on the initial embeddings; views v > 0 aligned to view 0 by the Hungarian algorithm."""
    import torch
    from sklearn.cluster import KMeans
    from torch import nn

    from .clustering_losses import align_labels

    centres, labels = [], []
    for enc, x, o in zip(encoders, data, obs):
        with torch.no_grad():
            z = enc(x).cpu().numpy()
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(z)
        centres.append(km.cluster_centers_.astype(np.float32))
        full = np.full(len(obs[0]), -1, dtype=np.int64)
        full[o.cpu().numpy()] = km.labels_
        labels.append(full)
    for v in range(1, len(centres)):
        both = (labels[0] >= 0) & (labels[v] >= 0)
        if both.any():
            perm = align_labels(labels[0][both], labels[v][both], k)
            centres[v] = centres[v][perm]
    return [nn.Parameter(torch.from_numpy(c).to(data[0].device)) for c in centres]


def _batch_terms(
    idx: torch.Tensor,
    encoders: list[nn.Module],
    data: list[torch.Tensor],
    centroids: list[nn.Parameter],
    obs: list[torch.Tensor],
    rows: list[torch.Tensor],
    target: torch.Tensor,
    alpha: float,
) -> dict[str, torch.Tensor]:
    """The loss terms of one mini-batch (see module doc)."""
    import torch

    from .clustering_losses import balance_regularizer, js_rows, kl_rows, student_t

    kl, js, reg = (torch.zeros((), device=target.device) for _ in range(3))
    qs: list[torch.Tensor | None] = []
    present: list[torch.Tensor] = []
    for v, enc in enumerate(encoders):
        here = obs[v][idx]
        present.append(here)
        if not here.any():
            qs.append(None)
            continue
        q = student_t(enc(data[v][rows[v][idx[here]]]), centroids[v], alpha)
        qs.append(q)
        kl = kl + kl_rows(target[idx[here]], q).mean()
        reg = reg + balance_regularizer(q)
    for u in range(len(encoders)):
        for v in range(u + 1, len(encoders)):
            if qs[u] is None or qs[v] is None:
                continue
            both = present[u] & present[v]
            if both.any():
                qu = qs[u][both[present[u]]]
                qv = qs[v][both[present[v]]]
                js = js + js_rows(qu, qv).mean()
    return {"kl": kl, "js": js, "reg": reg}
