"""Clustering metrics: ACC (Hungarian matching), NMI (arithmetic mean), ARI and purity
(which way each is better: :mod:`mvbench.record.schema`)."""

from __future__ import annotations

import numpy as np


def contingency(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts of (predicted cluster, true class) pairs; rows = clusters, columns = classes."""
    _, t = np.unique(y_true, return_inverse=True)
    _, p = np.unique(y_pred, return_inverse=True)
    table = np.zeros((p.max() + 1, t.max() + 1), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    return table


def clustering_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction correct under the best one-to-one cluster-to-class map (Hungarian algorithm)."""
    from scipy.optimize import linear_sum_assignment

    table = contingency(y_true, y_pred)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(y_true))


def purity(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of samples in the majority class of their cluster."""
    return float(contingency(y_true, y_pred).max(axis=1).sum() / len(y_true))


def nmi(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Normalised mutual information with the arithmetic-mean normalisation (sklearn's default)."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(y_true, y_pred, average_method="arithmetic"))


def ari(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(y_true, y_pred))


def evaluate(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """All metrics at once: acc, nmi, ari, purity."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{len(y_pred)} predicted labels for {len(y_true)} samples")
    return {
        "acc": clustering_accuracy(y_true, y_pred),
        "nmi": nmi(y_true, y_pred),
        "ari": ari(y_true, y_pred),
        "purity": purity(y_true, y_pred),
    }
