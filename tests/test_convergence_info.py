"""Every iterating method reports ``iterations``, ``max_iterations`` and ``converged`` in FitResult.info."""

from __future__ import annotations

import pytest

from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods.bmvc import BMVC
from mvbench.methods.daimc import DAIMC
from mvbench.methods.dec import DEC
from mvbench.methods.deep_clustering import QUICK_PARAMS
from mvbench.methods.dmf_mvc import DMFMVC
from mvbench.methods.jecl import JECL
from mvbench.methods.kmeans import KMeansConcat, KMeansSingleView
from mvbench.methods.lrssc import LRSSC


@pytest.fixture(scope="module")
def blobs():
    return generate(SyntheticParams(n_samples=120, n_clusters=3, view_dims=[8, 10], separation=8.0, seed=1))


# (method, whether it stops on a tolerance: then converged == 0 means the cap was reached)
METHODS = [
    (DMFMVC(layers=[10, 5], max_iter=20, pretrain_iter=10), True),
    (BMVC(n_anchors=30, max_iter=3, inner_iter=3), False),
    (LRSSC(max_iter=15), True),
    (DAIMC(max_iter=10, init_restarts=3, n_init=2), True),
    (KMeansSingleView(), True),
    (KMeansConcat(), True),
    (JECL(**QUICK_PARAMS), True),
    (DEC(**QUICK_PARAMS), True),
]


@pytest.mark.parametrize("method,has_tolerance", METHODS, ids=lambda m: type(m).__name__)
def test_convergence_keys(method, has_tolerance, blobs):
    info = method.fit_predict(blobs, 3, 0).info
    assert {"iterations", "max_iterations", "converged"} <= set(info)
    assert 1 <= info["iterations"] <= info["max_iterations"]
    assert info["converged"] in (0.0, 1.0)
    if has_tolerance and info["converged"] == 0.0:
        assert info["iterations"] == info["max_iterations"]
    if not has_tolerance:
        assert info["iterations"] == info["max_iterations"]


def test_dmf_mvc_stops_at_tolerance_or_cap(blobs):
    capped = DMFMVC(layers=[10, 5], max_iter=3, tol=0.0).fit_predict(blobs, 3, 0).info
    assert (capped["iterations"], capped["converged"]) == (3.0, 0.0)
    loose = DMFMVC(layers=[10, 5], max_iter=500, tol=1e-3).fit_predict(blobs, 3, 0)
    assert loose.info["converged"] == 1.0 and loose.info["iterations"] < 500
    values = [row["objective_reweighted"] for row in loose.history]
    assert abs(values[-2] - values[-1]) <= 1e-3 * values[-2]  # the test that stopped it
    assert all(abs(a - b) > 1e-3 * a for a, b in zip(values[:-2], values[1:-1]))  # and not before


def test_kmeans_reports_sklearn_iterations(blobs):
    assert KMeansConcat().fit_predict(blobs, 3, 0).info["converged"] == 1.0
    capped = KMeansConcat(max_iter=1, n_init=1).fit_predict(blobs, 3, 0).info
    assert capped == {"iterations": 1.0, "max_iterations": 1.0, "converged": 0.0}


def test_bmvc_converged_means_fixed_point(blobs):
    """All samples as anchors: the U-step reproduces any B, so the codes stay put (module doc, item 1)."""
    stuck = BMVC(reference=True, max_iter=3).fit_predict(blobs, 3, 0).info
    assert stuck["n_anchors"] == 120 and stuck["converged"] == 1.0
