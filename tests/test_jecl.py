"""JECL / DEC / cached autoencoder: hand-computed maths, invariants and behaviour on tiny data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mvbench.data import MultiViewDataset
from mvbench.method import RunContext
from mvbench.methods.clustering_losses import (
    align_labels,
    balance_regularizer,
    js_rows,
    kl_rows,
    student_t,
    target_distribution,
)
from mvbench.methods.dec import DEC
from mvbench.methods.deep_clustering import QUICK_PARAMS, _batch_terms
from mvbench.methods.jecl import JECL, JECLNoAlign, JECLNoAlignReg, JECLNoReg
from mvbench.metrics import evaluate


def blobs(n_per: int = 40, k: int = 3, seed: int = 0, missing_text: float = 0.0) -> MultiViewDataset:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n_per)
    image = rng.normal(size=(k, 12))[y] * 4 + rng.normal(size=(len(y), 12))
    text = rng.normal(size=(k, 8))[y] * 4 + rng.normal(size=(len(y), 8))
    mask = np.ones((len(y), 2), dtype=bool)
    mask[rng.random(len(y)) < missing_text, 1] = False
    text[~mask[:, 1]] = 0
    return MultiViewDataset([image.astype(np.float32), text.astype(np.float32)], ["image", "text"], mask=mask, labels=y)


def test_student_t_hand_computed():
    q = student_t(torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    assert torch.allclose(q, torch.tensor([[2 / 3, 1 / 3]]))  # kernels 1 and (1 + 1)^-1
    q2 = student_t(torch.tensor([[0.0]]), torch.tensor([[0.0], [1.0]]), alpha=2.0)  # (1 + 1/2)^-1.5
    k = 1.5**-1.5
    assert torch.allclose(q2, torch.tensor([[1 / (1 + k), k / (1 + k)]]))


def test_target_hand_computed():
    q = torch.tensor([[0.6, 0.4], [0.2, 0.8]])
    # f = (0.8, 1.2); row 1: (0.36/0.8, 0.16/1.2) = (0.45, 0.1333); row 2: (0.05, 0.5333)
    p = target_distribution(q)
    expected = torch.tensor(
        [
            [0.45 / (0.45 + 0.16 / 1.2), (0.16 / 1.2) / (0.45 + 0.16 / 1.2)],
            [0.05 / (0.05 + 0.64 / 1.2), (0.64 / 1.2) / (0.05 + 0.64 / 1.2)],
        ]
    )
    assert torch.allclose(p, expected, atol=1e-6)
    r = torch.tensor([[0.5, 0.5], [0.5, 0.5]])  # uniform rows are their own target
    assert torch.allclose(target_distribution(r), r, atol=1e-6)


def test_js_and_kl_hand_computed():
    q = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.3, 0.7]])
    r = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.3, 0.7]])
    kl_q = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    kl_r = math.log(1 / 0.75)
    expected = torch.tensor([math.log(2), 0.5 * kl_q + 0.5 * kl_r, 0.0])
    assert torch.allclose(js_rows(q, r), expected, atol=1e-6)
    assert torch.allclose(
        kl_rows(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.25, 0.75]])),
        torch.tensor([0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75)]),
        atol=1e-6,
    )


def test_regulariser_values_and_gradient():
    assert float(balance_regularizer(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))) == pytest.approx(0.0, abs=1e-6)
    assert float(balance_regularizer(torch.tensor([[1.0, 0.0, 0.0]] * 4))) == pytest.approx(math.log(3), abs=1e-5)
    q = torch.tensor([[0.9, 0.1], [0.7, 0.3]], requires_grad=True)  # mean (0.8, 0.2)
    reg = balance_regularizer(q)
    assert float(reg.detach()) == pytest.approx(0.8 * math.log(1.6) + 0.2 * math.log(0.4), abs=1e-6)
    reg.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0


def test_alignment_recovers_permuted_labelling():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 5, 200)
    mapping = np.array([3, 0, 4, 1, 2])  # cluster j of ref is cluster mapping[j] of other
    other = mapping[ref]
    other[:10] = rng.integers(0, 5, 10)  # a little noise
    perm = align_labels(ref, other, 5)
    assert np.array_equal(perm, mapping)


def _tiny_setup(captioned: torch.Tensor):
    torch.manual_seed(0)
    encoders = [nn.Sequential(nn.Linear(4, 3)), nn.Sequential(nn.Linear(5, 3))]
    centroids = [nn.Parameter(torch.randn(2, 3)), nn.Parameter(torch.randn(2, 3))]
    n = len(captioned)
    obs = [torch.ones(n, dtype=torch.bool), captioned]
    rows = [torch.cumsum(o.long(), 0) - 1 for o in obs]
    data = [torch.randn(n, 4), torch.randn(int(captioned.sum()), 5)]
    target = torch.softmax(torch.randn(n, 2), 1)
    return encoders, centroids, obs, rows, data, target


def test_gradients_reach_both_encoders_and_centroids():
    encoders, centroids, obs, rows, data, target = _tiny_setup(torch.ones(6, dtype=torch.bool))
    terms = _batch_terms(torch.arange(6), encoders, data, centroids, obs, rows, target, 1.0)
    (terms["kl"] + 0.1 * terms["js"] + 0.1 * terms["reg"]).backward()
    for module in encoders:
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    assert all(c.grad.abs().sum() > 0 for c in centroids)


def test_missing_caption_points_send_no_text_gradient():
    captioned = torch.tensor([True, True, False, False, True, False])
    encoders, centroids, obs, rows, data, target = _tiny_setup(captioned)
    uncaptioned = torch.tensor([2, 3, 5])
    terms = _batch_terms(uncaptioned, encoders, data, centroids, obs, rows, target, 1.0)
    (terms["kl"] + 0.1 * terms["js"] + 0.1 * terms["reg"]).backward()
    assert all(p.grad is None for p in encoders[1].parameters()) and centroids[1].grad is None
    assert all(p.grad.abs().sum() > 0 for p in encoders[0].parameters())
    assert float(terms["js"]) == 0.0
    # a mixed batch: the text side's loss only involves the captioned rows
    for p in [*encoders[1].parameters(), centroids[1]]:
        p.grad = None
    with torch.no_grad():
        mixed = _batch_terms(torch.arange(6), encoders, data, centroids, obs, rows, target, 1.0)
        only = _batch_terms(torch.tensor([0, 1, 4]), encoders, data, centroids, obs, rows, target, 1.0)
        q_text_mixed = float(mixed["kl"]) - float(kl_rows(target, student_t(encoders[0](data[0]), centroids[0])).mean())
        q_text_only = float(only["kl"]) - float(
            kl_rows(target[[0, 1, 4]], student_t(encoders[0](data[0][[0, 1, 4]]), centroids[0])).mean()
        )
    assert q_text_mixed == pytest.approx(q_text_only, abs=1e-6)


def test_same_seed_same_labels_and_no_collapse():
    data = blobs()
    a = JECL(**QUICK_PARAMS).fit_predict(data, 3, seed=7)
    b = JECL(**QUICK_PARAMS).fit_predict(data, 3, seed=7)
    assert np.array_equal(a.labels, b.labels)
    assert len(np.unique(a.labels)) == 3
    assert evaluate(data.labels, a.labels)["acc"] > 0.9
    assert a.history and set(a.history[0]) == {"kl", "js", "reg", "loss"}
    assert len(a.label_history) == len(a.history)


def test_missing_captions_cluster_all_points():
    data = blobs(missing_text=0.3)
    result = JECL(**QUICK_PARAMS).fit_predict(data, 3, seed=1)
    assert result.labels.shape == (data.n_samples,)
    assert evaluate(data.labels, result.labels)["acc"] > 0.9


def test_pretraining_cache_shared_by_variants_and_dec(tmp_path):
    data = blobs()
    params = dict(QUICK_PARAMS, cache=True)
    # the runner's method-independent seed; each method's own seed differs
    context = RunContext(data_seed=123, cache_dir=tmp_path)
    assert JECL(**params, context=context).fit_predict(data, 3, seed=1).info["pretrain_cached_image"] == 0.0
    for cls in (JECLNoAlign, JECLNoReg, JECLNoAlignReg):
        info = cls(**params, context=context).fit_predict(data, 3, seed=99).info
        assert info["pretrain_cached_image"] == 1.0 and info["pretrain_cached_text"] == 1.0
    dec = DEC(**params, view="image", context=context)
    assert dec.fit_predict(data, 3, seed=5).info["pretrain_cached_image"] == 1.0
    assert list(tmp_path.rglob("*.pt")) and not list(tmp_path.rglob("*.tmp"))
    # without a cache folder (a method used alone) nothing is cached
    alone = JECL(**params, context=RunContext(data_seed=123)).fit_predict(data, 3, seed=1)
    assert alone.info["pretrain_cached_image"] == 0.0


def test_ablation_defaults():
    assert (JECL().config.gamma, JECL().config.beta, JECL().config.lam) == (0.1, 0.1, 0.5)
    assert JECLNoAlign().config.gamma == 0.0 and JECLNoReg().config.beta == 0.0
    assert (JECLNoAlignReg().config.gamma, JECLNoAlignReg().config.beta) == (0.0, 0.0)


def test_dec_concatenates_a_list_of_views():
    data = blobs()
    info = DEC(**QUICK_PARAMS, view="text,image").fit_predict(data, 3, seed=0).info
    assert "pretrain_cached_text+image" in info
    with pytest.raises(ValueError, match="distinct views"):
        DEC(**QUICK_PARAMS, view="text,text").fit_predict(data, 3, seed=0)
