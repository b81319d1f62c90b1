"""PIC's memory_estimate against the measured peak resident memory of one fit.

Each size runs in a fresh subprocess; the peak is ru_maxrss after the fit minus ru_maxrss after
building the data (imports and data included in the baseline). Usage:

    python benchmarks/pic_memory.py 1000 2000 3000
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, resource, sys, numpy as np
from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods.pic import PIC
n = int(sys.argv[1])
dims = [64, 32]
data = generate(SyntheticParams(n_samples=n, n_clusters=5, view_dims=dims, missing_rate=0.3, seed=0))
np.linalg.eigh(np.eye(8))  # load LAPACK before the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
method = PIC(n_init=1)
method.fit_predict(data, 5, 0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"n": n, "measured_mb": (peak - base) / 2**20,
                  "estimate_mb": PIC.memory_estimate(method.config, n, dims) / 2**20}))
"""


def main(sizes: list[int]) -> None:
    print("| n | measured peak increase (MiB) | memory_estimate (MiB) | estimate / measured |")
    print("|---|---|---|---|")
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        ratio = row["estimate_mb"] / row["measured_mb"]
        print(f"| {n} | {row['measured_mb']:.1f} | {row['estimate_mb']:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 2000, 3000])
