"""Offline means offline, and nothing is left behind: the default ``mvbench run``, audited from inside
(Python's audit hooks see every file opened for writing, every folder made, every socket connected
and every name looked up), writes only in the working, data and cache folders (and temporary files
it removes) and attempts no connection; the home directory stays untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

AUDITED_RUN = r"""
import json, os, sys
log = open(os.environ["AUDIT_LOG"], "w", buffering=1)  # opened before the hook is installed
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
PATH_EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.symlink", "os.link", "os.truncate", "os.chmod"}
NET_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
              "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg", "http.client.connect"}

def record(kind, detail):
    log.write(json.dumps([kind, detail]) + "\n")

def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, (str, bytes)) and ((mode and set(mode) & set("wax+")) or (flags or 0) & WRITE_FLAGS):
            record("write", os.path.abspath(os.fsdecode(path)))
    elif event in PATH_EVENTS and isinstance(args[0], (str, bytes)):
        record("write", os.path.abspath(os.fsdecode(args[0])))
    elif event in NET_EVENTS:
        record("connect", f"{event} {args!r}"[:200])

sys.addaudithook(hook)
from mvbench.cli import main
main(sys.argv[1:])
"""


def test_the_default_run_writes_only_its_folders_and_connects_nowhere(tmp_path):
    home, work, data, temp = (tmp_path / name for name in ("home", "work", "data", "tmp"))
    for folder in (home, work, temp):
        folder.mkdir()
    log = tmp_path / "audit.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MLFLOW_", "MPLCONFIGDIR", "DO_NOT"))},
        "HOME": str(home),
        "TMPDIR": str(temp),
        "MVBENCH_DATA_DIR": str(data),
        "AUDIT_LOG": str(log),
    }
    env.pop("MVBENCH_CACHE_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-c", AUDITED_RUN, "run", "--no-progress"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [json.loads(line) for line in log.read_text().splitlines()]
    connections = [detail for kind, detail in events if kind == "connect"]
    assert connections == []
    written = {Path(detail) for kind, detail in events if kind == "write"}
    ours = (work, data, temp, Path("/dev/null"))
    outside = sorted(str(p) for p in written if not any(p.is_relative_to(f) for f in ours))
    assert outside == []  # the cache dir is <data dir>/cache here
    assert [p for p in written if p.is_relative_to(temp) and p.exists()] == []  # temporary files removed
    assert list(temp.iterdir()) == [] and list(home.rglob("*")) == []
    assert any(p.is_relative_to(data / "cache" / "matplotlib") for p in written)  # its font cache went there
