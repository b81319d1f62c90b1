"""The DEC/JECL pretraining schedule: its length as a function of n, the consensus checkpoint rule,
determinism, how it was chosen."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvbench import registry
from mvbench.methods.autoencoder import (
    SCHEDULE_DEVELOPMENT_SETS,
    PretrainSettings,
    cache_key,
    checkpoint_epochs,
    consensus_checkpoint,
    schedule_steps,
    stage_lr,
    train_autoencoder,
)
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
    assert set(SCHEDULE_DEVELOPMENT_SETS) <= set(registry.datasets().names())


def count_adam_steps(monkeypatch) -> dict[str, int]:
    counter = {"steps": 0}
    step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        counter["steps"] += 1
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    return counter


def test_step_policy_hand_computed():
    """DEC's policy, x0.1 every 20,000 of 50,000 (layer) and of 100,000 (fine-tuning) iterations."""
    s = PretrainSettings(layer_epochs=10, finetune_epochs=30, lr=0.1, lr_schedule="step")
    layer = [stage_lr(s, "layer", e) for e in range(10)]
    assert layer == pytest.approx([0.1] * 4 + [0.01] * 4 + [0.001] * 2)
    finetune = [stage_lr(s, "finetune", e) for e in range(30)]
    assert finetune == pytest.approx([0.1 * 0.1**k for k in range(5) for _ in range(6)])
    constant = PretrainSettings(layer_epochs=10, finetune_epochs=30, lr=0.1)
    assert {stage_lr(constant, stage, e) for stage in ("layer", "finetune") for e in range(30)} == {0.1}


def test_optimizer_follows_the_step_policy(monkeypatch):
    """The rate each Adam step uses: one step per epoch here, two layer pairs of 5 epochs, 5 of fine-tuning."""
    rates: list[float] = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    s = PretrainSettings(
        hidden=(4,), embedding_dim=2, layer_epochs=5, finetune_epochs=5, batch_size=32, lr_schedule="step"
    )
    x = np.random.default_rng(0).normal(size=(32, 6)).astype(np.float32)
    train_autoencoder(x, [6, 4, 2], s, seed=0)
    layer = [1e-3, 1e-3, 1e-4, 1e-4, 1e-5]  # decays after 2 and 4 of 5 epochs (40 %, 80 %)
    assert rates == pytest.approx(layer + layer + [1e-3 * 0.1**k for k in range(5)])


@pytest.mark.parametrize("n", [100, 300])
def test_optimizer_steps_match_schedule(n, monkeypatch):
    counter = count_adam_steps(monkeypatch)
    s = PretrainSettings(hidden=(8, 8), embedding_dim=3, layer_epochs=2, finetune_epochs=3, batch_size=64)
    x = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32)
    train_autoencoder(x, [6, 8, 8, 3], s, seed=0)
    assert counter["steps"] == schedule_steps(n, 3, s) == (3 * 2 + 3) * -(-n // 64)


def planted(n: int = 240, k: int = 3, d: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n // k)
    return (rng.normal(size=(k, d))[y] * 3 + rng.normal(size=(n, d))).astype(np.float32)


def test_consensus_replays_up_to_the_kept_checkpoint(monkeypatch):
    """The kept autoencoder is exactly the one fine-tuned for the chosen number of epochs, and the replay
    costs just those epochs' steps on top of the schedule."""
    counter = count_adam_steps(monkeypatch)
    x = planted()
    common = dict(hidden=(16, 16), embedding_dim=3, layer_epochs=2, batch_size=64)
    s = PretrainSettings(**common, finetune_epochs=20, checkpoint_every=4, selection="consensus")
    model, facts = train_autoencoder(x, [6, 16, 16, 3], s, seed=0, n_clusters=3)
    chosen = int(facts["selected_epoch"])
    assert chosen in checkpoint_epochs(s) and -1 <= facts["agreement"] <= 1
    replay = chosen * 4 if chosen != 20 else 0  # 240 rows: 4 batches of 64 per epoch
    assert counter["steps"] == schedule_steps(240, 3, s) + replay
    last = PretrainSettings(**common, finetune_epochs=chosen, selection="last")
    same, same_facts = train_autoencoder(x, [6, 16, 16, 3], last, seed=0)
    for a, b in zip(model.state_dict().values(), same.state_dict().values()):
        assert torch.equal(a, b)
    assert same_facts["recon_mse"] == facts["recon_mse"] and "agreement" not in same_facts


def test_consensus_needs_the_number_of_clusters():
    with pytest.raises(ValueError, match="n_clusters"):
        settings = PretrainSettings(hidden=(4,), embedding_dim=2, selection="consensus")
        train_autoencoder(planted(), [6, 4, 2], settings, seed=0)


def test_default_keeps_the_last_of_30_epochs():
    """The schedule before issue 14 stays the default: the consensus rule was evaluated and not adopted."""
    s = PretrainSettings()
    assert (s.layer_epochs, s.finetune_epochs, s.selection) == (10, 30, "last")


def test_checkpoint_epochs_include_start_and_end():
    assert checkpoint_epochs(PretrainSettings(finetune_epochs=12, checkpoint_every=5)) == [0, 5, 10, 12]
    assert checkpoint_epochs(PretrainSettings(finetune_epochs=10, checkpoint_every=5)) == [0, 5, 10]
    assert checkpoint_epochs(PretrainSettings(finetune_epochs=0)) == [0]


def test_consensus_checkpoint_hand_computed():
    """ARI([0,0,1,1], [0,1,0,1]) = (0 - 2*2/6) / ((2+2)/2 - 2*2/6) = -0.5, so the two equal partitions score
    (1 - 0.5) / 2 = 0.25 each, the odd one (-0.5 - 0.5) / 2 = -0.5; the first of a tie wins."""
    a, b, c = np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]), np.array([0, 1, 0, 1])
    index, agreement = consensus_checkpoint([c, a, b])
    assert index == 1 and agreement == pytest.approx(0.25)
    assert consensus_checkpoint([a]) == (0, 1.0)


