"""What the two-view deep baselines (``dcca_km``, ``vse_km``, ``ccal_km``) share before any torch
code runs: their common settings, base class, view choice, per-view input normalisation and the
choice of the embedding clustered. Their torch building blocks are in :mod:`._torch_ops`, imported
when a method fits, so that listing methods does not load torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.method import Capabilities, Method
from mvbench.data.preprocessing import normalize_view

from .kmeans import KMeansConfig

if TYPE_CHECKING:
    import torch

InputNorm = Literal["auto", "none", "zscore", "l2", "tfidf_l2", "minmax"]
Embedding = Literal["concat", "view0", "view1", "mean"]
IMAGE_NAMES = ("image", "img", "visual")
TEXT_NAMES = ("text", "txt", "caption", "captions")


@dataclass
class TwoViewConfig:
    """Hyper-parameters every two-view baseline shares: which views, their input normalisation, the
    embedding clustered, K-means restarts, and whether to record the labels after every epoch."""

    embedding: Embedding = "concat"
    views: str = "auto"
    input_norm: InputNorm = "auto"
    n_init: int = 10
    record_labels: bool = False


class TwoViewMethod(Method):
    """Base of the two-view baselines: complete data (imputed by the runner), exactly two views used."""

    capabilities = Capabilities(handles_missing=False, min_views=2)

    def check_data(self, data: MultiViewDataset) -> None:
        super().check_data(data)
        select_views(data, self.config.views)

    def two_views(self, data: MultiViewDataset) -> tuple[torch.Tensor, torch.Tensor]:
        """The two chosen views (``views``), normalised (``input_norm``), as float32 tensors."""
        import torch

        a, b = select_views(data, self.config.views)
        return (torch.from_numpy(prepare_view(data, a, self.config.input_norm)),
                torch.from_numpy(prepare_view(data, b, self.config.input_norm)))

    def kmeans_config(self) -> KMeansConfig:
        """K-means on the learnt embedding, as is (it is already normalised by the method)."""
        return KMeansConfig(normalization="none", n_init=self.config.n_init)


# -- data ------------------------------------------------------------------------------------------
def select_views(data: MultiViewDataset, spec: str) -> tuple[int, int]:
    """Indices of the two views to use.

    ``spec`` is ``"auto"`` (the views named image and text when both exist, else the first two) or
    two view names or indices separated by a comma (``"0,2"``, ``"image,text"``).
    """
    if data.n_views < 2:
        raise ValueError(f"needs two views; the dataset has {data.n_views}")
    if spec == "auto":
        names = [n.lower() for n in data.view_names]
        img = next((i for i, n in enumerate(names) if n in IMAGE_NAMES), None)
        txt = next((i for i, n in enumerate(names) if n in TEXT_NAMES), None)
        return (img, txt) if img is not None and txt is not None else (0, 1)
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if len(parts) != 2:
        raise ValueError(f"views={spec!r}: give 'auto' or two view names/indices such as '0,1'")
    a, b = (data.view_index(int(p) if p.isdigit() else p) for p in parts)
    if a == b:
        raise ValueError(f"views={spec!r} names the same view twice; choose two different views")
    return a, b


def is_count_view(x: np.ndarray) -> bool:
    """True for non-negative integer-valued views with many zeros (term counts, bag of words)."""
    sample = x[: min(len(x), 2000)]
    return bool((sample >= 0).all() and np.allclose(sample, np.round(sample))
                and (sample == 0).mean() > 0.5)


def prepare_view(data: MultiViewDataset, v: int, kind: InputNorm) -> np.ndarray:
    """View ``v`` normalised by ``kind``; ``auto`` is TF-IDF + L2 for term counts, else z-score."""
    x = data.view(v)
    if kind == "auto":
        kind = "tfidf_l2" if is_count_view(x) else "zscore"
    return normalize_view(x, kind, data.mask[:, v])


def pick_embedding(z0: np.ndarray, z1: np.ndarray, kind: Embedding) -> np.ndarray:
    """The embedding clustered: both projections side by side, one of them, or their mean."""
    if kind == "concat":
        return np.hstack([z0, z1])
    if kind == "view0":
        return z0
    if kind == "view1":
        return z1
    if kind == "mean":
        if z0.shape[1] != z1.shape[1]:
            raise ValueError("embedding='mean' needs projections of equal width; use concat")
        return (z0 + z1) / 2
    raise ValueError(f"unknown embedding {kind!r}: use concat, view0, view1 or mean")
