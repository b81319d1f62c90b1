"""JECL on a coco_cross-sized synthetic input (7429 x (2048 + 300), K = 10), pretraining included.

Prints fit time, the pretraining part of it, and peak resident memory. The cache is pointed at a
fresh temporary folder so the autoencoders are trained, not loaded.

    .venv/bin/python benchmarks/jecl_scale.py [--n 7429] [--threads 2] [--tol 0]

``--tol 0`` never stops on the label-change test, so the clustering phase runs all ``max_epochs``
(100): the worst case, since this synthetic input otherwise converges after one epoch.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from mvbench.data import MultiViewDataset
from mvbench.metrics import evaluate
from mvbench.run.cell import PeakMemory


def coco_like(n: int, k: int, seed: int = 0) -> MultiViewDataset:
    """Non-negative 'ResNet-like' 2048-d image features and dense 300-d 'Doc2Vec-like' text features."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    latent = rng.normal(size=(k, 32))[y] + 0.8 * rng.normal(size=(n, 32))
    image = np.maximum(latent @ rng.normal(size=(32, 2048)) / 4 + 0.5 * rng.normal(size=(n, 2048)), 0)
    text = latent @ rng.normal(size=(32, 300)) / 4 + 0.5 * rng.normal(size=(n, 300))
    return MultiViewDataset([image.astype(np.float32), text.astype(np.float32)], ["image", "text"], labels=y)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=7429)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tol", type=float, default=None, help="JECL's label-change tolerance (default: JECL's)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from mvbench.methods.jecl import JECL

    data = coco_like(args.n, args.k)
    with PeakMemory() as memory:
        start = time.perf_counter()
        jecl = JECL() if args.tol is None else JECL(tol=args.tol)
        result = jecl.fit_predict(data, args.k, seed=0)
        seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    pre = sum(v for k, v in result.info.items() if k.startswith("pretrain_seconds"))
    print(f"n={args.n} dims=2048+300 K={args.k} threads={args.threads}")
    print(
        f"fit {seconds:.1f} s (pretraining {pre:.1f} s, clustering {seconds - pre:.1f} s, "
        f"{result.info['epochs']:.0f} epochs, converged={bool(result.info['converged'])})"
    )
    print(f"process CPU time {cpu:.0f} s (= {cpu / args.threads:.0f} s wall on {args.threads} idle cores)")
    print(f"peak RSS {memory.peak_mb:.0f} MB; ACC {evaluate(data.labels, result.labels)['acc']:.3f}")


if __name__ == "__main__":
    main()
