"""Per-view normalisation shared by methods (computed on observed rows only)."""

from __future__ import annotations

from typing import Literal

import numpy as np

#: The ``normalization`` setting every method that normalises its views takes (one name, one set of
#: choices; each method keeps its own default).
Normalization = Literal["auto", "none", "zscore", "l2", "tfidf_l2", "minmax"]


def is_count_view(x: np.ndarray) -> bool:
    """True for non-negative integer-valued views with many zeros (term counts, bag of words);
    judged on the first 2000 rows."""
    sample = x[: min(len(x), 2000)]
    return bool((sample >= 0).all() and np.allclose(sample, np.round(sample)) and (sample == 0).mean() > 0.5)


def normalize_view(x: np.ndarray, kind: Normalization, observed: np.ndarray | None = None) -> np.ndarray:
    """Return a float32 copy of ``x`` normalised by ``kind``; unobserved rows stay zero.

    - ``zscore``: per-feature standardisation (constant features become 0);
    - ``l2``: each row scaled to unit Euclidean norm;
    - ``tfidf_l2``: term counts -> tf * log((1 + n) / (1 + df)) + 1 (sklearn's smooth idf), then L2;
    - ``minmax``: per-feature scaling to [0, 1];
    - ``none``: unchanged;
    - ``auto``: ``tfidf_l2`` for term counts (:func:`is_count_view`), else ``zscore``.
    """
    if kind == "auto":
        kind = "tfidf_l2" if is_count_view(x) else "zscore"
    x = np.asarray(x, dtype=np.float32)
    observed = np.ones(len(x), dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    obs = x[observed]
    if kind == "none":
        out = x.copy()
    elif kind == "zscore":
        mean, std = obs.mean(axis=0), obs.std(axis=0)
        out = (x - mean) / np.where(std > 0, std, 1.0)
    elif kind == "minmax":
        lo, hi = obs.min(axis=0), obs.max(axis=0)
        out = (x - lo) / np.where(hi > lo, hi - lo, 1.0)
    elif kind == "l2":
        out = _l2_rows(x)
    elif kind == "tfidf_l2":
        if (obs < 0).any():
            raise ValueError("tfidf_l2 needs non-negative counts; use zscore or l2 for this view")
        df = (obs > 0).sum(axis=0)
        idf = np.log((1.0 + len(obs)) / (1.0 + df)) + 1.0
        out = _l2_rows(x * idf.astype(np.float32))
    else:
        raise ValueError(f"unknown normalisation {kind!r}: use auto, none, zscore, l2, tfidf_l2 or minmax")
    out = out.astype(np.float32, copy=False)
    out[~observed] = 0.0
    return out


def _l2_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)
