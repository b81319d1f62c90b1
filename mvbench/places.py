"""Whether the places an invocation writes to can take files, checked before anything runs.

The tracking store (a local sqlite file and its folder), the data directory (when a dataset is still
to be prepared) and the cache directory (when a method caches shared work) are probed with
``os.access`` and then a real file created and removed (a missing folder is made first, as the first
write would make it), so a read-only mount, another user's folder or a path under a regular file is
refused in one line instead of failing mid-grid.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


class UnwritablePlaceError(RuntimeError):
    """A folder or file the invocation must write to cannot be written (one-line message)."""


def folder_problem(folder: Path) -> str | None:
    """Why files cannot be created in ``folder`` (made here if missing), or None when they can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{folder} is not a folder"
    except OSError as exc:
        return _reason(exc)
    if not os.access(folder, os.W_OK | os.X_OK):
        return "read-only file system" if _read_only_fs(folder) else "permission denied"
    try:  # root passes os.access everywhere: a real file tells the truth (read-only mounts included)
        fd, probe = tempfile.mkstemp(prefix=".mvbench-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return _reason(exc)
    return None


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOTDIR and exc.filename:
        parent = next((p for p in Path(exc.filename).parents if p.exists() and not p.is_dir()), None)
        if parent is not None:
            return f"{parent} is not a folder"
    return exc.strerror.lower() if exc.strerror else str(exc)


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def file_problem(path: Path) -> str | None:
    """Why the existing file ``path`` cannot be written, or None when it can (it is not changed)."""
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        return _reason(exc)
    return None


def check_folder(folder: Path, what: str, fix: str) -> None:
    """Raise :class:`UnwritablePlaceError` naming ``what`` (e.g. "the data dir") and ``fix`` when
    ``folder`` cannot take new files."""
    problem = folder_problem(folder)
    if problem:
        raise UnwritablePlaceError(f"cannot write to {what} {folder} ({problem}): {fix}")


def check_store(uri: str) -> None:
    """Refuse a local sqlite store (``sqlite:////path``) that cannot be written: the file, and its
    folder (sqlite's journal and mvbench's lock file live beside it). Other stores are servers or
    databases that answer for themselves."""
    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri[len("sqlite:///") :])
    fix = "pass --tracking-uri sqlite:///WRITABLE/PATH/mlflow.db, or run from a writable folder"
    problem = file_problem(path) or folder_problem(path.parent)
    if problem:
        raise UnwritablePlaceError(f"cannot write to the tracking store {path} ({problem}): {fix}")
