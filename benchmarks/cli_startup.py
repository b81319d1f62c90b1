"""Start-up time of the command line: medians of N runs and the ratio to a bare interpreter.

Targets (issue 12; idle 2-core machine): ``mvbench --help`` < 0.3 s, ``mvbench list methods`` < 1.0 s,
``mvbench status`` < 1.5 s (issue 27: of CPU, which a loaded machine does not inflate as it does wall
time; the verdict is on CPU). ``status`` reads a small store this script fills first (one tiny grid);
"status via MLflow's client" reads the same through MLflow's client, as ``status`` did before issue 27
(and still does for stores other than a local sqlite file).

    python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TARGETS = {"--help": 0.3, "list methods": 1.0, "status": 1.5}
VIA_MLFLOW = "from mvbench.record.status import _read_mlflow, resolve_uri; _read_mlflow(resolve_uri(None), 'mvbench')"


def timed(args: list[str], cwd: str) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    mvbench = [sys.executable, "-m", "mvbench"]
    with tempfile.TemporaryDirectory() as cwd:
        os.environ["MVBENCH_DATA_DIR"] = os.path.join(cwd, "data")
        subprocess.run(
            [*mvbench, "run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1", "--no-progress"],
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            **{name: [*mvbench, *name.split()] for name in TARGETS},
            "status via MLflow's client": [sys.executable, "-c", VIA_MLFLOW],
        }
        results = {}
        for name, args in commands.items():
            timed(args, cwd)  # warm the file cache
            runs = [timed(args, cwd) for _ in range(repeat)]
            results[name] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
    bare = results["python -c pass"][0]
    print(f"{'command':26s} {'wall s':>7s} {'cpu s':>7s} {'x bare':>7s} {'target (cpu)':>12s}")
    for name, (wall, cpu) in results.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else f"< {target:g}  {'met' if cpu < target else 'MISSED'}"
        print(f"{name:26s} {wall:7.3f} {cpu:7.3f} {wall / bare:7.1f}  {verdict}")
    print(f"(median of {repeat}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
