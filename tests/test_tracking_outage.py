"""A tracking server that goes away mid-grid: a real `mlflow server` (on a sqlite file, 127.0.0.1, a free
port) stopped and started again under a running `mvbench run`. Counted in the store afterwards: every
cell exactly once. (The PostgreSQL variant, three clients at once: benchmarks/outage.py.)"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
import sleepy
from conftest import sqlite_store
from localserver import LocalServer, MlflowServer, free_port
from test_cli import mvbench_in_process

SEEDS = 10  # cells of one second each: the grid outlives the moment the server is stopped
CONNECTION_LOST = ("Connection refused", "Connection reset by peer", "Remote end closed connection without response")


@pytest.fixture
def server(tmp_path):
    db = tmp_path / "server.db"
    server = MlflowServer(sqlite_store(db), tmp_path / "artifacts", workers=1)
    with server as url:
        yield server, url, db


def grid(url: str, *extra: str) -> list[str]:
    return [
        "run",
        "--methods",
        "sleeper",
        "--param",
        "sleeper.seconds=1",
        "--datasets",
        "synthetic",
        "--seeds",
        str(SEEDS),
        "--experiment",
        "outage",
        "--tracking-uri",
        url,
        "--no-progress",
        *extra,
    ]


def done_cells(db: Path) -> int:
    """Cells logged as done so far (read from the server's sqlite file, as the server writes it)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        query = "SELECT count(*) FROM tags WHERE key = 'mvbench.status' AND value = 'done'"
        return con.execute(query).fetchone()[0]


def wait_for_cells(db: Path, n: int, proc) -> None:
    while done_cells(db) < n:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)


