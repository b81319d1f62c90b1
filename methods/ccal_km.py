"""``ccal_km``: CCA layer + pairwise ranking loss (CCAL-L_rank), then K-means.

Dorfer, Schlüter, Vall, Korzeniowski, Widmer, "End-to-end cross-modality retrieval with CCA
projections and pairwise ranking loss", IJMIR 2018 (reference code: CPJKU/cca_layer).

Two branches map the views to ``latent`` = 128 dimensions (H1, H2). The CCA layer computes, from the
batch, the centred H1, H2, covariances S11 = H1'H1/(m-1) + r1 I, S22 likewise, S12 = H1'H2/(m-1)
(r1 = r2 = 1e-3), T = S11^(-1/2) S12 S22^(-1/2) = U diag(c) V' and projects H1 A, H2 B with
A = S11^(-1/2) U, B = S22^(-1/2) V (paper Sec. 3, Eqs. 1-5); gradients flow through the
decomposition. The projections are L2-normalised and trained with the cosine pairwise ranking
(hinge) loss of the reference's ``contrastive_cos`` objective: the mean over the batch of
max(0, margin - cos(x_k, v_k) + cos(x_k, v_j)) for all j != k (contrastive texts per image),
margin 0.5. Reference defaults: image branch a single linear layer, text branch two hidden
layers of 1024 ELU units with batch normalisation (HeUniform init), Adam lr 1e-3, L2 weight
penalty 1e-4, batch 1000.

After training, the CCA layer's projection is recomputed from the full-data statistics (the
reference keeps the last batch's projection and refines it on a larger set), and K-means (k-means++,
``n_init`` restarts) clusters the chosen ``embedding``: by default the concatenation of the two
normalised projections (``concat``); ``view0``/``view1`` use one of them and ``mean`` their average.

Deviations: (0) ``latent`` is capped at the input width of a branch without hidden layers: a linear
map of a d-dimensional view has rank d, the extra canonical correlations are exactly zero and their
coinciding singular values make the SVD gradient infinite (the reference's 4096-d image features
never hit this). (1) T is factorised by one SVD instead of the reference's two eigendecompositions
of TT' and T'T plus sign matching (the same projections, signs matched by construction). (2) A fixed
number of epochs (default 100) instead of early stopping on validation retrieval, which clustering
has no held-out pairs for. (3) Input normalisation per view (``normalization``, default ``auto``:
TF-IDF + L2 for term-count views, z-score otherwise). (4) With views that are not image and text,
``views[0]`` takes the image branch and ``views[1]`` the text branch.

Views: two; ``views`` chooses them (default: the views named image/text if present, else the first
two). Missing views are not read (the runner imputes them). ``history`` holds per epoch the mean
batch loss and the mean canonical correlation of the last batch.
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
class CCALConfig(TwoViewConfig):
    latent: int = 128
    image_layers: int = 0
    text_layers: int = 2
    hidden: int = 1024
    reg: float = 1e-3
    margin: float = 0.5
    lr: float = 1e-3
    l2: float = 1e-4
    batch_size: int = 1000
    epochs: int = 100

    constraints: ClassVar[Constraints] = {
        "latent": AT_LEAST_ONE,
        "hidden": AT_LEAST_ONE,
        "epochs": AT_LEAST_ONE,
        "batch_size": Interval(2),
        "image_layers": NON_NEGATIVE,
        "text_layers": NON_NEGATIVE,
        "reg": POSITIVE,
        "lr": POSITIVE,
        "l2": NON_NEGATIVE,
    }


def branch(d_in: int, hidden: int, n_layers: int, latent: int) -> nn.Sequential:
    """``n_layers`` x (dense -> BatchNorm -> ELU), then a linear map to ``latent``; HeUniform init."""
    from torch import nn

    layers: list[nn.Module] = []
    for i in range(n_layers):
        layers += [nn.Linear(d_in if i == 0 else hidden, hidden), nn.BatchNorm1d(hidden), nn.ELU()]
    layers.append(nn.Linear(hidden if n_layers else d_in, latent))
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


def cca_layer(h1: torch.Tensor, h2: torch.Tensor, r: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CCA projections (H1 - mean) A, (H2 - mean) B of a batch and its canonical correlations.

    Computed in float64: the SVD's gradient has 1 / (c_i^2 - c_j^2) terms that overflow in float32
    when canonical correlations nearly coincide.
    """
    import torch

    from ._torch_ops import cca_whitened

    dtype = h1.dtype
    h1, h2 = h1.double(), h2.double()
    w1, w2, _, t = cca_whitened(h1, h2, r, r)
    u, c, vh = torch.linalg.svd(t)
    p1, p2 = (h1 - h1.mean(0)) @ (w1 @ u), (h2 - h2.mean(0)) @ (w2 @ vh.T)
    return p1.to(dtype), p2.to(dtype), c.to(dtype)


