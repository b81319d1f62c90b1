"""Time and peak Python-heap memory of importing .mat files with mvbench.data.matlab.import_mat.

Usage: python benchmarks/mat_import.py [FILE.mat ...]   (default: $MVBENCH_RAW_DIR/mat/*.mat)
Prints one row per file: n, views, K, dense float32 size of the result, seconds, peak MiB.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

from mvbench.data.matlab import import_mat


def main(paths: list[Path]) -> None:
    print(f"{'file':24s} {'n':>6s} {'V':>3s} {'K':>4s} {'float32 MiB':>12s} {'seconds':>8s} {'peak MiB':>9s}")
    for path in paths:
        tracemalloc.start()
        start = time.perf_counter()
        data = import_mat(path)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        size = sum(x.nbytes for x in data.views) / 2**20
        print(
            f"{path.name:24s} {data.n_samples:6d} {data.n_views:3d} {data.n_clusters or 0:4d} {size:12.1f} "
            f"{seconds:8.2f} {peak:9.1f}"
        )


if __name__ == "__main__":
    args = [Path(p) for p in sys.argv[1:]]
    if not args:
        args = sorted((Path(os.environ.get("MVBENCH_RAW_DIR", "../shared/data")) / "mat").glob("*.mat"))
    main(args)
