"""JULE: hand-computed affinities and merge criterion, exact merge updates, schedule, planted clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mvbench.config import ConfigError, build_config
from mvbench.data import MultiViewDataset
from mvbench.methods.jule import (
    JULE,
    Agglomeration,
    JULEConfig,
    cluster_to_k,
    forward_pass,
    initial_clusters,
    knn,
    merges_scheduled,
    renorm_rows,
    sample_affinity,
    torch7_sgd,
    triplet_loss,
)
from mvbench.metrics import evaluate


def planted(
    n_per: int = 60, k: int = 4, dims: tuple[int, ...] = (20, 12), sep: float = 3.0, seed: int = 0
) -> MultiViewDataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n_per)
    views = [(rng.normal(size=(k, d))[y] * sep + rng.normal(size=(len(y), d))).astype(np.float32) for d in dims]
    return MultiViewDataset(views, [f"v{i}" for i in range(len(dims))], labels=y)


def tiny_graph(k_c: int = 2, kc_min_clusters: int = 0) -> Agglomeration:
    """Four samples, two neighbours each; clusters C0 = {0, 1}, C1 = {2}, C2 = {3}.

    W[0,1] = .9, W[0,2] = .5; W[1,0] = .8, W[1,2] = .4; W[2,0] = .6, W[2,3] = .3; W[3,2] = .7, W[3,1] = .2
    """
    neighbours = np.array([[1, 2], [0, 2], [0, 3], [2, 1]])
    weights = np.array([[0.9, 0.5], [0.8, 0.4], [0.6, 0.3], [0.7, 0.2]])
    features = np.array([[0.0], [1.0], [2.0], [5.0]])
    return Agglomeration(features, neighbours, weights, np.array([0, 0, 1, 2]), k_c, 1.0, kc_min_clusters)


def test_knn_and_sample_affinity_hand_computed():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    idx, d2 = knn(x, 2)
    np.testing.assert_array_equal(idx, [[1, 2], [0, 2], [1, 0], [2, 1]])
    np.testing.assert_allclose(d2, [[1, 9], [1, 4], [4, 9], [16, 36]], atol=1e-4)
    # sigma^2 = mean of the squared neighbour distances = 80 / 8 = 10
    np.testing.assert_allclose(
        sample_affinity(d2), np.exp(-np.array([[1, 9], [1, 4], [4, 9], [16, 36]]) / 10), rtol=1e-4
    )


def test_initial_clusters_are_nearest_neighbour_components():
    x = np.array([[0.0], [1.0], [10.0], [11.0], [13.0], [30.0], [31.5]])  # 1-NN: 0<->1, 2<->3<-4, 5<->6
    labels = initial_clusters(knn(x, 2)[0])
    assert len(np.unique(labels)) == 3
    assert labels[0] == labels[1] and labels[2] == labels[3] == labels[4] and labels[5] == labels[6]


def test_cluster_affinity_hand_computed():
    g = tiny_graph()
    # A(C0,C1): 1^T W_{C0,C1} W_{C1,C0} 1 = (W02 + W12)(W20 + W21) = .9 * .6 = .54, / |C0|^2 = 4
    #          1^T W_{C1,C0} W_{C0,C1} 1 = W20 W02 + W21 W12 = .30, / |C1|^2 = 1
    assert g.affinity(0, 1) == pytest.approx(0.54 / 4 + 0.30)
    assert g.affinity(1, 0) == pytest.approx(0.435)
    assert g.affinity(1, 2) == pytest.approx(0.3 * 0.7 + 0.7 * 0.3)  # W23 W32 both ways
    assert g.affinity(0, 2) == 0.0  # no two-step path C0 -> C2 -> C0 nor C2 -> C0 -> C2


def test_merge_criterion_hand_computed():
    g = tiny_graph(k_c=2)
    # score = A1 + a/(K_c-1) sum_{k=2..K_c} (A1 - A_k); C0: (.435, 0), C1: (.435, .42), C2: (.42, 0)
    assert g.score(0) == pytest.approx((0.435 + 0.435, 1))
    assert g.score(1) == pytest.approx((0.435 + 0.015, 0))
    assert g.score(2) == pytest.approx((0.42 + 0.42, 1))
    assert g.best_pair() == (0, 1)
    g3 = tiny_graph(k_c=3)  # C1: .435 + (.015 + .435) / 2
    assert g3.score(1)[0] == pytest.approx(0.435 + (0.015 + 0.435) / 2)
    plain = tiny_graph(k_c=3, kc_min_clusters=3)  # K_c term off while <= 3 clusters: score = A1
    assert plain.score(2)[0] == pytest.approx(0.42)


def test_merge_updates_affinity_exactly():
    g = tiny_graph()
    s = g.merge(0, 1)
    assert g.n_clusters == 2 and sorted(g.members[s].tolist()) == [0, 1, 2]
    # S = {0,1,2}: (W03 + W13 + W23)(W30 + W31 + W32) = .3 * .9 = .27, / 9; C2 -> S -> C2: W32 W23 = .21
    # (the reference's fast update, which drops the cross term, would give .21 / 9 + .21)
    assert g.affinity(s, 2) == pytest.approx(0.27 / 9 + 0.21)
    assert g.affinity(2, s) == pytest.approx(0.27 / 9 + 0.21)


def test_incremental_affinities_match_recomputation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 5))
    idx, d2 = knn(x, 6)
    w = sample_affinity(d2)
    g = Agglomeration(x, idx, w, initial_clusters(idx), k_c=5, a=1.0, kc_min_clusters=10)
    g.run(g.n_clusters - 4)
    fresh = Agglomeration(x, idx, w, g.labels, k_c=5, a=1.0, kc_min_clusters=10)
    ids = np.unique(g.labels)  # fresh numbers clusters 0..3 in the order of the old ids
    for a in range(len(ids)):
        for b in range(len(ids)):
            if a != b:
                assert g.affinity(ids[a], ids[b]) == pytest.approx(fresh.affinity(a, b), rel=1e-9, abs=1e-12)


def test_merges_follow_the_schedule():
    assert merges_scheduled(1000, 10, 0.9) == 900
    assert merges_scheduled(100, 10, 0.9) == 90
    assert merges_scheduled(15, 10, 0.9) == 5  # capped at n_c - K
    assert merges_scheduled(10, 10, 0.9) == 0
    assert merges_scheduled(33, 3, 0.2) == math.ceil(0.2 * 33)
    x = np.vstack([planted(n_per=50).views[0]])
    cfg = JULEConfig(eta=0.5)
    labels, facts = forward_pass(x, None, 4, cfg)
    start = int(facts["n_clusters"])
    assert 4 < start <= 20 * 4  # no isolated-cluster absorption below 20 K clusters
    merged, facts = forward_pass(x, labels, 4, cfg)
    assert len(np.unique(merged)) == facts["n_clusters"] == start - math.ceil(0.5 * start)
    assert set(np.unique(merged)) == set(range(len(np.unique(merged))))
    # every merged cluster is a union of initial clusters (agglomeration never splits)
    assert all(len(np.unique(merged[labels == c])) == 1 for c in np.unique(labels))


def test_fit_history_follows_the_schedule():
    data = planted(n_per=40, k=3)
    result = JULE(hidden=[32], embedding_dim=16, epochs_per_period=1, eta=0.6).fit_predict(data, 3, seed=0)
    counts = [h["n_clusters"] for h in result.history]
    assert counts[-1] == 3 and result.info["converged"] == 1.0 and result.info["iterations"] == len(counts)
    for h, (before, after) in zip(result.history[1:], zip(counts, counts[1:])):
        start = before - h["isolated_merged"]
        assert after == start - merges_scheduled(int(start), 3, 0.6)
    assert all("loss" in h for h in result.history[:-1]) and "loss" not in result.history[-1]


def test_triplet_loss_hand_computed():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], requires_grad=True)
    y = torch.tensor([0, 0, 1, 2])
    gen = torch.Generator().manual_seed(0)
    # one pair (0, 1), squared distance 2; C_b = 3 clusters: 2 negatives, points 2 (distance 4) and 3 (2)
    loss, count = triplet_loss(z, y, 20, 0.2, 1.0, gen)
    assert count == 2 and float(loss.detach()) == pytest.approx((0 + 0.2) / 2)
    loss2, _ = triplet_loss(z, y, 20, 0.2, 2.0, gen)  # gamma = 2: max(0, 4 - 4 + .2), max(0, 4 - 2 + .2)
    assert float(loss2.detach()) == pytest.approx((0.2 + 2.2) / 2)
    loss2.backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert triplet_loss(z, y, 1, 0.2, 1.0, gen)[1] == 1  # n_negatives caps the draw
    assert triplet_loss(z, torch.tensor([0, 1, 2, 3]), 20, 0.2, 1.0, gen) is None


def test_negatives_per_pair_are_capped_by_the_clusters_in_the_batch():
    y = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])  # 3 + 6 + 3 = 12 pairs, C_b - 1 = 2 negatives each
    z = torch.nn.functional.normalize(torch.randn(10, 4, generator=torch.Generator().manual_seed(1)), dim=1)
    assert triplet_loss(z, y, 20, 0.2, 1.0, torch.Generator().manual_seed(0))[1] == 12 * 2


@pytest.mark.parametrize("gamma", [1.0, 1.5, 2.0])
def test_reference_backward_scales_the_positive_and_negative_gradients_by_gamma_minus_one(gamma):
    # one triplet: anchor 0, positive 1, negative 2; the hinge is active
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    y = torch.tensor([0, 0, 1])
    grads = []
    for reference in (False, True):
        z = base.clone().requires_grad_(True)
        loss, _ = triplet_loss(z, y, 20, 0.2, gamma, torch.Generator().manual_seed(0), reference)
        loss.backward()
        grads.append(z.grad)
    correct, reference = grads
    # anchor: d/dz0 [gamma (2 - 2 z0.z1) - (2 - 2 z0.z2)] = -2 gamma z1 + 2 z2, unchanged by the option
    torch.testing.assert_close(correct[0], torch.tensor([1.2, 1.6 - 2 * gamma]))
    torch.testing.assert_close(reference[0], correct[0])
    torch.testing.assert_close(reference[1:], (gamma - 1) * correct[1:])


def test_sgd_step_is_torch7s_hand_computed():
    # Torch 7 optim.sgd, weightDecay 0.01, momentum 0.9, dampening = momentum, lr 0.1, x = (1, -2):
    # step 1, grad (.5, .5): g = grad + .01 x = (.51, .48); v = g; x = (.949, -2.048)
    # step 2, grad (1, -1): g = (1.00949, -1.02048); v = .9 v + .1 g = (.559949, .329952);
    #                       x = (.8930051, -2.0809952)
    x = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = torch7_sgd([x], JULEConfig(lr=0.1, weight_decay=0.01))
    for grad, expected in (([0.5, 0.5], [0.949, -2.048]), ([1.0, -1.0], [0.8930051, -2.0809952])):
        x.grad = torch.tensor(grad, dtype=torch.float64)
        opt.step()
        torch.testing.assert_close(x.detach(), torch.tensor(expected, dtype=torch.float64))
    # without dampening (torch.optim.SGD's default) the second step would give v = (1.46849, -.58848)
    assert opt.param_groups[0]["dampening"] == 0.9


def test_a_parameter_without_gradient_still_decays_and_keeps_its_momentum():
    x = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = torch7_sgd([x], JULEConfig(lr=0.1, weight_decay=0.5))
    opt.step()  # gradient 0 (no triplet): g = .5 x = .5, v = .5, x = 1 - .05
    torch.testing.assert_close(x.detach(), torch.tensor([0.95], dtype=torch.float64))


def test_renorm_rows_clips_norms_at_one():
    np.testing.assert_allclose(
        renorm_rows(np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])), [[0.6, 0.8], [0.3, 0.4], [0, 0]]
    )


def test_agglomeration_alone_recovers_planted_clusters():
    data = planted(n_per=60, k=4)
    x = np.hstack(data.views)
    labels, periods = cluster_to_k(x / np.linalg.norm(x, axis=1, keepdims=True), 4, JULEConfig())
    assert len(np.unique(labels)) == 4 and periods >= 2
    assert evaluate(data.labels, labels)["acc"] >= 0.95


def test_jule_recovers_planted_clusters_and_is_seeded():
    data = planted(n_per=60, k=4, sep=1.2, seed=2)
    method = JULE(hidden=[64], embedding_dim=32, epochs_per_period=5)
    result = method.fit_predict(data, 4, seed=0)
    assert evaluate(data.labels, result.labels)["acc"] >= 0.9
    assert result.info["final_clusters"] == 4
    np.testing.assert_array_equal(result.labels, method.fit_predict(data, 4, seed=0).labels)


def test_memory_estimate_grows_with_n_and_fits_23k():
    cfg = JULEConfig()
    small, large = (JULE.memory_estimate(cfg, n, [2048, 300]) for n in (10_000, 23_000))
    assert small < large < 4 * 2**30  # 23k x (2048 + 300): well under the 24 GiB machine
    graph_dicts = 23_000 * 20 * (28 + 36 + 3 * 120)
    assert large > 23_000 * 2348 * 16 + graph_dicts


def test_config_validation():
    for bad in ({"eta": 0.0}, {"eta": 1.5}, {"k_s": 0}, {"batch_size": 1}, {"margin": -1.0}):
        with pytest.raises(ConfigError, match=f"^jule: .*{next(iter(bad))}"):
            build_config(JULEConfig, bad, owner="jule")
