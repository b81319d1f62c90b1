"""BMVC, multi-view LRSSC and DMF-MVC: formulas on tiny arrays, invariants, planted clusters."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mvbench.data import MultiViewDataset
from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods._spectral import knn_heat_graph, spectral_clustering
from mvbench.methods.bmvc import BMVC, anchor_embedding, hamming_assign
from mvbench.methods.dmf_mvc import DMFMVC
from mvbench.methods.kmeans import KMeansSingleView
from mvbench.methods.lrssc import LRSSC, LRSSCConfig, singular_value_threshold, soft_threshold
from mvbench.metrics import evaluate


@pytest.fixture(scope="module")
def complementary() -> MultiViewDataset:
    """4 clusters; view 0 sees only bit 0 of the cluster index, view 1 only bit 1."""
    return generate(SyntheticParams(n_samples=150, n_clusters=4, view_dims=[10, 12], complementary=True,
                                    separation=8.0, view_noise=0.5, seed=0))


@pytest.fixture(scope="module")
def subspaces(complementary) -> MultiViewDataset:
    """The same views shifted off the origin: each cluster then spans its own direction, as subspace
    clustering assumes (centred antipodal blobs share one line through 0)."""
    return MultiViewDataset([v + 4.0 for v in complementary.views], labels=complementary.labels)


def acc(data: MultiViewDataset, labels: np.ndarray) -> float:
    return evaluate(data.labels, labels)["acc"]


def best_single_view_acc(data: MultiViewDataset) -> float:
    return max(acc(data, KMeansSingleView(view=str(v)).fit_predict(data, 4, 0).labels) for v in range(data.n_views))


# -- hand-computed pieces ---------------------------------------------------------------------------
def test_anchor_embedding_by_hand():
    x = np.array([[0.0], [1.0], [3.0]])
    anchors = np.array([[0.0], [3.0]])
    sq = np.array([[0, 9], [1, 4], [9, 0]], dtype=float)
    sigma = 2 * (3 + 1 + 3) / 3  # nearest non-zero anchor distances 3, 1, 3
    phi = np.exp(-sq / (2 * sigma**2)).T
    expected = phi - phi.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(anchor_embedding(x, anchors), expected, rtol=1e-12)
    assert np.allclose(anchor_embedding(x, anchors).mean(axis=1), 0)


def test_hamming_assign():
    b = np.array([[1, -1], [1, -1], [1, 1]], dtype=float)
    c = np.array([[-1, 1], [-1, 1], [-1, 1]], dtype=float)
    np.testing.assert_array_equal(hamming_assign(b, c), [1, 0])


def test_knn_heat_graph_by_hand():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    w = knn_heat_graph(x, 1).toarray()
    # neighbours 0->1, 1->0, 2->1, 3->2; t = mean distance = (1 + 1 + 2 + 4) / 4 = 2
    expected = np.zeros((4, 4))
    for i, j, d2 in ((0, 1, 1), (2, 1, 4), (3, 2, 16)):
        expected[i, j] = expected[j, i] = np.exp(-d2 / 8)
    np.testing.assert_allclose(w, expected, rtol=1e-6)


def test_thresholds_by_hand():
    np.testing.assert_allclose(soft_threshold(np.array([-3.0, 0.5, 2.0]), 1.0), [-2.0, 0.0, 1.0])
    x = np.diag([3.0, 1.0, 0.5])
    np.testing.assert_allclose(singular_value_threshold(x, 1.0), np.diag([2.0, 0.0, 0.0]), atol=1e-12)


def test_spectral_clustering_two_blocks():
    w = np.kron(np.eye(2), np.ones((5, 5)))
    labels, _ = spectral_clustering(w + 1e-3, 2, seed=0)
    assert len(set(labels[:5])) == 1 and len(set(labels[5:])) == 1 and labels[0] != labels[5]


def test_lrssc_memory_estimate_by_hand():
    config = LRSSCConfig()
    assert LRSSC.memory_estimate(config, 1000, [10, 20]) == (8 * 2 + 12) * 1000**2 * 4 + 8 * 1000 * 30
    double = LRSSCConfig(dtype="float64")
    assert LRSSC.memory_estimate(double, 1000, [10]) > LRSSC.memory_estimate(config, 1000, [10])


def test_lrssc_memory_estimate_bounds_measured_peak():
    data = generate(SyntheticParams(n_samples=500, n_clusters=3, view_dims=[20, 30], seed=1))
    config = LRSSCConfig(max_iter=3)
    tracemalloc.start()
    LRSSC(config).fit_predict(data, 3, 0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = LRSSC.memory_estimate(config, 500, [20, 30])
    assert 0.5 * estimate <= peak <= estimate, (peak, estimate)


# -- planted clusters a single view cannot find -------------------------------------------------------
def test_bmvc_recovers_complementary_clusters(complementary):
    labels = BMVC(n_anchors=30).fit_predict(complementary, 4, 0).labels
    assert acc(complementary, labels) >= 0.9 > best_single_view_acc(complementary) + 0.2


@pytest.mark.parametrize("variant", ["pairwise", "centroid"])
def test_lrssc_recovers_complementary_subspaces(subspaces, variant):
    result = LRSSC(variant=variant, normalization="l2").fit_predict(subspaces, 4, 0)
    assert acc(subspaces, result.labels) >= 0.9 > best_single_view_acc(subspaces) + 0.2
    assert result.info["converged"] == 1.0


def test_dmf_mvc_recovers_complementary_clusters(complementary):
    labels = DMFMVC(layers=[20, 10], max_iter=50).fit_predict(complementary, 4, 0).labels
    assert acc(complementary, labels) >= 0.85 > best_single_view_acc(complementary) + 0.2


# -- objective behaviour ----------------------------------------------------------------------------------
def test_bmvc_exact_steps_never_increase_objective(complementary):
    history = BMVC(n_anchors=30).fit_predict(complementary, 4, 0).history
    for row in history:
        assert row["objective_after_b"] <= row["objective_after_u"] + 1e-9 * abs(row["objective_after_u"])
    for prev, row in zip(history, history[1:]):
        assert row["objective_after_u"] <= prev["objective"] + 1e-9 * abs(prev["objective"])


def test_dmf_mvc_objective_monotone_with_fixed_weights(complementary):
    history = DMFMVC(layers=[20, 10], max_iter=30, tol=0, update_weights=False, dtype="float64").fit_predict(complementary, 4, 0).history
    values = np.array([row["objective"] for row in history])
    assert len(values) == 30 and np.all(np.diff(values) <= 1e-9 * values[:-1])


def test_dmf_mvc_objective_monotone_when_weights_minimise(complementary):
    history = DMFMVC(layers=[20, 10], max_iter=20, tol=0, gamma=2.0, dtype="float64").fit_predict(complementary, 4, 0).history
    for row in history:
        assert row["objective_reweighted"] <= row["objective"] * (1 + 1e-9)
    for prev, row in zip(history, history[1:]):
        assert row["objective"] <= prev["objective_reweighted"] * (1 + 1e-9)


def test_dmf_mvc_float32_follows_float64(complementary):
    single = DMFMVC(layers=[20, 10], max_iter=30, tol=0).fit_predict(complementary, 4, 0)
    double = DMFMVC(layers=[20, 10], max_iter=30, tol=0, dtype="float64").fit_predict(complementary, 4, 0)
    np.testing.assert_allclose([r["objective"] for r in single.history],
                               [r["objective"] for r in double.history], rtol=1e-3)
    assert acc(complementary, single.labels) == pytest.approx(acc(complementary, double.labels), abs=0.02)


def test_lrssc_primal_residual_goes_to_zero(subspaces):
    history = LRSSC(normalization="l2").fit_predict(subspaces, 4, 0).history
    residuals = [row["primal_residual"] for row in history]
    assert residuals[-1] <= 1e-3 < residuals[0]
    assert [row["mu"] for row in history] == sorted(row["mu"] for row in history)


# -- determinism and input checks -------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [BMVC, LRSSC, DMFMVC])
def test_same_seed_same_labels(cls, complementary):
    first = cls(**cls.quick_params).fit_predict(complementary, 4, 3).labels
    second = cls(**cls.quick_params).fit_predict(complementary, 4, 3).labels
    np.testing.assert_array_equal(first, second)
    assert first.shape == (150,) and set(first) <= set(range(4))


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="r must be > 1"):
        BMVC(r=1.0)
    with pytest.raises(ValueError, match="lambdas"):
        LRSSC(lambdas=[0.3, 0.3])
    with pytest.raises(ValueError, match="gamma"):
        DMFMVC(gamma=1.0)
