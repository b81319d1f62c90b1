"""Stacked denoising autoencoder (DEC's initialisation) with an on-disk cache of pretrained weights.

Architecture (Xie et al. 2016, sec. 3.2): encoder d-500-500-2000-10 (configurable), ReLU after
every layer except the embedding; the decoder mirrors it, ReLU everywhere except the reconstruction.

Schedule (on pre-extracted features epochs replace DEC's iterations):

1. Greedy layer-wise pretraining: layer pair i (encoder layer i, decoder layer i) learns to
   reconstruct its input h_{i-1} (the output of the already trained encoder layers, clean) from a
   copy corrupted by dropout (rate ``dropout``, default 0.2), for ``layer_epochs`` epochs (10).
2. End-to-end fine-tuning of the whole autoencoder, no corruption, for ``finetune_epochs`` epochs
   (30); the last epoch is kept (``selection="last"``).

Length (a deviation from DEC, which trains 50,000 iterations per layer and 100,000 of fine-tuning
at batch 256 on 70,000 MNIST digits). A fixed iteration count is a different amount of training at
every n: on cub10's 600 points DEC's counts are ~21,000 passes over the data per layer, and these
autoencoders memorise the points (reconstruction MSE 0.45 -> 0.004) while K-means on the embedding,
and JECL after it, collapse (issue 14: 300 iterations per layer -> JECL ACC 0.73, 50,000 -> 0.15).
The length is therefore counted in *epochs* (passes over the data; :func:`schedule_steps` gives the
gradient steps, linear in n). The number is still the original 10 + 30: no rule chosen without the
evaluation sets has met issue 14's target on cub10, JECL ACC >= 0.72 with no JECL or DEC row worse
(benchmarks/results.md, section 1). Tried: a length picked on
development sets (30 + 90: cub10 JECL ACC 0.60 against 0.68), held-out reconstruction error (keeps
falling after clustering quality peaks), internal indices of the checkpoints' K-means partitions
(silhouette, Calinski-Harabasz, Davies-Bouldin, K-means restart agreement: none better than 30
epochs on the development sets), the consensus checkpoint below (cub10 JECL 0.66 with 10 + 150,
0.68 with 100 + 150), the three small development sets' best schedule, 100 + 150 with the last epoch kept
(cub10 JECL 0.718, DEC on the concatenation 0.756 against 0.779), DEC's step policy and solver, and a
length in gradient steps (300 per layer + 900). The three small development sets improve with longer
fine-tuning; the four larger ones, like cub10, do not, and over all seven 10 + 30 ties with the best
length measured, so it is also the development-chosen schedule (section 1's third attempt).

``selection="consensus"`` (an option, a deviation from DEC): a checkpoint after epoch 0 and every
``checkpoint_every`` (5) epochs of fine-tuning; K-means (K = the number of clusters asked for,
``CHECKPOINT_KMEANS_N_INIT`` restarts) partitions the embedding at each; the autoencoder kept is the
one of the checkpoint whose partition has the highest mean adjusted Rand index to all the others'
(the medoid of the run's partitions, :func:`consensus_checkpoint`). It is restored by replaying
fine-tuning up to that epoch from the same state, generator and optimiser (identical weights on the
CPU), so only the starting state is held, not a copy per checkpoint. It needs K, so the cache key
holds it.

Loss: mean squared reconstruction error. Deviations from DEC, for few-epoch training on features:
Adam (lr 1e-3) at a constant rate instead of SGD lr 0.1 with DEC's step policy (``optimizer="sgd"``,
``lr=0.1``, ``lr_schedule="step"`` restore DEC's solver: momentum 0.9, the rate x0.1 after 40 % and 80 %
of each layer's epochs and after every 20 % of fine-tuning's, :func:`stage_lr`), PyTorch's default
initialisation instead of Gaussian(0, 0.01), and no dropout on hidden units. The step policy does not
help at either length on the development sets, with Adam or SGD (benchmarks/results.md, section 1).

Cache: the trained weights are stored under ``<cache dir>/sdae/`` (the run context's cache folder:
``$MVBENCH_CACHE_DIR``, else ``<mvbench data dir>/cache``; not cached outside a grid) keyed by the
sha256 of the exact training matrix (after the method's normalisation, observed rows only), the view
label, the settings, the seed and K (consensus rule only). Files are written to a temporary name and
moved into place with ``os.replace``, so parallel workers never read a partial file; two workers
missing the same key at once both train and the last rename wins (same weights).

Device: pretraining runs on the ``device`` it is given (the CPU by default). The CPU's cache key is the
one above, unchanged; on CUDA the key also holds ``"device": "cuda"``, because CUDA kernels round
differently, so a CUDA-trained entry never serves a CPU run (and CPU results never depend on whether
a GPU run filled the cache first) and vice versa. The initial weights, corruption masks and batch
order come from CPU generators on every device; entries are loaded onto the CPU, then moved.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: The development sets of the pretraining benchmarks (choosing a schedule without the evaluation sets'
#: labels): every registered set that is not an evaluation set of the JECL/DEC tables. The first
#: attempts used the first three only (n <= 400, one or two batches per epoch), which favoured longer
#: schedules that the larger four do not (benchmarks/results.md, section 1).
SCHEDULE_DEVELOPMENT_SETS = ("msrc_v1", "orl", "3sources", "bbcsport", "reuters1200", "100leaves", "bdgp")

#: The evaluation sets of issue 14, which those benchmarks refuse to choose on.
SCHEDULE_EVALUATION_SETS = frozenset({"cub10", "wikipedia", "web_news", "handwritten", "digits"})


#: ``last``: keep the last fine-tuning epoch (the default); ``consensus``: keep the checkpoint whose K-means
#: partition agrees most with the others' (:func:`consensus_checkpoint`; an option, not adopted: module doc).
SELECTIONS = ("last", "consensus")

#: ``constant``: the learning rate ``lr`` throughout; ``step``: DEC's step policy, x0.1 after every
#: ``STEP_FRACTION`` of a stage (:func:`stage_lr`).
LR_SCHEDULES = ("constant", "step")

#: DEC divides the learning rate by 10 every 20,000 iterations: after 40 % and 80 % of a layer's 50,000,
#: after 20, 40, 60 and 80 % of fine-tuning's 100,000.
STEP_FRACTION = {"layer": Fraction(2, 5), "finetune": Fraction(1, 5)}

#: K-means restarts for the partition of each checkpoint.
CHECKPOINT_KMEANS_N_INIT = 10


@dataclass(frozen=True)
class PretrainSettings:
    """Architecture and training schedule of the stacked denoising autoencoder."""

    hidden: tuple[int, ...] = (500, 500, 2000)
    embedding_dim: int = 10
    layer_epochs: int = 10
    finetune_epochs: int = 30
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "adam"
    dropout: float = 0.2
    selection: str = "last"
    checkpoint_every: int = 5
    lr_schedule: str = "constant"

    def __post_init__(self) -> None:
        if self.embedding_dim < 1 or any(h < 1 for h in self.hidden):
            raise ValueError("layer sizes must be positive")
        if self.layer_epochs < 0 or self.finetune_epochs < 0 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs must be >= 0, batch_size >= 1 and lr > 0")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown pretraining optimizer {self.optimizer!r}: use adam or sgd")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")
        if self.selection not in SELECTIONS:
            raise ValueError(f"unknown checkpoint selection {self.selection!r}: use last or consensus")
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown learning-rate schedule {self.lr_schedule!r}: use constant or step")


class StackedAutoencoder(nn.Module):
    """Encoder ``dims[0] -> ... -> dims[-1]`` and its mirrored decoder."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        n = len(dims) - 1
        self.enc_layers = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(n))
        self.dec_layers = nn.ModuleList(nn.Linear(dims[i + 1], dims[i]) for i in range(n))

    def encode_layer(self, i: int, h: torch.Tensor) -> torch.Tensor:
        h = self.enc_layers[i](h)
        return h if i == len(self.enc_layers) - 1 else torch.relu(h)

    def decode_layer(self, i: int, h: torch.Tensor) -> torch.Tensor:
        h = self.dec_layers[i](h)
        return h if i == 0 else torch.relu(h)

    def encoder(self) -> nn.Sequential:
        """A standalone encoder sharing nothing with this module (safe to train further)."""
        mods: list[nn.Module] = []
        for i, layer in enumerate(self.enc_layers):
            copy = nn.Linear(layer.in_features, layer.out_features)
            copy.load_state_dict(layer.state_dict())
            mods.append(copy)
            if i < len(self.enc_layers) - 1:
                mods.append(nn.ReLU())
        return nn.Sequential(*mods)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(len(self.enc_layers)):
            x = self.encode_layer(i, x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encode(x)
        for i in reversed(range(len(self.dec_layers))):
            x = self.decode_layer(i, x)
        return x


def cache_key(
    x: np.ndarray, view: str, settings: PretrainSettings, seed: int, device: str = "cpu", n_clusters: int | None = None
) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    facts = {"shape": list(x.shape), "view": view, "settings": asdict(settings), "seed": int(seed), "version": 2}
    if settings.selection == "consensus":
        facts["n_clusters"] = n_clusters
    if device != "cpu":
        facts["device"] = device
    h.update(json.dumps(facts, sort_keys=True).encode())
    return h.hexdigest()[:32]


def pretrained_encoder(
    x: np.ndarray,
    view: str,
    settings: PretrainSettings,
    seed: int,
    n_clusters: int | None,
    cache_root: Path | None = None,
    device: torch.device | None = None,
) -> tuple[nn.Sequential, dict[str, float]]:
    """An encoder initialised by a stacked denoising autoencoder pretrained on ``x`` on ``device`` (the CPU
    by default), cached under ``<cache_root>/sdae`` (None: not cached); the encoder returned is on the CPU.
    ``n_clusters`` is the K of the checkpoints' K-means partitions (needed by ``selection="consensus"``).

    Returns the encoder and facts to log: ``cached`` (1.0 on a cache hit), ``seconds``, ``recon_mse``,
    ``iterations`` (gradient steps of the schedule, :func:`schedule_steps`), and the checkpoint kept:
    ``selected_epoch`` (fine-tuning epochs) and, for the consensus rule, ``agreement`` (its mean ARI to the
    other checkpoints).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    dims = [x.shape[1], *settings.hidden, settings.embedding_dim]
    device = torch.device("cpu") if device is None else device
    key = cache_key(x, view, settings, seed, device.type, n_clusters)
    path = None if cache_root is None else cache_root / "sdae" / f"{key}.pt"
    steps = float(schedule_steps(len(x), len(dims) - 1, settings))
    start = time.perf_counter()
    if path is not None and path.exists():
        try:
            blob = torch.load(path, weights_only=True, map_location="cpu")
            model = StackedAutoencoder(dims)
            model.load_state_dict(blob["state"])
            facts = {k: float(v) for k, v in blob["facts"].items()}
            return model.encoder(), {
                "cached": 1.0,
                "seconds": time.perf_counter() - start,
                **facts,
                "iterations": steps,
            }
        except Exception:  # an unreadable entry is retrained and replaced
            pass
    model, facts = train_autoencoder(x, dims, settings, seed, device, n_clusters)
    if path is not None:
        _atomic_save({"state": model.state_dict(), "facts": facts}, path)
    return model.encoder(), {"cached": 0.0, "seconds": time.perf_counter() - start, **facts, "iterations": steps}


def _atomic_save(blob: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(blob, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def schedule_steps(n: int, n_layers: int, settings: PretrainSettings) -> int:
    """Gradient steps of the schedule on ``n`` rows: (n_layers * layer_epochs + finetune_epochs) * ceil(n / batch).

    The consensus rule's replay up to the kept checkpoint (module doc) comes on top."""
    return (n_layers * settings.layer_epochs + settings.finetune_epochs) * -(-n // settings.batch_size)


def checkpoint_epochs(settings: PretrainSettings) -> list[int]:
    """The fine-tuning epochs after which a checkpoint is read: 0, every ``checkpoint_every``, and the last."""
    return sorted({*range(0, settings.finetune_epochs + 1, settings.checkpoint_every), settings.finetune_epochs})


def consensus_checkpoint(partitions: list[np.ndarray]) -> tuple[int, float]:
    """The index of the partition with the highest mean adjusted Rand index to all the others (the first
    on ties), and that mean; a single partition gives (0, 1.0)."""
    from sklearn.metrics import adjusted_rand_score

    m = len(partitions)
    if m == 1:
        return 0, 1.0
    agreement = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            agreement[i, j] = agreement[j, i] = adjusted_rand_score(partitions[i], partitions[j])
    mean = agreement.sum(1) / (m - 1)
    best = int(np.argmax(mean))
    return best, float(mean[best])


def train_autoencoder(
    x: np.ndarray,
    dims: list[int],
    settings: PretrainSettings,
    seed: int,
    device: torch.device | None = None,
    n_clusters: int | None = None,
) -> tuple[StackedAutoencoder, dict[str, float]]:
    """Greedy layer-wise denoising pretraining, then end-to-end fine-tuning with the checkpoint selection of
    ``settings.selection`` (see module doc), on ``device`` (the CPU by default).

    Returns the model and its facts: ``recon_mse``, ``selected_epoch`` and, for the consensus rule,
    ``agreement``."""
    device = torch.device("cpu") if device is None else device
    gen = torch.Generator().manual_seed(int(seed))
    model = initial_model(dims, seed, device)
    data = torch.from_numpy(x).to(device)
    pretrain_layers(model, data, settings, gen)
    facts: dict[str, float] = {"selected_epoch": float(settings.finetune_epochs)}
    if settings.selection == "last":
        finetune(model, data, settings, gen, settings.finetune_epochs)
    else:
        if n_clusters is None:
            raise ValueError("selection='consensus' needs n_clusters")
        chosen, agreement = _finetune_by_consensus(model, data, settings, gen, n_clusters, seed)
        facts = {"selected_epoch": float(chosen), "agreement": agreement}
    with torch.no_grad():
        facts["recon_mse"] = float(torch.mean((model(data) - data) ** 2))
    return model, facts


def initial_model(dims: list[int], seed: int, device: torch.device) -> StackedAutoencoder:
    """The autoencoder's initial weights, drawn on the CPU from ``seed``, moved to ``device``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return StackedAutoencoder(dims).to(device)


def pretrain_layers(
    model: StackedAutoencoder, data: torch.Tensor, settings: PretrainSettings, gen: torch.Generator
) -> None:
    """Step 1 of the schedule: greedy layer-wise denoising pretraining, ``layer_epochs`` per layer pair."""
    h = data
    for i in range(len(model.enc_layers)):
        params = [*model.enc_layers[i].parameters(), *model.dec_layers[i].parameters()]
        _fit(
            lambda b, i=i: model.decode_layer(i, model.encode_layer(i, _corrupt(b, settings.dropout, gen))),
            h,
            params,
            settings.layer_epochs,
            settings,
            gen,
            "layer",
        )
        with torch.no_grad():
            h = model.encode_layer(i, h)


def finetune(
    model: StackedAutoencoder,
    data: torch.Tensor,
    settings: PretrainSettings,
    gen: torch.Generator,
    epochs: int,
    checkpoints: Sequence[int] = (),
    on_checkpoint: Callable[[int], None] | None = None,
) -> None:
    """Step 2: ``epochs`` epochs of end-to-end reconstruction training (no corruption), calling
    ``on_checkpoint(e)`` after ``e`` epochs for each ``e`` in ``checkpoints``."""
    _fit(model, data, list(model.parameters()), epochs, settings, gen, "finetune", checkpoints, on_checkpoint)


def embed(model: StackedAutoencoder, data: torch.Tensor) -> np.ndarray:
    """The embedding of ``data`` (float64, on the CPU)."""
    with torch.no_grad():
        return model.encode(data).cpu().numpy().astype(np.float64)


def _finetune_by_consensus(
    model: StackedAutoencoder,
    data: torch.Tensor,
    settings: PretrainSettings,
    gen: torch.Generator,
    n_clusters: int,
    seed: int,
) -> tuple[int, float]:
    """Fine-tune ``finetune_epochs`` epochs reading a K-means partition of the embedding at every checkpoint,
    then put ``model`` in the state of the consensus checkpoint by replaying the same steps up to it.
    Returns (that checkpoint's epoch, its mean ARI to the others)."""
    from sklearn.cluster import KMeans

    start_state = {k: v.clone() for k, v in model.state_dict().items()}
    start_gen = gen.get_state()
    epochs = checkpoint_epochs(settings)
    partitions: list[np.ndarray] = []

    def read_checkpoint(_epoch: int) -> None:
        km = KMeans(n_clusters, n_init=CHECKPOINT_KMEANS_N_INIT, random_state=seed)
        partitions.append(km.fit(embed(model, data)).labels_)

    finetune(model, data, settings, gen, settings.finetune_epochs, epochs, read_checkpoint)
    best, agreement = consensus_checkpoint(partitions)
    chosen = epochs[best]
    if chosen != settings.finetune_epochs:  # replay: the same initial state, batches and Adam steps
        model.load_state_dict(start_state)
        gen.set_state(start_gen)
        finetune(model, data, settings, gen, chosen)
    return chosen, agreement


def stage_lr(settings: PretrainSettings, stage: str, epoch: int) -> float:
    """The learning rate of ``epoch`` (from 0) of ``stage``: ``lr`` under the constant schedule; under ``step``
    ``lr * 0.1**k`` after ``k`` whole ``STEP_FRACTION[stage]`` parts of the stage's full length (layer or
    fine-tuning epochs of ``settings``, so a replay up to an earlier checkpoint follows the same rates)."""
    length = settings.layer_epochs if stage == "layer" else settings.finetune_epochs
    if settings.lr_schedule == "constant" or length == 0:
        return settings.lr
    return settings.lr * 0.1 ** int(epoch / (STEP_FRACTION[stage] * length))


def _corrupt(x: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    if rate == 0:
        return x
    keep = torch.bernoulli(torch.full_like(x, 1.0 - rate, device="cpu"), generator=gen).to(x.device)
    return x * keep / (1.0 - rate)


def _fit(
    forward: Callable[[torch.Tensor], torch.Tensor],
    data: torch.Tensor,
    params: list[torch.Tensor],
    epochs: int,
    settings: PretrainSettings,
    gen: torch.Generator,
    stage: str,
    checkpoints: Sequence[int] = (),
    on_checkpoint: Callable[[int], None] | None = None,
) -> None:
    """``epochs`` epochs of mini-batch reconstruction training in ``stage`` (``layer`` or ``finetune``, for the
    learning rate: :func:`stage_lr`); ``on_checkpoint(e)`` runs after ``e`` epochs for each ``e`` in
    ``checkpoints`` (0 included: before the first)."""
    opt = (
        torch.optim.Adam(params, lr=settings.lr)
        if settings.optimizer == "adam"
        else torch.optim.SGD(params, lr=settings.lr, momentum=0.9)
    )
    n = data.shape[0]
    for epoch in range(epochs + 1):
        if on_checkpoint is not None and epoch in checkpoints:
            on_checkpoint(epoch)
        if epoch == epochs:
            return
        for group in opt.param_groups:
            group["lr"] = stage_lr(settings, stage, epoch)
        for idx in torch.randperm(n, generator=gen).split(settings.batch_size):
            batch = data[idx.to(data.device)]
            loss = torch.mean((forward(batch) - batch) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
