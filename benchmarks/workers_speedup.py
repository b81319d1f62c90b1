"""Speed-up of --workers 2 over 1 worker on a CPU-bound grid (target >= 1.6x on 2 cores).

The method burns a fixed amount of pure-Python CPU per cell (no BLAS threads, no I/O), so the
ratio shows how well the process executor and the single logging writer overlap. Both runs use
fresh stores and the same cells.

    python benchmarks/workers_speedup.py [--cells 24] [--work 12000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from mvbench import Capabilities, FitResult, Method, registry
from mvbench.record.tracking import Tracker
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


@dataclass
class SpinConfig:
    work: int = 3_000_000


class Spin(Method):
    """Spins the CPU for `work` loop iterations, then returns labels i mod K."""

    Config = SpinConfig
    capabilities = Capabilities(handles_missing=True)

    def fit_predict(self, data, n_clusters, seed):
        total = 0
        for i in range(self.config.work):
            total += i * i % 7
        return FitResult(labels=np.arange(data.n_samples) % n_clusters, info={"checksum": float(total % 1000)})


def timed_grid(workers: int, spec: GridSpec, tmp: str) -> float:
    tracker = Tracker(f"sqlite:///{tmp}/w{workers}.db", "speedup")
    grid = plan(spec)
    start = time.perf_counter()
    outcome = run_grid(grid, tracker, workers=workers, show_progress=False)
    assert outcome.counts["done"] == len(grid.cells), outcome.counts
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=24)
    parser.add_argument("--work", type=int, default=12_000_000)
    args = parser.parse_args()
    registry.methods().register("spin", Spin, replace_existing=True)
    spec = GridSpec(
        methods=[Entry("spin", {"work": args.work})],
        datasets=[Entry("synthetic", {"n_samples": 300})],
        repetitions=args.cells,
    )
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MVBENCH_DATA_DIR"] = tmp
        one = timed_grid(1, spec, tmp)
        two = timed_grid(2, spec, tmp)
    print(f"cells: {args.cells}, cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"1 worker:  {one:.2f} s")
    print(f"2 workers: {two:.2f} s")
    print(f"speed-up:  {one / two:.2f}x   (target >= 1.6x)")


if __name__ == "__main__":
    main()
