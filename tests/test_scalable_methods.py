"""LMVSC, SMVSC, OPMC, SGLA and LMGEC: closed-form steps against hand-computed values, invariants,
planted clusters."""

from __future__ import annotations

import numpy as np
import pytest

from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods._anchors import leading_left_singular_vectors, project_simplex, simplex_ridge
from mvbench.methods._graphs import cosine_knn, knn_graph, sym_normalized
from mvbench.methods.lmgec import LMGEC, cluster_means, filtered_view, procrustes, softmax_weights
from mvbench.methods.lmvsc import LMVSC
from mvbench.methods.opmc import OPMC, OPMCConfig, assign, cluster_sums, sample_zscore, update_c, update_w
from mvbench.methods.pic import simplex_qp
from mvbench.methods.sgla import SGLA, discretize, full_weights, spectral_objective
from mvbench.methods.smvsc import SMVSC, polar, view_weights, z_step
from mvbench.metrics import evaluate

ALL = [LMVSC, SMVSC, OPMC, SGLA, LMGEC]


@pytest.fixture(scope="module")
def planted():
    return generate(SyntheticParams(n_samples=400, n_clusters=4, view_dims=[12, 20, 8], separation=6.0, seed=1))


def test_project_simplex_by_hand():
    v = np.array([[0.5, 0.5, 0.5], [2.0, 0.0, 0.0], [0.6, 0.3, -1.0], [0.2, 0.3, 0.5]])
    expected = np.array([[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0], [0.65, 0.35, 0.0], [0.2, 0.3, 0.5]])
    np.testing.assert_allclose(project_simplex(v), expected, atol=1e-12)


def test_project_simplex_is_the_nearest_simplex_point():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 7)) * 2
    p = project_simplex(v)
    assert (p >= 0).all() and np.allclose(p.sum(axis=1), 1.0)
    for _ in range(20):  # no random simplex point is closer
        q = project_simplex(rng.normal(size=(50, 7)))
        assert (((v - p) ** 2).sum(axis=1) <= ((v - q) ** 2).sum(axis=1) + 1e-12).all()


def test_simplex_ridge_matches_the_exact_qp():
    """LMVSC's per-sample QP against an exact support-enumerating solver of 1/2 z^T H z - f^T z."""
    rng = np.random.default_rng(1)
    anchors, x, alpha = rng.normal(size=(6, 4)) + 3.0, rng.normal(size=(10, 4)) + 3.0, 0.5
    z, _ = simplex_ridge(x, anchors, alpha, max_iter=5000, tol=1e-10)
    h = 2 * (anchors @ anchors.T + alpha * np.eye(6))
    for i in range(len(x)):
        exact = simplex_qp(h, 2 * anchors @ x[i])
        np.testing.assert_allclose(z[i], exact, atol=1e-5)


def test_leading_left_singular_vectors_match_svd():
    s = np.random.default_rng(2).normal(size=(300, 8))
    u = np.linalg.svd(s, full_matrices=False)[0][:, :3]
    ours = leading_left_singular_vectors(s, 3)
    np.testing.assert_allclose(np.abs(ours.T @ u), np.eye(3), atol=1e-8)


def test_smvsc_view_weights_by_hand():
    np.testing.assert_allclose(view_weights(np.array([1.0, 2.0, 4.0])), np.array([1.0, 0.5, 0.25]) / 1.75)


def test_smvsc_z_step_by_hand():
    """One sample, one view, alpha = 1, lambda = 1, A = I: z = P(x W / 2)."""
    xw = [np.array([[1.0, 3.0]])]
    z = z_step(xw, np.eye(2), np.array([1.0]), 1.0)
    np.testing.assert_allclose(z, [[0.0, 1.0]])  # P([0.5, 1.5]) = [0, 1]
    two = [np.array([[0.4, 0.6]]), np.array([[0.4, 0.6]])]  # alpha = (0.5, 0.5): sum alpha^2 + lambda = 1.5
    # unweighted b = (0.8, 1.2), / 1.5 = (8/15, 12/15): tau = 1/6
    np.testing.assert_allclose(z_step(two, np.eye(2), np.array([0.5, 0.5]), 1.0), [[11 / 30, 19 / 30]])
    # weighted b = 0.25 * (0.8, 1.2) = (0.2, 0.3), / 1.5: tau = -1/3
    np.testing.assert_allclose(z_step(two, np.eye(2), np.array([0.5, 0.5]), 1.0, weighted=True), [[7 / 15, 8 / 15]])
    z = z_step([np.array([[0.4, 0.6]])], np.eye(2), np.array([1.0]), 1.0)
    np.testing.assert_allclose(z, [[0.45, 0.55]])  # P([0.2, 0.3]): tau = -0.25


def test_polar_is_the_procrustes_solution():
    c = np.random.default_rng(3).normal(size=(7, 3))
    w = polar(c)
    np.testing.assert_allclose(w.T @ w, np.eye(3), atol=1e-12)
    for _ in range(20):  # no other orthonormal W has a larger tr(W^T C)
        q = np.linalg.qr(np.random.default_rng(_).normal(size=(7, 3)))[0]
        assert np.trace(w.T @ c) >= np.trace(q.T @ c) - 1e-12


