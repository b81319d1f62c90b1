"""Cost of running all four JECL variants against one, thanks to the shared pretraining cache.

Runs ``jecl`` alone (cold cache), then the three ablations with the same run context as the runner
gives them (one shared seed and cache folder), and prints the ratio total / first.

    nice -n 10 .venv/bin/python benchmarks/jecl_variants.py [--n 2000] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from jecl_scale import coco_like


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from mvbench.method import RunContext
    from mvbench.methods.jecl import JECL, JECLNoAlign, JECLNoAlignReg, JECLNoReg

    context = RunContext(data_seed=1234, cache_dir=Path(tempfile.mkdtemp(prefix="jecl-variants-")))

    data = coco_like(args.n, args.k)
    times = {}
    for seed, cls in enumerate((JECL, JECLNoAlign, JECLNoReg, JECLNoAlignReg)):
        method = cls(context=context)
        start = time.perf_counter()
        info = method.fit_predict(data, args.k, seed=seed).info
        times[cls.__name__] = (time.perf_counter() - start, info["pretrain_cached_image"], info["epochs"])
    for name, (sec, cached, epochs) in times.items():
        print(f"{name:16s} {sec:7.1f} s  pretraining cached={bool(cached)}  epochs={epochs:.0f}")
    first = times["JECL"][0]
    total = sum(t for t, _, _ in times.values())
    print(f"all four {total:.1f} s vs one {first:.1f} s: {total / first:.2f}x")


if __name__ == "__main__":
    main()
