"""Stacked denoising autoencoder (DEC's initialisation) with an on-disk cache of pretrained weights.

Architecture (Xie et al. 2016, sec. 3.2): encoder d-500-500-2000-10 (configurable), ReLU after
every layer except the embedding; the decoder mirrors it, ReLU everywhere except the reconstruction.

Schedule (on pre-extracted features epochs replace DEC's iterations):

1. Greedy layer-wise pretraining: layer pair i (encoder layer i, decoder layer i) learns to
   reconstruct its input h_{i-1} (the output of the already trained encoder layers, clean) from a
   copy corrupted by dropout (rate ``dropout``, default 0.2), for ``layer_epochs`` epochs (10).
2. End-to-end fine-tuning of the whole autoencoder, no corruption, for ``finetune_epochs`` epochs (30).

Length (a deviation from DEC, which trains 50,000 iterations per layer and 100,000 of fine-tuning
at batch 256 on 70,000 MNIST digits). A fixed iteration count is a different amount of training at
every n: on cub10's 600 points DEC's counts are ~21,000 passes over the data per layer, and these
autoencoders memorise the points (reconstruction MSE 0.45 -> 0.004) while K-means on the embedding,
and JECL after it, collapse (issue 14: 300 iterations per layer -> JECL ACC 0.73, 50,000 -> 0.15).
The length is therefore counted in *epochs* (passes over the data; :func:`schedule_steps` gives the
gradient steps, linear in n). The number is still the original, unprincipled 10 + 30: a choice made
without the evaluation sets (``benchmarks/pretrain_schedule.py`` on ``SCHEDULE_DEVELOPMENT_SETS``,
msrc_v1 and orl, one-standard-error rule) picked 30 + 90, and on cub10 that is worse than 10 + 30
(JECL ACC 0.60 against 0.68, DEC on the image view 0.62 against 0.71; benchmarks/results.md,
section 1), so it was not adopted. K-means accuracy on the embedding oscillates from one fine-tuning
epoch to the next (cub10 image view, one seed: 0.54-0.74 between epochs 100 and 300), so a length
picked on other sets need not transfer; held-out reconstruction error is no guide either (it keeps
falling after clustering quality peaks, branch ``pretrain``).

Loss: mean squared reconstruction error. Deviations from DEC, for few-epoch training on features:
Adam (lr 1e-3) instead of SGD lr 0.1 with step decay (``optimizer="sgd"`` restores SGD, momentum
0.9), PyTorch's default initialisation instead of Gaussian(0, 0.01), and no dropout on hidden units.

Cache: the trained weights are stored under ``<cache dir>/sdae/`` (the run context's cache folder:
``$MVBENCH_CACHE_DIR``, else ``<mvbench data dir>/cache``; not cached outside a grid) keyed by the
sha256 of the exact training matrix (after the method's normalisation, observed rows only), the view
label, the settings and the seed. Files are written to a temporary name and moved into place with
``os.replace``, so parallel workers never read a partial file; two workers missing the same key at
once both train and the last rename wins (same weights).

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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

#: The development sets of benchmarks/pretrain_schedule.py (choosing a length without the evaluation
#: sets' labels); none is an evaluation set of the JECL/DEC tables (cub10, wikipedia, web_news,
#: handwritten, digits).
SCHEDULE_DEVELOPMENT_SETS = ("msrc_v1", "orl")


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

    def __post_init__(self) -> None:
        if self.embedding_dim < 1 or any(h < 1 for h in self.hidden):
            raise ValueError("layer sizes must be positive")
        if self.layer_epochs < 0 or self.finetune_epochs < 0 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs must be >= 0, batch_size >= 1 and lr > 0")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"unknown pretraining optimizer {self.optimizer!r}: use adam or sgd")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(len(self.enc_layers)):
            x = self.encode_layer(i, x)
        for i in reversed(range(len(self.dec_layers))):
            x = self.decode_layer(i, x)
        return x


def cache_key(x: np.ndarray, view: str, settings: PretrainSettings, seed: int, device: str = "cpu") -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    facts = {"shape": list(x.shape), "view": view, "settings": asdict(settings), "seed": int(seed), "version": 1}
    if device != "cpu":
        facts["device"] = device
    h.update(json.dumps(facts, sort_keys=True).encode())
    return h.hexdigest()[:32]


def pretrained_encoder(
    x: np.ndarray,
    view: str,
    settings: PretrainSettings,
    seed: int,
    cache_root: Path | None = None,
    device: torch.device | None = None,
) -> tuple[nn.Sequential, dict[str, float]]:
    """An encoder initialised by a stacked denoising autoencoder pretrained on ``x`` on ``device`` (the CPU
    by default), cached under ``<cache_root>/sdae`` (None: not cached); the encoder returned is on the CPU.

    Returns the encoder and facts to log: ``cached`` (1.0 on a cache hit), ``seconds``, ``recon_mse``,
    ``iterations`` (gradient steps of the schedule, :func:`schedule_steps`).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    dims = [x.shape[1], *settings.hidden, settings.embedding_dim]
    device = torch.device("cpu") if device is None else device
    key = cache_key(x, view, settings, seed, device.type)
    path = None if cache_root is None else cache_root / "sdae" / f"{key}.pt"
    steps = float(schedule_steps(len(x), len(dims) - 1, settings))
    start = time.perf_counter()
    if path is not None and path.exists():
        try:
            blob = torch.load(path, weights_only=True, map_location="cpu")
            model = StackedAutoencoder(dims)
            model.load_state_dict(blob["state"])
            return model.encoder(), {
                "cached": 1.0,
                "seconds": time.perf_counter() - start,
                "recon_mse": float(blob["recon_mse"]),
                "iterations": steps,
            }
        except Exception:  # an unreadable entry is retrained and replaced
            pass
    model, mse = train_autoencoder(x, dims, settings, seed, device)
    if path is not None:
        _atomic_save({"state": model.state_dict(), "recon_mse": mse}, path)
    return model.encoder(), {
        "cached": 0.0,
        "seconds": time.perf_counter() - start,
        "recon_mse": mse,
        "iterations": steps,
    }


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
    """Gradient steps of the schedule on ``n`` rows: (n_layers * layer_epochs + finetune_epochs) * ceil(n / batch)."""
    return (n_layers * settings.layer_epochs + settings.finetune_epochs) * -(-n // settings.batch_size)


def train_autoencoder(
    x: np.ndarray, dims: list[int], settings: PretrainSettings, seed: int, device: torch.device | None = None
) -> tuple[StackedAutoencoder, float]:
    """Greedy layer-wise denoising pretraining, then end-to-end fine-tuning (see module doc), on ``device``
    (the CPU by default)."""
    device = torch.device("cpu") if device is None else device
    gen = torch.Generator().manual_seed(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = StackedAutoencoder(dims).to(device)
    data = torch.from_numpy(x).to(device)
    h = data
    for i in range(len(dims) - 1):
        params = [*model.enc_layers[i].parameters(), *model.dec_layers[i].parameters()]
        _fit(
            lambda b, i=i: model.decode_layer(i, model.encode_layer(i, _corrupt(b, settings.dropout, gen))),
            h,
            params,
            settings.layer_epochs,
            settings,
            gen,
        )
        with torch.no_grad():
            h = model.encode_layer(i, h)
    _fit(model, data, list(model.parameters()), settings.finetune_epochs, settings, gen)
    with torch.no_grad():
        mse = float(torch.mean((model(data) - data) ** 2))
    return model, mse


def _corrupt(x: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    if rate == 0:
        return x
    keep = torch.bernoulli(torch.full_like(x, 1.0 - rate, device="cpu"), generator=gen).to(x.device)
    return x * keep / (1.0 - rate)


def _fit(
    forward,
    data: torch.Tensor,
    params: list[torch.Tensor],
    epochs: int,
    settings: PretrainSettings,
    gen: torch.Generator,
) -> None:
    if epochs == 0:
        return
    opt = (
        torch.optim.Adam(params, lr=settings.lr)
        if settings.optimizer == "adam"
        else torch.optim.SGD(params, lr=settings.lr, momentum=0.9)
    )
    n = data.shape[0]
    for _ in range(epochs):
        for idx in torch.randperm(n, generator=gen).split(settings.batch_size):
            batch = data[idx.to(data.device)]
            loss = torch.mean((forward(batch) - batch) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
