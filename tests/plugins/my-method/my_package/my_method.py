from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mvbench import Capabilities, FitResult, Method
from mvbench.config import AT_LEAST_ONE, POSITIVE, Constraints


@dataclass
class MyConfig:
    n_iter: int = 100  # typed, with defaults: listed, validated, logged, sweepable
    tol: float = 1e-6
    constraints: ClassVar[Constraints] = {"n_iter": AT_LEAST_ONE, "tol": POSITIVE}  # ranges, checked for you


class MyMethod(Method):
    """Lloyd's K-means on the concatenated views, from K random samples (one start: an example, weaker
    than the built-in km_concat). The docstring names the paper, the equations and every deviation."""

    Config = MyConfig
    capabilities = Capabilities(handles_missing=False, min_views=1, max_views=None)
    quick_params = {"n_iter": 5}  # a fast smoke configuration for the contract tests

    def fit_predict(self, data, n_clusters, seed):
        # data.views: read-only n x d_v arrays (missing rows imputed by the runner, as handles_missing
        # is False); data.mask: observed rows; data.labels raises: methods never see labels.
        x = np.hstack(data.views).astype(np.float64)
        rng = np.random.default_rng(seed)  # every random choice from the seed
        centres = x[rng.choice(len(x), n_clusters, replace=False)]
        history = []
        for _ in self.context.track(range(self.config.n_iter), self.config.n_iter, "my_method"):
            distances = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2)
            labels = distances.argmin(axis=1)
            history.append({"inertia": float(distances.min(axis=1).sum())})
            moved = [x[labels == k].mean(axis=0) if (labels == k).any() else centres[k] for k in range(n_clusters)]
            shift = np.abs(np.array(moved) - centres).max()
            centres = np.array(moved)
            if shift < self.config.tol:
                break
        return FitResult(labels=labels, history=history, info={"iterations": len(history)})
