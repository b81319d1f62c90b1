"""Ends a private Ray instance with its driver, even when the driver is killed with ``kill -9``.

Ray's own processes (the GCS, the raylet, its dashboard and runtime-env agents, the workers) outlive
a driver killed without a chance to shut them down. The driver starts this reaper first, in a
session of its own, holding the read end of a pipe whose write end only the driver has; every
process of the instance carries a marker in its environment (:data:`MARKER`, inherited from the
driver). When the driver exits, however it exits, the pipe reads EOF and the reaper ends the
processes carrying the marker (SIGTERM, then SIGKILL after a grace period) and removes the
instance's temporary folder (its ``session_*`` folder, sockets and logs).

Run as ``python -m mvbench.run.ray_reaper MARKER_VALUE TEMP_DIR`` (by :func:`start_reaper`).
"""

from __future__ import annotations

import os
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


def instance_processes(instance: str) -> list[int]:
    """The pids of this machine's processes whose environment carries ``MARKER=instance``."""
    wanted = f"{MARKER}={instance}".encode()
    found: list[int] = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def reap(instance: str, temp_dir: Path, grace: float = 2.0, patience: float = 30.0) -> None:
    """End every process of the instance (SIGTERM; SIGKILL, repeated until none is left, after
    ``grace`` seconds: a raylet may start a worker meanwhile), then remove its folder."""
    _signal_all(instance, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while instance_processes(instance) and time.monotonic() < deadline:
        time.sleep(0.1)
    deadline = time.monotonic() + patience
    while _signal_all(instance, signal.SIGKILL) and time.monotonic() < deadline:
        time.sleep(0.1)
    shutil.rmtree(temp_dir, ignore_errors=True)


def _signal_all(instance: str, sig: signal.Signals) -> int:
    """Send ``sig`` to every process of the instance; returns how many there were."""
    pids = instance_processes(instance)
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    return len(pids)


def main(argv: list[str]) -> None:
    instance, temp_dir = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdin.buffer.read()  # EOF: the driver has exited (or was killed)
    reap(instance, Path(temp_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
