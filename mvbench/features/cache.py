"""On-disk cache of extracted features, keyed by (content hash, encoder, encoder version).

Layout: ``<root>/<encoder>-<version>/<hash[:2]>/<hash>.npy``. Writes go through a temporary file and
an atomic rename, so an interrupted extraction leaves only complete entries; re-running resumes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


def content_hash(data: bytes | np.ndarray) -> str:
    """sha256 of raw bytes, or of an array's shape, dtype and bytes."""
    h = hashlib.sha256()
    if isinstance(data, np.ndarray):
        h.update(f"{data.shape}{data.dtype}".encode())
        h.update(np.ascontiguousarray(data).tobytes())
    else:
        h.update(data)
    return h.hexdigest()


class FeatureCache:
    """Feature vectors of one encoder version; ``root=None`` disables caching."""

    def __init__(self, root: str | os.PathLike | None, encoder: str, version: str) -> None:
        self.folder = None if root is None else Path(root) / f"{encoder}-{version}"

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        if self.folder is None:
            return None
        path = self._path(key)
        return np.load(path) if path.exists() else None

    def put(self, key: str, value: np.ndarray) -> None:
        if self.folder is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, np.asarray(value, dtype=np.float32))
        os.replace(tmp, path)
