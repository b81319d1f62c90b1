"""What ``completer`` and ``dcp`` share: COMPLETER's networks, its entropy-weighted contrastive loss,
dual prediction, and one training/inference loop (DCP's clustering objective is COMPLETER's).

References: Lin et al., "COMPLETER: Incomplete Multi-view Clustering via Contrastive Prediction",
CVPR 2021 (``XLearning-SCU/2021-CVPR-Completer``: ``model.py``, ``loss.py``, ``configure.py``,
``run.py``); Lin et al., "Dual Contrastive Prediction for Incomplete Multi-View Representation
Learning", IEEE TPAMI 2022 (``XLearning-SCU/2022-TPAMI-DCP``: ``model.py``, ``model_multiview.py``,
``loss.py``, ``configure/configure_clustering*.py``, ``utils/next_batch.py``).

Networks (the references' ``Autoencoder`` and ``Prediction``):

- autoencoder of view v, widths [d_v, h_1, ..., h_L, k]: encoder Linear-BatchNorm-ReLU per hidden
  layer, a last Linear to k and a softmax (so the latent z is a distribution over k "codes");
  decoder k -> h_L -> ... -> d_v with BatchNorm and ReLU after *every* Linear, the output layer too;
- predictor P_ij from view i's latent to view j's, widths [k, a_1, ..., a_m] with a_m = k: m
  Linear-BatchNorm-ReLU layers up, m layers back down (BatchNorm-ReLU except after the last) and a
  softmax.

Loss on a batch of complete samples (all views observed), with latents z_v = softmax encoders:

- reconstruction: mean squared error of each decoder's output against its input (L_rec);
- contrastive: the entropy-weighted mutual information of the two latents, the papers'
  L_cl = -(I(Z1; Z2) + a (H(Z1) + H(Z2))) with a = 9, computed as the references' ``loss.py`` does
  (:func:`entropy_weighted_contrastive`): with P = sym(sum_n z1_n z2_n') / total the k x k joint and
  P_i, P_j its marginals (entries clamped at machine epsilon),
  ``L_cl = -sum_ij P_ij (ln P_ij - w ln P_i - w ln P_j)``, w = a + 1 = ``marginal_weight``: COMPLETER's
  code passes alpha = 9 and adds 1, DCP's passes alpha = 10 as w; both are w = 10;
- dual prediction: MSE(P_ij(z_i), z_j) over the predictor pairs (the papers' L_pre);
- total: L_cl + lambda2 * L_rec + lambda1 * L_pre, the last term only from epoch
  ``start_dual_prediction`` on (0-based, as ``k >= start`` in the reference); lambda1 = lambda2 = 0.1.

Two views: L_rec = sum of both, L_cl on (z_0, z_1), L_pre = both directions (the references'
``model.py``). Three or more views (DCP's ``model_multiview.py``, clustering): ``graph="core"`` (the
reference's default ``type='CV'``: view 0 is the core) uses L_cl = sum_j w_j L_cl(z_0, z_j) / (V - 1)
with w_1 = 1 and 0.1 otherwise, L_pre = sum_j [MSE(P_0j(z_0), z_j) + MSE(P_j0(z_j), z_0)] / (V - 1);
``graph="complete"`` (``type='CG'``) uses every pair i < j (weight 1 for (0, 1), else 0.1) / V and every
ordered pair for L_pre / V; both divide L_rec by V - 2, as the reference does.

Training (Adam, lr 1e-4, batch 256, 500 epochs) uses only the samples whose views are all observed,
reshuffled every epoch. Inference (eval mode, all samples): each observed view is encoded; a missing
view's latent is predicted: two views, from the other view; ``core``, view 0 as the mean of
P_j0(z_j) over the observed j, any other view as P_0i of the (recovered) core latent; ``complete``,
the mean of P_ji(z_j) over the observed j. K-means (``n_init`` = 10, as the references) clusters the
concatenated latents. The last epoch's model gives the labels (the references evaluate every
50/100 epochs and report the last evaluation, which is the last epoch).

Deviations from the references, with reasons:

1. Randomness: the references seed numpy/torch globally (COMPLETER/DCP: the fixed config seed when
   r > 0, the mask seed when r = 0) and shuffle with ``sklearn.utils.shuffle`` (numpy's global RNG);
   here the initial weights and every epoch's order derive from the cell's ``seed`` (torch's global
   RNG forked and seeded, a CPU generator for the order), so a run is reproducible and masks and
   model seeds stay the harness's business.
2. Device: the references build on the CPU then move with ``.to(device)`` (COMPLETER's and DCP's
   evaluation allocate with ``.to(device)``); ``device`` (``auto`` | ``cpu`` | ``cuda``) chooses, and
   initial weights and batch order come from CPU generators on every device.
3. A batch of one sample cannot train BatchNorm: COMPLETER's last batch is dropped when it holds a
   single sample (its reference would raise); DCP always drops its last batch (as its
   ``next_batch``) but keeps one batch when there would be none (at most ``batch_size`` complete
   samples: the reference would not train at all).
4. ``history`` holds per epoch the *mean* over batches of each term (the reference prints sums);
   the dual-prediction term is reported before ``start_dual_prediction`` too, computed without
   gradient (the reference computes it and leaves it out of the loss, as here).
5. Views are normalised per ``normalization`` (default ``none``: Scene-15 is used raw by both
   references; Caltech101-20's min-max over the whole matrix is the reference's other choice); rows of
   missing views are zero, as in the references' masked inputs, and never read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mvbench.accelerator import Device
from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization
from mvbench.method import Capabilities, FitResult, Method

from ._views import prepare_view
from .kmeans import KMeansConfig, kmeans_labels

if TYPE_CHECKING:  # torch loads when a fit starts, not when the method is listed
    import torch
    from torch import nn

EPS = sys.float_info.epsilon


@dataclass
class ContrastivePredictionConfig:
    """Scene-15 defaults of both references (``configure.py``, ``configure_clustering.py``)."""

    hidden: list[int] = field(default_factory=lambda: [1024, 1024, 1024])
    latent_dim: int = 128
    predictor_hidden: list[int] = field(default_factory=lambda: [128, 256])
    lr: float = 1e-4
    batch_size: int = 256
    epochs: int = 500
    start_dual_prediction: int = 100
    lambda1: float = 0.1  # dual prediction weight
    lambda2: float = 0.1  # reconstruction weight
    normalization: Normalization = "none"
    n_init: int = 10
    record_labels: bool = False
    device: Device = "auto"

    constraints: ClassVar[Constraints] = {
        "hidden": AT_LEAST_ONE,
        "latent_dim": Interval(2),
        "predictor_hidden": AT_LEAST_ONE,
        "lr": POSITIVE,
        "batch_size": Interval(2),
        "epochs": AT_LEAST_ONE,
        "start_dual_prediction": NON_NEGATIVE,
        "lambda1": NON_NEGATIVE,
        "lambda2": NON_NEGATIVE,
        "n_init": AT_LEAST_ONE,
    }


QUICK_PARAMS = {
    "hidden": [32, 32],
    "latent_dim": 8,
    "predictor_hidden": [8, 16],
    "lr": 1e-3,
    "batch_size": 32,
    "epochs": 15,
    "start_dual_prediction": 5,
    "n_init": 3,
}


# -- networks ----------------------------------------------------------------------------------------
def autoencoder(dims: list[int]) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder, decoder) of widths ``dims`` = [d, h_1, ..., k], as the references' ``Autoencoder``."""
    from torch import nn

    enc: list[nn.Module] = []
    for i in range(len(dims) - 1):
        enc.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            enc += [nn.BatchNorm1d(dims[i + 1]), nn.ReLU()]
    enc.append(nn.Softmax(dim=1))
    back = dims[::-1]
    dec: list[nn.Module] = []
    for i in range(len(back) - 1):
        dec += [nn.Linear(back[i], back[i + 1]), nn.BatchNorm1d(back[i + 1]), nn.ReLU()]
    return nn.Sequential(*enc), nn.Sequential(*dec)


