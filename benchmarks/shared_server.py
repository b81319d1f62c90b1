"""Three concurrent grids against a PostgreSQL-backed MLflow server: throughput, lost and duplicated cells.

Starts a throwaway PostgreSQL cluster (the system's binaries, as in tests/test_shared_server.py) and
one ``mlflow server`` on it, then three ``mvbench run`` processes at once: grid A (km), grid B
(km_concat) and grid A again, each ``--cells`` cells over missing rates x repetitions. Reports the
wall time from the first start to the last exit, cell runs logged per second, lost cells (planned
but without a done run) and duplicated cells (more than one run of a key, any state).

    nice -n 10 python benchmarks/shared_server.py [--cells 20] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from localserver import MlflowServer, PostgresCluster, postgres_bindir  # noqa: E402

RATES = ["0", "0.1", "0.2", "0.3"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20, help="cells per grid (a multiple of 4)")
    parser.add_argument("--workers", type=int, default=1, help="--workers of each mvbench run")
    args = parser.parse_args()
    bindir = postgres_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    seeds = max(1, args.cells // len(RATES))
    grids = {"A": ["--methods", "km"], "B": ["--methods", "km_concat"], "A again": ["--methods", "km"]}
    with tempfile.TemporaryDirectory() as tmp, PostgresCluster(bindir) as dsn:
        start = time.perf_counter()
        with MlflowServer(dsn, Path(tmp) / "artifacts") as url:
            print(f"server up (PostgreSQL migrated) in {time.perf_counter() - start:.1f} s: {url}")
            env = {**os.environ, "MVBENCH_DATA_DIR": str(Path(tmp) / "data")}
            subprocess.run(
                [sys.executable, "-m", "mvbench", "datasets", "prepare", "synthetic"],
                env=env,
                check=True,
                capture_output=True,
            )  # shared by the three: not part of the timing
            start = time.perf_counter()
            procs = {
                name: subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "mvbench",
                        "run",
                        *grid,
                        "--datasets",
                        "synthetic",
                        "--missing-rate",
                        ",".join(RATES),
                        "--seeds",
                        str(seeds),
                        "--workers",
                        str(args.workers),
                        "--experiment",
                        "bench",
                        "--tracking-uri",
                        url,
                        "--no-progress",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
                for name, grid in grids.items()
            }
            outputs = {name: p.communicate() for name, p in procs.items()}
            wall = time.perf_counter() - start
            from mlflow.entities import ViewType

            from mvbench.record.schema import KEY_TAG, KIND_TAG, STATUS_TAG
            from mvbench.record.tracking import Tracker

            tracker = Tracker(url, "bench", create=False)
            runs = tracker.client.search_runs(
                [tracker.experiment_id], f"tags.`{KIND_TAG}` = 'cell'", run_view_type=ViewType.ALL, max_results=5000
            )
    per_key = Counter(r.data.tags[KEY_TAG] for r in runs)
    done = {r.data.tags[KEY_TAG] for r in runs if r.data.tags.get(STATUS_TAG) == "done"}
    planned = 2 * seeds * len(RATES)
    print("\n| invocation | exit | cells ran | left to the other | lock errors |\n|---|---|---|---|---|")
    for name, p in procs.items():
        out, err = outputs[name]
        ran = re.search(r"ran (\d+) cells", out)
        left = re.search(r"left (\d+) cells", out)
        locks = len(re.findall(r"database is locked|deadlock|lock ?not ?available|lock timeout", err, re.I))
        print(
            f"| grid {name} | {p.returncode} | {ran.group(1) if ran else '?'} | {left.group(1) if left else 0} "
            f"| {locks} |"
        )
        if p.returncode:
            print(err[-2000:])
    print(
        f"\nplanned distinct cells: {planned}; cell runs logged: {len(runs)}; wall time: {wall:.1f} s; "
        f"runs/s: {len(runs) / wall:.2f}"
    )
    print(f"lost: {planned - len(done)}; duplicated: {sum(1 for n in per_key.values() if n > 1)}")


if __name__ == "__main__":
    main()
