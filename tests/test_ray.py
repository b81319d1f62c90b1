"""The Ray executor on a real 3-node Ray cluster on this machine (ray.cluster_utils.Cluster): every
cell logged exactly once, also when a node is removed mid-grid or the driver gets Ctrl-C."""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import pytest

from mvbench.record.tracking import Tracker
from mvbench.run.cell import run_cell
from mvbench.run.grid import GridError, spec_from_config
from mvbench.run.planning import plan
from mvbench.run.runner import crashed_result, run_grid

needs_ray = pytest.mark.skipif(find_spec("ray") is None, reason="ray is not installed: pip install 'mvbench[ray]'")

#: Cells of roughly a second each (k-means with many restarts), so that a node dies mid-cell.
SLOW = [
    "--methods",
    "km_concat",
    "--datasets",
    "synthetic",
    "--param",
    "synthetic.n_samples=2000",
    "--param",
    "km_concat.n_init=100",
    "--no-progress",
]


@pytest.fixture(scope="module")
def cluster():
    """Three nodes of one CPU each; this test process joins as a driver."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def mvbench(*args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "mvbench", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def cell_runs(experiment):
    tracker = Tracker(f"sqlite:///{Path('mlflow.db').resolve()}", experiment, create=False)
    runs = tracker.client.search_runs([tracker.experiment_id], "", max_results=5000)
    return runs, [r for r in runs if r.data.tags.get("mvbench.kind") == "cell"]


def assert_each_cell_done_once(experiment, n_cells):
    runs, cells = cell_runs(experiment)
    done = [r.data.tags["mvbench.cell_key"] for r in cells if r.data.tags.get("mvbench.status") == "done"]
    assert len(done) == n_cells and len(set(done)) == n_cells, done
    assert not [r for r in runs if r.info.status == "RUNNING"]
    return runs, cells


def grid(seeds=4, **params):
    config = {
        "methods": ["km", "km_concat"],
        "datasets": [{"synthetic": {"n_samples": 120, **params}}],
        "seeds": seeds,
        "experiment": "ray",
    }
    return config, plan(spec_from_config(config))


@needs_ray
def test_a_grid_on_the_cluster_matches_the_serial_run_cell_for_cell(cluster):
    from mvbench.run.ray_executor import RayExecutor

    config, planned = grid()
    tracker = Tracker(f"sqlite:///{Path('mlflow.db').resolve()}", "ray")
    outcome = run_grid(
        planned, tracker, config=config, show_progress=False, executor=RayExecutor(cluster.address, crashed_result)
    )
    assert outcome.counts["done"] == len(planned.cells) == 8
    assert_each_cell_done_once("ray", 8)
    serial = {r.cell.key: r.metrics["acc"] for r in map(run_cell, planned.tasks.values())}
    assert {r.cell.key: r.metrics["acc"] for r in outcome.ran} == serial  # same data through the object store


@needs_ray
def test_tasks_are_pulled_lazily_at_most_capacity_in_flight(cluster):
    from mvbench.run.ray_executor import RayExecutor

    _, planned = grid(seeds=5)
    executor = RayExecutor(cluster.address)
    assert executor.capacity == 3  # 3 nodes x 1 CPU, 1 CPU per cell
    pulled, in_flight = [], []

    def tasks():
        for task in planned.tasks.values():
            pulled.append(task)
            yield task

    delivered = 0
    for result in executor.map_unordered(run_cell, tasks()):
        in_flight.append(len(pulled) - delivered)
        delivered += 1
        assert result.status == "done"
    assert delivered == len(pulled) == 10
    assert max(in_flight) == 3  # never more than capacity submitted, and the capacity is used


@needs_ray
def test_removing_a_node_mid_grid_loses_and_duplicates_no_cell(cluster):
    seeds = 9
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mvbench",
            "run",
            *SLOW,
            "--seeds",
            str(seeds),
            "--experiment",
            "lose",
            "--executor",
            "ray",
            "--ray-address",
            cluster.address,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(cell_runs("lose")[1]) >= 2:  # cells are logged, the others in flight on all 3 nodes
                break
        except Exception:  # the store or experiment does not exist yet
            pass
        time.sleep(0.2)
    logged = len(cell_runs("lose")[1])
    assert logged <= seeds - 3, f"{logged} of {seeds} cells logged before the node removal: not mid-grid"
    victim = cluster.list_all_nodes()[-1]
    assert not victim.head
    cluster.remove_node(victim, allow_graceful=False)
    out = proc.communicate(timeout=240)[0]
    assert proc.returncode == 0, out
    _, cells = assert_each_cell_done_once("lose", seeds)
    assert len(cells) == seeds  # no FAILED duplicates either
    cluster.add_node(num_cpus=1)  # back to 3 nodes
    cluster.wait_for_nodes()


@needs_ray
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find leftover processes")
@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_ctrl_c_or_sigterm_cancels_and_the_same_command_completes_the_rest(sig):
    """A local Ray instance (no --ray-address): Ctrl-C (or SIGTERM) after the 2nd logged cell ends the
    grid as KILLED with status 130 and no Ray process left; the same command then runs only the
    missing cells (checked after Ctrl-C)."""
    from test_records import wait_until_gone

    tag = uuid.uuid4().hex
    command = "run --methods km,km_concat --datasets synthetic --seeds 3 --experiment intr --executor ray --no-progress"
    command = command.split()
    first = mvbench(*command, env={"MVBENCH_FAULT": f"between_cells:{sig}:2", "MVBENCH_TEST_TAG": tag})
    assert first.returncode == 130, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    assert wait_until_gone(tag, 30) == [], "Ray processes outlived the interrupted grid"
    runs, cells = cell_runs("intr")
    assert 2 <= len(cells) < 6
    assert [g.info.status for g in runs if g.data.tags.get("mvbench.kind") == "grid"] == ["KILLED"]
    if sig == "TERM":
        return
    second = mvbench(*command)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"ran {6 - len(cells)} cells" in second.stdout
    runs, _ = assert_each_cell_done_once("intr", 6)
    grids = [r for r in runs if r.data.tags.get("mvbench.kind") == "grid"]
    assert sorted(g.info.status for g in grids) == ["FINISHED", "KILLED"]


@needs_ray
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find leftover processes")
def test_a_private_instance_ends_with_its_driver_even_on_kill_9_and_leaves_no_temp_folder():
    """The issue's check: kill -9 of the driver, and no Ray process of that run is left 10 s later
    (the reaper, :mod:`mvbench.run.ray_reaper`); the instance's session folder goes too, also after a
    normal exit."""
    from test_records import wait_until_gone

    temp = Path(tempfile.mkdtemp(prefix="mvbr-"))  # short: Ray's socket paths must fit 107 bytes
    try:
        command = "run --methods km --datasets synthetic --seeds 3 --experiment k9 --executor ray --no-progress"
        env = {"TMPDIR": str(temp), "MVBENCH_TEST_TAG": uuid.uuid4().hex}
        killed = mvbench(*command.split(), env={**env, "MVBENCH_FAULT": "between_cells:KILL:2"})
        assert killed.returncode == -9, killed.stdout + killed.stderr
        left = wait_until_gone(env["MVBENCH_TEST_TAG"], 10) + holding_files_under(temp)
        assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes()[:80] for pid in left]
        assert list(temp.iterdir()) == []
        env["MVBENCH_TEST_TAG"] = uuid.uuid4().hex
        finished = mvbench(*command.split(), env=env)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert wait_until_gone(env["MVBENCH_TEST_TAG"], 10) + holding_files_under(temp) == []
        assert list(temp.iterdir()) == []  # no session_* folder left behind
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def holding_files_under(folder: Path) -> list[int]:
    """Processes with a file open under ``folder`` (a Ray process that set its title, e.g.
    ``ray::DashboardAgent``, has overwritten the environment that would carry the test's tag)."""
    from mvbench.run.ray_reaper import holds_file_under

    prefix = os.path.realpath(folder) + os.sep
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and holds_file_under(p, prefix)]


