"""``lmgec``: Linear Multi-view Graph Embedding and Clustering (Fettal, Labiod, Nadif; "Simultaneous
linear multi-view attributed graph representation learning and clustering", WSDM 2023). Reference
code: chakib401/LMGEC (``lmgec.py``, ``run.py``, ``utils.py``).

Implemented (n samples, V views, K clusters, embedding size m = K + 1 as ``run.py``, see below):

1. Graph filtering per view (``utils.preprocess_dataset``): H_v = S_v X_v centred per feature, with
   X_v the L2-normalised rows and S_v = D^-1 (A_v + beta I) the row-normalised graph with self-loops
   (beta = 1).
2. Initialisation (``lmgec``): W_v = the top-m right singular vectors of H_v (TruncatedSVD), K-means on
   H_v W_v; view weight alpha_v = exp(-||H_v W_v - F_v[G_v]||_F / T) (temperature T = 1); consensus
   sum_v alpha_v H_v W_v / sum_v alpha_v and K-means on it gives G (labels) and F (K x m centroids).
3. ``max_iter`` (10, ``run.py``) rounds of the paper's alternating updates for
   min_{G,F,W_v^T W_v = I} sum_v alpha_v ||H_v W_v - G F||^2:
   W_v = U V^T from the thin SVD of H_v^T F[G] (Procrustes), consensus sum_v alpha_v H_v W_v,
   G = nearest centroid, F = the cluster means (an empty cluster's centroid is 0, as
   ``unsorted_segment_mean``).

Deviations from the reference, with reasons:

- The paper clusters attributed graphs; mvbench's views are feature matrices. Each view's graph A_v is
  the 5-nearest-neighbour cosine connectivity graph of its own features (directed, self excluded),
  the construction ``utils.wiki`` uses for its kNN view, and each view is paired with its own graph
  (the reference pairs every graph with every feature matrix).
- The view weights are normalised to sum 1 everywhere (a softmax of -inertia / T, computed stably).
  The reference divides by sum alpha only for the initial consensus: in its loop the consensus is
  scaled by sum alpha (exp(-inertia) can be ~1e-20 at T = 1) while the initial centroids are not, so
  its first assignment compares points and centroids of different scales; at large n every
  exp(-inertia) underflows to 0 and its weights become 0 / 0.
- m = min(K + 1, smallest view dimension - 1): every view projects into the same m-dimensional
  space and TruncatedSVD needs m < d_v (the reference fails on a view with at most K + 1 features;
  PolyClustX caps m the same way).
- K-means runs ``kmeans_n_init`` = 10 seeded restarts (sklearn's KMeans(k) default when the
  reference was written); TruncatedSVD is seeded.
- The loss history is the objective above (squared norms); the reference logs the sum of
  alpha_v ||H_v - F[G] W_v^T|| (not squared), which is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.method import Capabilities, FitResult, Method
from mvbench.methods._graphs import cosine_knn, knn_graph, l2_rows


@dataclass
class LMGECConfig:
    knn: int = 5
    beta: float = 1.0
    temperature: float = 1.0
    max_iter: int = 10
    kmeans_n_init: int = 10

    constraints: ClassVar[Constraints] = {
        "knn": AT_LEAST_ONE,
        "beta": NON_NEGATIVE,
        "temperature": POSITIVE,
        "max_iter": NON_NEGATIVE,
        "kmeans_n_init": AT_LEAST_ONE,
    }


def filtered_view(x: np.ndarray, knn: int, beta: float) -> np.ndarray:
    """H = D^-1 (A + beta I) X_l2, centred per feature (float64, n x d); A the kNN cosine graph."""
    import scipy.sparse as sp

    n = x.shape[0]
    unit = l2_rows(x)
    idx, _ = cosine_knn(unit, knn)
    adj = knn_graph(idx, 1.0, n) + beta * sp.identity(n, format="csr")
    degree = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.where(degree > 0, 1.0 / np.where(degree > 0, degree, 1.0), 0.0)
    h = sp.diags(inv) @ (adj @ unit.astype(np.float64))
    h -= h.mean(axis=0)
    return np.asarray(h)


def initial_projection(h: np.ndarray, m: int, seed: int) -> np.ndarray:
    """The top-m right singular vectors of ``h`` (d x m, TruncatedSVD, m < d)."""
    from sklearn.decomposition import TruncatedSVD

    return TruncatedSVD(m, random_state=seed).fit(h).components_.T


def softmax_weights(inertias: np.ndarray, temperature: float) -> np.ndarray:
    """exp(-inertia_v / T) normalised to sum 1 (shifted by the smallest inertia: no underflow)."""
    logits = -(inertias - inertias.min()) / temperature
    weights = np.exp(logits)
    return weights / weights.sum()


def procrustes(h: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """W = U V^T from the thin SVD of H^T T: argmax tr(W^T H^T T) over W^T W = I."""
    u, _, vt = np.linalg.svd(h.T @ targets, full_matrices=False)
    return u @ vt


def cluster_means(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean of the rows of each cluster (0 for an empty cluster), k x d."""
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=k)
    return sums / np.maximum(counts, 1)[:, None]