def test_opmc_updates_by_hand():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    labels = np.array([0, 0, 1])
    sums, sizes = cluster_sums(x, labels, 2)
    np.testing.assert_allclose(sums, [[4.0, 0.0], [0.0, 2.0]])
    np.testing.assert_array_equal(sizes, [2, 1])
    w = np.eye(2)
    np.testing.assert_allclose(update_c(sums, sizes, w), [[2.0, 0.0], [0.0, 2.0]])  # the cluster means
    w = update_w(sums, np.eye(2))  # C^T Y^T X = diag(4, 2): W = I
    np.testing.assert_allclose(w, np.eye(2), atol=1e-12)
    new_labels, cost = assign([x], [np.array([[2.0, 0.0], [0.0, 2.0]])], np.array([1.0]))
    np.testing.assert_array_equal(new_labels, [0, 0, 1])
    assert cost == pytest.approx(1.0 + 1.0 + 0.0)


def test_opmc_sample_zscore_by_hand():
    out = sample_zscore(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(out, [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])


def test_opmc_objective_never_increases(planted):
    method = OPMC(OPMCConfig(n_init=1))
    result = method.fit_predict(planted.without_labels(), 4, 0)
    objective = [h["objective"] for h in result.history]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(objective, objective[1:]))


def test_sgla_objective_by_hand():
    lam = np.array([0.3, 0.0, 0.1, 0.5])  # sorted: 0, 0.1, 0.3, 0.5; K = 2: 0.1 / 0.3 - 0.1
    w = full_weights(np.array([0.25]))
    np.testing.assert_allclose(w, [0.25, 0.75])
    assert spectral_objective(lam, w, 2, 0.5) == pytest.approx(0.1 / 0.3 - 0.1 + 0.5 * (0.0625 + 0.5625))


def test_discretize_recovers_indicator_embedding():
    labels = np.repeat(np.arange(3), [5, 7, 4])
    indicator = np.eye(3)[labels] / np.sqrt(np.bincount(labels))[labels, None]
    rotated = indicator @ np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    found = discretize(rotated, seed=0)
    assert evaluate(labels, found)["acc"] == 1.0


def test_cosine_graph_and_normalisation_by_hand():
    x = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    idx, sims = cosine_knn(x, 1)
    np.testing.assert_array_equal(idx.ravel(), [1, 0, 3, 2])
    cos01 = 2.0 / np.hypot(2.0, 0.1)
    np.testing.assert_allclose(sims.ravel()[:2], [cos01, cos01], rtol=1e-6)
    a = knn_graph(idx, sims, 4)
    norm = sym_normalized(a + a.T).toarray()
    np.testing.assert_allclose(norm[0, 1], 1.0, rtol=1e-6)  # two mutual neighbours: 2c / sqrt(2c * 2c)
    np.testing.assert_allclose(norm[0, 2], 0.0)


def test_lmgec_filtered_view_by_hand():
    """1-NN graph + self loop, row-normalised: each row is the mean of itself and its neighbour."""
    x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    expected = np.array(
        [(unit[0] + unit[1]) / 2, (unit[0] + unit[1]) / 2, (unit[2] + unit[3]) / 2, (unit[2] + unit[3]) / 2]
    )
    expected -= expected.mean(axis=0)
    np.testing.assert_allclose(filtered_view(x, 1, 1.0), expected, atol=1e-6)


def test_lmgec_closed_forms_by_hand():
    np.testing.assert_allclose(
        softmax_weights(np.array([1.0, 2.0]), 1.0), [1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1))]
    )
    assert np.isfinite(softmax_weights(np.array([5000.0, 5001.0]), 1.0)).all()  # no underflow at large inertia
    np.testing.assert_allclose(
        cluster_means(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 2]), 3), [[2.0], [0.0], [5.0]]
    )
    h, targets = np.random.default_rng(4).normal(size=(30, 5)), np.random.default_rng(5).normal(size=(30, 2))
    w = procrustes(h, targets)
    np.testing.assert_allclose(w.T @ w, np.eye(2), atol=1e-12)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_recovers_planted_clusters_deterministically(cls, planted):
    method = cls(cls.Config())
    labels = method.fit_predict(planted.without_labels(), 4, 0).labels
    assert evaluate(planted.labels, labels)["acc"] > 0.9
    np.testing.assert_array_equal(labels, method.fit_predict(planted.without_labels(), 4, 0).labels)


@pytest.mark.parametrize("cls", [LMVSC, SMVSC, OPMC], ids=lambda c: c.__name__)
def test_anchor_methods_memory_is_linear_in_n(cls):
    one, four = (cls.memory_estimate(cls.Config(), n, [50, 100, 200]) for n in (1_000_000, 4_000_000))
    assert 3 * one < four <= 4 * one  # grows with n, at most linearly: no n^2 term
    assert one < 8 * 2**30  # the 1M target: 8 GiB
