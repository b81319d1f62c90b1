"""JULE at scale: planted clusters, n = 10k, two views (150 + 100 dims), K = 10, reference defaults.

Prints the fit's wall time split into forward passes (k-NN + agglomeration) and the rest (training),
peak resident memory, ACC, the periods run, and the memory estimate at n = 10k and 23k (the latter for
the benchmark's dims and for the coco_all shape 2048 + 300).

    .venv/bin/python benchmarks/jule_scale.py [--n 10000] [--dims 150,100] [--k 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import torch

from mvbench.data import MultiViewDataset
from mvbench.methods import jule
from mvbench.metrics import evaluate


def planted(n: int, dims: list[int], k: int, seed: int = 0) -> MultiViewDataset:
    """Gaussian clusters in a 16-d latent space seen through one noisy linear map per view."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    latent = 1.5 * rng.normal(size=(k, 16))[y] + rng.normal(size=(n, 16))
    views = [(latent @ rng.normal(size=(16, d)) / 4 + rng.normal(size=(n, d))).astype(np.float32) for d in dims]
    return MultiViewDataset(views, [f"v{i}" for i in range(len(dims))], labels=y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dims", default="150,100")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dims = [int(d) for d in args.dims.split(",")]
    data = planted(args.n, dims, args.k, args.seed)

    forward_seconds = 0.0
    timed_forward = jule.forward_pass

    def forward_pass(*a, **kw):  # time the clustering side of every period
        nonlocal forward_seconds
        t0 = time.perf_counter()
        out = timed_forward(*a, **kw)
        forward_seconds += time.perf_counter() - t0
        return out

    jule.forward_pass = forward_pass
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; torch threads {args.threads}")
    t0 = time.perf_counter()
    result = jule.JULE().fit_predict(data, args.k, args.seed)
    seconds = time.perf_counter() - t0
    cfg = jule.JULEConfig()
    print(
        f"n = {args.n}, dims = {dims}, K = {args.k}: {seconds:.1f} s (forward passes {forward_seconds:.1f} s, "
        f"training and the rest {seconds - forward_seconds:.1f} s), peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    print(
        f"ACC {evaluate(data.labels, result.labels)['acc']:.3f}; periods {result.info['iterations']:.0f}, "
        f"epochs {result.info['epochs']:.0f}, clusters per period {[h['n_clusters'] for h in result.history]}, "
        f"final pass periods {result.info['final_pass_periods']:.0f}"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for n, shape in dict.fromkeys([(args.n, tuple(dims)), (23_000, tuple(dims)), (23_000, (2048, 300))]):
        print(
            f"memory estimate n = {n}, dims {shape}: {jule.JULE.memory_estimate(cfg, n, list(shape)) / 2**30:.2f} GiB"
        )


if __name__ == "__main__":
    main()