def nearest(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of every row."""
    d = (x**2).sum(axis=1)[:, None] - 2.0 * x @ centres.T + (centres**2).sum(axis=1)[None, :]
    return d.argmin(axis=1)


class LMGEC(Method):
    """LMGEC (Fettal et al., WSDM 2023): linear graph-filtered embeddings and clustering learned
    together, on kNN graphs of the feature views. Formulas, defaults and deviations: module doc."""

    Config = LMGECConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"kmeans_n_init": 2}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        from sklearn.cluster import KMeans

        cfg = self.config
        k = n_clusters
        hs = [filtered_view(np.asarray(data.view(v)), cfg.knn, cfg.beta) for v in range(data.n_views)]
        embeds, inertias = [], []
        m = min(k + 1, *(h.shape[1] - 1 for h in hs))
        if m < 1:
            raise ValueError("lmgec needs at least two features in every view")
        for h in hs:
            w = initial_projection(h, m, seed)
            hw = h @ w
            km = KMeans(k, n_init=cfg.kmeans_n_init, random_state=seed).fit(hw)
            inertias.append(float(np.linalg.norm(hw - km.cluster_centers_[km.labels_])))
            embeds.append(hw)
        alphas = softmax_weights(np.array(inertias), cfg.temperature)
        consensus = sum(a * e for a, e in zip(alphas, embeds))
        km = KMeans(k, n_init=cfg.kmeans_n_init, random_state=seed).fit(consensus)
        labels, centres = km.labels_.astype(np.int64), km.cluster_centers_
        history = []
        for _ in self.context.track(range(cfg.max_iter), cfg.max_iter, "lmgec"):
            targets = centres[labels]
            ws = [procrustes(h, targets) for h in hs]
            consensus = sum(a * (h @ w) for a, h, w in zip(alphas, hs, ws))
            loss = sum(a * float(((h @ w - targets) ** 2).sum()) for a, h, w in zip(alphas, hs, ws))
            history.append({"loss": loss})
            labels = nearest(consensus, centres)
            centres = cluster_means(consensus, labels, k)
        info = {f"weight_{v}": float(a) for v, a in zip(data.view_names, alphas)}
        return FitResult(labels=labels, history=history, info=info)

    @classmethod
    def memory_estimate(cls, config: LMGECConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes: the filtered views H_v (float64, n x d_v, with one temporary each while built),
        the kNN search's chunk (2048 x n float32, 3x for top-k), and the n x (K + 1) embeddings of every
        view with K-means' workspace (K <= 10 assumed)."""
        n = n_samples
        filtered = sum(view_dims) * 8 * n + max(view_dims, default=1) * 8 * 2 * n
        search = min(n, 2048) * n * 4 * 3
        embeds = (len(view_dims) + 4) * 11 * 8 * n
        return int(filtered + search + embeds)
