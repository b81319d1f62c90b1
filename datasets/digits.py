"""``digits``: a multi-view dataset derived from scikit-learn's bundled handwritten digits.

1797 8x8 grey images of the digits 0-9 (the UCI "Optical Recognition of Handwritten Digits" test
set, shipped inside scikit-learn, so it works offline). Four real feature views are computed from
each image, in the spirit of the UCI mfeat sets:

- ``pixels`` (64): the raw intensities (0-16);
- ``profiles`` (16): row and column sums (projection profiles);
- ``gradients`` (32): histograms of gradient orientation (8 bins, magnitude-weighted) in the four
  4x4 quadrants;
- ``dct`` (25): the 5x5 lowest-frequency coefficients of the 2-D DCT-II (orthonormal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.fft import dctn
from sklearn.datasets import load_digits

from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.sources import DatasetSource


def gradient_histograms(images: np.ndarray, bins: int = 8) -> np.ndarray:
    """Magnitude-weighted orientation histograms of the four 4x4 quadrants of 8x8 images."""
    gy, gx = np.gradient(images, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), 2 * np.pi)
    bin_index = np.minimum((angle / (2 * np.pi) * bins).astype(int), bins - 1)
    n = len(images)
    out = np.zeros((n, 4, bins), dtype=np.float64)
    for q, (r, c) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        b = bin_index[:, r : r + 4, c : c + 4].reshape(n, -1)
        m = magnitude[:, r : r + 4, c : c + 4].reshape(n, -1)
        for k in range(bins):
            out[:, q, k] = (m * (b == k)).sum(axis=1)
    return out.reshape(n, -1)


def digit_views(images: np.ndarray) -> dict[str, np.ndarray]:
    """The four feature views of a stack of 8x8 images."""
    n = len(images)
    return {
        "pixels": images.reshape(n, -1),
        "profiles": np.hstack([images.sum(axis=2), images.sum(axis=1)]),
        "gradients": gradient_histograms(images),
        "dct": dctn(images, axes=(1, 2), norm="ortho")[:, :5, :5].reshape(n, -1),
    }


class DigitsMultiView(DatasetSource):
    description = "scikit-learn's bundled 8x8 handwritten digits, 4 computed feature views (offline)"
    n_clusters = 10

    def build(self, raw: Path | None, params: Any) -> MultiViewDataset:
        bunch = load_digits()
        views = digit_views(bunch.images.astype(np.float64))
        card = DatasetCard(
            name="digits",
            source="scikit-learn sklearn.datasets.load_digits (UCI Optical Recognition of Handwritten Digits)",
            citation="Alpaydin, E. & Kaynak, C. (1998). Optical Recognition of Handwritten Digits. UCI ML Repository.",
            license="CC BY 4.0",
            description=self.description,
            feature_extractors={
                "pixels": "raw 8x8 intensities",
                "profiles": "row and column sums",
                "gradients": "4 quadrants x 8-bin magnitude-weighted gradient orientation histograms",
                "dct": "5x5 low-frequency 2-D DCT-II coefficients (orthonormal)",
            },
        )
        return MultiViewDataset(
            [v.astype(np.float32) for v in views.values()],
            list(views),
            labels=bunch.target.astype(np.int64),
            ids=[f"digit{i:04d}" for i in range(len(bunch.target))],
            card=card,
        )
