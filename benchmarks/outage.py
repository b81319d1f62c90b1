"""Tracking outages under three concurrent clients: a PostgreSQL-backed MLflow server restarted, and
PostgreSQL itself stopped, mid-grid. Counts lost and duplicated cells and the clients that gave up.

Starts a throwaway PostgreSQL cluster (the system's binaries, as in tests/test_shared_server.py) and
one ``mlflow server`` on it. Each phase starts three ``mvbench run`` at once in a new experiment:
grid A, grid B and grid A again (``--workers 2``), each ``--cells`` cells of the test-only method
``sleeper`` (tests/sleepy.py: sleeps ``--cell-seconds``, so that the grids outlive the outage). Once
``--after`` cells are done, the phase's outage begins:

* ``server``: the MLflow server is stopped (SIGTERM, its workers too) and started again on the same
  port ``--server-down`` seconds later (an upgrade, a restart);
* ``database``: PostgreSQL is stopped (``pg_ctl stop -m fast``: every connection closed) and started
  again ``--db-down`` seconds later (a failover); the MLflow server keeps running and answers errors.

Reported per phase: each client's exit status, cells it ran, cells left to the others, whether it
waited for the store; then the planned distinct cells, runs logged, lost cells (planned, no done
run), duplicated cells (a key with more than one run, whatever its state) and clients that exited
with a non-zero status.

    nice -n 10 python benchmarks/outage.py [--cells 24] [--after 6] [--server-down 10] [--db-down 20]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import sleepy  # noqa: E402
from localserver import MlflowServer, PostgresCluster, postgres_bindir  # noqa: E402


def done_count(dsn: str, experiment: str) -> int:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=5) as con:
        row = con.execute(
            "SELECT count(*) FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid "
            "JOIN experiments e ON e.experiment_id = r.experiment_id "
            "WHERE t.key = 'mvbench.status' AND t.value = 'done' AND e.name = %s",
            (experiment,),
        ).fetchone()
        return int(row[0]) if row else 0


def cell_runs(dsn: str, experiment: str) -> list[tuple[str, str, str | None]]:
    """(cell key, MLflow status, mvbench status) of every cell run of ``experiment``."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=5) as con:
        return con.execute(
            "SELECT k.value, r.status, s.value FROM runs r "
            "JOIN experiments e ON e.experiment_id = r.experiment_id AND e.name = %s "
            "JOIN tags kind ON kind.run_uuid = r.run_uuid AND kind.key = 'mvbench.kind' AND kind.value = 'cell' "
            "JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'mvbench.cell_key' "
            "LEFT JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = 'mvbench.status'",
            (experiment,),
        ).fetchall()


def phase(name: str, url: str, dsn: str, args: argparse.Namespace, outage) -> bool:
    """Three clients against ``url``; ``outage()`` runs once ``args.after`` cells are done. True if clean."""
    experiment = f"outage_{name}"
    common = ["--datasets", "synthetic", "--experiment", experiment, "--tracking-uri", url, "--no-progress"]
    grids = {
        "A": ["--param", f"sleeper.seconds={args.cell_seconds}"],
        "B": ["--param", f"sleeper.seconds={args.cell_seconds * 1.5}"],
        "A again (--workers 2)": ["--param", f"sleeper.seconds={args.cell_seconds}", "--workers", "2"],
    }
    start = time.perf_counter()
    procs = {
        label: sleepy.cli("run", "--methods", "sleeper", "--seeds", str(args.cells), *grid, *common)
        for label, grid in grids.items()
    }
    while done_count(dsn, experiment) < args.after:
        if all(p.poll() is not None for p in procs.values()):
            break
        time.sleep(0.5)
    print(f"\n## phase {name}: outage begins after {done_count(dsn, experiment)} done cells")
    down = outage()
    outputs = {label: p.communicate() for label, p in procs.items()}
    wall = time.perf_counter() - start
    print(f"store unreachable for {down:.1f} s (from stop to answering again)\n")
    print("| client | exit | cells ran | left to the others | waited for the store | back after |")
    print("|---|---|---|---|---|---|")
    failed = 0
    for label, (out, err) in outputs.items():
        code = procs[label].returncode
        failed += code != 0
        ran = re.search(r"ran (\d+) cells", out)
        left = re.search(r"left (\d+) cells to another", out)
        back = re.findall(r"back after (\d+) s", err)
        print(
            f"| {label} | {code} | {ran.group(1) if ran else '-'} | {left.group(1) if left else 0} | "
            f"{'yes' if 'unreachable' in err else 'no'} | {', '.join(back) + ' s' if back else '-'} |"
        )
        if code != 0 or "Traceback" in err:
            print(f"\n{label} stderr (tail):\n{err[-3000:]}\n")
    shown = [line for _, err in outputs.values() for line in err.splitlines() if "tracking store" in line]
    print("\nwhat client A printed on stderr:\n" + "\n".join(f"    {line}" for line in shown[:2]))
    runs = cell_runs(dsn, experiment)
    per_key = Counter(key for key, _, _ in runs)
    done_keys = {key for key, _, state in runs if state == "done"}
    planned = 2 * args.cells  # grid A and grid B; grid A again plans A's cells
    lost = planned - len(done_keys)
    duplicated = sum(1 for n in per_key.values() if n > 1)
    print(
        f"\nplanned distinct cells: {planned}; cell runs logged: {len(runs)}; wall time: {wall:.1f} s\n"
        f"lost: {lost}; duplicated: {duplicated}; clients that exited non-zero: {failed} of {len(procs)}"
    )
    return lost == 0 and duplicated == 0 and failed == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=24, help="cells per grid")
    parser.add_argument("--cell-seconds", type=float, default=1.0, help="how long each cell sleeps")
    parser.add_argument("--after", type=int, default=6, help="done cells before the outage begins")
    parser.add_argument("--server-down", type=float, default=10.0, help="seconds the MLflow server is stopped")
    parser.add_argument("--db-down", type=float, default=20.0, help="seconds PostgreSQL is stopped")
    args = parser.parse_args()
    bindir = postgres_bindir()
    if bindir is None:
        sys.exit("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    cluster = PostgresCluster(bindir)
    with tempfile.TemporaryDirectory() as tmp, cluster as dsn:
        os.environ["MVBENCH_DATA_DIR"] = str(Path(tmp) / "data")
        sleepy.cli("datasets", "prepare", "synthetic").communicate()  # shared by all clients, not timed
        server = MlflowServer(dsn, Path(tmp) / "artifacts", workers=2)
        start = time.perf_counter()
        with server as url:
            print(f"server up (PostgreSQL migrated) in {time.perf_counter() - start:.1f} s: {url}")

            def restart_server() -> float:
                stopped = time.perf_counter()
                server.stop()
                time.sleep(args.server_down)
                server.start()
                return time.perf_counter() - stopped

            def stop_database() -> float:
                stopped = time.perf_counter()
                cluster.stop()
                time.sleep(args.db_down)
                cluster.start()
                return time.perf_counter() - stopped

            clean = [phase("server", url, dsn, args, restart_server), phase("database", url, dsn, args, stop_database)]
    print(f"\nall clean: {all(clean)}")


if __name__ == "__main__":
    main()
