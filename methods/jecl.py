"""JECL, Joint Embedding and Cluster Learning for image-text pairs (Yang, Huang, Howe; ICPR 2020).

Implements the poster's model (and the three ablation rows of its table):

- two encoders, image f_X and text f_T, each initialised from a stacked denoising autoencoder
  (:mod:`.autoencoder`, DEC's d-500-500-2000-10);
- K-means on each view's initial embedding gives centroids mu (image) and mu' (text); the
  Hungarian algorithm re-indexes the text clusters to match the image clusters;
- Student's t soft assignments q_ij (image) and r_ij (text), alpha = 1;
- joint target p_ij = lambda * (q_ij^2 / f_j) / sum_j'(q_ij'^2 / f_j')
                      + (1 - lambda) * (r_ij^2 / g_j) / sum_j'(r_ij'^2 / g_j');
- L = KL(P||Q) + KL(P||R) + gamma * JS(Q, R) + beta * L_reg, with
  L_reg = KL(mean_i q_i || uniform) + KL(mean_i r_i || uniform) over the batch (a form with a real
  gradient: a regulariser on the detached target would have none).
- Ablations: ``jecl_no_align`` (gamma = 0), ``jecl_no_reg`` (beta = 0), ``jecl_no_align_reg`` (both).

Defaults lambda = 0.5, beta = 0.1, gamma = 0.1 (the poster's). Choices the poster leaves unknown,
all hyper-parameters (shared with DEC, see :class:`.deep_clustering.DeepClusteringConfig`): the
pretraining schedule (``pretrain_*``: 10 + 30 epochs and its options, in :mod:`.autoencoder`), SGD
lr 0.01 momentum 0.9 batch 256 (DEC's), target refresh every ``update_interval`` iterations (at most
one epoch), stop at ``tol`` label change or ``max_epochs``, per-view input ``normalization``
(z-scoring by default: see benchmarks/jecl.md), and the ``device`` (``auto``: CUDA when present).

Missing captions (the method reads the mask): a point without text takes p_i = target(q)_i
(lambda = 1 for it) and contributes only KL(p_i || q_i) and the image regulariser; the text encoder
and text centroids train on captioned points only. Final labels: argmax_j of
lambda * q_ij + (1 - lambda) * r_ij where text is present, argmax_j q_ij otherwise.

Views: ``views="auto"`` takes the image and text views when present, else the first two, by the
rule every method shares (:mod:`._views`); a comma-separated list of names or indices picks others.
With more than two views (a generalisation, the image-text pair being the paper's case) there is one
encoder per view, the first view weighs lambda and the others share 1 - lambda, every view is
aligned to the first, and the alignment term sums JS over all pairs. Pretraining uses the run
context's shared seed (the ``seed`` argument outside a grid), so all variants share cached
autoencoders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mvbench.config import NON_NEGATIVE, Constraints, Interval
from mvbench.data import MultiViewDataset
from mvbench.method import Capabilities, FitResult

from ._deep_base import DeepClusteringMethod
from ._views import choose_views, prepare_view
from .deep_clustering import DeepClusteringConfig, deep_cluster


@dataclass
class JECLConfig(DeepClusteringConfig):
    views: str = "auto"
    lam: float = 0.5
    beta: float = 0.1
    gamma: float = 0.1

    constraints: ClassVar[Constraints] = {"lam": Interval(0, 1), "beta": NON_NEGATIVE, "gamma": NON_NEGATIVE}


@dataclass
class NoAlignConfig(JECLConfig):
    gamma: float = 0.0


@dataclass
class NoRegConfig(JECLConfig):
    beta: float = 0.0


@dataclass
class NoAlignRegConfig(JECLConfig):
    beta: float = 0.0
    gamma: float = 0.0


class JECL(DeepClusteringMethod):
    """JECL (full model): KL to the joint target + gamma * JS alignment + beta * balance regulariser."""

    Config = JECLConfig
    capabilities = Capabilities(handles_missing=True, min_views=2)

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        views = choose_views(data, self.config.views)
        if len(views) < 2:
            raise ValueError(f"views={self.config.views!r} names one view; JECL clusters two or more")
        return views

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        cfg = self.config
        views = self.chosen_views(data)
        observed = [data.mask[:, v] for v in views]
        xs = [prepare_view(data, v, cfg.normalization)[o] for v, o in zip(views, observed)]
        names = [data.view_names[v] for v in views]
        rest = (1.0 - cfg.lam) / max(len(views) - 1, 1)
        weights = [cfg.lam] + [rest] * (len(views) - 1)
        return deep_cluster(xs, observed, names, weights, cfg.gamma, cfg.beta, cfg, n_clusters, seed, self.context)


class JECLNoAlign(JECL):
    """JECL without the alignment term (gamma = 0)."""

    Config = NoAlignConfig


class JECLNoReg(JECL):
    """JECL without the regulariser (beta = 0)."""

    Config = NoRegConfig


class JECLNoAlignReg(JECL):
    """JECL without alignment and regulariser (gamma = beta = 0)."""

    Config = NoAlignRegConfig
