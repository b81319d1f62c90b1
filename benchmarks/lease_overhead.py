"""Cost of cell leases on a local sqlite store: a 50-cell grid of a trivial method, timed end to end.

Run it on a commit before leases and on one with them; the ratio of the two wall times is the
leases' overhead (recorded in benchmarks/shared_server.md).

    nice -n 10 python benchmarks/lease_overhead.py [--cells 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from harness_overhead import Trivial  # the same do-nothing method (benchmarks/ is on the path)

from mvbench import registry
from mvbench.data.sources import DataPaths
from mvbench.record.tracking import Tracker
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    registry.methods().register("trivial", Trivial)
    rates = [0.0, 0.1, 0.2, 0.3, 0.4]
    spec = GridSpec(
        methods=[Entry("trivial")],
        datasets=[Entry("synthetic", {"n_samples": 300})],
        missing_rates=rates,
        repetitions=args.cells // len(rates),
    )
    walls = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            tracker = Tracker(f"sqlite:///{tmp}/mlflow.db", "overhead")
            grid = plan(spec, DataPaths.resolve(tmp))
            start = time.perf_counter()
            outcome = run_grid(grid, tracker, show_progress=False)
            walls.append(time.perf_counter() - start)
    print(f"cells run per grid: {len(outcome.ran)} ({outcome.counts})")
    print(f"grid wall times:    {', '.join(f'{w:.2f}' for w in walls)} s  (median {statistics.median(walls):.2f} s)")


if __name__ == "__main__":
    main()
