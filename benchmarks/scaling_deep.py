"""Time and peak memory of dcca_km, vse_km and ccal_km against n on coco_all-shaped synthetic data.

Each (n, method) cell runs in a fresh subprocess (so ru_maxrss is that cell's peak resident
memory) on synthetic data with two views of 2048 and 300 dimensions (the coco_all shape), K = 10.
Full default training is too long for a shared CPU, so each cell trains ``--epochs`` epochs with
the default architecture and batch size after a 1-epoch warm-up run; the table gives the measured
seconds (training + K-means), seconds per epoch (an upper bound: the one-off K-means and linear CCA
are included) and its extrapolation to the method's default epoch budget.

    python benchmarks/scaling_deep.py --sizes 1000,2000,5000,10000,23000 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

METHODS = ("dcca_km", "vse_km", "ccal_km")


def one(n: int, method: str, epochs: int, seed: int) -> dict[str, float]:
    import torch

    from mvbench.datasets.synthetic import SyntheticParams, generate
    from mvbench.registry import methods

    data = generate(SyntheticParams(n_samples=n, n_clusters=10, view_dims=[2048, 300], seed=seed))
    cls = methods().get(method)
    default_epochs = cls.Config().epochs
    cls(epochs=1).fit_predict(data, 10, seed)  # warm-up: first-call costs (threads, allocator)
    t0 = time.perf_counter()
    cls(epochs=epochs).fit_predict(data, 10, seed)
    seconds = time.perf_counter() - t0
    per_epoch = seconds / epochs  # an upper bound: includes the one-off K-means / linear CCA
    return {
        "n": n,
        "method": method,
        "epochs": epochs,
        "seconds": seconds,
        "per_epoch": per_epoch,
        "full_estimate": per_epoch * default_epochs,
        "default_epochs": default_epochs,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,5000,10000,23000")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed (after a 1-epoch warm-up run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per cell")
    parser.add_argument("--one", nargs=2, metavar=("N", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(int(args.one[0]), args.one[1], args.epochs, args.seed)))
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    print("| n | method | epochs run | seconds | s/epoch | est. default run (s) | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for n in map(int, args.sizes.split(",")):
        for method in args.methods.split(","):
            cmd = [
                sys.executable,
                __file__,
                "--one",
                str(n),
                method,
                "--epochs",
                str(args.epochs),
                "--seed",
                str(args.seed),
            ]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=True)
            except subprocess.TimeoutExpired:
                print(f"| {n} | {method} | - | > {args.timeout:.0f} (timed out) | - | - | - |", flush=True)
                continue
            except subprocess.CalledProcessError as exc:
                print(f"| {n} | {method} | failed: {exc.stderr.strip().splitlines()[-1]} | | | | |", flush=True)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {n} | {method} | {r['epochs']} | {r['seconds']:.1f} | {r['per_epoch']:.2f} | "
                f"{r['full_estimate']:.0f} ({r['default_epochs']} ep) | {r['peak_mib']:.0f} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
