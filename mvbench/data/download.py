"""Resumable, checksum-verified downloads with a progress bar.

:func:`download` writes to ``<dest>.part``, resumes an interrupted transfer with an HTTP ``Range``
request, verifies the sha256 when one is given and renames the file into place only when it is
complete, so a half-downloaded file never takes the place of a good one.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download failed or its content did not verify (one-line message naming the fix)."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _progress(enabled: bool) -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and sys.stderr.isatty()),
    )


def download(
    url: str, dest: str | os.PathLike, sha256: str | None = None, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Fetch ``url`` into ``dest`` (kept as is when already there and verified); returns ``dest``.

    An existing ``dest.part`` is resumed with an HTTP Range request (restarted when the server
    ignores the range). A sha256 mismatch deletes the partial file and raises :class:`DownloadError`.
    """
    dest = Path(dest)
    if dest.exists():
        if sha256 is None or sha256_file(dest) == sha256.lower():
            return dest
        raise DownloadError(f"{dest} exists but its sha256 does not match {sha256}: delete it and retry")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "mvbench"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already complete
            response = None
        else:
            raise DownloadError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {url} ({reason}): check the address or your connection, or place the file at {dest} yourself"
        ) from None
    if response is not None:
        with response:
            resumed = offset > 0 and response.status == 206
            if not resumed:
                offset = 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            try:
                with open(part, "ab" if resumed else "wb") as f, _progress(progress) as bar:
                    task = bar.add_task(dest.name, total=total, completed=offset)
                    while block := response.read(CHUNK):
                        f.write(block)
                        bar.advance(task, len(block))
            except (OSError, http.client.HTTPException) as exc:
                raise DownloadError(f"download of {url} interrupted ({exc!r}): run again to resume") from None
            if total is not None and part.stat().st_size < total:
                raise DownloadError(
                    f"download of {url} stopped at {part.stat().st_size} of {total} bytes: run again to resume"
                )
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256.lower():
            part.unlink()
            raise DownloadError(
                f"sha256 mismatch for {url}: expected {sha256}, got {got}; the partial file "
                "was removed, retry the download"
            )
    os.replace(part, dest)
    return dest
