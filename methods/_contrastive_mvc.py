"""What MFLVC and its descendants (``mflvc``, ``gcfagg``, ``cvcl``, ``scmvc``) share: per-dataset
presets, the views on the device, the per-view autoencoders, the reference's mini-batching, the
contrastive losses and the training loop that records losses, timings and per-epoch labels.

Losses (m samples per batch, rows L2-normalised by the caller where the reference does):

- :func:`paired_contrastive` (MFLVC ``forward_feature``, GCFAgg ``Structure_guided_Contrastive_Loss``,
  CVCL ``forward_label``): the 2m rows of A and B, scores s_rc = a_r'b_c / tau; row i of A and row i
  of B are positives, the other 2m - 2 rows negatives; the mean over the 2m rows of
  -log(e^{s_pos} / (e^{s_pos} + sum_neg e^{w_rc s_rc})). ``negative_weights`` w (2m x 2m) scales the
  negatives' scores (GCFAgg: 1 - S); absent, w = 1 (plain NT-Xent).
- :func:`cluster_contrastive` (MFLVC ``forward_label`` without its entropy term): the same on the K
  columns of two assignment matrices, compared by cosine (``cosine=True``) or dot product.
- :func:`entropy_gap`: log K - H(p), p the assignment mass of each cluster over the batch (MFLVC adds
  it per view to the label loss; CVCL's ``forward_prob`` is the same without the log K constant).
- :func:`self_weighted_contrastive` (SCMVC ``ContrastiveLoss``): one direction, rows of H against
  rows of R, scores h_i'r_j / tau, the positive left out of its own denominator:
  mean_i -log(e^{s_ii} / sum_{j != i} e^{s_ij}).
- :func:`view_weights` (SCMVC ``compute_view_value``): w_v = exp(-MMD_v) / sum_u exp(-MMD_u) with the
  linear-kernel MMD_v = (sum R_v R_v' + sum H H' - 2 sum R_v H') / N^2 = ||mean(R_v) - mean(H)||^2.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mvbench.accelerator import resolve_device
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import normalize_view
from mvbench.method import FitResult

#: Hidden widths of the MFLVC-family autoencoder (encoder; the decoder mirrors it).
MFLVC_HIDDEN = (500, 500, 2000)


# -- presets ----------------------------------------------------------------------------------------
def resolve_preset(cfg: Any, presets: dict[str, dict[str, Any]], dataset: str) -> tuple[Any, str]:
    """``cfg`` with every field left at None filled from its preset, and the preset's name.

    ``cfg.preset``: ``auto`` takes the preset named like the dataset when there is one, else
    ``generic`` (the reference's command-line defaults); any other value names a preset. A field set
    explicitly always wins over the preset.
    """
    name = cfg.preset if cfg.preset != "auto" else (dataset if dataset in presets else "generic")
    values = dict(presets["generic"])
    values.update(presets[name])
    filled = {key: val for key, val in values.items() if getattr(cfg, key) is None}
    return dataclasses.replace(cfg, **filled), name


# -- data and networks ------------------------------------------------------------------------------
def prepare(
    config: Any, presets: dict[str, dict[str, Any]], data: MultiViewDataset
) -> tuple[Any, torch.device, list[torch.Tensor]]:
    """A method's settings with its preset filled in (:func:`resolve_preset`), its device, and the views
    on that device (:func:`device_views`): the start of every fit in the family."""
    cfg, _ = resolve_preset(config, presets, data.card.name)
    device = resolve_device(cfg.device)
    return cfg, device, device_views(data, cfg.normalization, device)


def device_views(data: MultiViewDataset, normalization: str, device: torch.device) -> list[torch.Tensor]:
    """Every view normalised (``none`` or ``minmax`` in the references' loaders), float32, on ``device``, once."""
    return [
        torch.from_numpy(normalize_view(data.view(v), normalization, data.mask[:, v])).to(device)  # type: ignore[arg-type]
        for v in range(data.n_views)
    ]


def dense_stack(dims: Iterable[int], final_relu: bool) -> nn.Sequential:
    """Linear layers through ``dims`` with ReLU between them (and after the last when ``final_relu``)."""
    dims = list(dims)
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if final_relu or i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mflvc_autoencoder(
    input_dim: int, feature_dim: int, hidden: Iterable[int] = MFLVC_HIDDEN
) -> tuple[nn.Sequential, nn.Sequential]:
    """MFLVC's per-view encoder d-500-500-2000-f and its mirror decoder (ReLU inside, linear ends)."""
    widths = [input_dim, *hidden, feature_dim]
    return dense_stack(widths, final_relu=False), dense_stack(widths[::-1], final_relu=False)


# -- losses -----------------------------------------------------------------------------------------
def _partners(m: int, device: torch.device) -> torch.Tensor:
    return torch.cat([torch.arange(m, 2 * m), torch.arange(m)]).to(device)


def paired_contrastive(
    a: torch.Tensor, b: torch.Tensor, temperature: float, negative_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """NT-Xent over the 2m rows of ``a`` and ``b`` (dot products / tau; see module doc)."""
    m = a.shape[0]
    z = torch.cat([a, b])
    sim = z @ z.T / temperature
    partner = _partners(m, z.device)
    rows = torch.arange(2 * m, device=z.device)
    logits = sim
    if negative_weights is not None:
        positive = torch.zeros_like(sim, dtype=torch.bool)
        positive[rows, partner] = True
        logits = torch.where(positive, sim, sim * negative_weights)
    logits = logits.masked_fill(torch.eye(2 * m, dtype=torch.bool, device=z.device), float("-inf"))
    return F.cross_entropy(logits, partner)


def cluster_contrastive(q_a: torch.Tensor, q_b: torch.Tensor, temperature: float, cosine: bool) -> torch.Tensor:
    """:func:`paired_contrastive` on the K columns of two n x K assignment matrices."""
    ca, cb = q_a.T, q_b.T
    if cosine:
        ca, cb = F.normalize(ca, dim=1, eps=1e-8), F.normalize(cb, dim=1, eps=1e-8)
    return paired_contrastive(ca, cb, temperature)


def entropy_gap(q: torch.Tensor) -> torch.Tensor:
    """log K - H(p), p_k = sum_i q_ik / sum q: 0 when the batch spreads evenly, log K at collapse."""
    p = q.sum(0)
    p = p / p.sum()
    return math.log(q.shape[1]) + (p * torch.log(p)).sum()


def self_weighted_contrastive(h: torch.Tensor, r: torch.Tensor, temperature: float) -> torch.Tensor:
    """SCMVC's one-directional contrast of rows of ``h`` with rows of ``r`` (see module doc), unweighted."""
    sim = h @ r.T / temperature
    off = sim.masked_fill(torch.eye(len(sim), dtype=torch.bool, device=sim.device), float("-inf"))
    return (torch.logsumexp(off, dim=1) - sim.diagonal()).mean()


def view_weights(rs: list[torch.Tensor], h: torch.Tensor) -> torch.Tensor:
    """SCMVC's self-weights: softmax over views of -||mean(R_v) - mean(H)||^2 (the linear-kernel MMD)."""
    mmd = torch.stack([(r.mean(0) - h.mean(0)).pow(2).sum() for r in rs])
    return torch.softmax(-mmd, dim=0)


def reconstruction(xs: list[torch.Tensor], xrs: list[torch.Tensor]) -> torch.Tensor:
    """Sum over views of the mean squared reconstruction error."""
    return sum((F.mse_loss(xr, x) for x, xr in zip(xs, xrs, strict=True)), torch.zeros((), device=xs[0].device))


# -- training ---------------------------------------------------------------------------------------
def epoch_batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """The references' ``DataLoader(shuffle=True, drop_last=True)``: n // b shuffled batches of b; one
    batch of all n when n < b (the reference would run no step at all)."""
    perm = torch.randperm(n, generator=gen)
    if n < batch_size:
        return [perm]
    return list(perm[: (n // batch_size) * batch_size].view(-1, batch_size))


def kmeans_labels(x: torch.Tensor | np.ndarray, n_clusters: int, n_init: int, seed: int) -> np.ndarray:
    """scikit-learn K-means (k-means++, ``n_init`` restarts) as the references' read-outs."""
    from sklearn.cluster import KMeans

    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit_predict(arr).astype(np.int64)


Step = Callable[[torch.Tensor], dict[str, torch.Tensor]]


class Trainer:
    """One Adam over a model for all stages (as every reference), with a record per epoch.

    ``history`` gets per epoch the batch means of each loss term, ``stage`` (0: reconstruction
    pretraining, 1, 2: the later stages), ``epoch_seconds`` (the training steps) and, where labels are
    read out, ``readout_seconds``; ``label_history`` the labels after each epoch of the stages that read
    them out.
    """

    def __init__(
        self,
        model: nn.Module,
        lr: float,
        device: torch.device,
        gen: torch.Generator,
        progress: Callable[[Iterable[Any], int | None, str], Iterator[Any]],
    ) -> None:
        self.model, self.device, self.gen, self.progress = model, device, gen, progress
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=0.0)
        self.history: list[dict[str, float]] = []
        self.label_history: list[np.ndarray] = []
        self.steps = 0

    def run(
        self,
        stage: int,
        epochs: int,
        batches: Callable[[], list[torch.Tensor]],
        step: Step,
        readout: Callable[[], np.ndarray] | None = None,
        description: str = "training",
    ) -> None:
        for _ in self.progress(range(epochs), epochs, description):
            self.model.train()
            start = time.perf_counter()
            sums: dict[str, float] = {}
            parts = batches()
            for idx in parts:
                terms = step(idx.to(self.device))
                self.optimizer.zero_grad()
                terms["loss"].backward()
                self.optimizer.step()
                self.steps += 1
                for key, val in terms.items():
                    sums[key] = sums.get(key, 0.0) + float(val.detach())
            entry = {key: s / len(parts) for key, s in sums.items()}
            entry.update(stage=float(stage), epoch_seconds=time.perf_counter() - start)
            if readout is not None:
                start = time.perf_counter()
                with torch.no_grad():
                    self.model.eval()
                    self.label_history.append(readout())
                entry["readout_seconds"] = time.perf_counter() - start
            self.history.append(entry)

    def shuffled(self, n: int, batch_size: int) -> Callable[[], list[torch.Tensor]]:
        return lambda: epoch_batches(n, batch_size, self.gen)


def pretrain_step(xs: list[torch.Tensor], reconstruct: Callable[[list[torch.Tensor]], list[torch.Tensor]]) -> Step:
    """The references' first stage: the summed per-view reconstruction MSE of a batch."""

    def step(idx: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = [x[idx] for x in xs]
        loss = reconstruction(batch, reconstruct(batch))
        return {"reconstruction": loss, "loss": loss}

    return step


def eval_labels(model: nn.Module, read_labels: Callable[[], np.ndarray]) -> np.ndarray:
    """The labels read out from ``model`` in eval mode, without gradients."""
    model.eval()
    with torch.no_grad():
        return read_labels()


def fit_result(trainer: Trainer, settings: Any, labels: np.ndarray) -> FitResult:
    """The fit's labels with the trainer's per-epoch record and :func:`fit_info`."""
    info = fit_info(trainer, settings, settings.pretrain_epochs)
    return FitResult(labels=labels, history=trainer.history, label_history=trainer.label_history, info=info)


def fit_info(trainer: Trainer, settings: Any, readout_from: int) -> dict[str, float]:
    """The facts every method of the family logs: epochs run, steps, where ``label_history`` starts."""
    epochs = float(len(trainer.history))
    return {
        "iterations": epochs,
        "max_iterations": epochs,
        "converged": 0.0,  # fixed schedules, no convergence test (as the references)
        "steps": float(trainer.steps),
        "label_history_first_epoch": float(readout_from),
        "batch_size": float(settings.batch_size),
        "lr": float(settings.lr),
    }
