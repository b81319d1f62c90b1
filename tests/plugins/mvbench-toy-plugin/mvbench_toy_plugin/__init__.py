"""A third-party plugin: clusters by quantiles of the first feature of the first view."""

from dataclasses import dataclass

import numpy as np

from mvbench import Capabilities, FitResult, Method


@dataclass
class QuantileConfig:
    feature: int = 0


class FirstFeatureQuantiles(Method):
    """Splits samples into K equal-count bins of one feature (a deliberately naive baseline)."""

    Config = QuantileConfig
    capabilities = Capabilities(handles_missing=False)

    def fit_predict(self, data, n_clusters, seed):
        x = data.view(0)[:, self.config.feature]
        ranks = np.argsort(np.argsort(x, kind="stable"), kind="stable")
        return FitResult(labels=(ranks * n_clusters // len(x)).astype(np.int64))