def predictor(dims: list[int]) -> nn.Sequential:
    """The references' ``Prediction`` of widths ``dims`` = [k, a_1, ..., a_m]: up and back to k, softmax."""
    from torch import nn

    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers += [nn.Linear(dims[i], dims[i + 1]), nn.BatchNorm1d(dims[i + 1]), nn.ReLU()]
    for i in range(len(dims) - 1, 0, -1):
        layers.append(nn.Linear(dims[i], dims[i - 1]))
        if i > 1:
            layers += [nn.BatchNorm1d(dims[i - 1]), nn.ReLU()]
    layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


# -- losses ------------------------------------------------------------------------------------------
def joint_distribution(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """P = sym(Z1' Z2) / total: the k x k joint of two batches of code distributions."""
    p = z1.T @ z2
    p = (p + p.T) / 2
    return p / p.sum()


def entropy_weighted_contrastive(z1: torch.Tensor, z2: torch.Tensor, marginal_weight: float) -> torch.Tensor:
    """-sum_ij P_ij (ln P_ij - w ln P_i - w ln P_j), entries clamped at machine epsilon (the references')."""
    p = joint_distribution(z1, z2)
    pi = p.sum(dim=1, keepdim=True).expand_as(p)
    pj = p.sum(dim=0, keepdim=True).expand_as(p)
    p, pi, pj = (t.clamp_min(EPS) for t in (p, pi, pj))
    return -(p * (p.log() - marginal_weight * pj.log() - marginal_weight * pi.log())).sum()


# -- the model ---------------------------------------------------------------------------------------
class ContrastivePrediction:
    """Autoencoders, predictors and the loss/inference rules for V views (see the module docstring)."""

    def __init__(
        self, dims: list[int], config: ContrastivePredictionConfig, marginal_weight: float, graph: str
    ) -> None:
        from torch import nn

        c = self.config = config
        self.n_views = len(dims)
        self.marginal_weight = marginal_weight
        self.graph = "pair" if self.n_views == 2 else graph
        if self.graph == "core":
            self.pairs = [(0, j) for j in range(1, self.n_views)] + [(j, 0) for j in range(1, self.n_views)]
        else:
            self.pairs = [(i, j) for i in range(self.n_views) for j in range(self.n_views) if i != j]
        self.encoders, self.decoders = nn.ModuleList(), nn.ModuleList()
        self.predictors = nn.ModuleDict()
        pred_dims = [c.latent_dim, *c.predictor_hidden, c.latent_dim]
        for i, d in enumerate(dims):  # created in the multi-view reference's order
            enc, dec = autoencoder([d, *c.hidden, c.latent_dim])
            self.encoders.append(enc)
            self.decoders.append(dec)
            for a, b in self.pairs:
                if a == i:
                    self.predictors[f"{a}_{b}"] = predictor(pred_dims)
        self.net = nn.ModuleList([self.encoders, self.decoders, self.predictors])

    def loss(self, xs: list[torch.Tensor], dual: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The total loss on a batch of complete samples, and its detached terms."""
        import torch
        import torch.nn.functional as F

        c, v = self.config, self.n_views
        zs = [enc(x) for enc, x in zip(self.encoders, xs)]
        rec = sum(F.mse_loss(dec(z), x) for dec, z, x in zip(self.decoders, zs, xs))
        with torch.set_grad_enabled(dual and torch.is_grad_enabled()):
            pre = sum(F.mse_loss(self.predictors[f"{a}_{b}"](zs[a]), zs[b]) for a, b in self.pairs)
        w = self.marginal_weight
        if self.graph == "pair":
            cl = entropy_weighted_contrastive(zs[0], zs[1], w)
        elif self.graph == "core":
            rec = rec / (v - 2)
            cl = sum((1.0 if j == 1 else 0.1) * entropy_weighted_contrastive(zs[0], zs[j], w) for j in range(1, v))
            cl, pre = cl / (v - 1), pre / (v - 1)
        else:
            rec = rec / (v - 2)
            cl = sum(
                (1.0 if (i, j) == (0, 1) else 0.1) * entropy_weighted_contrastive(zs[i], zs[j], w)
                for i in range(v)
                for j in range(i + 1, v)
            )
            cl, pre = cl / v, pre / v
        total = cl + c.lambda2 * rec + (c.lambda1 * pre if dual else 0.0)
        terms = {"loss": total, "contrastive": cl, "reconstruction": rec, "dual_prediction": pre}
        return total, {k: t.detach() for k, t in terms.items()}

    def embed(self, xs: list[torch.Tensor], observed: torch.Tensor) -> np.ndarray:
        """Latents of all samples (missing views predicted), concatenated; eval mode, no gradient."""
        import torch

        self.net.eval()
        with torch.no_grad():
            n, k = len(observed), self.config.latent_dim
            zs = [xs[0].new_zeros(n, k) for _ in range(self.n_views)]
            for v, enc in enumerate(self.encoders):
                rows = observed[:, v]
                if rows.any():
                    zs[v][rows] = enc(xs[v][rows])

            def predicted(j: int, i: int, rows: torch.Tensor) -> torch.Tensor:
                return self.predictors[f"{j}_{i}"](zs[j][rows])

            order = range(self.n_views)
            for i in order:
                missing = ~observed[:, i]
                if not missing.any():
                    continue
                if self.graph == "pair":
                    zs[i][missing] = predicted(1 - i, i, missing)
                elif self.graph == "core" and i > 0:
                    zs[i][missing] = predicted(0, i, missing)  # the core view is recovered first
                else:
                    total, count = zs[i].new_zeros(n, k), zs[i].new_zeros(n)
                    for j in (j for j in order if j != i):
                        rows = missing & observed[:, j]
                        if rows.any():
                            total[rows] += predicted(j, i, rows)
                            count[rows] += 1
                    zs[i][missing] = total[missing] / count[missing, None]
            out = torch.cat(zs, dim=1).cpu().numpy()
        self.net.train()
        return out


# -- the method --------------------------------------------------------------------------------------
class ContrastivePredictionMethod(Method):
    """Base of ``completer`` and ``dcp``: subclasses choose the views, the marginal weight of the
    contrastive loss, the view graph and the batching rule (see the module docstring)."""

    Config = ContrastivePredictionConfig
    capabilities = Capabilities(handles_missing=True, min_views=2)
    quick_params = dict(QUICK_PARAMS)
    #: DCP's ``next_batch`` drops the last batch of every epoch; COMPLETER's keeps it.
    drop_last_batch: ClassVar[bool] = False

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        raise NotImplementedError

    def marginal_weight(self) -> float:
        raise NotImplementedError

    def graph(self) -> str:
        return "pair"

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        self.chosen_views(data)

    def epoch_batches(self, n: int, gen: torch.Generator) -> list[torch.Tensor]:
        """One epoch's batches of ``range(n)``: a random order cut into ``batch_size`` slices."""
        import torch

        bs = self.config.batch_size
        perm = torch.randperm(n, generator=gen)
        parts = list(torch.split(perm, bs))
        if self.drop_last_batch:
            parts = parts[: max(1, len(parts) - 1)]
        elif len(parts) > 1 and len(parts[-1]) == 1:
            parts = parts[:-1]
        return parts

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch

        from mvbench.accelerator import resolve_device

        from ._torch_ops import seeded

        c = self.config
        device = resolve_device(c.device)
        views = self.chosen_views(data)
        mask = np.asarray(data.mask)[:, views]
        xs_np = [prepare_view(data, v, c.normalization) * mask[:, [i]] for i, v in enumerate(views)]
        xs = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device) for x in xs_np]
        observed = torch.from_numpy(mask).to(device)
        complete = torch.from_numpy(np.flatnonzero(mask.all(axis=1))).to(device)
        if len(complete) < 2:
            raise ValueError(f"needs at least 2 samples with all {len(views)} views observed, got {len(complete)}")
        km = KMeansConfig(normalization="none", n_init=c.n_init)
        history: list[dict[str, float]] = []
        label_history: list[np.ndarray] = []
        with seeded(seed) as gen:
            model = ContrastivePrediction([x.shape[1] for x in xs], c, self.marginal_weight(), self.graph())
            model.net.to(device)
            opt = torch.optim.Adam(model.net.parameters(), lr=c.lr, fused=True)
            train = [x[complete] for x in xs]
            for epoch in self.context.track(range(c.epochs), total=c.epochs, description=self.name or "model"):
                sums: dict[str, torch.Tensor] = {}
                batches = self.epoch_batches(len(complete), gen)
                for idx in batches:
                    idx = idx.to(device)
                    loss, terms = model.loss([x[idx] for x in train], dual=epoch >= c.start_dual_prediction)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    for key, value in terms.items():
                        sums[key] = sums.get(key, 0) + value
                history.append({key: float(value) / len(batches) for key, value in sums.items()})
                if c.record_labels:
                    label_history.append(kmeans_labels(model.embed(xs, observed), n_clusters, km, seed))
            labels = kmeans_labels(model.embed(xs, observed), n_clusters, km, seed)
        info = {"epochs": float(c.epochs), "complete_samples": float(len(complete))}
        return FitResult(labels=labels, history=history, label_history=label_history, info=info)