def cell_runs(db: Path) -> list[dict]:
    """Every cell run in the store, whatever its state: key, MLflow status, mvbench status."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        rows = con.execute(
            "SELECT r.run_uuid, r.status, k.value, s.value FROM runs r "
            "JOIN tags kind ON kind.run_uuid = r.run_uuid AND kind.key = 'mvbench.kind' AND kind.value = 'cell' "
            "LEFT JOIN tags k ON k.run_uuid = r.run_uuid AND k.key = 'mvbench.cell_key' "
            "LEFT JOIN tags s ON s.run_uuid = r.run_uuid AND s.key = 'mvbench.status'"
        ).fetchall()
    return [{"run": r, "status": st, "key": k, "mvbench": m} for r, st, k, m in rows]


def grid_statuses(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as con:
        return [
            row[0]
            for row in con.execute(
                "SELECT r.status FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                "AND t.key = 'mvbench.kind' AND t.value = 'grid'"
            )
        ]


def test_a_ten_second_outage_mid_grid_is_ridden_out_with_every_cell_logged_once(server):
    server, url, db = server
    run = sleepy.cli(*grid(url))
    wait_for_cells(db, 2, run)
    stopped = time.monotonic()
    server.stop()
    time.sleep(10)
    server.start()
    outage = time.monotonic() - stopped
    out, err = run.communicate()
    assert run.returncode == 0, out + err
    assert "Traceback" not in err, err
    assert f"tracking store {url} unreachable" in err and f"tracking store {url} back after" in err, err
    assert f"ran {SEEDS} cells: {SEEDS} done" in out, out
    runs = cell_runs(db)
    assert Counter(r["key"] for r in runs) == Counter({k: 1 for k in {r["key"] for r in runs}})  # one run per cell
    assert len(runs) == SEEDS and {(r["status"], r["mvbench"]) for r in runs} == {("FINISHED", "done")}
    assert grid_statuses(db) == ["FINISHED"]
    assert outage >= 10


def test_an_outage_longer_than_the_budget_stops_in_one_line_with_status_3_and_the_resume_completes(server):
    server, url, db = server
    first = sleepy.cli(*grid(url, "--tracking-retry-seconds", "5"))
    wait_for_cells(db, 2, first)
    server.stop()
    out, err = first.communicate()
    assert first.returncode == 3, out + err
    lines = err.strip().splitlines()
    # Which error starts the outage depends on where the stop lands: a refused connect, or a request cut.
    assert len(lines) == 2 and any(
        f"tracking store {url} unreachable ({reason})" in lines[0] for reason in CONNECTION_LOST
    ), err
    assert lines[1].startswith(f"error: tracking store {url} unreachable for "), err
    assert "(last error: Connection refused)" in lines[1] and "run the same command again" in lines[1], err
    logged = {r["key"] for r in cell_runs(db) if r["mvbench"] == "done"}
    assert 2 <= len(logged) < SEEDS

    # The same command, started while the server is still away: it waits at start-up, then completes.
    resume = sleepy.cli(*grid(url))
    waiting = resume.stderr.readline()
    assert f"tracking store {url} unreachable" in waiting, waiting + resume.communicate()[1]
    server.start()
    out, err = resume.communicate()
    assert resume.returncode == 0, out + err
    done = [r["key"] for r in cell_runs(db) if r["mvbench"] == "done"]
    assert len(done) == SEEDS and len(set(done)) == SEEDS, Counter(done)  # the grid complete, none twice
    assert f"ran {SEEDS - len(logged)} cells" in out, out  # only what was missing
    assert not [r for r in cell_runs(db) if r["status"] == "RUNNING"]
    assert sorted(grid_statuses(db)) == ["FINISHED", "KILLED"]  # the stopped grid's run ended by the resume


def test_at_start_up_an_unreachable_store_is_told_apart_from_a_wrong_uri(tmp_path):
    gone = f"http://127.0.0.1:{free_port()}"
    args = ["run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1", "--no-progress"]
    code, _, err = mvbench_in_process(*args, "--tracking-uri", gone, "--tracking-retry-seconds", "2")
    assert code == 3 and err.splitlines()[-1].startswith(f"error: tracking store {gone} unreachable for "), err
    with LocalServer(tmp_path) as not_mlflow:  # answers, but is no MLflow server: 404
        code, _, err = mvbench_in_process(*args, "--tracking-uri", not_mlflow)
    assert code == 2 and err.count("\n") == 1 and "check --tracking-uri" in err and "404" in err, err


# -- the retry itself, without a server ---------------------------------------------------------------
def refused() -> Exception:
    from mlflow.exceptions import MlflowException

    return MlflowException(
        "API request to http://h:5000/api/2.0/mlflow/runs/create failed with exception HTTPConnectionPool(host='h', "
        'port=5000): Max retries exceeded (Caused by NewConnectionError("...: [Errno 111] Connection refused"))'
    )


@pytest.mark.parametrize(
    "message, short",
    [
        (
            'Max retries exceeded (Caused by NewConnectionError("...: [Errno 111] Connection refused"))',
            "Connection refused",
        ),
        (
            "API request to http://h:5000/api/2.0/mlflow/experiments/create failed with exception "
            "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
            "Remote end closed connection without response",
        ),
        ("HTTPConnectionPool(host='h', port=5000): Read timed out. (read timeout=30)", "Read timed out"),
        ("something else entirely", "RuntimeError: something else entirely"),
    ],
)
def test_a_store_error_is_told_in_its_telling_words(message, short):
    from mvbench.record.resilience import short_error

    assert short_error(RuntimeError(message)) == short


@pytest.mark.parametrize(
    "message, transient",
    [
        ("Max retries exceeded (Caused by ResponseError('too many 503 error responses'))", True),
        ("HTTPConnectionPool(host='h', port=5000): Read timed out. (read timeout=30)", True),
        ("(psycopg.OperationalError) connection failed: Connection refused", True),
        ("(sqlite3.OperationalError) database is locked", True),
        ("(sqlite3.OperationalError) attempt to write a readonly database", False),
        ("Max retries exceeded (Caused by NameResolutionError(... Name or service not known))", False),
        ("RESOURCE_ALREADY_EXISTS: Experiment 'x' already exists.", False),
        ("API request to endpoint /api/2.0/mlflow/runs/get failed with error code 404 != 200", False),
    ],
)
def test_transient_failures_are_told_from_permanent_ones(message, transient):
    from mvbench.record.resilience import is_transient

    assert is_transient(RuntimeError(message)) is transient


def test_the_retry_waits_out_an_outage_and_then_stops_at_once_past_its_budget(monkeypatch):
    from mvbench.record import resilience

    monkeypatch.setattr(resilience, "FIRST_WAIT", 0.01)
    lines, calls = [], []

    def flaky(fails: int):
        calls.append(1)
        if len(calls) <= fails:
            raise refused()
        return "ok"

    retry = resilience.StoreRetry("http://h:5000", budget=30, notify=lines.append)
    assert retry.call(flaky, 3) == "ok" and len(calls) == 4 and retry.outages == 1
    assert lines[0].startswith("tracking store http://h:5000 unreachable (Connection refused)")
    assert lines[1].startswith("tracking store http://h:5000 back after") and len(lines) == 2
    with pytest.raises(ValueError):  # not a connection problem: raised at once
        retry.call(lambda: (_ for _ in ()).throw(ValueError("bad param")))

    calls.clear()
    short = resilience.StoreRetry("http://h:5000", budget=0.2, notify=lines.append)
    with pytest.raises(resilience.TrackingUnavailable, match=r"unreachable for 0 s \(last error: Connection refused\)"):
        short.call(flaky, 10**6)
    tried = len(calls)
    with pytest.raises(resilience.TrackingUnavailable):  # gave up: later calls do not wait again
        short.call(flaky, 10**6)
    assert len(calls) == tried and short.gave_up
