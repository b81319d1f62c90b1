"""A team's shared tracking server: `mlflow server` on a real PostgreSQL, several `mvbench run` at once.

One throwaway PostgreSQL cluster (the system's binaries) and one `mlflow server` on it serve the
whole session (MLflow migrates a fresh database once, which takes tens of seconds). No mocks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import Counter

import pytest
from localserver import MlflowServer, PostgresCluster, postgres_bindir

from mvbench.record.leases import EXPIRES_TAG, LeaseBoard
from mvbench.record.schema import KEY_TAG, KIND_TAG, STATUS_TAG
from mvbench.record.tracking import Tracker

BINDIR = postgres_bindir()
pytestmark = pytest.mark.skipif(
    BINDIR is None, reason="PostgreSQL server binaries (initdb, pg_ctl) not found: Debian: apt-get install postgresql"
)
LOCK_ERROR = re.compile(r"database is locked|deadlock|lock ?not ?available|lock timeout", re.IGNORECASE)


@pytest.fixture(scope="session")
def postgres_uri():
    pytest.importorskip("psycopg", reason="pip install 'mvbench[postgres]'")
    with PostgresCluster(BINDIR) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def server_url(postgres_uri, tmp_path_factory):
    with MlflowServer(postgres_uri, tmp_path_factory.mktemp("artifacts")) as url:
        yield url


def cell_runs_by_key(uri: str, experiment: str) -> Counter:
    """How many cell runs each key has, whatever their state (FAILED, KILLED and unfinished included)."""
    from mlflow.entities import ViewType

    tracker = Tracker(uri, experiment, create=False)
    runs = tracker.client.search_runs(
        [tracker.experiment_id], f"tags.`{KIND_TAG}` = 'cell'", run_view_type=ViewType.ALL, max_results=5000
    )
    return Counter(r.data.tags[KEY_TAG] for r in runs), runs


def mvbench_run(uri: str, experiment: str, *args: str, data_dir) -> subprocess.Popen:
    env = {**os.environ, "MVBENCH_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mvbench",
            "run",
            "--datasets",
            "synthetic",
            "--experiment",
            experiment,
            "--tracking-uri",
            uri,
            "--no-progress",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_racing_claims_through_the_server_exactly_one_wins(server_url):
    tracker = Tracker(server_url, "lease-race")
    n = 12
    boards = [LeaseBoard(tracker.client, tracker.experiment_id, ttl=600) for _ in range(n)]
    barrier, won = threading.Barrier(n, timeout=60), [[], []]

    def racer(board: LeaseBoard) -> None:
        for round_ in (0, 1):
            barrier.wait()
            lease = board.claim("contested")
            if lease is not None:
                won[round_].append(lease.generation)
            barrier.wait()  # all have claimed
            if lease is not None and round_ == 0:  # the winner "crashes": its lease expires unrenewed
                board.client.set_experiment_tag(lease.experiment_id, EXPIRES_TAG, "0")

    threads = [threading.Thread(target=racer, args=(b,)) for b in boards]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert won == [[0], [1]]  # one winner, then one taker-over of the stale lease


def test_invocations_starting_together_share_one_experiment_and_its_tags(server_url):
    """Creating the experiment and setting its tags race on a shared server (MLflow upserts a tag by a
    read then an insert): every starter must get on with the same experiment."""
    n, barrier, errors, ids = 8, threading.Barrier(8, timeout=60), [], set()

    def start() -> None:
        try:
            barrier.wait()
            tracker = Tracker(server_url, "started-together")
            ids.add(tracker.experiment_id)
            barrier.wait()
            tracker._set_experiment_tag(tracker.experiment_id, "mvbench.test", "same new tag")
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(ids) == 1, errors


def test_three_concurrent_grids_lose_and_duplicate_nothing(server_url, tmp_path):
    grid_a = ["--methods", "km", "--missing-rate", "0,0.2", "--seeds", "4"]
    grid_b = ["--methods", "km_concat", "--missing-rate", "0,0.2", "--seeds", "4"]
    procs = [
        mvbench_run(server_url, "shared", *grid_a, data_dir=tmp_path),
        mvbench_run(server_url, "shared", *grid_b, data_dir=tmp_path),
        mvbench_run(server_url, "shared", *grid_a, "--workers", "2", data_dir=tmp_path),
    ]  # grid a again
    outputs = [p.communicate(timeout=170) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
        assert not LOCK_ERROR.search(err), err[-3000:]
    counts, runs = cell_runs_by_key(server_url, "shared")
    assert len(counts) == 16 and set(counts.values()) == {1}, counts  # none lost, none computed twice
    assert {r.data.tags.get(STATUS_TAG) for r in runs} == {"done"} and {r.info.status for r in runs} == {"FINISHED"}
    ran = [int(re.search(r"ran (\d+) cells", out).group(1)) for out, _ in outputs]
    assert ran[1] == 8 and ran[0] + ran[2] == 8  # the twice-run grid's cells split between its invocations
    tracker = Tracker(server_url, "shared", create=False)
    assert LeaseBoard(tracker.client, tracker.experiment_id).state(runs[0].data.tags[KEY_TAG]).active is False
    # The server is the UI: `mvbench ui` prints its URLs and starts nothing.
    ui = subprocess.run(
        [sys.executable, "-m", "mvbench", "ui", "--tracking-uri", server_url, "--experiment", "shared"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ui.returncode == 0 and f"runs of experiment 'shared': {server_url}/#/experiments/" in ui.stdout, ui.stderr


def test_a_grid_against_a_direct_postgresql_uri(postgres_uri, tmp_path):
    run = mvbench_run(postgres_uri, "direct", "--methods", "km", "--seeds", "3", data_dir=tmp_path)
    out, err = run.communicate(timeout=170)
    assert run.returncode == 0 and "ran 3 cells: 3 done" in out, err[-3000:]
    counts, runs = cell_runs_by_key(postgres_uri, "direct")
    assert len(counts) == 3 and set(counts.values()) == {1}
    assert {r.data.tags.get(STATUS_TAG) for r in runs} == {"done"}
