"""COMPLETER, DCP and DIVIDE: losses against hand-computed values, the references' networks, masks
respected (incomplete samples never enter a training loss), inference of missing views, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import blobs
from torch import nn

from mvbench.data.conditions import Condition
from mvbench.methods._contrastive_prediction import (
    QUICK_PARAMS,
    ContrastivePrediction,
    ContrastivePredictionConfig,
    autoencoder,
    entropy_weighted_contrastive,
    joint_distribution,
    predictor,
)
from mvbench.methods.completer import Completer
from mvbench.methods.dcp import DCP
from mvbench.methods.divide import DIVIDE, encoder, momentum_update, random_walk_target, target_contrastive

Z1 = torch.tensor([[0.8, 0.2], [0.3, 0.7]], dtype=torch.float64)
Z2 = torch.tensor([[0.6, 0.4], [0.1, 0.9]], dtype=torch.float64)


# -- losses ------------------------------------------------------------------------------------------
def test_joint_distribution_by_hand():
    # Z1'Z2 = [[.51, .59], [.19, .71]]; symmetrised [[.51, .39], [.39, .71]]; total 2
    expected = [[0.255, 0.195], [0.195, 0.355]]
    np.testing.assert_allclose(joint_distribution(Z1, Z2).numpy(), expected, atol=1e-12)


def test_entropy_weighted_contrastive_by_hand():
    p = {(0, 0): 0.255, (0, 1): 0.195, (1, 0): 0.195, (1, 1): 0.355}
    marg = [0.45, 0.55]  # row sums = column sums
    for w in (1.0, 10.0):
        expected = -sum(v * (math.log(v) - w * math.log(marg[j]) - w * math.log(marg[i])) for (i, j), v in p.items())
        assert entropy_weighted_contrastive(Z1, Z2, w).item() == pytest.approx(expected, rel=1e-12)


def test_entropy_weighted_contrastive_clamps_empty_codes():
    """A code no sample uses has P = 0: clamped at machine epsilon, the loss stays finite."""
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    assert math.isfinite(entropy_weighted_contrastive(z, z, 10.0).item())


def test_completer_and_dcp_weigh_the_marginals_alike():
    """COMPLETER's alpha = 9 enters as alpha + 1; DCP's alpha = 10 as is: the same loss."""
    assert Completer().marginal_weight() == DCP().marginal_weight() == 10.0


def test_target_contrastive_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)  # normalised: e1, e2
    k = torch.tensor([[3.0, 0.0], [1.0, 1.0]], dtype=torch.float64)  # normalised: e1, (e1 + e2)/sqrt 2
    tau = 0.5
    s = [[1 / tau, (1 / math.sqrt(2)) / tau], [0.0, (1 / math.sqrt(2)) / tau]]

    def nll(i, j):
        return -(s[i][j] - math.log(math.exp(s[i][0]) + math.exp(s[i][1])))

    eye = torch.eye(2, dtype=torch.float64)
    assert target_contrastive(q, k, eye, tau).item() == pytest.approx((nll(0, 0) + nll(1, 1)) / 4)
    target = torch.tensor([[1.0, 1.0], [0.0, 2.0]], dtype=torch.float64)  # row 0: half weight each
    expected = (0.5 * nll(0, 0) + 0.5 * nll(0, 1) + nll(1, 1)) / 4
    assert target_contrastive(q, k, target, tau).item() == pytest.approx(expected)


def test_random_walk_target_by_hand():
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)  # orthogonal: distance 2 - 2*0 = 2
    a = math.exp(-2 / 0.1)
    w = torch.tensor([[1, a], [a, 1]], dtype=torch.float64) / (1 + a)
    np.testing.assert_allclose(random_walk_target(t, 1, 0.1, 0.0).numpy(), w.numpy(), rtol=1e-12)
    expected = 0.5 * torch.eye(2, dtype=torch.float64) + 0.5 * w @ w @ w
    np.testing.assert_allclose(random_walk_target(t, 3, 0.1, 0.5).numpy(), expected.numpy(), rtol=1e-12)
    rows = random_walk_target(torch.randn(6, 3, dtype=torch.float64), 5, 0.1, 0.5).sum(dim=1)
    np.testing.assert_allclose(rows.numpy(), 1.0)


def test_momentum_update():
    target, online = [torch.ones(3)], [torch.zeros(3)]
    momentum_update(target, online, 0.98)
    np.testing.assert_allclose(target[0].numpy(), 0.98)


def test_divide_learning_rate_warms_up_per_step():
    method = DIVIDE(lr=2e-3, warmup_epochs=20)
    assert method.learning_rate(0.5) == pytest.approx(2e-3 * 0.5 / 20)
    assert method.learning_rate(25.0) == 2e-3


# -- the references' networks -------------------------------------------------------------------------
def kinds(seq: nn.Sequential) -> list[str]:
    return [type(m).__name__ for m in seq]


def test_autoencoder_matches_the_reference_layout():
    enc, dec = autoencoder([20, 16, 16, 8])
    assert kinds(enc) == ["Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear", "Softmax"]
    assert kinds(dec) == ["Linear", "BatchNorm1d", "ReLU"] * 3  # the output layer too
    assert [m.out_features for m in dec if isinstance(m, nn.Linear)] == [16, 16, 20]


def test_predictor_matches_the_reference_layout():
    net = predictor([8, 8, 16, 8])
    assert kinds(net) == ["Linear", "BatchNorm1d", "ReLU"] * 3 + ["Linear", "BatchNorm1d", "ReLU"] * 2 + [
        "Linear",
        "Softmax",
    ]
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [8, 16, 8, 16, 8, 8]


def test_divide_encoder_matches_the_reference_layout():
    net = encoder([20, 16, 16, 16, 8], 0.2)
    assert kinds(net) == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear", "BatchNorm1d", "ReLU"] + [
        "Linear",
        "BatchNorm1d",
    ]
    assert all(m.bias is None for m in net if isinstance(m, nn.Linear))
    assert not net[-1].affine


# -- batching ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "n", "sizes"),
    [
        (Completer, 600, [256, 256, 88]),  # COMPLETER keeps the last batch
        (Completer, 513, [256, 256]),  # ... unless it holds one sample (BatchNorm)
        (DCP, 600, [256, 256]),  # DCP drops it
        (DCP, 512, [256]),  # ... even when full (ceil(n / b) - 1 batches)
        (DCP, 100, [100]),  # ... but keeps one
    ],
)
def test_epoch_batches(cls, n, sizes):
    batches = cls().epoch_batches(n, torch.Generator().manual_seed(0))
    assert [len(b) for b in batches] == sizes
    assert len(torch.cat(batches).unique()) == sum(sizes)


# -- the multi-view loss and inference ------------------------------------------------------------------
def small_model(n_views: int, graph: str = "core") -> ContrastivePrediction:
    torch.manual_seed(0)
    config = ContrastivePredictionConfig(hidden=[16], latent_dim=4, predictor_hidden=[4, 8])
    model = ContrastivePrediction([5 + v for v in range(n_views)], config, 10.0, graph)
    model.net.double()
    return model


def test_core_view_loss_composition():
    """Three views, core graph: L_rec / (V-2), contrastive (view 0 with 1 at weight 1, with 2 at 0.1) /
    (V-1), both prediction directions per core pair / (V-1) (DCP's ``train_coreview``)."""
    model = small_model(3)
    xs = [torch.randn(12, 5 + v, dtype=torch.float64) for v in range(3)]
    total, terms = model.loss(xs, dual=True)
    zs = [enc(x) for enc, x in zip(model.encoders, xs)]
    cl = (entropy_weighted_contrastive(zs[0], zs[1], 10) + 0.1 * entropy_weighted_contrastive(zs[0], zs[2], 10)) / 2
    pre = sum(
        nn.functional.mse_loss(model.predictors[f"{a}_{b}"](zs[a]), zs[b]) for a, b in [(0, 1), (0, 2), (1, 0), (2, 0)]
    )
    assert sorted(model.predictors.keys()) == ["0_1", "0_2", "1_0", "2_0"]
    assert terms["contrastive"].item() == pytest.approx(cl.item())
    assert terms["dual_prediction"].item() == pytest.approx(pre.item() / 2)
    assert total.item() == pytest.approx((cl + 0.1 * terms["reconstruction"] + 0.1 * pre / 2).item())
    no_dual, _ = model.loss(xs, dual=False)
    assert no_dual.item() == pytest.approx((cl + 0.1 * terms["reconstruction"]).item())


def test_two_view_inference_predicts_the_missing_latent_from_the_other_view():
    model = small_model(2)
    xs = [torch.randn(6, 5 + v, dtype=torch.float64) for v in range(2)]
    observed = torch.tensor([[1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 1]], dtype=torch.bool)
    out = model.embed(xs, observed)
    model.net.eval()
    with torch.no_grad():
        z0, z1 = model.encoders[0](xs[0]), model.encoders[1](xs[1])
        np.testing.assert_allclose(out[observed[:, 0], :4], z0[observed[:, 0]].numpy())
        np.testing.assert_allclose(out[~observed[:, 0], :4], model.predictors["1_0"](z1[~observed[:, 0]]).numpy())
        np.testing.assert_allclose(out[~observed[:, 1], 4:], model.predictors["0_1"](z0[~observed[:, 1]]).numpy())


def test_core_view_inference():
    """Core view missing: the mean of the predictions from the observed views; another view missing:
    predicted from the (recovered) core latent."""
    model = small_model(3)
    xs = [torch.randn(3, 5 + v, dtype=torch.float64) for v in range(3)]
    observed = torch.tensor([[0, 1, 1], [0, 1, 0], [1, 0, 1]], dtype=torch.bool)
    out = model.embed(xs, observed)
    model.net.eval()
    with torch.no_grad():
        z = [enc(x) for enc, x in zip(model.encoders, xs)]
        p10, p20, p01 = (model.predictors[k] for k in ("1_0", "2_0", "0_1"))
        core0 = (p10(z[1][:1]) + p20(z[2][:1])) / 2
        np.testing.assert_allclose(out[0, :4], core0[0].numpy(), rtol=1e-10)
        core1 = p10(z[1][1:2])
        np.testing.assert_allclose(out[1, :4], core1[0].numpy(), rtol=1e-10)
        np.testing.assert_allclose(out[1, 8:], model.predictors["0_2"](core1)[0].numpy(), rtol=1e-10)
        np.testing.assert_allclose(out[2, 4:8], p01(z[0][2:3])[0].numpy(), rtol=1e-10)


# -- masks, determinism, the methods as a whole ----------------------------------------------------------
def incomplete(seed: int = 0):
    return Condition(0.4).apply(blobs(n=120, k=3, dims=(10, 7), names=("a", "b"), seed=seed), repetition=0)


METHODS = {
    "completer": lambda **kw: Completer(**{**QUICK_PARAMS, "device": "cpu", **kw}),
    "dcp": lambda **kw: DCP(**{**QUICK_PARAMS, "device": "cpu", **kw}),
    "divide": lambda **kw: DIVIDE(**{**DIVIDE.quick_params, "device": "cpu", **kw}),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_incomplete_samples_never_enter_training(name):
    """Changing the observed view of samples that miss another view changes no training loss: only
    complete samples are trained on (both references' rule)."""
    data = incomplete()
    views = [x.copy() for x in data.views]
    partial = ~data.mask.all(axis=1)
    assert partial.sum() > 10
    rng = np.random.default_rng(1)
    for v, x in enumerate(views):
        rows = partial & data.mask[:, v]
        x[rows] = rng.normal(0, 5, size=(rows.sum(), x.shape[1]))
    changed = type(data)(views, data.view_names, data.mask, data.labels, data.ids, data.card)
    normalization = "none"  # z-scoring would read the changed rows' statistics
    first = METHODS[name](normalization=normalization).fit_predict(data.without_labels(), 3, seed=0)
    second = METHODS[name](normalization=normalization).fit_predict(changed.without_labels(), 3, seed=0)
    assert first.history == second.history
    assert first.info["complete_samples"] == (~partial).sum()


@pytest.mark.parametrize("name", sorted(METHODS))
def test_same_seed_same_run_other_seed_other_run(name):
    data = incomplete().without_labels()
    a = METHODS[name](record_labels=True).fit_predict(data, 3, seed=5)
    b = METHODS[name](record_labels=True).fit_predict(data, 3, seed=5)
    c = METHODS[name]().fit_predict(data, 3, seed=6)
    assert a.history == b.history and len(a.history) == len(a.label_history) == METHODS[name]().config.epochs
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.history != c.history


def test_dcp_runs_three_views_with_both_graphs():
    data = Condition(0.4).apply(blobs(n=120, k=3, dims=(10, 7, 5), names=("a", "b", "c")), repetition=0)
    for graph in ("core", "complete"):
        result = METHODS["dcp"](graph=graph).fit_predict(data.without_labels(), 3, seed=0)
        assert result.labels.shape == (120,) and len(np.unique(result.labels)) > 1
    assert DCP(views="0,2").chosen_views(data) == [0, 2]
    with pytest.raises(ValueError, match="at least two views"):
        DCP(views="a").chosen_views(data)


def test_too_few_complete_samples_is_one_line():
    data = Condition(0.99).apply(blobs(n=60, k=3, dims=(4, 4), names=("a", "b")), repetition=0)
    with pytest.raises(ValueError, match="needs at least 2 samples"):
        METHODS["completer"]().fit_predict(data.without_labels(), 3, seed=0)
