"""Ends a private Ray instance with its driver, even when the driver is killed with ``kill -9``.

Ray's own processes (the GCS, the raylet, its dashboard and runtime-env agents, the workers) outlive
a driver killed without a chance to shut them down. The driver starts this reaper first, in a
session of its own, holding the read end of a pipe whose write end only the driver has; every
process of the instance carries a marker in its environment (:data:`MARKER`, inherited from the
driver). When the driver exits, however it exits, the pipe reads EOF (or, should a forked child
still hold the pipe, the reaper's parent changes) and the reaper ends the processes carrying the
marker (SIGTERM, then SIGKILL after a grace period, repeated until none has been seen for a
settling period: a process caught between fork and exec shows no environment for a moment) and
removes the instance's temporary folder (its ``session_*`` folder, sockets and logs).

Run as ``python -m mvbench.run.ray_reaper MARKER_VALUE TEMP_DIR`` (by :func:`start_reaper`).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

#: The environment variable naming the private Ray instance a process belongs to.
MARKER = "MVBENCH_RAY_INSTANCE"


def start_reaper(instance: str, temp_dir: Path) -> subprocess.Popen:
    """Start the reaper of the instance ``instance`` (its marker value) and its folder ``temp_dir``;
    it acts when this process ends. Call before starting the instance."""
    return subprocess.Popen(
        [sys.executable, "-m", "mvbench.run.ray_reaper", instance, str(temp_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal reaches the driver, not the reaper
    )


def instance_processes(instance: str, temp_dir: Path | None = None, spare: int | None = None) -> list[int]:
    """The pids of this machine's processes of the instance: those whose environment carries
    ``MARKER=instance``, or (Ray's processes overwrite their environment when they set their process
    title, e.g. ``ray::DashboardAgent``) that hold a file open under the instance's ``temp_dir``,
    where every one of them writes its logs. ``spare``: a pid never listed (the driver, which may
    still be finishing when the pipe closes at its interpreter's shutdown)."""
    wanted = f"{MARKER}={instance}".encode()
    folder = os.path.realpath(temp_dir) + os.sep if temp_dir is not None else None
    found: list[int] = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), spare):
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if wanted in environ.split(b"\0") or (folder is not None and holds_file_under(entry, folder)):
            found.append(int(entry.name))
    return found


def holds_file_under(process: Path, folder: str) -> bool:
    """Whether the process ``/proc/PID`` has a file open under ``folder`` (deleted files included)."""
    try:
        return any(os.readlink(fd).startswith(folder) for fd in (process / "fd").iterdir())
    except OSError:  # gone meanwhile
        return False


def reap(
    instance: str,
    temp_dir: Path,
    grace: float = 2.0,
    patience: float = 30.0,
    settle: float = 2.0,
    spare: int | None = None,
) -> None:
    """End every process of the instance (SIGTERM; after ``grace`` seconds SIGKILL, repeated until
    none has been seen for ``settle`` seconds, at most ``patience``: a raylet may start a worker or
    an agent meanwhile), then remove its folder. ``spare``: see :func:`instance_processes`."""
    _signal_all(instance, temp_dir, spare, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while instance_processes(instance, temp_dir, spare) and time.monotonic() < deadline:
        time.sleep(0.1)
    deadline = time.monotonic() + patience
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        if _signal_all(instance, temp_dir, spare, signal.SIGKILL):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settle:
            break
        time.sleep(0.1)
    shutil.rmtree(temp_dir, ignore_errors=True)


def _signal_all(instance: str, temp_dir: Path, spare: int | None, sig: signal.Signals) -> int:
    """Send ``sig`` to every process of the instance; returns how many there were."""
    pids = instance_processes(instance, temp_dir, spare)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return len(pids)


def wait_for_driver_exit(driver: int) -> None:
    """Return once the driver has exited or is exiting: EOF on the pipe (the driver never writes to
    it; the pipe closes at its interpreter's shutdown or its death), or this process re-parented (a
    forked child of the driver could otherwise keep the pipe open)."""
    stdin = sys.stdin.fileno()
    while os.getppid() == driver:
        ready, _, _ = select.select([stdin], [], [], 0.2)
        if ready and not os.read(stdin, 4096):
            return


def main(argv: list[str]) -> None:
    instance, temp_dir = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    driver = os.getppid()
    wait_for_driver_exit(driver)
    reap(instance, Path(temp_dir), spare=driver)


if __name__ == "__main__":
    main(sys.argv[1:])
