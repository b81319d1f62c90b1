"""Throughput and per-cell overhead of each executor on one CPU-bound grid (issue 13).

The grid: km_concat (scikit-learn k-means, ``n_init`` restarts, one BLAS thread per cell) on a small
synthetic dataset with ``--cells`` seeds, run four ways on fresh sqlite stores: serial (this process,
threads capped to 1), the process executor (2 workers), Ray on a local instance (2 CPUs), and Ray on a
3-node local cluster (``ray.cluster_utils.Cluster``, 3 x 1 CPU on this machine's cores). For each:
wall time of ``run_grid`` (Ray start-up excluded, printed apart), cells/s, mean fit_seconds, and the
per-cell overhead = wall x cores used / cells - mean fit_seconds (core-seconds per cell not spent
fitting: start-up of workers, transfer, scheduling, logging), and a check that every cell is logged
done exactly once.

    nice -n 10 python benchmarks/executors.py [--cells 200] [--n-init 30] [--n-samples 600]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from mvbench.data.sources import DataPaths
from mvbench.record.tracking import Tracker
from mvbench.run.executors import Executor, ProcessExecutor, SerialExecutor, limit_threads
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import crashed_result, run_grid


def timed(name: str, make: Callable[[], Executor], slots: int, spec: GridSpec, tmp: str) -> dict[str, Any]:
    start = time.perf_counter()
    executor = make()
    startup = time.perf_counter() - start
    grid = plan(spec, DataPaths.resolve(tmp))
    tracker = Tracker(f"sqlite:///{tmp}/{name}.db", "executors")
    start = time.perf_counter()
    outcome = run_grid(grid, tracker, show_progress=False, executor=executor)
    wall = time.perf_counter() - start
    keys = [r.data.tags["mvbench.cell_key"] for r in tracker.cell_runs() if r.data.tags.get("mvbench.status") == "done"]
    once = len(keys) == len(set(keys)) == len(grid.cells)
    fit = sum(r.metrics["fit_seconds"] for r in outcome.ran) / len(outcome.ran)
    cores = min(slots, os.cpu_count() or 1)
    return {
        "executor": name,
        "startup": startup,
        "wall": wall,
        "cells_per_s": len(grid.cells) / wall,
        "fit": fit,
        "overhead": wall * cores / len(grid.cells) - fit,
        "once": once,
    }


def ray_local() -> Executor:
    from mvbench.run.ray_executor import RayExecutor

    return RayExecutor(None, crashed_result, num_cpus=2)


def ray_cluster() -> Executor:
    import ray
    from ray.cluster_utils import Cluster

    from mvbench.run.ray_executor import RayExecutor

    ray.shutdown()  # leave the local instance of the previous run
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
    return RayExecutor(cluster.address, crashed_result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--n-init", type=int, default=30)
    parser.add_argument("--n-samples", type=int, default=600)
    args = parser.parse_args()
    spec = GridSpec(
        methods=[Entry("km_concat", {"n_init": args.n_init})],
        datasets=[Entry("synthetic", {"n_samples": args.n_samples})],
        repetitions=args.cells,
    )
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        limit_threads(1)  # the serial cells get one BLAS thread, like every other executor's cells
        rows.append(timed("serial", SerialExecutor, 1, spec, tmp))
        rows.append(timed("process, 2 workers", lambda: ProcessExecutor(2, crashed_result), 2, spec, tmp))
        rows.append(timed("ray local, 2 CPUs", ray_local, 2, spec, tmp))
        rows.append(timed("ray 3-node cluster, 3x1 CPU", ray_cluster, 3, spec, tmp))
    print(
        f"{args.cells} cells of km_concat(n_init={args.n_init}) on synthetic(n_samples={args.n_samples}); "
        f"{os.cpu_count()} cores; load average before: {load:.2f}"
    )
    header = (
        "executor",
        "start-up (s)",
        "wall (s)",
        "cells/s",
        "mean fit (s)",
        "overhead per cell (s)",
        "each cell logged once",
    )
    print("| " + " | ".join(header) + " |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['executor']} | {r['startup']:.2f} | {r['wall']:.2f} | {r['cells_per_s']:.2f} | {r['fit']:.3f} | "
            f"{r['overhead']:.3f} | {'yes' if r['once'] else 'NO'} |"
        )
    process, ray_row = rows[1], rows[2]
    print(f"ray local / process throughput: {ray_row['cells_per_s'] / process['cells_per_s']:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()
