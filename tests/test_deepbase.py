"""Tests of the deep two-view baselines: CCA algebra, ranking loss, training, cluster recovery."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from sklearn.metrics import adjusted_rand_score

from mvbench.data import MultiViewDataset
from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods._torch_ops import hinge_ranking, linear_cca, total_correlation
from mvbench.methods._twoview import pick_embedding
from mvbench.methods._views import choose_views, two_views
from mvbench.methods.ccal_km import CCALKMeans, cca_layer
from mvbench.methods.dcca_km import DCCAKMeans
from mvbench.methods.kmeans import KMeansSingleView
from mvbench.methods.vse_km import VSEKMeans


def correlated_pair(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    x = np.hstack([z, rng.standard_normal((n, 2))]) @ rng.standard_normal((4, 4))
    y = np.hstack([z + 0.5 * rng.standard_normal((n, 2)), rng.standard_normal((n, 1))]) @ rng.standard_normal((3, 3))
    return x, y


def numpy_canonical_correlations(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    m = len(x)
    xc, yc = x - x.mean(0), y - y.mean(0)
    s11 = xc.T @ xc / (m - 1) + r * np.eye(x.shape[1])
    s22 = yc.T @ yc / (m - 1) + r * np.eye(y.shape[1])
    t = np.linalg.inv(scipy.linalg.sqrtm(s11)) @ (xc.T @ yc / (m - 1)) @ np.linalg.inv(scipy.linalg.sqrtm(s22))
    return np.linalg.svd(np.real(t), compute_uv=False)


def test_total_correlation_matches_numpy_and_qr():
    x, y = correlated_pair()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    expected = numpy_canonical_correlations(x, y, 1e-3)
    assert total_correlation(tx, ty, 1e-3, 1e-3).item() == pytest.approx(expected.sum(), rel=1e-6)
    assert total_correlation(tx, ty, 1e-3, 1e-3, top_k=2).item() == pytest.approx(
        np.sort(expected)[-2:].sum(), rel=1e-6
    )
    # Unregularised: canonical correlations are the singular values of Q1'Q2 (QR of centred data).
    q1, q2 = np.linalg.qr(x - x.mean(0))[0], np.linalg.qr(y - y.mean(0))[0]
    qr_corr = np.linalg.svd(q1.T @ q2, compute_uv=False).sum()
    assert total_correlation(tx, ty, 1e-12, 1e-12).item() == pytest.approx(qr_corr, rel=1e-6)


def test_hinge_ranking_hand_computed_3x3():
    s = torch.tensor([[0.9, 0.1, 0.3], [0.2, 0.8, 0.7], [0.4, 0.5, 0.6]])
    # rows: (0.2-0.8+0.7)=0.1, (0.2-0.6+0.4)=0, (0.2-0.6+0.5)=0.1; columns: (0.2-0.6+0.7)=0.3.
    assert hinge_ranking(s, 0.2, directions=2).item() == pytest.approx(0.5, abs=1e-6)
    assert hinge_ranking(s, 0.2, directions=1).item() == pytest.approx(0.2, abs=1e-6)
    assert hinge_ranking(s, 0.2, directions=1, reduction="mean").item() == pytest.approx(0.2 / 6, abs=1e-6)


def test_cca_layer_projection_whitens_and_diagonalises():
    x, y = correlated_pair(n=500, seed=1)
    p1, p2, c = cca_layer(torch.from_numpy(x), torch.from_numpy(y), 1e-9)
    m = len(x)
    p1, p2 = p1.numpy(), p2.numpy()
    np.testing.assert_allclose(p1.T @ p1 / (m - 1), np.eye(4), atol=1e-6)
    np.testing.assert_allclose(p2.T @ p2 / (m - 1), np.eye(3), atol=1e-6)
    cross = p1.T @ p2 / (m - 1)
    np.testing.assert_allclose(cross[:3, :3], np.diag(c.numpy()), atol=1e-6)
    np.testing.assert_allclose(np.sort(c.numpy()), np.sort(numpy_canonical_correlations(x, y, 1e-9)), atol=1e-6)
    z1, z2, corr = linear_cca(x, y, 2, r=1e-9)
    np.testing.assert_allclose([np.corrcoef(z1[:, i], z2[:, i])[0, 1] for i in range(2)], corr, atol=1e-6)


def test_dcca_correlation_increases_on_correlated_views():
    data = generate(SyntheticParams(n_samples=200, n_clusters=3, view_dims=[10, 12], seed=3))
    result = DCCAKMeans(hidden=[32], out_dim=3, epochs=15, batch_size=100, n_init=2).fit_predict(data, 3, 0)
    corr = [h["corr"] for h in result.history]
    assert corr[-1] > corr[0] + 0.3
    assert corr[-1] <= 3.0 + 1e-6  # at most out_dim canonical correlations of 1


NOISY = SyntheticParams(n_samples=240, n_clusters=3, view_dims=[30, 30], separation=4.0, view_noise=3.0, seed=1)
FAST = {
    DCCAKMeans: {"hidden": [64], "out_dim": 3, "epochs": 30, "batch_size": 120, "n_init": 10},
    VSEKMeans: {"dim": 32, "text_hidden": 64, "epochs": 30, "batch_size": 60, "n_init": 10},
    CCALKMeans: {"latent": 8, "hidden": 64, "epochs": 30, "batch_size": 120, "n_init": 10},
}


@pytest.mark.parametrize("method", list(FAST), ids=lambda m: m.__name__)
def test_recovers_clusters_better_than_either_view(method):
    """Each view alone is too noisy; the shared (correlated) signal separates the clusters."""
    data = generate(NOISY)
    single = max(
        adjusted_rand_score(data.labels, KMeansSingleView(view=str(v), n_init=3).fit_predict(data, 3, 0).labels)
        for v in range(2)
    )
    result = method(**FAST[method]).fit_predict(data, 3, 0)
    assert adjusted_rand_score(data.labels, result.labels) > single + 0.02
    assert len(result.history) == FAST[method]["epochs"] and result.info["epochs"] == FAST[method]["epochs"]


@pytest.mark.parametrize("method", list(FAST), ids=lambda m: m.__name__)
def test_same_seed_same_labels(method):
    data = generate(SyntheticParams(n_samples=120, n_clusters=3, view_dims=[8, 6, 5], seed=2))
    a = method(**method.quick_params).fit_predict(data, 3, 7)
    b = method(**method.quick_params).fit_predict(data, 3, 7)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.history == b.history


@pytest.mark.parametrize("embedding,width", [("concat", 16), ("view0", 8), ("mean", 8)])
def test_embedding_choice(embedding, width):
    data = generate(SyntheticParams(n_samples=100, n_clusters=3, view_dims=[8, 6], seed=2))
    method = VSEKMeans(dim=8, text_hidden=8, epochs=1, n_init=1, embedding=embedding)
    nets = method.build(100, 8, 6)
    x1, x2 = (torch.from_numpy(v) for v in data.views)
    assert method.embed(nets, x1, x2).shape == (100, width)
    assert method.fit_predict(data, 3, 0).labels.shape == (100,)


def test_pick_embedding_by_hand():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 6.0]])
    np.testing.assert_array_equal(pick_embedding(a, b, "concat"), [[1, 2, 3, 6]])
    np.testing.assert_array_equal(pick_embedding(a, b, "view1"), b)
    np.testing.assert_array_equal(pick_embedding(a, b, "mean"), [[2, 4]])
    with pytest.raises(ValueError, match="equal width"):
        pick_embedding(a, b[:, :1], "mean")


def test_view_choice_one_rule():
    x = np.zeros((4, 2), np.float32)
    data = MultiViewDataset([x, x, x], ["tags", "text", "image"])
    assert two_views(data, "auto") == (2, 1) and choose_views(data, "auto") == [2, 1]
    assert choose_views(MultiViewDataset([x, x, x], ["Caption", "tags", "IMG"]), "auto") == [2, 0]  # aliases, any case
    assert two_views(MultiViewDataset([x, x, x]), "auto") == (0, 1)
    assert choose_views(MultiViewDataset([x]), "auto") == [0]
    assert two_views(data, "0,image") == (0, 2)
    assert choose_views(data, "0,1,2") == [0, 1, 2]
    with pytest.raises(ValueError, match="two view"):
        two_views(data, "0")
    with pytest.raises(ValueError, match="distinct views"):
        two_views(data, "1,text")
