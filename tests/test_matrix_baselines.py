"""BMVC, multi-view LRSSC and DMF-MVC: formulas on tiny arrays, invariants, planted clusters."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mvbench.data import MultiViewDataset
from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods._spectral import knn_heat_graph, spectral_clustering
from mvbench.methods.bmvc import BMVC, anchor_embedding, hamming_assign
from mvbench.methods.dmf_mvc import DMFMVC, _positive_combination, gram_pinv, svd_lp_init
from mvbench.methods.kmeans import KMeansSingleView
from mvbench.methods.lrssc import LRSSC, LRSSCConfig, singular_value_threshold, soft_threshold
from mvbench.metrics import evaluate


@pytest.fixture(scope="module")
def complementary() -> MultiViewDataset:
    """4 clusters; view 0 sees only bit 0 of the cluster index, view 1 only bit 1."""
    return generate(
        SyntheticParams(
            n_samples=150, n_clusters=4, view_dims=[10, 12], complementary=True, separation=8.0, view_noise=0.5, seed=0
        )
    )


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


def test_anchor_embedding_reference_sigma_counts_zero_distances():
    x = np.array([[0.0], [1.0], [3.0]])
    sq = np.array([[0, 9], [1, 4], [9, 0]], dtype=float)
    sigma = 2 * (0 + 1 + 0) / 3  # nearest anchor distances 0, 1, 0 (samples 0 and 2 are anchors)
    phi = np.exp(-sq / (2 * sigma**2)).T
    np.testing.assert_allclose(
        anchor_embedding(x, x[[0, 2]], skip_zero=False), phi - phi.mean(axis=1, keepdims=True), rtol=1e-12
    )


def test_gram_pinv_exact_in_float64_and_filtered_in_float32():
    gram = np.array([[4.0, 1.0], [1.0, 2.0]])
    np.testing.assert_allclose(gram_pinv(gram), np.linalg.inv(gram), rtol=1e-12)
    delta = 2 * np.finfo(np.float32).eps * 4.0  # size * eps32 * largest eigenvalue
    # l / (l^2 + delta^2): ~l / delta^2 far below delta, 1 / (2 delta) at delta, ~1 / l far above
    for small, expected in ((1e-12, 1e-12 / delta**2), (delta, 1 / (2 * delta)), (1e-2, 1e2)):
        inverse = gram_pinv(np.diag([4.0, small]).astype(np.float32))
        assert inverse.dtype == np.float32
        np.testing.assert_allclose(np.diag(inverse), [0.25, expected], rtol=1e-3)


def test_positive_combination_by_hand():
    w = _positive_combination(np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 0.2]]))  # V^T y >= 1 is feasible
    v = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 0.2]])
    y = np.linalg.lstsq(v.T, w, rcond=None)[0]
    assert w.min() >= 1 - 1e-9 and np.allclose(v.T @ y, w)  # w lies in the row space of V
    # one row with a negative entry: feasible only once V + eps > 0, i.e. eps > 1
    w = _positive_combination(np.array([[1.0, -1.0, 0.5]]))
    assert w.min() >= 1 - 1e-9
    eps = (w[2] - 0.5 * w[0]) / (w[0] - w[2])  # w is proportional to V + eps
    assert 1.0 < eps <= 1.0 + 1e-3


def test_svd_lp_init_reaches_best_rank_r_error():
    """With a positive vector in the top singular subspace (nonnegative data), min_Z ||X - Z H|| is the
    truncated-SVD error (Gillis & Kumar, Corollary 4)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 40))
    singular = np.linalg.svd(x, compute_uv=False)
    for k in (1, 3, 5):
        h = svd_lp_init(x, k, rng)
        assert h.shape == (k, 40) and h.min() >= 0
        error = np.linalg.norm(x - (x @ np.linalg.pinv(h)) @ h)
        assert error == pytest.approx(np.sqrt((singular[k:] ** 2).sum()), rel=1e-8)
    wide = svd_lp_init(x[:3], 5, rng)  # a layer wider than the view: 2 random rows beyond rank 3
    assert wide.shape == (5, 40) and wide.min() >= 0 and np.linalg.matrix_rank(wide[:3]) == 3


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


@pytest.mark.parametrize("init", ["kmeans", "svd_lp"])
def test_dmf_mvc_accepts_views_narrower_than_a_layer(complementary, init):
    """Views of 10 and 12 features, layers of 20: accepted (the reference fails), see the module doc."""
    result = DMFMVC(layers=[20, 15], max_iter=5, init=init).fit_predict(complementary, 4, 0)
    assert result.labels.shape == (150,) and all(np.isfinite(v) for h in result.history for v in h.values())


def test_bmvc_reference_setting():
    config = BMVC(reference=True).config
    assert (config.anchor_cap, config.sigma_skip_zero, config.pca_view) == (1.0, False, "largest")
    with pytest.raises(ValueError, match="reference=true sets"):
        BMVC(reference=True, pca_view="0")
    with pytest.raises(ValueError, match="anchor_cap"):
        BMVC(anchor_cap=0.0)


def test_bmvc_pca_view_largest_is_the_widest(complementary):
    """Views of 10 and 12 features: "largest" is view 1."""
    largest = BMVC(n_anchors=30, pca_view="largest").fit_predict(complementary, 4, 0).labels
    np.testing.assert_array_equal(largest, BMVC(n_anchors=30, pca_view="1").fit_predict(complementary, 4, 0).labels)
    assert not np.array_equal(largest, BMVC(n_anchors=30, pca_view="0").fit_predict(complementary, 4, 0).labels)


# -- objective behaviour ----------------------------------------------------------------------------------
def test_bmvc_exact_steps_never_increase_objective(complementary):
    history = BMVC(n_anchors=30).fit_predict(complementary, 4, 0).history
    for row in history:
        assert row["objective_after_b"] <= row["objective_after_u"] + 1e-9 * abs(row["objective_after_u"])
    for prev, row in zip(history, history[1:]):
        assert row["objective_after_u"] <= prev["objective"] + 1e-9 * abs(prev["objective"])


def test_dmf_mvc_objective_monotone_with_fixed_weights(complementary):
    history = (
        DMFMVC(layers=[20, 10], max_iter=30, tol=0, update_weights=False, dtype="float64")
        .fit_predict(complementary, 4, 0)
        .history
    )
    values = np.array([row["objective"] for row in history])
    assert len(values) == 30 and np.all(np.diff(values) <= 1e-9 * values[:-1])


def test_dmf_mvc_objective_monotone_when_weights_minimise(complementary):
    history = (
        DMFMVC(layers=[20, 10], max_iter=20, tol=0, gamma=2.0, dtype="float64").fit_predict(complementary, 4, 0).history
    )
    for row in history:
        assert row["objective_reweighted"] <= row["objective"] * (1 + 1e-9)
    for prev, row in zip(history, history[1:]):
        assert row["objective"] <= prev["objective_reweighted"] * (1 + 1e-9)


def test_dmf_mvc_float32_follows_float64(complementary):
    single = DMFMVC(layers=[20, 10], max_iter=30, tol=0).fit_predict(complementary, 4, 0)
    double = DMFMVC(layers=[20, 10], max_iter=30, tol=0, dtype="float64").fit_predict(complementary, 4, 0)
    np.testing.assert_allclose(
        [r["objective"] for r in single.history], [r["objective"] for r in double.history], rtol=1e-3
    )
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
