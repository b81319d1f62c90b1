"""DCP: dual contrastive prediction for incomplete multi-view clustering (two or more views).

Lin, Gou, Liu, Bai, Lv, Peng, "Dual Contrastive Prediction for Incomplete Multi-View Representation
Learning", IEEE TPAMI 2022; reference code ``XLearning-SCU/2022-TPAMI-DCP`` (``model.py``,
``model_multiview.py``, ``loss.py``, ``configure/configure_clustering.py``,
``configure/configure_clustering_multiview.py``, ``utils/next_batch.py``), re-implemented here.

DCP's clustering objective is the instance-level contrastive loss (the entropy-weighted mutual
information of the views' softmax latents, ``instance_contrastive_Loss`` with alpha = 10 weighting
both marginal entropies, i.e. -(I + 9 (H1 + H2)), COMPLETER's L_cl) plus within-view reconstruction and
the dual prediction between latents, L = L_icl + 0.1 L_rec (+ 0.1 L_pre from epoch 100 on); the
category-level contrastive loss needs labels and belongs to DCP's classification setting only.
Networks, optimiser (Adam, lr 1e-4, batch 256, 500 epochs), the multi-view variants (``graph``:
``core``, the reference's default ``type='CV'`` with view 0 as the core view, or ``complete``,
``type='CG'``), inference (missing latents predicted; K-means on the concatenation, last epoch) and every deviation:
:mod:`._contrastive_prediction`. As in the reference's ``next_batch``, the last batch of every epoch
is dropped (with at least one batch kept).

Views: all the views of the data (narrow them with the grid's view subset, e.g. ``scene15: {views:
[0, 1]}`` for DCP's two-view protocol) or those named by ``views`` (names or indices, ``"0,1"``).
Three or more views use ``model_multiview.py``'s rules; its Scene-15 three-view configuration trains
300 epochs (``epochs=300``), Caltech101-20's 150 at lr 3e-4. ``history``: per epoch the batch means of
``loss``, ``contrastive``, ``reconstruction``, ``dual_prediction``; with ``record_labels`` the labels
after every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from mvbench.config import NON_NEGATIVE, Constraints
from mvbench.data import MultiViewDataset

from ._contrastive_prediction import ContrastivePredictionConfig, ContrastivePredictionMethod
from ._views import choose_views


@dataclass
class DCPConfig(ContrastivePredictionConfig):
    alpha: float = 10.0  # weight of each marginal entropy in the instance-level contrastive loss
    graph: Literal["core", "complete"] = "core"  # three or more views: core view 0, or every pair
    views: str = "all"

    constraints: ClassVar[Constraints] = {**ContrastivePredictionConfig.constraints, "alpha": NON_NEGATIVE}


class DCP(ContrastivePredictionMethod):
    """DCP (Lin et al., TPAMI 2022): dual contrastive prediction, two or more views; see the module docstring."""

    Config = DCPConfig
    drop_last_batch = True

    def chosen_views(self, data: MultiViewDataset) -> list[int]:
        spec = self.config.views
        picked = list(range(data.n_views)) if spec == "all" else choose_views(data, spec)
        if len(picked) < 2:
            raise ValueError(f"views={spec!r}: DCP needs at least two views; give 'all' or names/indices such as '0,1'")
        return picked

    def marginal_weight(self) -> float:
        return self.config.alpha

    def graph(self) -> str:
        return self.config.graph
