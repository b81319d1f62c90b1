"""MFLVC, GCFAgg, CVCL, SCMVC: each loss against hand-computed values on tiny batches, the presets,
the reference's batching, the attention's S, the records per epoch and determinism under a seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import blobs

from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.methods import cvcl, gcfagg, mflvc, scmvc
from mvbench.methods._contrastive_mvc import (
    cluster_contrastive,
    entropy_gap,
    epoch_batches,
    paired_contrastive,
    resolve_preset,
    self_weighted_contrastive,
    view_weights,
)
from mvbench.metrics import evaluate

EYE = torch.eye(2)
METHODS = {"mflvc": mflvc.MFLVC, "gcfagg": gcfagg.GCFAgg, "cvcl": cvcl.CVCL, "scmvc": scmvc.SCMVC}


def test_paired_contrastive_hand_computed():
    # each row: positive score 1, two negatives 0 -> -log(e / (e + 2))
    assert float(paired_contrastive(EYE, EYE, 1.0)) == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    # identical samples: every score 1, a row's positive among three equal logits -> log 3
    same = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert float(paired_contrastive(same, same, 1.0)) == pytest.approx(math.log(3), abs=1e-6)
    # tau 0.5 doubles the scores
    assert float(paired_contrastive(EYE, EYE, 0.5)) == pytest.approx(math.log(1 + 2 * math.exp(-2)), abs=1e-6)


def test_structure_guided_contrastive_scales_only_the_negatives_by_one_minus_s():
    same = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    s = torch.tensor([[0.2, 0.8], [0.6, 0.4]])
    # rows of sample 0 (h_0 and c_0): negatives are the other sample in both halves, scaled by 1 - S[0, 1]
    # = 0.2; rows of sample 1 by 1 - S[1, 0] = 0.4; positives stay at 1
    expected = (math.log(1 + 2 * math.exp(-0.8)) + math.log(1 + 2 * math.exp(-0.6))) / 2
    got = gcfagg.structure_guided_contrastive(same, same, s, 1.0)
    assert float(got) == pytest.approx(expected, abs=1e-6)
    # S = 0 is MFLVC's plain feature loss
    assert float(gcfagg.structure_guided_contrastive(same, same, torch.zeros(2, 2), 1.0)) == pytest.approx(
        math.log(3), abs=1e-6
    )


def test_cluster_contrastive_cosine_and_dot_product():
    qa = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    # cosine: columns (2,0)->(1,0) and (0,1): as the identity -> log(1 + 2/e)
    assert float(cluster_contrastive(qa, EYE, 1.0, cosine=True)) == pytest.approx(math.log(1 + 2 / math.e), abs=1e-6)
    # dot products: column 1's pair scores 2, column 2's scores 1, all negatives 0
    expected = (math.log(1 + 2 * math.exp(-2)) + math.log(1 + 2 * math.exp(-1))) / 2
    assert float(cluster_contrastive(qa, EYE, 1.0, cosine=False)) == pytest.approx(expected, abs=1e-6)


def test_entropy_gap_hand_computed():
    assert float(entropy_gap(torch.full((4, 3), 1 / 3))) == pytest.approx(0.0, abs=1e-7)
    q = torch.tensor([[0.9, 0.1], [0.5, 0.5]])  # cluster mass (0.7, 0.3)
    expected = math.log(2) + 0.7 * math.log(0.7) + 0.3 * math.log(0.3)
    assert float(entropy_gap(q)) == pytest.approx(expected, abs=1e-6)


def test_self_weighted_contrastive_leaves_the_positive_out_of_its_denominator():
    # h = r = I_3, tau 0.5: positive score 2, the two others 0 -> -log(e^2 / 2) per row
    assert float(self_weighted_contrastive(torch.eye(3), torch.eye(3), 0.5)) == pytest.approx(math.log(2) - 2, abs=1e-6)
    # h = I_2, r = [[1,0],[1,0]]: row 1 scores (1, 1) -> -log(e / e); row 2 scores (0, 0) -> -log(1 / 1)
    r = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert float(self_weighted_contrastive(EYE, r, 1.0)) == pytest.approx(0.0, abs=1e-6)


def test_view_weights_are_the_mmd_softmax_of_the_reference():
    h = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    w = view_weights([h, -h], h)  # MMD 0 and ||(-1,0) - (1,0)||^2 = 4
    assert w.tolist() == pytest.approx([1 / (1 + math.exp(-4)), math.exp(-4) / (1 + math.exp(-4))], abs=1e-6)
    # the reference's sum-of-similarity-matrices form gives the same weights
    gen = torch.Generator().manual_seed(0)
    rs = [torch.nn.functional.normalize(torch.randn(7, 4, generator=gen), dim=1) for _ in range(3)]
    hh = torch.nn.functional.normalize(torch.randn(7, 4, generator=gen), dim=1)
    mmd = torch.stack([((r @ r.T).sum() + (hh @ hh.T).sum() - 2 * (r @ hh.T).sum()) / 49 for r in rs])
    torch.testing.assert_close(view_weights(rs, hh), torch.exp(-mmd) / torch.exp(-mmd).sum())


def test_cvcl_sharpening_entropy_and_assignment_contrast_hand_computed():
    p = torch.tensor([[0.8, 0.2], [0.4, 0.6]])
    # f = (1.2, 0.8); row 1: (0.64/1.2, 0.04/0.8) renormalised; row 2: (0.16/1.2, 0.36/0.8)
    r1, r2 = np.array([0.64 / 1.2, 0.04 / 0.8]), np.array([0.16 / 1.2, 0.36 / 0.8])
    t = np.stack([r1 / r1.sum(), r2 / r2.sum()])
    np.testing.assert_allclose(cvcl.sharpen(p).numpy(), t, atol=1e-6)
    mass = t.sum(0) / 2
    assert float(cvcl.negative_entropy(p)) == pytest.approx(float((mass * np.log(mass)).sum()), abs=1e-6)
    # uniform assignments stay uniform; their columns (1/2, 1/2) all score 1/2 by dot product: log 3
    u = torch.full((2, 2), 0.5)
    assert float(cvcl.assignment_contrastive(u, u, 1.0, cosine=False)) == pytest.approx(math.log(3), abs=1e-6)
    # one-hot assignments: sharpened unchanged, as the identity
    assert float(cvcl.assignment_contrastive(EYE, EYE, 1.0, cosine=True)) == pytest.approx(
        math.log(1 + 2 / math.e), abs=1e-6
    )


def test_mflvc_pseudo_labels_are_matched_to_the_current_predictions():
    pseudo = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([2, 2, 0, 0, 1, 1])
    np.testing.assert_array_equal(mflvc.matched_targets(pseudo, predicted, 3), predicted)
    # one disagreement does not change the one-to-one matching
    np.testing.assert_array_equal(mflvc.matched_targets(pseudo, np.array([2, 1, 0, 0, 1, 1]), 3), [2, 2, 0, 0, 1, 1])


def test_batches_drop_the_last_incomplete_one_as_the_reference_loader():
    gen = torch.Generator().manual_seed(0)
    parts = epoch_batches(600, 256, gen)
    assert [len(p) for p in parts] == [256, 256] and len(torch.cat(parts).unique()) == 512
    assert [len(p) for p in epoch_batches(210, 256, gen)] == [210]  # smaller than a batch: one of all


def test_presets_by_dataset_name_and_explicit_values_win():
    cfg, name = resolve_preset(mflvc.MFLVCConfig(), mflvc.PRESETS, "bdgp2v")
    assert name == "bdgp2v" and cfg.contrastive_epochs == 10 and cfg.normalization == "none" and cfg.batch_size == 256
    cfg, name = resolve_preset(mflvc.MFLVCConfig(contrastive_epochs=3), mflvc.PRESETS, "bdgp2v")
    assert cfg.contrastive_epochs == 3
    cfg, name = resolve_preset(cvcl.CVCLConfig(), cvcl.PRESETS, "digits")
    assert name == "generic" and cfg.batch_size == 100 and cfg.normalization == "minmax" and cfg.pretrain_epochs == 200
    cfg, _ = resolve_preset(cvcl.CVCLConfig(preset="handwritten"), cvcl.PRESETS, "digits")
    assert cfg.cosine is True and cfg.batch_size == 200 and cfg.label_weight == 0.005
    cfg, _ = resolve_preset(scmvc.SCMVCConfig(), scmvc.PRESETS, "synthetic3d")
    assert cfg.contrastive_epochs == 100 and cfg.feature_dim == 64 and cfg.high_feature_dim == 20


def test_gcfagg_attention_rows_are_distributions_and_carry_gradients():
    torch.manual_seed(0)
    net = gcfagg.build_network([5, 4], [8], 6, 3, 7, 0.1)
    xs = [torch.randn(9, 5), torch.randn(9, 4)]
    net.eval()
    hs, _, c, s = net(xs)
    assert s.shape == (9, 9) and c.shape == (9, 3)
    torch.testing.assert_close(s.sum(1), torch.ones(9))
    net.train()
    hs, _, c, s = net(xs)
    gcfagg.structure_guided_contrastive(hs[0], c, s, 0.5).backward()
    assert net.aggregate.qkv.weight.grad is not None and net.aggregate.qkv.weight.grad.abs().sum() > 0


def _fit(name, data, seed=0, **params):
    cls = METHODS[name]
    return cls(**{**cls.quick_params, "device": "cpu", **params}).fit_predict(data.without_labels(), 3, seed)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_records_per_epoch_and_same_result_under_a_seed(name):
    data = blobs(n=120, k=3, dims=(10, 6, 5))
    result = _fit(name, data, seed=4)
    cls = METHODS[name]
    stages = [h["stage"] for h in result.history]
    q = cls.quick_params
    expected = [0.0] * q["pretrain_epochs"] + [1.0] * q["contrastive_epochs"] + [2.0] * q.get("tune_epochs", 0)
    assert stages == expected
    assert len(result.label_history) == q["contrastive_epochs"] + q.get("tune_epochs", 0)
    assert result.info["label_history_first_epoch"] == q["pretrain_epochs"]
    assert all(h["epoch_seconds"] >= 0 for h in result.history)
    np.testing.assert_array_equal(result.labels, result.label_history[-1])
    again = _fit(name, data, seed=4)
    np.testing.assert_array_equal(result.labels, again.labels)
    assert [h["loss"] for h in result.history] == [h["loss"] for h in again.history]


@pytest.mark.parametrize("name", sorted(METHODS))
def test_recovers_well_separated_clusters(name):
    # the label heads (mflvc, cvcl) need a trained autoencoder and more steps than the smoke settings
    more = {"pretrain_epochs": 30, "contrastive_epochs": 30, "batch_size": 30} if name in ("mflvc", "cvcl") else {}
    data = blobs(n=150, k=3, dims=(12, 8))
    assert evaluate(data.labels, _fit(name, data, seed=1, **more).labels)["acc"] > 0.9


def test_preset_follows_the_dataset_card():
    data = blobs(n=60, k=3, dims=(4, 3))
    named = MultiViewDataset(data.views, data.view_names, labels=data.labels, card=DatasetCard(name="bdgp2v"))
    params = {k: v for k, v in mflvc.MFLVC.quick_params.items() if k != "contrastive_epochs"}
    result = mflvc.MFLVC(**params, device="cpu").fit_predict(named.without_labels(), 3, 0)
    assert [h["stage"] for h in result.history].count(1.0) == 10  # bdgp2v's 10 contrastive epochs
