"""``--cell-timeout``: a cell over it is stopped (its worker killed, or its Ray task cancelled), logged
as FAILED with ``timeout after N s``, and the grid goes on; nothing of the stopped cell survives."""

import uuid
from importlib.util import find_spec
from pathlib import Path

import pytest
import sleepy
from conftest import sqlite_store
from test_records import wait_until_gone

from mvbench.record.tracking import Tracker
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import crashed_result, run_grid


@pytest.fixture(autouse=True)
def slow_methods():
    from mvbench import registry

    sleepy.register()
    yield
    registry._methods = None


def cells_by_method(tracker: Tracker) -> dict[str, list]:
    out: dict[str, list] = {}
    for run in tracker.cell_runs():
        out.setdefault(run.data.params["method"], []).append(run)
    return out


def grid(**kw) -> GridSpec:
    return GridSpec(
        methods=[Entry("hang"), Entry("sleeper", {"seconds": 0.1})],
        datasets=[Entry("synthetic", {"n_samples": 60})],
        repetitions=kw.pop("repetitions", 2),
        experiment="timeouts",
    )


def test_a_hanging_method_fails_with_the_timeout_and_the_grid_goes_on_with_no_process_left():
    tag = uuid.uuid4().hex
    args = ["run", "--methods", "hang,sleeper", "--datasets", "synthetic", "--seeds", "2", "--no-progress"]
    args += ["--param", "sleeper.seconds=0.1", "--experiment", "timeouts", "--cell-timeout", "5"]
    proc = sleepy.cli(*args, env={"MVBENCH_TEST_TAG": tag})
    out, err = proc.communicate()
    assert proc.returncode == 1, out + err  # failed cells: exit status 1
    assert "Traceback" not in err, err
    assert out.count(": timeout after 5 s") == 2 and "ran 4 cells: 2 done, 2 failed, 0 skipped" in out, out
    assert wait_until_gone(tag) == [], "a worker of the stopped cells outlived the grid"
    runs = cells_by_method(Tracker(f"sqlite:///{Path('mlflow.db').resolve()}", "timeouts", create=False))
    assert [r.data.tags["mvbench.error"] for r in runs["hang"]] == ["timeout after 5 s"] * 2
    assert {r.info.status for r in runs["hang"]} == {"FAILED"}
    assert [r.data.tags["mvbench.status"] for r in runs["sleeper"]] == ["done", "done"]


def test_with_two_workers_each_stopped_cell_fails_and_every_cell_is_logged_once(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "timeouts")
    outcome = run_grid(plan(grid()), tracker, workers=2, show_progress=False, cell_timeout=5)
    assert outcome.counts == {"done": 2, "failed": 2, "skipped": 0}
    runs = cells_by_method(tracker)
    assert sorted(r.data.tags["mvbench.error"] for r in runs["hang"]) == ["timeout after 5 s"] * 2
    keys = [r.data.tags["mvbench.cell_key"] for r in tracker.cell_runs()]
    assert len(keys) == 4 and len(set(keys)) == 4


def test_a_timeout_in_the_config_file_is_used_and_a_bad_one_is_one_line(tmp_path):
    from test_cli import mvbench_in_process

    from mvbench.cli import config_timeout

    assert config_timeout({"cell_timeout": 30}) == 30.0 and config_timeout({}) is None
    config = tmp_path / "grid.yaml"
    config.write_text("methods: [km]\ndatasets: [synthetic]\ncell_timeout: soon\n")
    _, _, err = mvbench_in_process("run", "--config", str(config), check=2)
    assert err.count("\n") == 1 and "cell_timeout in the config must be a positive number of seconds" in err


RAY_TIMEOUT_S = 60


@pytest.mark.skipif(find_spec("ray") is None, reason="ray is not installed: pip install 'mvbench[ray]'")
def test_ray_cancels_a_cell_over_the_timeout(tmp_path, monkeypatch):
    """Ray counts the limit from submission, so the sleeper's limit also covers starting a fresh Ray
    worker after the hung one is cancelled (tens of seconds on a loaded 2-core machine): a generous
    limit here, which the hung cell always exceeds."""
    import os

    import ray

    from mvbench.run.ray_executor import RayExecutor

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(sleepy.TESTS), os.environ.get("PYTHONPATH", "")]))
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "timeouts")
    executor = RayExecutor(None, crashed_result, num_cpus=1, timeout=RAY_TIMEOUT_S)
    try:
        outcome = run_grid(plan(grid(repetitions=1)), tracker, show_progress=False, executor=executor)
    finally:
        ray.shutdown()
    assert outcome.counts == {"done": 1, "failed": 1, "skipped": 0}
    (hung,) = cells_by_method(tracker)["hang"]
    assert hung.data.tags["mvbench.error"] == f"timeout after {RAY_TIMEOUT_S} s"
