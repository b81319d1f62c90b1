"""DXMC: each loss term against hand-computed values, the entropy term's effect, neighbours, views, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import blobs

from mvbench.data import MultiViewDataset
from mvbench.methods.dxmc import (
    DXMC,
    DXMCConfig,
    cluster_contrastive,
    dxmc_terms,
    epochs_for,
    instance_contrastive,
    mean_entropy,
    nearest_neighbors,
    unit_rows,
)
from mvbench.metrics import evaluate

EYE = torch.eye(2)
SWAP = torch.tensor([[0.0, 1.0], [1.0, 0.0]])


def test_cluster_contrastive_hand_computed():
    # identical assignments: each column's positive has cosine 1, its two negatives cosine 0 (tau 0.5)
    assert float(cluster_contrastive(EYE, EYE, 0.5)) == pytest.approx(math.log(1 + 2 * math.exp(-2)), abs=1e-6)
    # swapped clusters: the positive has cosine 0, one negative cosine 1 -> -log(1 / (1 + 1 + e^2))
    assert float(cluster_contrastive(EYE, SWAP, 0.5)) == pytest.approx(math.log(2 + math.exp(2)), abs=1e-6)
    # columns are L2-normalised: scaling a column changes nothing
    assert float(cluster_contrastive(torch.tensor([[3.0, 0.0], [0.0, 0.5]]), EYE, 0.5)) == pytest.approx(
        math.log(1 + 2 * math.exp(-2)), abs=1e-6
    )


def test_instance_contrastive_hand_computed_uses_raw_dot_products():
    z = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    # tau 1: rows 1 (z and u) have positive score 2 and negatives 0, 0; rows 2 have 1 and 0, 0
    expected = (math.log(1 + 2 * math.exp(-2)) + math.log(1 + 2 * math.exp(-1))) / 2
    assert float(instance_contrastive(z, EYE, 1.0)) == pytest.approx(expected, abs=1e-6)
    # tau 0.05 on unit vectors: scores 20 against 0
    assert float(instance_contrastive(EYE, EYE, 0.05)) == pytest.approx(math.log(1 + 2 * math.exp(-20)), abs=1e-7)
    # three pairs, pair 3 mismatched (u_3 = z_1): per row -log(e^pos / sum over the 5 other rows)
    z3, u3 = torch.eye(3), torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    e = math.e
    rows = [
        math.log(2 + 3 / e),  # z1: pos u1 = 1; z2, z3, u2 score 0, u3 = e1 scores 1
        math.log(1 + 4 / e),  # z2: pos u2 = 1; the rest 0
        math.log(5),  # z3: everything 0
        math.log(2 + 3 / e),  # u1: as z1
        math.log(1 + 4 / e),  # u2: as z2
        math.log(3 + 2 * e),
    ]  # u3: pos z3 = 0; z1 and u1 score 1, z2 and u2 0
    assert float(instance_contrastive(z3, u3, 1.0)) == pytest.approx(sum(rows) / 6, abs=1e-6)


def test_mean_entropy_hand_computed():
    assert float(mean_entropy(torch.tensor([[1.0, 0.0], [0.5, 0.5]]))) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), abs=1e-6
    )
    assert float(mean_entropy(torch.full((4, 5), 0.2))) == pytest.approx(math.log(5), abs=1e-6)
    assert float(mean_entropy(torch.tensor([[1.0, 0.0, 0.0]] * 3))) == pytest.approx(0.0, abs=1e-6)


def test_total_loss_pairs_each_head_with_the_other_modalitys_neighbours():
    # image assignments EYE meet the text neighbours' EYE, text assignments SWAP the image neighbours' SWAP;
    # pairing the wrong way round would give 2 log(2 + e^2)
    terms = dxmc_terms(EYE, SWAP, SWAP, EYE, EYE, EYE, DXMCConfig())
    assert float(terms["cluster"]) == pytest.approx(2 * math.log(1 + 2 * math.exp(-2)), abs=1e-6)
    assert float(terms["instance"]) == pytest.approx(math.log(1 + 2 * math.exp(-20)), abs=1e-7)
    assert float(terms["entropy"]) == pytest.approx(2 * math.log(2), abs=1e-6)
    assert float(terms["loss"]) == pytest.approx(
        float(terms["cluster"]) + float(terms["instance"]) - 5 * float(terms["entropy"]), abs=1e-5
    )


def test_a_descent_step_on_the_loss_raises_the_entropy_of_the_mean_assignment():
    logits = torch.tensor([[2.0, 0.0], [1.0, 0.0]], requires_grad=True)  # both rows lean to cluster 1
    q = torch.tensor([[0.6, 0.4], [0.2, 0.8]])
    # a huge cluster temperature flattens the contrastive term, leaving the entropy term's gradient
    dxmc_terms(logits.softmax(1), q, q, q, EYE, EYE, DXMCConfig(cluster_temperature=1e3))["loss"].backward()
    with torch.no_grad():
        before = float(mean_entropy(logits.softmax(1)))
        assert float(mean_entropy((logits - 0.1 * logits.grad).softmax(1))) > before + 1e-3


def test_nearest_neighbors_exclude_self_and_rank_by_inner_product():
    angles = torch.tensor([0.0, 0.1, 0.3, 3.0, 3.05])
    x = torch.stack([angles.cos(), angles.sin()], 1)
    nn = nearest_neighbors(x, 2, chunk=2)  # chunks must not shift the self-exclusion
    assert nn.tolist() == [[1, 2], [0, 2], [1, 0], [4, 2], [3, 2]]


def test_entropy_term_prevents_collapse_on_planted_clusters():
    data = blobs(n=160, k=4, dims=(12, 8), names=("image", "text"))
    # z-scored input (the planted blobs collapse without the entropy term there; L2 rows of the raw blobs keep
    # them apart by direction alone)
    params = dict(instance_dim=32, n_neighbors=5, batch_size=32, epochs=40, normalization="zscore")
    used = {}
    for weight in (5.0, 0.0):
        runs = [DXMC(entropy_weight=weight, **params).fit_predict(data, 4, seed).labels for seed in range(3)]
        used[weight] = [len(np.unique(labels)) for labels in runs]
        if weight:
            assert max(evaluate(data.labels, labels)["acc"] for labels in runs) > 0.95
    assert all(u < 4 for u in used[0.0]), "without the entropy term two planted clusters merge"
    assert sum(used[5.0]) > sum(used[0.0]) and used[5.0].count(4) >= 2


def test_views_roles_info_and_history():
    base = blobs(n=60, k=3, dims=(6, 5, 4))
    data = MultiViewDataset(base.views, ["text", "other", "image"], labels=base.labels)
    quick = dict(DXMC.quick_params, epochs=3)
    result = DXMC(**quick).fit_predict(data, 3, 0)
    assert (result.info["image_view"], result.info["text_view"]) == (2.0, 0.0)
    assert result.info["iterations"] == result.info["max_iterations"] == 3 and result.info["converged"] == 0.0
    assert len(result.history) == len(result.label_history) == 3
    assert set(result.history[0]) == {"cluster", "instance", "entropy", "loss"}
    np.testing.assert_array_equal(result.labels, result.label_history[-1])  # the image head after the last epoch
    assert result.labels.shape == (60,) and 0 <= result.labels.min() and result.labels.max() < 3
    other = DXMC(views="1,0", **quick).fit_predict(data, 3, 0)
    assert (other.info["image_view"], other.info["text_view"]) == (1.0, 0.0)
    unnamed = MultiViewDataset(base.views, ["a", "b", "c"], labels=base.labels)
    auto = DXMC(**quick).fit_predict(unnamed, 3, 0)
    assert (auto.info["image_view"], auto.info["text_view"]) == (0.0, 1.0)


def test_min_steps_adds_epochs_on_small_sets_only():
    cfg = DXMCConfig(min_steps=500)
    assert epochs_for(210, cfg) == 500  # one batch per epoch
    assert epochs_for(2000, cfg) == 167  # 3 batches per epoch: ceil(500 / 3)
    assert epochs_for(60_000, cfg) == 20  # 117 batches per epoch: the reference's 20 epochs already exceed it
    assert epochs_for(210, DXMCConfig()) == 20  # min_steps 0: the reference's budget
    data = blobs(n=60, k=3, dims=(6, 5), names=("image", "text"))
    result = DXMC(**dict(DXMC.quick_params, epochs=2, batch_size=32, min_steps=9)).fit_predict(data, 3, 0)
    assert result.info["steps"] == 9 and result.info["iterations"] == len(result.history) == 9  # 1 batch an epoch


def test_default_input_is_the_references_l2_rows_of_the_raw_features():
    assert DXMCConfig().normalization == "none"  # unit_rows then L2-normalises every row, as the reference
    x = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(x.numpy(), [[0.6, 0.8], [0.0, 0.0]])


def test_same_seed_same_run_other_seed_differs():
    data = blobs(n=90, k=3, dims=(6, 5), names=("image", "text"))
    quick = dict(DXMC.quick_params, epochs=3)
    a, b, c = (DXMC(**quick).fit_predict(data, 3, s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.history == b.history
    assert a.history != c.history


def test_memory_estimate_grows_with_data_and_counts_the_heads():
    cfg = DXMCConfig()
    small, large = DXMC.memory_estimate(cfg, 1000, [100, 50]), DXMC.memory_estimate(cfg, 100000, [100, 50])
    assert large > small > 0
    heads = 4 * 4 * (2 * 1000 * 1000 + 2 * 1000 * 1024)  # one 1000-d view: 2 d^2 + 2 d * 1024 weights, x4 (Adam)
    assert DXMC.memory_estimate(cfg, 10, [1000, 2]) > heads
