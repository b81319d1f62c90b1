"""Cell leases on a local sqlite store: exclusive claims, expiry and takeover, heartbeats, races
between processes, and the runner leaving claimed cells to their holder.

The same protocol through an HTTP server backed by PostgreSQL is tested in test_shared_server.py."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from mvbench.record.leases import EXPIRES_TAG, LeaseBoard
from mvbench.record.tracking import Tracker
from mvbench.run.executors import ProcessExecutor
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory):
    """One sqlite store for the module (creating one costs seconds); each test has its own experiment."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('leases') / 'mlflow.db'}"
    Tracker(uri, "warm-up")
    return uri


@pytest.fixture
def tracker(store_uri, request):
    return Tracker(store_uri, request.node.name)


def board(tracker, ttl=60.0):
    return LeaseBoard(tracker.client, tracker.experiment_id, ttl=ttl)


def active_leases(tracker):
    prefix = f"mvbench.lease/{tracker.experiment_id}/"
    return tracker.client.search_experiments(filter_string=f"name LIKE '{prefix}%'")


def test_a_claim_is_exclusive_until_released(tracker):
    a, b = board(tracker), board(tracker)
    lease = a.claim("cell1")
    assert lease is not None and lease.generation == 0 and not lease.taken_over
    assert b.claim("cell1") is None  # held: left to a
    assert a.claim("cell1").experiment_id == lease.experiment_id  # idempotent for its holder (a lost reply)
    assert b.claim("cell2") is not None  # other cells are free
    assert a.release("cell1") and not a.release("cell1")
    again = b.claim("cell1")
    assert again is not None and again.generation == 1 and again.taken_over  # may have been computed meanwhile


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it(tracker):
    a, b = board(tracker, ttl=0.5), board(tracker, ttl=60)
    assert a.claim("cell") is not None and b.claim("cell") is None
    time.sleep(0.7)  # a crashed on another host: no heartbeat
    taken = b.claim("cell")
    assert taken is not None and taken.generation == 1 and taken.taken_over
    a.renew()
    assert a.lost == ["cell"] and "cell" not in a.held
    assert not a.release("cell")
    assert board(tracker).claim("cell") is None  # b's lease is live
    assert [e.name for e in active_leases(tracker)] == [b.name("cell", 1)]  # the stale one was hidden


def test_the_heartbeat_keeps_a_lease_alive_past_its_lifetime(tracker):
    other = board(tracker)
    with board(tracker, ttl=0.6) as holder:
        assert holder.claim("cell") is not None
        time.sleep(1.5)  # > 2 lifetimes: alive only through renewals
        assert other.claim("cell") is None and holder.lost == []
    assert active_leases(tracker) == []  # leaving the board released it
    assert other.claim("cell").taken_over


def test_a_dead_holder_of_this_host_is_taken_over_at_once(tracker):
    script = (
        "import os, sys; from mvbench.record.tracking import Tracker; "
        "from mvbench.record.leases import LeaseBoard; "
        "t = Tracker(sys.argv[1], sys.argv[2]); b = LeaseBoard(t.client, t.experiment_id, ttl=3600);"
        "assert b.claim('cell'); os._exit(0)"
    )  # dies holding a one-hour lease
    subprocess.run([sys.executable, "-c", script, tracker.uri, tracker.experiment_name], check=True, timeout=120)
    lease = board(tracker).claim("cell")
    assert lease is not None and lease.generation == 1


def race(uri: str, experiment: str, barrier, results) -> None:
    """Claim one cell when all racers are ready; again, once the first winner's lease has expired."""
    t = Tracker(uri, experiment)
    b = LeaseBoard(t.client, t.experiment_id, ttl=600)
    b.state("warm-up")  # connect before the start line
    for round_ in (1, 2):
        barrier.wait()
        lease = b.claim("contested")
        results.put((round_, os.getpid(), lease.generation if lease else None))
        barrier.wait()  # all have claimed
        if lease is not None and round_ == 1:  # the winner "crashes" on another host: its lease expires
            t.client.set_experiment_tag(lease.experiment_id, EXPIRES_TAG, "0")