def test_consensus_checkpoint_is_the_medoid_not_a_swing():
    """Partitions drifting around a planted one, with swings: the medoid is one of the close ones."""
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 50)
    close = []
    for _ in range(6):
        p = truth.copy()
        flip = rng.choice(200, 10, replace=False)
        p[flip] = rng.integers(0, 4, 10)
        close.append(rng.permutation(4)[p])  # relabelled: agreement ignores label names
    swings = [rng.integers(0, 4, 200) for _ in range(3)]
    partitions = [swings[0], *close[:3], swings[1], *close[3:], swings[2]]
    index, agreement = consensus_checkpoint(partitions)
    assert index in (1, 2, 3, 5, 6, 7) and agreement > 0.5


def test_cache_key_holds_k_only_for_the_consensus_rule():
    x = planted()
    consensus = PretrainSettings(selection="consensus")
    assert cache_key(x, "v", consensus, 0, n_clusters=3) != cache_key(x, "v", consensus, 0, n_clusters=4)
    last = PretrainSettings()
    assert cache_key(x, "v", last, 0, n_clusters=3) == cache_key(x, "v", last, 0, n_clusters=4)


def test_training_is_deterministic_per_seed():
    s = PretrainSettings(
        hidden=(8,), embedding_dim=2, layer_epochs=2, finetune_epochs=4, batch_size=32, selection="consensus"
    )
    x = np.random.default_rng(1).normal(size=(90, 5)).astype(np.float32)
    a, facts_a = train_autoencoder(x, [5, 8, 2], s, seed=3, n_clusters=3)
    b, facts_b = train_autoencoder(x, [5, 8, 2], s, seed=3, n_clusters=3)
    c, _ = train_autoencoder(x, [5, 8, 2], s, seed=4, n_clusters=3)
    assert facts_a == facts_b
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
    params = dict(QUICK_PARAMS, cache=True, device="cpu", pretrain_selection="consensus", pretrain_checkpoint_every=2)
    context = RunContext(data_seed=5, cache_dir=tmp_path)
    method = JECL(**params, context=context)
    info = method.fit_predict(data, 3, seed=0).info
    expected = schedule_steps(300, 3, method.config.pretrain_settings())  # hidden [32, 32] + embedding: 3 layers
    assert info["pretrain_iterations_image"] == info["pretrain_iterations_text"] == expected
    assert info["max_iterations"] == QUICK_PARAMS["max_epochs"] * 2  # 300 rows: 2 batches of 256 per epoch
    assert info["pretrain_selected_epoch_image"] in checkpoint_epochs(method.config.pretrain_settings())
    assert "pretrain_agreement_text" in info
    again = JECL(**params, context=context).fit_predict(data, 3, seed=0).info
    assert again["pretrain_cached_image"] == 1.0 and again["pretrain_iterations_image"] == expected
    for fact in ("selected_epoch", "agreement", "recon_mse"):
        assert again[f"pretrain_{fact}_image"] == info[f"pretrain_{fact}_image"]