@dataclass
class DeviceConfig:
    device: str = "cpu"


@pytest.mark.parametrize(
    "device, cluster_gpus, gpus",
    [
        ("cpu", 2, 0),
        ("cuda", 2, 1),
        ("auto", 1, 1),
        ("auto", 0, 0),
        ("cuda", 0, 0),  # no GPU in the cluster: the cell runs (and fails in the method) instead of waiting
    ],
)
def test_a_cell_asks_for_a_gpu_when_its_method_runs_on_cuda(device, cluster_gpus, gpus):
    from mvbench.run.cell import CellTask
    from mvbench.run.ray_executor import cell_resources

    class Cell:
        method, method_params = "m", (("device", device),)

    class Method:
        Config = DeviceConfig

    resources = cell_resources(CellTask(Cell, Path("x.h5"), Method), 2, cluster_gpus)
    assert resources == {"num_cpus": 2, "num_gpus": gpus}


def test_without_ray_the_ray_executor_is_refused_in_one_line(monkeypatch):
    from mvbench.run.ray_executor import RayExecutor

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(GridError, match=r"pip install 'mvbench\[ray\]'"):
        RayExecutor()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--executor", "ray", "--workers", "2"], "--workers sizes the local executor"),
        (["--ray-address", "127.0.0.1:6379"], "--ray-address needs --executor ray"),
    ],
)
def test_contradictory_executor_options_exit_2(args, message):
    proc = mvbench("run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1", *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_an_unknown_executor_in_a_grid_yaml_exits_2(tmp_path):
    (tmp_path / "grid.yaml").write_text("methods: [km]\ndatasets: [synthetic]\nexecutor: spark\n")
    proc = mvbench("run", "--config", str(tmp_path / "grid.yaml"))
    assert proc.returncode == 2 and "executor 'spark' in the config: use local or ray" in proc.stderr
