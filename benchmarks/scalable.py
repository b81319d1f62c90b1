"""Time and peak memory of the scalable methods on synthetic data from 10k to 1M samples, and on mnist_usps.

Each (method, dataset, n) fit runs in a fresh subprocess with one BLAS thread: fit wall seconds, fit
CPU seconds, and the peak resident memory the fit added (ru_maxrss after the fit minus ru_maxrss once
the data is built, as ``benchmarks/pic_memory.py``), beside the method's ``memory_estimate``. Rows are
appended to a JSON-lines file (resumable: a row already there is not rerun), then ``--report`` prints
the markdown table and draws the log-log plot into ``benchmarks/figures/scalable.png``.

    python benchmarks/scalable.py --out scalable.jsonl --methods lmvsc,smvsc,opmc --sizes 10000,100000,1000000
    python benchmarks/scalable.py --out scalable.jsonl --methods lmvsc,smvsc,opmc,sgla,lmgec --dataset mnist_usps
    python benchmarks/scalable.py --out scalable.jsonl --report

The synthetic set: ``synthetic`` with n_clusters 10, view_dims [50, 100, 200], seed 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, os, sys, time
import numpy as np
from mvbench import registry
from mvbench.config import build_config
from mvbench.metrics import evaluate
method, dataset, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if dataset == "synthetic":
    from mvbench.datasets.synthetic import SyntheticParams, generate
    data = generate(SyntheticParams(n_samples=n, n_clusters=10, view_dims=[50, 100, 200], seed=0))
else:
    from mvbench.data.sources import DataPaths
    from mvbench.data.store import load
    data = load(DataPaths.resolve().prepared_path(dataset), lazy=False)
for v in range(data.n_views):
    np.asarray(data.view(v)).sum()
cls = registry.methods().get(method)
config = build_config(cls.Config, {}, owner=method)
# libraries the fits import, loaded before the baseline (their code is not the method's memory)
import scipy.optimize, scipy.sparse.linalg, scipy.stats, sklearn.cluster, sklearn.decomposition, torch
from mvbench.run.cell import PeakMemory
np.linalg.eigh(np.eye(8))
with PeakMemory() as memory:
    wall, cpu = time.perf_counter(), time.process_time()
    labels = cls(config).fit_predict(data.without_labels(), data.n_clusters, 0).labels
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
estimate = cls.memory_estimate(config, data.n_samples, list(data.view_dims))
scores = evaluate(data.labels, labels)
print(json.dumps({"method": method, "dataset": dataset, "n": data.n_samples, "fit_seconds": wall, "cpu_seconds": cpu,
                  "peak_mb": memory.increase_mb, "estimate_mb": None if estimate is None else estimate / 2**20,
                  "acc": scores["acc"], "nmi": scores["nmi"]}))
"""


def run(out: Path, methods: list[str], dataset: str, sizes: list[int], timeout: int) -> None:
    done = {(r["method"], r["dataset"], r["n"]) for r in read(out)}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for n in sizes:
        for method in methods:
            if (method, dataset, n) in done or (
                dataset != "synthetic" and any(k[:2] == (method, dataset) for k in done)
            ):
                continue
            try:
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, method, dataset, str(n)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                print(f"{method} {dataset} n={n}: over {timeout} s, skipped", flush=True)
                continue
            if proc.returncode != 0:
                print(f"{method} {dataset} n={n}: failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            done.add((method, dataset, row["n"]))  # a real set has one size: fit it once, not once per --sizes
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


def read(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []


def report(out: Path, figure: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read(out)
    from mvbench import registry

    for r in rows:  # estimates of the current code (a row keeps the peak measured when it ran)
        if r["dataset"] == "synthetic":
            cls = registry.methods().get(r["method"])
            r["estimate_mb"] = cls.memory_estimate(cls.Config(), r["n"], [50, 100, 200]) / 2**20
    print("| method | dataset | n | fit s | CPU s | peak MiB | estimate MiB | estimate / peak | ACC | NMI |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["dataset"], r["method"], r["n"])):
        est = r["estimate_mb"]
        ratio = f"{est / r['peak_mb']:.2f}" if est and r["peak_mb"] > 0 else "-"
        wall = "-" if r["fit_seconds"] is None else f"{r['fit_seconds']:.1f}"
        print(
            f"| {r['method']} | {r['dataset']} | {r['n']} | {wall} | {r['cpu_seconds']:.1f} | "
            f"{r['peak_mb']:.0f} | {est:.0f} | {ratio} | {r['acc']:.3f} | {r['nmi']:.3f} |"
            if est
            else f"| {r['method']} | {r['dataset']} | {r['n']} | {wall} | {r['cpu_seconds']:.1f} | "
            f"{r['peak_mb']:.0f} | - | - | {r['acc']:.3f} | {r['nmi']:.3f} |"
        )
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for method in sorted({r["method"] for r in rows if r["dataset"] == "synthetic"}):
        pts = sorted(
            (r["n"], r["cpu_seconds"], max(r["peak_mb"], 1.0))
            for r in rows
            if r["method"] == method and r["dataset"] == "synthetic"
        )
        ns = [p[0] for p in pts]
        axes[0].loglog(ns, [p[1] for p in pts], "o-", label=method)
        axes[1].loglog(ns, [p[2] for p in pts], "o-", label=method)
    if rows:
        ref = [1e4, 1e6]
        axes[0].loglog(ref, [1.0, 100.0], "k:", label="slope 1 (linear)")
        axes[1].loglog(ref, [10.0, 1000.0], "k:", label="slope 1 (linear)")
    axes[0].set(xlabel="samples n", ylabel="fit CPU seconds (1 thread)", title="time")
    axes[1].set(xlabel="samples n", ylabel="peak memory added by the fit (MiB)", title="memory")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=120)
    print(f"\nplot: {figure}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("scalable.jsonl"))
    p.add_argument("--methods", default="lmvsc,smvsc,opmc")
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--timeout", type=int, default=3600)
    p.add_argument("--report", action="store_true")
    p.add_argument("--figure", type=Path, default=Path(__file__).parent / "figures" / "scalable.png")
    args = p.parse_args()
    if args.report:
        report(args.out, args.figure)
    else:
        run(args.out, args.methods.split(","), args.dataset, [int(s) for s in args.sizes.split(",")], args.timeout)


if __name__ == "__main__":
    main()
