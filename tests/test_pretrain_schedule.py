"""The DEC/JECL pretraining schedule: its length as a function of n, determinism, how it was chosen."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvbench.methods.autoencoder import SCHEDULE_DEVELOPMENT_SETS, PretrainSettings, schedule_steps, train_autoencoder
from mvbench.methods.deep_clustering import DeepClusteringConfig

EVALUATION_SETS = {"cub10", "wikipedia", "web_news", "handwritten", "digits"}


def test_schedule_steps_hand_computed():
    s = PretrainSettings(layer_epochs=10, finetune_epochs=30, batch_size=256)
    assert schedule_steps(600, 4, s) == (4 * 10 + 30) * 3  # 600 rows: 3 batches per epoch
    assert schedule_steps(2866, 4, s) == 70 * 12
    assert schedule_steps(256, 4, s) == 70 and schedule_steps(257, 4, s) == 140


def test_schedule_is_counted_in_epochs():
    """Passes over the data are fixed, so the number of gradient steps grows linearly with n."""
    s = DeepClusteringConfig().pretrain_settings()
    per_pass = 4 * s.layer_epochs + s.finetune_epochs
    for n in (512, 1024, 4096):
        assert schedule_steps(n, 4, s) == per_pass * n // 256
    assert schedule_steps(4096, 4, s) == 8 * schedule_steps(512, 4, s)


def test_method_and_autoencoder_defaults_agree():
    """The method config hands the autoencoder its own defaults (the cache key sees the latter)."""
    cfg = DeepClusteringConfig()
    s = PretrainSettings()
    assert (cfg.pretrain_layer_epochs, cfg.pretrain_finetune_epochs) == (s.layer_epochs, s.finetune_epochs)
    assert cfg.pretrain_settings() == s


def test_schedule_chosen_without_the_evaluation_sets():
    assert SCHEDULE_DEVELOPMENT_SETS and EVALUATION_SETS.isdisjoint(SCHEDULE_DEVELOPMENT_SETS)


@pytest.mark.parametrize("n", [100, 300])
def test_optimizer_steps_match_schedule(n, monkeypatch):
    counter = {"steps": 0}
    step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        counter["steps"] += 1
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    s = PretrainSettings(hidden=(8, 8), embedding_dim=3, layer_epochs=2, finetune_epochs=3, batch_size=64)
    x = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32)
    train_autoencoder(x, [6, 8, 8, 3], s, seed=0)
    assert counter["steps"] == schedule_steps(n, 3, s) == (3 * 2 + 3) * -(-n // 64)


def test_training_is_deterministic_per_seed():
    s = PretrainSettings(hidden=(8,), embedding_dim=2, layer_epochs=2, finetune_epochs=2, batch_size=32)
    x = np.random.default_rng(1).normal(size=(90, 5)).astype(np.float32)
    a, mse_a = train_autoencoder(x, [5, 8, 2], s, seed=3)
    b, mse_b = train_autoencoder(x, [5, 8, 2], s, seed=3)
    c, _ = train_autoencoder(x, [5, 8, 2], s, seed=4)
    assert mse_a == mse_b
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.state_dict().values(), c.state_dict().values()))


def test_fit_reports_pretraining_steps_and_clustering_cap(tmp_path):
    from mvbench.data import MultiViewDataset
    from mvbench.method import RunContext
    from mvbench.methods.deep_clustering import QUICK_PARAMS
    from mvbench.methods.jecl import JECL

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    views = [(rng.normal(size=(3, d))[y] * 4 + rng.normal(size=(300, d))).astype(np.float32) for d in (6, 4)]
    data = MultiViewDataset(views, ["image", "text"], labels=y)
    params = dict(QUICK_PARAMS, cache=True, device="cpu")
    context = RunContext(data_seed=5, cache_dir=tmp_path)
    method = JECL(**params, context=context)
    info = method.fit_predict(data, 3, seed=0).info
    expected = schedule_steps(300, 3, method.config.pretrain_settings())  # hidden [32, 32] + embedding: 3 layers
    assert info["pretrain_iterations_image"] == info["pretrain_iterations_text"] == expected
    assert info["max_iterations"] == QUICK_PARAMS["max_epochs"] * 2  # 300 rows: 2 batches of 256 per epoch
    again = JECL(**params, context=context).fit_predict(data, 3, seed=0).info
    assert again["pretrain_cached_image"] == 1.0 and again["pretrain_iterations_image"] == expected
