"""CPU seconds one cell of each method costs on one dataset (default wikipedia, n = 2866, a mid-sized
set): what to expect before launching a grid. One fresh process per method, one BLAS/torch thread,
an empty cache (pretraining included), default hyper-parameters, seed of repetition 0.

    OMP_NUM_THREADS=1 nice python benchmarks/method_cpu.py --methods km,km_concat,bmvc --dataset wikipedia

CPU seconds (user + system of the cell's process) do not grow with the machine's load as wall seconds do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CELL = r"""
import json, sys, time
from mvbench.data.sources import DataPaths
from mvbench.run.cell import run_cell
from mvbench.run.executors import limit_threads
from mvbench.run.grid import spec_from_config
from mvbench.run.planning import plan

limit_threads(1)
method, dataset = sys.argv[1:]
grid = plan(spec_from_config({"methods": [method], "datasets": [dataset], "seeds": 1}), DataPaths.resolve())
task = grid.tasks[grid.cells[0].key]
cpu, wall = time.process_time(), time.perf_counter()
result = run_cell(task)
print(json.dumps({"status": result.status, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                  "acc": result.metrics.get("acc"), "error": result.error}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", required=True)
    parser.add_argument("--dataset", default="wikipedia")
    args = parser.parse_args()
    print(f"{'method':18s} {'cpu s':>8s} {'wall s':>8s} {'acc':>6s}  status")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "MVBENCH_CACHE_DIR": cache, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        for method in args.methods.split(","):
            out = subprocess.run(
                [sys.executable, "-c", CELL, method, args.dataset], env=env, capture_output=True, text=True
            )
            if out.returncode:
                print(f"{method:18s} error: {out.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            acc = f"{r['acc']:.3f}" if r["acc"] is not None else "-"
            print(f"{method:18s} {r['cpu']:8.1f} {r['wall']:8.1f} {acc:>6s}  {r['status']} {r['error']}", flush=True)
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
