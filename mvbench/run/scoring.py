"""What the harness computes about a cell after its method returned, besides the scores.

- :func:`mask_sha256`: the identity of the mask the method saw (equal hashes, same mask);
- :func:`oracle_scores`: the best epoch by ACC against the labels, from the method's per-epoch
  partitions (``label_history``). The method has returned when this runs and never sees the labels;
  the result USES LABELS and is recorded as such (``oracle/*``), never as the cell's score;
- :func:`internal_indices`: label-free indices of the partition (silhouette, Calinski-Harabasz) in
  one common space shared by every method and setting of a (dataset, condition, repetition): the
  views z-scored on their observed rows (missing rows at the mean), concatenated, and reduced by PCA
  to at most 100 dimensions, on a fixed sample of at most 10,000 samples (the same for every method
  of the repetition, so the cost stays bounded on large sets). Selecting by these never reads a label.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from mvbench.data.model import MultiViewDataset
from mvbench.metrics import evaluate
from mvbench.record.schema import INTERNAL_PREFIX, ORACLE_PREFIX

COMMON_DIMS = 100  # PCA dimensions of the common space
COMMON_SAMPLE = 10_000  # the common space holds at most this many samples
SILHOUETTE_SAMPLE = 3000  # silhouette on at most this many samples (the same ones for every method)


def mask_sha256(mask: np.ndarray) -> str:
    """sha256 of a boolean n x V mask (its shape and its bits, row-major)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    blob = f"{mask.shape[0]}x{mask.shape[1]}:".encode() + np.packbits(mask).tobytes()
    return hashlib.sha256(blob).hexdigest()


def oracle_scores(label_history: Sequence[np.ndarray], y_true: np.ndarray) -> dict[str, float]:
    """ACC, NMI and ARI of the per-epoch partition with the best ACC, and that epoch (0-based)."""
    if not label_history:
        return {}
    scores = [evaluate(y_true, np.asarray(labels)) for labels in label_history]
    best = int(np.argmax([s["acc"] for s in scores]))
    out = {f"{ORACLE_PREFIX}{m}_best_epoch": float(scores[best][m]) for m in ("acc", "nmi", "ari")}
    out[f"{ORACLE_PREFIX}best_epoch"] = float(best)
    return out


def common_space(data: MultiViewDataset, dims: int = COMMON_DIMS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a fixed sample (all samples up to :data:`COMMON_SAMPLE`, drawn from ``seed``
    beyond) and their coordinates: the views z-scored on their observed rows (missing rows at 0, the
    mean), concatenated, projected on their first ``dims`` principal components (reads views and
    mask, never labels)."""
    from sklearn.decomposition import PCA

    n = data.n_samples
    rows = np.arange(n) if n <= COMMON_SAMPLE else np.sort(np.random.default_rng(seed).choice(n, COMMON_SAMPLE, False))
    blocks = []
    for v in range(data.n_views):
        x = np.asarray(data.view(v)[rows], dtype=np.float32)
        observed = data.mask[rows, v]
        if not observed.any():
            continue
        mean = x[observed].mean(axis=0)
        std = x[observed].std(axis=0)
        z = (x - mean) / np.where(std > 0, std, 1.0)
        z[~observed] = 0.0
        blocks.append(z)
    x = np.hstack(blocks)
    k = min(dims, x.shape[1], x.shape[0] - 1)
    if k < x.shape[1]:
        x = PCA(n_components=k, random_state=seed).fit_transform(x)
    return rows, x


def internal_indices(space: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float]:
    """Silhouette (on a fixed sample of at most :data:`SILHOUETTE_SAMPLE` points) and
    Calinski-Harabasz of ``labels`` in ``space``; empty when the partition has one cluster or
    as many as samples (both are undefined there)."""
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    n = len(labels)
    k = len(np.unique(labels))
    if k < 2 or k >= n:
        return {}
    out = {f"{INTERNAL_PREFIX}calinski_harabasz": float(calinski_harabasz_score(space, labels))}
    sample = None if n <= SILHOUETTE_SAMPLE else SILHOUETTE_SAMPLE
    try:
        out[f"{INTERNAL_PREFIX}silhouette"] = float(
            silhouette_score(space, labels, sample_size=sample, random_state=seed)
        )
    except ValueError:  # the fixed sample holds a single cluster of a very unbalanced partition
        pass
    return out
