"""COMPLETER: incomplete multi-view clustering via contrastive prediction (two views).

Lin, Gou, Liu, Li, Lv, Peng, "COMPLETER: Incomplete Multi-view Clustering via Contrastive
Prediction", CVPR 2021; reference code ``XLearning-SCU/2021-CVPR-Completer`` (``model.py``,
``loss.py``, ``configure.py``, ``run.py``), re-implemented here.

Two autoencoders (widths [d_v, 1024, 1024, 1024, 128], BatchNorm, ReLU, softmax latent) and two dual
predictors ([128, 128, 256, 128] and back) are trained on the samples whose two views are observed
with the paper's L = L_cl + 0.1 L_pre + 0.1 L_rec (L_pre from epoch 100 on): the cross-view contrastive
loss L_cl = -(I(Z1; Z2) + alpha (H(Z1) + H(Z2))) with alpha = 9 (marginal entropies weighted alpha + 1
in ``loss.py``), the dual prediction between the latents L_pre and the within-view reconstruction
L_rec. Adam, lr 1e-4, batch 256, 500 epochs. At inference a missing view's latent is predicted from
the other view's (the reference's ``evaluation``); K-means (10 restarts) on the concatenated
latents gives the labels, from the last epoch. Formulas, inference rule and every
deviation (seeding, device, the single-sample last batch, history as batch means, normalisation):
:mod:`._contrastive_prediction`. COMPLETER keeps the last, smaller batch of each epoch (its
``util.next_batch``).

Views: two; ``views`` chooses them (``auto``: the views named image/text if present, else the first
two, which on scene15 are gist + lbp, the references' views 0 + 1). ``history``: per epoch the batch
means of ``loss``, ``contrastive``, ``reconstruction`` and ``dual_prediction``; with
``record_labels`` the labels after every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mvbench.config import NON_NEGATIVE, Constraints
from mvbench.data import MultiViewDataset

from ._contrastive_prediction import ContrastivePredictionConfig, ContrastivePredictionMethod
from ._views import two_views


@dataclass
class CompleterConfig(ContrastivePredictionConfig):
    alpha: float = 9.0  # the reference's lambda of crossview_contrastive_Loss: marginals weigh alpha + 1
    views: str = "auto"

    constraints: ClassVar[Constraints] = {**ContrastivePredictionConfig.constraints, "alpha": NON_NEGATIVE}


class Completer(ContrastivePredictionMethod):
    """COMPLETER (Lin et al., CVPR 2021): contrastive prediction for two incomplete views; see the module docstring."""

    Config = CompleterConfig

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        return list(two_views(data, self.config.views))

    def marginal_weight(self) -> float:
        return self.config.alpha + 1.0
