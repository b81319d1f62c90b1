"""The contract every registered method must honour, run automatically over the registry.

A new plugin is checked for free: it only needs sensible ``quick_params`` (a fast smoke
configuration). Each method runs on small synthetic data with clear clusters, through the same
path the runner uses (imputation for methods that do not read the mask).
"""

import dataclasses

import numpy as np
import pytest
from conftest import blobs

from mvbench import registry
from mvbench.config import build_config, describe_config
from mvbench.data.conditions import Condition
from mvbench.data.imputation import impute
from mvbench.method import Capabilities, FitResult, Method

METHODS = registry.methods().names()
K = 3


def make(name):
    cls = registry.methods().get(name)
    return cls, cls(build_config(cls.Config, dict(cls.quick_params), owner=name))


def fit(name, data, seed=0):
    """As the runner does: imputed when the method cannot read the mask, labels hidden, views read-only."""
    cls, method = make(name)
    if not cls.capabilities.handles_missing:
        data = impute(data)
    return method.fit_predict(data.without_labels(), K, seed)


def two_views(**kw):
    return blobs(n=150, k=K, dims=(12, 8), names=("image", "text"), **kw)


@pytest.mark.parametrize("name", METHODS)
def test_declares_config_and_capabilities(name):
    cls = registry.methods().get(name)
    assert dataclasses.is_dataclass(cls.Config) and describe_config(cls.Config) is not None
    assert isinstance(cls.capabilities, Capabilities)
    cls.Config()  # every hyper-parameter has a default
    build_config(cls.Config, dict(cls.quick_params), owner=name)
    assert cls.__doc__ and len(cls.__doc__.strip()) > 20, "a method documents what it implements"


@pytest.mark.parametrize("name", METHODS)
def test_labels_shape_range_quality_and_same_labels_under_a_seed(name):
    data = two_views()
    result = fit(name, data, seed=3)
    assert isinstance(result, FitResult)
    labels = np.asarray(result.labels)
    assert labels.shape == (data.n_samples,) and np.issubdtype(labels.dtype, np.integer)
    assert labels.min() >= 0 and labels.max() < K
    assert len(np.unique(labels)) > 1, "collapsed to a single cluster on well-separated data"
    np.testing.assert_array_equal(labels, fit(name, data, seed=3).labels)


@pytest.mark.parametrize("name", METHODS)
def test_unobserved_rows_are_never_read_and_the_input_is_left_unchanged(name):
    """With 30% of one view missing, garbage in unobserved rows must not change the labels; fitting
    changes neither dataset."""
    data = Condition(0.3, "text").apply(two_views(), repetition=0)
    views = [x.copy() for x in data.views]
    rng = np.random.default_rng(0)
    for v, x in enumerate(views):
        hidden = ~data.mask[:, v]
        x[hidden] = rng.normal(1e3, 1e2, size=(hidden.sum(), x.shape[1]))
    garbage = type(data)(views, data.view_names, data.mask, data.labels, data.ids, data.card)
    before = data.content_sha256(), garbage.content_sha256()
    np.testing.assert_array_equal(fit(name, data, seed=1).labels, fit(name, garbage, seed=1).labels)
    assert (data.content_sha256(), garbage.content_sha256()) == before


class ReadsLabels(Method):
    """A cheat that clusters by the ground truth."""

    def fit_predict(self, data, n_clusters, seed):
        return FitResult(labels=np.asarray(data.labels))


def test_a_method_reading_labels_fails(tmp_path):
    from mvbench.data import sources
    from mvbench.run.cell import FAILED, CellTask, run_cell
    from mvbench.run.grid import Cell

    path = sources.prepare("synthetic", sources.DataPaths.resolve(), {"n_samples": 60})
    cell = Cell("cheat", "cheat", (), "synthetic", "synthetic", (), "", Condition(), 0, "mean")
    result = run_cell(CellTask(cell, path, ReadsLabels))
    assert result.status == FAILED and "LabelsHiddenError" in result.error and "never see labels" in result.error