class CCALKMeans(TwoViewMethod):
    """CCA layer + pairwise ranking loss + K-means (Dorfer et al. 2018); details in the module docstring."""

    Config = CCALConfig
    quick_params = {"latent": 8, "hidden": 32, "epochs": 5, "batch_size": 100, "n_init": 3}

    def build(self, n: int, d1: int, d2: int) -> list[nn.Module]:
        """Image and text branches (:func:`branch`) to the effective ``latent`` width."""
        c = self.config
        latent = self.effective_latent(d1, d2)
        if latent > min(n, c.batch_size) // 2:
            raise ValueError(f"latent={latent} needs batches of at least {2 * latent} samples; lower latent")
        return [branch(d1, c.hidden, c.image_layers, latent), branch(d2, c.hidden, c.text_layers, latent)]

    def optimizer(self, params: list[torch.Tensor]) -> torch.optim.Optimizer:
        import torch

        return torch.optim.Adam(params, lr=self.config.lr)

    def objective(
        self, nets: list[nn.Module], b1: torch.Tensor, b2: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Ranking loss on the normalised CCA projections + ``l2`` x the squared dense weights."""
        import torch.nn.functional as F
        from torch import nn

        from ._torch_ops import hinge_ranking

        c = self.config
        p1, p2, corr = cca_layer(nets[0](b1), nets[1](b2), c.reg)
        rank = hinge_ranking(
            F.normalize(p1, dim=1) @ F.normalize(p2, dim=1).T, c.margin, directions=1, reduction="mean"
        )
        weights = [m.weight for m in [*nets[0], *nets[1]] if isinstance(m, nn.Linear)]
        loss = rank + c.l2 * sum((w**2).sum() for w in weights)
        return loss, {"loss": rank.item(), "corr": corr.mean().item()}

    def epoch_facts(
        self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor, batch_facts: list[dict[str, float]]
    ) -> dict[str, float]:
        """Mean batch ranking loss and the mean canonical correlation of the last batch."""
        return {"loss": float(np.mean([f["loss"] for f in batch_facts])), "corr": batch_facts[-1]["corr"]}

    def extra_info(self, d1: int, d2: int, history: list[dict[str, float]]) -> dict[str, float]:
        return {"latent": self.effective_latent(d1, d2)}

    def effective_latent(self, d1: int, d2: int) -> int:
        """``latent`` capped at the input width of a purely linear branch (its output rank)."""
        c = self.config
        caps = [c.latent] + [d for d, n in ((d1, c.image_layers), (d2, c.text_layers)) if n == 0]
        return min(caps)

    def embed(self, nets: list[nn.Module], x1: torch.Tensor, x2: torch.Tensor) -> np.ndarray:
        """The CCA layer's projection from full-data statistics, each row L2-normalised."""
        import torch
        import torch.nn.functional as F

        from ._torch_ops import encode

        h1, h2 = encode(nets[0], x1), encode(nets[1], x2)
        with torch.no_grad():
            p1, p2, _ = cca_layer(h1, h2, self.config.reg)
        z1, z2 = (F.normalize(p, dim=1).float().cpu().numpy() for p in (p1, p2))
        return pick_embedding(z1, z2, self.config.embedding)
