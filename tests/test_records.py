"""The record is the product: kill and interrupt real `mvbench run` processes at the worst moments,
run the same command again, and count. Plus one test per way the record could lie."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from mvbench import registry
from mvbench.record.tracking import Tracker

GRID = "run --methods km,km_concat --datasets synthetic --seeds 3 --experiment rel --no-progress".split()
N_CELLS = 6


def mvbench(*args, env=None, check=None, timeout=600):
    proc = subprocess.run(
        [sys.executable, "-m", "mvbench", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def processes_tagged(tag: str) -> list[int]:
    """Live processes whose environment carries ``MVBENCH_TEST_TAG=tag`` (workers, trackers, servers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"MVBENCH_TEST_TAG={tag}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def wait_until_gone(tag: str, seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def all_runs(experiment="rel"):
    tracker = Tracker(f"sqlite:///{Path('mlflow.db').resolve()}", experiment, create=False)  # absolute: see above
    return tracker.client.search_runs([tracker.experiment_id], "", max_results=5000)


def assert_complete_record():
    """Every cell done exactly once, none done without metrics, nothing left RUNNING."""
    runs = all_runs()
    cells = [r for r in runs if r.data.tags.get("mvbench.kind") == "cell"]
    done = [r for r in cells if r.data.tags.get("mvbench.status") == "done"]
    keys = [r.data.tags["mvbench.cell_key"] for r in done]
    assert len(done) == N_CELLS and len(set(keys)) == N_CELLS, keys
    assert all({"acc", "nmi", "ari", "fit_seconds"} <= set(r.data.metrics) for r in done)
    assert all(r.info.status == "FINISHED" for r in done)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    return runs


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find leftover processes")
@pytest.mark.parametrize(
    "fault, workers",
    [
        ("before_marker:KILL:3", 1),  # kill -9 after a cell's metrics, before its done marker
        ("before_marker:KILL:3", 2),  # the same with two worker processes busy
        ("before_marker:INT:3", 1),  # Ctrl-C in the same window
        ("between_cells:INT:2", 2),  # Ctrl-C between cells, workers computing
    ],
)
def test_killed_or_interrupted_grid_completes_exactly_once_on_rerun(fault, workers):
    tag = uuid.uuid4().hex
    first = mvbench(*GRID, "--workers", str(workers), env={"MVBENCH_FAULT": fault, "MVBENCH_TEST_TAG": tag})
    expected = -signal.SIGKILL if "KILL" in fault else 130
    assert first.returncode == expected, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    assert wait_until_gone(tag) == [], "workers or their resource tracker outlived the grid"
    cut_short = [
        r for r in all_runs() if r.data.tags.get("mvbench.kind") == "cell" and "mvbench.status" not in r.data.tags
    ]
    mid_logging = fault.startswith("before_marker")
    assert len(cut_short) == int(mid_logging)  # the cell whose logging was cut: never counted as done
    if "INT" in fault and mid_logging:
        assert cut_short[0].info.status == "KILLED"  # the interrupted writer ended it itself

    status = mvbench("status", "--experiment", "rel", check=0)
    assert "missing" in status.stdout and f"{N_CELLS} done" not in status.stdout

    mvbench(*GRID, "--workers", str(workers), env={"MVBENCH_TEST_TAG": tag}, check=0)
    runs = assert_complete_record()
    assert wait_until_gone(tag) == []
    # nothing was deleted: the cut run is still there, ended as KILLED, and so is the killed grid
    by_id = {r.info.run_id: r for r in runs}
    assert all(by_id[r.info.run_id].info.status == "KILLED" for r in cut_short)
    grids = [r for r in runs if r.data.tags.get("mvbench.kind") == "grid"]
    assert len(grids) == 2 and {g.info.status for g in grids} == {"KILLED", "FINISHED"}
    assert f"{N_CELLS} done, 0 failed, 0 skipped, 0 missing" in mvbench("status", "--experiment", "rel").stdout


def test_report_counts_only_completely_logged_cells():
    tag = uuid.uuid4().hex
    mvbench(*GRID, env={"MVBENCH_FAULT": "before_marker:KILL:4", "MVBENCH_TEST_TAG": tag})
    report = mvbench("report", "--experiment", "rel", "--format", "csv", check=0)
    rows = [line.split(",") for line in report.stdout.strip().splitlines()]
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [(r["method"], r["n"]) for r in body] == [("km", "3")]  # km_concat's cut first cell is not there


# -- 1, 2, 10: imported datasets --------------------------------------------------------------------
def write_mat(path: Path, nan_rows: int = 0) -> Path:
    rng = np.random.default_rng(0)
    labels = np.repeat([1, 2, 3], 30)
    centres = rng.normal(0, 6, (3, 5))
    x1 = centres[labels - 1] + rng.normal(size=(90, 5))
    x2 = rng.normal(size=(90, 7)) + labels[:, None]
    x2[:nan_rows, 2] = np.nan
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = x1, x2
    scipy.io.savemat(path, {"X": cells, "Y": labels[:, None]})
    return path


def test_an_imported_set_is_runnable_listed_and_reported(tmp_path):
    mat = write_mat(tmp_path / "unseen.mat", nan_rows=4)
    imported = mvbench("datasets", "import", str(mat), "--name", "my_set", check=0)
    assert "4 in view" in imported.stderr and "NaN or Inf" in imported.stderr
    listing = mvbench("datasets", "list", check=0).stdout
    line = next(line for line in listing.splitlines() if line.startswith("my_set"))
    assert "[imported]" in line and "unseen.mat" in line
    info = mvbench("datasets", "info", "my_set", check=0).stdout
    assert "nonfinite_rows_marked_missing" in info and "source: unseen.mat" in info  # a name and a hash, no path
    mvbench("run", "--methods", "km_concat,pic", "--datasets", "my_set", "--seeds", "2", "--no-progress", check=0)
    report = mvbench("report", "--format", "csv", check=0).stdout
    assert "my_set" in report and "km_concat" in report and "pic" in report


@pytest.mark.parametrize(
    "name, message",
    [
        ("../../evil", "must match"),
        ("/tmp/abs", "must match"),
        ("orl", "is a registered dataset"),
        (".hidden", "must match"),
        ("x.h5", "no .h5 suffix"),
    ],
)
def test_an_import_name_is_a_plain_new_name(tmp_path, name, message):
    mat = write_mat(tmp_path / "f.mat")
    proc = mvbench("datasets", "import", str(mat), "--name", name, check=2)
    assert message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not list(tmp_path.rglob("*.h5")) and not Path("/tmp/abs.h5").exists()


def test_prepared_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        mat = write_mat(tmp_path / "f.mat")
        mvbench("datasets", "import", str(mat), "--name", "shared_set", check=0)
    finally:
        os.umask(old)
    files = list((tmp_path / "data").glob("shared_set.h5"))
    assert files and files[0].stat().st_mode & 0o777 == 0o644


# -- 5: what resume may skip (4, skipped cells retried: tests/test_runner.py) -------------------------
def test_the_cell_key_changes_with_the_method_code(tmp_path, monkeypatch):
    from mvbench.run.code_identity import code_identity

    package = tmp_path / "edited_plugin"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("SCALE = 1\n")
    source = (
        "from mvbench import Method, FitResult\nfrom .helper import SCALE\n"
        "class M(Method):\n    def fit_predict(self, data, k, seed):\n        return FitResult(labels=None)\n"
    )
    (package / "method.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    module = importlib.import_module("edited_plugin.method")
    before = code_identity(module.M)
    code_identity.cache_clear()
    (package / "helper.py").write_text("SCALE = 2\n")  # an edit in a module the method imports
    after_helper = code_identity(module.M)
    code_identity.cache_clear()
    module.M.version = "2"
    assert len({before, after_helper, code_identity(module.M)}) == 3


def test_method_code_is_in_the_key_and_logged(small_grid_tracker):
    tracker, grid = small_grid_tracker
    run = tracker.cell_runs("done")[0]
    cell = grid.cells[0]
    assert run.data.params["method_code"] == cell.method_code == run.data.tags["mvbench.method_code"]
    other = type(cell)(**{**cell.__dict__, "method_code": "0" * 12})
    assert other.key != cell.key


@pytest.fixture
def small_grid_tracker():
    from mvbench.run.grid import Entry, GridSpec
    from mvbench.run.planning import plan
    from mvbench.run.runner import run_grid

    grid = plan(GridSpec([Entry("km")], [Entry("synthetic", {"n_samples": 90})], repetitions=1))
    tracker = Tracker(f"sqlite:///{Path('mlflow.db').resolve()}", "keys")  # absolute: MLflow caches stores by URI
    run_grid(grid, tracker, show_progress=False)
    return tracker, grid


# -- 7, 8: processes and stores --------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ui_stops_its_server(sig):
    tag, port = uuid.uuid4().hex, free_port()
    ui = subprocess.Popen(
        [sys.executable, "-m", "mvbench", "ui", "--port", str(port)],
        env={**os.environ, "MVBENCH_TEST_TAG": tag},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.5)
    else:
        ui.kill()
        pytest.fail("the MLflow server did not start")
    ui.send_signal(sig)
    assert ui.wait(60) == 130
    assert wait_until_gone(tag, 30) == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_two_runs_creating_one_store_both_succeed():
    Path("mlflow.db").unlink()  # the isolated working directory's empty store: this test makes its own
    grid = ["run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1", "--no-progress"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mvbench", *grid, "--experiment", f"e{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs


# -- 9, 11: refusals and directions ----------------------------------------------------------------
def test_report_refuses_unknown_metrics(small_grid_tracker):
    tracker, _ = small_grid_tracker
    proc = mvbench("report", "--experiment", "keys", "--metrics", "acc,foo", "--tracking-uri", tracker.uri, check=2)
    assert "foo not logged" in proc.stderr and "fit_seconds" in proc.stderr


def test_costs_are_best_when_lowest():
    import pandas as pd

    from mvbench.report.significance import summary
    from mvbench.report.tables import aggregate, blocks

    frame = pd.DataFrame(
        [
            {
                "method": m,
                "group": "",
                "dataset": d,
                "condition": "complete",
                "start": i,
                "repetition": r,
                "memory_increase_mb": mem,
                "fit_seconds": sec,
            }
            for i, (m, mem, sec) in enumerate([("small", 10.0, 1.0), ("big", 500.0, 9.0)])
            for d in ("a", "b", "c")
            for r in range(6)
        ]
    )
    ((_, headers, rows),) = blocks(aggregate(frame, ["memory_increase_mb"]), ["memory_increase_mb"])
    best = {row[0][0]: [b for _, b in row[1:]] for _, row in rows}
    assert all(best["small"]) and not any(best["big"])
    table, _ = summary(frame, "fit_seconds")
    assert table.index[0] == "small" and table.loc["small", "avg_rank"] == 1.0
    with pytest.raises(ValueError, match="no declared direction"):
        summary(frame.rename(columns={"fit_seconds": "my_info"}), "my_info")


# -- 12: downloads are pinned ----------------------------------------------------------------------
def test_official_downloads_have_pinned_checksums():
    coco = registry.datasets().get("coco_cross").Config()
    rgbd = registry.datasets().get("rgbd").Config()
    assert len(coco.annotations_sha256) == 64 and len(rgbd.mat_sha256) == 64