def test_racing_processes_exactly_one_wins_each_generation(tracker):
    context = multiprocessing.get_context("spawn")
    n = 4
    barrier, results = context.Barrier(n), context.Queue()
    procs = [
        context.Process(target=race, args=(tracker.uri, tracker.experiment_name, barrier, results)) for _ in range(n)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=180) for _ in range(2 * n)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    for round_, generation in ((1, 0), (2, 1)):
        winners = [g for r, _, g in got if r == round_ and g is not None]
        assert winners == [generation], got


def test_the_process_executor_draws_tasks_just_in_time():
    drawn: list[int] = []

    def tasks():
        for i in range(7):
            drawn.append(i)
            yield i

    workers = 2
    results = []
    for k, result in enumerate(ProcessExecutor(workers).map_unordered(abs, tasks()), start=1):
        assert len(drawn) <= (k - 1) + workers  # never more than `workers` drawn beyond those delivered
        results.append(result)
    assert sorted(results) == list(range(7))


@pytest.fixture
def small_grid(monkeypatch, tmp_path):
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path / "data"))
    spec = GridSpec(
        methods=[Entry("km")],
        datasets=[Entry("synthetic", {"n_samples": 60, "n_clusters": 3})],
        missing_rates=[0.0],
        repetitions=3,
    )
    return plan(spec)


def test_the_runner_leaves_a_cell_claimed_elsewhere_to_its_holder(tracker, small_grid):
    other = board(tracker)
    taken = small_grid.cells[1]
    assert other.claim(taken.key) is not None  # a live invocation elsewhere computes this cell
    outcome = run_grid(small_grid, tracker, show_progress=False)
    assert outcome.left_to_others == [taken]
    assert sorted(r.cell.key for r in outcome.ran) == sorted(c.key for c in small_grid.cells if c != taken)
    assert [e.name for e in active_leases(tracker)] == [other.name(taken.key, 0)]  # own leases released
    parent = tracker.client.get_run(outcome.parent_run_id)
    assert parent.data.metrics["cells_left_to_others"] == 1 and parent.data.metrics["cells_done"] == 2


def test_a_cell_finished_elsewhere_after_the_start_is_not_computed_again(tracker, small_grid, monkeypatch):
    first = run_grid(small_grid, tracker, show_progress=False)
    assert first.counts["done"] == 3
    # A second invocation that read the done cells before the first logged them: each claim is a
    # takeover of a released lease, so it looks for a result first and finds one.
    monkeypatch.setattr(Tracker, "completed_keys", lambda self: set())
    second = run_grid(small_grid, tracker, show_progress=False)
    assert second.ran == [] and second.skipped_done == 3 and second.left_to_others == []
    # --force recomputes what was done before it started.
    forced = run_grid(small_grid, tracker, force=True, show_progress=False)
    assert forced.counts["done"] == 3
    assert len(tracker.cell_runs()) == 6


def test_a_bad_lease_lifetime_is_refused_in_one_line(monkeypatch):
    from mvbench.cli import main

    monkeypatch.setenv("MVBENCH_LEASE_SECONDS", "soon")
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1", "--no-progress"])
    assert exit_.value.code == 2


def test_after_a_long_outage_a_result_is_logged_only_while_its_lease_is_still_held(tracker):
    a, b = board(tracker, ttl=0.5), board(tracker, ttl=60)
    assert a.claim("kept") is not None and a.claim("taken") is not None
    time.sleep(0.6)  # no heartbeat, as while the store was away: both leases expired
    assert b.claim("taken") is not None  # another invocation took one over when the store returned
    assert a.confirm("kept") and a.held["kept"].expires > time.time()  # renewed: still ours, logged
    assert not a.confirm("taken") and "taken" not in a.held and a.lost == ["taken"]  # left to b
    assert b.confirm("taken")  # a fresh lease costs no call
