"""Seconds and peak memory of bmvc, lrssc and dmf_mvc against n (synthetic, coco_all view shapes).

Each (method, n) runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own.
A cell whose ``memory_estimate`` exceeds ``--memory-limit`` is refused up front, as the runner does.

    .venv/bin/python benchmarks/scaling_matrix.py --sizes 1000,2000,5000,10000,23000 --timeout 900
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

METHODS = {
    "bmvc": "mvbench.methods.bmvc:BMVC",
    "lrssc": "mvbench.methods.lrssc:LRSSC",
    "dmf_mvc": "mvbench.methods.dmf_mvc:DMFMVC",
}
VIEW_DIMS = [2048, 300]  # coco_all: ResNet-50 image features + 300-d caption features
N_CLUSTERS = 10


def run_one(method: str, n: int) -> dict:
    """Fit one method on synthetic data of n samples; returns seconds, peak RSS and ACC."""
    import importlib

    from mvbench.datasets.synthetic import SyntheticParams, generate
    from mvbench.metrics import evaluate

    module, name = METHODS[method].split(":")
    cls = getattr(importlib.import_module(module), name)
    data = generate(SyntheticParams(n_samples=n, n_clusters=N_CLUSTERS, view_dims=VIEW_DIMS, seed=0))
    start = time.perf_counter()
    result = cls().fit_predict(data, N_CLUSTERS, 0)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "seconds": seconds,
        "peak_gib": peak / 2**30,
        "acc": evaluate(data.labels, result.labels)["acc"],
        "iterations": result.info.get("iterations", float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,5000,10000,23000")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--memory-limit", type=float, default=24.0, help="GiB")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return
    import importlib

    print(f"views {VIEW_DIMS}, K={N_CLUSTERS}, memory limit {args.memory_limit} GiB")
    print(f"{'method':8} {'n':>6} {'seconds':>9} {'peak GiB':>9} {'estimate GiB':>12} {'ACC':>6}  note")
    for method in args.methods.split(","):
        module, name = METHODS[method].split(":")
        cls = getattr(importlib.import_module(module), name)
        for n in map(int, args.sizes.split(",")):
            estimate = cls.memory_estimate(cls.Config(), n, VIEW_DIMS)
            est = f"{estimate / 2**30:12.2f}" if estimate is not None else f"{'-':>12}"
            if estimate is not None and estimate > args.memory_limit * 2**30:
                print(f"{method:8} {n:6d} {'-':>9} {'-':>9} {est} {'-':>6}  refused by memory_estimate", flush=True)
                continue
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", method, str(n)],
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                    check=True,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"{method:8} {n:6d} {r['seconds']:9.1f} {r['peak_gib']:9.2f} {est} {r['acc']:6.3f}  "
                    f"{r['iterations']:.0f} iterations",
                    flush=True,
                )
            except subprocess.TimeoutExpired:
                print(
                    f"{method:8} {n:6d} {'>' + str(int(args.timeout)):>9} {'-':>9} {est} {'-':>6}  timed out",
                    flush=True,
                )
            except subprocess.CalledProcessError as exc:
                print(f"{method:8} {n:6d} failed: {exc.stderr.strip().splitlines()[-1]}", flush=True)


if __name__ == "__main__":
    main()
