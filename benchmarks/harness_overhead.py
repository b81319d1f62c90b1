"""Harness overhead per cell: a 200-cell grid of a trivial method, logged to a fresh sqlite store.

Overhead = (wall time of the grid - time spent inside the method) / cells; it covers the condition,
imputation, metrics, memory sampling and MLflow logging (parent + child runs, params, metrics,
tags, two artifacts). Also times the resume pass (all 200 cells already done).

    python benchmarks/harness_overhead.py [--cells 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from mvbench import Capabilities, FitResult, Method, registry
from mvbench.data.sources import DataPaths
from mvbench.record.tracking import Tracker
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


class Trivial(Method):
    """Labels i mod K: no computation, so everything measured is harness."""

    capabilities = Capabilities(handles_missing=True)

    def fit_predict(self, data, n_clusters, seed):
        return FitResult(labels=np.arange(data.n_samples) % n_clusters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    args = parser.parse_args()
    registry.methods().register("trivial", Trivial, replace_existing=True)
    rates = [0.0, 0.1, 0.2, 0.3]
    spec = GridSpec(
        methods=[Entry("trivial")],
        datasets=[Entry("synthetic", {"n_samples": 500})],
        missing_rates=rates,
        repetitions=args.cells // len(rates),
    )
    with tempfile.TemporaryDirectory() as tmp:
        tracker = Tracker(f"sqlite:///{tmp}/mlflow.db", "overhead")
        grid = plan(spec, DataPaths.resolve(tmp))
        start = time.perf_counter()
        outcome = run_grid(grid, tracker, show_progress=False)
        wall = time.perf_counter() - start
        inside = sum(r.metrics["fit_seconds"] for r in outcome.ran)
        start = time.perf_counter()
        resumed = run_grid(plan(spec, DataPaths.resolve(tmp)), tracker, show_progress=False)
        resume_wall = time.perf_counter() - start
    n = len(outcome.ran)
    print(f"cells run:                 {n} ({outcome.counts})")
    print(f"grid wall time:            {wall:.2f} s")
    print(f"time inside the method:    {inside:.3f} s")
    print(f"harness overhead per cell: {(wall - inside) / n:.3f} s   (target < 0.3 s)")
    print(f"resume pass ({resumed.skipped_done} cells done): {resume_wall:.2f} s")


if __name__ == "__main__":
    main()
