"""Which views a multi-view method reads, and how one view is prepared: one rule for every method.

``views="auto"`` (:func:`auto_views`) takes the view named like an image (``image``, ``img``,
``visual``) and the view named like a text (``text``, ``txt``, ``caption``, ``captions``), compared
case-insensitively, when both exist; else the first two views. Any other value is a comma-separated
list of view names or indices (``"0,2"``, ``"image,text"``).

This one rule replaced two (issue 16): the two-view baselines matched the aliases above, JECL only
the exact names ``image`` and ``text``. They pick the same views on every dataset whose image and
text views are named ``image`` and ``text`` (all image-caption sets of the benchmark).
"""

from __future__ import annotations

import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization, normalize_view

IMAGE_NAMES = ("image", "img", "visual")
TEXT_NAMES = ("text", "txt", "caption", "captions")


def auto_views(data: MultiViewDataset) -> list[int]:
    """The image and text views (see module doc) when both exist, else the first two (or the only one)."""
    names = [n.lower() for n in data.view_names]
    img = next((i for i, n in enumerate(names) if n in IMAGE_NAMES), None)
    txt = next((i for i, n in enumerate(names) if n in TEXT_NAMES), None)
    return [img, txt] if img is not None and txt is not None else list(range(min(2, data.n_views)))


def choose_views(data: MultiViewDataset, spec: str) -> list[int]:
    """View indices from ``auto`` or a comma-separated list of distinct names/indices."""
    return auto_views(data) if spec == "auto" else data.view_indices(spec)


def two_views(data: MultiViewDataset, spec: str) -> tuple[int, int]:
    """Exactly two views from ``spec`` (see :func:`choose_views`); a one-line error otherwise."""
    if data.n_views < 2:
        raise ValueError(f"needs two views; the dataset has {data.n_views}")
    picked = choose_views(data, spec)
    if len(picked) != 2:
        raise ValueError(f"views={spec!r}: give 'auto' or two view names/indices such as '0,1'")
    return picked[0], picked[1]


def prepare_view(data: MultiViewDataset, v: int, kind: Normalization) -> np.ndarray:
    """View ``v`` normalised by ``kind`` with statistics of its observed rows (missing rows are zero)."""
    return normalize_view(data.view(v), kind, data.mask[:, v])
