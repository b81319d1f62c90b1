"""Read-only and unwritable places are refused before anything runs: one line, exit 2, nothing logged.

Tests run as root, where permission bits do not stop writes: a read-only bind mount in a private user
and mount namespace (``unshare -rm``) is a place that really refuses writes, for root too. Where
user namespaces are not available those tests are skipped, saying so; a path under a regular file
(refused for everyone) is tested everywhere.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import child_runs, mvbench_in_process

from mvbench.places import check_store, folder_problem


def namespaces_available() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


needs_namespaces = pytest.mark.skipif(not namespaces_available(), reason="unshare -rm (user namespaces) unavailable")


def mvbench_read_only(read_only: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``mvbench ARGS`` with ``read_only`` mounted read-only (for this command only)."""
    folder = shlex.quote(str(read_only))
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "mvbench", *args))
    script = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec {command}"
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def assert_one_line(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@needs_namespaces
def test_read_only_store_is_refused_before_anything_is_logged(tmp_path):
    mvbench_in_process("run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1", check=0)
    before = len(child_runs())
    for experiment in ("mvbench", "a_new_one"):  # MLflow's own error log stays off the terminal
        proc = mvbench_read_only(
            tmp_path, "run", "--methods", "km_concat", "--datasets", "synthetic", "--experiment", experiment
        )
        assert_one_line(proc, f"cannot write to the tracking store {tmp_path / 'mlflow.db'} (read-only file system)")
    assert len(child_runs()) == before
    # reading a read-only store works
    status = mvbench_read_only(tmp_path, "status")
    assert status.returncode == 0 and f"{before} done" in status.stdout, status.stderr


@needs_namespaces
def test_read_only_data_dir_with_a_set_to_prepare_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    proc = mvbench_read_only(data, "run", "--methods", "km", "--datasets", "synthetic")
    assert_one_line(proc, f"cannot write to the data dir {data} (read-only file system)")
    assert not child_runs()
    # a read-only data dir whose sets are all prepared is fine (a team's shared folder)
    mvbench_in_process("datasets", "prepare", "synthetic", check=0)
    proc = mvbench_read_only(data, "run", "--methods", "km", "--datasets", "synthetic", "--seeds", "1")
    assert proc.returncode == 0, proc.stderr


@needs_namespaces
def test_read_only_cache_dir_is_refused_for_methods_that_cache(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {"MVBENCH_CACHE_DIR": str(cache)}
    proc = mvbench_read_only(cache, "run", "--methods", "dec", "--datasets", "synthetic", env=env)
    assert_one_line(proc, f"cannot write to the cache dir {cache} (read-only file system): dec caches")
    assert not child_runs()


def test_a_data_dir_under_a_regular_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path / "afile" / "data"))
    code, _, err = mvbench_in_process("run", "--methods", "km", "--datasets", "synthetic")
    assert code == 2 and err.count("\n") == 1, err
    assert f"cannot write to the data dir {tmp_path / 'afile' / 'data'} ({tmp_path / 'afile'} is not a folder)" in err
    assert not child_runs()


def test_probes_leave_nothing_behind(tmp_path):
    assert folder_problem(tmp_path / "new" / "deeper") is None
    check_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db", "new"]
    assert list((tmp_path / "new" / "deeper").iterdir()) == []


def test_report_without_a_store_leaves_no_empty_store(tmp_path):
    os.remove("mlflow.db")
    code, _, err = mvbench_in_process("report")
    assert code == 2 and "no tracking store at" in err, err
    assert not Path("mlflow.db").exists() and not Path("mlflow.db.lock").exists()
